//! SrtListener with a real ffmpeg caller, and the raw 33-bit PTS judge.

mod common;

use std::time::Duration;

use anyhow::Result;
use common::{assert_red_then_green, publish_red_green};
use testkit::SrtListener;
use testkit::probe::{self, count_wraps, describe_violations, ts_raw_pts};
use testkit::time::MPEGTS_PTS_WRAP;

/// MPEG-TS timestamps are exact 90 kHz ticks: allow 0.1 ms.
const GONE: Duration = Duration::from_secs(10);

/// MPEG-TS timestamps are exact 90 kHz ticks: allow 0.1 ms.
const TS_TOLERANCE: Duration = Duration::from_micros(100);

#[test]
fn records_red_then_green_over_encrypted_srt() -> Result<()> {
    let mut rx = SrtListener::builder()
        .passphrase("kepu-secret-42")
        .pbkeylen(16)
        .streamid("kepu/main")
        .start()?;
    assert!(rx.url().starts_with("srt://127.0.0.1:"));
    assert!(
        rx.caller_url()
            .contains("passphrase=kepu-secret-42&pbkeylen=16")
    );
    publish_red_green(&rx.caller_url(), "mpegts", 2, &[])?;
    rx.wait_disconnected(GONE)?;
    rx.stop()?;
    assert_eq!(rx.accepted_connections(), 1, "{}", rx.log());
    let path = rx.recording_path()?;
    let p = probe::packets(&path)?;
    let v = p.video_steps_exact(25, 1, TS_TOLERANCE);
    assert!(v.is_empty(), "{}", describe_violations(&v));
    // ffmpeg's TS muxer gives AAC packets 90 kHz-rounded durations: allow 1 tick.
    let a = p.audio_continuity(Duration::from_micros(20));
    assert!(a.is_empty(), "{}", describe_violations(&a));
    assert!(p.video.len() >= 85, "{} video packets", p.video.len());
    assert_red_then_green(&path, 2)?;
    let raw = ts_raw_pts(&path)?;
    assert!(raw.len() >= p.video.len(), "{} raw PTS", raw.len());
    Ok(())
}

#[test]
fn wrong_passphrase_is_rejected() -> Result<()> {
    let rx = SrtListener::builder()
        .passphrase("right-passphrase")
        .start()?;
    let url = format!("{}?passphrase=wrong-passphrase&pbkeylen=16", rx.url());
    assert!(publish_red_green(&url, "mpegts", 1, &[]).is_err());
    assert_eq!(rx.accepted_connections(), 0, "{}", rx.log());
    Ok(())
}

#[test]
fn raw_pts_shows_the_33_bit_wrap() -> Result<()> {
    let mut rx = SrtListener::start()?;
    // 2^33 / 90 kHz = 95443.717 s; start 1.5 s before (ffmpeg adds ~1.4 s mux delay).
    publish_red_green(&rx.url(), "mpegts", 2, &["-output_ts_offset", "95441"])?;
    rx.wait_disconnected(GONE)?;
    rx.stop()?;
    let path = rx.recording_path()?;
    let raw = ts_raw_pts(&path)?;
    let video_pid = raw.first().map(|(pid, _)| *pid).expect("PES packets");
    let mut by_pid: std::collections::BTreeMap<u16, Vec<u64>> = Default::default();
    for (pid, pts) in raw {
        assert!(pts < MPEGTS_PTS_WRAP);
        by_pid.entry(pid).or_default().push(pts);
    }
    assert_eq!(by_pid.len(), 2, "one video and one audio PID");
    for (pid, pts) in &by_pid {
        assert_eq!(
            count_wraps(pts),
            1,
            "pid {pid}: {:?}",
            &pts[..pts.len().min(5)]
        );
    }
    assert!(by_pid.contains_key(&video_pid));
    // ffprobe unwraps by moving the pre-wrap part below zero: the packets stay
    // continuous, starting at about 95442.4 − 95443.7 = −1.3 s.
    let p = probe::packets(&path)?;
    let v = p.video_steps_exact(25, 1, TS_TOLERANCE);
    assert!(v.is_empty(), "{}", describe_violations(&v));
    let first = *p.video_pts_ns().first().expect("video");
    assert!(
        first < 0,
        "ffprobe did not unwrap as documented: first pts {first} ns"
    );
    Ok(())
}

#[test]
fn reconnect_appends_and_restart_starts_a_new_file() -> Result<()> {
    let mut rx = SrtListener::start()?;
    let port = rx.port();
    publish_red_green(&rx.url(), "mpegts", 1, &[])?;
    publish_red_green(&rx.url(), "mpegts", 1, &[])?;
    rx.wait_disconnected(GONE)?;
    assert_eq!(rx.accepted_connections(), 2, "{}", rx.log());
    rx.restart()?;
    assert_eq!(rx.port(), port);
    publish_red_green(&rx.url(), "mpegts", 1, &[])?;
    rx.wait_disconnected(GONE)?;
    rx.stop()?;
    let files = rx.recordings();
    assert_eq!(files.len(), 2, "{files:?}");
    let first = probe::packets(&files[0])?.video.len();
    let second = probe::packets(&files[1])?.video.len();
    // Two sessions appended vs one (each ~50 frames minus the SRT tail loss).
    assert!(
        (80..=100).contains(&first),
        "first file: {first} video packets"
    );
    assert!(
        (40..=50).contains(&second),
        "second file: {second} video packets"
    );
    assert_eq!(rx.accepted_connections(), 3);
    Ok(())
}
