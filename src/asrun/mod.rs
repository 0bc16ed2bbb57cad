//! The as-run log (播出记录): one row per airing, the evidence behind each work's 活动参与证明.
//!
//! Owns the `asrun` table: writing airings as the engine reports them ([`AsRunLog::apply`]
//! with the [`recorder::Write`]s of the pure [`recorder::AsRunRecorder`]), queries by day
//! (Asia/Shanghai), work and unit, and the CSV export ([`csv`]). Does not own the engine or
//! the rundown. Rows are never deleted; a row is inserted at the first frame (so an airing
//! cut short by kill -9 is still there), gets its fallback intervals while it is open, and is
//! completed exactly once at its end, after which it does not change. Every write is its own
//! committed statement before the call returns.

pub mod csv;
pub mod recorder;

use crate::store::{Error, Result, Store, now_ms};
use chrono::{TimeZone, Utc};
use recorder::{ItemInfo, Write};
use serde::{Deserialize, Serialize};

/// A fallback interval inside an airing (slate or held frame instead of the item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fallback {
    /// From, UTC ms.
    pub from_ms: i64,
    /// To, UTC ms.
    pub to_ms: i64,
    /// Why (as reported by the engine).
    pub reason: String,
}

/// The start of an airing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAiring {
    /// Stable key (item id @ first-frame ms).
    pub key: String,
    /// What was cued.
    pub info: ItemInfo,
    /// Its first frame, UTC ms.
    pub first_frame_ms: i64,
}

/// One stored airing.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Airing {
    /// Row id.
    pub id: i64,
    /// Stable key.
    pub airing_key: String,
    /// The engine's item id.
    pub item_id: String,
    /// The catalog work.
    pub work_id: Option<i64>,
    /// The submitting unit.
    pub unit_id: Option<i64>,
    /// 节目名称.
    pub title: String,
    /// Source actually used.
    pub source: String,
    /// Planned start, UTC ms.
    pub planned_start_ms: Option<i64>,
    /// First frame, UTC ms.
    pub first_frame_ms: i64,
    /// Last frame, UTC ms (None while on air or if the process died during it).
    pub last_frame_ms: Option<i64>,
    /// Frames played.
    pub frames: Option<i64>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Fallback intervals.
    pub fallbacks: Vec<Fallback>,
    /// The rundown day it came from.
    pub rundown_day: Option<String>,
    /// The rundown version it came from.
    pub rundown_version: Option<i64>,
    /// The broadcast day (Asia/Shanghai) of its first frame.
    pub air_day: String,
    /// Loudness correction applied on air, milli-dB (`None`: none; the item unmeasured or
    /// recorded before corrections existed).
    pub gain_mdb: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    airing_key: String,
    item_id: String,
    work_id: Option<i64>,
    unit_id: Option<i64>,
    title: String,
    source: String,
    planned_start_ms: Option<i64>,
    first_frame_ms: i64,
    last_frame_ms: Option<i64>,
    frames: Option<i64>,
    end_reason: Option<String>,
    fallbacks_json: String,
    rundown_day: Option<String>,
    rundown_version: Option<i64>,
    air_day: String,
    gain_mdb: Option<i64>,
}

impl From<Row> for Airing {
    fn from(r: Row) -> Self {
        let fallbacks = serde_json::from_str(&r.fallbacks_json).unwrap_or_else(|e| {
            tracing::error!(id = r.id, error = %e, "unreadable fallbacks_json in as-run row");
            Vec::new()
        });
        Self {
            id: r.id,
            airing_key: r.airing_key,
            item_id: r.item_id,
            work_id: r.work_id,
            unit_id: r.unit_id,
            title: r.title,
            source: r.source,
            planned_start_ms: r.planned_start_ms,
            first_frame_ms: r.first_frame_ms,
            last_frame_ms: r.last_frame_ms,
            frames: r.frames,
            end_reason: r.end_reason,
            fallbacks,
            rundown_day: r.rundown_day,
            rundown_version: r.rundown_version,
            air_day: r.air_day,
            gain_mdb: r.gain_mdb,
        }
    }
}

/// A query of the log; all filters optional and combined with AND.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AsRunQuery {
    /// Broadcast day 'YYYY-MM-DD' (Asia/Shanghai).
    #[serde(default)]
    pub day: Option<String>,
    /// Work id.
    #[serde(default)]
    pub work: Option<i64>,
    /// Unit id.
    #[serde(default)]
    pub unit: Option<i64>,
}

/// The broadcast day (Asia/Shanghai) of a UTC instant.
pub fn air_day_of(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d")
            .to_string(),
        None => "0000-00-00".into(),
    }
}

/// The query of [`AsRunLog::query`]: one literal text for both backends. Unset filters are
/// bound as sentinels ('' and -1).
const QUERY: &str = "SELECT id, airing_key, item_id, work_id, unit_id, title, source, \
     planned_start_ms, first_frame_ms, last_frame_ms, frames, end_reason, fallbacks_json, \
     rundown_day, rundown_version, air_day, gain_mdb FROM asrun WHERE ($1 = '' OR air_day = $1) \
     AND ($2 < 0 OR work_id = $2) AND ($3 < 0 OR unit_id = $3) ORDER BY first_frame_ms, id";

