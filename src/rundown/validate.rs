//! Validation of one day, built or edited by hand: the day is exactly its 24 h with no gap
//! or overlap, every work exists and is ready (technical check, selection, rights), every
//! live window has a source. Each problem names its Shanghai wall time, in Chinese.
//!
//! Pure: reads the day, the catalog and (optionally) the schedule; changes nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::config::CompiledSchedule;
use super::plan::day_plan;
use super::time::{fmt_frames_short, wall, wall_time};
use super::{Catalog, Day, ItemKind};

/// What kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The day's start/end are not its midnights.
    DayBounds,
    /// Items do not add up to the day's length.
    DayLength,
    /// Dead air between items.
    Gap,
    /// Two items claim the same time.
    Overlap,
    /// An item runs past midnight.
    Overrun,
    /// A start not on a frame boundary.
    OffFrame,
    /// An item of zero length.
    ZeroLength,
    /// The work is not in the catalog.
    UnknownWork,
    /// Technical check not passed.
    NotTechPassed,
    /// Not selected (未入选).
    NotSelected,
    /// Rights confirmation not on file.
    NoRights,
    /// A late work before its date.
    NotYetAvailable,
    /// In-point plus length past the work's end.
    BeyondMedia,
    /// The feed is not in the catalog.
    UnknownFeed,
    /// No source for an item (a live window without a source).
    NoSource,
    /// A slow-live window filled only by filler or slate.
    SlowLiveWithoutSource,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Kind.
    pub kind: ProblemKind,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// When, Shanghai wall time.
    pub wall: String,
    /// Index of the item in the day (as stored), if one item is at fault.
    pub item: Option<usize>,
    /// Chinese message, starting with the wall time.
    pub message: String,
}

/// Validates `day`. `schedule` adds the slow-live window check.
pub fn validate_day(
    day: &Day,
    catalog: &Catalog,
    schedule: Option<&CompiledSchedule>,
) -> Vec<Problem> {
    let tz = day.tz();
    let rate = day.rate;
    let mut out = Vec::new();
    let mut push = |kind, at: DateTime<Utc>, item: Option<usize>, msg: String| {
        let w = wall(tz, at);
        out.push(Problem {
            kind,
            at,
            wall: w.clone(),
            item,
            message: format!("{w}：{msg}"),
        });
    };
    let title = |i: usize| format!("第 {} 条“{}”", i + 1, day.items[i].title);

    let (s, e) = super::time::day_bounds(tz, day.date);
    if day.start != s || day.end != e {
        push(
            ProblemKind::DayBounds,
            day.start,
            None,
            format!("日期 {} 的起止应为当地 00:00 至次日 00:00", day.date),
        );
    }
    let day_frames = day.frames();
    let total: u64 = day.items.iter().map(|i| i.frames).sum();
    if total != day_frames {
        push(
            ProblemKind::DayLength,
            day.start,
            None,
            format!(
                "全天节目合计 {}（{} 帧），应为 {}（{} 帧）",
                fmt_frames_short(rate, total),
                total,
                fmt_frames_short(rate, day_frames),
                day_frames
            ),
        );
    }

    let mut order: Vec<usize> = (0..day.items.len()).collect();
    order.sort_by_key(|&i| (day.items[i].start, i));
    let mut cursor = day.start;
    let mut prev: Option<usize> = None;
    for &i in &order {
        let it = &day.items[i];
        let end = it.end(rate);
        let off = rate.frames_between(day.start, it.start);
        if rate.add(day.start, off.max(0) as u64) != it.start {
            push(
                ProblemKind::OffFrame,
                it.start,
                Some(i),
                format!("{} 的开始时间不在帧边界上", title(i)),
            );
        }
        if it.frames == 0 {
            push(
                ProblemKind::ZeroLength,
                it.start,
                Some(i),
                format!("{} 时长为零", title(i)),
            );
        }
        if it.start > cursor {
            let gap = rate.frames_between(cursor, it.start).max(0) as u64;
            push(
                ProblemKind::Gap,
                cursor,
                None,
                format!(
                    "节目空档 {}：{}–{} 无节目（{} 之前）",
                    fmt_frames_short(rate, gap),
                    wall_time(tz, cursor),
                    wall_time(tz, it.start),
                    title(i)
                ),
            );
        } else if it.start < cursor {
            let ov = rate.frames_between(it.start, cursor.min(end)).max(0) as u64;
            let with = prev.map(title).unwrap_or_else(|| "前一天".into());
            push(
                ProblemKind::Overlap,
                it.start,
                Some(i),
                format!(
                    "节目重叠 {}：{} 与 {} 在 {}–{} 同时占用",
                    fmt_frames_short(rate, ov),
                    title(i),
                    with,
                    wall_time(tz, it.start),
                    wall_time(tz, cursor.min(end))
                ),
            );
        }
        if end > day.end && it.start < day.end {
            push(
                ProblemKind::Overrun,
                it.start,
                Some(i),
                format!("{} 超过当天结束（次日 00:00）", title(i)),
            );
        }
        if end > cursor {
            cursor = end;
            prev = Some(i);
        }
        check_item(day, catalog, i, &mut push);
    }
    if cursor < day.end {
        let gap = rate.frames_between(cursor, day.end).max(0) as u64;
        push(
            ProblemKind::Gap,
            cursor,
            None,
            format!(
                "节目空档 {}：{} 至当天结束无节目",
                fmt_frames_short(rate, gap),
                wall_time(tz, cursor)
            ),
        );
    }

    if let Some(cs) = schedule {
        let plan = day_plan(cs, day.date);
        for seg in plan
            .segments
            .iter()
            .filter(|s| s.slow_live && s.event.is_none())
        {
            let a = rate.add(day.start, seg.start);
            let b = rate.add(day.start, seg.end);
            let covered = day.items.iter().any(|it| {
                it.start < b
                    && it.end(rate) > a
                    && !it.source.trim().is_empty()
                    && matches!(it.kind, ItemKind::Work | ItemKind::Live | ItemKind::Event)
            });
            if !covered {
                push(
                    ProblemKind::SlowLiveWithoutSource,
                    a,
                    None,
                    format!(
                        "慢直播时段 {}–{}（{}）没有任何信号源，只有垫片或等待画面",
                        wall_time(tz, a),
                        wall_time(tz, b),
                        seg.label
                    ),
                );
            }
        }
    }
    out.sort_by_key(|p| (p.at, p.kind));
    out
}

