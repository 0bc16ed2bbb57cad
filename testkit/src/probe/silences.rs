//! Audio holes according to `ffmpeg -af silencedetect`.
//!
//! silencedetect prints times with 6 significant digits, which is useless at 16775 s,
//! so the file is decoded *without* `-copyts` (ffmpeg then starts at 0) and the file's
//! `format.start_time` is added back: results are absolute file timestamps.
//!
//! silencedetect alone only sees silent *samples*; a hole where packets are missing
//! (a timestamp gap) would be invisible. `aresample=async=1:min_hard_comp=0.02` first
//! fills gaps > 20 ms with silence, so missing audio is reported as silence too.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{field, path_arg, run, start_time_ns};
use crate::time::parse_seconds_ns;

/// One silence; `end_ns` is `None` when the file ends silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Silence {
    pub start_ns: i64,
    pub end_ns: Option<i64>,
}

/// Silences quieter than `noise_db` (e.g. `-50.0`) lasting at least `min_dur`.
pub fn silences(path: &Path, noise_db: f64, min_dur: Duration) -> Result<Vec<Silence>> {
    let p = path_arg(path)?;
    let offset = start_time_ns(path)?;
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"])
        .args(["-i", p, "-vn", "-sn", "-dn", "-af"])
        .arg(format!(
            "aresample=async=1:min_hard_comp=0.02,silencedetect=n={noise_db}dB:d={}",
            min_dur.as_secs_f64()
        ))
        .args(["-f", "null", "-"]);
    let out = run(cmd)?;
    let log = String::from_utf8_lossy(&out.stderr);
    let mut res: Vec<Silence> = Vec::new();
    for line in log.lines().filter(|l| l.contains("silencedetect")) {
        if let Some(v) = field(line, "silence_start:") {
            res.push(Silence {
                start_ns: parse_seconds_ns(v)? + offset,
                end_ns: None,
            });
        } else if let Some(v) = field(line, "silence_end:") {
            let end = parse_seconds_ns(v)? + offset;
            let last = res
                .last_mut()
                .with_context(|| format!("silence_end without start: {line:?}"))?;
            last.end_ns = Some(end);
        }
    }
    Ok(res)
}
