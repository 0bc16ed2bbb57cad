//! Benchmark (ignored in the test run; `./run.sh bench-api` runs it in release): the API's
//! latency with 200 concurrent readers (wrk, keep-alive, three read endpoints in turn) while
//! the daemon is on air to a real nginx-rtmp receiver, and what that load cost the programme
//! (frames dropped/repeated, worst lateness) by the engine's own counters and by the
//! recording. Prints figures; the targets (p99 < 50 ms, no frame lost) are reported, not
//! asserted, so a loaded machine cannot make the suite flaky.

mod serve_common;

use std::process::Command;

use serve_common::on_air::{OnAir, engine_counters, three_clip_world};

#[test]
#[ignore = "benchmark: ./run.sh bench-api"]
fn api_latency_with_200_readers_while_on_air() {
    let secs: u64 = std::env::var("KEPU_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = u32::try_from(secs * 25).expect("frames") / 2 + 250;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(three_clip_world(dir, frames));
    let air = OnAir::start(&world);
    let addr = air.addr;
    let op = world.operator.clone();
    let before = engine_counters(&air.daemon, &op);

    // Two loads: 200 readers each asking every 100 ms (a busy dashboard: ~2000 req/s), and
    // 200 readers asking as fast as they can (closed loop: the machine saturated).
    let mut reports = Vec::new();
    for (name, delay_ms) in [
        ("paced, 200 readers × 10 req/s", 100),
        ("saturated, closed loop", 0),
    ] {
        let script = world.dir.path().join(format!("paths-{delay_ms}.lua"));
        let delay = if delay_ms > 0 {
            format!("delay = function() return {delay_ms} end\n")
        } else {
            String::new()
        };
        std::fs::write(
            &script,
            format!(
                "local paths = {{\"/api/v1/air\", \"/api/v1/rundown/days/2026-09-15\", \"/api/v1/asrun?day=2026-09-15\"}}\n\
                 local i = 0\n\
                 request = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % 3) + 1], {{[\"Authorization\"] = \"Bearer {op}\"}})\nend\n{delay}"
            ),
        )
        .expect("script");
        let out = Command::new("wrk")
            .args(["-t", "2", "-c", "200", "-d"])
            .arg(format!("{}s", secs / 2))
            .args(["--timeout", "5s", "--latency", "-s"])
            .arg(&script)
            .arg(format!("http://{addr}"))
            .output()
            .expect("wrk (apt install wrk)");
        assert!(
            out.status.success(),
            "wrk failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        reports.push((name, String::from_utf8_lossy(&out.stdout).to_string()));
    }
    let after = engine_counters(&air.daemon, &op);
    let pk = air.finish();
    let steps = pk.video_steps_exact(25, 1, std::time::Duration::from_micros(1500));

    let pct = |report: &str, label: &str| -> String {
        report
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_string()
    };
    println!("--- API under load while on air ({secs} s in all, 200 connections, wrk -t2) ---");
    for (name, report) in &reports {
        let rps = report
            .lines()
            .find(|l| l.starts_with("Requests/sec"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?");
        let errors = report
            .lines()
            .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
            .collect::<Vec<_>>()
            .join("; ");
        println!(
            "{name}: latency p50 {} · p90 {} · p99 {} · {rps} req/s · errors: {}",
            pct(report, "50%"),
            pct(report, "90%"),
            pct(report, "99%"),
            if errors.is_empty() { "none" } else { &errors }
        );
    }
    println!(
        "programme during the load: {} frame(s) dropped, {} repeated (engine counters), worst lateness {} ms; \
         recording: {} timestamp step violation(s)",
        after.dropped - before.dropped,
        after.repeated - before.repeated,
        after.max_lateness_ns / 1_000_000,
        steps.len()
    );
    for (name, report) in &reports {
        println!("[{name}]\n{report}");
    }
}
