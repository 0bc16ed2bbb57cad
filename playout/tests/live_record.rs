//! Live windows recorded as they air (回放 material, as-run evidence), against real peers:
//! an RTSP camera (GStreamer RTSP server, through retina) restarted mid-window, and an
//! ffmpeg SRT caller pushing into our listener (through GStreamer). The recording is the
//! feed's own H.264 and AAC (the camera's 320×180, not the programme's size: not
//! re-encoded), ffprobe reads every segment, and its length matches the window less the
//! time the feed was down; a restart adds a segment to the same window's directory.

mod common;

use common::*;
use playout::source::live::ingest::{FeedId, IngestHub, KeyCheck};
use playout::source::live::{LiveOptions, Manifest, RecordPlan, RecordPlanner};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use testkit::clips::Clip;
use testkit::{CameraCodec, CameraOptions, FfmpegRtmpListener, FfmpegSender, RtspCamera, palette};

/// Records every live source into `root/<n>` and keeps the endings it hears.
#[derive(Debug)]
struct Planner {
    root: PathBuf,
    ended: Mutex<Vec<(PathBuf, Manifest)>>,
    planned: Mutex<Vec<(String, SystemTime)>>,
}

impl RecordPlanner for Planner {
    fn plan(&self, locator: &str, at: SystemTime) -> Option<RecordPlan> {
        let mut p = self.planned.lock().expect("lock");
        p.push((locator.to_string(), at));
        Some(RecordPlan {
            dir: self.root.join(format!("window-{}", p.len())),
            segment: Duration::from_secs(4),
        })
    }
    fn ended(&self, dir: &Path, manifest: &Manifest) {
        self.ended
            .lock()
            .expect("lock")
            .push((dir.to_path_buf(), manifest.clone()));
    }
}

fn planner(root: &Path) -> Arc<Planner> {
    Arc::new(Planner {
        root: root.to_path_buf(),
        ended: Mutex::new(Vec::new()),
        planned: Mutex::new(Vec::new()),
    })
}

/// Waits (up to 15 s) for the recording to be reported ended.
async fn ended(p: &Planner) -> (PathBuf, Manifest) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(e) = p.ended.lock().expect("lock").first().cloned() {
            return e;
        }
        assert!(Instant::now() < deadline, "the recording never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Codec names and the picture size of a file's streams, by ffprobe.
fn streams(path: &Path) -> (Vec<String>, (u32, u32)) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe {}", path.display());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut codecs = Vec::new();
    let mut size = (0, 0);
    for s in v["streams"].as_array().cloned().unwrap_or_default() {
        codecs.push(s["codec_name"].as_str().unwrap_or("").to_string());
        if let (Some(w), Some(h)) = (s["width"].as_u64(), s["height"].as_u64()) {
            size = (w as u32, h as u32);
        }
    }
    codecs.sort();
    (codecs, size)
}

/// Checks every segment and returns their summed length.
fn judge_segments(dir: &Path, m: &Manifest, video: &str) -> Duration {
    assert!(!m.segments.is_empty(), "no segment: {m:?}");
    let mut total = Duration::ZERO;
    for s in &m.segments {
        let path = dir.join(s);
        let (codecs, size) = streams(&path);
        assert_eq!(
            codecs,
            vec!["aac".to_string(), video.to_string()],
            "{s}: the feed's own codecs"
        );
        assert_eq!(size, (320, 180), "{s}: the feed's own picture size");
        let p = testkit::probe::packets(&path).expect("ffprobe packets");
        total += p.duration();
    }
    total
}

/// The engine on air to a receiver, its live sources recorded by `recorder` (and pushes
/// taken by `ingest`, if any); with the 1 s green clip that follows each window.
fn recorded_air(
    dir: &Path,
    recorder: Arc<dyn RecordPlanner>,
    ingest: Option<IngestHub>,
) -> (Run, FfmpegRtmpListener, PathBuf) {
    let (run, ff) = on_air(LiveOptions {
        ingest,
        recorder: Some(recorder),
        ..LiveOptions::default()
    });
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(25), dir);
    (run, ff, green)
}

