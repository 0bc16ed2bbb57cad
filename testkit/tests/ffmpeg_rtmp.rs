//! FfmpegRtmpListener with a real ffmpeg publisher.

mod common;

use std::time::Duration;

use anyhow::Result;
use common::{FLV_TOLERANCE, assert_red_then_green, publish_red_green};
use testkit::FfmpegRtmpListener;
use testkit::probe::{self, describe_violations};
use testkit::time::RTMP_24BIT_WRAP_NS;

#[test]
fn records_red_then_green_with_continuous_timestamps() -> Result<()> {
    let mut rx = FfmpegRtmpListener::start()?;
    assert!(rx.url().starts_with("rtmp://127.0.0.1:"));
    publish_red_green(&rx.url(), "flv", 2, &[])?;
    assert!(
        rx.wait_finished(Duration::from_secs(10))?,
        "log:\n{}",
        rx.log()
    );
    let path = rx.recording_path()?;
    let p = probe::packets(&path)?;
    let v = p.video_steps_exact(25, 1, FLV_TOLERANCE);
    assert!(v.is_empty(), "{}", describe_violations(&v));
    let a = p.audio_continuity(FLV_TOLERANCE);
    assert!(a.is_empty(), "{}", describe_violations(&a));
    assert_eq!(p.video.len(), 100);
    assert!(p.video[0].key, "first video packet must be a key frame");
    let d = p.duration();
    assert!(
        d >= Duration::from_millis(3950) && d <= Duration::from_millis(4100),
        "{d:?}"
    );
    let cut = assert_red_then_green(&path, 2)?;
    // The cut is 2 s after the first frame. (ffmpeg's FLV muxer shifts everything by
    // +21 ms here so that the AAC priming frame does not start below 0.)
    let first = *p.video_pts_ns().first().expect("video");
    assert_eq!(cut - first, 2_000_000_000);
    let silences = probe::silences(&path, -50.0, Duration::from_millis(50))?;
    assert!(silences.is_empty(), "{silences:?}");
    Ok(())
}

#[test]
fn keeps_absolute_timestamps_past_2_pow_24_ms() -> Result<()> {
    let mut rx = FfmpegRtmpListener::start()?;
    publish_red_green(&rx.url(), "flv", 2, &["-output_ts_offset", "16775"])?;
    assert!(
        rx.wait_finished(Duration::from_secs(10))?,
        "log:\n{}",
        rx.log()
    );
    let path = rx.recording_path()?;
    let p = probe::packets(&path)?;
    let pts = p.video_pts_ns();
    let first = *pts.first().expect("video packets");
    let last = *pts.last().expect("video packets");
    assert_eq!(first, 16_775_000_000_000, "not rebased");
    assert!(last > RTMP_24BIT_WRAP_NS, "last video pts {last} ns");
    let v = p.video_steps_exact(25, 1, FLV_TOLERANCE);
    assert!(v.is_empty(), "{}", describe_violations(&v));
    let a = p.audio_continuity(FLV_TOLERANCE);
    assert!(a.is_empty(), "{}", describe_violations(&a));
    let cut = assert_red_then_green(&path, 2)?;
    assert_eq!(cut, 16_777_000_000_000);
    Ok(())
}

#[test]
fn restart_records_a_second_file_on_the_same_port() -> Result<()> {
    let mut rx = FfmpegRtmpListener::start()?;
    let port = rx.port();
    publish_red_green(&rx.url(), "flv", 1, &[])?;
    assert!(rx.wait_finished(Duration::from_secs(10))?);
    assert!(!rx.is_running());
    rx.restart()?;
    assert_eq!(rx.port(), port);
    assert!(rx.is_running());
    publish_red_green(&rx.url(), "flv", 1, &[])?;
    assert!(rx.wait_finished(Duration::from_secs(10))?);
    rx.stop()?;
    let files = rx.recordings();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        assert_eq!(probe::packets(f)?.video.len(), 50, "{}", f.display());
    }
    assert_eq!(rx.recording_path()?, files[1]);
    Ok(())
}
