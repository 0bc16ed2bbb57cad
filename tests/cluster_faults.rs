//! The fault suite (`./run.sh faults`; also part of `./run.sh test`): each fault against the
//! real daemons of the production pair on a real PostgreSQL of the test's own, judged at real
//! nginx-rtmp receivers by ffmpeg and in the database. Each writes its section of the report
//! (`target/faults/NAME.md`; `./run.sh faults` joins them in `target/faults/report.md`).
//!
//! - kill -9 of the main mid-item: the backup's recording stays continuous and whole; the
//!   main, restarted, joins at the right frame; its cut airing is closed, the backup's rows
//!   are untouched;
//! - PostgreSQL stopped for 30 s and started again: both nodes keep playing, the as-run log
//!   is complete with nothing doubled, and an edit after the return is on both within 1 s;
//! - a destination down and up: the node reconnects and goes on, the other node unaffected;
//! - the log disk full: a node whose every log write fails keeps playing and stops cleanly;
//! - the wall clock stepped +2 s and back (−2 s) on air (the injected clock's drill): the
//!   output stays continuous and the programme is back on the wall-clock grid.
//! - kill -9 during a database outage, restarted while the database is still away: the
//!   node goes on air from its state directory (the days it read), its as-run journal
//!   replays the rows of the outage when the database is back — each airing exactly once,
//!   the one cut by the kill closed `interrupted`.
//! - a node with an RTMP ingest restarted while PostgreSQL is away: it starts from the key
//!   digests it kept in its state directory; a key revoked before the outage is refused, a
//!   partner publishing with a valid key is on air.
//!
//! The set-up every fault shares (its PostgreSQL, the works and the day, nodes with their
//! receivers on the programme clock) and the judges are in `cluster_common::fault`: each
//! fault here says only what it does to the pair and what it expects.

mod cluster_common;
mod serve_common;

use std::time::{Duration, Instant};

use cluster_common::fault::*;
use cluster_common::*;
use serde_json::json;
use serve_common::*;
use testkit::FfmpegSender;
use testkit::palette::{self, Colour};

#[test]
fn kill_9_of_the_main_mid_item_leaves_the_backup_continuous() {
    let mut report = Report::new("1-kill9", "kill -9 of the main node mid-item");
    let Some(s) = setup("kepu_f_kill", 6) else {
        return;
    };
    let (mut m, mut b) = (s.node("main"), s.node("backup"));
    let mut main = m.start();
    let mut backup = b.start();
    s.until(7500);
    main.kill9();
    report.line("main killed with SIGKILL at t0+7.5 s (in the middle of the 2nd item)");
    s.until(12_000);
    let mut main = m.start();
    report.line("main restarted at t0+12 s");
    s.until(31_500);
    stop_all(
        &mut [(&mut main, "main"), (&mut backup, "backup")],
        &mut report,
    );

    let rec_b = b.recording();
    let bad = discontinuities(&rec_b);
    let (rb, tb) = runs(&rec_b);
    report.line(format!("backup's recording: {tb}"));
    assert!(bad.is_empty(), "backup's recording not continuous: {bad:?}");
    assert_eq!(rb, whole(&CYCLE), "backup: {tb}");
    report.line(
        "backup's recording continuous (video frame steps exact, audio gapless), all 6 items whole",
    );
    let recs = m.recordings();
    report.line(format!(
        "main's receiver: {} recording(s) (one before the kill, one after)",
        recs.len()
    ));
    let last = recs.last().expect("a recording after the restart");
    let (rm, tm) = runs(last);
    report.line(format!("main's recording after the restart: {tm}"));
    assert_eq!(
        rm[0].0,
        ci(CYCLE[2]),
        "main rejoins during the 3rd item: {tm}"
    );
    assert_eq!(rm[1..], whole(&CYCLE[3..]), "main after its restart: {tm}");

    let rows = asrun_rows(&s);
    let b = of_node(&rows, "backup");
    assert_eq!(b.len(), 6, "{b:?}");
    assert!(
        b.iter()
            .all(|r| r.end_reason.as_deref() == Some("complete") && r.frames == Some(125)),
        "the backup's rows are whole and untouched by the main's restart: {b:?}"
    );
    let m = of_node(&rows, "main");
    let reasons: Vec<_> = m
        .iter()
        .map(|r| r.end_reason.clone().unwrap_or_default())
        .collect();
    report.line(format!("main's as-run: {reasons:?}"));
    assert_eq!(
        reasons,
        [
            "complete",
            "interrupted",
            "complete",
            "complete",
            "complete",
            "complete"
        ],
        "{m:?}"
    );
    for i in 3..6 {
        let d = (m[i].first_frame_ms - b[i].first_frame_ms).abs();
        assert!(d <= 40, "item {i}: main and backup {d} ms apart");
    }
    report.line("as-run: backup 6 airings complete; main's cut airing closed `interrupted` at its restart, the resumed and later ones complete; items 4–6 on the same frames on both nodes (±1 frame)");
    report.survived();
}

