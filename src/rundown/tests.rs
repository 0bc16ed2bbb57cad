//! Unit tests of the rundown's pure parts: time text, config validation, day plans, cron
//! slots across month ends in Asia/Shanghai, the engine day file and diffs.

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use super::config::{ConfigError, ScheduleConfig};
use super::plan::day_plan;
use super::time::{CronSlot, FrameRate, day_bounds, fmt_frames, parse_duration_frames};

const CFG_2026: &str = include_str!("../../schedules/editions/2026.toml");
const CFG_2025: &str = include_str!("../../schedules/editions/2025.toml");

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

fn utc(s: &str) -> chrono::DateTime<Utc> {
    s.parse().expect("valid RFC 3339")
}

#[test]
fn frames_format_exactly_at_25fps() {
    let r = FrameRate::default();
    assert_eq!(fmt_frames(r, 2_160_000), "24:00:00.000");
    assert_eq!(fmt_frames(r, 1), "00:00:00.040");
    assert_eq!(fmt_frames(r, 25 * 1801 + 3), "00:30:01.120");
    assert_eq!(parse_duration_frames(r, "00:30:00"), Some(45_000));
    assert_eq!(parse_duration_frames(r, "00:00:00.040"), Some(1));
    assert_eq!(parse_duration_frames(r, "90"), Some(2250));
    assert_eq!(
        parse_duration_frames(r, "1.5"),
        None,
        "37.5 frames is not a whole frame"
    );
    assert_eq!(parse_duration_frames(r, "00:61:00"), None);
    assert_eq!(parse_duration_frames(r, "abc"), None);
}

#[test]
fn shipped_configs_compile() {
    for (name, text) in [("2026.toml", CFG_2026), ("2025.toml", CFG_2025)] {
        let cfg = ScheduleConfig::from_toml_str(text, name).expect("parses");
        let cs = cfg.compile(name).expect("valid");
        assert_eq!(cs.dates().len(), 30, "{name}: 30 days");
        assert_eq!(cs.day_frames, 2_160_000);
        assert_eq!(cs.sections.len(), 5);
    }
}

#[test]
fn edition_file_with_schedule_table_is_accepted() {
    // The shipped edition file carries `[schedule]` next to the catalog's rules.
    let cfg =
        ScheduleConfig::from_toml_str(CFG_2026, "2026.toml").expect("parses the [schedule] table");
    assert_eq!(cfg.edition, "2026");
    assert_eq!(cfg.block.len(), 7);
    // A bare schedule table (the table's content alone) is read the same way.
    let whole: toml::Table = toml::from_str(CFG_2026).expect("toml");
    let bare = toml::to_string(whole.get("schedule").expect("[schedule]")).expect("to toml");
    let again = ScheduleConfig::from_toml_str(&bare, "bare.toml").expect("bare table parses");
    assert_eq!(again, cfg);
}

#[test]
fn config_errors_name_every_field() {
    let bad = CFG_2026
        .replace(
            "end = \"08:00\"\nsection = \"悦科普\"",
            "end = \"07:00\"\nsection = \"悦科普\"",
        )
        .replace(
            "section = \"寻初心\"\n\n[[schedule.block]]",
            "section = \"不存在\"\n\n[[schedule.block]]",
        )
        .replace("cron = \"0 0 20 * * *\"", "cron = \"0 20 * *\"")
        .replace(
            "[schedule.repeat]",
            "[[schedule.filler.clips]]\nsource = \"ident.mp4\"\ntitle = \"台标\"\nduration = \"00:00:15.010\"\n\n[schedule.repeat]",
        );
    let err = ScheduleConfig::from_toml_str(&bad, "bad.toml")
        .expect("parses")
        .compile("bad.toml")
        .expect_err("invalid");
    let ConfigError::Invalid(issues) = &err else {
        panic!("expected Invalid, got {err}")
    };
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert!(fields.contains(&"block"), "gap 07:00–08:00 reported: {err}");
    assert!(fields.contains(&"block[2].section"), "{err}");
    assert!(fields.contains(&"slot[0].cron"), "{err}");
    assert!(fields.contains(&"filler.clips[0].duration"), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("bad.toml") && text.contains("07:00") && text.contains("不存在"),
        "{text}"
    );
}

