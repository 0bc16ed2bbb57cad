//! The dashboard's 数据反馈 page and the public player in Debian's Chromium
//! (`tests/browser/feedback.mjs`, playwright-core): the daemon's app on a real socket with
//! two units' relay channels, an airing on air now, and a live HLS stream written by ffmpeg
//! where the engine's preview would be. The operator's chart moves as figures arrive; a
//! viewer of `/watch` (hls.js) is counted and uncounted within the idle window; the upload
//! form lists every row error; the partner sees only its own channel and figures.
//! Screenshots go to `target/artefacts/feedback/`. Without Chromium, node or the node modules
//! the test says so and passes, except under `CI`.

#[path = "browser_common/mod.rs"]
mod browser_common;

mod auth_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_common::{json, world};
use axum::http::StatusCode;
use kepu_playout::asrun::NewAiring;
use kepu_playout::asrun::recorder::ItemInfo;
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::feedback::FeedbackOptions;
use kepu_playout::feedback::hls::SessionOptions;
use kepu_playout::web::{AppState, Services, app_with};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_and_partner_watch_the_feedback_charts_move_in_chromium() {
    if !browser_common::browser_ready("feedback", &["ffmpeg"]) {
        return;
    }
    let w = world().await;
    let mut ids = Vec::new();
    for (unit, platform, account) in [
        (w.units[0], "bilibili", "深海所B站"),
        (w.units[1], "douyin", "科技馆抖音"),
    ] {
        let (s, c) = json(
            &w.app,
            "POST",
            "/api/v1/feedback/channels",
            Some(&w.operator),
            Some(json!({"unit_id": unit, "platform": platform, "account_name": account})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        ids.push(c["channel"]["id"].as_i64().expect("id"));
    }
    // Something on air now, so the chart marks it.
    let now = kepu_playout::store::now_ms();
    let since_midnight_s = (now / 1000 + 8 * 3600).rem_euclid(86_400);
    let min_minutes_today = since_midnight_s.min(120) / 60;
    w.asrun
        .record_start(&NewAiring {
            key: format!("x@{now}"),
            info: ItemInfo {
                item_id: "x".into(),
                work_id: Some(w.works[0]),
                unit_id: Some(w.units[0]),
                title: "作品0".into(),
                source: "a.mp4".into(),
                planned_start_ms: Some(now - 120_000),
                rundown_day: None,
                rundown_version: None,
                gain_mdb: None,
            },
            first_frame_ms: now - 120_000,
        })
        .await
        .expect("on air");

    let hls = w.dir.path().join("hls");
    std::fs::create_dir_all(&hls).expect("hls dir");
    let _writer = browser_common::Proc(
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                "-re",
                "-f",
                "lavfi",
            ])
            .args(["-i", "testsrc2=size=320x180:rate=25"])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "25",
            ])
            .args([
                "-pix_fmt",
                "yuv420p",
                "-f",
                "hls",
                "-hls_time",
                "1",
                "-hls_list_size",
                "6",
            ])
            .args(["-hls_flags", "delete_segments", "-hls_segment_filename"])
            .arg(hls.join("seg%05d.ts"))
            .arg(hls.join("live.m3u8"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg writer"),
    );
    let app = app_with(
        AppState {
            catalog: w.catalog.clone(),
            probe: ProbeOptions::default(),
        },
        Services {
            accounts: w.accounts.clone(),
            asrun: w.asrun.clone(),
            metrics: w.metrics.clone(),
            air: None,
            preview_dir: Some(hls.clone()),
            ingest_keys: None,
            uploads: None,
        },
        FeedbackOptions {
            public_hls: true,
            sessions: SessionOptions {
                idle: Duration::from_secs(3),
                ..SessionOptions::default()
            },
            sample_every: Duration::from_millis(250),
            pollers: Vec::new(),
            ..FeedbackOptions::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artefacts/feedback");
    std::fs::create_dir_all(&shots).expect("artefacts dir");
    let out_path = w.dir.path().join("browser.log");
    let out = std::fs::File::create(&out_path).expect("browser log");
    let mut node = Command::new("node")
        .arg(browser_common::browser_dir().join("feedback.mjs"))
        .current_dir(browser_common::browser_dir())
        .env("KEPU_BASE_URL", format!("http://{addr}"))
        .env("KEPU_OP_USER", "op")
        .env("KEPU_PARTNER_USER", "partner")
        .env("KEPU_PASSWORD", "一个足够长的密码 pw")
        .env("KEPU_OWN_CHANNEL", ids[0].to_string())
        .env("KEPU_OTHER_ACCOUNT", "科技馆抖音")
        .env("KEPU_OTHER_WORK", w.works[1].to_string())
        .env("KEPU_SHOTS_DIR", &shots)
        // The page counts today (Asia/Shanghai): an airing begun 2 minutes ago has fewer of
        // them today just after midnight.
        .env("KEPU_MIN_MINUTES", min_minutes_today.to_string())
        .stdout(Stdio::from(out.try_clone().expect("log")))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("node starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(st) = node.try_wait().expect("node status") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            let _ = node.wait();
            panic!(
                "the browser script did not finish in time:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let log = std::fs::read_to_string(&out_path).unwrap_or_default();
    println!("{log}");
    assert!(status.success(), "browser script failed ({status}):\n{log}");
    assert!(log.contains("feedback browser test: ok"), "{log}");
    server.abort();
}
