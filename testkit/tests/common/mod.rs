//! Shared helpers for the testkit integration tests: an ffmpeg publisher standing in
//! for the engine, and the red→green / 440→1000 Hz judgement.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use testkit::Colour;
use testkit::palette::{GREEN, RED};
use testkit::probe::{self, Sound};

pub const PALETTE: [Colour; 2] = [RED, GREEN];
pub const FREQS: [f64; 2] = [440.0, 1000.0];
/// One AAC frame at 48 kHz.
pub const AAC_FRAME_NS: i64 = 1024 * 1_000_000_000 / 48_000;
/// FLV's millisecond clock rounds every timestamp.
pub const FLV_TOLERANCE: Duration = Duration::from_micros(1500);

/// Runs `cmd`, killing it and failing if it takes longer than `timeout`.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> Result<()> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {cmd:?}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("try_wait")? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            if !status.success() {
                bail!("{cmd:?} failed ({status}):\n{err}");
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not finish within {timeout:?}");
        }
        sleep(Duration::from_millis(20));
    }
}

/// Publishes, in real time (`-re`), `secs` s of red + 440 Hz then `secs` s of
/// green + 1000 Hz (320×180, 25 fps, H.264 ultrafast + AAC 48 kHz) to `url` as
/// `format` (`flv` or `mpegts`), with extra output options such as
/// `-output_ts_offset`.
pub fn publish_red_green(url: &str, format: &str, secs: u32, extra: &[&str]) -> Result<()> {
    // ffmpeg's named "green" is 0x008000; use the palette's exact values.
    let (red, green) = (RED.ffmpeg_hex(), GREEN.ffmpeg_hex());
    let graph = format!(
        "color=c={red}:s=320x180:r=25:d={secs}[v0];\
         sine=f=440:sample_rate=48000:d={secs}[a0];\
         color=c={green}:s=320x180:r=25:d={secs}[v1];\
         sine=f=1000:sample_rate=48000:d={secs}[a1];\
         [v0][a0][v1][a1]concat=n=2:v=1:a=1[out0][out1]"
    );
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"])
        .args(["-re", "-f", "lavfi", "-i", &graph])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args([
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "48000", "-ac", "2",
        ])
        .args(extra)
        .args(["-f", format, url]);
    run_bounded(cmd, Duration::from_secs(u64::from(secs) * 2 + 15))
}

/// Checks a recording of [`publish_red_green`]: red then green, 440 Hz then 1000 Hz,
/// and the tone change within one AAC frame of the picture change. Returns the
/// picture-change time in ns.
pub fn assert_red_then_green(path: &Path, secs: u32) -> Result<i64> {
    let frames = probe::frame_colours(path)?;
    let runs = probe::colour_runs(&frames, &PALETTE);
    let desc = probe::describe_colour_runs(&runs, &PALETTE);
    let long: Vec<_> = runs.iter().filter(|r| r.frames >= 3).collect();
    assert_eq!(long.len(), 2, "colour runs: {desc}");
    assert_eq!(long[0].colour, Some(0), "first run must be red: {desc}");
    assert_eq!(long[1].colour, Some(1), "second run must be green: {desc}");
    let per_colour = usize::try_from(secs * 25).context("frames")?;
    // The tail may be cut short by the transport (SRT drops the last packets in flight).
    assert!(
        long[0].frames + 1 >= per_colour && long[1].frames + 15 >= per_colour,
        "unexpected frame counts: {desc}"
    );
    let cut_ns = long[1].first_pts_ns;

    let pcm = probe::audio_pcm(path)?;
    let truns = probe::tone_runs(&pcm, &FREQS, 256);
    let tdesc = probe::describe_tone_runs(&truns, &FREQS);
    let tlong: Vec<_> = truns.iter().filter(|r| r.samples >= 4096).collect();
    assert_eq!(tlong.len(), 2, "tone runs: {tdesc}");
    assert_eq!(tlong[0].sound, Sound::Tone(0), "first 440 Hz: {tdesc}");
    assert_eq!(tlong[1].sound, Sound::Tone(1), "then 1000 Hz: {tdesc}");
    let tone_cut_ns = tlong[1].start_ns;
    assert!(
        (tone_cut_ns - cut_ns).abs() <= AAC_FRAME_NS,
        "tone changes at {tone_cut_ns} ns, picture at {cut_ns} ns: {tdesc} / {desc}"
    );
    Ok(cut_ns)
}
