//! Rehearsal: plays the engine day files of a window on a simulated clock, as the engine
//! would (items follow one another; an `at` cuts whatever is on air), without decoding media,
//! and reports per day: dead air, cuts and overlaps, missing or unverified media, live
//! windows without a source, and airtime by section, category and unit.
//!
//! Media is asked about through [`MediaProbe`], so tests supply their own answers and the CLI
//! checks files on disk. The clock is [`SimClock`]: it jumps from event to event, so a month
//! rehearses in milliseconds.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::config::CompiledSchedule;
use super::export::{EngineItem, engine_day_file, engine_frames, parse_engine_day_file};
use super::time::{fmt_frames_short, local_to_utc, wall};
use super::{Day, DayItem, ItemKind};

/// What a probe knows about a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaCheck {
    /// Present; its length in frames when known.
    Present {
        /// Length, frames.
        frames: Option<u64>,
    },
    /// Not there.
    Missing,
    /// Cannot be checked here (a live URL); why.
    Unverified(String),
}

/// Answers whether a source exists (and how long it is).
pub trait MediaProbe {
    /// Checks one source.
    fn probe(&self, source: &str) -> MediaCheck;
}

/// Checks local paths on disk; URLs are unverified; the engine's slate card is present.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsProbe;

impl MediaProbe for FsProbe {
    fn probe(&self, source: &str) -> MediaCheck {
        if source.trim() == super::config::ENGINE_SLATE_SOURCE {
            MediaCheck::Present { frames: None }
        } else if source.contains("://") {
            MediaCheck::Unverified("网络信号，排练不拉流".into())
        } else if Path::new(source).exists() {
            MediaCheck::Present { frames: None }
        } else {
            MediaCheck::Missing
        }
    }
}

/// Trusts every source (rehearse timing only).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustProbe;

impl MediaProbe for TrustProbe {
    fn probe(&self, _: &str) -> MediaCheck {
        MediaCheck::Present { frames: None }
    }
}

/// A clock that only moves when told: the rehearsal's "now".
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    now: DateTime<Utc>,
    steps: u64,
}

impl SimClock {
    /// Starts at `t`.
    pub fn new(t: DateTime<Utc>) -> Self {
        SimClock { now: t, steps: 0 }
    }
    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
    /// Jumps forward to `t` (never backward).
    pub fn advance_to(&mut self, t: DateTime<Utc>) {
        if t > self.now {
            self.now = t;
        }
        self.steps += 1;
    }
    /// Events processed.
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

/// Something that happened on the simulated air.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// When, Shanghai wall time.
    pub wall: String,
    /// How long, frames.
    pub frames: u64,
    /// Chinese description.
    pub message: String,
}

/// One day of the rehearsal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RehearsalDay {
    /// The date.
    pub date: String,
    /// Items played.
    pub items: usize,
    /// Dead air (nothing scheduled, or media ran out).
    pub gaps: Vec<Incident>,
    /// Items cut by a hard start or overlapping the next.
    pub overlaps: Vec<Incident>,
    /// Media not found.
    pub missing: Vec<Incident>,
    /// Media not checkable here (live URLs).
    pub unverified: Vec<Incident>,
    /// Live windows or items without a source.
    pub no_source: Vec<Incident>,
    /// Frames of dead air.
    pub dead_air_frames: u64,
    /// Frames of filler clips.
    pub filler_frames: u64,
    /// Frames of slate.
    pub slate_frames: u64,
    /// Programme airtime by section, frames.
    pub by_section: BTreeMap<String, u64>,
    /// Programme airtime by category (`3 大国重器`), frames.
    pub by_category: BTreeMap<String, u64>,
    /// Programme airtime by unit, frames.
    pub by_unit: BTreeMap<String, u64>,
}

impl RehearsalDay {
    /// Nothing went wrong on air (unverified live URLs are not faults).
    pub fn clean(&self) -> bool {
        self.gaps.is_empty()
            && self.overlaps.is_empty()
            && self.missing.is_empty()
            && self.no_source.is_empty()
    }
}

/// The whole rehearsal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rehearsal {
    /// Per day.
    pub days: Vec<RehearsalDay>,
    /// Simulated clock events.
    pub clock_steps: u64,
}