#[test]
fn postgres_away_for_30_s_both_keep_playing_and_catch_up() {
    let mut report = Report::new(
        "2-postgres",
        "PostgreSQL stopped for 30 s and started again",
    );
    let Some(s) = setup("kepu_f_pg", 12) else {
        return;
    };
    let (mut m, mut b) = (s.node("main"), s.node("backup"));
    let mut main = m.start();
    let mut backup = b.start();
    s.until(4000);
    let down = Instant::now();
    s.pg.stop();
    report.line("PostgreSQL stopped (pg_ctl -m fast) at t0+4 s");
    s.until(20_000);
    let h = main.get("/healthz", "");
    report.line(format!(
        "main's /healthz during the outage: {} {}",
        h.status, h.body
    ));
    assert_eq!(
        h.status, 200,
        "the main stays healthy (on air) without its database"
    );
    let hj = h.json();
    assert!(hj["rundown_error"].is_string(), "{hj}");
    assert!(hj["asrun_pending"].as_u64().unwrap_or(0) > 0, "{hj}");
    let wait = Duration::from_secs(30).saturating_sub(down.elapsed());
    std::thread::sleep(wait);
    s.pg.start_again();
    report.line(format!(
        "PostgreSQL started again after {:.1} s",
        down.elapsed().as_secs_f64()
    ));
    // Both nodes agree again: an edit on the backup reaches the main within a second.
    s.until(40_000);
    let op = s.world.operator.clone();
    // Items: slate, 12 items, slate: insert white before the 11th item (t0+50 s).
    let r = backup.post(
        "/api/v1/rundown/days/2026-09-01/edits",
        &op,
        json!({"edit": {"op": "insert", "work_id": s.world.works[6].id, "before": 11}}),
    );
    assert_eq!(r.status, 200, "edit after the outage: {}", r.body);
    let saved = Instant::now();
    let latency = loop {
        let cues = main.get("/api/v1/air/cues", &op).json();
        if cues["cues"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["title"] == "white6"))
        {
            break saved.elapsed();
        }
        assert!(
            saved.elapsed() < Duration::from_secs(5),
            "no edit on the main: {cues}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    report.line(format!(
        "after the return: an edit saved on the backup was in the main's cues {} ms later",
        latency.as_millis()
    ));
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    // 12 items + the inserted one = 65 s.
    s.until(66_500);
    let pending = main.get("/healthz", "").json()["asrun_pending"].clone();
    report.line(format!(
        "main's as-run writes pending at the end: {pending}"
    ));
    stop_all(
        &mut [(&mut main, "main"), (&mut backup, "backup")],
        &mut report,
    );
    let tail = |d: &Daemon| {
        let t = d.log_text();
        let cut = t.len().saturating_sub(6000);
        t.get(cut..).unwrap_or_default().to_string()
    };
    let logs = [tail(&main), tail(&backup)];

    let mut want: Vec<Colour> = (0..12).map(|i| CYCLE[i % 6]).collect();
    want.insert(10, palette::WHITE);
    for (i, node) in [&mut m, &mut b].into_iter().enumerate() {
        let rec = node.recording();
        let who = node.name.clone();
        let bad = discontinuities(&rec);
        let (r, text) = runs(&rec);
        report.line(format!("{who}'s recording: {text}"));
        assert!(bad.is_empty(), "{who} not continuous: {bad:?}\n{}", logs[i]);
        assert_eq!(r, whole(&want), "{who}: {text}\n{}", logs[i]);
    }
    report.line("both recordings continuous, all 13 items whole, the outage invisible on air");
    let rows = asrun_rows(&s);
    for node in ["main", "backup"] {
        let n = of_node(&rows, node);
        let mut keys: Vec<_> = n.iter().map(|r| r.airing_key.clone()).collect();
        keys.dedup();
        assert_eq!(n.len(), 13, "{node}: {n:?}");
        assert_eq!(keys.len(), 13, "{node}: doubled rows: {n:?}");
        assert!(
            n.iter()
                .all(|r| r.end_reason.as_deref() == Some("complete") && r.frames == Some(125)),
            "{node}: {n:?}"
        );
    }
    report.line("as-run: 13 airings per node, each complete with 125 frames, none doubled (rows written during the outage caught up)");
    report.survived();
}

