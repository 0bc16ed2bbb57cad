//! The live curve as the dashboards read it (`GET /api/v1/feedback/live`, the `events`
//! push): computed once for every watched (unit, minutes) and shared, so a crowd of readers
//! costs one computation per change, not one per reader or per unit.
//!
//! A *refresh* reads the store once — every relay channel, the minute buckets of the widest
//! window asked for, the as-run of the broadcast days around it — and builds from that one
//! snapshot the answer of every key read in the last [`WATCH_MS`], each serialised once.
//! The buckets are kept: the next refresh re-reads only the minutes written since
//! ([`Feedback::touched_since`](super::Feedback::touched_since)) and those the window gained,
//! and all of them every [`FULL_MS`] or so (another node may write to a shared database).
//! A reader gets the stored bytes while no figure arrived since they were built
//! ([`Feedback::generation`](super::Feedback::generation)) and they are under
//! [`FRESH_MS`] old; after a write the first reader starts a refresh and the others wait for
//! it (so a reader always sees the figures stored before its request); when an answer has
//! only aged, a reader that finds a refresh already running takes the previous answer
//! instead of waiting (up to [`STALE_MS`] old).
//!
//! Owns the caching and the snapshot; not HTTP or roles (`web::feedback` decides the unit a
//! caller may see), not the curve's rules ([`curve`](super::curve)).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;

use super::Feedback;
use super::attribution::HOLD_MS;
use super::curve::{self, Curve};
use super::repo::{self, MinuteBucket};
use crate::store::{Error, Result};

/// How long an answer is served while no figure arrives (the curve's `now` moves on).
pub const FRESH_MS: u64 = 500;
/// How old an answer may be served while a refresh is running and no figure arrived.
pub const STALE_MS: u64 = 5_000;
/// The minute buckets are read whole again after this (otherwise only the minutes written).
pub const FULL_MS: u64 = 5_000;
/// A key read within this is refreshed with the others; one not read for longer is dropped.
pub const WATCH_MS: u64 = 30_000;
/// The longest window asked for, minutes (a day).
pub const MAX_MINUTES: i64 = 1440;

/// What a refresh computes for one key: `(unit or all, minutes)`.
pub type Key = (Option<i64>, i64);

/// The answer of `GET /api/v1/feedback/live`.
#[derive(Debug, Clone, Serialize)]
pub struct LiveAnswer {
    /// The programme clock's instant it was computed for, UTC ms.
    pub now: i64,
    /// The first minute shown, UTC ms.
    pub from_ms: i64,
    /// The end of the last minute shown (exclusive), UTC ms.
    pub to_ms: i64,
    /// The curve per minute.
    pub curve: Curve,
    /// The airings over the window (the unit's works only, for a unit).
    pub on_air: Vec<OnAir>,
    /// How many relay channels count (the unit's, or all).
    pub channels: usize,
}

/// An airing drawn over the curve.
#[derive(Debug, Clone, Serialize)]
pub struct OnAir {
    /// The programme's title.
    pub title: String,
    /// Its work, if any.
    pub work_id: Option<i64>,
    /// Its work's unit, if any.
    pub unit_id: Option<i64>,
    /// First frame, UTC ms.
    pub start_ms: i64,
    /// Last frame, UTC ms; none while on air.
    pub end_ms: Option<i64>,
}

/// One stored answer.
struct Entry {
    /// The change counter it was computed at.
    generation: u64,
    /// When it was computed.
    built: Instant,
    /// When a reader last asked for it.
    read: Instant,
    /// The answer, serialised (compact JSON, no line breaks).
    body: Bytes,
}

/// The minute buckets a refresh read, kept for the next one.
struct Snapshot {
    /// The change counter they were read at.
    generation: u64,
    /// When they were last read whole.
    full_at: Instant,
    /// The first minute held, UTC ms.
    lo: i64,
    /// The end of what was read (exclusive), UTC ms.
    hi: i64,
    /// Every channel's buckets of `[lo, hi)`.
    buckets: Vec<MinuteBucket>,
}

