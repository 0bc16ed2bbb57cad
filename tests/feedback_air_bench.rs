//! Benchmark of 数据反馈 while on air (ignored in the test run: a measurement, not a check).
//! `cargo nextest run --release --test feedback_air_bench --run-ignored only --no-capture`
//! starts the real `kepu-playout serve` on air to a real nginx-rtmp receiver (as
//! `serve_bench` does), then:
//!
//! - **(a) ingest**: at least 200 000 figures (and at least 20 s) through the REST API (two
//!   senders, batches of 1000, an operator's token) and the per-channel webhook (one sender,
//!   batches of 2000 increments, kept under the webhook's 600 calls a minute per address),
//!   all on the embedded SQLite;
//! - **(b) 200 partner sessions**: 200 partner accounts of 20 units (each its own token and
//!   keep-alive connection) reading the live curve (`GET /api/v1/feedback/live?minutes=60`)
//!   once a second, as the dashboard does when it polls, while viewer samples of every channel
//!   arrive each second (so the shared answer is recomputed as in real use);
//!
//! and prints events/s, the latency percentiles, the engine's frames dropped/repeated and
//! worst lateness in each phase, and the receiver recording's timestamp continuity. The
//! targets (≥ 10 000 events/s, p99 < 50 ms, 0 frames lost) are reported, not asserted.
//! Knobs: `KEPU_BENCH_INGEST_SECONDS` (20), `KEPU_BENCH_FIGURES` (200000),
//! `KEPU_BENCH_READ_SECONDS` (30), `KEPU_BENCH_READERS` (200), `KEPU_BENCH_PACE_MS` (1000).

mod serve_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use kepu_playout::auth::{Accounts, NewUser, Role};
use kepu_playout::catalog::model::NewUnit;
use kepu_playout::feedback::repo::{FeedbackStore, NewChannel};
use serve_common::on_air::{EngineCounters, OnAir, engine_counters, three_clip_world};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn describe_phase(name: &str, before: EngineCounters, after: EngineCounters) -> String {
    let worst = if after.max_lateness_ns > before.max_lateness_ns {
        format!(
            "{:.1} ms (new worst in this phase)",
            after.max_lateness_ns as f64 / 1e6
        )
    } else {
        format!(
            "≤ {:.1} ms (the engine's worst so far, not exceeded in this phase)",
            before.max_lateness_ns as f64 / 1e6
        )
    };
    format!(
        "{name}: engine frames {}–{} ({} frames): {} dropped, {} repeated; worst lateness {worst}",
        before.frame,
        after.frame,
        after.frame.saturating_sub(before.frame),
        after.dropped - before.dropped,
        after.repeated - before.repeated,
    )
}

/// A keep-alive HTTP/1.1 connection.
async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

/// One request; (status, body). `None` when the connection failed.
async fn send(
    c: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: (&str, &str),
    body: Option<String>,
) -> Option<(u16, Bytes)> {
    c.ready().await.ok()?;
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header(auth.0, auth.1);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    let r = tokio::time::timeout(Duration::from_secs(30), c.send_request(req))
        .await
        .ok()?
        .ok()?;
    let status = r.status().as_u16();
    let body = r.into_body().collect().await.ok()?.to_bytes();
    Some((status, body))
}

