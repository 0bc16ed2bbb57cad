//! The storage seam: days with versions (who, when, why) and operator locks, behind the
//! [`DayStore`] trait. The database implementation is `crate::rundown_db::DbDayStore`; here
//! are an in-memory store (tests) and a directory store (the CLI's file mode).
//!
//! A save that would not change a day's bytes makes no new version, so a rebuild that keeps a
//! day leaves its history untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::Day;

/// Who saved a version of a day, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionMeta {
    /// Version number, from 1.
    pub version: u32,
    /// Who (operator login or `builder`).
    pub author: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Why (free text).
    pub reason: String,
}

/// An operator's lock on a day: rebuilds leave it alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Who locked it.
    pub by: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// Storage failures, naming the file or key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O on a file.
    #[error("节目单存储读写失败 {path}：{source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A stored file did not parse.
    #[error("节目单文件 {path} 格式错误：{message}")]
    Corrupt {
        /// File.
        path: String,
        /// Parser message.
        message: String,
    },
    /// No such day or version.
    #[error("没有 {date} 的节目单{}", .version.map(|v| format!("第 {v} 版")).unwrap_or_default())]
    NotFound {
        /// Date.
        date: NaiveDate,
        /// Version asked for.
        version: Option<u32>,
    },
    /// The request conflicts with the stored state (a locked day, a concurrent save).
    #[error("{0}")]
    Conflict(String),
    /// The backing database cannot be used right now (details are logged, not shown).
    #[error("节目单存储暂不可用：{0}")]
    Unavailable(String),
}

/// Where days live. Implemented by the database store at merge time.
pub trait DayStore {
    /// Dates that have at least one version, in order.
    fn dates(&self) -> Result<Vec<NaiveDate>, StoreError>;
    /// Version list of a day, oldest first.
    fn versions(&self, date: NaiveDate) -> Result<Vec<VersionMeta>, StoreError>;
    /// One version of a day (`None`: the latest).
    fn load(
        &self,
        date: NaiveDate,
        version: Option<u32>,
    ) -> Result<Option<(VersionMeta, Day)>, StoreError>;
    /// Saves a new version unless the day is byte-identical to the latest; returns the
    /// version that now holds it.
    fn save(
        &mut self,
        day: &Day,
        author: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionMeta, StoreError>;
    /// The lock on a day, if any.
    fn lock(&self, date: NaiveDate) -> Result<Option<Lock>, StoreError>;
    /// Sets or clears a lock.
    fn set_lock(&mut self, date: NaiveDate, lock: Option<Lock>) -> Result<(), StoreError>;

    /// The latest version of every day.
    fn latest_days(&self) -> Result<BTreeMap<NaiveDate, Day>, StoreError> {
        let mut out = BTreeMap::new();
        for d in self.dates()? {
            if let Some((_, day)) = self.load(d, None)? {
                out.insert(d, day);
            }
        }
        Ok(out)
    }

    /// Restores an old version by saving it again as the newest.
    fn restore(
        &mut self,
        date: NaiveDate,
        version: u32,
        author: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionMeta, StoreError> {
        let (_, day) = self
            .load(date, Some(version))?
            .ok_or(StoreError::NotFound {
                date,
                version: Some(version),
            })?;
        self.save(&day, author, &format!("恢复第 {version} 版"), at)
    }
}

/// In-memory store.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    days: BTreeMap<NaiveDate, Vec<(VersionMeta, Day)>>,
    locks: BTreeMap<NaiveDate, Lock>,
}

impl DayStore for MemStore {
    fn dates(&self) -> Result<Vec<NaiveDate>, StoreError> {
        Ok(self.days.keys().copied().collect())
    }
    fn versions(&self, date: NaiveDate) -> Result<Vec<VersionMeta>, StoreError> {
        Ok(self
            .days
            .get(&date)
            .map(|v| v.iter().map(|x| x.0.clone()).collect())
            .unwrap_or_default())
    }
    fn load(
        &self,
        date: NaiveDate,
        version: Option<u32>,
    ) -> Result<Option<(VersionMeta, Day)>, StoreError> {
        let Some(v) = self.days.get(&date) else {
            return Ok(None);
        };
        Ok(match version {
            None => v.last().cloned(),
            Some(n) => v.iter().find(|x| x.0.version == n).cloned(),
        })
    }
    fn save(
        &mut self,
        day: &Day,
        author: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionMeta, StoreError> {
        let v = self.days.entry(day.date).or_default();
        if let Some((m, last)) = v.last()
            && last.to_canonical_json() == day.to_canonical_json()
        {
            return Ok(m.clone());
        }
        let meta = VersionMeta {
            version: v.len() as u32 + 1,
            author: author.into(),
            at,
            reason: reason.into(),
        };
        v.push((meta.clone(), day.clone()));
        Ok(meta)
    }
    fn lock(&self, date: NaiveDate) -> Result<Option<Lock>, StoreError> {
        Ok(self.locks.get(&date).cloned())
    }
    fn set_lock(&mut self, date: NaiveDate, lock: Option<Lock>) -> Result<(), StoreError> {
        match lock {
            Some(l) => self.locks.insert(date, l),
            None => self.locks.remove(&date),
        };
        Ok(())
    }
}

/// A directory of days: `DIR/2026-09-01/v0001.json` (the day, canonical JSON),
/// `v0001.meta.json` and `lock.json`. Writes go through a temporary file and a rename.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root` (created on first save).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirStore { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn day_dir(&self, date: NaiveDate) -> PathBuf {
        self.root.join(date.to_string())
    }

