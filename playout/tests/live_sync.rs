//! Lip sync of a live feed on air: an ffmpeg SRT caller sends a picture that flashes white
//! for one frame at every whole second and a 1 kHz beep that starts at the same instants
//! (the classic flash-and-beep chart). At the receiver, every flash is paired with the beep
//! nearest to it: the sound must be within what viewers cannot tell (ITU-R BT.1359: sound
//! no more than 45 ms early or 125 ms late; EBU R37 asks at most 40 ms early and 60 ms late
//! at the output; the test holds 45 ms early and 60 ms late).

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;
use testkit::probe;

/// Onsets (ns) of the beeps in the recording: the first sample of each run of sound
/// after at least 300 ms of silence.
fn beep_onsets(pcm: &probe::tones::Pcm) -> Vec<i64> {
    let quiet_for = (pcm.rate as usize) * 3 / 10;
    let mut out = Vec::new();
    let mut quiet = quiet_for;
    for (i, s) in pcm.samples.iter().enumerate() {
        if s.unsigned_abs() > 3000 {
            if quiet >= quiet_for {
                out.push(pcm.sample_ns(i));
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_feed_airs_in_lip_sync() {
    const LEN: u64 = 375;
    let srt_in = SrtIn::new();
    let (mut run, mut ff) = on_air(Default::default());
    let first = run.frame_in(Duration::from_millis(2500));
    run.engine
        .cue(vec![
            playout::Cue::follow("live", srt_in.locator())
                .with_length(LEN)
                .at(first),
        ])
        .expect("cued");
    srt_in.wait_bound();
    // White for the first frame of every second, black otherwise; a beep for the first
    // 100 ms of every second.
    let _sender = spawn_quiet(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-re"])
            .args([
                "-f",
                "lavfi",
                "-i",
                "color=c=black:s=320x180:r=25:d=40,drawbox=c=white:t=fill:enable='lt(mod(n\\,25)\\,1)'",
            ])
            .args([
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=1000:sample_rate=48000:d=40,volume=enable='gte(mod(t\\,1)\\,0.1)':volume=0",
            ])
            .args([
                "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
            ])
            .args(["-f", "mpegts", &srt_in.caller_url()]),
    );
    run.wait_ended("live", Duration::from_secs(30)).await;
    let rec = run.finish(&mut ff, Duration::ZERO).await;
    let colours = probe::frame_colours(&rec).expect("colours");
    let flashes: Vec<i64> = colours
        .iter()
        .filter(|c| c.rgb.iter().all(|v| *v > 200))
        .map(|c| c.pts_ns())
        .collect();
    let pcm = probe::tones::audio_pcm(&rec).expect("pcm");
    let beeps = beep_onsets(&pcm);
    // Each flash with the beep nearest to it: sound minus picture, ms.
    let offsets: Vec<i64> = flashes
        .iter()
        .filter_map(|f| {
            beeps
                .iter()
                .map(|b| b - f)
                .min_by_key(|d| d.abs())
                .filter(|d| d.abs() < 500_000_000)
                .map(|d| d / 1_000_000)
        })
        .collect();
    eprintln!(
        "lip sync: {} flashes, {} beeps; sound − picture per flash (ms): {offsets:?}",
        flashes.len(),
        beeps.len()
    );
    assert!(offsets.len() >= 8, "flashes paired with beeps: {offsets:?}");
    let mut sorted = offsets.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    assert!(
        (-45..=60).contains(&median),
        "sound {median} ms after the picture (negative: early): {offsets:?}"
    );
}
