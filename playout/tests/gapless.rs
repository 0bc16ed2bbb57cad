//! Gapless and frame-exact: four clips of different containers, sizes, frame rates and
//! audio rates, each its own colour and tone, to two RTMP receivers and one SRT receiver.
//! Judged by ffprobe/ffmpeg on what the receivers recorded.

mod common;

use common::*;
use std::time::Duration;
use testkit::clips::{Clip, Container};
use testkit::probe::{self, Sound};
use testkit::{FfmpegRtmpListener, NginxRtmp, SrtListener, palette};

const PALETTE: [testkit::palette::Colour; 4] =
    [palette::RED, palette::GREEN, palette::BLUE, palette::YELLOW];
const TONES: [f64; 4] = [500.0, 1100.0, 1700.0, 2300.0];
/// Output frames each item owns.
const LENGTHS: [u64; 4] = [50, 40, 45, 50];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_clips_play_gapless_and_cut_on_the_exact_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clips = [
        Clip::new(palette::RED, TONES[0])
            .size(1280, 720)
            .fps(30, 1)
            .audio(44_100, 1)
            .frames(75)
            .container(Container::Mp4),
        Clip::new(palette::GREEN, TONES[1])
            .size(720, 576)
            .fps(25, 1)
            .audio(48_000, 2)
            .frames(60)
            .container(Container::Mov),
        Clip::new(palette::BLUE, TONES[2])
            .size(640, 480)
            .fps(30_000, 1001)
            .audio(32_000, 2)
            .frames(70)
            .container(Container::Avi),
        Clip::new(palette::YELLOW, TONES[3])
            .size(360, 640)
            .fps(25, 1)
            .audio(22_050, 1)
            .frames(60)
            .container(Container::Wmv),
    ];
    let paths: Vec<_> = clips.iter().map(|c| clip(c.clone(), dir.path())).collect();

    let mut nginx = NginxRtmp::start().expect("nginx");
    let mut ff = FfmpegRtmpListener::start().expect("ffmpeg listener");
    let srt = SrtListener::start().expect("srt listener");
    let mut srt = srt;
    let mut run = start(
        destinations(&[
            ("nginx", nginx.url()),
            ("ffmpeg", ff.url()),
            ("srt", srt.url()),
        ]),
        0,
    );
    let first = run.frame_in(Duration::from_millis(2500));
    let mut cues = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let c = cue(&format!("item{i}"), p, LENGTHS[i]);
        cues.push(if i == 0 { c.at(first) } else { c });
    }
    run.engine.cue(cues).expect("cued");
    let done = run
        .until(
            Duration::from_secs(30),
            |e| matches!(e, playout::Event::ItemEnded { id, .. } if id == "item3"),
        )
        .await;
    assert!(done.is_some(), "the last item ended: {:?}", run.seen);
    // A second of slate after, then stop.
    run.until(Duration::from_secs(1), |_| false).await;
    let status = run.engine.status().await.expect("status");
    let (late, frames) = run.engine.late_frames();
    let wall = run.started.elapsed();
    run.engine.stop().await;

    // The engine kept real time.
    assert_eq!(status.frames_dropped, 0, "frames dropped");
    assert!(
        status.max_lateness_ns < 500_000_000,
        "max lateness {} ms",
        status.max_lateness_ns / 1_000_000
    );
    assert!(
        late * 100 <= frames,
        "{late} of {frames} frames reached the encoder over a frame late"
    );

    nginx
        .wait_idle(Duration::from_secs(10))
        .expect("nginx idle");
    ff.wait_finished(Duration::from_secs(10))
        .expect("ffmpeg finished");
    srt.wait_disconnected(Duration::from_secs(10))
        .expect("srt done");
    nginx.stop().expect("stop");
    ff.stop().expect("stop");
    srt.stop().expect("stop");

    let recordings = [
        (
            "nginx",
            nginx.recording_path().expect("nginx recording"),
            true,
        ),
        (
            "ffmpeg",
            ff.recording_path().expect("ffmpeg recording"),
            true,
        ),
        ("srt", srt.recording_path().expect("srt recording"), false),
    ];
    for (label, path, absolute) in &recordings {
        let pk = assert_continuous(label, path);
        // The recording lasts as long as the wall time it ran (less connection set-up).
        let rec = pk.duration();
        assert!(
            // The clock thread takes the stop at its next tick: up to two frames more.
            rec <= wall + Duration::from_millis(120) && rec + Duration::from_millis(1500) >= wall,
            "{label}: recording {rec:?} for {wall:?} of wall time"
        );

        let colours = probe::frame_colours(path).expect("frame colours");
        let runs = probe::colour_runs(&colours, &PALETTE);
        let named: Vec<_> = runs.iter().filter(|r| r.colour.is_some()).collect();
        let desc = probe::describe_colour_runs(&runs, &PALETTE);
        assert_eq!(
            named.len(),
            4,
            "{label}: four coloured runs expected:\n{desc}"
        );
        for (i, r) in named.iter().enumerate() {
            assert_eq!(r.colour, Some(i), "{label}: run {i} colour:\n{desc}");
            assert_eq!(
                r.frames as u64, LENGTHS[i],
                "{label}: run {i} length:\n{desc}"
            );
        }
        // Each cut lands on the frame the schedule says.
        let mut expect = named[0].first_pts_ns;
        if *absolute {
            assert_eq!(
                expect,
                first as i64 * FRAME_NS,
                "{label}: first item on frame {first}"
            );
        }
        for (i, r) in named.iter().enumerate() {
            assert_eq!(
                r.first_pts_ns, expect,
                "{label}: item {i} starts on its frame:\n{desc}"
            );
            expect += LENGTHS[i] as i64 * FRAME_NS;
        }
        assert_eq!(runs.iter().map(|r| r.frames).sum::<usize>(), colours.len());

        // The sound changes with the picture at every cut, within one AAC frame.
        let pcm = probe::audio_pcm(path).expect("pcm");
        let tones = probe::tone_runs(&pcm, &TONES, 256);
        let tone_desc = probe::describe_tone_runs(&tones, &TONES);
        for (i, r) in named.iter().enumerate() {
            let t = tones
                .iter()
                .find(|t| t.sound == Sound::Tone(i) && t.samples >= 512)
                .unwrap_or_else(|| panic!("{label}: tone {i} missing:\n{tone_desc}"));
            let off = (t.start_ns - r.first_pts_ns).abs();
            assert!(
                off <= 1024 * 1_000_000_000 / 48_000 + 256 * 1_000_000_000 / 48_000,
                "{label}: tone {i} starts {} ms from its picture:\n{tone_desc}",
                off / 1_000_000
            );
        }
    }
}
