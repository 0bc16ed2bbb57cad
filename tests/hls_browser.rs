//! A viewer keeps watching through a restart of the daemon (issue 13, fault 8): the real
//! engine writes its HLS rendition (what the dashboard preview and `/watch` serve) while
//! Debian's Chromium plays it with the vendored hls.js (`tests/browser/hls_restart.mjs`);
//! the engine is stopped and a new one started on the same directory, and the player goes on
//! from the first run's picture (red) to the second's (green) without a fatal error. Without
//! Chromium, node or the node modules the test says so and passes, except under `CI`.

#[path = "browser_common/mod.rs"]
mod browser_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use playout::{Cue, DestinationConfig, Engine, EngineConfig, OutputProfile};
use testkit::clips::Clip;
use testkit::palette;

/// The player page beside the playlist: hls.js on `live.m3u8`, and `window.sample()` giving
/// the playback position, the colour at the picture's centre and any fatal error.
const PLAYER: &str = r#"<!doctype html><meta charset="utf-8">
<video id="v" muted autoplay playsinline width="320" height="180"></video>
<canvas id="c" width="16" height="16"></canvas>
<script src="hls.min.js"></script>
<script>
const v = document.getElementById('v');
let fatal = null;
const hls = new Hls({ liveSyncDurationCount: 3 });
hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) fatal = d.type + ':' + d.details; });
hls.loadSource('live.m3u8');
hls.attachMedia(v);
v.play().catch(() => {});
window.sample = () => {
  let colour = null;
  try {
    const c = document.getElementById('c').getContext('2d');
    c.drawImage(v, 0, 0, 16, 16);
    const [r, g, b] = c.getImageData(8, 8, 1, 1).data;
    colour = r > g + 80 && r > b + 80 ? 'red' : g > r + 80 && g > b + 80 ? 'green' : `rgb(${r},${g},${b})`;
  } catch (e) { colour = 'none'; }
  return { t: v.currentTime, colour, fatal };
};
</script>
"#;

fn engine(hls: &Path, clip: &Path, colour: &str) -> Engine {
    let url = format!("hls://{}", hls.display());
    let cfg = EngineConfig::new(
        OutputProfile::small(),
        vec![DestinationConfig::new("preview", url)],
    );
    let engine = Engine::start(cfg).expect("engine starts");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64;
    let first = engine.timeline().frame_at(now + 1_000_000_000);
    engine
        .cue(vec![
            Cue::follow(colour, clip.display().to_string())
                .with_length(1500)
                .at(first),
        ])
        .expect("cued");
    engine
}

/// Polls `cond` every 100 ms until it holds or `limit` passes.
async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cond()
}

fn segments_listed(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("live.m3u8"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("seg"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_plays_through_a_restart_of_the_daemon_in_chromium() {
    if !browser_common::browser_ready("HLS", &["python3"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let hls = dir.path().join("preview");
    std::fs::create_dir_all(&hls).expect("dir");
    std::fs::write(hls.join("player.html"), PLAYER).expect("player page");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dashboard/vendor/hls.min.js"),
        hls.join("hls.min.js"),
    )
    .expect("hls.js");
    let (red, green) = tokio::task::block_in_place(|| {
        (
            Clip::new(palette::RED, 500.0)
                .frames(1500)
                .generate(dir.path())
                .expect("red clip"),
            Clip::new(palette::GREEN, 900.0)
                .frames(1500)
                .generate(dir.path())
                .expect("green clip"),
        )
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let _server = browser_common::Proc(
        Command::new("/usr/bin/python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(&hls)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server"),
    );

    // First run: red, until four segments are listed.
    let first = engine(&hls, &red, "red");
    assert!(
        wait_for(Duration::from_secs(30), || segments_listed(&hls) >= 4).await,
        "first run listed {} segments",
        segments_listed(&hls)
    );
    let log = dir.path().join("node.log");
    let out = std::fs::File::create(&log).expect("log");
    let mut node = browser_common::Proc(
        Command::new("node")
            .arg(browser_common::browser_dir().join("hls_restart.mjs"))
            .current_dir(browser_common::browser_dir())
            .env(
                "KEPU_PLAYER_URL",
                format!("http://127.0.0.1:{port}/player.html"),
            )
            .env("KEPU_SHOTS_DIR", browser_common::shots_dir("hls_restart"))
            .stdout(Stdio::from(out.try_clone().expect("log")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("node"),
    );
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let playing = wait_for(Duration::from_secs(40), || {
        read_log().lines().any(|l| l == "playing")
    })
    .await;
    assert!(playing, "the player did not start:\n{}", read_log());

    // The daemon restarts: the first engine stops, a new one starts on the same directory.
    let restart = Instant::now();
    first.stop().await;
    let second = engine(&hls, &green, "green");
    eprintln!(
        "hls browser: restarted in {:.2} s",
        restart.elapsed().as_secs_f64()
    );

    let deadline = Instant::now() + Duration::from_secs(70);
    let status = loop {
        match node.0.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => break None,
        }
    };
    second.stop().await;
    let text = read_log();
    let playlist = std::fs::read_to_string(hls.join("live.m3u8")).unwrap_or_default();
    eprintln!("hls browser: playlist at the end:\n{playlist}");
    let tail: Vec<&str> = text.lines().rev().take(12).collect();
    eprintln!("hls browser: player log (last lines, newest first):\n{tail:#?}");
    assert!(
        status.is_some_and(|s| s.success()),
        "the player did not play through the join: {status:?}\n{text}"
    );
    // The join is marked (or has already left the window, counted).
    assert!(
        playlist.contains("#EXT-X-DISCONTINUITY\n")
            || playlist.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"),
        "{playlist}"
    );
    assert!(text.contains("through the join"), "{text}");
}
