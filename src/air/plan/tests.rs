//! Plan tests: two stored days around a midnight, with the engine's timeline simulated.

use super::*;
use crate::rundown::FrameRate;
use crate::rundown::time::day_bounds;

fn item(kind: ItemKind, title: &str, source: &str, frames: u64) -> DayItem {
    DayItem {
        start: DateTime::<Utc>::MIN_UTC,
        frames,
        in_frames: 0,
        kind,
        work_id: (kind == ItemKind::Work).then_some(frames as i64),
        feed_id: None,
        title: title.into(),
        source: source.into(),
        section: "悦科普".into(),
        block: String::new(),
        unit: String::new(),
        unit_id: Some(7),
        copyright_holder: String::new(),
        categories: Vec::new(),
        premiere: false,
        pinned: false,
        cut: false,
    }
}

/// A day of `items` back to back; the last one is stretched to midnight.
fn day(date: NaiveDate, mut items: Vec<DayItem>) -> Day {
    let (start, end) = day_bounds(chrono_tz::Asia::Shanghai, date);
    let rate = FrameRate::default();
    let total = rate.frames_between(start, end) as u64;
    let mut at = 0;
    let n = items.len();
    for (i, it) in items.iter_mut().enumerate() {
        if i + 1 == n {
            it.frames = total - at;
        }
        it.start = rate.add(start, at);
        at += it.frames;
    }
    Day {
        date,
        edition: "2026".into(),
        time_zone: "Asia/Shanghai".into(),
        rate,
        start,
        end,
        items,
    }
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

#[test]
fn items_across_midnight_are_cued_back_to_back_on_the_engine_timeline() {
    let d1 = day(
        date("2026-09-01"),
        vec![
            item(ItemKind::Work, "甲", "/m/a.mp4", 1000),
            item(ItemKind::Work, "乙", "/m/b.mp4", 0),
        ],
    );
    let d2 = day(
        date("2026-09-02"),
        vec![
            item(ItemKind::Slate, "等待", "/m/slate.png", 250),
            item(ItemKind::Work, "丙", "/m/c.mp4", 0),
        ],
    );
    // Put 2026-09-01 00:00 Shanghai at engine frame 1 000 000.
    let origin = d1.start;
    let rate = d1.rate;
    let at = |t: DateTime<Utc>| 1_000_000 + rate.frames_between(origin, t);
    let day_frames = rate.frames_in_secs(86_400);
    let midnight = 1_000_000 + day_frames;
    let planned = plan(
        &[
            DayInView {
                day: &d1,
                version: 3,
            },
            DayInView {
                day: &d2,
                version: 1,
            },
        ],
        at,
        0,
        midnight - 100,
        midnight + 1000,
    );
    let midnight = midnight as i64;
    let got: Vec<(&str, i64, Option<u64>, &str)> = planned
        .iter()
        .map(|p| {
            (
                p.cue.title.as_str(),
                p.start_frame,
                p.cue.length,
                p.cue.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("乙", 1_001_000, Some(day_frames - 1000), "/m/b.mp4"),
            ("等待", midnight, Some(250), SLATE_SOURCE),
            ("丙", midnight + 250, Some(day_frames - 250), "/m/c.mp4"),
        ]
    );
    assert_eq!(planned[0].cue.start, Some(1_001_000));
    assert_eq!(planned[0].info.rundown_version, Some(3));
    assert_eq!(planned[1].info.rundown_day.as_deref(), Some("2026-09-02"));
    assert_eq!(planned[2].cue.id, "2026-09-02+250:w0");
}

#[test]
fn items_outside_the_window_are_not_cued_and_ids_follow_the_slot() {
    let d1 = day(
        date("2026-09-03"),
        vec![
            item(ItemKind::Work, "甲", "/m/a.mp4", 100),
            item(ItemKind::Work, "乙", "/m/b.mp4", 100),
            item(ItemKind::Work, "丙", "/m/c.mp4", 100),
            item(ItemKind::Work, "丁", "/m/d.mp4", 0),
        ],
    );
    let planned = plan(
        &[DayInView {
            day: &d1,
            version: 1,
        }],
        |_| 0,
        0,
        100, // 甲 has just ended
        250, // 丁 starts at 300
    );
    let titles: Vec<&str> = planned.iter().map(|p| p.cue.title.as_str()).collect();
    assert_eq!(titles, vec!["乙", "丙"]);
    assert_eq!(planned[0].cue.id, "2026-09-03+100:w100");
    // A live item's source keeps its key out of the as-run log.
    let mut live = item(ItemKind::Live, "望远镜", "rtmp://h/live/secretkey123", 0);
    live.feed_id = Some(5);
    let d2 = day(date("2026-09-04"), vec![live]);
    let p = plan(
        &[DayInView {
            day: &d2,
            version: 1,
        }],
        |_| 0,
        0,
        0,
        10,
    );
    assert_eq!(p[0].cue.source, "rtmp://h/live/secretkey123");
    assert!(
        !p[0].info.source.contains("secretkey123"),
        "{}",
        p[0].info.source
    );
    assert_eq!(p[0].cue.id, "2026-09-04+0:f5");
}

#[test]
fn an_item_that_began_before_the_engine_is_cued_from_its_first_frame_with_the_same_cue_every_time()
{
    let d1 = day(
        date("2026-09-05"),
        vec![
            item(ItemKind::Work, "甲", "/m/a.mp4", 3000),
            item(ItemKind::Work, "乙", "/m/b.mp4", 0),
        ],
    );
    // The engine started 1200 frames into 甲 (its frame 0 is 1200 frames after midnight).
    let at = |_t: DateTime<Utc>| -1200;
    let a = plan(
        &[DayInView {
            day: &d1,
            version: 1,
        }],
        at,
        0,
        10,
        5000,
    );
    let b = plan(
        &[DayInView {
            day: &d1,
            version: 1,
        }],
        at,
        0,
        60,
        5000,
    );
    assert_eq!(a[0].cue, b[0].cue, "re-reads hand the engine the same cue");
    assert_eq!(a[0].cue.start, Some(0));
    assert_eq!(a[0].cue.length, Some(1800));
    assert_eq!(a[0].cue.in_point_ns, 1200 * 40_000_000);
    assert_eq!(a[0].start_frame, -1200);
    assert_eq!(a[1].cue.start, Some(1800));
}
