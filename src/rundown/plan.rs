//! The plan of one day: the template's blocks, the cron slots that fire that day and the
//! day's fixed events, flattened into consecutive segments covering midnight to midnight.
//!
//! Precedence: a fixed event beats a slot, a slot beats a template block; a block that a slot
//! interrupts continues after it as a second segment. Owns no works: the builder fills
//! segments.

use chrono::{DateTime, NaiveDate, Utc};

use super::config::{CompiledSchedule, Event};
use super::time::day_bounds;

/// A stretch of the day filled by one rule. Frames count from the day's midnight.
#[derive(Debug, Clone)]
pub struct Segment {
    /// First frame.
    pub start: u64,
    /// End frame (exclusive).
    pub end: u64,
    /// Block, slot or event name.
    pub label: String,
    /// Sections whose works may fill it.
    pub sections: Vec<usize>,
    /// Premieres preferred.
    pub premiere: bool,
    /// The last work may be cut short.
    pub allow_cut: bool,
    /// Slow-live: feeds are placed here at their windows.
    pub slow_live: bool,
    /// A fixed event owning the whole segment.
    pub event: Option<Event>,
}

/// One day's plan.
#[derive(Debug, Clone)]
pub struct DayPlan {
    /// The date.
    pub date: NaiveDate,
    /// Midnight (UTC).
    pub start: DateTime<Utc>,
    /// Next midnight (UTC).
    pub end: DateTime<Utc>,
    /// Frames in the day.
    pub frames: u64,
    /// Special-day name.
    pub name: Option<String>,
    /// Consecutive segments covering `[0, frames)`.
    pub segments: Vec<Segment>,
}

/// Builds the plan of `date`.
pub fn day_plan(cs: &CompiledSchedule, date: NaiveDate) -> DayPlan {
    let (start, end) = day_bounds(cs.tz, date);
    let frames = cs.rate.frames_between(start, end).max(0) as u64;
    let ov = cs.overrides.get(&date);
    let blocks = ov.and_then(|o| o.blocks.as_ref()).unwrap_or(&cs.blocks);

    // (start, end, priority, order, segment template)
    let mut layers: Vec<(u64, u64, u8, usize, Segment)> = Vec::new();
    let n = blocks.len();
    for (i, b) in blocks.iter().enumerate() {
        // A day that is not 24 h long (a DST zone) stretches or trims the last block.
        let e = if i + 1 == n {
            frames
        } else {
            b.end.min(frames)
        };
        let slow = cs.sections.get(b.section).is_some_and(|s| s.slow_live);
        let seg = Segment {
            start: 0,
            end: 0,
            label: b.label.clone(),
            sections: vec![b.section],
            premiere: false,
            allow_cut: b.allow_cut,
            slow_live: slow,
            event: None,
        };
        layers.push((b.start.min(frames), e, 0, i, seg));
    }
    for (i, s) in cs.slots.iter().enumerate() {
        for t in s.cron.firings(cs.tz, start, end) {
            let a = cs.rate.frames_between(start, t).max(0) as u64;
            let e = (a + s.frames).min(frames);
            let slow = s
                .sections
                .iter()
                .any(|&x| cs.sections.get(x).is_some_and(|s| s.slow_live));
            let seg = Segment {
                start: 0,
                end: 0,
                label: s.name.clone(),
                sections: s.sections.clone(),
                premiere: s.premiere,
                allow_cut: s.allow_cut,
                slow_live: slow,
                event: None,
            };
            layers.push((a, e, 1, i * 10_000 + a as usize % 10_000, seg));
        }
    }
    if let Some(o) = ov {
        for (i, ev) in o.events.iter().enumerate() {
            let seg = Segment {
                start: 0,
                end: 0,
                label: ev.config.title.clone(),
                sections: vec![ev.section],
                premiere: false,
                allow_cut: false,
                slow_live: false,
                event: Some(ev.clone()),
            };
            layers.push((ev.start, (ev.start + ev.frames).min(frames), 2, i, seg));
        }
    }
    layers.retain(|l| l.1 > l.0);

    let mut cuts: Vec<u64> = layers
        .iter()
        .flat_map(|l| [l.0, l.1])
        .chain([0, frames])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut segments: Vec<Segment> = Vec::new();
    let mut last_owner: Option<(u8, usize)> = None;
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let owner = layers
            .iter()
            .filter(|l| l.0 <= a && l.1 >= b)
            .max_by_key(|l| (l.2, l.3))
            .map(|l| ((l.2, l.3), &l.4));
        let Some((key, seg)) = owner else { continue };
        match segments.last_mut() {
            Some(prev) if last_owner == Some(key) && prev.end == a => prev.end = b,
            _ => {
                let mut s = seg.clone();
                s.start = a;
                s.end = b;
                segments.push(s);
            }
        }
        last_owner = Some(key);
    }
    DayPlan {
        date,
        start,
        end,
        frames,
        name: ov.and_then(|o| o.name.clone()),
        segments,
    }
}