/// What the ingest phase's senders did.
#[derive(Default)]
struct Ingested {
    rest: AtomicU64,
    hook: AtomicU64,
    rest_calls: AtomicU64,
    hook_calls: AtomicU64,
    refused: AtomicU64,
    limited: AtomicU64,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

#[test]
#[ignore = "benchmark: cargo nextest run --release --test feedback_air_bench --run-ignored only --no-capture"]
fn feedback_ingest_and_200_partner_readers_while_on_air() {
    let ingest_secs = env_u64("KEPU_BENCH_INGEST_SECONDS", 20);
    let min_figures = env_u64("KEPU_BENCH_FIGURES", 200_000);
    let read_secs = env_u64("KEPU_BENCH_READ_SECONDS", 30);
    let readers = usize::try_from(env_u64("KEPU_BENCH_READERS", 200)).expect("readers");
    let pace_ms = env_u64("KEPU_BENCH_PACE_MS", 1000);
    let dir = tempfile::tempdir().expect("tempdir");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Three 60 s clips: the programme outlasts both phases on a slow machine (the slate
    // follows them anyway, still on air).
    let world = rt.block_on(three_clip_world(dir, 1500));

    // 20 units, each with 10 partner accounts and two relay channels (bilibili, douyin).
    let units = 20usize;
    let (partners, channels) = rt.block_on(async {
        let accounts = Accounts::new(world.catalog.store().clone());
        let store = FeedbackStore::new(world.catalog.store().clone());
        let mut partners = Vec::new();
        let mut channels = Vec::new();
        for u in 0..units {
            let unit = world
                .catalog
                .create_unit(&NewUnit {
                    name: format!("测试单位{u:02}"),
                    ..NewUnit::default()
                })
                .await
                .expect("unit");
            for p in 0..readers.div_ceil(units) {
                let user = accounts
                    .create_user(&NewUser {
                        username: format!("partner{u:02}_{p:02}"),
                        role: Role::Partner,
                        unit_id: Some(unit.id),
                        password: "correct horse battery".into(),
                    })
                    .await
                    .expect("user");
                let token = accounts.issue_token(user.id, "bench").await.expect("token");
                partners.push((unit.id, token.token));
            }
            for platform in ["bilibili", "douyin"] {
                let c = store
                    .create_channel(&NewChannel {
                        unit_id: Some(unit.id),
                        platform: platform.into(),
                        account_name: format!("{platform}-{u:02}"),
                        room_url: None,
                        active: None,
                    })
                    .await
                    .expect("channel");
                channels.push((c.channel.id, platform, c.token));
            }
        }
        (partners, channels)
    });
    let partners: Vec<(i64, String)> = partners.into_iter().take(readers).collect();

    let air = OnAir::start(&world);
    let (addr, offset) = (air.addr, air.offset_ms);
    let op = world.operator.clone();
    let programme_now = move || chrono::Utc::now().timestamp_millis() + offset;

    // ---- (a) ingest through the REST API and the webhook ----
    let base = programme_now() - 50 * 60_000;
    let chans: Arc<Vec<(i64, &'static str, String)>> = Arc::new(channels);
    let done = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Ingested::default());
    let before_a = engine_counters(&air.daemon, &op);
    let started = Instant::now();
    let took = rt.block_on(async {
        let next_batch = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (chans, done, stats, next, op) = (
                chans.clone(),
                done.clone(),
                stats.clone(),
                next_batch.clone(),
                op.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut c = connect(addr).await;
                let n = chans.len() as u64;
                let bearer = format!("Bearer {op}");
                while !done.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let mut body = String::with_capacity(80_000);
                    body.push_str("{\"figures\":[");
                    for j in 0..1000u64 {
                        let g = k * 1000 + j;
                        let (id, _, _) = &chans[(g % n) as usize];
                        let second = (g / n / 2) as i64;
                        let at = base + second * 1000;
                        if j > 0 {
                            body.push(',');
                        }
                        if (g / n).is_multiple_of(2) {
                            body.push_str(&format!(
                                "{{\"channel_id\":{id},\"at_ms\":{at},\"kind\":\"viewers\",\"value\":{}}}",
                                1000 + second % 97
                            ));
                        } else {
                            body.push_str(&format!(
                                "{{\"channel_id\":{id},\"at_ms\":{at},\"kind\":\"likes\",\"value\":{}}}",
                                second * 3
                            ));
                        }
                    }
                    body.push_str("]}");
                    let r = send(
                        &mut c,
                        addr,
                        "POST",
                        "/api/v1/feedback/figures",
                        ("authorization", &bearer),
                        Some(body),
                    )
                    .await;
                    match r {
                        Some((200, _)) => {
                            stats.rest.fetch_add(1000, Ordering::Relaxed);
                            stats.rest_calls.fetch_add(1, Ordering::Relaxed);
                        }
                        Some((s, b)) => {
                            stats.refused.fetch_add(1, Ordering::Relaxed);
                            eprintln!("REST batch refused: {s} {}", String::from_utf8_lossy(&b));
                        }
                        None => {
                            stats.refused.fetch_add(1, Ordering::Relaxed);
                            c = connect(addr).await;
                        }
                    }
                }
            }));
        }
        {
            let (chans, done, stats) = (chans.clone(), done.clone(), stats.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = connect(addr).await;
                let n = chans.len() as u64;
                let mut w = 0u64;
                // ≤ 9 calls a second: under the webhook's 600 a minute per address.
                let mut tick = tokio::time::interval(Duration::from_millis(111));
                while !done.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let (_, platform, token) = &chans[(w % n) as usize];
                    let block = (w / n) as i64;
                    let mut body = String::with_capacity(120_000);
                    body.push_str("{\"figures\":[");
                    for j in 0..2000i64 {
                        let at = base + (block * 2000 + j) * 250;
                        if j > 0 {
                            body.push(',');
                        }
                        body.push_str(&format!(
                            "{{\"at_ms\":{at},\"kind\":\"comments\",\"value\":{},\"cumulative\":false}}",
                            1 + j % 3
                        ));
                    }
                    body.push_str("]}");
                    let path = format!("/api/v1/feedback/hook/{platform}");
                    match send(&mut c, addr, "POST", &path, ("x-kepu-token", token), Some(body))
                        .await
                    {
                        Some((200, _)) => {
                            stats.hook.fetch_add(2000, Ordering::Relaxed);
                            stats.hook_calls.fetch_add(1, Ordering::Relaxed);
                            w += 1;
                        }
                        Some((429, _)) => {
                            stats.limited.fetch_add(1, Ordering::Relaxed);
                        }
                        Some((s, b)) => {
                            stats.refused.fetch_add(1, Ordering::Relaxed);
                            eprintln!("webhook refused: {s} {}", String::from_utf8_lossy(&b));
                            w += 1;
                        }
                        None => {
                            stats.refused.fetch_add(1, Ordering::Relaxed);
                            c = connect(addr).await;
                        }
                    }
                }
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(ingest_secs.max(1) * 10);
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let total = stats.rest.load(Ordering::Relaxed) + stats.hook.load(Ordering::Relaxed);
            if (started.elapsed() >= Duration::from_secs(ingest_secs) && total >= min_figures)
                || Instant::now() > deadline
            {
                break;
            }
        }
        done.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        started.elapsed()
    });
    let after_a = engine_counters(&air.daemon, &op);
    let rest = stats.rest.load(Ordering::Relaxed);
    let hook = stats.hook.load(Ordering::Relaxed);

    // ---- (b) 200 partner sessions reading the live curve, figures arriving each second ----
    let before_b = engine_counters(&air.daemon, &op);
    let (latencies, errors, wrong_scope, samples) = rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (chans, stop, op) = (chans.clone(), stop.clone(), op.clone());
            tokio::spawn(async move {
                let mut c = connect(addr).await;
                let bearer = format!("Bearer {op}");
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                let mut k = 0i64;
                let mut stored = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let at = programme_now().div_euclid(1000) * 1000;
                    let figures: Vec<String> = chans
                        .iter()
                        .map(|(id, _, _)| {
                            format!(
                                "{{\"channel_id\":{id},\"at_ms\":{at},\"kind\":\"viewers\",\"value\":{}}}",
                                2000 + (k * 37 + id) % 500
                            )
                        })
                        .collect();
                    let body = format!("{{\"figures\":[{}]}}", figures.join(","));
                    if let Some((200, _)) = send(
                        &mut c,
                        addr,
                        "POST",
                        "/api/v1/feedback/figures",
                        ("authorization", &bearer),
                        Some(body),
                    )
                    .await
                    {
                        stored += 1;
                    } else {
                        c = connect(addr).await;
                    }
                    k += 1;
                }
                stored
            })
        };
        let mut sessions = Vec::new();
        for (i, (unit, token)) in partners.iter().cloned().enumerate() {
            let stop = stop.clone();
            sessions.push(tokio::spawn(async move {
                // Each session's second starts at its own phase, as dashboards opened at
                // different moments do.
                let phase = Duration::from_millis(pace_ms * i as u64 / readers as u64);
                tokio::time::sleep(phase).await;
                let mut c = connect(addr).await;
                let bearer = format!("Bearer {token}");
                let mut tick = tokio::time::interval(Duration::from_millis(pace_ms));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut lat = Vec::new();
                let (mut errors, mut wrong) = (0u64, 0u64);
                let mut checked = false;
                while !stop.load(Ordering::Relaxed) {
                    // Latency from the scheduled instant: a late answer also delays the next.
                    let due = tick.tick().await;
                    let r = send(
                        &mut c,
                        addr,
                        "GET",
                        "/api/v1/feedback/live?minutes=60",
                        ("authorization", &bearer),
                        None,
                    )
                    .await;
                    let us = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
                    match r {
                        Some((200, body)) => {
                            lat.push(us);
                            if !checked {
                                checked = true;
                                // A partner's curve counts its own unit's two channels only.
                                let v: serde_json::Value =
                                    serde_json::from_slice(&body).unwrap_or_default();
                                if v["channels"].as_u64() != Some(2) {
                                    wrong += 1;
                                    eprintln!("unit {unit}: {}", v["channels"]);
                                }
                            }
                        }
                        Some((s, b)) => {
                            errors += 1;
                            if errors < 3 {
                                eprintln!("live: {s} {}", String::from_utf8_lossy(&b));
                            }
                        }
                        None => {
                            errors += 1;
                            c = connect(addr).await;
                        }
                    }
                }
                (lat, errors, wrong)
            }));
        }
        tokio::time::sleep(Duration::from_secs(read_secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        let (mut errors, mut wrong) = (0, 0);
        for s in sessions {
            let (lat, e, w) = s.await.expect("session");
            all.extend(lat);
            errors += e;
            wrong += w;
        }
        let samples = writer.await.expect("writer");
        all.sort_unstable();
        (all, errors, wrong, samples)
    });
    let after_b = engine_counters(&air.daemon, &op);

    let pk = air.finish();
    let video = pk.video_steps_exact(25, 1, Duration::from_micros(1500));
    let audio = pk.audio_continuity(Duration::from_millis(2));

    let secs = took.as_secs_f64();
    println!(
        "--- 数据反馈 while on air (release build recommended; 320×180 ultrafast to nginx-rtmp) ---"
    );
    println!(
        "(a) ingest: {} figures in {secs:.1} s = {:.0} events/s (REST API {} in {} batches of 1000 = {:.0}/s; webhook {} in {} calls of 2000 = {:.0}/s); {} refused, {} rate-limited (429)",
        rest + hook,
        (rest + hook) as f64 / secs,
        rest,
        stats.rest_calls.load(Ordering::Relaxed),
        rest as f64 / secs,
        hook,
        stats.hook_calls.load(Ordering::Relaxed),
        hook as f64 / secs,
        stats.refused.load(Ordering::Relaxed),
        stats.limited.load(Ordering::Relaxed),
    );
    println!("    {}", describe_phase("during (a)", before_a, after_a));
    println!(
        "(b) {} partner sessions ({} units, own tokens, keep-alive) × GET /api/v1/feedback/live?minutes=60 every {pace_ms} ms for {read_secs} s, {samples} viewer batches written meanwhile: \
         {} answers, p50 {:.1} ms · p90 {:.1} ms · p99 {:.1} ms · max {:.1} ms · {:.0} req/s · {errors} error(s), {wrong_scope} answer(s) with another unit's channels",
        partners.len(),
        units,
        latencies.len(),
        pct(&latencies, 0.50),
        pct(&latencies, 0.90),
        pct(&latencies, 0.99),
        latencies.last().map_or(f64::NAN, |v| *v as f64 / 1000.0),
        latencies.len() as f64 / read_secs as f64,
    );
    println!("    {}", describe_phase("during (b)", before_b, after_b));
    println!(
        "recording ({} video packets, {:.1} s): {} video timestamp step(s) off the 40 ms grid, {} audio gap(s) over 2 ms",
        pk.video.len(),
        pk.video.len() as f64 / 25.0,
        video.len(),
        audio.len()
    );
    for v in video.iter().chain(audio.iter()).take(10) {
        println!("    {v:?}");
    }
}