/// A magenta H.264 camera at 25 fps with a 1 kHz tone (a real GStreamer RTSP server).
fn camera() -> RtspCamera {
    RtspCamera::start(CameraOptions {
        tone_hz: Some(1000),
        fps: 25,
        ..CameraOptions::new(CameraCodec::H264, palette::MAGENTA)
    })
    .expect("camera")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_window_is_recorded_and_a_restart_adds_a_segment_not_a_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec_root = dir.path().join("rec");
    let mut cam = camera();
    let plan = planner(&rec_root);
    let (mut run, mut ff, green) = recorded_air(dir.path(), plan.clone(), None);
    let first = run.frame_in(Duration::from_millis(3000));
    // 16 s of camera (pre-rolled), then a file.
    let window: u64 = 400;
    run.engine
        .cue(vec![
            playout::Cue::follow("cam", cam.url())
                .with_length(window)
                .at(first),
            cue("after", &green, 25),
        ])
        .expect("cued");
    run.wait_started("cam", Duration::from_secs(10)).await;
    run.air_for(Duration::from_secs(4)).await;
    // The camera restarts mid-window: down from here …
    cam.stop().expect("camera stopped");
    let stopped = Instant::now();
    run.air_for(Duration::from_secs(2)).await;
    cam.start_again().expect("camera back");
    let back = run
        .expect(
            Duration::from_secs(10),
            fallback_off("cam"),
            "camera back on air",
        )
        .await;
    // … to its first frame again (the source is ready a jitter buffer after it).
    let down = back
        .duration_since(stopped)
        .saturating_sub(Duration::from_millis(500));
    run.wait_ended("after", Duration::from_secs(20)).await;
    let (rec_dir, m) = ended(&plan).await;
    run.engine.stop().await;
    let _ = ff.stop();

    // One window, one directory, complete; the restart opened a segment of its own.
    assert_eq!(plan.planned.lock().expect("lock").len(), 1, "one window");
    assert_eq!(rec_dir, rec_root.join("window-1"));
    assert_eq!(Manifest::read(&rec_dir).expect("manifest"), m);
    assert!(m.error.is_none(), "{m:?}");
    assert!(m.ended_unix_ms.is_some(), "{m:?}");
    assert_eq!(m.connections, 2, "{m:?}");
    // 16 s in 4 s segments, split once more by the restart.
    assert!(m.segments.len() >= 4, "{m:?}");
    let recorded = judge_segments(&rec_dir, &m, "h264");
    let expected = Duration::from_millis(window * 40).saturating_sub(down);
    let diff = recorded.abs_diff(expected);
    eprintln!(
        "recorded {recorded:?} in {} segments; window {} ms, down {down:?}, expected {expected:?}",
        m.segments.len(),
        window * 40
    );
    assert!(
        diff <= Duration::from_secs(1),
        "recorded {recorded:?}, expected {expected:?} (window less {down:?} down)"
    );
    // The air: on its frames, whatever the recorder did.
    assert!(run.ended("after"));
    cam.stop().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_srt_push_is_recorded_as_its_own_h264_and_aac() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec_root = dir.path().join("rec");
    let plan = planner(&rec_root);
    let (mut run, mut ff, green) = recorded_air(dir.path(), plan.clone(), None);
    let srt_in = SrtIn::new();
    let first = run.frame_in(Duration::from_millis(4000));
    let window: u64 = 250;
    run.engine
        .cue(vec![
            playout::Cue::follow("push", srt_in.locator())
                .with_length(window)
                .at(first),
            cue("after", &green, 25),
        ])
        .expect("cued");
    let _caller = srt_in.push(palette::RED, 60, &[]);
    judge_push(&mut run, &mut ff, &plan, "push", window, "srt push").await;
}

/// After a push of item `id` into a `window`-frame slot (then the next item): the push was
/// on air all its window (it was pre-rolled: nothing missing), and its recording is one
/// connection, complete, the feed's own codecs and size, as long as the window (± 1 s).
async fn judge_push(
    run: &mut Run,
    ff: &mut FfmpegRtmpListener,
    plan: &Planner,
    id: &str,
    window: u64,
    label: &str,
) {
    run.wait_ended("after", Duration::from_secs(30)).await;
    // Down only if the push was late to start.
    let fallback = run.fell_back(id);
    let (rec_dir, m) = ended(plan).await;
    run.engine.stop().await;
    let _ = ff.stop();
    assert!(m.error.is_none(), "{m:?}");
    assert_eq!(m.connections, 1, "{m:?}");
    let recorded = judge_segments(&rec_dir, &m, "h264");
    eprintln!(
        "{label}: recorded {recorded:?} in {} segments, window {} ms",
        m.segments.len(),
        window * 40
    );
    assert!(
        !fallback,
        "the push was on air all its window: {:?}",
        run.seen
    );
    let diff = recorded.abs_diff(Duration::from_millis(window * 40));
    assert!(diff <= Duration::from_secs(1), "recorded {recorded:?}");
}