/// The as-run log over the store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AsRunLog {
    store: Store,
}

impl AsRunLog {
    /// The log stored in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Applies one write from the recorder; committed when it returns.
    pub async fn apply(&self, w: &Write) -> Result<()> {
        match w {
            Write::Start(a) => self.record_start(a).await.map(|_| ()),
            Write::Fallback { key, interval } => self.record_fallback(key, interval).await,
            Write::End {
                key,
                last_frame_ms,
                frames,
                reason,
            } => self.record_end(key, *last_frame_ms, *frames, reason).await,
        }
    }

    /// Inserts a new airing at its first frame; returns its row id.
    pub async fn record_start(&self, a: &NewAiring) -> Result<i64> {
        let i = &a.info;
        Ok(sqlx::query_scalar(
            "INSERT INTO asrun (airing_key, item_id, work_id, unit_id, title, source, \
             planned_start_ms, first_frame_ms, rundown_day, rundown_version, air_day, \
             recorded_at_ms, gain_mdb) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(&a.key)
        .bind(&i.item_id)
        .bind(i.work_id)
        .bind(i.unit_id)
        .bind(&i.title)
        .bind(&i.source)
        .bind(i.planned_start_ms)
        .bind(a.first_frame_ms)
        .bind(&i.rundown_day)
        .bind(i.rundown_version)
        .bind(air_day_of(a.first_frame_ms))
        .bind(now_ms())
        .bind(i.gain_mdb.map(i64::from))
        .fetch_one(self.store.pool())
        .await?)
    }

    /// Adds a fallback interval to an airing that is still open.
    pub async fn record_fallback(&self, key: &str, f: &Fallback) -> Result<()> {
        let mut tx = self.store.pool().begin().await?;
        let current: Option<String> = sqlx::query_scalar(
            "SELECT fallbacks_json FROM asrun WHERE airing_key = $1 AND end_reason IS NULL",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(json) = current else {
            return Err(Error::not_found("进行中的播出记录", key));
        };
        let mut list: Vec<Fallback> = serde_json::from_str(&json).unwrap_or_default();
        list.push(f.clone());
        let json = serde_json::to_string(&list)
            .map_err(|e| Error::Unavailable(format!("垫片记录无法序列化：{e}")))?;
        sqlx::query("UPDATE asrun SET fallbacks_json = $1 WHERE airing_key = $2")
            .bind(json)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Completes an open airing (once; a completed row does not change).
    pub async fn record_end(
        &self,
        key: &str,
        last_frame_ms: i64,
        frames: i64,
        reason: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE asrun SET last_frame_ms = $1, frames = $2, end_reason = $3 \
             WHERE airing_key = $4 AND end_reason IS NULL",
        )
        .bind(last_frame_ms)
        .bind(frames)
        .bind(reason)
        .bind(key)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("进行中的播出记录", key));
        }
        Ok(())
    }

    /// At start after a crash: closes every airing left open by the previous process with
    /// the reason `interrupted` (its last frame stays unknown); returns how many. Call it
    /// before the engine starts, so the resumed item gets a new row of its own.
    pub async fn close_interrupted(&self) -> Result<u64> {
        let done =
            sqlx::query("UPDATE asrun SET end_reason = 'interrupted' WHERE end_reason IS NULL")
                .execute(self.store.pool())
                .await?;
        if done.rows_affected() > 0 {
            tracing::warn!(
                rows = done.rows_affected(),
                "as-run airings left open by the previous run closed as interrupted"
            );
        }
        Ok(done.rows_affected())
    }

    /// Airings matching `q`, in airing order.
    pub async fn query(&self, q: &AsRunQuery) -> Result<Vec<Airing>> {
        if let Some(d) = &q.day
            && chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").is_err()
        {
            return Err(Error::invalid(
                "day",
                format!("日期「{d}」格式应为 YYYY-MM-DD"),
            ));
        }
        let rows: Vec<Row> = sqlx::query_as(QUERY)
            .bind(q.day.as_deref().map(str::trim).unwrap_or(""))
            .bind(q.work.unwrap_or(-1))
            .bind(q.unit.unwrap_or(-1))
            .fetch_all(self.store.pool())
            .await?;
        Ok(rows.into_iter().map(Airing::from).collect())
    }

    /// Number of rows in the log.
    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM asrun")
            .fetch_one(self.store.pool())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn air_day_is_shanghai() {
        // 2026-09-20 16:30 UTC is 2026-09-21 00:30 in Beijing.
        assert_eq!(air_day_of(1_789_921_800_000), "2026-09-21");
        assert_eq!(air_day_of(1_789_921_800_000 - 3_600_000), "2026-09-20");
    }
}
