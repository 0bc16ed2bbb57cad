//! The `rundown` CLI end to end on files: build into a day directory, validate, show, lock,
//! rebuild with late works, diff, export every format, rehearse — as the lead will wire it
//! under `kepu-playout rundown`.

use std::path::{Path, PathBuf};

use clap::Parser;
use kepu_playout::rundown::demo;
use kepu_playout::rundown_cli::{RundownArgs, run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: RundownArgs,
}

fn rundown(args: &[&str]) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("rundown").chain(args.iter().copied()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    run(cli.args)
}

fn p(x: &Path) -> &str {
    x.to_str().expect("utf-8 path")
}

#[test]
fn build_lock_rebuild_diff_export_rehearse_from_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schedules/editions/2026.toml");
    let works = root.join("works.json");
    let feeds = root.join("feeds.json");
    let days = root.join("days");
    let mut catalog = demo::catalog(3, 200);
    std::fs::write(&works, serde_json::to_string(&catalog).expect("json")).expect("write");
    std::fs::write(&feeds, serde_json::to_string(&demo::feeds()).expect("json")).expect("write");
    let (c, w, f, dd) = (p(&config), p(&works), p(&feeds), p(&days));

    rundown(&[
        "build",
        "--config",
        c,
        "--works",
        w,
        "--feeds",
        f,
        "--days",
        dd,
        "--now",
        "2026-08-20T00:00:00Z",
    ])
    .expect("build");
    assert!(days.join("2026-09-01/v0001.json").exists());
    assert!(days.join("2026-09-30/v0001.meta.json").exists());
    rundown(&[
        "validate", "--works", w, "--feeds", f, "--days", dd, "--config", c,
    ])
    .expect("all days valid");
    rundown(&["show", "--days", dd, "--date", "2026-09-20", "--json"]).expect("show");
    rundown(&[
        "lock",
        "--days",
        dd,
        "--date",
        "2026-09-20",
        "--by",
        "值班编辑",
        "--reason",
        "已审定",
    ])
    .expect("lock");
    let locked_before = std::fs::read(days.join("2026-09-20/v0001.json")).expect("read");

    catalog.extend(demo::works(5, 5001, 12, "2026-09-16".parse().ok()));
    std::fs::write(&works, serde_json::to_string(&catalog).expect("json")).expect("write");
    rundown(&[
        "build",
        "--config",
        c,
        "--works",
        w,
        "--feeds",
        f,
        "--days",
        dd,
        "--from",
        "2026-09-16",
        "--now",
        "2026-09-15T02:00:00Z",
        "--reason",
        "补充作品",
    ])
    .expect("rebuild");
    assert!(
        !days.join("2026-09-15/v0002.json").exists(),
        "Sep 15 (on air) untouched"
    );
    assert!(
        !days.join("2026-09-20/v0002.json").exists(),
        "locked Sep 20 untouched"
    );
    assert_eq!(
        std::fs::read(days.join("2026-09-20/v0001.json")).expect("read"),
        locked_before
    );
    assert!(
        days.join("2026-09-17/v0002.json").exists(),
        "Sep 17 rebuilt"
    );
    rundown(&["diff", "--days", dd, "--date", "2026-09-17"]).expect("diff");
    rundown(&["diff", "--days", dd, "--date", "2026-09-17", "--json"]).expect("diff json");
    rundown(&[
        "restore",
        "--days",
        dd,
        "--date",
        "2026-09-17",
        "--version",
        "1",
    ])
    .expect("restore");
    assert_eq!(
        std::fs::read(days.join("2026-09-17/v0003.json")).expect("v3"),
        std::fs::read(days.join("2026-09-17/v0001.json")).expect("v1"),
        "restored v1 is the newest version"
    );
    rundown(&["unlock", "--days", dd, "--date", "2026-09-20"]).expect("unlock");
    assert!(!days.join("2026-09-20/lock.json").exists());

    for (fmt, file) in [
        ("json", "m.json"),
        ("csv", "m.csv"),
        ("xmltv", "m.xml"),
        ("html", "m.html"),
    ] {
        let out = root.join(file);
        rundown(&[
            "export",
            "--days",
            dd,
            "--format",
            fmt,
            "--from",
            "2026-09-01",
            "--to",
            "2026-09-30",
            "--config",
            c,
            "--out",
            p(&out),
        ])
        .expect("export");
        assert!(
            std::fs::metadata(&out).expect("written").len() > 1000,
            "{fmt} export has content"
        );
    }
    let engine = root.join("d.toml");
    rundown(&[
        "export",
        "--days",
        dd,
        "--format",
        "engine",
        "--date",
        "2026-09-01",
        "--out",
        p(&engine),
    ])
    .expect("engine file");
    assert!(
        std::fs::read_to_string(&engine)
            .expect("read")
            .contains("start = \"2026-09-01T00:00:00\"")
    );
    assert!(
        rundown(&[
            "export",
            "--days",
            dd,
            "--format",
            "engine",
            "--out",
            p(&engine)
        ])
        .is_err(),
        "engine file is one day"
    );

    rundown(&[
        "rehearse", "--days", dd, "--config", c, "--probe", "trust", "--json",
    ])
    .expect("rehearse");

    // A hand-edited day file with an unknown work fails validation with a non-zero result.
    let mut day: serde_json::Value =
        serde_json::from_slice(&std::fs::read(days.join("2026-09-02/v0001.json")).expect("read"))
            .expect("json");
    let i = day["items"]
        .as_array()
        .and_then(|a| a.iter().position(|x| x["kind"] == "work"))
        .expect("a work");
    day["items"][i]["work_id"] = serde_json::json!(999_999);
    let edited = root.join("edited.json");
    std::fs::write(&edited, day.to_string()).expect("write");
    let err = rundown(&["validate", "--works", w, "--feeds", f, "--file", p(&edited)])
        .expect_err("invalid day");
    assert!(err.to_string().contains("校验未通过"), "{err}");
    assert!(
        rundown(&[
            "build",
            "--config",
            p(&root.join("nope.toml")),
            "--works",
            w,
            "--days",
            dd
        ])
        .is_err()
    );
}

