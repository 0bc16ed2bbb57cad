//! Unit tests of the edit core, a module per concern, on small hand-built days at 25 fps:
//! a "long" day of a few long items around a pinned live at 20:00, and a day of 1-minute
//! works with a pinned hour of live at 20:00. Every resulting day is checked against
//! `validate_day`'s structural problems and for exact contiguity.

mod frozen;
mod positions;
mod problems;
mod ripple;
mod splice;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;

use super::{EditContext, EditOp, EditOutcome, apply};
use crate::rundown::time::day_bounds;
use crate::rundown::validate::{ProblemKind, validate_day};
use crate::rundown::{Catalog, Day, DayItem, FrameRate, ItemKind};

/// Frames per second, minute and hour at 25/1.
const SEC: u64 = 25;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid date")
}

fn base(kind: ItemKind, title: &str, frames: u64) -> DayItem {
    DayItem {
        start: DateTime::<Utc>::MIN_UTC,
        frames,
        in_frames: 0,
        kind,
        work_id: None,
        feed_id: None,
        title: title.into(),
        source: format!("/media/{title}.mp4"),
        section: "悦科普".into(),
        block: "测试".into(),
        unit: String::new(),
        unit_id: None,
        copyright_holder: String::new(),
        categories: Vec::new(),
        premiere: false,
        pinned: false,
        cut: false,
    }
}

fn work(id: i64, title: &str, frames: u64) -> DayItem {
    DayItem {
        work_id: Some(id),
        ..base(ItemKind::Work, title, frames)
    }
}

fn live(id: i64, title: &str, frames: u64) -> DayItem {
    DayItem {
        feed_id: Some(id),
        source: format!("rtmp://live/{id}"),
        pinned: true,
        ..base(ItemKind::Live, title, frames)
    }
}

fn filler(title: &str, frames: u64) -> DayItem {
    base(ItemKind::Filler, title, frames)
}

fn slate(frames: u64) -> DayItem {
    DayItem {
        title: "等待画面".into(),
        source: "/media/slate.png".into(),
        ..base(ItemKind::Slate, "等待画面", frames)
    }
}

/// A day of `items` laid back to back from midnight.
fn day_of(items: Vec<DayItem>) -> Day {
    let rate = FrameRate { num: 25, den: 1 };
    let (start, end) = day_bounds(Shanghai, date());
    let mut off = 0;
    let items = items
        .into_iter()
        .map(|mut it| {
            it.start = rate.add(start, off);
            off += it.frames;
            it
        })
        .collect();
    Day {
        date: date(),
        edition: "2026".into(),
        time_zone: "Asia/Shanghai".into(),
        rate,
        start,
        end,
        items,
    }
}

/// 0 晨间 00:00–08:00, 1 上午 08:00–12:00, 2 下午 12:00–19:30, 3 垫片A 19:30–19:40,
/// 4 等待画面 19:40–20:00, 5 直播 20:00–22:00 (pinned), 6 夜间 22:00–24:00.
fn long_day() -> Day {
    day_of(vec![
        work(1, "晨间", 8 * HOUR),
        work(2, "上午", 4 * HOUR),
        work(3, "下午", 7 * HOUR + 30 * MIN),
        filler("垫片A", 10 * MIN),
        slate(20 * MIN),
        live(7, "直播", 2 * HOUR),
        work(4, "夜间", 2 * HOUR),
    ])
}

/// 1-minute works 作品{m} (m = minute of the day, work id 1000 + m), except a pinned hour of
/// live at 20:00 (index 1200). Index i < 1200 is minute i; index i > 1200 is minute i + 59.
fn minute_day() -> Day {
    let mut items = Vec::new();
    for m in 0..1440u64 {
        if m == 1200 {
            items.push(live(7, "直播", HOUR));
        } else if !(1200..1260).contains(&m) {
            items.push(work(1000 + m as i64, &format!("作品{m}"), MIN));
        }
    }
    day_of(items)
}

/// The instant `h:m:s` Shanghai on the test date.
fn at(h: u64, m: u64, s: u64) -> DateTime<Utc> {
    let (start, _) = day_bounds(Shanghai, date());
    FrameRate { num: 25, den: 1 }.add(start, (h * 3600 + m * 60 + s) * SEC)
}

/// Frame offset of an item's start.
fn off(day: &Day, i: usize) -> u64 {
    day.rate.frames_between(day.start, day.items[i].start) as u64
}

/// (title, start offset, frames) of every item.
fn layout(day: &Day) -> Vec<(String, u64, u64)> {
    (0..day.items.len())
        .map(|i| (day.items[i].title.clone(), off(day, i), day.items[i].frames))
        .collect()
}

fn row(title: &str, start: u64, frames: u64) -> (String, u64, u64) {
    (title.into(), start, frames)
}