/// Short names of categories 1–9.
pub const CATEGORY_NAMES: [&str; 10] = [
    "",
    "活动精剪",
    "场馆探访",
    "大国重器",
    "重点实验室",
    "院士报告",
    "科幻解读",
    "青年人才",
    "慢直播",
    "其他",
];

fn category_label(c: u8) -> String {
    format!(
        "{c} {}",
        CATEGORY_NAMES.get(c as usize).copied().unwrap_or("未知")
    )
}

/// Rehearses `days` (in date order) through their engine day files.
pub fn rehearse(
    days: &[&Day],
    probe: &dyn MediaProbe,
    schedule: Option<&CompiledSchedule>,
) -> Rehearsal {
    let mut out = Rehearsal::default();
    let Some(first) = days.first() else {
        return out;
    };
    let mut clock = SimClock::new(first.start);
    let mut cache: BTreeMap<String, MediaCheck> = BTreeMap::new();
    let slow: Vec<&str> = schedule
        .map(|cs| {
            cs.sections
                .iter()
                .filter(|s| s.slow_live)
                .map(|s| s.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    for (k, day) in days.iter().enumerate() {
        let tz = day.tz();
        let rate = day.rate;
        let mut r = RehearsalDay {
            date: day.date.to_string(),
            ..Default::default()
        };
        let mut inc =
            |list: &mut Vec<Incident>, at: DateTime<Utc>, frames: u64, message: String| {
                list.push(Incident {
                    at,
                    wall: wall(tz, at),
                    frames,
                    message,
                });
            };
        let file = match parse_engine_day_file(&engine_day_file(day)) {
            Ok(f) => f,
            Err(e) => {
                inc(
                    &mut r.gaps,
                    day.start,
                    day.frames(),
                    format!("引擎日文件无法解析：{e}"),
                );
                out.days.push(r);
                continue;
            }
        };
        let parse_at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| local_to_utc(tz, t))
        };
        // The engine starts the file at `start` (or continues the previous day).
        let file_start = file
            .start
            .as_deref()
            .and_then(parse_at)
            .unwrap_or(day.start);
        if clock.now() < file_start {
            let f = rate.frames_between(clock.now(), file_start).max(0) as u64;
            if k > 0 {
                inc(
                    &mut r.gaps,
                    clock.now(),
                    f,
                    format!("前一天节目提前结束，空档 {}", fmt_frames_short(rate, f)),
                );
                r.dead_air_frames += f;
            }
            clock.advance_to(file_start);
        }
        let n = file.item.len();
        let mut starts: Vec<Option<DateTime<Utc>>> = file
            .item
            .iter()
            .map(|i| i.at.as_deref().and_then(parse_at))
            .collect();
        if starts.first().is_some_and(Option::is_none) {
            starts[0] = Some(file_start);
        }
        let mut cursor = clock.now();
        for (i, (e, it)) in file.item.iter().zip(&day.items).enumerate() {
            let start = starts[i].unwrap_or(cursor);
            if start > cursor {
                let f = rate.frames_between(cursor, start).max(0) as u64;
                inc(
                    &mut r.gaps,
                    cursor,
                    f,
                    format!(
                        "空档 {}：无节目直到“{}”",
                        fmt_frames_short(rate, f),
                        it.title
                    ),
                );
                r.dead_air_frames += f;
            } else if start < cursor {
                let f = rate.frames_between(start, cursor).max(0) as u64;
                inc(
                    &mut r.overlaps,
                    start,
                    f,
                    format!(
                        "“{}”硬切入，前一条被截去 {}",
                        it.title,
                        fmt_frames_short(rate, f)
                    ),
                );
            }
            clock.advance_to(start);
            let planned = e
                .duration
                .as_deref()
                .and_then(|d| engine_frames(rate, d))
                .unwrap_or(0);
            let in_f = e
                .in_point
                .as_deref()
                .and_then(|d| engine_frames(rate, d))
                .unwrap_or(0);
            let check = cache
                .entry(e.source.clone())
                .or_insert_with(|| probe.probe(&e.source))
                .clone();
            let mut plays = planned;
            check_source(&mut r, &mut inc, e, it, &check, start, &slow);
            if let MediaCheck::Present { frames: Some(len) } = check
                && len < in_f + planned
            {
                plays = len.saturating_sub(in_f);
                inc(
                    &mut r.missing,
                    start,
                    planned - plays,
                    format!(
                        "“{}”素材只有 {}，不足计划时长",
                        it.title,
                        fmt_frames_short(rate, len)
                    ),
                );
            }
            if check == MediaCheck::Missing || e.source.trim().is_empty() {
                plays = 0;
            }
            let end_planned = rate.add(start, planned);
            // The next hard start (or midnight, where the next day's file pins its first item).
            let next_hard = starts
                .get(i + 1)
                .copied()
                .flatten()
                .or((i + 1 == n).then_some(day.end));
            let end = next_hard
                .map_or(end_planned, |h| h.min(end_planned))
                .max(start);
            let aired = (rate.frames_between(start, end).max(0) as u64).min(plays);
            if aired < planned && plays == planned && next_hard.is_some_and(|h| h < end_planned) {
                // Reported by the next item as a cut; at midnight report here.
                if i + 1 == n {
                    inc(
                        &mut r.overlaps,
                        day.end,
                        planned - aired,
                        format!(
                            "“{}”超过午夜，被截去 {}",
                            it.title,
                            fmt_frames_short(rate, planned - aired)
                        ),
                    );
                }
            }
            if aired < plays.min(planned) || plays < planned {
                let lost = rate.frames_between(rate.add(start, aired), end).max(0) as u64;
                if plays < planned && lost > 0 {
                    inc(
                        &mut r.gaps,
                        rate.add(start, aired),
                        lost,
                        format!(
                            "“{}”无法播出或提前结束，空档 {}",
                            it.title,
                            fmt_frames_short(rate, lost)
                        ),
                    );
                    r.dead_air_frames += lost;
                }
            }
            account(&mut r, it, aired);
            cursor = end;
            clock.advance_to(end);
            r.items += 1;
        }
        if cursor < day.end {
            let f = rate.frames_between(cursor, day.end).max(0) as u64;
            inc(
                &mut r.gaps,
                cursor,
                f,
                format!("空档 {}：至午夜无节目", fmt_frames_short(rate, f)),
            );
            r.dead_air_frames += f;
            clock.advance_to(day.end);
        }
        out.days.push(r);
    }
    out.clock_steps = clock.steps();
    out
}

fn check_source(
    r: &mut RehearsalDay,
    inc: &mut impl FnMut(&mut Vec<Incident>, DateTime<Utc>, u64, String),
    e: &EngineItem,
    it: &DayItem,
    check: &MediaCheck,
    start: DateTime<Utc>,
    slow: &[&str],
) {
    let live_window =
        it.kind == ItemKind::Live || slow.contains(&it.section.as_str()) && it.kind.is_programme();
    if e.source.trim().is_empty() {
        let what = if live_window {
            "慢直播时段无信号源"
        } else {
            "没有素材"
        };
        inc(
            &mut r.no_source,
            start,
            it.frames,
            format!("“{}”{what}", it.title),
        );
        return;
    }
    match check {
        MediaCheck::Missing => inc(
            &mut r.missing,
            start,
            it.frames,
            format!("“{}”素材不存在：{}", it.title, e.source),
        ),
        MediaCheck::Unverified(why) => inc(
            &mut r.unverified,
            start,
            it.frames,
            format!("“{}”未验证（{why}）：{}", it.title, e.source),
        ),
        MediaCheck::Present { .. } => {}
    }
}

/// Adds `frames` of `it` that aired to the day's airtime (filler, slate, or by section,
/// category and unit).
pub fn account(r: &mut RehearsalDay, it: &DayItem, frames: u64) {
    match it.kind {
        ItemKind::Filler => r.filler_frames += frames,
        ItemKind::Slate => r.slate_frames += frames,
        _ => {
            *r.by_section.entry(it.section.clone()).or_default() += frames;
            if let Some(&c) = it.categories.first() {
                *r.by_category.entry(category_label(c)).or_default() += frames;
            }
            let unit = if it.unit.is_empty() {
                "（未注明）".to_string()
            } else {
                it.unit.clone()
            };
            *r.by_unit.entry(unit).or_default() += frames;
        }
    }
}
