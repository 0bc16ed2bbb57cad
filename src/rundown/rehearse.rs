//! The rehearsal's report and its media questions: per day dead air, cuts and overlaps,
//! missing or unverified media, live windows without a source, and airtime by section,
//! category and unit ([`Rehearsal`]); what a source is ([`MediaProbe`]: files on disk, or
//! trusted). The rehearsal itself runs the on-air controller and the engine's switcher on a
//! simulated clock (`air::rehearsal`), so the month is rehearsed by the code that airs it;
//! this module stays pure.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DayItem, ItemKind};

/// What a probe knows about a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaCheck {
    /// Present; its length in frames when known.
    Present {
        /// Length, frames.
        frames: Option<u64>,
    },
    /// Not there.
    Missing,
    /// Cannot be checked here (a live URL); why.
    Unverified(String),
}

/// Answers whether a source exists (and how long it is).
pub trait MediaProbe {
    /// Checks one source.
    fn probe(&self, source: &str) -> MediaCheck;
}

/// Checks local paths on disk; URLs are unverified; the engine's slate card is present.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsProbe;

impl MediaProbe for FsProbe {
    fn probe(&self, source: &str) -> MediaCheck {
        if source.trim() == super::config::ENGINE_SLATE_SOURCE {
            MediaCheck::Present { frames: None }
        } else if source.contains("://") {
            MediaCheck::Unverified("网络信号，排练不拉流".into())
        } else if Path::new(source).exists() {
            MediaCheck::Present { frames: None }
        } else {
            MediaCheck::Missing
        }
    }
}

/// Trusts every source (rehearse timing only).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustProbe;

impl MediaProbe for TrustProbe {
    fn probe(&self, _: &str) -> MediaCheck {
        MediaCheck::Present { frames: None }
    }
}

/// Something that happened on the simulated air.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// When, Shanghai wall time.
    pub wall: String,
    /// How long, frames.
    pub frames: u64,
    /// Chinese description.
    pub message: String,
}

/// One day of the rehearsal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RehearsalDay {
    /// The date.
    pub date: String,
    /// Items played.
    pub items: usize,
    /// Dead air (nothing scheduled, or media ran out).
    pub gaps: Vec<Incident>,
    /// Items cut by a hard start or overlapping the next.
    pub overlaps: Vec<Incident>,
    /// Media not found.
    pub missing: Vec<Incident>,
    /// Media not checkable here (live URLs).
    pub unverified: Vec<Incident>,
    /// Live windows or items without a source.
    pub no_source: Vec<Incident>,
    /// Frames of dead air.
    pub dead_air_frames: u64,
    /// Frames of filler clips.
    pub filler_frames: u64,
    /// Frames of slate.
    pub slate_frames: u64,
    /// Programme airtime by section, frames.
    pub by_section: BTreeMap<String, u64>,
    /// Programme airtime by category number (1–9 as on the collection form; the edition
    /// names them), frames.
    pub by_category: BTreeMap<u8, u64>,
    /// Programme airtime by unit, frames.
    pub by_unit: BTreeMap<String, u64>,
}

impl RehearsalDay {
    /// Nothing went wrong on air (unverified live URLs are not faults).
    pub fn clean(&self) -> bool {
        self.gaps.is_empty()
            && self.overlaps.is_empty()
            && self.missing.is_empty()
            && self.no_source.is_empty()
    }
}

/// The whole rehearsal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rehearsal {
    /// Per day.
    pub days: Vec<RehearsalDay>,
}

/// Adds `frames` of `it` that aired to the day's airtime (filler, slate, or by section,
/// category and unit).
pub fn account(r: &mut RehearsalDay, it: &DayItem, frames: u64) {
    match it.kind {
        ItemKind::Filler => r.filler_frames += frames,
        ItemKind::Slate => r.slate_frames += frames,
        _ => {
            *r.by_section.entry(it.section.clone()).or_default() += frames;
            if let Some(&c) = it.categories.first() {
                *r.by_category.entry(c).or_default() += frames;
            }
            let unit = if it.unit.is_empty() {
                "（未注明）".to_string()
            } else {
                it.unit.clone()
            };
            *r.by_unit.entry(unit).or_default() += frames;
        }
    }
}
