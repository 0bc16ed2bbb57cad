//! `deploy/`: every file passes its offline checker (`deploy/check.sh`: systemd-analyze,
//! hadolint, kubernetes-validate, the Compose Specification's JSON schema), each checker
//! refuses a broken copy (so the check can fail), and the channel configs the compose file
//! and the Kubernetes ConfigMap ship are valid configs of the daemon with the environment
//! they are given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kepu_playout::config::ChannelConfig;
use kepu_playout::config::node::NodeRole;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(dir: &Path) -> (bool, String) {
    let out = Command::new("bash")
        .arg(root().join("deploy/check.sh"))
        .arg(dir)
        .output()
        .expect("deploy/check.sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn every_deploy_file_passes_its_checker_and_a_broken_one_does_not() {
    let (ok, text) = check(&root().join("deploy"));
    assert!(ok, "deploy/ fails its checks:\n{text}");
    assert!(text.contains("deploy check: all files pass"), "{text}");
    assert!(text.contains("Overall exposure level"), "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("deploy");
    copy_dir(&root().join("deploy"), &bad);
    edit(
        &bad.join("kepu-playout.service"),
        "ProtectSystem=strict",
        "ProtectSystem=sometimes",
    );
    edit(
        &bad.join("Containerfile"),
        "FROM debian:bookworm-slim",
        "FROM debian",
    );
    edit(
        &bad.join("k8s/statefulset-main.yaml"),
        "periodSeconds: 10",
        "periodSeconds: often",
    );
    edit(
        &bad.join("compose/compose.yaml"),
        "restart: always\n    ports:",
        "restart: always\n    pots:",
    );
    let (ok, text) = check(&bad);
    assert!(!ok, "a broken deploy/ passed:\n{text}");
    for what in [
        "FAIL: systemd-analyze verify",
        "FAIL: the unit lacks ProtectSystem=strict",
        "FAIL: hadolint",
        "FAIL: kubernetes-validate",
        "FAIL: compose file",
    ] {
        assert!(text.contains(what), "{what} not reported:\n{text}");
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_shipped_channel_configs_are_valid_for_both_nodes() {
    let compose = root().join("deploy/compose/channel.toml");
    let text = std::fs::read_to_string(&compose).expect("compose channel.toml");
    let c = ChannelConfig::parse(
        &compose,
        &text,
        &env(&[
            ("KEPU_NODE_NAME", "backup"),
            ("KEPU_NODE_ROLE", "backup"),
            ("KEPU_DATABASE_URL", "postgres://kepu:pw@postgres:5432/kepu"),
            ("KEPU_DESTINATION_RX_URL", "rtmp://rtmp:1935/live/backup"),
        ]),
    )
    .expect("compose channel.toml");
    assert_eq!(c.node.name, "backup");
    assert_eq!(c.node.role, NodeRole::Backup);
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:8080");
    assert!(c.server.database.starts_with("postgres://"));
    assert_eq!(c.destinations[0].url, "rtmp://rtmp:1935/live/backup");

    // The ConfigMap's channel.toml, as the StatefulSets give it its environment.
    let cm = std::fs::read_to_string(root().join("deploy/k8s/configmap.yaml")).expect("cm");
    let body: String = cm
        .split_once("channel.toml: |\n")
        .expect("channel.toml in the ConfigMap")
        .1
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let c = ChannelConfig::parse(
        Path::new("configmap.yaml"),
        &body,
        &env(&[
            ("KEPU_NODE_NAME", "main"),
            ("KEPU_NODE_ROLE", "main"),
            ("KEPU_DATABASE_URL", "postgres://kepu:pw@db:5432/kepu"),
            (
                "KEPU_DESTINATION_PRIMARY_URL",
                "rtmp://push.example.com/live/k",
            ),
        ]),
    )
    .expect("ConfigMap channel.toml");
    assert_eq!(c.node.role, NodeRole::Main);
    assert_eq!(c.destinations.len(), 1);

    // A wrong role is refused naming the field.
    let e = ChannelConfig::parse(
        &compose,
        &text,
        &env(&[
            ("KEPU_NODE_ROLE", "spare"),
            ("KEPU_DESTINATION_RX_URL", "rtmp://x/y/z"),
        ]),
    )
    .expect_err("a wrong role");
    assert!(e.to_string().contains("node.role"), "{e}");
}
