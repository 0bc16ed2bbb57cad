//! What `kepu-playout rundown … --db` needs from the database, for the synchronous CLI
//! (`rundown_cli`, run on a blocking thread): where the days live (a directory in file mode,
//! the database otherwise) and the catalog's works and feeds as rundown values.
//! Errors are `anyhow` here: this is the edge.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::runtime::{Handle, Runtime};

use super::{DbDayStore, source};
use crate::catalog::Catalog;
use crate::rundown::store::{DayStore, DirStore};
use crate::rundown::{FrameRate, LiveFeed, Work};
use crate::store::{Store, redact};

/// A runtime to block on: the caller's (the CLI runs on a blocking thread of `main`'s
/// runtime) or one of our own when there is none.
#[derive(Debug)]
pub struct Blocker {
    handle: Handle,
    _own: Option<Runtime>,
}

impl Blocker {
    /// The current runtime's handle, or a new small runtime.
    pub fn new() -> Result<Self> {
        if let Ok(handle) = Handle::try_current() {
            return Ok(Self { handle, _own: None });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("无法启动异步运行时")?;
        Ok(Self {
            handle: rt.handle().clone(),
            _own: Some(rt),
        })
    }

    /// Runs `f` to completion (not from inside an async task).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}

/// Opens the database (migrating it) and the catalog of the edition file `edition` (`None`:
/// the built-in edition).
pub fn open_catalog(b: &Blocker, db: &str, edition: Option<&Path>) -> Result<Catalog> {
    let ed = crate::serve::edition_at(edition)?;
    let store = b
        .block_on(Store::open(db))
        .with_context(|| format!("无法打开数据库 {}", redact(db)))?;
    Ok(Catalog::new(store, Arc::new(ed)))
}

/// Works and feeds of the catalog in the database.
pub fn catalog_inputs(
    b: &Blocker,
    cat: &Catalog,
    rate: FrameRate,
) -> Result<(Vec<Work>, Vec<LiveFeed>)> {
    let works = b
        .block_on(source::works(cat, rate))
        .context("无法从数据库读取作品")?;
    let feeds = b
        .block_on(source::feeds(cat))
        .context("无法从数据库读取慢直播信号")?;
    Ok((works, feeds))
}

/// Where the days live.
#[derive(Debug)]
pub enum Days {
    /// A directory of files.
    Dir(DirStore),
    /// The database (the runtime is kept alive as long as the store).
    Db(DbDayStore, Blocker),
}

impl Days {
    /// File mode when `dir` is given, the database `db` otherwise.
    pub fn open(dir: Option<&Path>, db: &str) -> Result<Self> {
        if let Some(d) = dir {
            return Ok(Self::Dir(DirStore::new(d)));
        }
        let b = Blocker::new()?;
        let store = b
            .block_on(Store::open(db))
            .with_context(|| format!("无法打开数据库 {}", redact(db)))?;
        Ok(Self::Db(
            DbDayStore::with_handle(store, b.handle.clone()),
            b,
        ))
    }

    /// The store behind the trait.
    pub fn store(&mut self) -> &mut dyn DayStore {
        match self {
            Self::Dir(s) => s,
            Self::Db(s, _) => s,
        }
    }

    /// Where, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(s) => format!("目录 {}", s.root().display()),
            Self::Db(s, _) => format!(
                "数据库（{}）",
                match s.store().backend() {
                    crate::store::Backend::Sqlite => "SQLite",
                    crate::store::Backend::Postgres => "PostgreSQL",
                }
            ),
        }
    }
}
