//! The colour of every decoded video frame, classified against a palette.
//!
//! One ffmpeg run decodes every frame (`-fps_mode passthrough`: no frame is dropped or
//! duplicated), crops the centre quarter, scales it to 1×1 and writes RGB24 to stdout,
//! while `showinfo` logs each frame's PTS (and the time base) to stderr in the same
//! order — so pixel *i* belongs to PTS *i*, with `-copyts` keeping the file's own
//! timestamps.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{field, path_arg, run};
use crate::palette::Colour;
use crate::time::{Rational, fmt_ns};

/// Default maximum RGB distance for [`classify`]: the palette colours are ≥ 255 apart,
/// so anything within 100 of one is unambiguous.
pub const DEFAULT_MAX_DISTANCE: u32 = 100;

/// One decoded frame: its PTS (ticks of `time_base`) and mean centre colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameColour {
    pub pts: i64,
    pub time_base: Rational,
    pub rgb: [u8; 3],
}

impl FrameColour {
    pub fn pts_ns(&self) -> i64 {
        self.time_base.ticks_to_ns(self.pts)
    }
}

/// Consecutive frames of the same classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColourRun {
    /// Index into the palette, `None` when no palette colour was near enough.
    pub colour: Option<usize>,
    pub first_pts: i64,
    pub first_pts_ns: i64,
    pub frames: usize,
}

/// Decodes every video frame of `path` and returns its PTS and centre colour.
pub fn frame_colours(path: &Path) -> Result<Vec<FrameColour>> {
    let p = path_arg(path)?;
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"])
        .args(["-copyts", "-i", p, "-an", "-sn", "-dn", "-map", "0:v:0"])
        .args(["-vf", "crop=iw/4:ih/4,scale=1:1,showinfo"])
        .args([
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ]);
    let out = run(cmd)?;
    let log = String::from_utf8_lossy(&out.stderr);
    let mut time_base = None;
    let mut pts = Vec::new();
    for line in log.lines().filter(|l| l.contains("Parsed_showinfo")) {
        if let Some(tb) = field(line, "config in time_base:") {
            time_base = Some(Rational::parse(tb.trim_end_matches(','))?);
        } else if line.contains("] n:") {
            let v = field(line, " pts:").with_context(|| format!("no pts in {line:?}"))?;
            pts.push(
                v.parse::<i64>()
                    .with_context(|| format!("pts in {line:?}"))?,
            );
        }
    }
    let time_base = time_base.context("showinfo printed no time base")?;
    let rgb = out.stdout;
    if rgb.len() != pts.len() * 3 {
        bail!(
            "{}: {} showinfo frames but {} bytes of RGB",
            path.display(),
            pts.len(),
            rgb.len()
        );
    }
    Ok(pts
        .into_iter()
        .zip(rgb.chunks_exact(3))
        .map(|(pts, c)| FrameColour {
            pts,
            time_base,
            rgb: [c[0], c[1], c[2]],
        })
        .collect())
}

/// Index of the nearest palette colour within [`DEFAULT_MAX_DISTANCE`].
pub fn classify(rgb: [u8; 3], palette: &[Colour]) -> Option<usize> {
    classify_within(rgb, palette, DEFAULT_MAX_DISTANCE)
}

/// Index of the nearest palette colour if its Euclidean RGB distance ≤ `max_distance`.
pub fn classify_within(rgb: [u8; 3], palette: &[Colour], max_distance: u32) -> Option<usize> {
    let d2 = |c: &Colour| -> u32 {
        (0..3)
            .map(|i| {
                let d = u32::from(rgb[i].abs_diff(c.rgb[i]));
                d * d
            })
            .sum()
    };
    palette
        .iter()
        .enumerate()
        .map(|(i, c)| (d2(c), i))
        .min()
        .filter(|(d, _)| *d <= max_distance * max_distance)
        .map(|(_, i)| i)
}

/// Groups frames (sorted by PTS) into runs of the same classification.
pub fn colour_runs(frames: &[FrameColour], palette: &[Colour]) -> Vec<ColourRun> {
    let mut sorted = frames.to_vec();
    sorted.sort_by_key(FrameColour::pts_ns);
    let mut runs: Vec<ColourRun> = Vec::new();
    for f in sorted {
        let c = classify(f.rgb, palette);
        match runs.last_mut() {
            Some(r) if r.colour == c => r.frames += 1,
            _ => runs.push(ColourRun {
                colour: c,
                first_pts: f.pts,
                first_pts_ns: f.pts_ns(),
                frames: 1,
            }),
        }
    }
    runs
}

/// `"red×50@16775.000000s green×51@16777.000000s"`, for assertion messages.
pub fn describe_colour_runs(runs: &[ColourRun], palette: &[Colour]) -> String {
    let mut s = String::new();
    for r in runs {
        let name = r
            .colour
            .and_then(|i| palette.get(i))
            .map_or("?", |c| c.name);
        let _ = write!(s, "{name}×{}@{} ", r.frames, fmt_ns(r.first_pts_ns));
    }
    s.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::palette::{BLUE, GREEN, RED};

    #[test]
    fn classify_and_group() {
        let pal = [RED, GREEN, BLUE];
        assert_eq!(classify([250, 10, 5], &pal), Some(0));
        assert_eq!(classify([128, 128, 128], &pal), None);
        let tb = Rational::new(1, 1000);
        let f = |pts, rgb| FrameColour {
            pts,
            time_base: tb,
            rgb,
        };
        let frames = [
            f(40, [254, 0, 0]),
            f(0, [254, 0, 0]),
            f(80, [0, 250, 3]),
            f(120, [0, 250, 3]),
        ];
        let runs = colour_runs(&frames, &pal);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            (runs[0].colour, runs[0].frames, runs[0].first_pts),
            (Some(0), 2, 0)
        );
        assert_eq!(
            (runs[1].colour, runs[1].first_pts_ns),
            (Some(1), 80_000_000)
        );
        assert_eq!(
            describe_colour_runs(&runs, &pal),
            "red×2@0.000000s green×2@0.080000s"
        );
    }
}
