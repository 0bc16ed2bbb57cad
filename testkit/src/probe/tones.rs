//! Decoded audio and which test tone is sounding, window by window.
//!
//! [`audio_pcm`] decodes the first audio stream to mono 48 kHz `i16` with ffmpeg,
//! filling timestamp gaps > 20 ms with silence (`aresample=async=1`), and reports the
//! PTS of the first decoded sample (from `ashowinfo`, integer ticks of 1/sample-rate).
//! [`tone_runs`] classifies fixed windows (e.g. 256 samples = 5.3 ms) by Goertzel power
//! at the given frequencies: [`Sound::Silence`] below an RMS threshold, the dominant
//! tone when it carries a clear share of the window's energy, else [`Sound::Unknown`]
//! (typically the one window that straddles a cut). Pick test tones at least ~400 Hz
//! apart (a 256-sample window resolves 187.5 Hz).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::{field, path_arg, run};
use crate::time::{NS_PER_S, fmt_ns};

/// Sample rate of [`Pcm`].
pub const PCM_RATE: u32 = 48_000;

/// RMS (of full scale 32768) below which a window counts as silence: about −50 dBFS.
pub const SILENCE_RMS: f64 = 100.0;

/// Share of a window's energy the strongest tone must carry to be named.
pub const TONE_DOMINANCE: f64 = 0.5;

/// Mono PCM and the absolute timestamp of its first sample.
#[derive(Clone, Debug)]
pub struct Pcm {
    pub start_ns: i64,
    pub rate: u32,
    pub samples: Vec<i16>,
}

impl Pcm {
    /// Timestamp of sample `i` in ns (integer arithmetic).
    pub fn sample_ns(&self, i: usize) -> i64 {
        let i = i64::try_from(i).unwrap_or(i64::MAX);
        self.start_ns + i * NS_PER_S / i64::from(self.rate)
    }
}

/// What a window sounds like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sound {
    Silence,
    /// Index into the `freqs` given to [`tone_runs`].
    Tone(usize),
    /// Loud, but no single given tone dominates.
    Unknown,
}

/// Consecutive windows of the same [`Sound`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToneRun {
    pub sound: Sound,
    pub first_sample: usize,
    pub samples: usize,
    /// Timestamp of `first_sample`.
    pub start_ns: i64,
}

/// Decodes the first audio stream of `path` to mono 48 kHz PCM.
pub fn audio_pcm(path: &Path) -> Result<Pcm> {
    let p = path_arg(path)?;
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"])
        .args([
            "-copyts", "-i", p, "-vn", "-sn", "-dn", "-map", "0:a:0", "-af",
        ])
        .arg(format!(
            "ashowinfo,aresample={PCM_RATE}:async=1:min_hard_comp=0.02,\
             aformat=sample_fmts=s16:channel_layouts=mono"
        ))
        .args(["-f", "s16le", "-"]);
    let out = run(cmd)?;
    let log = String::from_utf8_lossy(&out.stderr);
    let first = log
        .lines()
        .find(|l| l.contains("Parsed_ashowinfo") && l.contains("] n:"))
        .context("ashowinfo printed no frame (no audio?)")?;
    let pts: i64 = field(first, " pts:")
        .context("no pts in ashowinfo")?
        .parse()
        .context("ashowinfo pts")?;
    // ffmpeg's audio filter input time base is 1/sample_rate of the decoded audio.
    let rate: i64 = field(first, " rate:")
        .context("no rate in ashowinfo")?
        .parse()
        .context("ashowinfo rate")?;
    let start_ns = pts * NS_PER_S / rate;
    let samples = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    Ok(Pcm {
        start_ns,
        rate: PCM_RATE,
        samples,
    })
}

/// Goertzel power of `freq` in `x` (normalised so a full-window pure tone of
/// amplitude A gives about A²·N/2, the same scale as the window's energy Σx²).
fn goertzel(x: &[i16], freq: f64, rate: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power * 2.0 / x.len() as f64
}

/// Classifies one window.
pub fn classify_window(x: &[i16], freqs: &[f64], rate: u32) -> Sound {
    if x.is_empty() {
        return Sound::Silence;
    }
    let energy: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    let rms = (energy / x.len() as f64).sqrt();
    if rms < SILENCE_RMS {
        return Sound::Silence;
    }
    let best = freqs
        .iter()
        .enumerate()
        .map(|(i, &f)| (goertzel(x, f, f64::from(rate)), i))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((p, i)) if p >= TONE_DOMINANCE * energy => Sound::Tone(i),
        _ => Sound::Unknown,
    }
}

/// Runs of windows (`window` samples each; the last may be shorter) of the same sound.
pub fn tone_runs(pcm: &Pcm, freqs: &[f64], window: usize) -> Vec<ToneRun> {
    let window = window.max(1);
    let mut runs: Vec<ToneRun> = Vec::new();
    for (k, chunk) in pcm.samples.chunks(window).enumerate() {
        let sound = classify_window(chunk, freqs, pcm.rate);
        match runs.last_mut() {
            Some(r) if r.sound == sound => r.samples += chunk.len(),
            _ => runs.push(ToneRun {
                sound,
                first_sample: k * window,
                samples: chunk.len(),
                start_ns: pcm.sample_ns(k * window),
            }),
        }
    }
    runs
}

/// `"silence×1024@… 440Hz×96000@… ?×256@…"`, for assertion messages.
pub fn describe_tone_runs(runs: &[ToneRun], freqs: &[f64]) -> String {
    let mut s = String::new();
    for r in runs {
        let name = match r.sound {
            Sound::Silence => "silence".to_owned(),
            Sound::Unknown => "?".to_owned(),
            Sound::Tone(i) => format!("{}Hz", freqs.get(i).copied().unwrap_or(f64::NAN)),
        };
        let _ = write!(s, "{name}×{}@{} ", r.samples, fmt_ns(r.start_ns));
    }
    s.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, n: usize, phase0: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = (i + phase0) as f64 / 48_000.0;
                (10_000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn tones_and_silence_are_told_apart() {
        let mut samples = vec![0i16; 1024];
        samples.extend(sine(440.0, 4800, 0));
        samples.extend(sine(1000.0, 4800, 0));
        let pcm = Pcm {
            start_ns: 1_000_000_000,
            rate: 48_000,
            samples,
        };
        let freqs = [440.0, 1000.0];
        let runs = tone_runs(&pcm, &freqs, 256);
        let named: Vec<Sound> = runs
            .iter()
            .filter(|r| r.samples > 256)
            .map(|r| r.sound)
            .collect();
        assert_eq!(
            named,
            vec![Sound::Silence, Sound::Tone(0), Sound::Tone(1)],
            "{}",
            describe_tone_runs(&runs, &freqs)
        );
        assert_eq!(runs[0].start_ns, 1_000_000_000);
        assert_eq!(pcm.sample_ns(48_000), 2_000_000_000);
    }
}
