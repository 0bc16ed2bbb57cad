//! A live feed's backup clip instead of the slate, judged at a real receiver (ffmpeg): an
//! RTSP camera (a real GStreamer RTSP server) is stopped for 6 s mid-window; the receiver
//! sees the camera's last picture held, then the backup clip (1.52 s: yellow then cyan, its
//! own 440 Hz tone) from its start, looped frame-exactly, then the camera again within 2 s
//! of its serving again, with continuous timestamps throughout.

mod common;

use common::*;
use playout::source::live::LiveOptions;
use playout::{Event, Fill};
use std::time::Duration;
use testkit::clips::{Clip, two_colour_clip};
use testkit::probe;
use testkit::{CameraCodec, CameraOptions, RtspCamera, palette};

/// The backup clip's parts, in frames.
const YELLOW_FRAMES: usize = 13;
const CYAN_FRAMES: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_camera_gets_its_backup_clip_looped_then_comes_back_on_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cam = RtspCamera::start(CameraOptions {
        tone_hz: Some(1000),
        ..CameraOptions::new(CameraCodec::H264, palette::MAGENTA)
    })
    .expect("camera");
    let backup = dir.path().join("backup.mp4");
    two_colour_clip(
        &Clip::new(palette::YELLOW, 440.0).frames(YELLOW_FRAMES as u32),
        &Clip::new(palette::CYAN, 440.0).frames(CYAN_FRAMES as u32),
        &backup,
    )
    .expect("backup clip");
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(25), dir.path());
    let (mut run, mut ff) = on_air(LiveOptions::default());
    let first = run.frame_in(Duration::from_millis(3000));
    let cam_frames = 450;
    run.engine
        .cue(vec![
            playout::Cue::follow("cam", cam.url())
                .with_length(cam_frames)
                .at(first)
                .with_backup(backup.display().to_string()),
            cue("after", &green, 25),
        ])
        .expect("cued");
    run.wait_started("cam", Duration::from_secs(10)).await;
    run.air_for(Duration::from_secs(3)).await;

    // The camera dies for 6 s: four times the backup clip.
    let backup_on = |e: &Event| {
        matches!(
            e,
            Event::FallbackOn {
                id: Some(i),
                fill: Fill::Backup,
                ..
            } if i == "cam"
        )
    };
    let stopped_at = camera_dies(
        &mut run,
        &mut cam,
        backup_on,
        "the backup after the camera died",
    )
    .await;
    let serving_at = camera_returns(
        &mut run,
        &mut cam,
        "cam",
        stopped_at,
        Duration::from_secs(6),
    )
    .await;
    run.wait_ended("after", Duration::from_secs(30)).await;
    let timeline = run.engine.timeline();
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;

    // Timestamps continuous across the outage and both switches.
    assert_continuous("ffmpeg", &path);
    let pal = [
        palette::MAGENTA,
        palette::YELLOW,
        palette::CYAN,
        palette::GREEN,
    ];
    let Pictures { runs, desc, .. } = pictures(&path, &pal);
    let frame_of = |ns: i64| (ns / FRAME_NS) as u64;
    let cam_runs: Vec<_> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.colour == Some(0))
        .collect();
    assert!(cam_runs.len() >= 2, "camera before and after: {desc}");
    let (bi, _) = cam_runs[0];
    let (ai, after) = cam_runs[cam_runs.len() - 1];
    // Between the camera's last (held) picture and its return: only the backup, never the
    // slate or anything else — yellow and cyan in turn, from the clip's start, every full
    // pass exactly as long as the clip.
    let between = &runs[bi + 1..ai];
    assert!(!between.is_empty(), "{desc}");
    for (k, r) in between.iter().enumerate() {
        let want = if k % 2 == 0 { Some(1) } else { Some(2) };
        assert_eq!(r.colour, want, "run {k} of the outage: {desc}");
        if k + 1 < between.len() {
            let len = if k % 2 == 0 {
                YELLOW_FRAMES
            } else {
                CYAN_FRAMES
            };
            assert_eq!(r.frames, len, "run {k} of the outage: {desc}");
        }
    }
    let passes = between.iter().filter(|r| r.colour == Some(1)).count();
    assert!(passes >= 3, "the clip looped: {passes} passes: {desc}");

    // The switch to the backup: within jitter + hold (+ a frame's slack) of the death, on
    // the frame the engine announced (pre-rolled: it cost no frame).
    let backup_from = frame_of(between[0].first_pts_ns);
    let died = timeline.frame_at(stopped_at);
    let announced = run
        .seen
        .iter()
        .find_map(|(_, e)| match e {
            Event::FallbackOn {
                frame,
                fill: Fill::Backup,
                ..
            } => Some(*frame),
            _ => None,
        })
        .expect("announced");
    assert_eq!(backup_from, announced, "{desc}");
    assert!(
        backup_from <= died + 25 * 3 / 2 + 3,
        "backup at frame {backup_from}, camera died at {died}: {desc}"
    );
    eprintln!(
        "switch to the backup: {} ms after the camera stopped ({} passes of the clip)",
        (backup_from as i64 - died as i64) * 40,
        passes
    );
    // Back within 2 s of serving again.
    assert_back_within_2s(&timeline, serving_at, after.first_pts_ns, &desc);

    // The backup's own sound under it (440 Hz), the camera's (1000 Hz) after it.
    let pcm = probe::audio_pcm(&path).expect("pcm");
    let freqs = [1000.0, 440.0];
    let tones = probe::tone_runs(&pcm, &freqs, 256);
    let share = |from, to, want| sound_share(&tones, from, to, want);
    let b0 = between[0].first_pts_ns + 100_000_000;
    let b1 = after.first_pts_ns - 100_000_000;
    assert!(
        share(b0, b1, probe::Sound::Tone(1)) >= 90,
        "the backup's sound under it: {}",
        probe::describe_tone_runs(&tones, &freqs)
    );
    let a0 = after.first_pts_ns + 500_000_000;
    assert!(
        share(a0, a0 + 1_000_000_000, probe::Sound::Tone(0)) >= 90,
        "camera sound after: {}",
        probe::describe_tone_runs(&tones, &freqs)
    );
    // The next item on its frame.
    let green_run = runs.iter().find(|r| r.colour == Some(3)).expect(&desc);
    assert_eq!(
        green_run.first_pts_ns,
        (first + cam_frames) as i64 * FRAME_NS,
        "{desc}"
    );
}