/// The shared live curves (cheap to clone; clones share the answers).
#[derive(Clone, Default)]
pub struct LiveCurves {
    answers: Arc<Mutex<HashMap<Key, Entry>>>,
    /// Held by the one refresh running, with the buckets it keeps.
    refreshing: Arc<tokio::sync::Mutex<Option<Snapshot>>>,
}

impl LiveCurves {
    /// The answer for `unit` (all channels when None) over the last `minutes` (clamped to
    /// 1 … [`MAX_MINUTES`]) at the programme clock's `now_ms`, as compact JSON.
    ///
    /// Errors: the store's, when a refresh could not read it.
    pub async fn get(
        &self,
        feedback: &Feedback,
        unit: Option<i64>,
        minutes: i64,
        now_ms: impl Fn() -> i64,
    ) -> Result<Bytes> {
        let key = (unit, minutes.clamp(1, MAX_MINUTES));
        let generation = feedback.generation();
        let stale = match self.lookup(key, generation) {
            Lookup::Fresh(body) => return Ok(body),
            Lookup::Aged(body) => Some(body),
            Lookup::Missing => None,
        };
        let aged = stale.is_some();
        let mut snapshot = match (stale, self.refreshing.try_lock()) {
            (_, Ok(guard)) => guard,
            // Only aged and someone is refreshing: the previous answer will do.
            (Some(body), Err(_)) => return Ok(body),
            (None, Err(_)) => self.refreshing.lock().await,
        };
        // The refresh we waited for may have built it.
        let generation = feedback.generation();
        if let Lookup::Fresh(body) = self.lookup(key, generation) {
            return Ok(body);
        }
        let keys = self.watched(key);
        let built = refresh(feedback, &keys, now_ms(), generation, &mut snapshot, aged).await?;
        let now = Instant::now();
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut mine = None;
        for (k, body) in built {
            if k == key {
                mine = Some(body.clone());
            }
            let read = answers.get(&k).map_or(now, |e| e.read);
            answers.insert(
                k,
                Entry {
                    generation,
                    built: now,
                    read: if k == key { now } else { read },
                    body,
                },
            );
        }
        mine.ok_or_else(|| Error::Unavailable("实时曲线未能生成".into()))
    }

    fn lookup(&self, key: Key, generation: u64) -> Lookup {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(e) = answers.get_mut(&key) else {
            return Lookup::Missing;
        };
        e.read = Instant::now();
        let age = e.built.elapsed();
        if e.generation != generation {
            Lookup::Missing
        } else if age < Duration::from_millis(FRESH_MS) {
            Lookup::Fresh(e.body.clone())
        } else if age < Duration::from_millis(STALE_MS) {
            Lookup::Aged(e.body.clone())
        } else {
            Lookup::Missing
        }
    }

    /// `key` and every key read within [`WATCH_MS`]; forgets the others.
    fn watched(&self, key: Key) -> BTreeSet<Key> {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.retain(|_, e| e.read.elapsed() < Duration::from_millis(WATCH_MS));
        let mut keys: BTreeSet<Key> = answers.keys().copied().collect();
        keys.insert(key);
        keys
    }
}

/// What a reader finds stored.
enum Lookup {
    Fresh(Bytes),
    Aged(Bytes),
    Missing,
}