    /// Path of a version's day file.
    pub fn day_path(&self, date: NaiveDate, version: u32) -> PathBuf {
        self.day_dir(date).join(format!("v{version:04}.json"))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn write_atomic(path: &Path, text: &str) -> Result<(), StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

impl DayStore for DirStore {
    fn dates(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&self.root)(e)),
        };
        for e in rd {
            let e = e.map_err(io(&self.root))?;
            if let Some(d) = e
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<NaiveDate>().ok())
                && !self.versions(d)?.is_empty()
            {
                out.push(d);
            }
        }
        out.sort();
        Ok(out)
    }

    fn versions(&self, date: NaiveDate) -> Result<Vec<VersionMeta>, StoreError> {
        let mut out = Vec::new();
        for v in 1.. {
            let p = self.day_dir(date).join(format!("v{v:04}.meta.json"));
            if !p.exists() {
                break;
            }
            out.push(read_json(&p)?);
        }
        Ok(out)
    }

    fn load(
        &self,
        date: NaiveDate,
        version: Option<u32>,
    ) -> Result<Option<(VersionMeta, Day)>, StoreError> {
        let v = match version {
            Some(v) => v,
            None => match self.versions(date)?.last() {
                Some(m) => m.version,
                None => return Ok(None),
            },
        };
        let meta_path = self.day_dir(date).join(format!("v{v:04}.meta.json"));
        if !meta_path.exists() {
            return Ok(None);
        }
        Ok(Some((
            read_json(&meta_path)?,
            read_json(&self.day_path(date, v))?,
        )))
    }

    fn save(
        &mut self,
        day: &Day,
        author: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionMeta, StoreError> {
        let text = day.to_canonical_json();
        let versions = self.versions(day.date)?;
        if let Some(last) = versions.last() {
            let p = self.day_path(day.date, last.version);
            if std::fs::read_to_string(&p).map_err(io(&p))? == text {
                return Ok(last.clone());
            }
        }
        let meta = VersionMeta {
            version: versions.len() as u32 + 1,
            author: author.into(),
            at,
            reason: reason.into(),
        };
        write_atomic(&self.day_path(day.date, meta.version), &text)?;
        let meta_text = serde_json::to_string_pretty(&meta).unwrap_or_default();
        write_atomic(
            &self
                .day_dir(day.date)
                .join(format!("v{:04}.meta.json", meta.version)),
            &meta_text,
        )?;
        Ok(meta)
    }

    fn lock(&self, date: NaiveDate) -> Result<Option<Lock>, StoreError> {
        let p = self.day_dir(date).join("lock.json");
        if p.exists() {
            read_json(&p).map(Some)
        } else {
            Ok(None)
        }
    }

    fn set_lock(&mut self, date: NaiveDate, lock: Option<Lock>) -> Result<(), StoreError> {
        let p = self.day_dir(date).join("lock.json");
        match lock {
            Some(l) => write_atomic(&p, &serde_json::to_string_pretty(&l).unwrap_or_default()),
            None if p.exists() => std::fs::remove_file(&p).map_err(io(&p)),
            None => Ok(()),
        }
    }
}
