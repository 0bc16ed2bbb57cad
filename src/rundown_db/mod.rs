//! The rundown over the database: stored days with versions and locks ([`DbDayStore`], the
//! `rundown_days` / `rundown_day_versions` tables of `migrations/*/1001_rundown.sql`), the
//! catalog seen as rundown works and slow-live feeds ([`source`]), and the operations the CLI
//! and the REST API share ([`ops`]: build from the database, lock, restore, validate).
//!
//! Owns: SQL for those tables and the mapping between rows and `rundown` values. Does not
//! own the rundown rules (pure, in `rundown`), the catalog workflow (in `catalog`) nor
//! connecting/migrating (in `store`). A day is stored as its canonical JSON
//! ([`Day::to_canonical_json`]); a save of unchanged bytes makes no version.
//!
//! The [`DayStore`] trait is synchronous (the pure core and the file CLI use it); the async
//! methods here are the real implementation and the trait blocks on them. Blocking needs a
//! multi-thread Tokio runtime or a thread outside any runtime (e.g. `spawn_blocking`).

pub mod backup;
pub mod cli;
pub mod editing;
pub mod edits;
pub mod loudness;
pub mod ops;
pub mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::rundown::Day;
use crate::rundown::store::{DayStore, Lock, StoreError, VersionMeta};
use crate::store::{Error, Store, now_ms};
use edits::NewEdit;

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Conflict(m) => StoreError::Conflict(m),
            Error::Unavailable(m) => StoreError::Unavailable(m),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

fn db(e: sqlx::Error) -> StoreError {
    Error::from(e).into()
}

fn ms_to_utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn date_key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_day(date: NaiveDate, version: i64, json: &str) -> Result<Day, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        path: format!("数据库 rundown_day_versions（{date} 第 {version} 版）"),
        message: e.to_string(),
    })
}

fn version_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Days with versions and locks in the catalog's database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DbDayStore {
    store: Store,
    handle: Option<Handle>,
}

type VersionRow = (i64, String, i64, String);
type LockRow = (i64, Option<String>, Option<i64>, Option<String>);