/// Every key's answer at `now_ms` (change counter `generation`) from one read of the store:
/// the minute buckets of the widest window, re-reading of `snapshot` only the minutes
/// written since it was read, or all of them when it is over [`FULL_MS`] old (and
/// `aged`: the refresh nobody waits for) or over 3 × [`FULL_MS`] (writes of another node
/// to a shared database do not move this node's counter).
async fn refresh(
    feedback: &Feedback,
    keys: &BTreeSet<Key>,
    now_ms: i64,
    generation: u64,
    snapshot: &mut Option<Snapshot>,
    aged: bool,
) -> Result<Vec<(Key, Bytes)>> {
    let to = repo::minute_of(now_ms) + 60_000;
    let widest = keys.iter().map(|k| k.1).max().unwrap_or(60);
    let earliest = to - widest * 60_000;
    let lo = repo::minute_of(earliest - HOLD_MS);
    let channels = feedback.store.channels(None).await?;
    let full_after = Duration::from_millis(if aged { FULL_MS } else { 3 * FULL_MS });
    let since = snapshot
        .as_ref()
        .filter(|s| s.lo <= lo && s.full_at.elapsed() < full_after)
        .and_then(|s| Some((s.hi, feedback.touched_since(s.generation)?)));
    match (since, snapshot.as_mut()) {
        (Some((hi_before, touched)), Some(s)) => {
            // Minutes written since, and those the window gained, are read again.
            let from = touched.min(hi_before).clamp(lo, to);
            let fresh = if from < to {
                feedback.store.minutes(from, to).await?
            } else {
                Vec::new()
            };
            s.buckets
                .retain(|b| b.minute_ms >= lo && b.minute_ms < from);
            s.buckets.extend(fresh);
            (s.generation, s.lo, s.hi) = (generation, lo, to);
        }
        _ => {
            let buckets = feedback.store.minutes(lo, to).await?;
            *snapshot = Some(Snapshot {
                generation,
                full_at: Instant::now(),
                lo,
                hi: to,
                buckets,
            });
        }
    }
    let buckets: &[MinuteBucket] = snapshot.as_ref().map_or(&[], |s| &s.buckets);
    let airings = airings_over(feedback, earliest, to).await?;
    let mut by_channel: HashMap<i64, Vec<&MinuteBucket>> = HashMap::new();
    for b in buckets {
        by_channel.entry(b.channel_id).or_default().push(b);
    }
    let mut out = Vec::with_capacity(keys.len());
    for &(unit, minutes) in keys {
        let from = to - minutes * 60_000;
        let first = repo::minute_of(from - HOLD_MS);
        let platform_of: HashMap<i64, String> = channels
            .iter()
            .filter(|c| unit.is_none() || c.unit_id == unit)
            .map(|c| (c.id, c.platform.clone()))
            .collect();
        let own = platform_of
            .keys()
            .filter_map(|id| by_channel.get(id))
            .flatten()
            .copied()
            .filter(|b| b.minute_ms >= first);
        let answer = LiveAnswer {
            now: now_ms,
            from_ms: from,
            to_ms: to,
            curve: curve::curve(own, &platform_of, from, to),
            on_air: airings
                .iter()
                .filter(|a| unit.is_none() || a.unit_id == unit)
                .filter(|a| a.last_frame_ms.is_none_or(|l| l > from) && a.first_frame_ms < to)
                .filter(|a| a.last_frame_ms.is_some() || a.end_reason.is_none())
                .map(|a| OnAir {
                    title: a.title.clone(),
                    work_id: a.work_id,
                    unit_id: a.unit_id,
                    start_ms: a.first_frame_ms,
                    end_ms: a.last_frame_ms,
                })
                .collect(),
            channels: platform_of.len(),
        };
        let body = serde_json::to_vec(&answer)
            .map_err(|e| Error::Unavailable(format!("实时曲线无法序列化：{e}")))?;
        out.push(((unit, minutes), Bytes::from(body)));
    }
    Ok(out)
}

/// The airings that began on the broadcast days from a day before `from_ms` to `to_ms`, in
/// airing order: every one that can overlap the window (an airing is far shorter than a
/// day), without reading the whole log.
async fn airings_over(
    feedback: &Feedback,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<crate::asrun::Airing>> {
    const DAY_MS: i64 = 86_400_000;
    let last = to_ms - 1;
    let mut days: Vec<String> = Vec::new();
    let mut at = from_ms - DAY_MS;
    loop {
        let day = crate::asrun::air_day_of(at.min(last));
        if days.last() != Some(&day) {
            days.push(day);
        }
        if at >= last {
            break;
        }
        at += DAY_MS;
    }
    let mut out = Vec::new();
    for day in days {
        out.extend(
            feedback
                .asrun()
                .query(&crate::asrun::AsRunQuery {
                    day: Some(day),
                    ..Default::default()
                })
                .await?,
        );
    }
    Ok(out)
}
