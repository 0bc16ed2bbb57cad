//! Fallback: a missing file and a corrupt file in the middle of the rundown. The slate
//! fills their slots with silence, timestamps stay continuous, and the next item starts on
//! its frame.

mod common;

use common::*;
use std::time::Duration;
use testkit::clips::{self, Clip};
use testkit::palette;
use testkit::probe::{self, Sound};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_corrupt_files_get_the_slate_and_the_next_item_is_on_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let red = clip(Clip::new(palette::RED, 500.0).frames(50), dir.path());
    let green = clip(Clip::new(palette::GREEN, 1500.0).frames(50), dir.path());
    let corrupt = dir.path().join("corrupt.mp4");
    clips::corrupt_file(&corrupt).expect("corrupt file");
    let text = dir.path().join("not-a-video.mp4");
    clips::not_media_file(&text).expect("text file");
    let missing = dir.path().join("missing.mp4");

    let (mut run, mut ff) = on_air(Default::default());
    let first = run.frame_in(Duration::from_millis(2000));
    run.engine
        .cue(vec![
            cue("red", &red, 40).at(first),
            cue("missing", &missing, 30),
            cue("corrupt", &corrupt, 30),
            cue("text", &text, 20),
            cue("green", &green, 40),
        ])
        .expect("cued");
    run.wait_ended("green", Duration::from_secs(30)).await;
    let path = run.finish(&mut ff, Duration::from_millis(600)).await;

    assert_continuous("ffmpeg", &path);
    let pics = pictures(&path, &[palette::RED, palette::GREEN]);
    let (colours, desc) = (&pics.colours, &pics.desc);
    let red_run = pics.first_run_of(0);
    let green_run = pics.first_run_of(1);
    assert_eq!(red_run.frames, 40, "{desc}");
    assert_eq!(green_run.frames, 40, "{desc}");
    assert_eq!(red_run.first_pts_ns, first as i64 * FRAME_NS, "{desc}");
    // The three broken items' 80 frames are the slate, and green starts on its frame.
    assert_eq!(
        green_run.first_pts_ns,
        red_run.first_pts_ns + (40 + 80) * FRAME_NS,
        "{desc}"
    );
    let between: Vec<_> = colours
        .iter()
        .filter(|c| {
            let t = c.pts_ns();
            t >= red_run.first_pts_ns + 40 * FRAME_NS && t < green_run.first_pts_ns
        })
        .collect();
    assert_eq!(between.len(), 80, "{desc}");
    // The slate is the dark card, not black and not a frozen picture of the last item.
    for c in &between {
        let [r, _, b] = c.rgb;
        assert!(b > r && b > 40 && r < 60, "slate colour {:?}", c.rgb);
    }
    // Silence under the slate.
    let pcm = probe::audio_pcm(&path).expect("pcm");
    let tones = probe::tone_runs(&pcm, &[500.0, 1500.0], 256);
    let gap_start = red_run.first_pts_ns + 40 * FRAME_NS + 30_000_000;
    let gap_end = green_run.first_pts_ns - 30_000_000;
    for t in &tones {
        let end = t.start_ns + t.samples as i64 * 1_000_000_000 / 48_000;
        if end > gap_start && t.start_ns < gap_end {
            assert_eq!(
                t.sound,
                Sound::Silence,
                "{}",
                probe::describe_tone_runs(&tones, &[500.0, 1500.0])
            );
        }
    }
    // The engine said why.
    let reasons: Vec<String> = run
        .seen
        .iter()
        .filter_map(|(_, e)| match e {
            playout::Event::FallbackOn {
                id: Some(id),
                reason,
                ..
            } => Some(format!("{id}: {reason}")),
            _ => None,
        })
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("missing: source failed")),
        "{reasons:?}"
    );
    for id in ["missing", "corrupt", "text"] {
        assert!(
            run.seen.iter().any(|(_, e)| matches!(e, playout::Event::ItemEnded { id: i, reason: playout::EndReason::Failed, .. } if i == id)),
            "{id} ended as failed: {:?}", run.seen
        );
    }
}