impl DbDayStore {
    /// A day store on `store`'s pool. Remembers the current Tokio runtime (if any) so the
    /// synchronous [`DayStore`] methods can be called later from plain threads.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            handle: Handle::try_current().ok(),
        }
    }

    /// A day store whose synchronous methods block on `handle` when called from a plain
    /// thread.
    pub fn with_handle(store: Store, handle: Handle) -> Self {
        Self {
            store,
            handle: Some(handle),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn block<F: Future>(&self, f: F) -> Result<F::Output, StoreError> {
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::CurrentThread => {
                Err(StoreError::Unavailable(
                    "数据库节目单存储的同步接口须在多线程运行时或阻塞线程中调用".into(),
                ))
            }
            Ok(h) => Ok(tokio::task::block_in_place(|| h.block_on(f))),
            Err(_) => match &self.handle {
                Some(h) => Ok(h.block_on(f)),
                None => Err(StoreError::Unavailable("没有可用的异步运行时".into())),
            },
        }
    }

    /// Dates with at least one version, in order.
    pub async fn dates_async(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT date FROM rundown_days WHERE current_version > 0 ORDER BY date",
        )
        .fetch_all(self.store.pool())
        .await
        .map_err(db)?;
        Ok(rows.iter().filter_map(|d| d.parse().ok()).collect())
    }

    /// Version list of a day, oldest first (empty when the day was never saved).
    pub async fn versions_async(&self, date: NaiveDate) -> Result<Vec<VersionMeta>, StoreError> {
        let rows: Vec<VersionRow> = sqlx::query_as(
            "SELECT version, author, at_ms, reason FROM rundown_day_versions \
             WHERE date = $1 ORDER BY version",
        )
        .bind(date_key(date))
        .fetch_all(self.store.pool())
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(meta_of).collect())
    }

    /// One version (`None`: the current one), or `None` when there is no such version.
    pub async fn load_async(
        &self,
        date: NaiveDate,
        version: Option<u32>,
    ) -> Result<Option<(VersionMeta, Day)>, StoreError> {
        let v = match version {
            Some(v) => i64::from(v),
            None => {
                let cur: Option<i64> =
                    sqlx::query_scalar("SELECT current_version FROM rundown_days WHERE date = $1")
                        .bind(date_key(date))
                        .fetch_optional(self.store.pool())
                        .await
                        .map_err(db)?;
                match cur {
                    Some(c) if c > 0 => c,
                    _ => return Ok(None),
                }
            }
        };
        let row: Option<(i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT version, author, at_ms, reason, day_json FROM rundown_day_versions \
             WHERE date = $1 AND version = $2",
        )
        .bind(date_key(date))
        .bind(v)
        .fetch_optional(self.store.pool())
        .await
        .map_err(db)?;
        let Some((version, author, at_ms, reason, json)) = row else {
            return Ok(None);
        };
        let day = parse_day(date, version, &json)?;
        Ok(Some((meta_of((version, author, at_ms, reason)), day)))
    }

    /// The current version of every day, by date.
    pub async fn latest_days_async(&self) -> Result<BTreeMap<NaiveDate, Day>, StoreError> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT d.date, v.version, v.day_json FROM rundown_days d \
             JOIN rundown_day_versions v ON v.date = d.date AND v.version = d.current_version \
             ORDER BY d.date",
        )
        .fetch_all(self.store.pool())
        .await
        .map_err(db)?;
        let mut out = BTreeMap::new();
        for (d, v, json) in rows {
            let Ok(date) = d.parse::<NaiveDate>() else {
                continue;
            };
            out.insert(date, parse_day(date, v, &json)?);
        }
        Ok(out)
    }

    /// Saves a new version unless the bytes equal the current version's; returns the version
    /// that now holds the day. A concurrent save of the same day is a conflict, not a loss.
    pub async fn save_async(
        &self,
        day: &Day,
        author: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionMeta, StoreError> {
        let mut tx = self.store.pool().begin().await.map_err(db)?;
        let out = save_in(&mut tx, day, None, author, reason, at).await?;
        match out {
            Saved::New(meta) => {
                tx.commit().await.map_err(db)?;
                Ok(meta)
            }
            Saved::Unchanged(meta) => {
                tx.rollback().await.map_err(db)?;
                Ok(meta)
            }
        }
    }

    /// Saves an operator's edit: the day computed from version `expected`, and its history
    /// row, in one transaction. The current version is compared with `expected` inside that
    /// transaction, so of two edits computed from the same version one is saved and the
    /// other is a [`StoreError::Conflict`] naming the version it lost to; nothing is
    /// overwritten unseen. A day equal to the current version saves nothing and records
    /// nothing ([`Saved::Unchanged`]). `edit.version` is filled in with the new version.
    pub async fn save_edit_async(
        &self,
        day: &Day,
        expected: u32,
        reason: &str,
        edit: &mut NewEdit<'_>,
    ) -> Result<Saved, StoreError> {
        let mut tx = self.store.pool().begin().await.map_err(db)?;
        let out = save_in(&mut tx, day, Some(expected), edit.author, reason, edit.at).await?;
        match &out {
            Saved::New(meta) => {
                edit.version = meta.version;
                edits::record_in(&mut tx, edit)
                    .await
                    .map_err(StoreError::from)?;
                tx.commit().await.map_err(db)?;
            }
            Saved::Unchanged(_) => tx.rollback().await.map_err(db)?,
        }
        Ok(out)
    }

    /// The lock on a day, if any.
    pub async fn lock_async(&self, date: NaiveDate) -> Result<Option<Lock>, StoreError> {
        let row: Option<LockRow> = sqlx::query_as(
            "SELECT locked, locked_by, locked_at_ms, lock_reason FROM rundown_days WHERE date = $1",
        )
        .bind(date_key(date))
        .fetch_optional(self.store.pool())
        .await
        .map_err(db)?;
        Ok(row.and_then(lock_of))
    }

    /// Dates an operator locked.
    pub async fn locked_dates_async(&self) -> Result<BTreeSet<NaiveDate>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT date FROM rundown_days WHERE locked = 1 ORDER BY date")
                .fetch_all(self.store.pool())
                .await
                .map_err(db)?;
        Ok(rows.iter().filter_map(|d| d.parse().ok()).collect())
    }

    /// Sets or clears a lock unconditionally.
    pub async fn set_lock_async(
        &self,
        date: NaiveDate,
        lock: Option<Lock>,
    ) -> Result<(), StoreError> {
        self.ensure_row(date).await?;
        let (flag, by, at, reason) = match &lock {
            Some(l) => (
                1_i64,
                Some(l.by.clone()),
                Some(l.at.timestamp_millis()),
                Some(l.reason.clone()),
            ),
            None => (0, None, None, None),
        };
        sqlx::query(
            "UPDATE rundown_days SET locked = $1, locked_by = $2, locked_at_ms = $3, \
             lock_reason = $4, updated_at_ms = $5 WHERE date = $6",
        )
        .bind(flag)
        .bind(by)
        .bind(at)
        .bind(reason)
        .bind(now_ms())
        .bind(date_key(date))
        .execute(self.store.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Locks a day only if it is not locked already (compare-and-set); `false` when it was.
    pub async fn try_lock_async(&self, date: NaiveDate, lock: &Lock) -> Result<bool, StoreError> {
        self.ensure_row(date).await?;
        let done = sqlx::query(
            "UPDATE rundown_days SET locked = 1, locked_by = $1, locked_at_ms = $2, \
             lock_reason = $3, updated_at_ms = $4 WHERE date = $5 AND locked = 0",
        )
        .bind(&lock.by)
        .bind(lock.at.timestamp_millis())
        .bind(&lock.reason)
        .bind(now_ms())
        .bind(date_key(date))
        .execute(self.store.pool())
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn ensure_row(&self, date: NaiveDate) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rundown_days (date, edition, current_version, locked, updated_at_ms) \
             VALUES ($1, $2, 0, 0, $3) ON CONFLICT (date) DO NOTHING",
        )
        .bind(date_key(date))
        .bind(date.year().to_string())
        .bind(now_ms())
        .execute(self.store.pool())
        .await
        .map_err(db)?;
        Ok(())
    }
}

