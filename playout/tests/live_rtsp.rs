//! RTSP cameras (a real GStreamer RTSP server) on air through retina, judged at a real
//! receiver (ffmpeg) by colour and tone: a camera that is stopped for 10 s and restarted
//! comes back by itself within 2 s of serving again, with its sound, the slate (and
//! silence) in between and continuous timestamps; H.265 over UDP with digest
//! authentication; a camera that accepts TCP and never answers and one that goes silent
//! (3 s after PLAY) without closing fall back within the hold, and the rest of the rundown
//! stays on its frames.

mod common;

use common::*;
use playout::source::live::{LiveOptions, LiveSettings, LiveState, RtspTransport};
use std::time::Duration;
use testkit::clips::Clip;
use testkit::probe;
use testkit::{CameraCodec, CameraOptions, DeadServer, RtspCamera, palette};

fn with_auth(mut s: LiveSettings, user: &str, pass: &str) -> LiveSettings {
    s.rtsp.username = Some(user.into());
    s.rtsp.password = Some(pass.into());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_stopped_for_10s_comes_back_by_itself_within_2s_of_serving_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cam = RtspCamera::start(CameraOptions {
        auth: Some(("operator".into(), "cam-pass-8812".into())),
        tone_hz: Some(1000),
        ..CameraOptions::new(CameraCodec::H264, palette::MAGENTA)
    })
    .expect("camera");
    let mut live = LiveOptions::default();
    live.feeds.insert(
        cam.url(),
        with_auth(LiveSettings::default(), "operator", "cam-pass-8812"),
    );
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(50), dir.path());
    let (mut run, mut ff) = on_air(live);
    let first = run.frame_in(Duration::from_millis(3000));
    // 24 s of camera, then a file on its frame.
    let cam_frames = 600;
    run.engine
        .cue(vec![
            playout::Cue::follow("cam", cam.url())
                .with_length(cam_frames)
                .at(first),
            cue("after", &green, 50),
        ])
        .expect("cued");
    run.wait_started("cam", Duration::from_secs(10)).await;
    run.air_for(Duration::from_secs(3)).await;
    let st = run.engine.status().await.expect("status");
    assert_eq!(st.live.len(), 1, "{:?}", st.live);
    assert_eq!(st.live[0].state, LiveState::Live, "{:?}", st.live);
    assert!(
        st.live[0].bitrate > 0 && st.live[0].frame_rate_milli > 20_000,
        "{:?}",
        st.live
    );

    // The camera dies.
    let stopped_at = camera_dies(
        &mut run,
        &mut cam,
        fallback_on("cam"),
        "slate after the camera died",
    )
    .await;
    run.air_for(Duration::from_secs(3)).await;
    let down = run.engine.status().await.expect("status");
    assert!(
        matches!(
            down.live[0].state,
            LiveState::Retrying { .. } | LiveState::Connecting
        ),
        "{:?}",
        down.live
    );
    assert!(down.live[0].last_error.is_some(), "{:?}", down.live);
    // Down for 10 s in all.
    let serving_at = camera_returns(
        &mut run,
        &mut cam,
        "cam",
        stopped_at,
        Duration::from_secs(10),
    )
    .await;
    let back = run.engine.status().await.expect("status");
    assert!(back.live[0].reconnects >= 1, "{:?}", back.live);
    run.wait_ended("after", Duration::from_secs(30)).await;
    let timeline = run.engine.timeline();
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;

    // Timestamps continuous across the whole outage.
    assert_continuous("ffmpeg", &path);
    let pal = [palette::MAGENTA, palette::GREEN];
    let Pictures {
        colours,
        runs,
        desc,
    } = pictures(&path, &pal);
    let frame_of = |ns: i64| (ns / FRAME_NS) as u64;
    let cam_runs: Vec<_> = runs.iter().filter(|r| r.colour == Some(0)).collect();
    assert!(cam_runs.len() >= 2, "camera before and after: {desc}");
    let before = cam_runs[0];
    let after = cam_runs[cam_runs.len() - 1];
    // The camera was on air from (nearly) its first frame: it was pre-rolled.
    assert!(frame_of(before.first_pts_ns) <= first + 25, "{desc}");
    // Slate (not a frozen picture) within jitter + hold (+ a frame's slack) of the death.
    let slate_from = frame_of(before.first_pts_ns) + before.frames as u64;
    let died = timeline.frame_at(stopped_at);
    assert!(
        slate_from <= died + 25 * 3 / 2 + 3,
        "slate at frame {slate_from}, camera died at {died}: {desc}"
    );
    let slate: Vec<_> = colours
        .iter()
        .filter(|c| {
            let f = frame_of(c.pts_ns());
            f >= slate_from && f < frame_of(after.first_pts_ns)
        })
        .collect();
    assert!(slate.len() > 200, "{desc}");
    for c in &slate {
        let [r, _, b] = c.rgb;
        assert!(b > r && b > 40 && r < 60, "slate colour {:?}", c.rgb);
    }
    // Back within 2 s of serving again.
    assert_back_within_2s(&timeline, serving_at, after.first_pts_ns, &desc);
    // The camera's own sound (AAC) while it is on air; silence under the slate.
    let pcm = probe::audio_pcm(&path).expect("pcm");
    let tones = probe::tone_runs(&pcm, &[1000.0], 256);
    let share = |from, to, want| sound_share(&tones, from, to, want);
    let tone = probe::Sound::Tone(0);
    let b0 = before.first_pts_ns + 500_000_000;
    assert!(
        share(b0, b0 + 2_000_000_000, tone) >= 90,
        "camera sound before: {}",
        probe::describe_tone_runs(&tones, &[1000.0])
    );
    let a0 = after.first_pts_ns + 500_000_000;
    assert!(
        share(a0, a0 + 1_000_000_000, tone) >= 90,
        "camera sound after: {}",
        probe::describe_tone_runs(&tones, &[1000.0])
    );
    let s0 = (slate_from as i64) * FRAME_NS + 100_000_000;
    let s1 = after.first_pts_ns - 100_000_000;
    assert_eq!(
        share(s0, s1, probe::Sound::Silence),
        100,
        "silence under the slate"
    );
    // The next item on its frame.
    let green_run = runs.iter().find(|r| r.colour == Some(1)).expect(&desc);
    assert_eq!(
        green_run.first_pts_ns,
        (first + cam_frames) as i64 * FRAME_NS,
        "{desc}"
    );
    assert_eq!(green_run.frames, 50, "{desc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_over_udp_with_digest_auth_and_hung_cameras_fall_back_within_the_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let silent = RtspCamera::start(CameraOptions {
        silent_after: Some(3.0),
        ..CameraOptions::new(CameraCodec::H264, palette::CYAN)
    })
    .expect("silent camera");
    let dead = DeadServer::start().expect("dead server");
    let dead_url = format!("rtsp://127.0.0.1:{}/cam", dead.port());
    let hevc = RtspCamera::start(CameraOptions {
        auth: Some(("viewer".into(), "hevc-pass-2291".into())),
        fps: 25,
        ..CameraOptions::new(CameraCodec::H265, palette::YELLOW)
    })
    .expect("hevc camera");
    let mut live = LiveOptions::default();
    // The silent camera is not reconnected within its slot: what is judged is the hold.
    live.feeds.insert(
        silent.url(),
        LiveSettings {
            frame_timeout_ms: 20_000,
            ..LiveSettings::default()
        },
    );
    let mut udp = with_auth(LiveSettings::default(), "viewer", "hevc-pass-2291");
    udp.rtsp.transport = RtspTransport::Udp;
    live.feeds.insert(hevc.url(), udp);
    let green = clip(Clip::new(palette::GREEN, 1000.0).frames(25), dir.path());
    let (mut run, mut ff) = on_air(live);
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine
        .cue(vec![
            playout::Cue::follow("silent", silent.url())
                .with_length(150)
                .at(first),
            playout::Cue::follow("dead", dead_url.clone()).with_length(75),
            playout::Cue::follow("hevc", hevc.url()).with_length(100),
            cue("after", &green, 25),
        ])
        .expect("cued");
    let mut dead_status = None;
    run.watch_until_ended("after", Duration::from_secs(40), |st| {
        if st.on_air.as_ref().is_some_and(|o| o.id == "dead") {
            dead_status = st.live.iter().find(|l| l.url == dead_url).cloned();
        }
    })
    .await;
    let st = run.engine.status().await.expect("status");
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;
    assert!(dead.accepted() >= 1, "the dead camera was tried");
    if let Some(d) = &dead_status {
        assert!(d.state != LiveState::Live, "{d:?}");
    }

    assert_continuous("ffmpeg", &path);
    let pal = [palette::CYAN, palette::YELLOW, palette::GREEN];
    let pics = pictures(&path, &pal);
    let (colours, desc) = (&pics.colours, &pics.desc);
    let in_slot = |from: u64, to: u64, colour: Option<usize>| {
        colours
            .iter()
            .filter(|c| {
                let f = (c.pts_ns() / FRAME_NS) as u64;
                f >= from && f < to && probe::classify(c.rgb, &pal) == colour
            })
            .count()
    };
    // Silent camera: its pictures (at most 3 s, plus the jitter buffer), then at most the
    // hold of frozen picture, then the slate to the end of its slot.
    let cyan = in_slot(first, first + 150, Some(0));
    assert!(cyan > 0, "{desc}");
    assert!(cyan <= 75 + 13 + 25 + 5, "cyan {cyan} frames: {desc}");
    assert!(
        in_slot(first, first + 150, None) >= 30,
        "the slate after the hold: {desc}"
    );
    let last_cyan = colours
        .iter()
        .filter(|c| probe::classify(c.rgb, &pal) == Some(0))
        .map(|c| (c.pts_ns() / FRAME_NS) as u64)
        .max()
        .unwrap_or(0);
    assert!(
        in_slot(last_cyan + 1, first + 150, None) as u64 == first + 150 - last_cyan - 1,
        "{desc}"
    );
    // The camera that never answers: the slate for its whole slot.
    assert_eq!(in_slot(first + 150, first + 225, None), 75, "{desc}");
    // H.265 over UDP, pre-rolled: on air (nearly) from its first frame.
    let yellow = in_slot(first + 225, first + 325, Some(1));
    assert!(yellow >= 90, "yellow {yellow} of 100: {desc}");
    // The rest of the rundown on its frames.
    let g = pics.first_run_of(2);
    assert_eq!(g.first_pts_ns, (first + 325) as i64 * FRAME_NS, "{desc}");
    assert_eq!(g.frames, 25, "{desc}");
    assert_eq!(st.frames_dropped, 0);
}
