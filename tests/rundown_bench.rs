//! Benchmarks (ignored by default; figures in docs/rundown.md):
//!
//! ```text
//! cargo test -p kepu-playout --test rundown_bench -- --ignored --nocapture
//! ```
//!
//! Build 30 days from 5,000 generated works (target < 1 s optimised, asserted only in
//! optimised builds) and rehearse them through the on-air controller (printed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use kepu_playout::air::rehearsal::rehearse;
use kepu_playout::rundown::rehearse::TrustProbe;
use kepu_playout::rundown::{BuildRequest, Day, ScheduleConfig, build, demo};

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn build_and_rehearse_30_days_from_5000_works() {
    let cs = ScheduleConfig::load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schedules/editions/2026.toml")
            .as_path(),
    )
    .expect("config");
    let works = demo::catalog(1, 5000);
    let feeds = demo::feeds();
    let (existing, locked) = (BTreeMap::new(), BTreeSet::new());
    let t0 = Instant::now();
    let built = build(
        &cs,
        &BuildRequest {
            works: &works,
            feeds: &feeds,
            existing: &existing,
            from: None,
            now: None,
            locked: &locked,
        },
    );
    let build_s = t0.elapsed().as_secs_f64();
    let days: Vec<&Day> = built.days.values().collect();
    assert_eq!(days.len(), 30);
    assert!(
        days.iter()
            .all(|d| d.items.iter().map(|i| i.frames).sum::<u64>() == 2_160_000)
    );
    let owned: Vec<Day> = days.iter().map(|d| (*d).clone()).collect();
    let t1 = Instant::now();
    let (r, cues) = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(rehearse(&owned, &TrustProbe, Some(&cs)))
        .expect("rehearsal");
    let rehearse_s = t1.elapsed().as_secs_f64();
    let items: usize = days.iter().map(|d| d.items.len()).sum();
    let slate: Vec<u64> = built
        .report
        .mix
        .values()
        .map(|m| m.total.slate_frames / 25)
        .collect();
    println!(
        "bench: slate {} s in the month, at most {} s a day",
        slate.iter().sum::<u64>(),
        slate.iter().max().copied().unwrap_or(0)
    );
    println!(
        "bench: {} works → 30 days, {items} items, {} works aired; build {build_s:.3} s; rehearse through the controller {rehearse_s:.3} s ({} cues); optimised: {}",
        works.len(),
        works.len() - built.report.unaired.len() - built.report.excluded.len(),
        cues.len(),
        !cfg!(debug_assertions)
    );
    assert!(
        r.days
            .iter()
            .all(|d| d.gaps.is_empty() && d.overlaps.is_empty())
    );
    if !cfg!(debug_assertions) {
        assert!(build_s < 1.0, "build took {build_s:.3} s");
    }
}
