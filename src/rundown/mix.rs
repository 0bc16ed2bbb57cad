//! What a day is made of: frames of premieres, replays, live, fixed events, filler clips and
//! the slate, per day and per block, and the warnings when a day carries more slate or
//! filler than the edition allows (`filler.warn_slate_minutes`, `filler.warn_filler_minutes`).
//!
//! Owns the counting and the wording of those warnings. Does not own how a day is filled
//! (the builder) or whether the media exist (validation and rehearsal).

use chrono::NaiveDate;
use serde::Serialize;

use super::config::CompiledSchedule;
use super::time::FrameRate;
use super::{Day, ItemKind};

/// Frames of each kind of airtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Mix {
    /// Works airing for the first time (首播).
    pub premiere_frames: u64,
    /// Works airing again (重播).
    pub replay_frames: u64,
    /// Slow-live feeds (慢直播信号).
    pub live_frames: u64,
    /// Fixed events of a special day.
    pub event_frames: u64,
    /// Filler clips (垫片).
    pub filler_frames: u64,
    /// The slate (等待画面).
    pub slate_frames: u64,
}

impl Mix {
    fn add(&mut self, kind: ItemKind, premiere: bool, frames: u64) {
        let f = match kind {
            ItemKind::Work if premiere => &mut self.premiere_frames,
            ItemKind::Work => &mut self.replay_frames,
            ItemKind::Live => &mut self.live_frames,
            ItemKind::Event => &mut self.event_frames,
            ItemKind::Filler => &mut self.filler_frames,
            ItemKind::Slate => &mut self.slate_frames,
        };
        *f += frames;
    }

    /// Every frame counted.
    pub fn total(&self) -> u64 {
        self.premiere_frames
            + self.replay_frames
            + self.live_frames
            + self.event_frames
            + self.filler_frames
            + self.slate_frames
    }
}

/// One block's (or slot's, or event's) share of a day, by its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockMix {
    /// Block label as in the day's items (`夜间慢直播`, `黄金时段首播`…).
    pub block: String,
    /// What it carried.
    #[serde(flatten)]
    pub mix: Mix,
}

/// What one day is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayMix {
    /// The whole day.
    #[serde(flatten)]
    pub total: Mix,
    /// Per block, in order of first appearance in the day.
    pub blocks: Vec<BlockMix>,
}

/// Counts `day`'s items.
pub fn day_mix(day: &Day) -> DayMix {
    let mut total = Mix::default();
    let mut blocks: Vec<BlockMix> = Vec::new();
    let mut items: Vec<_> = day.items.iter().collect();
    items.sort_by_key(|i| i.start);
    for it in items {
        total.add(it.kind, it.premiere, it.frames);
        let b = match blocks.iter().position(|b| b.block == it.block) {
            Some(p) => &mut blocks[p],
            None => {
                blocks.push(BlockMix {
                    block: it.block.clone(),
                    mix: Mix::default(),
                });
                let last = blocks.len() - 1;
                &mut blocks[last]
            }
        };
        b.mix.add(it.kind, it.premiere, it.frames);
    }
    DayMix { total, blocks }
}

/// `frames` as `M 分 S 秒` (whole seconds, rounded down).
pub fn minutes_text(rate: FrameRate, frames: u64) -> String {
    let secs = rate.ms_of(frames) / 1000;
    match (secs / 60, secs % 60) {
        (m, 0) => format!("{m} 分钟"),
        (0, s) => format!("{s} 秒"),
        (m, s) => format!("{m} 分 {s} 秒"),
    }
}

/// What a warning is about: its Chinese name, the edition's limit in minutes, the frames.
type Check = (&'static str, u32, fn(&Mix) -> u64);

/// The warnings (Chinese) for a day whose slate or filler passes the edition's threshold,
/// naming the day and each block that carries any.
pub fn mix_warnings(cs: &CompiledSchedule, date: NaiveDate, mix: &DayMix) -> Vec<String> {
    let f = &cs.config.filler;
    let rate = cs.rate;
    let mut out = Vec::new();
    let checks: [Check; 2] = [
        ("等待画面", f.warn_slate_minutes, |m| m.slate_frames),
        ("垫片", f.warn_filler_minutes, |m| m.filler_frames),
    ];
    for (what, limit, get) in checks {
        let frames = get(&mix.total);
        if frames > rate.frames_in_secs(i64::from(limit) * 60) {
            let by_block: Vec<String> = mix
                .blocks
                .iter()
                .filter(|b| get(&b.mix) > 0)
                .map(|b| format!("{} {}", b.block, minutes_text(rate, get(&b.mix))))
                .collect();
            out.push(format!(
                "{date} {what}共 {}，超过 {limit} 分钟：{}",
                minutes_text(rate, frames),
                by_block.join("、")
            ));
        }
    }
    out
}