/// Records into `root/window-N` where the second segment is `/dev/full` (a disk that fills
/// up mid-window).
#[derive(Debug)]
struct FullDisk(Arc<Planner>);

impl RecordPlanner for FullDisk {
    fn plan(&self, locator: &str, at: SystemTime) -> Option<RecordPlan> {
        let plan = self.0.plan(locator, at)?;
        std::fs::create_dir_all(&plan.dir).expect("dir");
        std::os::unix::fs::symlink("/dev/full", plan.dir.join("seg-00001.ts")).expect("symlink");
        Some(RecordPlan {
            segment: Duration::from_secs(2),
            ..plan
        })
    }
    fn ended(&self, dir: &Path, manifest: &Manifest) {
        self.0.ended(dir, manifest)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_recording_not_the_air() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cam = camera();
    let plan = planner(&dir.path().join("rec"));
    let full = Arc::new(FullDisk(plan.clone()));
    let (mut run, mut ff, green) = recorded_air(dir.path(), full, None);
    let first = run.frame_in(Duration::from_millis(3000));
    run.engine
        .cue(vec![
            playout::Cue::follow("cam", cam.url())
                .with_length(250)
                .at(first),
            cue("after", &green, 25),
        ])
        .expect("cued");
    // The recording stops on the write error while the camera is still on air.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (rec_dir, m) = loop {
        if let Some(e) = plan.ended.lock().expect("lock").first().cloned() {
            break e;
        }
        assert!(Instant::now() < deadline, "the full disk was never noticed");
        run.until(Duration::from_millis(100), |_| false).await;
    };
    assert!(!run.ended("cam"), "noticed while the camera was on air");
    // The source's status says so (the daemon raises an alarm from it).
    let st = run.engine.status().await.expect("status");
    assert!(
        st.live.iter().any(|l| l
            .recording
            .as_ref()
            .is_some_and(|r| r.error.is_some() && r.dir == rec_dir.display().to_string())),
        "{:?}",
        st.live
    );
    let why = m.error.clone().unwrap_or_default();
    assert!(!why.is_empty(), "{m:?}");
    eprintln!("recording stopped: {why}");
    run.wait_ended("after", Duration::from_secs(20)).await;
    let path = run.finish(&mut ff, Duration::ZERO).await;
    // The air never noticed: the camera all its window (no fallback), then the file, every
    // frame on its time.
    assert!(!run.fell_back("cam"), "{:?}", run.seen);
    assert_continuous("ffmpeg", &path);
    // What was written before the disk filled is readable.
    let seg0 = rec_dir.join("seg-00000.ts");
    assert!(seg0.is_file(), "{m:?}");
    let (codecs, _) = streams(&seg0);
    assert!(codecs.contains(&"h264".to_string()), "{codecs:?}");
    cam.stop().ok();
}

/// The one key of the ingest test.
struct Keys;
impl KeyCheck for Keys {
    fn check(&self, _app: &str, key: &str) -> Option<FeedId> {
        (key == "partner-key-5e1f0a77").then(|| "partner".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtmp_push_into_the_ingest_is_recorded_as_its_own_h264_and_aac() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = start_ingest(Keys).await;
    let url = publish_url(&ingest, "partner-key-5e1f0a77");
    let plan = planner(&dir.path().join("rec"));
    let (mut run, mut ff, green) = recorded_air(dir.path(), plan.clone(), Some(ingest.hub()));
    let _partner = FfmpegSender::start(palette::MAGENTA, 60, "flv", &url, &[]).expect("partner");
    let first = run.frame_in(Duration::from_millis(4000));
    let window: u64 = 250;
    run.engine
        .cue(vec![
            playout::Cue::follow("partner", "ingest://partner")
                .with_length(window)
                .at(first),
            cue("after", &green, 25),
        ])
        .expect("cued");
    judge_push(&mut run, &mut ff, &plan, "partner", window, "rtmp push").await;
}
