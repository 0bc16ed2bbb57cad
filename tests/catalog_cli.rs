//! `kepu-playout catalog …` end to end through the real binary: import twice (idempotent),
//! list, review, refused scheduling with the reason, all with `--json`.

use serde_json::Value;
use std::process::Command;

fn run(dir: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let edition = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules/editions/2026.toml");
    let db = dir.join("cli.db");
    let out = Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
        .args([
            "catalog",
            "--database",
            db.to_str().expect("utf-8"),
            "--edition",
            edition,
            "--json",
        ])
        .args(args)
        .output()
        .expect("binary runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_review_and_refuse_to_schedule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schedules/demo/submissions-2026.csv"
    );
    let (ok, v, err) = run(dir.path(), &["import", demo]);
    assert!(ok, "{err}");
    assert_eq!(v[0]["inserted"], 10, "{v}");
    let (ok, v, err) = run(dir.path(), &["import", demo]);
    assert!(ok, "{err}");
    assert_eq!(
        (v[0]["inserted"].as_u64(), v[0]["unchanged"].as_u64()),
        (Some(0), Some(10)),
        "{v}"
    );
    let (ok, v, _) = run(dir.path(), &["list"]);
    assert!(ok);
    assert_eq!(v.as_array().map(Vec::len), Some(9));
    let (ok, v, err) = run(
        dir.path(),
        &[
            "review",
            "1",
            "--reviewer",
            "审核员甲",
            "--select",
            "--rights",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        v["schedulable"]["reasons"][0], "视频文件尚未技术检测（catalog probe --pending）",
        "{v}"
    );
    let (ok, _, err) = run(dir.path(), &["state", "1", "scheduled"]);
    assert!(!ok);
    assert!(err.contains("视频文件尚未技术检测"), "{err}");
    let (ok, v, _) = run(dir.path(), &["show", "1"]);
    assert!(ok);
    assert_eq!(v["work"]["state"], "selected", "{v}");
}
