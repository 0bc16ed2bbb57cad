//! NginxRtmp with a real ffmpeg publisher.

mod common;

use std::time::Duration;

use anyhow::Result;
use common::{FLV_TOLERANCE, assert_red_then_green, publish_red_green};
use testkit::NginxRtmp;
use testkit::probe::{self, describe_violations};
use testkit::time::RTMP_24BIT_WRAP_NS;

const IDLE: Duration = Duration::from_secs(10);

#[test]
fn records_red_then_green_with_continuous_timestamps() -> Result<()> {
    let mut rx = NginxRtmp::with_key("prog")?;
    assert!(rx.url().ends_with("/live/prog"), "{}", rx.url());
    publish_red_green(&rx.url(), "flv", 2, &[])?;
    rx.wait_idle(IDLE)?;
    rx.stop()?;
    let files = rx.recordings()?;
    assert_eq!(files.len(), 1, "{files:?}\n{}", rx.log());
    let path = rx.recording_path()?;
    let p = probe::packets(&path)?;
    let v = p.video_steps_exact(25, 1, FLV_TOLERANCE);
    assert!(v.is_empty(), "{}", describe_violations(&v));
    let a = p.audio_continuity(FLV_TOLERANCE);
    assert!(a.is_empty(), "{}", describe_violations(&a));
    assert_eq!(p.video.len(), 100);
    assert_red_then_green(&path, 2)?;
    assert_eq!(rx.publish_count(), 1, "{}", rx.log());
    Ok(())
}

/// What the module header documents: nginx-rtmp `record` keeps the publisher's
/// absolute timestamps (no rebasing to 0) and crosses 2^24 ms cleanly.
#[test]
fn nginx_keeps_absolute_timestamps_past_2_pow_24_ms() -> Result<()> {
    let mut rx = NginxRtmp::start()?;
    publish_red_green(&rx.url(), "flv", 2, &["-output_ts_offset", "16775"])?;
    rx.wait_idle(IDLE)?;
    rx.stop()?;
    let path = rx.recording_path()?;
    let p = probe::packets(&path)?;
    let pts = p.video_pts_ns();
    let first = *pts.first().expect("video packets");
    let last = *pts.last().expect("video packets");
    assert_eq!(first, 16_775_000_000_000, "nginx rebased the recording");
    assert!(last > RTMP_24BIT_WRAP_NS, "last video pts {last} ns");
    let v = p.video_steps_exact(25, 1, FLV_TOLERANCE);
    assert!(v.is_empty(), "{}", describe_violations(&v));
    let a = p.audio_continuity(FLV_TOLERANCE);
    assert!(a.is_empty(), "{}", describe_violations(&a));
    assert_eq!(assert_red_then_green(&path, 2)?, 16_777_000_000_000);
    Ok(())
}

#[test]
fn restart_on_the_same_port_gives_a_second_recording() -> Result<()> {
    let mut rx = NginxRtmp::start()?;
    let url = rx.url();
    publish_red_green(&url, "flv", 1, &[])?;
    rx.wait_idle(IDLE)?;
    rx.restart(Duration::from_millis(500))?;
    assert_eq!(rx.url(), url);
    assert!(rx.is_running());
    publish_red_green(&url, "flv", 1, &[])?;
    rx.wait_idle(IDLE)?;
    rx.stop()?;
    let files = rx.recordings()?;
    assert_eq!(files.len(), 2, "{files:?}\n{}", rx.log());
    for f in &files {
        assert_eq!(probe::packets(f)?.video.len(), 50, "{}", f.display());
    }
    assert_eq!(rx.publish_count(), 2);
    Ok(())
}

#[test]
fn publishing_while_stopped_fails() -> Result<()> {
    let mut rx = NginxRtmp::start()?;
    rx.stop()?;
    assert!(!rx.is_running());
    assert!(publish_red_green(&rx.url(), "flv", 1, &[]).is_err());
    rx.start_again()?;
    assert!(rx.is_running());
    Ok(())
}
