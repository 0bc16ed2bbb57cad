//! A whole day and a midnight on the simulated clock, through the controller that airs:
//! an edit, an engine that dies mid-item and is restarted, and the wall clock stepping
//! +2 s and −2 s. The as-run log must equal the cues frame for frame.

use super::*;
use crate::asrun::{Airing, AsRunQuery};
use crate::rundown::time::day_bounds;
use crate::rundown::{Day, DayItem, ItemKind};
use crate::store::Store;
use chrono::NaiveDate;
use std::time::Duration;

const RATE: FrameRate = FrameRate { num: 25, den: 1 };
/// Item lengths cycled through the day (frames): 30 min, 25 min, 35 min 17 s, 20 min 0.4 s.
const LENGTHS: [u64; 4] = [45_000, 37_500, 52_925, 30_010];

fn item(i: usize, frames: u64) -> DayItem {
    DayItem {
        start: DateTime::<Utc>::MIN_UTC,
        frames,
        in_frames: 0,
        kind: ItemKind::Work,
        work_id: Some(i as i64 + 1),
        feed_id: None,
        title: format!("作品{i}"),
        source: format!("/media/w{i}.mp4"),
        section: "悦科普".into(),
        block: "测试".into(),
        unit: "测试科技馆".into(),
        unit_id: Some(1),
        copyright_holder: "测试科技馆".into(),
        categories: vec![2],
        premiere: false,
        pinned: false,
        cut: false,
    }
}