#[test]
fn a_way_out_names_sections_that_exist_and_says_where_it_is_wrong() {
    // The shipped edition gives every section a way out; 慢直播's comes first in the file.
    let cs = ScheduleConfig::from_toml_str(CFG_2026, "2026.toml")
        .expect("parses")
        .compile("2026.toml")
        .expect("valid");
    let slow = cs.section_index("慢直播").expect("慢直播");
    assert!(
        matches!(&cs.sections[slow].fallback[..], [super::compile::Fallback::Replay { sections, allow_premieres: true }] if sections.len() == 4),
        "{:?}",
        cs.sections[slow].fallback
    );
    let bad = CFG_2026
        .replace(
            "sections = [\"悦科普\", \"探创新\", \"寻初心\", \"向未来\"]",
            "sections = [\"悦科普\", \"慢直播\", \"不存在\", \"悦科普\"]",
        )
        .replace("warn_slate_minutes = 10", "warn_slate_minutes = 2000");
    let err = ScheduleConfig::from_toml_str(&bad, "bad.toml")
        .expect("parses")
        .compile("bad.toml")
        .expect_err("invalid");
    let text = err.to_string();
    for (field, what) in [
        (
            "section[4].fallback[0].sections[1]",
            "不能以自身作为重播来源",
        ),
        (
            "section[4].fallback[0].sections[2]",
            "未定义的版块 “不存在”",
        ),
        ("section[4].fallback[0].sections[3]", "重复"),
        ("filler.warn_slate_minutes", "1440"),
    ] {
        assert!(
            text.contains(&format!("bad.toml：字段 {field}：")) && text.contains(what),
            "{field} {what}: {text}"
        );
    }
    // A way out of an unknown kind is refused by the parser, naming the line.
    let bad = CFG_2026.replacen("kind = \"replay\"", "kind = \"rerun\"", 1);
    let err = ScheduleConfig::from_toml_str(&bad, "bad.toml").expect_err("unknown kind");
    let text = err.to_string();
    assert!(text.contains("rerun") && text.contains("line"), "{text}");
}

#[test]
fn unknown_fields_are_refused() {
    let bad = CFG_2026.replace("seed = 2026", "seed = 2026\nsede = 1");
    let err = ScheduleConfig::from_toml_str(&bad, "x.toml").expect_err("unknown field");
    assert!(err.to_string().contains("sede"), "{err}");
}

#[test]
fn day_plan_overlays_slots_and_events() {
    let cs = ScheduleConfig::from_toml_str(CFG_2026, "c")
        .and_then(|c| c.compile("c"))
        .expect("valid");
    let h = |x: u64| x * 90_000;
    // Tuesday: template with the 20:00 premiere slot cut into 向未来.
    let p = day_plan(&cs, d(2026, 9, 1));
    let spans: Vec<(u64, u64, &str)> = p
        .segments
        .iter()
        .map(|s| (s.start, s.end, s.label.as_str()))
        .collect();
    assert_eq!(
        spans,
        vec![
            (0, h(6), "夜间慢直播"),
            (h(6), h(8), "早间悦科普"),
            (h(8), h(12), "寻初心"),
            (h(12), h(14), "悦科普"),
            (h(14), h(18), "探创新"),
            (h(18), h(20), "向未来"),
            (h(20), h(21), "黄金时段首播"),
            (h(21), h(22), "向未来"),
            (h(22), h(24), "晚间慢直播"),
        ]
    );
    // Saturday Sep 19, 全国科普日: weekend special at 15:00 and the 10:00 event.
    let p = day_plan(&cs, d(2026, 9, 19));
    assert_eq!(p.name.as_deref(), Some("全国科普日"));
    let labels: Vec<(u64, &str)> = p
        .segments
        .iter()
        .map(|s| (s.start, s.label.as_str()))
        .collect();
    assert!(
        labels.contains(&(h(10), "全国科普日主场活动直播")),
        "{labels:?}"
    );
    assert!(
        labels.contains(&(h(23) / 2, "寻初心")),
        "block resumes after the event at 11:30: {labels:?}"
    );
    assert!(labels.contains(&(h(15), "周末特别节目")), "{labels:?}");
    assert!(labels.contains(&(h(17), "探创新")), "{labels:?}");
    let covered: u64 = p.segments.iter().map(|s| s.end - s.start).sum();
    assert_eq!(covered, 2_160_000);
}

#[test]
fn cron_slot_at_0030_shanghai_is_1630_utc_the_day_before_across_month_end() {
    let slot = CronSlot::parse("0 30 0 * * *").expect("valid cron");
    let (from, _) = day_bounds(Shanghai, d(2026, 8, 30));
    let (_, to) = day_bounds(Shanghai, d(2026, 9, 2));
    let f = slot.firings(Shanghai, from, to);
    assert_eq!(
        f,
        vec![
            utc("2026-08-29T16:30:00Z"),
            utc("2026-08-30T16:30:00Z"),
            utc("2026-08-31T16:30:00Z"),
            utc("2026-09-01T16:30:00Z")
        ]
    );
    // Sep 1 00:30 Shanghai is Aug 31 in UTC.
    assert_eq!(
        Shanghai
            .with_ymd_and_hms(2026, 9, 1, 0, 30, 0)
            .single()
            .map(|t| t.with_timezone(&Utc)),
        Some(f[2])
    );
}

