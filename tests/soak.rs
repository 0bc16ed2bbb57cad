//! The soak: one `kepu-playout serve` on air for `KEPU_SOAK_SECONDS` (default 150, the short
//! version CI runs; `./run.sh soak --hours N` runs N hours) against a real nginx-rtmp
//! receiver, the API read at every sample. Every `KEPU_SOAK_EVERY_SECONDS` (default 10; 60 for
//! the long run) it samples the daemon's resident and anonymous memory, open file descriptors
//! and threads from /proc. After warm-up (the first third, at most 10 minutes) memory must
//! not grow: the anonymous memory (heap, allocator arenas, stacks — what a leak grows; the
//! resident figure also counts library pages the kernel drops and reloads under other
//! programs' pressure) of the last quarter, by its median, at most 5 % over the first
//! quarter's (runs of 30 minutes or more; the short CI run, still inside the allocator's
//! warm-up, 15 %: a smoke check, not the figure). Descriptors and threads must not grow: the
//! lowest count of the second half after warm-up against the lowest of the first half (a
//! leak raises the floor; descriptors and threads that come and go — an HTTP connection,
//! tokio's blocking pool — only make spikes). The figures and the verdict go to
//! `target/soak/report.md` (or the file named by `KEPU_SOAK_REPORT`). The daemon runs as
//! deployed, with `MALLOC_ARENA_MAX=2` (set `MALLOC_ARENA_MAX` to compare).

mod serve_common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serve_common::*;
use testkit::NginxRtmp;
use testkit::palette;

/// How far the floor of descriptors may rise (a leak raises the floor; connections that
/// come and go only make spikes).
const FD_ALLOWANCE: i64 = 2;
/// How far the floor of threads may rise (tokio's blocking pool and GStreamer's threads come
/// and go).
const THREAD_ALLOWANCE: i64 = 2;

#[derive(Debug, Clone, Copy)]
struct Sample {
    at_s: u64,
    rss_kib: i64,
    /// Anonymous resident memory (heap, arenas, stacks): what a leak grows. File-backed
    /// pages (the libraries) come and go with the machine's memory pressure.
    anon_kib: i64,
    fds: i64,
    threads: i64,
}

fn sample(pid: u32, at_s: u64) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| -> i64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("field")
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count() as i64;
    Sample {
        at_s,
        rss_kib: field("VmRSS:"),
        anon_kib: field("RssAnon:"),
        fds,
        threads: field("Threads:"),
    }
}

