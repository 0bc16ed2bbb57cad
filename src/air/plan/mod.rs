//! From rundown days to engine cues: the pure half of the on-air controller.
//!
//! Every item of the days in view whose slot ends after `now` and starts before the look-ahead
//! horizon becomes a [`Cue`] with an absolute start frame and a length, plus the as-run
//! [`ItemInfo`] that goes with it. A day's first frame is placed once on the engine's timeline
//! and its items are counted from there in whole frames, so consecutive days meet exactly at
//! midnight. An item's cue id names its day, its frame offset in the day and what it plays:
//! an edit that keeps an item where it is keeps its id (the engine then only retimes it), an
//! edit that moves it gives it a new one.

use chrono::{DateTime, NaiveDate, Utc};
use playout::Cue;
use playout::cue::SLATE_SOURCE;

use crate::asrun::recorder::ItemInfo;
use crate::rundown::{Day, DayItem, ItemKind};

/// One item of a day, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The cue (absolute start frame, length, in-point).
    pub cue: Cue,
    /// What the as-run log records for it.
    pub info: ItemInfo,
    /// The day it comes from.
    pub date: NaiveDate,
    /// Its index in that day.
    pub index: usize,
    /// First frame on the engine timeline (negative: before the engine's first frame).
    pub start_frame: i64,
    /// Frame after its last.
    pub end_frame: i64,
    /// A slow-live item.
    pub live: bool,
}

/// A stored day in view, with its version.
#[derive(Debug, Clone, Copy)]
pub struct DayInView<'a> {
    /// The day.
    pub day: &'a Day,
    /// Its version.
    pub version: u32,
}

/// The id of an item's cue: `DATE+OFFSET:WHAT` (offset in frames from the day's midnight).
pub fn cue_id(day: &Day, item: &DayItem) -> String {
    let off = day.rate.frames_between(day.start, item.start).max(0);
    let what = match (item.kind, item.work_id, item.feed_id) {
        (ItemKind::Work, Some(w), _) => format!("w{w}"),
        (ItemKind::Live, _, Some(f)) => format!("f{f}"),
        (kind, _, _) => format!("{kind:?}").to_lowercase(),
    };
    format!("{}+{off}:{what}", day.date)
}

/// What the engine opens for an item: the scheduled slate plays the engine's slate card.
pub fn engine_source(item: &DayItem) -> String {
    match item.kind {
        ItemKind::Slate => SLATE_SOURCE.to_string(),
        _ => item.source.clone(),
    }
}

/// The cues of `days` between `now_frame` and `horizon_frame`. `day_start_frame` places a
/// day's midnight on the engine timeline (signed: a day that began before the engine did).
/// An item that began before `first_frame`, the engine's first frame (a restart mid-item),
/// is cued from `first_frame` with its in-point advanced by what it had played by then:
/// the same cue at every re-read, and the engine joins it at the right offset from there.
pub fn plan(
    days: &[DayInView<'_>],
    day_start_frame: impl Fn(DateTime<Utc>) -> i64,
    first_frame: u64,
    now_frame: u64,
    horizon_frame: u64,
) -> Vec<Planned> {
    let first = i64::try_from(first_frame).unwrap_or(i64::MAX);
    let now = i64::try_from(now_frame).unwrap_or(i64::MAX);
    let horizon = i64::try_from(horizon_frame).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for d in days {
        let day = d.day;
        let base = day_start_frame(day.start);
        let mut order: Vec<usize> = (0..day.items.len()).collect();
        order.sort_by_key(|&i| (day.items[i].start, i));
        for i in order {
            let item = &day.items[i];
            if item.frames == 0 {
                continue;
            }
            let start_frame = base + day.rate.frames_between(day.start, item.start);
            let frames = i64::try_from(item.frames).unwrap_or(i64::MAX);
            let end_frame = start_frame + frames;
            if end_frame <= now.max(first) || start_frame >= horizon {
                continue;
            }
            let before_first = u64::try_from(first - start_frame).unwrap_or(0);
            let id = cue_id(day, item);
            let cue = Cue {
                id: id.clone(),
                title: item.title.clone(),
                source: engine_source(item),
                in_point_ns: u64::try_from(day.rate.ns_of(item.in_frames + before_first))
                    .unwrap_or(0),
                length: Some(item.frames - before_first),
                start: Some(u64::try_from(start_frame.max(first)).unwrap_or(first_frame)),
                gain_mdb: 0,
                ceiling_mdb: None,
                live_target_mlufs: None,
                backup: None,
                backup_gain_mdb: 0,
            };
            let info = ItemInfo {
                item_id: id,
                work_id: item.work_id,
                unit_id: item.unit_id,
                title: item.title.clone(),
                source: playout::output::mask::mask_url(&item.source),
                planned_start_ms: Some(item.start.timestamp_millis()),
                rundown_day: Some(day.date.format("%Y-%m-%d").to_string()),
                rundown_version: Some(i64::from(d.version)),
                gain_mdb: None,
            };
            out.push(Planned {
                cue,
                info,
                date: day.date,
                index: i,
                start_frame,
                end_frame,
                live: item.kind == ItemKind::Live,
            });
        }
    }
    out.sort_by_key(|p| p.start_frame);
    out
}

#[cfg(test)]
mod tests;
