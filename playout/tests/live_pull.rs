//! Pulls through GStreamer against real peers, judged by colour at a real receiver: an
//! ffmpeg SRT caller into our SRT listener, our SRT caller into `srt-live-transmit`, an HLS
//! stream of ffmpeg-made segments served by a plain HTTP server, and HTTP-FLV served by
//! `ffmpeg -listen 1`. Each is pre-rolled and on air in its slot; the next item is on its
//! frame. The SRT caller's MPEG-TS PTS crosses 2^33 ticks (26.5 h) in its slot. A feed split
//! into two items (a window past midnight) stays on air across the cut on one connection.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;
use testkit::clips::Clip;
use testkit::ports::{free_tcp_port, free_udp_port, tcp_listening, udp_bound};
use testkit::{FfmpegSender, palette, probe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srt_hls_and_http_flv_pulls_are_on_air_in_their_slots() {
    let dir = tempfile::tempdir().expect("tempdir");
    // HLS: ffmpeg writes 1 s segments, a plain HTTP server serves them.
    let hls_dir = dir.path().join("hls");
    std::fs::create_dir_all(&hls_dir).expect("hls dir");
    let _hls = FfmpegSender::start(
        palette::YELLOW,
        60,
        "hls",
        &hls_dir.join("live.m3u8").display().to_string(),
        &[
            "-hls_time",
            "1",
            "-hls_list_size",
            "6",
            "-hls_flags",
            "delete_segments",
        ],
    )
    .expect("hls ffmpeg");
    let http_port = free_tcp_port().expect("port");
    let _http = spawn_quiet(
        Command::new("/usr/bin/python3")
            .args([
                "-m",
                "http.server",
                &http_port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(&hls_dir),
    );
    // Our SRT caller into srt-live-transmit, which relays ffmpeg's UDP MPEG-TS.
    let relay_in = free_udp_port().expect("port");
    let relay_out = free_udp_port().expect("port");
    let _relay = spawn_quiet(Command::new("srt-live-transmit").args([
        &format!("udp://127.0.0.1:{relay_in}"),
        &format!("srt://127.0.0.1:{relay_out}?mode=listener"),
    ]));
    let _udp = FfmpegSender::start(
        palette::BLUE,
        60,
        "mpegts",
        &format!("udp://127.0.0.1:{relay_in}?pkt_size=1316"),
        &[],
    )
    .expect("udp ffmpeg");
    // HTTP-FLV from ffmpeg's own HTTP server.
    let flv_port = free_tcp_port().expect("port");
    let _flv = FfmpegSender::start(
        palette::CYAN,
        60,
        "flv",
        &format!("http://127.0.0.1:{flv_port}/live.flv"),
        &["-listen", "1"],
    )
    .expect("flv ffmpeg");
    wait_ready("http server", || tcp_listening(http_port));
    wait_ready("relay", || udp_bound(relay_out));
    wait_ready("flv server", || tcp_listening(flv_port));
    wait_ready("hls playlist", || hls_dir.join("live.m3u8").exists());

    let srt_in = SrtIn::new();
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(25), dir.path());
    let (mut run, mut ff) = on_air(Default::default());
    let first = run.frame_in(Duration::from_millis(2500));
    run.engine
        .cue(vec![
            playout::Cue::follow("srt-listener", srt_in.locator())
                .with_length(100)
                .at(first),
            playout::Cue::follow("srt-caller", format!("srt://127.0.0.1:{relay_out}"))
                .with_length(100),
            playout::Cue::follow("hls", format!("http://127.0.0.1:{http_port}/live.m3u8"))
                .with_length(100),
            playout::Cue::follow("http-flv", format!("http://127.0.0.1:{flv_port}/live.flv"))
                .with_length(100),
            cue("after", &green, 25),
        ])
        .expect("cued");
    // An ffmpeg SRT caller into our listener, once it listens. Its clock starts ~4 s below
    // 2^33 ticks of 90 kHz (26.5 h): the MPEG-TS PTS wraps on air, as after a day of a
    // slow-live camera.
    let _caller = srt_in.push(palette::RED, 60, &["-output_ts_offset", "95439.2"]);
    let mut kinds = Vec::new();
    run.watch_until_ended("after", Duration::from_secs(60), |st| {
        for l in st.live {
            if l.state == playout::source::live::LiveState::Live && !kinds.contains(&l.kind) {
                kinds.push(l.kind);
            }
        }
    })
    .await;
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;
    kinds.sort();
    assert_eq!(kinds, vec!["hls", "http-flv", "srt"], "live kinds seen");

    assert_continuous("ffmpeg", &path);
    let pal = [
        palette::RED,
        palette::BLUE,
        palette::YELLOW,
        palette::CYAN,
        palette::GREEN,
    ];
    let pics = pictures(&path, &pal);
    let (colours, desc) = (&pics.colours, &pics.desc);
    let count = |from: u64, colour: usize| {
        colours
            .iter()
            .filter(|c| {
                let f = (c.pts_ns() / FRAME_NS) as u64;
                f >= from && f < from + 100 && probe::classify(c.rgb, &pal) == Some(colour)
            })
            .count()
    };
    for (i, name) in ["srt listener", "srt caller", "hls", "http-flv"]
        .iter()
        .enumerate()
    {
        let n = count(first + 100 * i as u64, i);
        assert!(n >= 75, "{name}: {n} of 100 frames in its colour: {desc}");
    }
    let g = pics.first_run_of(4);
    assert_eq!(g.first_pts_ns, (first + 400) as i64 * FRAME_NS, "{desc}");
}

/// A slow-live window that runs past midnight airs as two items of the same feed (one per
/// day's rundown). The feed must stay on air across the cut: no second connection fighting
/// the first for the listener's port, no slate at 00:00.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_split_into_two_items_stays_on_air_across_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srt_in = SrtIn::new();
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(25), dir.path());
    let (mut run, mut ff) = on_air(Default::default());
    let first = run.frame_in(Duration::from_millis(3000));
    let url = srt_in.locator();
    run.engine
        .cue(vec![
            playout::Cue::follow("before-midnight", url.clone())
                .with_length(100)
                .at(first),
            playout::Cue::follow("after-midnight", url).with_length(100),
            cue("after", &green, 25),
        ])
        .expect("cued");
    let _caller = srt_in.push(palette::RED, 60, &[]);
    run.wait_ended("after", Duration::from_secs(40)).await;
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;
    assert_continuous("ffmpeg", &path);
    let pal = [palette::RED, palette::GREEN];
    let Pictures { colours, desc, .. } = pictures(&path, &pal);
    // The second item (frames first+100 … first+199) is the feed throughout: not one
    // frame of slate or hold at the cut.
    let not_red: Vec<u64> = colours
        .iter()
        .map(|c| ((c.pts_ns() / FRAME_NS) as u64, probe::classify(c.rgb, &pal)))
        .filter(|(f, c)| *f >= first + 100 && *f < first + 200 && *c != Some(0))
        .map(|(f, _)| f - first)
        .collect();
    assert!(
        not_red.is_empty(),
        "frames of the second item not from the feed (item frame numbers): {not_red:?}\n{desc}\n{:?}",
        run.seen
    );
}