fn env_secs(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[test]
fn soak_memory_descriptors_and_threads_stay_flat() {
    let total = env_secs("KEPU_SOAK_SECONDS", 150).max(30);
    let every = env_secs("KEPU_SOAK_EVERY_SECONDS", 10).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let colours = [
        palette::RED,
        palette::GREEN,
        palette::BLUE,
        palette::YELLOW,
        palette::MAGENTA,
        palette::CYAN,
    ];
    let works: Vec<_> = colours
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = clip(dir.path(), *c, 400.0 + 200.0 * i as f64, 250);
            work(&format!("soak{i}"), &path, 250)
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, works));
    // Items of 10 s back to back for the whole run (and a margin), across midnight if long.
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-09-01T08:00:00+08:00")
        .expect("instant")
        .with_timezone(&Utc);
    let n = usize::try_from(total / 10 + 12).unwrap_or(usize::MAX);
    let items = (0..n).map(|i| item_of(&world.works[i % 6])).collect();
    rt.block_on(world.save(&day_with("2026-09-01".parse().expect("date"), t0, items)));

    let mut rx = NginxRtmp::start().expect("nginx");
    let offset = offset_for(t0, Duration::from_secs(8));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    // As deployed (deploy/: MALLOC_ARENA_MAX=2), unless the caller says otherwise.
    let arenas = std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "2".into());
    let mut d = Daemon::start_with_env(
        &cfg,
        addr,
        world.dir.path().join("serve.log"),
        &[("MALLOC_ARENA_MAX", arenas.as_str())],
    );
    let pid = d.child.id();
    sleep_until_programme(t0, offset);
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut api_failures = 0;
    while start.elapsed() < Duration::from_secs(total) {
        let at_s = start.elapsed().as_secs();
        assert!(
            matches!(d.child.try_wait(), Ok(None)),
            "the daemon died:\n{}",
            d.log_text()
        );
        for path in ["/api/v1/air", "/api/v1/air/cues", "/metrics"] {
            if testkit::http::request(addr, "GET", path, Some(&world.operator), None)
                .map_or(true, |r| r.status != 200)
            {
                api_failures += 1;
            }
        }
        let s = sample(pid, at_s);
        eprintln!(
            "soak t={:>6}s rss={} KiB anon={} KiB fds={} threads={}",
            s.at_s, s.rss_kib, s.anon_kib, s.fds, s.threads
        );
        samples.push(s);
        let next = Duration::from_secs(every * samples.len() as u64);
        std::thread::sleep(next.saturating_sub(start.elapsed()));
    }
    let st = d.terminate();
    assert!(st.success(), "clean stop: {st}");
    rx.wait_idle(Duration::from_secs(15)).expect("idle");
    rx.stop().expect("stop");

    // Warm-up: the first third, at most 10 minutes; then the middle and the last third.
    let warm = (samples.len() / 3)
        .min(usize::try_from(600 / every).unwrap_or(usize::MAX))
        .max(1);
    let after = &samples[warm..];
    assert!(
        after.len() >= 4,
        "too few samples after warm-up: {samples:?}"
    );
    let half = after.len() / 2;
    let (mid, last) = after.split_at(half);
    let rss_min = after.iter().map(|s| s.rss_kib).min().unwrap_or(0);
    let rss_max = after.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let rss_spread = (rss_max - rss_min) as f64 / rss_min.max(1) as f64 * 100.0;
    let min_of = |v: &[Sample], f: fn(&Sample) -> i64| v.iter().map(f).min().unwrap_or(0);
    let fd_growth = min_of(last, |s| s.fds) - min_of(mid, |s| s.fds);
    let thread_growth = min_of(last, |s| s.threads) - min_of(mid, |s| s.threads);
    // Memory is flat when it does not grow: the median of the last quarter after warm-up
    // against the first quarter's, on anonymous memory (a fall is not a leak).
    let quarter = (after.len() / 4).max(1);
    let median_anon = |v: &[Sample]| {
        let mut a: Vec<i64> = v.iter().map(|s| s.anon_kib).collect();
        a.sort_unstable();
        a[a.len() / 2]
    };
    let anon_first = median_anon(&after[..quarter]);
    let anon_last = median_anon(&after[after.len() - quarter..]);
    let anon_growth = (anon_last - anon_first) as f64 / anon_first.max(1) as f64 * 100.0;
    let rss_limit = if total >= 1800 { 5.0 } else { 15.0 };
    let rss_ok = anon_growth <= rss_limit;
    let fds_ok = fd_growth <= FD_ALLOWANCE;
    let threads_ok = thread_growth <= THREAD_ALLOWANCE;

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Soak: {total} s on air, a sample every {every} s (MALLOC_ARENA_MAX={arenas})\n"
    );
    let _ = writeln!(
        md,
        "Figures after warm-up ({} samples from t={} s): anonymous memory (median of the first \
         and last quarters) {} → {} KiB ({:+.1} %, limit +{rss_limit} %) {}; resident memory \
         {}–{} KiB (spread {:.1} %, file pages included); descriptors: second-half floor {} vs \
         first-half floor {} ({:+}, allowance {}) {}; threads: floor {} vs {} ({:+}, allowance \
         {}) {}; API reads failed: {api_failures}.\n",
        after.len(),
        after[0].at_s,
        anon_first,
        anon_last,
        anon_growth,
        if rss_ok { "✓" } else { "✗" },
        rss_min,
        rss_max,
        rss_spread,
        min_of(last, |s| s.fds),
        min_of(mid, |s| s.fds),
        fd_growth,
        FD_ALLOWANCE,
        if fds_ok { "✓" } else { "✗" },
        min_of(last, |s| s.threads),
        min_of(mid, |s| s.threads),
        thread_growth,
        THREAD_ALLOWANCE,
        if threads_ok { "✓" } else { "✗" },
    );
    let _ = writeln!(
        md,
        "| t (s) | RSS (KiB) | anonymous (KiB) | fds | threads |\n|---:|---:|---:|---:|---:|"
    );
    for s in &samples {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            s.at_s, s.rss_kib, s.anon_kib, s.fds, s.threads
        );
    }
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/soak");
    std::fs::create_dir_all(&out).expect("target/soak");
    let name = std::env::var("KEPU_SOAK_REPORT").unwrap_or_else(|_| "report.md".into());
    std::fs::write(out.join(name), &md).expect("report");
    eprintln!("{}", md.lines().take(3).collect::<Vec<_>>().join("\n"));
    assert_eq!(api_failures, 0, "API reads failed during the soak");
    assert!(rss_ok, "memory grew: {anon_growth:+.1} %\n{md}");
    assert!(fds_ok, "descriptors grew by {fd_growth}\n{md}");
    assert!(threads_ok, "threads grew by {thread_growth}\n{md}");
}