/// `items` back to back from midnight; the slate fills the rest of the day exactly.
fn day(date: &str, items: Vec<DayItem>) -> Day {
    let date: NaiveDate = date.parse().expect("date");
    let (start, end) = day_bounds(chrono_tz::Asia::Shanghai, date);
    let total = RATE.frames_between(start, end) as u64;
    let mut at = 0;
    let mut out = Vec::new();
    for mut it in items {
        let frames = it.frames.min(total - at);
        if frames == 0 {
            break;
        }
        it.frames = frames;
        it.start = RATE.add(start, at);
        at += frames;
        out.push(it);
    }
    if at < total {
        let mut s = item(999, total - at);
        s.kind = ItemKind::Slate;
        s.work_id = None;
        s.title = "节目即将开始".into();
        s.source = String::new();
        s.start = RATE.add(start, at);
        out.push(s);
    }
    Day {
        date,
        edition: "2026".into(),
        time_zone: "Asia/Shanghai".into(),
        rate: RATE,
        start,
        end,
        items: out,
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_an_edit_a_restart_clock_steps_and_midnight_airs_frame_for_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("sim.db").display().to_string())
        .await
        .expect("store");
    let days = DbDayStore::new(store.clone());
    let asrun = AsRunLog::new(store.clone());
    let d1: Vec<DayItem> = (0..60).map(|i| item(i, LENGTHS[i % 4])).collect();
    let day1 = day("2027-09-01", d1.clone());
    let day2 = day(
        "2027-09-02",
        (60..64).map(|i| item(i, LENGTHS[i % 4])).collect(),
    );
    days.save_async(&day1, "builder", "sim", Utc::now())
        .await
        .expect("save");
    days.save_async(&day2, "builder", "sim", Utc::now())
        .await
        .expect("save");
    // Every source exists and is long enough, but one: 作品7 airs the slate for its slot.
    let media: SimMedia = Arc::new(|uri: &str| (!uri.ends_with("/w7.mp4")).then_some(60_000));
    let settings = AirSettings {
        lookahead: Duration::from_secs(600),
        edit_lead: Duration::from_secs(1),
        poll: Duration::from_secs(60),
        db_timeout: Duration::from_secs(5),
        restart_engine: true,
        fault_drills: true,
        loudness: None,
    };
    let start = t("2027-08-31T23:59:00+08:00");
    let mut sim = Simulation::start(days.clone(), asrun.clone(), RATE, start, media, settings)
        .expect("simulation");
    let wall_started = std::time::Instant::now();

    // 03:00:10 — an edit: 作品20 (later today) is trimmed by 1,000 frames, the rest of the
    // day moves up 1,000 frames, the slate at the end grows.
    sim.run_until(t("2027-09-01T03:00:10+08:00")).await;
    let mut edited = d1.clone();
    edited[20].frames -= 1_000;
    let day1_v2 = day("2027-09-01", edited);
    assert_eq!(
        day1_v2.items[..20],
        day1.items[..20],
        "the past is untouched"
    );
    days.save_async(&day1_v2, "op", "trim 作品20", sim.now())
        .await
        .expect("edit");
    sim.recue();

    // 08:00:05.3 — the engine's clock thread dies mid-item; the controller restarts it.
    sim.run_until(t("2027-09-01T08:00:05.3+08:00")).await;
    sim.fault(playout::Fault::StopClock);
    let fault_ms = ms(sim.now());
    sim.run_until(t("2027-09-01T08:00:10+08:00")).await;
    assert_eq!(sim.restarts(), 1, "restarted once");
    let alarm = sim
        .alarms()
        .into_iter()
        .find(|a| a.kind == crate::air::alarms::AlarmKind::EngineStalled)
        .expect("engine alarm");
    assert!(
        ms(alarm.raised_at) - fault_ms <= 1_000,
        "alarm {} ms after the fault",
        ms(alarm.raised_at) - fault_ms
    );
    assert!(alarm.cleared_at.is_some(), "cleared once frames flow again");

    // 12:00:00.7 the wall clock steps 2 s ahead; 16:00:00.5 it steps 2 s back.
    sim.run_until(t("2027-09-01T12:00:00.7+08:00")).await;
    sim.step_wall(2_000_000_000);
    sim.run_until(t("2027-09-01T16:00:00.5+08:00")).await;
    sim.step_wall(-2_000_000_000);

    // Across midnight into the next day.
    sim.run_until(t("2027-09-02T01:00:00+08:00")).await;
    sim.finish().await;
    let elapsed = wall_started.elapsed();
    eprintln!(
        "a day and an hour simulated in {:.1} s",
        elapsed.as_secs_f64()
    );

    let mut rows: Vec<Airing> = Vec::new();
    for d in ["2027-08-31", "2027-09-01", "2027-09-02"] {
        rows.extend(
            asrun
                .query(&AsRunQuery {
                    day: Some(d.into()),
                    ..AsRunQuery::default()
                })
                .await
                .expect("as-run"),
        );
    }
    rows.sort_by_key(|r| r.first_frame_ms);
    // Every item of the final rundown that began before 01:00 on day 2, frame for frame.
    let cutoff = t("2027-09-02T01:00:00+08:00");
    let planned: Vec<&DayItem> = day1_v2
        .items
        .iter()
        .chain(&day2.items)
        .filter(|i| i.start < cutoff)
        .collect();
    let mut restarted = 0;
    for it in &planned {
        let mine: Vec<&Airing> = rows
            .iter()
            .filter(|r| r.planned_start_ms == Some(ms(it.start)))
            .collect();
        assert!(
            !mine.is_empty(),
            "{} at {} did not air: {rows:#?}",
            it.title,
            it.start
        );
        assert_eq!(
            mine[0].first_frame_ms,
            ms(it.start),
            "{} starts on its frame",
            it.title
        );
        let end = RATE.add(it.start, it.frames);
        let last = mine[mine.len() - 1];
        if end <= cutoff {
            assert_eq!(
                last.last_frame_ms,
                Some(ms(end) - 40),
                "{} ends on its frame: {mine:#?}",
                it.title
            );
        }
        if mine.len() == 2 {
            // The item the engine died in: the first airing ends where frames stopped, the
            // second resumes within 2 s and plays to the item's end.
            restarted += 1;
            assert_eq!(
                mine[0].end_reason.as_deref(),
                Some("engine_failed"),
                "{mine:#?}"
            );
            let stopped = mine[0].last_frame_ms.expect("closed");
            assert!(
                (stopped - fault_ms).abs() <= 240,
                "stopped at {stopped}, fault {fault_ms}"
            );
            let gap = mine[1].first_frame_ms - stopped;
            assert!(gap > 0 && gap <= 2_000, "outage {gap} ms");
            let played: i64 = mine.iter().filter_map(|r| r.frames).sum();
            let outage = RATE.frames_between(
                DateTime::from_timestamp_millis(stopped).expect("ms"),
                DateTime::from_timestamp_millis(mine[1].first_frame_ms).expect("ms"),
            ) - 1;
            assert_eq!(played + outage, it.frames as i64, "{mine:#?}");
        } else if end <= cutoff {
            assert_eq!(mine.len(), 1, "{mine:#?}");
            assert_eq!(
                mine[0].frames,
                Some(it.frames as i64),
                "{}: {mine:#?}",
                it.title
            );
            let missing = it.source.ends_with("/w7.mp4");
            assert_eq!(
                mine[0].fallbacks.is_empty(),
                !missing,
                "only the missing file airs the slate: {mine:#?}"
            );
        }
    }
    assert_eq!(restarted, 1, "exactly one item was split by the restart");
    assert_eq!(
        rows.iter()
            .filter(|r| r.first_frame_ms >= ms(t("2027-09-01T00:00:00+08:00")))
            .count(),
        planned.len() + 1,
        "no airing but the planned ones (and the resumed one)"
    );
}