fn ctx(cut: Option<DateTime<Utc>>) -> EditContext {
    let mut s = slate(0);
    s.block = "补空".into();
    EditContext { cut, slate: s }
}

/// The day is exactly midnight→midnight and contiguous: no structural problem at all.
#[track_caller]
fn assert_sound(day: &Day) {
    let structural = [
        ProblemKind::Gap,
        ProblemKind::Overlap,
        ProblemKind::Overrun,
        ProblemKind::DayLength,
        ProblemKind::OffFrame,
        ProblemKind::ZeroLength,
        ProblemKind::DayBounds,
    ];
    let bad: Vec<_> = validate_day(day, &Catalog::default(), None)
        .into_iter()
        .filter(|p| structural.contains(&p.kind))
        .map(|p| p.message)
        .collect();
    assert!(bad.is_empty(), "structural problems: {bad:#?}");
    let mut cursor = day.start;
    for it in &day.items {
        assert_eq!(it.start, cursor, "“{}” starts back to back", it.title);
        cursor = it.end(day.rate);
    }
    assert_eq!(cursor, day.end);
}

/// Applies `op`, asserting success and a sound day.
#[track_caller]
fn ok(day: &Day, op: EditOp, ctx: &EditContext) -> EditOutcome {
    let out = apply(day, &op, ctx).expect("edit applies");
    assert_sound(&out.day);
    out
}

#[test]
fn fixtures_are_sound() {
    assert_sound(&long_day());
    let d = minute_day();
    assert_sound(&d);
    assert_eq!(d.items.len(), 1381);
    assert_eq!(off(&d, 1200), 1200 * MIN);
    assert_eq!(d.items[1201].title, "作品1260");
}

#[test]
fn constructors_for_inserted_items() {
    let w = crate::rundown::Work {
        id: 42,
        title: "星空".into(),
        unit: "天文台".into(),
        unit_id: 3,
        copyright_holder: "天文台".into(),
        categories: vec![2],
        frames: 10 * MIN,
        ms: None,
        source: "/media/42.mp4".into(),
        premiere_after: None,
        blocked: Vec::new(),
        ready: Default::default(),
    };
    let whole = super::work_item(&w, None, 0, "寻初心");
    assert_eq!(
        (whole.frames, whole.in_frames, whole.cut),
        (10 * MIN, 0, false)
    );
    assert_eq!(whole.work_id, Some(42));
    assert_eq!(whole.block, super::MANUAL_BLOCK);
    let tail = super::work_item(&w, None, 4 * MIN, "寻初心");
    assert_eq!(
        (tail.frames, tail.in_frames, tail.cut),
        (6 * MIN, 4 * MIN, false)
    );
    let part = super::work_item(&w, Some(MIN), 2 * MIN, "寻初心");
    assert_eq!(
        (part.frames, part.in_frames, part.cut),
        (MIN, 2 * MIN, true)
    );

    let f = crate::rundown::LiveFeed {
        id: 9,
        title: "海底".into(),
        url: "rtmp://sea/9".into(),
        unit: "海洋馆".into(),
        unit_id: 4,
        copyright_holder: String::new(),
        window: crate::rundown::FeedWindow::Daily {
            start: "20:00".into(),
            end: "22:00".into(),
        },
    };
    let l = super::live_item(&f, 30 * MIN, "慢直播");
    assert_eq!(
        (l.kind, l.frames, l.pinned),
        (ItemKind::Live, 30 * MIN, false)
    );
    assert_eq!((l.feed_id, l.source.as_str()), (Some(9), "rtmp://sea/9"));
}

#[test]
fn describe_in_chinese() {
    let d = long_day();
    let ins = EditOp::Insert {
        item: work(9, "星空", 10 * MIN),
        at: super::Position::Before(5),
        split: false,
    };
    assert_eq!(
        ins.describe(&d),
        "插入“星空”于 20:00:00 前（第 6 条“直播”）"
    );
    assert_eq!(
        EditOp::Remove { index: 1 }.describe(&d),
        "删除第 2 条“上午”（08:00:00）"
    );
    assert_eq!(
        EditOp::EndAt {
            index: 1,
            at: at(10, 0, 0)
        }
        .describe(&d),
        "第 2 条“上午”于 10:00:00 提前结束"
    );
    assert_eq!(
        EditOp::Overwrite {
            item: live(8, "海底", 30 * MIN),
            at: at(11, 0, 0)
        }
        .describe(&d),
        "覆盖 11:00:00–11:30:00 为“海底”"
    );
    assert_eq!(
        EditOp::Trim {
            index: 6,
            in_frames: Some(MIN),
            frames: Some(HOUR)
        }
        .describe(&d),
        "修剪第 7 条“夜间”：入点 00:01:00、时长 01:00:00"
    );
    assert_eq!(EditOp::Remove { index: 99 }.describe(&d), "删除第 100 条");
}