#[test]
fn a_destination_down_and_up() {
    let mut report = Report::new("3-destination", "a destination down for 5 s and up again");
    let Some(s) = setup("kepu_f_dest", 5) else {
        return;
    };
    let (mut m, mut b) = (s.node("main"), s.node("backup"));
    let mut main = m.start();
    let mut backup = b.start();
    s.until(6000);
    m.rx.restart(Duration::from_secs(5))
        .expect("receiver down and up");
    report.line("the main's receiver stopped at t0+6 s and started again 5 s later");
    let back = Instant::now();
    let reconnected = loop {
        let metrics = testkit::http::request(m.addr, "GET", "/metrics", None, None)
            .expect("metrics")
            .body;
        if metrics.contains("kepu_destination_up{destination=\"rx\"} 1")
            && m.rx.publish_count() >= 1
        {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "never reconnected:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    report.line(format!(
        "the main published again {} ms after its receiver was back",
        reconnected.as_millis()
    ));
    s.until(26_500);
    stop_all(
        &mut [(&mut main, "main"), (&mut backup, "backup")],
        &mut report,
    );
    let rec_b = b.recording();
    let (rb, tb) = runs(&rec_b);
    report.line(format!("backup's recording: {tb}"));
    assert!(discontinuities(&rec_b).is_empty(), "backup disturbed");
    assert_eq!(rb, whole(&CYCLE[..5]), "backup: {tb}");
    let rec_m = m.recording();
    let (rm, tm) = runs(&rec_m);
    report.line(format!(
        "main's recording after the receiver came back: {tm}"
    ));
    assert!(
        discontinuities(&rec_m).is_empty(),
        "main after reconnecting"
    );
    assert_eq!(
        rm[1..],
        whole(&CYCLE[3..5]),
        "main after reconnecting: {tm}"
    );
    let rows = asrun_rows(&s);
    for node in ["main", "backup"] {
        let n = of_node(&rows, node);
        assert_eq!(n.len(), 5, "{node}: {n:?}");
        assert!(
            n.iter()
                .all(|r| r.end_reason.as_deref() == Some("complete")),
            "{n:?}"
        );
    }
    report.line("the backup unaffected (continuous, whole); the main's programme went on (as-run complete on both nodes) and its destination resumed continuous");
    report.survived();
}

#[test]
fn a_full_log_disk_does_not_stop_the_programme() {
    let mut report = Report::new("4-logdisk", "the log disk full");
    let Some(s) = setup("kepu_f_disk", 3) else {
        return;
    };
    let mut m = s.node("main");
    // Every write to stdout and stderr fails with ENOSPC, and the log is chatty.
    let mut main = m.start_with(std::path::Path::new("/dev/full"), "debug", &[]);
    report.line(
        "main started with stdout and stderr on /dev/full (every write: ENOSPC), log level debug",
    );
    s.until(16_500);
    assert!(matches!(main.child.try_wait(), Ok(None)), "the node died");
    let h = main.get("/healthz", "");
    assert_eq!(h.status, 200, "{}", h.body);
    report.line(format!(
        "after 16 s on air: alive, /healthz {} {}",
        h.status, h.body
    ));
    let st = main.terminate();
    assert!(st.success(), "clean stop: {st}");
    report.line(format!("SIGTERM → clean exit ({st})"));
    let rec = m.recording();
    let (r, text) = runs(&rec);
    report.line(format!("recording: {text}"));
    assert!(discontinuities(&rec).is_empty(), "not continuous");
    assert_eq!(r, whole(&CYCLE[..3]), "{text}");
    let rows = asrun_rows(&s);
    assert_eq!(of_node(&rows, "main").len(), 3, "{rows:?}");
    report.line("recording continuous with the 3 items whole; as-run complete");
    report.survived();
}