/// Issue 13, fault 7: ten 1.1 s clips (27.5 frames each at 25 fps) and an item pinned 11 s
/// after the first. Their lengths carried to whole frames (28, 27, 28 …,
/// [`crate::rundown::time::carried_frames`]) take 275 frames, so the pinned item starts on
/// its second and the tenth clip airs whole; rounded one by one (28 each) the run would
/// have taken 280 frames and the pin cut the tenth clip to 23.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_clips_with_the_remainder_carried_airs_whole_up_to_a_pin() {
    use crate::rundown::time::carried_frames;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("sim.db").display().to_string())
        .await
        .expect("store");
    let days = DbDayStore::new(store.clone());
    let asrun = AsRunLog::new(store.clone());
    let frames: Vec<u64> = carried_frames(RATE, [1100i64; 10]).collect();
    let per_item_rounded: u64 = 10 * 28;
    assert!(
        per_item_rounded > 275,
        "rounding one by one overruns the pin"
    );
    let mut items: Vec<DayItem> = frames
        .iter()
        .enumerate()
        .map(|(i, &f)| item(i, f))
        .collect();
    // The pinned item: 2 s.
    let mut pinned = item(10, 50);
    pinned.pinned = true;
    items.push(pinned);
    let date = "2027-09-01";
    let mut day1 = day(date, Vec::new());
    let midnight = day1.start;
    // 20:00 Shanghai: the run, then the slate to midnight.
    let run_start = t("2027-09-01T20:00:00+08:00");
    let mut at = RATE.frames_between(midnight, run_start) as u64;
    let mut laid = vec![];
    let mut lead = item(998, at);
    lead.kind = ItemKind::Slate;
    lead.work_id = None;
    lead.source = String::new();
    lead.start = midnight;
    laid.push(lead);
    for mut it in items {
        it.start = RATE.add(midnight, at);
        at += it.frames;
        laid.push(it);
    }
    let total = RATE.frames_between(midnight, day1.end) as u64;
    let mut rest = item(999, total - at);
    rest.kind = ItemKind::Slate;
    rest.work_id = None;
    rest.source = String::new();
    rest.start = RATE.add(midnight, at);
    laid.push(rest);
    day1.items = laid;
    let pin_at = day1.items[11].start;
    assert_eq!(pin_at, run_start + chrono::Duration::seconds(11));
    days.save_async(&day1, "builder", "sim", Utc::now())
        .await
        .expect("save");
    // Each clip file holds 28 frames (1.1 s rounded up by its encoder).
    let media: SimMedia = Arc::new(|uri: &str| uri.contains("/media/w").then_some(28));
    let settings = AirSettings {
        lookahead: Duration::from_secs(600),
        edit_lead: Duration::from_secs(1),
        poll: Duration::from_secs(60),
        db_timeout: Duration::from_secs(5),
        restart_engine: true,
        fault_drills: false,
        loudness: None,
    };
    let mut sim = Simulation::start(
        days.clone(),
        asrun.clone(),
        RATE,
        t("2027-09-01T19:59:50+08:00"),
        media,
        settings,
    )
    .expect("simulation");
    sim.run_until(t("2027-09-01T20:00:20+08:00")).await;
    sim.finish().await;
    let mut rows = asrun
        .query(&AsRunQuery {
            day: Some(date.into()),
            ..AsRunQuery::default()
        })
        .await
        .expect("as-run");
    rows.sort_by_key(|r| r.first_frame_ms);
    for (i, it) in day1.items[1..=11].iter().enumerate() {
        let r = rows
            .iter()
            .find(|r| r.planned_start_ms == Some(ms(it.start)))
            .unwrap_or_else(|| panic!("{} aired: {rows:#?}", it.title));
        assert_eq!(r.first_frame_ms, ms(it.start), "{} on its frame", it.title);
        if i < 10 {
            assert_eq!(r.frames, Some(it.frames as i64), "{}: {r:#?}", it.title);
            assert_eq!(r.end_reason.as_deref(), Some("complete"), "{r:#?}");
            assert!(r.fallbacks.is_empty(), "{r:#?}");
        }
    }
    let tenth = rows
        .iter()
        .find(|r| r.planned_start_ms == Some(ms(day1.items[10].start)))
        .expect("tenth");
    // 27 whole frames of its 27.5: within half a frame of its length, not cut by the pin.
    assert_eq!(tenth.frames, Some(27), "{tenth:#?}");
    assert_eq!(tenth.last_frame_ms, Some(ms(pin_at) - 40), "{tenth:#?}");
}

