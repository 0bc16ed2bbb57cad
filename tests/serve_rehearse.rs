//! One interpretation of a schedule: `kepu-playout rundown rehearse` and `kepu-playout serve`
//! hand their engines the same cues for the same stored day — the same ids, sources, starts,
//! lengths and in-points — because the rehearsal runs the controller that airs.

mod serve_common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use serve_common::rundown_common::t;
use serve_common::*;
use testkit::{NginxRtmp, palette};

#[test]
fn rehearse_and_serve_cue_the_same_stored_day_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let red = clip(dir.path(), palette::RED, 900.0, 125);
    let green = clip(dir.path(), palette::GREEN, 1200.0, 75);
    let blue = clip(dir.path(), palette::BLUE, 1500.0, 100);
    let works = vec![
        work("红", &red, 125),
        work("绿", &green, 75),
        work("蓝", &blue, 100),
    ];
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, works));
    let t0 = t("2026-09-14T21:30:00+08:00");
    let mut trimmed = item_of(&world.works[1]);
    trimmed.in_frames = 25;
    trimmed.frames = 50;
    let day = day_with(
        "2026-09-14".parse().expect("date"),
        t0,
        vec![item_of(&world.works[0]), trimmed, item_of(&world.works[2])],
    );
    rt.block_on(world.save(&day));
    let mut rx = NginxRtmp::start().expect("nginx");
    let offset = offset_for(t0, Duration::from_secs(4));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    let mut d = Daemon::start(&cfg, addr, world.dir.path().join("serve.log"));
    sleep_until_programme(t0 + chrono::Duration::seconds(1), offset);
    let served = d.get("/api/v1/air/cues", &world.operator).json();
    let st = d.terminate();
    assert!(st.success(), "{}", d.log_text());
    rx.stop().expect("stop");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
        .args(["rundown", "--json", "rehearse", "--probe", "trust"])
        .args(["--from", "2026-09-14", "--to", "2026-09-14", "--db"])
        .arg(&world.db)
        .output()
        .expect("rehearse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rehearsed: Value = serde_json::from_slice(&out.stdout).expect("json");
    // The text report names each category's airtime with the edition's own name.
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
        .args(["rundown", "rehearse", "--probe", "trust"])
        .args(["--from", "2026-09-14", "--to", "2026-09-14", "--db"])
        .arg(&world.db)
        .output()
        .expect("rehearse");
    let text = String::from_utf8_lossy(&text.stdout);
    let categories: Vec<&str> = text.lines().filter(|l| l.contains("类别 ")).collect();
    assert!(
        !categories.is_empty() && categories.iter().all(|l| !l.contains("未知类别")),
        "airtime by category, named by the edition: {text}"
    );

    let served = served["cues"].as_array().cloned().unwrap_or_default();
    let rehearsed = rehearsed["cues"].as_array().cloned().unwrap_or_default();
    // The cues serve handed over from t0 on (earlier ones were joined late at start-up, with
    // their in-point advanced to where the programme was).
    let from_t0: Vec<&Value> = served
        .iter()
        .filter(|c| {
            c["start"]
                .as_str()
                .and_then(|s| s.parse::<DateTime<Utc>>().ok())
                .is_some_and(|s| s >= t0)
        })
        .collect();
    assert!(
        from_t0.len() >= 4,
        "红, 绿, 蓝 and the slate after them: {served:#?}"
    );
    for c in &from_t0 {
        let twin = rehearsed
            .iter()
            .find(|r| r["id"] == c["id"])
            .unwrap_or_else(|| panic!("{c} not in the rehearsal: {rehearsed:#?}"));
        assert_eq!(*c, twin, "the same cue");
    }
    let green_cue = from_t0
        .iter()
        .find(|c| c["title"] == "绿")
        .expect("绿 cued");
    assert_eq!(green_cue["in_point_ns"], 1_000_000_000u64, "{green_cue}");
    assert_eq!(green_cue["frames"], 50, "{green_cue}");
}
