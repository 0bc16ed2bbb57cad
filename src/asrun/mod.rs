//! The as-run log (播出记录): one row per airing, the evidence behind each work's 活动参与证明.
//!
//! Owns the `asrun` table: writing airings as the engine reports them ([`AsRunLog::apply`]
//! with the [`recorder::Write`]s of the pure [`recorder::AsRunRecorder`]), queries by day
//! (Asia/Shanghai), work and unit, and the CSV export ([`csv`]). Does not own the engine or
//! the rundown. Rows are never deleted; a row is inserted at the first frame (so an airing
//! cut short by kill -9 is still there), gets its fallback intervals while it is open, and is
//! completed exactly once at its end, after which it does not change — except for the
//! recording of a live airing ([`AiringRecording`]), which is added once, when the window's
//! recording is finished (moments after the airing's end, when the engine has closed the
//! source). Every write is its own committed statement before the call returns.

pub mod csv;
pub mod journal;
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

/// The recording of a live airing (`[recording]`): the evidence of what the feed sent
/// while it was on air.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AiringRecording {
    /// 录像目录名 The window's directory name under `[recording] dir` (its name in
    /// `GET /api/v1/recordings`); never a path.
    pub name: String,
    /// 分段数 Segments the recording holds.
    pub segments: i64,
    /// 字节数 Bytes of the window's directory when the recording finished (as the
    /// recordings' list gives its size until the window is registered as a work).
    pub bytes: i64,
}

/// The start of an airing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The node that aired it (`[node] name`; empty for a single node).
    pub node: String,
    /// The recording of a live airing, once it is finished (`None`: not recorded, still
    /// recording, or not a live item).
    pub recording: Option<AiringRecording>,
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
    node: String,
    recording: Option<String>,
    recording_segments: Option<i64>,
    recording_bytes: Option<i64>,
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
            node: r.node,
            recording: r.recording.map(|name| AiringRecording {
                name,
                segments: r.recording_segments.unwrap_or(0),
                bytes: r.recording_bytes.unwrap_or(0),
            }),
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
     rundown_day, rundown_version, air_day, gain_mdb, node, recording, recording_segments, \
     recording_bytes FROM asrun \
     WHERE ($1 = '' OR air_day = $1) \
     AND ($2 < 0 OR work_id = $2) AND ($3 < 0 OR unit_id = $3) ORDER BY first_frame_ms, id";

/// How far apart two nodes' first frames of the same airing may be and still be one airing
/// (the pair is frame-aligned by wall time; this allows for clocks a second apart).
pub const SAME_AIRING_MS: i64 = 1000;

/// The airings of `rows` counted once: rows of *different* nodes with the same item id and
/// first frames at most [`SAME_AIRING_MS`] apart are one airing (main and backup both on air);
/// of those the row with the most frames stands (a node cut short keeps the other's evidence).
/// Rows of one node are never merged. Keeps airing order.
pub fn once_per_airing(rows: Vec<Airing>) -> Vec<Airing> {
    let mut out: Vec<Airing> = Vec::with_capacity(rows.len());
    for a in rows {
        let twin = out.iter().position(|b| {
            b.node != a.node
                && b.item_id == a.item_id
                && (b.first_frame_ms - a.first_frame_ms).abs() <= SAME_AIRING_MS
        });
        match twin {
            Some(i) => {
                if a.frames.unwrap_or(0) > out[i].frames.unwrap_or(0) {
                    out[i] = a;
                }
            }
            None => out.push(a),
        }
    }
    out
}

/// The as-run log over the store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AsRunLog {
    store: Store,
    node: std::sync::Arc<str>,
}

impl AsRunLog {
    /// The log stored in `store`, written by a single node (node name empty).
    pub fn new(store: Store) -> Self {
        Self {
            store,
            node: "".into(),
        }
    }

    /// The same log written as node `name` (`[node] name`): its rows carry the name, and
    /// completing or closing rows touches only this node's.
    pub fn for_node(mut self, name: &str) -> Self {
        self.node = name.into();
        self
    }

