//! The engine supervised, end to end: `kepu-playout serve` on air to a real nginx-rtmp
//! receiver, a fault drill kills the engine's encoder (or its clock thread) through the API,
//! and the daemon must notice within a second, say so as an alarm, and — with the in-process
//! restart on — put the programme back at the receiver at the right offset within 3 s, the
//! outage on the as-run record. With the restart off, systemd's watchdog contract: the
//! process stops sending `WATCHDOG=1` once frames stop, so systemd restarts it.

mod serve_common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use serve_common::rundown_common::t;
use serve_common::*;
use testkit::{NginxRtmp, palette, probe};

fn with_air_settings(cfg: &std::path::Path, extra: &str) {
    // `[air]` is the config's last table: its keys can be appended.
    let mut text = std::fs::read_to_string(cfg).expect("config");
    text.push_str(extra);
    std::fs::write(cfg, text).expect("config");
}

fn engine_alarm(d: &Daemon, token: &str) -> Option<Value> {
    let v = d.get("/api/v1/alarms", token).json();
    v["alarms"]
        .as_array()?
        .iter()
        .find(|a| a["kind"] == "engine_stalled")
        .cloned()
}

#[test]
fn a_dead_encoder_is_alarmed_within_a_second_and_the_programme_returns_at_the_right_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secs = seconds_clip(dir.path());
    let red = clip(dir.path(), palette::RED, 900.0, 125);
    let works = vec![work("二十秒", &secs, 500), work("红", &red, 125)];
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, works));
    let t0 = t("2026-09-12T15:00:00+08:00");
    let day = day_with(
        "2026-09-12".parse().expect("date"),
        t0,
        vec![item_of(&world.works[0]), item_of(&world.works[1])],
    );
    rt.block_on(world.save(&day));
    let mut rx = NginxRtmp::start().expect("nginx");
    let offset = offset_for(t0, Duration::from_secs(9));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    with_air_settings(&cfg, "fault_drills = true\n");
    let d = Daemon::start(&cfg, addr, world.dir.path().join("serve.log"));

    // A partner and an operator may not drill; an administrator may.
    let body = json!({ "fault": "kill_encoder" });
    assert_eq!(
        d.post("/api/v1/air/fault", &world.partner, body.clone())
            .status,
        403
    );
    assert_eq!(
        d.post("/api/v1/air/fault", &world.operator, body.clone())
            .status,
        403
    );

    sleep_until_programme(t0 + chrono::Duration::seconds(8), offset);
    let fault_at = Utc::now() + chrono::Duration::milliseconds(offset);
    let r = d.post("/api/v1/air/fault", &world.admin, body);
    assert_eq!(r.status, 200, "{}", r.body);

    // The alarm: raised within a second of the fault, visible through the API.
    let deadline = Instant::now() + Duration::from_secs(5);
    let alarm = loop {
        if let Some(a) = engine_alarm(&d, &world.operator) {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "no engine alarm:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let raised: DateTime<Utc> = alarm["raised_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("raised_at");
    let alarm_ms = (raised - fault_at).num_milliseconds();
    eprintln!("engine alarm raised {alarm_ms} ms after the fault: {alarm}");
    assert!(alarm_ms <= 1000, "alarm {alarm_ms} ms after the fault");

    sleep_until_programme(t0 + chrono::Duration::seconds(26), offset);
    let op = world.operator.clone();
    let v = d.get("/api/v1/asrun?day=2026-09-12", &op).json();
    let rows = v["airings"]
        .as_array()
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_default();
    let metrics = d.get("/metrics", &op).body;
    let alarm_after = engine_alarm(&d, &op).expect("the alarm stays listed until acknowledged");
    let mut d = d;
    let st = d.terminate();
    let log = d.log_text();
    assert!(st.success(), "{log}");
    rx.wait_idle(Duration::from_secs(15)).expect("idle");
    rx.stop().expect("stop");

    assert!(
        !alarm_after["cleared_at"].is_null(),
        "the alarm cleared once frames flowed again: {alarm_after}"
    );
    assert!(
        metrics.contains("kepu_engine_restarts_total 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("kepu_engine"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The record: 二十秒 ends where frames stopped (engine_failed), resumes as a new airing
    // within 3 s of the fault, runs to its end; 红 follows on its frame.
    let x: Vec<&Value> = rows.iter().filter(|r| r["title"] == "二十秒").collect();
    assert_eq!(x.len(), 2, "{rows:?}");
    assert_eq!(x[0]["end_reason"], "engine_failed", "{rows:?}");
    let fault_ms = (fault_at - t0).num_milliseconds();
    let resumed_ms = x[1]["first_frame_ms"].as_i64().expect("resumed") - t0.timestamp_millis();
    eprintln!("fault {fault_ms} ms into the item; back on air {resumed_ms} ms into it");
    assert!(
        resumed_ms > fault_ms && resumed_ms - fault_ms <= 3000,
        "back {} ms after the fault\n{log}",
        resumed_ms - fault_ms
    );
    assert_eq!(x[1]["end_reason"], "complete", "{rows:?}");
    let red_row = rows.iter().find(|r| r["title"] == "红").expect("红 aired");
    assert!(
        (red_row["first_frame_ms"].as_i64().expect("ms") - t0.timestamp_millis() - 20_000).abs()
            <= 40,
        "{red_row}"
    );

    // The picture at the receiver after the restart shows the second the record says (±1 s).
    let recs = rx.recordings().expect("recordings");
    assert_eq!(recs.len(), 2, "one recording per engine: {recs:?}");
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
    assert!(
        (shown * 1000 - resumed_ms).abs() <= 1000,
        "the picture shows second {shown}, the log says {resumed_ms} ms in"
    );
    let runs = probe::colour_runs(&frames, &[palette::RED]);
    assert!(
        runs.iter().any(|r| r.colour == Some(0) && r.frames == 125),
        "红 whole: {}",
        probe::describe_colour_runs(&runs, &[palette::RED])
    );
}

#[test]
fn with_the_restart_off_the_watchdog_stops_hearing_from_a_dead_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let red = clip(dir.path(), palette::RED, 900.0, 250);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, vec![work("红", &red, 250)]));
    let t0 = t("2026-09-13T10:00:00+08:00");
    let day = day_with(
        "2026-09-13".parse().expect("date"),
        t0,
        vec![item_of(&world.works[0])],
    );
    rt.block_on(world.save(&day));
    let mut rx = NginxRtmp::start().expect("nginx");
    let offset = offset_for(t0, Duration::from_secs(3));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    with_air_settings(&cfg, "fault_drills = true\nrestart_engine = false\n");
    let sock_path = world.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut d = Daemon::start_with_env(
        &cfg,
        addr,
        world.dir.path().join("serve.log"),
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().expect("utf-8 path")),
            // systemd's WatchdogSec=1: a ping is due every 500 ms.
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    // Every datagram with the instant it arrived.
    let listen = |until: Instant| {
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while Instant::now() < until {
            if let Ok(n) = sock.recv(&mut buf) {
                got.push((
                    Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).to_string(),
                ));
            }
        }
        got
    };
    let before = listen(Instant::now() + Duration::from_secs(3));
    let pings = before
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .count();
    assert!(pings >= 3, "systemd is fed while frames flow: {before:?}");

    let r = d.post(
        "/api/v1/air/fault",
        &world.admin,
        json!({ "fault": "stop_clock" }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let fault = Instant::now();
    let after = listen(fault + Duration::from_secs(4));
    // At most one ping already on its way when the clock stopped; none a second later.
    let late: Vec<_> = after
        .iter()
        .filter(|(at, m)| m.contains("WATCHDOG=1") && *at > fault + Duration::from_secs(1))
        .collect();
    assert!(late.is_empty(), "pings after the engine died: {after:?}");
    let alarm = engine_alarm(&d, &world.operator).expect("the engine alarm");
    assert!(
        alarm["message"]
            .as_str()
            .unwrap_or_default()
            .contains("时钟"),
        "{alarm}"
    );
    assert!(alarm["cleared_at"].is_null(), "not restarted: {alarm}");
    let st = d.terminate();
    assert!(st.success(), "{}", d.log_text());
    rx.stop().expect("stop");
}
