//! The daemon on air, end to end: `kepu-playout serve` plays a day from the database to a
//! real nginx-rtmp receiver while the test edits it through the REST API; the recording is
//! judged by ffmpeg (every frame's colour, timestamps, audio) — never by the daemon.

mod serve_common;

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use serve_common::rundown_common::t;
use serve_common::*;
use testkit::palette::{self, Colour};
use testkit::{NginxRtmp, probe};

const PALETTE: [Colour; 8] = palette::ALL;

fn colour_index(c: Colour) -> Option<usize> {
    PALETTE.iter().position(|p| *p == c)
}

/// Runs (colour, frames) from the first run of `first` on, up to the first run not in
/// `palette_stop` (the slate after the last item).
fn runs_from(rec: &std::path::Path, first: Colour) -> (Vec<(Option<usize>, usize)>, String) {
    let frames = probe::frame_colours(rec).expect("colours");
    let runs = probe::colour_runs(&frames, &PALETTE);
    let text = probe::describe_colour_runs(&runs, &PALETTE);
    eprintln!("recording: {text}");
    let start = runs
        .iter()
        .position(|r| r.colour == colour_index(first))
        .unwrap_or_else(|| panic!("no {} in the recording: {text}", first.name));
    (
        runs[start..].iter().map(|r| (r.colour, r.frames)).collect(),
        text,
    )
}

