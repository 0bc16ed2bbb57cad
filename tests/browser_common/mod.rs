//! Running the browser scripts of `tests/browser/` (Node with playwright-core driving
//! Debian's Chromium): whether they can run here, and one script run, bounded, with its
//! output kept for the failure message.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A helper process (a server, a writer, a script), killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `program` is on the `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Debian's Chromium; never a downloaded browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// `tests/browser`.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Where screenshots of `name` go (kept after the run).
pub fn shots_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/artefacts")
        .join(name);
    std::fs::create_dir_all(&d).expect("artefacts dir");
    d
}

/// Whether the browser side can run (Chromium, node, the node modules, and the `extra`
/// programs the test also needs); under `CI` a missing piece is a failure, elsewhere the test
/// says it skipped and why.
pub fn browser_ready(test: &str, extra: &[&str]) -> bool {
    let mut missing: Vec<&str> = [
        (!Path::new(CHROMIUM).exists()).then_some("chromium (apt-get install chromium)"),
        (!on_path("node")).then_some("node"),
        (!browser_dir().join("node_modules/playwright-core").exists())
            .then_some("tests/browser/node_modules (npm ci --prefix tests/browser)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    missing.extend(extra.iter().filter(|p| !on_path(p)));
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI: the {test} browser test needs {}",
        missing.join(", ")
    );
    eprintln!(
        "SKIPPED {test} browser test: missing {} (./run.sh test installs them)",
        missing.join(", ")
    );
    false
}

/// Runs `tests/browser/SCRIPT` with `envs`, at most `limit`; its output is written to
/// `log` and returned. Panics with the output when it fails or runs out of time, adding
/// `context()` (the daemon's log, say).
pub fn run_script(
    script: &str,
    envs: &[(&str, String)],
    log: &Path,
    limit: Duration,
    context: impl Fn() -> String,
) -> String {
    let out = std::fs::File::create(log).expect("browser log");
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join(script))
        .current_dir(browser_dir())
        .stdout(Stdio::from(out.try_clone().expect("log")))
        .stderr(Stdio::from(out));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut node = cmd.spawn().expect("node starts");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = node.try_wait().expect("node status") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            let _ = node.wait();
            panic!(
                "{script} did not finish in time:\n{}\n--- context ---\n{}",
                std::fs::read_to_string(log).unwrap_or_default(),
                context()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    println!("{text}");
    assert!(
        status.success(),
        "{script} failed ({status}):\n{text}\n--- context ---\n{}",
        context()
    );
    text
}