    /// The node this log writes as.
    pub fn node(&self) -> &str {
        &self.node
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
            Write::Recording { key, recording } => self.record_recording(key, recording).await,
        }
    }

    /// Inserts a new airing at its first frame; returns its row id. Idempotent: a retry of
    /// a write that was committed (its answer lost to a timeout) finds the row it made.
    pub async fn record_start(&self, a: &NewAiring) -> Result<i64> {
        let i = &a.info;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO asrun (airing_key, item_id, work_id, unit_id, title, source, \
             planned_start_ms, first_frame_ms, rundown_day, rundown_version, air_day, \
             recorded_at_ms, node, gain_mdb) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT DO NOTHING RETURNING id",
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
        .bind(&*self.node)
        .bind(i.gain_mdb.map(i64::from))
        .fetch_optional(self.store.pool())
        .await?;
        match id {
            Some(id) => Ok(id),
            None => Ok(sqlx::query_scalar(
                "SELECT id FROM asrun WHERE airing_key = $1 AND node = $2",
            )
            .bind(&a.key)
            .bind(&*self.node)
            .fetch_one(self.store.pool())
            .await?),
        }
    }

    /// Adds a fallback interval to an airing that is still open.
    pub async fn record_fallback(&self, key: &str, f: &Fallback) -> Result<()> {
        let mut tx = self.store.pool().begin().await?;
        let current: Option<String> = sqlx::query_scalar(
            "SELECT fallbacks_json FROM asrun WHERE airing_key = $1 AND node = $2 \
             AND end_reason IS NULL",
        )
        .bind(key)
        .bind(&*self.node)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(json) = current else {
            return Err(Error::not_found("进行中的播出记录", key));
        };
        let mut list: Vec<Fallback> = serde_json::from_str(&json).unwrap_or_default();
        if list.contains(f) {
            // A retry of a write that was committed: nothing to add.
            return Ok(());
        }
        list.push(f.clone());
        let json = serde_json::to_string(&list)
            .map_err(|e| Error::Unavailable(format!("垫片记录无法序列化：{e}")))?;
        sqlx::query("UPDATE asrun SET fallbacks_json = $1 WHERE airing_key = $2 AND node = $3")
            .bind(json)
            .bind(key)
            .bind(&*self.node)
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
             WHERE airing_key = $4 AND node = $5 AND end_reason IS NULL",
        )
        .bind(last_frame_ms)
        .bind(frames)
        .bind(reason)
        .bind(key)
        .bind(&*self.node)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            // A retry of a write that was committed (its answer lost) finds the row complete
            // with the same facts: done. Anything else is an error.
            let same: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM asrun WHERE airing_key = $1 AND node = $2 \
                 AND last_frame_ms = $3 AND frames = $4 AND end_reason = $5",
            )
            .bind(key)
            .bind(&*self.node)
            .bind(last_frame_ms)
            .bind(frames)
            .bind(reason)
            .fetch_optional(self.store.pool())
            .await?;
            if same.is_none() {
                return Err(Error::not_found("进行中的播出记录", key));
            }
        }
        Ok(())
    }

    /// Adds the recording of the live airing `key` (this node's), once it is finished.
    /// Idempotent (a retry writes the same facts); `NotFound` when there is no such airing.
    pub async fn record_recording(&self, key: &str, r: &AiringRecording) -> Result<()> {
        let done = sqlx::query(
            "UPDATE asrun SET recording = $1, recording_segments = $2, recording_bytes = $3 \
             WHERE airing_key = $4 AND node = $5",
        )
        .bind(&r.name)
        .bind(r.segments)
        .bind(r.bytes)
        .bind(key)
        .bind(&*self.node)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("播出记录", key));
        }
        Ok(())
    }

    /// At start after a crash: closes every airing this node left open in its previous process with
    /// the reason `interrupted` (its last frame stays unknown); returns how many. Call it
    /// before the engine starts, so the resumed item gets a new row of its own.
    pub async fn close_interrupted(&self) -> Result<u64> {
        // `first_frame_ms` is NOT NULL: every open airing is before the end of time.
        self.close_interrupted_before(i64::MAX).await
    }

    /// [`AsRunLog::close_interrupted`] limited to the airings whose first frame is before
    /// `before_ms` (UTC ms): the journal's start marker ([`journal::Entry::CloseInterrupted`]),
    /// applied in order behind the writes a dead process left, so it closes that process's
    /// airings and never one the new process opened (idempotent: a replay closes nothing new).
    pub async fn close_interrupted_before(&self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE asrun SET end_reason = 'interrupted' \
             WHERE end_reason IS NULL AND node = $1 AND first_frame_ms < $2",
        )
        .bind(&*self.node)
        .bind(before_ms)
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

    /// Number of rows that have ended (complete or not): it moves whenever an airing ends.
    pub async fn count_ended(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM asrun WHERE end_reason IS NOT NULL")
                .fetch_one(self.store.pool())
                .await?,
        )
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

    fn row(node: &str, item: &str, first: i64, frames: i64) -> Airing {
        Airing {
            id: first,
            airing_key: recorder::airing_key(item, first),
            item_id: item.into(),
            work_id: Some(1),
            unit_id: Some(1),
            title: item.into(),
            source: "a.mp4".into(),
            planned_start_ms: Some(first),
            first_frame_ms: first,
            last_frame_ms: None,
            frames: Some(frames),
            end_reason: Some("complete".into()),
            fallbacks: Vec::new(),
            rundown_day: None,
            rundown_version: None,
            air_day: air_day_of(first),
            gain_mdb: None,
            node: node.into(),
            recording: None,
        }
    }

    #[test]
    fn an_airing_on_both_nodes_counts_once_and_the_longer_row_stands() {
        let rows = vec![
            row("main", "a", 1_000_000, 100),
            row("backup", "a", 1_000_040, 125),
            row("main", "b", 1_005_000, 125),
            // The same item aired again later on one node (a restart): two airings.
            row("main", "b", 1_020_000, 125),
            // The backup's row of b, 600 ms later than the main's: the same airing.
            row("backup", "b", 1_005_600, 125),
            // Too far apart to be the same airing.
            row("backup", "c", 1_030_000, 10),
            row("main", "c", 1_031_001, 10),
        ];
        let once = once_per_airing(rows);
        let got: Vec<(&str, &str, i64)> = once
            .iter()
            .map(|a| (a.node.as_str(), a.item_id.as_str(), a.first_frame_ms))
            .collect();
        assert_eq!(
            got,
            [
                ("backup", "a", 1_000_040),
                ("main", "b", 1_005_000),
                ("main", "b", 1_020_000),
                ("backup", "c", 1_030_000),
                ("main", "c", 1_031_001),
            ]
        );
    }
}