#[test]
fn the_wall_clock_stepped_2_s_ahead_and_back() {
    let mut report = Report::new("5-clock", "the wall clock stepped +2 s and back −2 s");
    let Some(s) = setup("kepu_f_clock", 6) else {
        return;
    };
    let mut m = s.node("main");
    m.append_config("fault_drills = true\n");
    let step_file = s.world.dir.path().join("clock-step");
    let step_path = step_file.display().to_string();
    let mut main = m.start_with(
        &m.log,
        "kepu_playout=info,playout=info",
        &[("KEPU_DRILL_CLOCK_STEP_FILE", step_path.as_str())],
    );
    s.until(7500);
    std::fs::write(&step_file, "2000").expect("step");
    report.line("t0+7.5 s: the node's wall clock stepped 2 s ahead");
    // Programme time now runs 2 s ahead of the test's reckoning.
    sleep_until_programme(at(14_500), s.offset + 2000);
    std::fs::write(&step_file, "0").expect("step");
    report.line("t0+14.5 s: the node's wall clock stepped 2 s back");
    s.until(31_500);
    assert!(matches!(main.child.try_wait(), Ok(None)), "the node died");
    let log = main.log_text();
    let st = main.terminate();
    assert!(st.success(), "clean stop: {st}");
    let ahead = log.contains("wall clock stepped ahead");
    let back = log.contains("wall clock stepped back");
    report.line(format!(
        "the engine saw the steps: ahead {ahead}, back {back} (it drops programme frames on a step ahead and repeats frames on a step back)"
    ));
    assert!(ahead && back, "{log}");
    let rec = m.recording();
    let bad = discontinuities(&rec);
    let (r, text) = runs(&rec);
    report.line(format!("recording: {text}"));
    assert!(
        bad.is_empty(),
        "output not continuous across the steps: {bad:?}"
    );
    report.line("the output stayed continuous (video frame steps exact, audio gapless)");
    // After the steps the programme is back on the wall-clock grid: the last items whole.
    assert_eq!(r[r.len() - 3..], whole(&CYCLE[3..]), "{text}");
    let rows = asrun_rows(&s);
    let m = of_node(&rows, "main");
    report.line(format!(
        "as-run: {}",
        m.iter()
            .map(|r| format!(
                "{} {}f {}",
                r.title,
                r.frames.unwrap_or(-1),
                r.end_reason.clone().unwrap_or_default()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    assert_eq!(m.len(), 6, "{m:?}");
    for (i, r) in m.iter().enumerate().skip(3) {
        let planned = at(5000 * i as i64).timestamp_millis();
        assert!(
            (r.first_frame_ms - planned).abs() <= 40,
            "item {i} at {} instead of {planned}",
            r.first_frame_ms
        );
    }
    report.line("items 4–6 started on their planned frames (±1 frame) and played whole: the channel is back on time");
    report.survived();
}

#[test]
fn kill_9_while_postgres_is_away_loses_no_as_run_row() {
    let mut report = Report::new(
        "6-journal",
        "kill -9 during a PostgreSQL outage, restarted while it is still away",
    );
    let Some(s) = setup("kepu_f_journal", 6) else {
        return;
    };
    let mut m = s.node("main");
    let mut main = m.start();
    s.until(2000);
    s.pg.stop();
    report.line("PostgreSQL stopped at t0+2 s (during the 1st item, its start already stored)");
    s.until(11_000);
    let h = main.get("/healthz", "").json();
    let pending = h["asrun_pending"].as_u64().unwrap_or(0);
    report.line(format!(
        "t0+11 s (3rd item on air): as-run writes in the journal: {pending}"
    ));
    // The 1st item ended, the 2nd started and ended, the 3rd started: 4 writes.
    assert!(pending >= 4, "{h}");
    main.kill9();
    report.line("main killed with SIGKILL at t0+11 s (1 s into the 3rd item)");
    let mut main = m.start();
    let h = main.get("/healthz", "").json();
    report.line(format!(
        "restarted with the database still away: /healthz {h}"
    ));
    assert!(h["asrun_pending"].as_u64().unwrap_or(0) >= pending, "{h}");
    s.until(22_000);
    let h = main.get("/healthz", "").json();
    assert!(h["rundown_error"].is_string(), "the database is away: {h}");
    s.pg.start_again();
    report.line(format!(
        "PostgreSQL started again at t0+22 s; the node had {} as-run write(s) waiting",
        h["asrun_pending"]
    ));
    let back = Instant::now();
    let caught_up = loop {
        let h = main.get("/healthz", "").json();
        if h["asrun_pending"].as_u64() == Some(0) {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "the journal did not drain: {h}\n{}",
            main.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    report.line(format!(
        "the journal drained {} ms after the database was back",
        caught_up.as_millis()
    ));
    s.until(31_500);
    stop_all(&mut [(&mut main, "main")], &mut report);
    let recs = m.recordings();
    let last = recs.last().expect("a recording after the restart");
    let (r, text) = runs(last);
    report.line(format!("recording after the restart: {text}"));
    assert!(
        r.ends_with(&whole(&CYCLE[3..])),
        "the restarted node played the days it had read: {text}"
    );
    let rows = asrun_rows(&s);
    let m = of_node(&rows, "main");
    let got: Vec<(String, String, Option<i64>)> = m
        .iter()
        .map(|r| {
            (
                r.title.clone(),
                r.end_reason.clone().unwrap_or_default(),
                r.frames,
            )
        })
        .collect();
    report.line(format!("as-run: {got:?}"));
    let mut keys: Vec<_> = m.iter().map(|r| r.airing_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), m.len(), "doubled rows: {m:?}");
    let full = |title: &str| (title.to_string(), "complete".to_string(), Some(125));
    assert_eq!(got[..2], [full("red0"), full("green1")], "{got:?}");
    assert_eq!(
        (got[2].0.as_str(), got[2].1.as_str(), got[2].2),
        ("blue2", "interrupted", None),
        "the airing cut by kill -9 is closed as interrupted: {got:?}"
    );
    // The rest of the 3rd item when the restarted node joined in time, then 4–6 whole.
    let rest = if got.len() == 7 {
        assert_eq!(
            (got[3].0.as_str(), got[3].1.as_str()),
            ("blue2", "complete"),
            "{got:?}"
        );
        &got[4..]
    } else {
        &got[3..]
    };
    assert_eq!(
        rest,
        [full("yellow3"), full("magenta4"), full("cyan5")],
        "{got:?}"
    );
    report.line(
        "as-run: every airing of the outage exactly once (no key twice), the two items aired before the kill complete with 125 frames, the one cut by the kill closed `interrupted`, the ones after the restart complete",
    );
    report.survived();
}

fn sha256_hex(key: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_node_with_an_ingest_starts_while_postgres_is_away_and_knows_its_keys() {
    let mut report = Report::new(
        "7-ingest",
        "a node with an RTMP ingest restarted while PostgreSQL is away",
    );
    let Some(s) = setup("kepu_f_ingest", 0) else {
        return;
    };
    let mut m = s.node("main");
    let ingest_port = testkit::ports::free_tcp_port().expect("port");
    m.append_config(&format!(
        "\n[ingest]\nlisten = \"127.0.0.1:{ingest_port}\"\n"
    ));
    let state = m.cfg.parent().expect("node dir").join("state");
    let op = s.world.operator.clone();

    // With the database: the feed, two keys for the partner, one of them revoked.
    let mut main = m.start();
    let r = main.post(
        "/api/v1/rundown/feeds",
        &op,
        json!({"title": "望远镜直播", "url": "ingest://scope-1", "unit_id": s.world.works[0].unit_id,
               "window": {"kind": "daily", "start": "20:00", "end": "21:00"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let feed_id = r.json()["id"].as_i64().expect("feed id");
    let key = |note: &str| {
        let r = main.post(
            "/api/v1/feeds/keys",
            &op,
            json!({"feed": "scope-1", "note": note}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        (
            v["key"].as_str().expect("key").to_string(),
            v["id"].as_i64().expect("key id"),
        )
    };
    let (good, _) = key("天文台");
    let (gone, gone_id) = key("天文台（旧）");
    let r = testkit::http::request(
        m.addr,
        "DELETE",
        &format!("/api/v1/feeds/keys/{gone_id}"),
        Some(&op),
        None,
    )
    .expect("DELETE");
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    report.line("with the database: a feed ingest://scope-1, two keys issued, one revoked");
    // The day: the feed's window from t0 for ten minutes.
    s.save_day(vec![kepu_playout::rundown::DayItem {
        kind: kepu_playout::rundown::ItemKind::Live,
        work_id: None,
        feed_id: Some(feed_id),
        frames: 15_000,
        title: "望远镜直播".into(),
        source: "ingest://scope-1".into(),
        ..item_of(&s.world.works[0])
    }]);
    // The node keeps what it read: the day, and the valid keys' digests (never a key).
    let rundown_cache = state.join("rundown-cache.json");
    wait_for(
        "the day in the node's cache",
        Duration::from_secs(20),
        || std::fs::read_to_string(&rundown_cache).is_ok_and(|t| t.contains("ingest://scope-1")),
    );
    let keys_cache = std::fs::read_to_string(state.join("ingest-keys.json")).expect("key cache");
    assert!(keys_cache.contains(&sha256_hex(&good)), "{keys_cache}");
    assert!(
        !keys_cache.contains(&sha256_hex(&gone)),
        "the revoked key is out of the cache: {keys_cache}"
    );
    assert!(
        !keys_cache.contains(&good[3..]) && !keys_cache.contains(&gone[3..]),
        "a key in the cache: {keys_cache}"
    );
    report.line("state directory: the day cached, ingest-keys.json holds the valid key's SHA-256 only (not the revoked one's, no key)");
    stop_all(&mut [(&mut main, "main")], &mut report);

    // The database goes away; the node is started again.
    s.pg.stop();
    report.line("PostgreSQL stopped (pg_ctl -m fast)");
    let started = Instant::now();
    let mut main = m.start_with(&state.with_file_name("serve-2.log"), LEVEL, &[]);
    let said = main.log_text();
    assert!(
        said.contains("推流密钥暂无法从数据库读取") && said.contains("缓存的 1 个有效密钥"),
        "the node says where its keys come from:\n{said}"
    );
    report.line(format!(
        "restarted with the database away: healthy {} ms after its start, its ingest on the 1 cached key",
        started.elapsed().as_millis()
    ));

    // The revoked key is refused.
    let ingest = |k: &str| format!("rtmp://127.0.0.1:{ingest_port}/live/{k}");
    let mut refused = FfmpegSender::start(palette::RED, 30, "flv", &ingest(&gone), &[])
        .expect("ffmpeg publisher");
    wait_for("the revoked key refused", Duration::from_secs(20), || {
        main.log_text()
            .contains("RTMP ingest: unknown or revoked stream key refused")
    });
    assert!(
        refused.wait_exit(Duration::from_secs(15)).expect("wait"),
        "the publisher with a revoked key is turned away:\n{}",
        refused.log()
    );
    report.line(
        "a publisher with the key revoked before the outage: refused, its ffmpeg turned away",
    );

    // The valid key is accepted: the partner's picture is on air.
    let mut publisher = FfmpegSender::start(palette::GREEN, 60, "flv", &ingest(&good), &[])
        .expect("ffmpeg publisher");
    let live_after = wait_for("the feed live on air", Duration::from_secs(30), || {
        let metrics = testkit::http::request(m.addr, "GET", "/metrics", None, None)
            .map(|r| r.body)
            .unwrap_or_default();
        metrics.lines().any(|l| {
            l.starts_with("kepu_live_source_up{") && l.contains("scope-1") && l.ends_with(" 1")
        })
    });
    report.line(format!(
        "a publisher with the valid key: live on air {} ms after it began",
        live_after.as_millis()
    ));
    // Eight more seconds of it on air (5 s of green judged below).
    std::thread::sleep(Duration::from_secs(8));
    let h = main.get("/healthz", "");
    assert_eq!(h.status, 200, "{}", h.body);
    assert!(
        h.json()["rundown_error"].is_string(),
        "the database was away all along: {}",
        h.body
    );
    stop_all(&mut [(&mut main, "main")], &mut report);
    let _ = publisher.stop();
    let recs = m.recordings();
    let last = recs.last().expect("a recording of the second run");
    let (runs, text) = runs(last);
    report.line(format!("recording after the restart: {text}"));
    assert!(
        runs.iter()
            .any(|(c, n)| *c == ci(palette::GREEN) && *n >= 125),
        "the partner's green on air for 5 s or more: {text}"
    );
    assert!(
        runs.iter().all(|(c, _)| *c != ci(palette::RED)),
        "nothing of the refused publisher on air: {text}"
    );
    report.line("the valid key's picture on air, nothing of the revoked key's");
    report.survived();
}