#[test]
fn cron_slots_over_the_whole_window() {
    let (from, _) = day_bounds(Shanghai, d(2026, 9, 1));
    let (_, to) = day_bounds(Shanghai, d(2026, 9, 30));
    let daily = CronSlot::parse("0 0 20 * * *")
        .expect("valid")
        .firings(Shanghai, from, to);
    assert_eq!(daily.len(), 30);
    assert_eq!(daily[0], utc("2026-09-01T12:00:00Z"));
    assert_eq!(daily[29], utc("2026-09-30T12:00:00Z"));
    let weekend = CronSlot::parse("0 0 15 * * Sat,Sun")
        .expect("valid")
        .firings(Shanghai, from, to);
    let days: Vec<u32> = weekend
        .iter()
        .map(|t| chrono::Datelike::day(&t.with_timezone(&Shanghai)))
        .collect();
    assert_eq!(days, vec![5, 6, 12, 13, 19, 20, 26, 27]);
    // First of the month at midnight, Aug–Oct: each is 16:00 UTC on the previous month's last day.
    let (from, _) = day_bounds(Shanghai, d(2026, 8, 1));
    let (_, to) = day_bounds(Shanghai, d(2026, 10, 31));
    let monthly = CronSlot::parse("0 0 0 1 * *")
        .expect("valid")
        .firings(Shanghai, from, to);
    assert_eq!(
        monthly,
        vec![
            utc("2026-07-31T16:00:00Z"),
            utc("2026-08-31T16:00:00Z"),
            utc("2026-09-30T16:00:00Z")
        ]
    );
    // The window edges: a slot at 23:59:59 on the last day belongs to it; 00:00 of Oct 1 does not.
    let edge = CronSlot::parse("59 59 23 * * *").expect("valid").firings(
        Shanghai,
        day_bounds(Shanghai, d(2026, 9, 30)).0,
        to.min(day_bounds(Shanghai, d(2026, 9, 30)).1),
    );
    assert_eq!(edge, vec![utc("2026-09-30T15:59:59Z")]);
}

#[test]
fn diff_reports_added_removed_and_moved() {
    use super::{Day, DayItem, ItemKind};
    let (s, e) = day_bounds(Shanghai, d(2026, 9, 1));
    let r = FrameRate::default();
    let item = |id: i64, off: u64, frames: u64| DayItem {
        start: r.add(s, off),
        frames,
        in_frames: 0,
        kind: ItemKind::Work,
        work_id: Some(id),
        feed_id: None,
        title: format!("作品{id}"),
        source: format!("/m/{id}.mp4"),
        section: "寻初心".into(),
        block: String::new(),
        unit: String::new(),
        unit_id: None,
        copyright_holder: String::new(),
        categories: vec![],
        premiere: false,
        pinned: false,
        cut: false,
    };
    let day = |items| Day {
        date: d(2026, 9, 1),
        edition: "2026".into(),
        time_zone: "Asia/Shanghai".into(),
        rate: r,
        start: s,
        end: e,
        items,
    };
    let old = day(vec![item(1, 0, 100), item(2, 100, 100), item(3, 200, 100)]);
    let new = day(vec![item(1, 0, 100), item(3, 100, 100), item(4, 200, 100)]);
    let lines = super::diff::diff_days(&old, &new);
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        vec![
            "- 00:00:04 作品2（00:00:04）",
            "~ 00:00:08 → 00:00:04 作品3（00:00:04）",
            "+ 00:00:08 作品4（00:00:04）"
        ]
    );
    assert!(super::diff::diff_days(&old, &old).is_empty());
}

#[test]
fn each_work_that_cannot_air_in_the_window_says_why() {
    use super::builder::{BuildRequest, build};
    let cs = ScheduleConfig::from_toml_str(CFG_2026, "2026.toml")
        .expect("parses")
        .compile("2026.toml")
        .expect("compiles");
    let mut works = super::demo::works(7, 1, 4, None);
    // Submitted on the last day: it may premiere only after the window.
    works[0].premiere_after = Some(d(2026, 10, 1));
    // The catalog's own words for what is missing.
    works[1].ready.tech = false;
    works[1].source.clear();
    works[1].blocked = vec!["未提交视频文件".into(), "尚未遴选入选".into()];
    // A thousand hours of 悦科普 for a month of 720 hours: some cannot fit.
    let mut more = super::demo::works(7, 100, 1000, None);
    for w in &mut more {
        w.categories = vec![2];
        w.frames = 25 * 3600;
        w.ready.selected = true;
    }
    works.extend(more);
    let existing = Default::default();
    let locked = Default::default();
    let built = build(
        &cs,
        &BuildRequest {
            works: &works,
            feeds: &[],
            existing: &existing,
            from: None,
            now: None,
            locked: &locked,
        },
    );
    let r = &built.report;
    let why = |id: i64| {
        r.excluded
            .iter()
            .chain(&r.unaired_detail)
            .find(|e| e.work_id == id)
            .map(|e| e.reason.clone())
            .unwrap_or_default()
    };
    assert!(
        why(works[0].id).contains("最早 2026-10-01 起可播")
            && why(works[0].id).contains("已过播出窗口最后一天 2026-09-30"),
        "{r:?}"
    );
    assert_eq!(why(works[1].id), "未提交视频文件；尚未遴选入选");
    assert!(!r.unaired.is_empty(), "capacity ran out");
    // Every work left out has its line, naming its section and length.
    assert_eq!(r.unaired.len(), r.unaired_detail.len());
    for id in &r.unaired {
        let w = why(*id);
        assert!(w.contains("版块「悦科普」没有容纳 01:00:00 的空档"), "{w}");
    }
}

