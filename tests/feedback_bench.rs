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