/// A node started while its database is away plays from the rundown cache its previous
/// process kept — the feed's backup clip included: the live item's cue names the backup
/// (not the slate), as it did before the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_with_the_database_away_cues_the_feeds_backup_from_its_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let store = Store::open(&dir.path().join("sim.db").display().to_string())
        .await
        .expect("store");
    let days = DbDayStore::new(store.clone());
    let asrun = AsRunLog::new(store.clone());
    let mut live = item(0, 45_000);
    live.kind = ItemKind::Live;
    live.work_id = None;
    live.feed_id = Some(7);
    live.title = "星空望远镜".into();
    live.source = "rtsp://cam.example/telescope".into();
    let d = day("2027-09-01", vec![item(1, 1_500), live]);
    let backup = "/media/星空延时.mp4".to_string();
    // What the previous process kept: the day and the feed's backup.
    let cached = super::super::Cached {
        days: vec![(3, d)],
        measured: Default::default(),
        backups: std::collections::HashMap::from([(7, backup.clone())]),
    };
    super::super::write_cache(&state.join(crate::air::RUNDOWN_CACHE), &cached).expect("cache");
    // The database away: every read fails.
    store.pool().close().await;
    let media: SimMedia = Arc::new(|_: &str| Some(60_000));
    let settings = AirSettings {
        lookahead: Duration::from_secs(600),
        edit_lead: Duration::from_secs(1),
        poll: Duration::from_secs(2),
        db_timeout: Duration::from_secs(5),
        restart_engine: false,
        fault_drills: false,
        loudness: None,
    };
    let start = t("2027-09-01T00:00:30+08:00");
    let mut sim = Simulation::start_in(
        days,
        asrun,
        RATE,
        start,
        media,
        settings,
        Some(state.clone()),
    )
    .expect("simulation");
    sim.run_until(t("2027-09-01T00:00:40+08:00")).await;
    assert!(
        sim.ctl.state.rundown_error.is_some(),
        "the database is away"
    );
    let cues = sim.cues_seen();
    let live = cues
        .iter()
        .find(|(c, _)| c.source == "rtsp://cam.example/telescope")
        .map(|(c, _)| c)
        .expect("the live item is cued from the cache");
    assert_eq!(live.backup.as_deref(), Some(backup.as_str()), "{live:?}");
    // Not finished in order: the writer would wait out its last chance on the closed pool.
    drop(sim);
}
