//! Ingest throughput of 数据反馈 on the embedded SQLite (ignored: a measurement, not a
//! check). `cargo nextest run --release --test feedback_bench --run-ignored only
//! --no-capture` prints events/s for batches of 1000 through the REST API (validation,
//! roles, one transaction per batch, minute buckets) with 10 channels each sending a viewer
//! sample and a like total every second.

mod auth_common;

use std::time::Instant;

use auth_common::{json, world};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --run-ignored only --no-capture"]
async fn ingest_throughput_on_sqlite() {
    let w = world().await;
    let mut channels = Vec::new();
    for i in 0..10 {
        let (s, c) = json(
            &w.app,
            "POST",
            "/api/v1/feedback/channels",
            Some(&w.operator),
            Some(json!({"unit_id": w.units[i % 2], "platform": "bilibili", "account_name": format!("账号{i}")})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        channels.push(c["channel"]["id"].as_i64().expect("id"));
    }
    let start_ms = kepu_playout::store::now_ms() - 30 * 86_400_000;
    let batches = 200;
    let per_batch = 1000;
    let mut second = 0i64;
    let t0 = Instant::now();
    for _ in 0..batches {
        let mut figures = Vec::with_capacity(per_batch);
        while figures.len() < per_batch {
            for c in &channels {
                let at = start_ms + second * 1000;
                figures.push(json!({"channel_id": c, "at_ms": at, "kind": "viewers", "value": 1000 + second % 97}));
                figures.push(
                    json!({"channel_id": c, "at_ms": at, "kind": "likes", "value": second * 3}),
                );
            }
            second += 1;
        }
        let (s, r) = json(
            &w.app,
            "POST",
            "/api/v1/feedback/figures",
            Some(&w.operator),
            Some(json!({"figures": figures})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["inserted"].as_u64(), Some(per_batch as u64));
    }
    let took = t0.elapsed();
    let n = batches * per_batch;
    println!(
        "feedback ingest on SQLite through the API: {n} events in {:.2} s = {:.0} events/s (batches of {per_batch}, 10 channels, minute buckets)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}

/// The live curve for 200 partner readers, paced at 10 requests/s each (a busy dashboard),
/// with wrk on the same machine; prints p50/p90/p99 and req/s. Not on air (no engine runs
/// here): the on-air figure is still to be measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --run-ignored only --no-capture"]
async fn live_curve_for_200_partner_readers() {
    let w = world().await;
    let mut channels = Vec::new();
    for (i, (unit, platform)) in [
        (w.units[0], "bilibili"),
        (w.units[0], "douyin"),
        (w.units[1], "weibo"),
    ]
    .into_iter()
    .enumerate()
    {
        let (_, c) = json(
            &w.app,
            "POST",
            "/api/v1/feedback/channels",
            Some(&w.operator),
            Some(
                json!({"unit_id": unit, "platform": platform, "account_name": format!("账号{i}")}),
            ),
        )
        .await;
        channels.push(c["channel"]["id"].as_i64().expect("id"));
    }
    // The last hour: a viewer sample and a like total every 10 s on every channel.
    let now = kepu_playout::store::now_ms();
    let mut figures = Vec::new();
    for k in 0..360 {
        let at = now - 3_600_000 + k * 10_000;
        for c in &channels {
            figures
                .push(json!({"channel_id": c, "at_ms": at, "kind": "viewers", "value": 1000 + k}));
            figures.push(json!({"channel_id": c, "at_ms": at, "kind": "likes", "value": k * 7}));
        }
    }
    let (s, _) = json(
        &w.app,
        "POST",
        "/api/v1/feedback/figures",
        Some(&w.operator),
        Some(json!({"figures": figures})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = w.app.clone();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let script = w.dir.path().join("live.lua");
    std::fs::write(
        &script,
        format!(
            "request = function()\n  return wrk.format(\"GET\", \"/api/v1/feedback/live?minutes=60\", {{[\"Authorization\"] = \"Bearer {}\"}})\nend\ndelay = function() return 100 end\n",
            w.partner
        ),
    )
    .expect("script");
    let out = tokio::process::Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            "200",
            "-d",
            "15s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .output()
        .await
        .expect("wrk (apt install wrk)");
    let report = String::from_utf8_lossy(&out.stdout);
    let pick = |label: &str| {
        report
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_string()
    };
    println!(
        "live curve, 200 partner readers × 10 req/s, 15 s: p50 {} · p90 {} · p99 {} · {} req/s\n{report}",
        pick("50%"),
        pick("90%"),
        pick("99%"),
        pick("Requests/sec")
    );
    assert!(!report.contains("Non-2xx"), "{report}");
    server.abort();
}
