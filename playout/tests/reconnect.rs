//! Isolation and reconnect: one receiver goes away for a few seconds and comes back. It gets
//! the programme back within 2 s of listening again; the other receivers' recordings show
//! no gap at all.

mod common;

use common::*;
use playout::Event;
use std::time::Duration;
use testkit::clips::Clip;
use testkit::{FfmpegRtmpListener, NginxRtmp, SrtListener, palette};

fn programme(dir: &std::path::Path, first: u64) -> Vec<playout::Cue> {
    let colours = [palette::RED, palette::GREEN, palette::BLUE, palette::YELLOW];
    colours
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = clip(Clip::new(*c, 500.0 + 400.0 * i as f64).frames(100), dir);
            let q = cue(&format!("item{i}"), &p, 100);
            if i == 0 { q.at(first) } else { q }
        })
        .collect()
}

fn up(name: &'static str) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::DestinationUp { name: n } if n == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtmp_receiver_that_comes_back_gets_the_programme_within_2s_and_others_see_no_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut nginx = NginxRtmp::start().expect("nginx");
    let mut ff = FfmpegRtmpListener::start().expect("ffmpeg");
    let mut srt = SrtListener::start().expect("srt");
    let mut run = start(
        destinations(&[
            ("nginx", nginx.url()),
            ("ffmpeg", ff.url()),
            ("srt", srt.url()),
        ]),
        0,
    );
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine.cue(programme(dir.path(), first)).expect("cued");
    assert!(
        run.until(Duration::from_secs(10), up("nginx"))
            .await
            .is_some()
    );
    run.until(Duration::from_secs(3), |_| false).await;

    nginx.stop().expect("stop nginx");
    let down = run
        .until(
            Duration::from_secs(10),
            |e| matches!(e, Event::DestinationDown { name, .. } if name == "nginx"),
        )
        .await;
    assert!(down.is_some(), "nginx seen down: {:?}", run.seen);
    run.until(Duration::from_secs(3), |_| false).await;
    nginx.start_again().expect("nginx back");
    let listening = std::time::Instant::now();
    let back = run.until(Duration::from_secs(10), up("nginx")).await;
    let back = back.expect("nginx up again");
    let took = back.duration_since(listening);
    assert!(
        took <= Duration::from_secs(2),
        "came back {took:?} after listening again"
    );

    run.until(Duration::from_secs(3), |_| false).await;
    let st = run.engine.status().await.expect("status");
    run.engine.stop().await;
    nginx.wait_idle(Duration::from_secs(10)).expect("idle");
    ff.wait_finished(Duration::from_secs(10))
        .expect("ffmpeg done");
    srt.wait_disconnected(Duration::from_secs(10))
        .expect("srt done");
    nginx.stop().expect("stop");
    ff.stop().expect("stop");
    srt.stop().expect("stop");

    let n = st
        .destinations
        .iter()
        .find(|d| d.name == "nginx")
        .expect("nginx status");
    assert!(n.reconnects >= 1, "{n:?}");
    assert!(n.last_error.is_some(), "{n:?}");
    assert!(
        !n.url.contains(nginx.stream_key()),
        "key masked in status: {}",
        n.url
    );
    for d in st.destinations.iter().filter(|d| d.name != "nginx") {
        assert_eq!(d.reconnects, 0, "{d:?}");
        assert_eq!(d.dropped_packets, 0, "{d:?}");
    }

    // The others: no gap at all.
    assert_continuous("ffmpeg", &ff.recording_path().expect("rec"));
    assert_continuous("srt", &srt.recording_path().expect("rec"));
    // The one that came back: a second recording, starting on a key frame, continuous.
    let recs = nginx.recordings().expect("recordings");
    assert_eq!(recs.len(), 2, "{recs:?}");
    let second = assert_continuous("nginx after reconnect", &recs[1]);
    assert!(
        second.video.first().is_some_and(|p| p.key),
        "starts on a key frame"
    );
    assert!(
        second.duration() >= Duration::from_secs(3),
        "{:?}",
        second.duration()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_srt_receiver_that_comes_back_gets_the_programme_within_2s_and_others_see_no_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ff = FfmpegRtmpListener::start().expect("ffmpeg");
    let mut srt = SrtListener::start().expect("srt");
    let mut run = start(destinations(&[("ffmpeg", ff.url()), ("srt", srt.url())]), 0);
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine.cue(programme(dir.path(), first)).expect("cued");
    assert!(
        run.until(Duration::from_secs(10), up("srt"))
            .await
            .is_some()
    );
    run.until(Duration::from_secs(3), |_| false).await;
    srt.stop().expect("stop srt");
    run.until(Duration::from_secs(4), |_| false).await;
    srt.restart().expect("srt back");
    let listening = std::time::Instant::now();
    let back = run
        .until(Duration::from_secs(10), up("srt"))
        .await
        .expect("srt up again");
    let took = back.duration_since(listening);
    assert!(
        took <= Duration::from_secs(2),
        "came back {took:?} after listening again"
    );
    run.until(Duration::from_secs(3), |_| false).await;
    run.engine.stop().await;
    ff.wait_finished(Duration::from_secs(10))
        .expect("ffmpeg done");
    srt.wait_disconnected(Duration::from_secs(10))
        .expect("srt done");
    ff.stop().expect("stop");
    srt.stop().expect("stop");
    assert_continuous("ffmpeg", &ff.recording_path().expect("rec"));
    let recs = srt.recordings();
    assert_eq!(recs.len(), 2, "{recs:?}");
    let second = assert_continuous("srt after reconnect", &recs[1]);
    assert!(
        second.duration() >= Duration::from_secs(2),
        "{:?}",
        second.duration()
    );
}
