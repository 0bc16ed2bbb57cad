//! The catalog: the single source of truth for what may go on air. It owns submitting units,
//! works, media files and their technical acceptance, leads, reviews (遴选) and the state
//! history, over the `store`. It does not build schedules (that is `rundown`) and does not
//! play anything (that is the `playout` engine).
//!
//! - `model`: the vocabulary and per-value rules;
//! - `repo`: storage;
//! - `import`: CSV/XLSX collection forms, one row per work;
//! - `form`: a unit's 信息采集表 in the notice's own key–value layout (.docx/.xlsx/.csv);
//! - `probe` and `qc`: what a file is, and whether it meets the edition's rules;
//! - `submissions`: every submission with its source, state and verdict; reminders;
//! - `workflow`: 已报送 → 技术审核 → 遴选 → 已排播 → 已播出, and `schedulable`;
//! - `cli`: `kepu-playout catalog …`.

pub mod batch;
pub mod cli;
pub mod fields;
pub mod form;
pub mod import;
pub mod model;
pub mod probe;
pub mod qc;
pub mod repo;
pub mod submissions;
pub mod workflow;

use crate::edition::Edition;
use crate::store::Store;
use std::sync::Arc;

/// The catalog of one edition over one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Catalog {
    store: Store,
    edition: Arc<Edition>,
}

impl Catalog {
    /// A catalog for `edition` over `store`.
    pub fn new(store: Store, edition: Arc<Edition>) -> Self {
        Self { store, edition }
    }

    /// The edition whose rules apply.
    pub fn edition(&self) -> &Edition {
        &self.edition
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
