//! Benchmarks of live sources (ignored: run with
//! `cargo nextest run -p playout --test live_bench --run-ignored only --no-capture`):
//! the engine's CPU per programme-second with a 1080p25 H.264 RTSP camera on air against the
//! same picture from a 1080p25 H.264 file, and the distribution of return-to-air times over
//! 20 camera restarts. Small output profile (640×360 ultrafast) so the source's cost is not
//! buried under x264's; the camera's own encoder runs in its own process and is not counted.

mod common;

use common::*;
use playout::Event;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testkit::clips::Clip;
use testkit::{CameraCodec, CameraOptions, FfmpegRtmpListener, RtspCamera, palette};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

/// CPU time of this process (user + system), in clock ticks of 10 ms.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let u: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let s: u64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    u + s
}

/// CPU ms per programme second while `source` is on air (measured over 15 s of it).
async fn cpu_per_programme_second(source: String) -> u64 {
    let mut ff = FfmpegRtmpListener::start().expect("receiver");
    let mut run = start(destinations(&[("ffmpeg", ff.url())]), 0);
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine
        .cue(vec![
            playout::Cue::follow("src", source)
                .with_length(25 * 25)
                .at(first),
        ])
        .expect("cued");
    assert!(
        run.until(Duration::from_secs(10), |e| matches!(
            e,
            Event::ItemStarted { .. }
        ))
        .await
        .is_some()
    );
    run.until(Duration::from_secs(3), |_| false).await;
    let (c0, f0) = (
        cpu_ticks(),
        run.engine.status().await.expect("status").frame,
    );
    run.until(Duration::from_secs(15), |_| false).await;
    let st = run.engine.status().await.expect("status");
    let (c1, f1) = (cpu_ticks(), st.frame);
    assert!(
        st.on_air.is_some_and(|o| !o.fallback),
        "the source was on air"
    );
    run.engine.stop().await;
    let _ = ff.stop();
    (c1 - c0) * 10 * 25 / (f1 - f0).max(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn cpu_of_an_rtsp_1080p25_source_against_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = RtspCamera::start(CameraOptions {
        fps: 25,
        size: (1920, 1080),
        ..CameraOptions::new(CameraCodec::H264, palette::MAGENTA)
    })
    .expect("camera");
    let file = Clip {
        no_audio: true,
        ..Clip::new(palette::MAGENTA, 1000.0)
            .size(1920, 1080)
            .frames(25 * 25)
    }
    .generate(dir.path())
    .expect("clip");
    let rtsp = cpu_per_programme_second(cam.url()).await;
    let from_file = cpu_per_programme_second(file.display().to_string()).await;
    eprintln!(
        "CPU per programme-second: RTSP 1080p25 {rtsp} ms, file 1080p25 {from_file} ms, ratio {}.{:02}",
        rtsp * 100 / from_file.max(1) / 100,
        rtsp * 100 / from_file.max(1) % 100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn return_to_air_over_20_camera_restarts() {
    let mut cam =
        RtspCamera::start(CameraOptions::new(CameraCodec::H264, palette::MAGENTA)).expect("camera");
    let mut ff = FfmpegRtmpListener::start().expect("receiver");
    let mut run = start(destinations(&[("ffmpeg", ff.url())]), 0);
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine
        .cue(vec![playout::Cue::follow("cam", cam.url()).at(first)])
        .expect("cued");
    assert!(
        run.until(Duration::from_secs(10), |e| matches!(
            e,
            Event::ItemStarted { .. }
        ))
        .await
        .is_some()
    );
    run.until(Duration::from_secs(2), |_| false).await;
    let timeline = run.engine.timeline();
    let mut ms = Vec::new();
    for i in 0..20 {
        cam.stop().expect("stop");
        assert!(
            run.until(Duration::from_secs(10), |e| matches!(
                e,
                Event::FallbackOn { .. }
            ))
            .await
            .is_some(),
            "restart {i}: fallback"
        );
        cam.start_again().expect("start");
        let serving = unix_now();
        let mut back = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while back.is_none() && std::time::Instant::now() < deadline {
            run.until(Duration::from_millis(200), |e| {
                matches!(e, Event::FallbackOff { .. })
            })
            .await;
            back = run.seen.iter().rev().find_map(|(_, e)| match e {
                Event::FallbackOff { frame, .. } => Some(*frame),
                _ => None,
            });
        }
        let frame = back.unwrap_or_else(|| panic!("restart {i}: back on air"));
        ms.push((timeline.unix_ns_of(frame) as i64 - serving as i64) / 1_000_000);
        run.seen.clear();
        run.until(Duration::from_secs(1), |_| false).await;
    }
    run.engine.stop().await;
    let _ = ff.stop();
    ms.sort();
    eprintln!(
        "return to air after the camera serves again, 20 restarts (ms): min {} median {} p90 {} max {}; all: {ms:?}",
        ms[0], ms[10], ms[17], ms[19]
    );
    assert!(ms[19] <= 2000, "{ms:?}");
}
