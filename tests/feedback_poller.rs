//! A poller against a real HTTP server on loopback (axum on port 0) that serves JSON stats,
//! then fails (HTTP 500), then drops a mapped field, then recovers: figures of source
//! `poller` are stored while it works, its status says running / retrying and why (the
//! status code, the missing JSON pointer) through the API and `/metrics`, and a partner sees
//! only the pollers of its own channels.

mod auth_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use auth_common::{json, world};
use axum::http::StatusCode;
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::feedback::FeedbackOptions;
use kepu_playout::feedback::model::Kind;
use kepu_playout::feedback::poller::PollerConfig;
use kepu_playout::web::{AppState, Services, app_with};
use serde_json::{Value, json};

/// 0: good stats; 1: HTTP 500; 2: a mapped field missing.
async fn stats(mode: Arc<AtomicU8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match mode.load(Ordering::SeqCst) {
        0 => axum::Json(json!({"code": 0, "data": {"online": 42, "like": "1000"}})).into_response(),
        1 => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        _ => axum::Json(json!({"code": 0, "data": {"like": "1000"}})).into_response(),
    }
}

async fn status_until(app: &axum::Router, token: &str, want: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let (s, v) = json(app, "GET", "/api/v1/feedback/pollers", Some(token), None).await;
        assert_eq!(s, StatusCode::OK);
        if want(&v[0]) {
            return v[0].clone();
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "poller status: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poller_stores_figures_and_says_why_it_retries() {
    let w = world().await;
    let (s, c) = json(
        &w.app,
        "POST",
        "/api/v1/feedback/channels",
        Some(&w.operator),
        Some(json!({"unit_id": w.units[1], "platform": "bilibili", "account_name": "科技馆B站"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let channel = c["channel"]["id"].as_i64().expect("id");

    let mode = Arc::new(AtomicU8::new(0));
    let m = mode.clone();
    let server =
        axum::Router::new().route("/room/stats", axum::routing::get(move || stats(m.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stats_server = tokio::spawn(async move { axum::serve(listener, server).await });

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
            preview_dir: None,
            ingest_keys: None,
            uploads: None,
        },
        FeedbackOptions {
            pollers: vec![PollerConfig {
                name: "bili-room".into(),
                channel_id: channel,
                url: format!("http://127.0.0.1:{port}/room/stats?key=secret-key"),
                every: Duration::from_millis(200),
                fields: BTreeMap::from([
                    (Kind::Viewers, "/data/online".to_string()),
                    (Kind::Likes, "/data/like".to_string()),
                ]),
            }],
            ..FeedbackOptions::default()
        },
    );

    let st = status_until(&app, &w.operator, |s| {
        s["state"] == "running" && s["figures"].as_u64() >= Some(4)
    })
    .await;
    assert_eq!(
        st["url"],
        format!("http://127.0.0.1:{port}/room/stats"),
        "no query (keys) shown"
    );
    assert!(!st.to_string().contains("secret-key"));
    let store = kepu_playout::feedback::repo::FeedbackStore::new(w.catalog.store().clone());
    let now = kepu_playout::store::now_ms();
    let figs = store
        .figures(&[channel], now - 60_000, now + 60_000, 1000)
        .await
        .expect("figures");
    assert!(figs.iter().all(|f| f.source == "poller"));
    assert!(
        figs.iter()
            .any(|f| f.kind == "viewers" && f.value == 42 && f.cumulative == 0)
    );
    assert!(
        figs.iter()
            .any(|f| f.kind == "likes" && f.value == 1000 && f.cumulative == 1)
    );
    // The partner of the other unit sees no poller of this channel.
    let (_, mine) = json(
        &app,
        "GET",
        "/api/v1/feedback/pollers",
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(mine, json!([]));

    mode.store(1, Ordering::SeqCst);
    let st = status_until(&app, &w.operator, |s| s["state"] == "retrying").await;
    assert_eq!(st["last_error"], "应答无效：HTTP 500", "{st}");
    assert!(
        w.metrics
            .render()
            .contains("kepu_feedback_poller_up{poller=\"bili-room\"} 0")
    );
    mode.store(2, Ordering::SeqCst);
    let st = status_until(&app, &w.operator, |s| {
        s["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("/data/online"))
    })
    .await;
    assert!(st["failures"].as_u64() >= Some(2), "{st}");
    mode.store(0, Ordering::SeqCst);
    let st = status_until(&app, &w.operator, |s| s["state"] == "running").await;
    assert_eq!(
        (st["last_error"].is_null(), st["failures"].as_u64()),
        (true, Some(0))
    );
    assert!(
        w.metrics
            .render()
            .contains("kepu_feedback_poller_up{poller=\"bili-room\"} 1")
    );
    drop(app);
    stats_server.abort();
}