/// `kepu-playout rundown [--json] build` on a catalog too thin for the month: the text says
/// per day how much slate it carries and warns naming day and block; `--json` has the same.
#[test]
fn build_says_how_much_slate_each_day_carries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schedules/editions/2026.toml");
    let works = root.join("works.json");
    let feeds = root.join("feeds.json");
    std::fs::write(
        &works,
        serde_json::to_string(&demo::catalog_2026(14, 40)).expect("json"),
    )
    .expect("write");
    std::fs::write(
        &feeds,
        serde_json::to_string(&[demo::night_feed()]).expect("json"),
    )
    .expect("write");
    let run = |json: bool, days: &str| {
        let mut args = vec!["rundown"];
        if json {
            args.push("--json");
        }
        args.extend([
            "build",
            "--config",
            p(&config),
            "--works",
            p(&works),
            "--feeds",
            p(&feeds),
            "--days",
            days,
            "--now",
            "2026-08-20T00:00:00+08:00",
        ]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
            .args(&args)
            .output()
            .expect("run kepu-playout");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let text = run(false, p(&root.join("a")));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("2026-09-20 → 第 1 版"))
        .unwrap_or_else(|| panic!("no line for 09-20:\n{text}"));
    assert!(line.contains("等待画面"), "{line}");
    let warn = text
        .lines()
        .find(|l| l.starts_with("注意：2026-09-20 等待画面共"))
        .unwrap_or_else(|| panic!("no slate warning for 09-20:\n{text}"));
    assert!(warn.contains("超过 10 分钟"), "{warn}");

    let json: serde_json::Value =
        serde_json::from_str(&run(true, p(&root.join("b")))).expect("json");
    let slate = json["report"]["mix"]["2026-09-20"]["slate_frames"]
        .as_u64()
        .expect("slate_frames");
    assert!(slate > 10 * 60 * 25, "{slate}");
    assert!(
        json["report"]["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .filter_map(|w| w.as_str())
            .any(|w| format!("注意：{w}") == warn),
        "the JSON carries the same warning"
    );
}