fn meta_of((version, author, at_ms, reason): VersionRow) -> VersionMeta {
    VersionMeta {
        version: version_u32(version),
        author,
        at: ms_to_utc(at_ms),
        reason,
    }
}

fn lock_of((locked, by, at, reason): LockRow) -> Option<Lock> {
    (locked != 0).then(|| Lock {
        by: by.unwrap_or_default(),
        at: ms_to_utc(at.unwrap_or(0)),
        reason: reason.unwrap_or_default(),
    })
}

impl DayStore for DbDayStore {
    fn dates(&self) -> Result<Vec<NaiveDate>, StoreError> {
        self.block(self.dates_async())?
    }
    fn versions(&self, date: NaiveDate) -> Result<Vec<VersionMeta>, StoreError> {
        self.block(self.versions_async(date))?
    }
    fn load(
        &self,
        date: NaiveDate,
        version: Option<u32>,
    ) -> Result<Option<(VersionMeta, Day)>, StoreError> {
        self.block(self.load_async(date, version))?
    }
    fn save(
        &mut self,
        day: &Day,
        author: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<VersionMeta, StoreError> {
        self.block(self.save_async(day, author, reason, at))?
    }
    fn lock(&self, date: NaiveDate) -> Result<Option<Lock>, StoreError> {
        self.block(self.lock_async(date))?
    }
    fn set_lock(&mut self, date: NaiveDate, lock: Option<Lock>) -> Result<(), StoreError> {
        self.block(self.set_lock_async(date, lock))?
    }
    fn latest_days(&self) -> Result<BTreeMap<NaiveDate, Day>, StoreError> {
        self.block(self.latest_days_async())?
    }
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// A new version was written.
    New(VersionMeta),
    /// The day equals the current version: nothing was written.
    Unchanged(VersionMeta),
}

/// Writes `day` as the next version inside `tx` (the caller commits). With `expected`, the
/// current version must be that one, else a conflict naming the current version.
async fn save_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    day: &Day,
    expected: Option<u32>,
    author: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Saved, StoreError> {
    let text = day.to_canonical_json();
    let key = date_key(day.date);
    // A write first, so SQLite takes the write lock at once (no upgrade deadlock) and
    // PostgreSQL locks the day's row until the transaction ends.
    sqlx::query(
        "INSERT INTO rundown_days (date, edition, current_version, locked, updated_at_ms) \
         VALUES ($1, $2, 0, 0, $3) ON CONFLICT (date) DO UPDATE SET updated_at_ms = rundown_days.updated_at_ms",
    )
    .bind(&key)
    .bind(&day.edition)
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    let cur: i64 = sqlx::query_scalar("SELECT current_version FROM rundown_days WHERE date = $1")
        .bind(&key)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
    if let Some(e) = expected
        && cur != i64::from(e)
    {
        return Err(StoreError::Conflict(format!(
            "{} 的节目单已是第 {cur} 版（此修改基于第 {e} 版），请刷新后重试",
            day.date
        )));
    }
    if cur > 0 {
        let last: Option<(i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT version, author, at_ms, reason, day_json FROM rundown_day_versions \
             WHERE date = $1 AND version = $2",
        )
        .bind(&key)
        .bind(cur)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?;
        if let Some((v, a, t, r, json)) = last
            && json == text
        {
            return Ok(Saved::Unchanged(meta_of((v, a, t, r))));
        }
    }
    let next = cur + 1;
    sqlx::query(
        "INSERT INTO rundown_day_versions (date, version, day_json, author, at_ms, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key)
    .bind(next)
    .bind(&text)
    .bind(author)
    .bind(at.timestamp_millis())
    .bind(reason)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    let done = sqlx::query(
        "UPDATE rundown_days SET current_version = $1, edition = $2, updated_at_ms = $3 \
         WHERE date = $4 AND current_version = $5",
    )
    .bind(next)
    .bind(&day.edition)
    .bind(now_ms())
    .bind(&key)
    .bind(cur)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "{} 的节目单刚被他人修改，请刷新后重试",
            day.date
        )));
    }
    Ok(Saved::New(VersionMeta {
        version: version_u32(next),
        author: author.into(),
        at: ms_to_utc(at.timestamp_millis()),
        reason: reason.into(),
    }))
}

#[cfg(test)]
mod tests;