fn check_item(
    day: &Day,
    catalog: &Catalog,
    i: usize,
    push: &mut impl FnMut(ProblemKind, DateTime<Utc>, Option<usize>, String),
) {
    let it = &day.items[i];
    let t = format!("第 {} 条“{}”", i + 1, it.title);
    let at = it.start;
    if it.source.trim().is_empty() {
        let what = if it.kind == ItemKind::Live {
            "慢直播时段无信号源"
        } else {
            "没有素材或信号源"
        };
        push(ProblemKind::NoSource, at, Some(i), format!("{t} {what}"));
    }
    match it.kind {
        ItemKind::Work => {
            let Some(id) = it.work_id else {
                push(
                    ProblemKind::UnknownWork,
                    at,
                    Some(i),
                    format!("{t} 是作品但没有作品编号"),
                );
                return;
            };
            let Some(w) = catalog.works.get(&id) else {
                push(
                    ProblemKind::UnknownWork,
                    at,
                    Some(i),
                    format!("{t} 的作品编号 {id} 在作品库中不存在"),
                );
                return;
            };
            if !w.ready.tech {
                push(
                    ProblemKind::NotTechPassed,
                    at,
                    Some(i),
                    format!("{t}（作品 {id}）未通过技术审核"),
                );
            }
            if !w.ready.selected {
                push(
                    ProblemKind::NotSelected,
                    at,
                    Some(i),
                    format!("{t}（作品 {id}）未入选，未经遴选批准不得播出"),
                );
            }
            if !w.ready.rights {
                push(
                    ProblemKind::NoRights,
                    at,
                    Some(i),
                    format!("{t}（作品 {id}）版权、传播权和内容审核确认单未备案"),
                );
            }
            if let Some(p) = w.premiere_after
                && p > day.date
            {
                push(
                    ProblemKind::NotYetAvailable,
                    at,
                    Some(i),
                    format!("{t}（作品 {id}）{p} 起才可播出"),
                );
            }
            if it.in_frames + it.frames > w.frames {
                push(
                    ProblemKind::BeyondMedia,
                    at,
                    Some(i),
                    format!(
                        "{t} 入点加时长 {} 超过作品长度 {}",
                        fmt_frames_short(day.rate, it.in_frames + it.frames),
                        fmt_frames_short(day.rate, w.frames)
                    ),
                );
            }
        }
        ItemKind::Live => {
            if let Some(id) = it.feed_id
                && !catalog.feeds.contains_key(&id)
            {
                push(
                    ProblemKind::UnknownFeed,
                    at,
                    Some(i),
                    format!("{t} 的慢直播信号 {id} 不存在"),
                );
            }
        }
        ItemKind::Event | ItemKind::Filler | ItemKind::Slate => {}
    }
}
