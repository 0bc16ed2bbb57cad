//! A node with an RTMP ingest (`[ingest]`) restarted while its PostgreSQL is away: it starts
//! (before, reading the stream keys was fatal) with the key digests it kept in its state
//! directory, so a partner publishing with a valid key is accepted and on air, and a key
//! revoked before the database went away stays refused. The database is a server of the
//! test's own, stopped for real (`pg_ctl stop`); the programme is judged at a real
//! nginx-rtmp receiver by ffmpeg.

mod cluster_common;
mod serve_common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cluster_common::{fault, *};
use kepu_playout::rundown::{DayItem, ItemKind};
use serde_json::json;
use serve_common::*;
use sha2::{Digest, Sha256};
use testkit::palette;
use testkit::{FfmpegSender, NginxRtmp};

fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_node_with_an_ingest_starts_while_its_database_is_away_and_knows_its_keys() {
    let Some(pg) = TestPostgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let after = clip(dir.path(), palette::BLUE, 500.0, 125);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let w = rt.block_on(pg_world_on(
        &pg.url(),
        dir,
        "kepu_ingest",
        vec![work("blue0", &after, 125)],
    ));
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-09-01T20:00:00+08:00")
        .expect("instant")
        .with_timezone(&Utc);
    let offset = offset_for(t0, Duration::from_secs(10));
    let mut rx = NginxRtmp::start().expect("nginx");
    let (cfg, addr) = node_config(&w, "main", "main", &rx.url(), offset);
    let ingest_port = testkit::ports::free_tcp_port().expect("port");
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!(
        "\n[ingest]\nlisten = \"127.0.0.1:{ingest_port}\"\n"
    ));
    std::fs::write(&cfg, text).expect("config");
    let state = cfg.parent().expect("node dir").join("state");
    let level = "kepu_playout=info,playout=warn";
    let op = w.operator.clone();

    // With the database: the feed, two keys for the partner, one of them revoked.
    let mut d = start_node(&cfg, addr, &log_of(&w, "main"), level);
    let r = d.post(
        "/api/v1/rundown/feeds",
        &op,
        json!({"title": "望远镜直播", "url": "ingest://scope-1", "unit_id": w.works[0].unit_id,
               "window": {"kind": "daily", "start": "20:00", "end": "21:00"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let feed_id = r.json()["id"].as_i64().expect("feed id");
    let key = |note: &str| {
        let r = d.post(
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
        addr,
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
    // The day: the feed's window from t0 for ten minutes.
    let live = DayItem {
        kind: ItemKind::Live,
        work_id: None,
        feed_id: Some(feed_id),
        frames: 15_000,
        title: "望远镜直播".into(),
        source: "ingest://scope-1".into(),
        ..item_of(&w.works[0])
    };
    let day = day_with("2026-09-01".parse().expect("date"), t0, vec![live]);
    let days = kepu_playout::rundown_db::DbDayStore::new(w.catalog.store().clone());
    rt.block_on(days.save_async(&day, "test", "ingest day", Utc::now()))
        .expect("save day");
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
    let st = d.terminate();
    assert!(st.success(), "clean stop: {st}\n{}", d.log_text());

    // The database goes away; the node is started again.
    pg.stop();
    let log = w.dir.path().join("main").join("serve-2.log");
    let started = Instant::now();
    let mut d = start_node(&cfg, addr, &log, level);
    eprintln!(
        "started with the database away in {} ms",
        started.elapsed().as_millis()
    );
    let said = d.log_text();
    assert!(
        said.contains("推流密钥暂无法从数据库读取") && said.contains("缓存的 1 个有效密钥"),
        "the node says where its keys come from:\n{said}"
    );

    // The revoked key is refused.
    let ingest = |k: &str| format!("rtmp://127.0.0.1:{ingest_port}/live/{k}");
    let mut refused = FfmpegSender::start(palette::RED, 30, "flv", &ingest(&gone), &[])
        .expect("ffmpeg publisher");
    wait_for("the revoked key refused", Duration::from_secs(20), || {
        d.log_text()
            .contains("RTMP ingest: unknown or revoked stream key refused")
    });
    assert!(
        refused.wait_exit(Duration::from_secs(15)).expect("wait"),
        "the publisher with a revoked key is turned away:\n{}",
        refused.log()
    );

    // The valid key is accepted: the partner's picture is on air.
    let mut publisher = FfmpegSender::start(palette::GREEN, 60, "flv", &ingest(&good), &[])
        .expect("ffmpeg publisher");
    let live_after = wait_for("the feed live on air", Duration::from_secs(30), || {
        let m = testkit::http::request(addr, "GET", "/metrics", None, None)
            .map(|r| r.body)
            .unwrap_or_default();
        m.lines().any(|l| {
            l.starts_with("kepu_live_source_up{") && l.contains("scope-1") && l.ends_with(" 1")
        })
    });
    eprintln!(
        "the valid key's feed live {} ms after it began publishing",
        live_after.as_millis()
    );
    // Eight more seconds of it on air (5 s of green judged below).
    std::thread::sleep(Duration::from_secs(8));
    let h = d.get("/healthz", "");
    assert_eq!(h.status, 200, "{}", h.body);
    assert!(
        h.json()["rundown_error"].is_string(),
        "the database was away all along: {}",
        h.body
    );
    let st = d.terminate();
    assert!(st.success(), "clean stop: {st}\n{}", d.log_text());
    let _ = publisher.stop();
    rx.wait_idle(Duration::from_secs(15)).expect("idle");
    rx.stop().expect("stop");
    let recs = rx.recordings().expect("recordings");
    let last = recs.last().expect("a recording of the second run");
    let (runs, text) = fault::runs(last);
    eprintln!("on air after the restart: {text}");
    assert!(
        runs.iter()
            .any(|(c, n)| *c == fault::ci(palette::GREEN) && *n >= 125),
        "the partner's green on air for 5 s or more: {text}"
    );
    assert!(
        runs.iter().all(|(c, _)| *c != fault::ci(palette::RED)),
        "nothing of the refused publisher on air: {text}"
    );
}
