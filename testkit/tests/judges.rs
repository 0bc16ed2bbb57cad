//! The judges must catch real defects in real ffprobe/ffmpeg output (no network).

mod common;

use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use common::{FLV_TOLERANCE, run_bounded};
use testkit::probe::{self, describe_violations};

/// An FLV with a 1 s jump in video and audio after frame 25, made by ffmpeg itself.
#[test]
fn timestamp_jumps_are_reported_where_they_are() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("jump.flv");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "color=c=0xFF0000:s=160x90:r=25:d=2"])
        .args(["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=2"])
        .args(["-vf", "setpts=PTS+gte(N\\,25)/TB"])
        .args(["-af", "asetpts=PTS+gte(PTS*TB\\,1)/TB"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        .arg(&path);
    run_bounded(cmd, Duration::from_secs(20))?;
    let p = probe::packets(&path)?;

    let v = p.video_steps_exact(25, 1, FLV_TOLERANCE);
    assert_eq!(v.len(), 1, "{}", describe_violations(&v));
    assert_eq!(v[0].index, 25);
    assert_eq!(v[0].pts - v[0].prev_pts, 1040, "{}", v[0]);
    assert_eq!(v[0].actual_ns, 1_040_000_000);
    let msg = describe_violations(&v);
    assert!(msg.contains("video step at #25"), "{msg}");

    let a = p.audio_continuity(FLV_TOLERANCE);
    assert_eq!(a.len(), 1, "{}", describe_violations(&a));
    assert!(
        (a[0].actual_ns - 1_000_000_000).abs() <= 25_000_000,
        "{}",
        a[0]
    );

    // Missing audio counts as silence (silences() fills timestamp gaps first).
    let s = probe::silences(&path, -50.0, Duration::from_millis(500))?;
    assert_eq!(s.len(), 1, "{s:?}");
    let start = p.start_ns().expect("packets");
    let (hole_start, hole_end) = (s[0].start_ns - start, s[0].end_ns.expect("ends") - start);
    assert!((hole_start - 1_000_000_000).abs() <= 30_000_000, "{s:?}");
    assert!((hole_end - 2_000_000_000).abs() <= 30_000_000, "{s:?}");
    Ok(())
}
