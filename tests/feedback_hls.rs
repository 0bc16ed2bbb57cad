//! Our own audience, counted with real HLS clients: ffmpeg writes a live HLS stream (2 s
//! of 25 fps 320×180 per second of wall time, 1 s segments) where the engine's preview
//! would be; the daemon's app serves it publicly at `/live/index.m3u8` on a real socket;
//! N ffmpeg readers join, some leave, and the viewer count (sampled into figures with source
//! `hls` and the `kepu_feedback_viewers{platform="kepu_hls"}` gauge) follows within one idle
//! window (3 s here; 30 s in service). A reader that fetches the playlists once and never a
//! segment is never counted.

mod auth_common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_common::world;
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::feedback::FeedbackOptions;
use kepu_playout::feedback::hls::SessionOptions;
use kepu_playout::web::{AppState, Services, app_with};

const IDLE: Duration = Duration::from_secs(3);

/// Kills a child process when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn reader(port: u16) -> Proc {
    Proc(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
            .arg(format!("http://127.0.0.1:{port}/live/index.m3u8"))
            .args(["-map", "0", "-c", "copy", "-f", "null", "-"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg reader"),
    )
}

/// The gauge of our own stream's viewers.
fn viewers(metrics: &kepu_playout::metrics::Metrics) -> Option<i64> {
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with("kepu_feedback_viewers{platform=\"kepu_hls\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Waits until the count is `want` (at most `within`); returns how long it took.
async fn until(metrics: &kepu_playout::metrics::Metrics, want: i64, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        if viewers(metrics) == Some(want) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < within,
            "viewers {:?}, expected {want} within {within:?}",
            viewers(metrics)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_readers_join_and_leave_and_the_count_follows_within_one_idle_window() {
    if !ffmpeg_available() {
        assert!(std::env::var_os("CI").is_none(), "ffmpeg is needed in CI");
        eprintln!("ffmpeg not available: test skipped");
        return;
    }
    let w = world().await;
    let hls = w.dir.path().join("hls");
    std::fs::create_dir_all(&hls).expect("hls dir");
    let _writer = Proc(
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                "-re",
                "-f",
                "lavfi",
            ])
            .args(["-i", "testsrc2=size=320x180:rate=25"])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "25",
            ])
            .args(["-f", "hls", "-hls_time", "1", "-hls_list_size", "6"])
            .args(["-hls_flags", "delete_segments", "-hls_segment_filename"])
            .arg(hls.join("seg%05d.ts"))
            .arg(hls.join("live.m3u8"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg writer"),
    );
    let app = app_with(
        AppState {
            catalog: w.catalog.clone(),
            probe: ProbeOptions::default(),
        },
        Services {
            accounts: w.accounts.clone(),
            asrun: w.asrun.clone(),
            metrics: w.metrics.clone(),
            air: None,
            preview_dir: Some(hls.clone()),
            ingest_keys: None,
            uploads: None,
        },
        FeedbackOptions {
            public_hls: true,
            sessions: SessionOptions {
                idle: IDLE,
                ..SessionOptions::default()
            },
            sample_every: Duration::from_millis(250),
            pollers: Vec::new(),
            ..FeedbackOptions::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let t0 = Instant::now();
    while !hls.join("live.m3u8").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the writer made no playlist"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until(&w.metrics, 0, Duration::from_secs(5)).await;

    // The player page and the stream are public; the playlist hands out a session.
    let client = reqwest_free::Client::new(port);
    let (status, page) = client.get("/watch").await;
    assert_eq!(status, 200);
    assert!(page.contains("/assets/vendor/hls.min.js") && page.contains("/watch/player.js"));
    let (status, master) = client.get("/live/index.m3u8").await;
    assert_eq!(status, 200);
    let media = master
        .lines()
        .find(|l| l.starts_with("live.m3u8?s="))
        .expect("a session in the master playlist")
        .to_string();
    let (status, playlist) = client.get(&format!("/live/{media}")).await;
    assert_eq!(status, 200);
    let token = &media["live.m3u8?s=".len()..];
    assert!(
        playlist
            .lines()
            .any(|l| l.ends_with(&format!(".ts?s={token}"))),
        "{playlist}"
    );
    let (status, _) = client.get("/live/kepu.db").await;
    assert_eq!(status, 404);

    // Three readers join.
    let mut readers: Vec<Proc> = (0..3).map(|_| reader(port)).collect();
    let joined = until(&w.metrics, 3, Duration::from_secs(20)).await;
    eprintln!("3 readers counted after {joined:?}");
    // The playlist-only reader above is never among them; two readers leave.
    readers.truncate(1);
    let left = until(&w.metrics, 1, IDLE + Duration::from_secs(3)).await;
    eprintln!("2 readers gone, count 1 after {left:?} (idle window {IDLE:?})");
    assert!(
        left >= IDLE - Duration::from_millis(500),
        "not before the idle window: {left:?}"
    );
    // The count holds while the last reader watches.
    tokio::time::sleep(IDLE + Duration::from_secs(1)).await;
    assert_eq!(
        viewers(&w.metrics),
        Some(1),
        "a watching reader stays counted"
    );
    readers.clear();
    until(&w.metrics, 0, IDLE + Duration::from_secs(3)).await;

    // The samples are figures of source hls on the organiser's own channel.
    let store = kepu_playout::feedback::repo::FeedbackStore::new(w.catalog.store().clone());
    let now = kepu_playout::store::now_ms();
    let figures = store
        .figures(&[], now - 120_000, now + 1_000, 100_000)
        .await
        .expect("figures");
    assert!(
        figures
            .iter()
            .all(|f| f.source == "hls" && f.kind == "viewers")
    );
    let values: std::collections::BTreeSet<i64> = figures.iter().map(|f| f.value).collect();
    for v in [0, 1, 3] {
        assert!(values.contains(&v), "a sample of {v}: {values:?}");
    }
    assert!(
        !values.contains(&4),
        "the playlist-only reader was never counted: {values:?}"
    );
    let channels = store.channels(None).await.expect("channels");
    assert_eq!(channels.len(), 1);
    assert_eq!(
        (channels[0].platform.as_str(), channels[0].unit_id),
        ("kepu_hls", None)
    );
    server.abort();
}

/// A minimal HTTP/1.1 GET over a socket (the test needs no HTTP client crate).
mod reqwest_free {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Client {
        port: u16,
    }

    impl Client {
        pub fn new(port: u16) -> Self {
            Self { port }
        }

        /// (status, body as text).
        pub async fn get(&self, path: &str) -> (u16, String) {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .expect("connect");
            let req =
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.expect("write");
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await.expect("read");
            let text = String::from_utf8_lossy(&buf).into_owned();
            let status = text
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let body = text
                .split_once("\r\n\r\n")
                .map_or("", |(_, b)| b)
                .to_string();
            (status, body)
        }
    }
}