#[test]
fn edits_through_the_api_land_on_the_right_frames_at_the_receiver() {
    let dir = tempfile::tempdir().expect("tempdir");
    let colours = [
        palette::RED,
        palette::GREEN,
        palette::BLUE,
        palette::YELLOW,
        palette::MAGENTA,
        palette::CYAN,
        palette::WHITE,
    ];
    let names = ["甲", "乙", "丙", "丁", "戊", "己", "新"];
    let works: Vec<_> = colours
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (c, n))| {
            let path = clip(dir.path(), *c, 400.0 + 300.0 * i as f64, 125);
            work(n, &path, 125)
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, works));
    let w = |i: usize| world.works[i].clone();
    let t0 = t("2026-09-01T20:00:00+08:00");
    let day = day_with(
        "2026-09-01".parse().expect("date"),
        t0,
        (0..6).map(|i| item_of(&w(i))).collect(),
    );
    rt.block_on(world.save(&day));

    let mut rx = NginxRtmp::start().expect("nginx");
    let offset = offset_for(t0, Duration::from_secs(12));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    let mut d = Daemon::start(&cfg, addr, world.dir.path().join("serve.log"));
    let op = world.operator.clone();
    let path = "/api/v1/rundown/days/2026-09-01/edits";

    sleep_until_programme(t0 + chrono::Duration::seconds(1), offset);
    // 甲 is on air. Items: [slate, 甲, 乙, 丙, 丁, 戊, 己, slate].
    let r = d.post(
        path,
        &op,
        json!({"edit": {"op": "insert", "work_id": w(6).id, "before": 3}, "reason": "插播新作品"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // [slate, 甲, 乙, 新, 丙, 丁, 戊, 己, slate]: move 戊 before 丁.
    let r = d.post(
        path,
        &op,
        json!({"edit": {"op": "move", "from": 6, "before": 5}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // [slate, 甲, 乙, 新, 丙, 戊, 丁, 己, slate]: remove 己, trim 丙 to 2 s.
    let r = d.post(path, &op, json!({"edit": {"op": "remove", "index": 7}}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d.post(
        path,
        &op,
        json!({"edit": {"op": "trim", "index": 4, "frames": 50}, "reason": "压缩时长"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let titles: Vec<String> = r.json()["day"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        titles[1..7],
        ["甲", "乙", "新", "丙", "戊", "丁"],
        "{titles:?}"
    );

    // Bad input while on air: refused with a clear 4xx, nothing changed.
    let before = d.get("/api/v1/rundown/days/2026-09-01", &op).json()["version"]["version"].clone();
    let bad = [
        (
            json!({"edit": {"op": "insert", "work_id": 999_999, "before": 3}}),
            Some(op.as_str()),
            404,
        ),
        // 20:00:30 is inside 丁: an insert there would overlap it.
        (
            json!({"edit": {"op": "insert", "work_id": w(6).id, "at": "2026-09-01T20:00:31+08:00"}}),
            Some(op.as_str()),
            409,
        ),
        // The item already aired.
        (
            json!({"edit": {"op": "remove", "index": 0}}),
            Some(op.as_str()),
            409,
        ),
        (
            json!({"edit": {"op": "remove", "index": 3}}),
            Some(world.partner.as_str()),
            403,
        ),
        (json!({"edit": {"op": "remove", "index": 3}}), None, 401),
    ];
    for (body, token, status) in bad {
        let r = testkit::http::json(addr, "POST", path, token, &body).expect("request");
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert!(r.json()["error"]["message"].is_string(), "{}", r.body);
    }
    let r = testkit::http::request(addr, "POST", path, Some(&op), Some(b"{\"edit\": {"))
        .expect("request");
    assert_eq!(r.status, 400, "{}", r.body);
    let after = d.get("/api/v1/rundown/days/2026-09-01", &op).json()["version"]["version"].clone();
    assert_eq!(before, after, "refused edits change nothing");

    // Skip 乙 two seconds into it.
    sleep_until_programme(t0 + chrono::Duration::seconds(7), offset);
    let r = d.post("/api/v1/air/skip", &op, json!({"reason": "信号测试"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let skip = r.json();
    let b_frames = skip["day"]["items"][2]["frames"].as_u64().expect("frames");
    assert!(
        (40..=90).contains(&b_frames),
        "乙 ends about 3 s in: {b_frames}"
    );
    let air = d.get("/api/v1/air", &op).json();
    assert_eq!(air["on_air"]["title"], "乙", "{air}");
    assert!(air["next"]["title"] == "新", "{air}");

    // 甲 125 + 乙 + 新 125 + 丙 50 + 戊 125 + 丁 125, then the slate.
    let end = t0
        + chrono::Duration::milliseconds(
            40 * (125 + b_frames as i64 + 125 + 50 + 125 + 125) + 1500,
        );
    sleep_until_programme(end, offset);
    let asrun = d.get("/api/v1/asrun?day=2026-09-01", &op).json();
    let history = d.get(path, &op).json();
    let metrics = testkit::http::request(addr, "GET", "/metrics", None, None)
        .expect("scrape")
        .body;
    assert!(
        metrics.contains("kepu_destination_up{destination=\"rx\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("kepu_asrun_rows_total"), "{metrics}");
    assert!(metrics.contains("kepu_frames_dropped_total 0"), "{metrics}");
    assert!(
        !metrics.contains(rx.stream_key()),
        "no stream key in metrics"
    );
    let st = d.terminate();
    assert!(st.success(), "clean stop: {st}\n{}", d.log_text());
    rx.wait_idle(Duration::from_secs(15))
        .expect("receiver idle");
    rx.stop().expect("stop nginx");
    let rec = rx.recording_path().expect("recording");
    probe::packets(&rec)
        .expect("packets")
        .assert_house_continuous("receiver");
    let (runs, text) = runs_from(&rec, palette::RED);
    let want = [
        (palette::RED, 125),
        (palette::GREEN, b_frames as usize),
        (palette::WHITE, 125),
        (palette::BLUE, 50),
        (palette::MAGENTA, 125),
        (palette::YELLOW, 125),
    ];
    for (i, (c, n)) in want.iter().enumerate() {
        assert_eq!(
            runs.get(i).copied(),
            Some((colour_index(*c), *n)),
            "run {i} should be {}×{n}: {text}",
            c.name
        );
    }

    // The as-run log has every airing with the version it came from; the history has every
    // edit with who did it.
    let rows = asrun["airings"]
        .as_array()
        .cloned()
        .or_else(|| asrun.as_array().cloned())
        .expect("rows");
    let aired: Vec<&str> = rows
        .iter()
        .filter(|r| r["work_id"].is_i64())
        .map(|r| r["title"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(aired, ["甲", "乙", "新", "丙", "戊", "丁"], "{asrun}");
    let edits = history["edits"].as_array().expect("edits");
    assert_eq!(edits.len(), 5, "{history}");
    assert!(edits.iter().all(|e| e["author"] == "op"), "{history}");
    assert_eq!(edits[3]["reason"], "压缩时长");
    assert!(d.log_text().contains("serving on"), "{}", d.log_text());
}

/// Reads `path`'s as-run rows.
fn airings(v: &Value) -> Vec<Value> {
    v["airings"]
        .as_array()
        .cloned()
        .or_else(|| v.as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn a_day_boundary_is_crossed_on_air_without_a_seam() {
    let dir = tempfile::tempdir().expect("tempdir");
    let specs = [
        (palette::RED, "夜一"),
        (palette::GREEN, "夜二"),
        (palette::BLUE, "晨一"),
        (palette::YELLOW, "晨二"),
    ];
    let works: Vec<_> = specs
        .iter()
        .enumerate()
        .map(|(i, (c, n))| work(n, &clip(dir.path(), *c, 500.0 + 400.0 * i as f64, 100), 100))
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, works));
    let w = |i: usize| world.works[i].clone();
    // 夜一 and 夜二 close 1 September; 晨一 and 晨二 open the 2nd.
    let midnight = t("2026-09-02T00:00:00+08:00");
    let d1 = day_with(
        "2026-09-01".parse().expect("date"),
        midnight - chrono::Duration::seconds(8),
        vec![item_of(&w(0)), item_of(&w(1))],
    );
    let d2 = day_with(
        "2026-09-02".parse().expect("date"),
        midnight,
        vec![item_of(&w(2)), item_of(&w(3))],
    );
    rt.block_on(world.save(&d1));
    rt.block_on(world.save(&d2));
    let mut rx = NginxRtmp::start().expect("nginx");
    // Programme time 23:59:52 (夜一's start) comes 9 s after the daemon is launched.
    let offset = offset_for(
        midnight - chrono::Duration::seconds(8),
        Duration::from_secs(9),
    );
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    let mut d = Daemon::start(&cfg, addr, world.dir.path().join("serve.log"));
    sleep_until_programme(midnight + chrono::Duration::seconds(9), offset);
    let op = world.operator.clone();
    let air = d.get("/api/v1/air", &op).json();
    let a1 = airings(&d.get("/api/v1/asrun?day=2026-09-01", &op).json());
    let a2 = airings(&d.get("/api/v1/asrun?day=2026-09-02", &op).json());
    let st = d.terminate();
    assert!(st.success(), "{}", d.log_text());
    rx.wait_idle(Duration::from_secs(15)).expect("idle");
    rx.stop().expect("stop");
    let rec = rx.recording_path().expect("recording");
    probe::packets(&rec)
        .expect("packets")
        .assert_house_continuous("receiver");
    let (runs, text) = runs_from(&rec, palette::RED);
    for (i, c) in [palette::RED, palette::GREEN, palette::BLUE, palette::YELLOW]
        .iter()
        .enumerate()
    {
        assert_eq!(
            runs.get(i).copied(),
            Some((colour_index(*c), 100)),
            "run {i}: {text}"
        );
    }
    assert!(
        air["days"].to_string().contains("2026-09-02"),
        "the second day is in view: {air}"
    );
    let titles = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .filter(|r| r["work_id"].is_i64())
            .map(|r| r["title"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(titles(&a1), ["夜一", "夜二"], "{a1:?}");
    assert_eq!(titles(&a2), ["晨一", "晨二"], "{a2:?}");
    // 晨一's first frame is midnight to the frame.
    let first = a2
        .iter()
        .find(|r| r["title"] == "晨一")
        .and_then(|r| r["first_frame_ms"].as_i64())
        .expect("first frame");
    // Frames sit on the programme clock's grid, so midnight is a frame boundary exactly.
    assert_eq!(
        first,
        midnight.timestamp_millis(),
        "晨一 started {} ms from midnight",
        first - midnight.timestamp_millis()
    );
}

#[test]
fn after_kill_9_the_restart_resumes_the_item_at_the_right_offset_and_the_log_keeps_every_airing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secs = seconds_clip(dir.path());
    let red = clip(dir.path(), palette::RED, 900.0, 125);
    let works = vec![work("二十秒", &secs, 500), work("红", &red, 125)];
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, works));
    let t0 = t("2026-09-10T15:00:00+08:00");
    let day = day_with(
        "2026-09-10".parse().expect("date"),
        t0,
        vec![item_of(&world.works[0]), item_of(&world.works[1])],
    );
    rt.block_on(world.save(&day));
    let mut rx = NginxRtmp::start().expect("nginx");
    let offset = offset_for(t0, Duration::from_secs(9));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    let log = |n: u32| world.dir.path().join(format!("serve-{n}.log"));
    let mut d1 = Daemon::start(&cfg, addr, log(1));
    sleep_until_programme(t0 + chrono::Duration::seconds(8), offset);
    d1.kill9();
    let killed_at = Utc::now() + chrono::Duration::milliseconds(offset);
    let mut d2 = Daemon::start(&cfg, addr, log(2));
    sleep_until_programme(t0 + chrono::Duration::seconds(26), offset);
    let op = world.operator.clone();
    let rows = airings(&d2.get("/api/v1/asrun?day=2026-09-10", &op).json());
    let st = d2.terminate();
    assert!(st.success(), "{}", d2.log_text());
    rx.wait_idle(Duration::from_secs(15)).expect("idle");
    rx.stop().expect("stop");

    // The log: the first airing of 二十秒 closed as interrupted, from T0 to the frame; then
    // the resumed airing, then 红.
    let x: Vec<&Value> = rows.iter().filter(|r| r["title"] == "二十秒").collect();
    assert_eq!(x.len(), 2, "{rows:?}");
    assert_eq!(x[0]["end_reason"], "interrupted", "{rows:?}");
    let first = x[0]["first_frame_ms"].as_i64().expect("first frame");
    assert!((first - t0.timestamp_millis()).abs() <= 40, "{first}");
    let resumed_ms = x[1]["first_frame_ms"].as_i64().expect("resumed") - t0.timestamp_millis();
    assert!(
        resumed_ms > (killed_at - t0).num_milliseconds() && resumed_ms < 20_000,
        "resumed {resumed_ms} ms into the item, killed at {} ms",
        (killed_at - t0).num_milliseconds()
    );
    assert_eq!(x[1]["end_reason"], "complete", "{rows:?}");
    let red_row = rows.iter().find(|r| r["title"] == "红").expect("红 aired");
    assert!(
        (red_row["first_frame_ms"].as_i64().expect("ms") - t0.timestamp_millis() - 20_000).abs()
            <= 40
    );

    // The picture after the restart: 二十秒 shows the second it should (±1 s), runs to its
    // end, and 红 follows on its frame.
    let recs = rx.recordings().expect("recordings");
    assert_eq!(recs.len(), 2, "one recording per run: {recs:?}");
    let frames = probe::frame_colours(&recs[1]).expect("colours");
    let grey = |f: &probe::FrameColour| {
        let [r, g, b] = f.rgb;
        r.abs_diff(g) < 12 && g.abs_diff(b) < 12 && g > 20
    };
    let first_grey = frames
        .iter()
        .find(|f| grey(f))
        .expect("二十秒 after the restart");
    let shown = second_of(first_grey.rgb);
    eprintln!(
        "killed {} ms into the item; resumed at {resumed_ms} ms; the picture shows second {shown}",
        (killed_at - t0).num_milliseconds()
    );
    assert!(
        (shown * 1000 - resumed_ms).abs() <= 1000,
        "the picture shows second {shown}, the log says {resumed_ms} ms in"
    );
    let last_grey = frames.iter().rev().find(|f| grey(f)).expect("grey");
    assert_eq!(second_of(last_grey.rgb), 19, "played to its end");
    probe::packets(&recs[1])
        .expect("packets")
        .assert_house_continuous("receiver after the restart");
    let runs = probe::colour_runs(&frames, &[palette::RED]);
    assert!(
        runs.iter().any(|r| r.colour == Some(0) && r.frames == 125),
        "红 whole: {}",
        probe::describe_colour_runs(&runs, &[palette::RED])
    );
}