/// Works whose measured length is not a whole number of frames (each half a frame over) are
/// laid back to back with the remainder carried: within a run of whole works the lengths
/// alternate and every run takes the sum of its exact lengths to within half a frame, where
/// rounding each down would lose half a frame per work.
#[test]
fn the_builder_carries_the_frame_remainder_across_a_run_of_works() {
    use super::builder::{BuildRequest, build};
    use super::{ItemKind, demo};
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    let cs = ScheduleConfig::from_toml_str(CFG_2026, "2026.toml")
        .expect("parses")
        .compile("2026.toml")
        .expect("valid");
    let mut works = demo::catalog(7, 400);
    for w in &mut works {
        w.ms = Some(cs.rate.ms_of(w.frames) + 20);
    }
    let exact: HashMap<i64, i64> = works.iter().filter_map(|w| Some((w.id, w.ms?))).collect();
    let first = cs.config.first_day;
    let built = build(
        &cs,
        &BuildRequest {
            works: &works,
            feeds: &[],
            existing: &BTreeMap::new(),
            from: Some(first),
            now: None,
            locked: &BTreeSet::new(),
        },
    );
    let day = built.days.get(&first).expect("first day built");
    let mut runs = 0;
    let mut longest = 0;
    let mut i = 0;
    while i < day.items.len() {
        // A run: whole works one after the other.
        let mut j = i;
        while j < day.items.len()
            && day.items[j].kind == ItemKind::Work
            && !day.items[j].cut
            && (j == i || day.items[j].start == day.items[j - 1].end(cs.rate))
        {
            j += 1;
        }
        if j - i >= 2 {
            runs += 1;
            longest = longest.max(j - i);
            let frames: u64 = day.items[i..j].iter().map(|it| it.frames).sum();
            let ms: i64 = day.items[i..j]
                .iter()
                .map(|it| exact[&it.work_id.expect("a work")])
                .sum();
            // |frames × 40 − ms| ≤ 20 at 25 fps.
            let off = (cs.rate.ms_of(frames) - ms).abs();
            assert!(off <= 20, "run {i}..{j}: {frames} frames for {ms} ms");
            let whole: Vec<i64> = day.items[i..j]
                .iter()
                .map(|it| it.frames as i64 - cs.rate.frames_in_ms(exact[&it.work_id.expect("w")]))
                .collect();
            assert!(
                whole.contains(&1),
                "some works take the carried frame: {whole:?}"
            );
        }
        i = j.max(i + 1);
    }
    assert!(runs > 0 && longest >= 3, "{runs} runs, longest {longest}");
}

#[test]
fn the_end_of_a_block_is_packed_two_works_ahead() {
    use super::builder::Packing;
    let min = |m: u64| m * 60 * 25;
    // Eligible works of 20, 25, 25 and 40 minutes; waste counted in 5 s steps.
    let pack = Packing::new([min(40), min(25), min(20), min(25)].into_iter(), 125);
    // 45 min left after a work: 20 + 25 fill it exactly.
    assert_eq!(pack.waste(min(45), None), 0);
    // 50 min: the two works of 25 (two works of that length exist).
    assert_eq!(pack.waste(min(50), None), 0);
    // The work just placed is not counted again: after one of the 25s, 50 min takes the other
    // 25 + 20 and leaves 5 min (60 steps).
    assert_eq!(pack.waste(min(50), Some(min(25))), 60);
    // 19 min: nothing fits, all of it is slate (228 steps of 5 s).
    assert_eq!(pack.waste(min(19), None), 228);
    // 41 min: 40 leaves one minute (12 steps), better than 20 + 20 (only one 20 exists).
    assert_eq!(pack.waste(min(41), None), 12);
    // Less than one step, or two of the longest and more, counts as filled.
    assert_eq!(pack.waste(124, None), 0);
    assert_eq!(pack.waste(min(80), None), 0);
}
