//! The judges: what a recording really contains, according to ffprobe/ffmpeg.
//!
//! - [`packets()`](packets()): per-stream packet timestamps as integer ticks; frame-step and
//!   audio-continuity checks that report each violation with its position and values.
//! - [`colours`]: the colour of every decoded video frame, classified against a
//!   [`crate::palette`], grouped into runs ("red for 50 frames, then green …").
//! - [`tones`]: decoded mono 48 kHz PCM and Goertzel tone runs per window.
//! - [`silences()`](silences()): `ffmpeg -af silencedetect`.
//! - [`ts`]: raw 33-bit PTS straight from the MPEG-TS bytes (no ffmpeg unwrapping).
//!
//! Timestamps are the file's own (absolute) timestamps: decoding uses `-copyts`, so a
//! recording that starts at 16775 s reports 16775 s, not 0.

pub mod colours;
pub mod packets;
pub mod silences;
pub mod tones;
pub mod ts;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub use colours::{
    ColourRun, DEFAULT_MAX_DISTANCE, FrameColour, classify, classify_within, colour_runs,
    describe_colour_runs, frame_colours,
};
pub use packets::{Packets, Pkt, Violation, describe_violations, packets};
pub use silences::{Silence, silences};
pub use tones::{Pcm, Sound, ToneRun, audio_pcm, describe_tone_runs, tone_runs};
pub use ts::{count_wraps, ts_raw_pts};

/// Upper bound for one ffprobe/ffmpeg analysis run (a recording of a few minutes
/// decodes in seconds; a hung reader must not hang the test).
pub const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a command to completion, failing with its stderr when it fails or hangs.
fn run(cmd: Command) -> Result<Output> {
    crate::child::output_within(cmd, ANALYSIS_TIMEOUT)
}

fn path_arg(path: &Path) -> Result<&str> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    path.to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

/// The value after `key` in an ffmpeg filter log line (`"pts:   123"` → `"123"`).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let i = line.find(key)? + key.len();
    line[i..].split_whitespace().next()
}

/// `format.start_time` of a file in nanoseconds (0 when ffprobe has none).
pub fn start_time_ns(path: &Path) -> Result<i64> {
    let p = path_arg(path)?;
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-show_entries", "format=start_time", "-of"])
        .arg("default=noprint_wrappers=1:nokey=1")
        .arg(p);
    let out = run(cmd)?;
    let s = String::from_utf8_lossy(&out.stdout);
    let s = s.trim();
    if s.is_empty() || s == "N/A" {
        return Ok(0);
    }
    crate::time::parse_seconds_ns(s)
}
