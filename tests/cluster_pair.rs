//! The production pair, end to end: a main and a backup `kepu-playout serve` on one real
//! PostgreSQL, each pushing to its own real nginx-rtmp receiver. The backup starts late, in
//! the middle of an item. Judged at the receivers by ffmpeg: both recordings continuous and
//! showing the same items with the same lengths; from the as-run rows of both nodes: the
//! same items on the same frames (±1 frame). An edit saved on the backup is in the main's
//! cues within 1 s (LISTEN/NOTIFY), and on both nodes' air. Certificates count an airing
//! of both nodes once.

mod cluster_common;
mod serve_common;

use std::time::{Duration, Instant};

use chrono::Utc;
use cluster_common::fault::{ci, runs};
use cluster_common::*;
use serde_json::{Value, json};
use serve_common::rundown_common::t;
use serve_common::*;
use testkit::palette;
use testkit::{NginxRtmp, probe};

fn airings(v: &Value) -> Vec<Value> {
    v["airings"]
        .as_array()
        .cloned()
        .or_else(|| v.as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn two_nodes_on_one_postgres_play_the_same_frames_and_share_edits_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let colours = [
        palette::RED,
        palette::GREEN,
        palette::BLUE,
        palette::YELLOW,
        palette::WHITE,
    ];
    let names = ["甲", "乙", "丙", "丁", "新"];
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
    let Some(world) = rt.block_on(pg_world(dir, "kepu_pair", works)) else {
        return;
    };
    let w = |i: usize| world.works[i].clone();
    let t0 = t("2026-09-01T20:00:00+08:00");
    let date = "2026-09-01".parse().expect("date");
    let day = day_with(date, t0, (0..4).map(|i| item_of(&w(i))).collect());
    let days = kepu_playout::rundown_db::DbDayStore::new(world.catalog.store().clone());
    rt.block_on(days.save_async(&day, "test", "test day", Utc::now()))
        .expect("save day");

    let mut rx_main = NginxRtmp::start().expect("nginx main");
    let mut rx_backup = NginxRtmp::start().expect("nginx backup");
    let offset = offset_for(t0, Duration::from_secs(10));
    let (cfg_main, addr_main) = node_config(&world, "main", "main", &rx_main.url(), offset);
    let (cfg_backup, addr_backup) =
        node_config(&world, "backup", "backup", &rx_backup.url(), offset);
    let mut main = Daemon::start(&cfg_main, addr_main, log_of(&world, "main"));
    // The backup starts late: in the middle of 甲.
    sleep_until_programme(t0 + chrono::Duration::milliseconds(2000), offset);
    let mut backup = Daemon::start(&cfg_backup, addr_backup, log_of(&world, "backup"));
    let op = world.operator.clone();

    // 乙 on air. An edit saved on the backup: 新 before 丁 (items: slate, 甲, 乙, 丙, 丁, slate).
    sleep_until_programme(t0 + chrono::Duration::milliseconds(6500), offset);
    let r = backup.post(
        "/api/v1/rundown/days/2026-09-01/edits",
        &op,
        json!({"edit": {"op": "insert", "work_id": w(4).id, "before": 4}, "reason": "备机插播"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let saved = Instant::now();
    let latency = loop {
        let cues = main.get("/api/v1/air/cues", &op).json();
        let has = cues
            .as_array()
            .or_else(|| cues["cues"].as_array())
            .is_some_and(|c| c.iter().any(|c| c["title"] == "新"));
        if has {
            break saved.elapsed();
        }
        assert!(
            saved.elapsed() < Duration::from_secs(5),
            "the backup's edit never reached the main: {cues}\n{}",
            main.log_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    eprintln!(
        "edit on the backup → main's cues: {} ms",
        latency.as_millis()
    );
    assert!(
        latency < Duration::from_secs(1),
        "the edit took {latency:?} to reach the main"
    );
    assert!(
        main.log_text()
            .contains("rundown changed (announced by the database)"),
        "the main did not hear the notification:\n{}",
        main.log_text()
    );

    // 甲 乙 丙 新 丁 = 25 s, then the slate.
    sleep_until_programme(t0 + chrono::Duration::milliseconds(25_000 + 1500), offset);
    let asrun = main.get("/api/v1/asrun?day=2026-09-01", &op).json();
    let cert = main
        .get(&format!("/api/v1/certificates?work={}", w(1).id), &op)
        .json();
    let health = main.get("/healthz", &op).json();
    // Exactly one node holds the once-only jobs' lease.
    let leader = |d: &Daemon, node: &str, role: &str| -> bool {
        let m = testkit::http::request(d.addr, "GET", "/metrics", None, None)
            .expect("scrape")
            .body;
        let series = format!("kepu_node_leader{{node=\"{node}\",role=\"{role}\"}} ");
        let line = m
            .lines()
            .find(|l| l.starts_with(&series))
            .unwrap_or_else(|| panic!("no {series}in\n{m}"));
        line.ends_with(" 1")
    };
    let leaders = [
        leader(&main, "main", "main"),
        leader(&backup, "backup", "backup"),
    ];
    assert_eq!(
        leaders.iter().filter(|l| **l).count(),
        1,
        "one leader of the pair: {leaders:?}"
    );
    for (d, who) in [(&mut main, "main"), (&mut backup, "backup")] {
        let st = d.terminate();
        assert!(st.success(), "{who} clean stop: {st}\n{}", d.log_text());
    }
    let mut recs = Vec::new();
    for (rx, who) in [(&mut rx_main, "main"), (&mut rx_backup, "backup")] {
        rx.wait_idle(Duration::from_secs(15))
            .expect("receiver idle");
        rx.stop().expect("stop nginx");
        let rec = rx.recording_path().expect("recording");
        probe::packets(&rec)
            .expect("packets")
            .assert_house_continuous(who);
        recs.push(rec);
    }

    // The receivers: the main shows every item whole; the backup joined 甲 late and shows
    // the rest whole — the same items with the same lengths.
    let (m, mt) = runs(&recs[0]);
    let (b, bt) = runs(&recs[1]);
    eprintln!("main:   {mt}\nbackup: {bt}");
    let whole = [
        (ci(palette::GREEN), 125),
        (ci(palette::BLUE), 125),
        (ci(palette::WHITE), 125),
        (ci(palette::YELLOW), 125),
    ];
    assert_eq!(
        m.first().copied(),
        Some((ci(palette::RED), 125)),
        "main: {mt}"
    );
    assert_eq!(m[1..5], whole, "main: {mt}");
    assert_eq!(b[0].0, ci(palette::RED), "backup joins during 甲: {bt}");
    let joined = b[0].1;
    assert!(
        (1..125).contains(&joined),
        "the backup joined mid-甲 ({joined} frames of it): {bt}"
    );
    assert_eq!(b[1..5], whole, "backup: {bt}");

    // The as-run rows of both nodes: the same items on the same frames (±1 frame = 40 ms).
    let rows = airings(&asrun);
    let first = |node: &str, title: &str| -> Option<(i64, i64)> {
        rows.iter()
            .find(|r| r["node"] == node && r["title"] == title)
            .map(|r| {
                (
                    r["first_frame_ms"].as_i64().unwrap_or(-1),
                    r["frames"].as_i64().unwrap_or(-1),
                )
            })
    };
    for title in ["乙", "丙", "新", "丁"] {
        let (fm, nm) = first("main", title).unwrap_or_else(|| panic!("main {title}: {asrun}"));
        let (fb, nb) = first("backup", title).unwrap_or_else(|| panic!("backup {title}: {asrun}"));
        assert!(
            (fm - fb).abs() <= 40,
            "{title}: main at {fm}, backup at {fb}: more than one frame apart"
        );
        assert_eq!((nm, nb), (125, 125), "{title}: {asrun}");
    }
    // The backup's 甲: started where the programme was, and as long as its receiver saw.
    let (fm, _) = first("main", "甲").expect("main 甲");
    let (fb, nb) = first("backup", "甲").expect("backup 甲");
    assert!(fb > fm, "the backup joined after the main started 甲");
    assert!(
        (fb + nb * 40 - (fm + 125 * 40)).abs() <= 40,
        "the backup's 甲 ends on the main's frame: {fb}+{nb} vs {fm}+125"
    );
    assert!(
        (nb - joined as i64).abs() <= 1,
        "as-run {nb} frames vs {joined} at the receiver"
    );

    // Certificates count the airing of both nodes once.
    let certs = cert["certificates"]
        .as_array()
        .cloned()
        .or_else(|| cert.as_array().cloned())
        .unwrap_or_default();
    assert_eq!(certs.len(), 1, "{cert}");
    assert_eq!(certs[0]["airing_count"], 1, "{cert}");
    assert_eq!(health["node"], "main", "{health}");
    assert_eq!(health["role"], "main", "{health}");
}
