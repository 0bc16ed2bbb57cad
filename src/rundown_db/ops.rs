//! Rundown operations on the database that the CLI (`rundown … --db`) and the REST API share:
//! the schedule from the edition file, build/rebuild from the catalog, lock, unlock, restore,
//! validate and diff. Errors are the store's classified [`Error`] (not found, invalid with
//! the field, conflict, unavailable), so both edges answer the same way.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{DbDayStore, source};
use crate::catalog::Catalog;
use crate::edition::Edition;
use crate::rundown::builder::{BuildReport, BuildRequest, build as build_days};
use crate::rundown::diff::{DiffLine, diff_days};
use crate::rundown::store::{Lock, StoreError, VersionMeta};
use crate::rundown::validate::{Problem, validate_day};
use crate::rundown::{self, CompiledSchedule, Day, LiveFeed, ScheduleConfig, Work};
use crate::store::{Error, Result};

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { date, version } => Error::NotFound {
                what: "节目单",
                key: match version {
                    Some(v) => format!("{date} 第 {v} 版"),
                    None => date.to_string(),
                },
            },
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::Unavailable(m) => Error::Unavailable(m),
            other => {
                tracing::error!(error = %other, "rundown storage failure");
                Error::Unavailable("节目单存储读写失败，请联系管理员".into())
            }
        }
    }
}

/// The compiled `[schedule]` table of an edition file.
pub fn schedule_of(edition: &Edition) -> Result<CompiledSchedule> {
    let origin = format!("{} 年版本配置", edition.edition.year);
    let table = edition
        .schedule
        .clone()
        .ok_or_else(|| Error::invalid("schedule", format!("{origin}缺少 [schedule] 排播配置表")))?;
    let cfg: ScheduleConfig = table
        .try_into()
        .map_err(|e: toml::de::Error| Error::invalid("schedule", e.to_string()))?;
    cfg.compile(&origin)
        .map_err(|e| Error::invalid("schedule", e.to_string()))
}

/// The catalog as rundown works and feeds.
pub async fn catalog_inputs(
    cat: &Catalog,
    cs: &CompiledSchedule,
) -> Result<(Vec<Work>, Vec<LiveFeed>)> {
    Ok((
        source::works(cat, cs.rate).await?,
        source::feeds(cat).await?,
    ))
}

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildOutcome {
    /// The builder's report (days built and kept, exclusions, warnings).
    pub report: BuildReport,
    /// Version of each built day after saving (unchanged days keep their version).
    pub saved: Vec<(NaiveDate, u32)>,
}

/// Builds the window (or rebuilds from `from` on) from the catalog in the database and saves
/// new versions of the days that changed. Past days, the day on air at `now` and locked days
/// are kept as they are.
pub async fn build(
    cat: &Catalog,
    days: &DbDayStore,
    cs: Arc<CompiledSchedule>,
    from: Option<NaiveDate>,
    now: DateTime<Utc>,
    author: &str,
    reason: &str,
) -> Result<BuildOutcome> {
    if author.trim().is_empty() {
        return Err(Error::invalid("author", "须写明操作人"));
    }
    if let Some(f) = from
        && !(cs.config.first_day..=cs.config.last_day).contains(&f)
    {
        return Err(Error::invalid(
            "from",
            format!(
                "{f} 不在播出窗口 {} 至 {} 内",
                cs.config.first_day, cs.config.last_day
            ),
        ));
    }
    let (works, feeds) = catalog_inputs(cat, &cs).await?;
    let existing = days.latest_days_async().await?;
    let locked = days.locked_dates_async().await?;
    let built = tokio::task::spawn_blocking(move || {
        let req = BuildRequest {
            works: &works,
            feeds: &feeds,
            existing: &existing,
            from,
            now: Some(now),
            locked: &locked,
        };
        build_days(&cs, &req)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "rundown build task failed");
        Error::Unavailable("编排任务异常中止".into())
    })?;
    let mut saved = Vec::new();
    for date in &built.report.built {
        if let Some(day) = built.days.get(date) {
            let meta = days.save_async(day, author, reason, now).await?;
            saved.push((*date, meta.version));
        }
    }
    Ok(BuildOutcome {
        report: built.report,
        saved,
    })
}

/// The current version of a day, 404 when it was never built.
pub async fn current(days: &DbDayStore, date: NaiveDate) -> Result<(VersionMeta, Day)> {
    days.load_async(date, None)
        .await?
        .ok_or(StoreError::NotFound {
            date,
            version: None,
        })
        .map_err(Error::from)
}

/// One version of a day, 404 when there is no such version.
pub async fn version(days: &DbDayStore, date: NaiveDate, v: u32) -> Result<(VersionMeta, Day)> {
    days.load_async(date, Some(v))
        .await?
        .ok_or(StoreError::NotFound {
            date,
            version: Some(v),
        })
        .map_err(Error::from)
}

/// Locks a built day; a day locked already is a conflict naming who holds it.
pub async fn lock(days: &DbDayStore, date: NaiveDate, lock: Lock) -> Result<Lock> {
    if lock.by.trim().is_empty() {
        return Err(Error::invalid("by", "须写明锁定人"));
    }
    current(days, date).await?;
    if !days.try_lock_async(date, &lock).await? {
        let holder = days
            .lock_async(date)
            .await?
            .map(|l| l.by)
            .unwrap_or_default();
        return Err(Error::Conflict(format!(
            "{date} 的节目单已被「{holder}」锁定"
        )));
    }
    Ok(lock)
}

/// Unlocks a built day (unlocking an unlocked day does nothing).
pub async fn unlock(days: &DbDayStore, date: NaiveDate) -> Result<()> {
    current(days, date).await?;
    Ok(days.set_lock_async(date, None).await?)
}

/// Brings back version `v` as the newest version; refused on a locked day.
pub async fn restore(
    days: &DbDayStore,
    date: NaiveDate,
    v: u32,
    by: &str,
    at: DateTime<Utc>,
) -> Result<VersionMeta> {
    if by.trim().is_empty() {
        return Err(Error::invalid("by", "须写明操作人"));
    }
    if let Some(l) = days.lock_async(date).await? {
        return Err(Error::Conflict(format!(
            "{date} 的节目单已被「{}」锁定，须先解锁才能恢复",
            l.by
        )));
    }
    let (_, day) = version(days, date, v).await?;
    Ok(days
        .save_async(&day, by, &format!("恢复第 {v} 版"), at)
        .await?)
}

/// Validates the current version of a day against the catalog and the schedule.
pub async fn validate(
    cat: &Catalog,
    days: &DbDayStore,
    cs: &CompiledSchedule,
    date: NaiveDate,
) -> Result<(VersionMeta, Vec<Problem>)> {
    let (meta, day) = current(days, date).await?;
    let (works, feeds) = catalog_inputs(cat, cs).await?;
    let catalog = rundown::Catalog::new(&works, &feeds);
    Ok((meta, validate_day(&day, &catalog, Some(cs))))
}

/// Differences between two versions of a day (default: the one before `to`, and the current).
pub async fn diff(
    days: &DbDayStore,
    date: NaiveDate,
    from: Option<u32>,
    to: Option<u32>,
) -> Result<(u32, u32, Vec<DiffLine>)> {
    let to = match to {
        Some(v) => v,
        None => current(days, date).await?.0.version,
    };
    let from = from.unwrap_or(to.saturating_sub(1).max(1));
    let (_, old) = version(days, date, from).await?;
    let (_, new) = version(days, date, to).await?;
    Ok((from, to, diff_days(&old, &new)))
}
