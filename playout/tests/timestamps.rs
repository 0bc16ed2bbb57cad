//! Long-run timestamps: a timeline started just before the RTMP 2^24 ms and MPEG-TS 2^33
//! tick limits crosses both with continuous timestamps at the receivers.

mod common;

use common::*;
use std::time::Duration;
use testkit::probe;
use testkit::{FfmpegRtmpListener, SrtListener};

/// mpegtsmux offsets PTS by one hour (3600 s) from the running time.
const TSMUX_BASE_NS: u64 = 3_600_000_000_000;

async fn run_for(run: &mut Run, d: Duration) {
    run.until(d, |_| false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_timestamps_cross_2_pow_24_ms() {
    let mut ff = FfmpegRtmpListener::start().expect("ffmpeg");
    let limit_ns: u64 = (1 << 24) * 1_000_000;
    // Start 3 s before the limit.
    let first = (limit_ns - 3_000_000_000) / FRAME_NS as u64;
    let mut run = start(destinations(&[("ffmpeg", ff.url())]), first);
    run_for(&mut run, Duration::from_secs(6)).await;
    let st = run.engine.status().await.expect("status");
    run.engine.stop().await;
    ff.wait_finished(Duration::from_secs(10)).expect("done");
    ff.stop().expect("stop");
    assert!(
        st.frame * FRAME_NS as u64 > limit_ns + 1_000_000_000,
        "ran past the limit"
    );
    let p = assert_continuous("ffmpeg", &ff.recording_path().expect("rec"));
    let v = p.video_pts_ns();
    let (lo, hi) = (v.iter().min().copied(), v.iter().max().copied());
    assert!(
        lo < Some(limit_ns as i64) && hi > Some(limit_ns as i64 + 1_000_000_000),
        "{lo:?}..{hi:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpegts_pts_cross_2_pow_33_ticks() {
    let mut srt = SrtListener::start().expect("srt");
    let wrap_ns: u64 = (1u64 << 33) * 1_000_000_000 / 90_000;
    let first = (wrap_ns - TSMUX_BASE_NS - 3_000_000_000) / FRAME_NS as u64;
    let mut run = start(destinations(&[("srt", srt.url())]), first);
    run_for(&mut run, Duration::from_secs(7)).await;
    run.engine.stop().await;
    srt.wait_disconnected(Duration::from_secs(10))
        .expect("done");
    srt.stop().expect("stop");
    let path = srt.recording_path().expect("rec");
    assert_continuous("srt", &path);
    // The raw 33-bit PTS wrapped once on every stream.
    let raw = probe::ts_raw_pts(&path).expect("raw pts");
    let mut pids: Vec<u16> = raw.iter().map(|(p, _)| *p).collect();
    pids.sort();
    pids.dedup();
    assert!(pids.len() >= 2, "video and audio streams: {pids:?}");
    for pid in pids {
        let pts: Vec<u64> = raw
            .iter()
            .filter(|(p, _)| *p == pid)
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            probe::count_wraps(&pts),
            1,
            "pid {pid}: one wrap in {} PES",
            pts.len()
        );
    }
}
