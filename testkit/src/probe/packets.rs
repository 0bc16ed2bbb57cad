//! Packet timestamps from `ffprobe -show_entries packet=…` as integer ticks.
//!
//! [`packets`] reads the first video and the first audio stream with their time bases.
//! [`Packets::video_steps_exact`] checks that the *sorted* video PTS advance by exactly
//! one frame (± tolerance: use 1.5 ms for FLV's millisecond clock), and
//! [`Packets::audio_continuity`] that every audio packet starts where the previous one
//! ended. Both return the violations; [`describe_violations`] formats them for an
//! assertion message.

use std::fmt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::{path_arg, run};
use crate::time::{Rational, fmt_ns};

/// One packet. `pts` falls back to `dts` when the container has no PTS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pkt {
    pub pts: i64,
    pub dts: Option<i64>,
    /// 0 when unknown.
    pub duration: i64,
    pub key: bool,
}

/// The packets of the first video and first audio stream, in file order.
#[derive(Clone, Debug)]
pub struct Packets {
    pub video: Vec<Pkt>,
    pub audio: Vec<Pkt>,
    pub video_time_base: Rational,
    pub audio_time_base: Rational,
}

/// One broken expectation, with where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `"video step"` or `"audio gap"`.
    pub kind: &'static str,
    /// Index (in sorted order) of the packet that broke it.
    pub index: usize,
    pub prev_pts: i64,
    pub pts: i64,
    pub time_base: Rational,
    pub expected_ns: i64,
    pub actual_ns: i64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at #{}: pts {} -> {} ({}; at {}): got {}, expected {}",
            self.kind,
            self.index,
            self.prev_pts,
            self.pts,
            self.time_base,
            fmt_ns(self.time_base.ticks_to_ns(self.pts)),
            fmt_ns(self.actual_ns),
            fmt_ns(self.expected_ns)
        )
    }
}

/// "N violations:" plus the first 20, one per line ("none" when empty).
pub fn describe_violations(v: &[Violation]) -> String {
    if v.is_empty() {
        return "no violations".to_owned();
    }
    let mut s = format!("{} violations:", v.len());
    for x in v.iter().take(20) {
        s.push_str("\n  ");
        s.push_str(&x.to_string());
    }
    if v.len() > 20 {
        s.push_str("\n  …");
    }
    s
}

#[derive(Deserialize)]
struct ProbeOut {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    #[serde(default)]
    packets: Vec<ProbePacket>,
}

#[derive(Deserialize)]
struct ProbeStream {
    index: usize,
    codec_type: Option<String>,
    time_base: Option<String>,
}

#[derive(Deserialize)]
struct ProbePacket {
    stream_index: usize,
    pts: Option<i64>,
    dts: Option<i64>,
    duration: Option<i64>,
    flags: Option<String>,
}

/// Reads all packets of `path` with ffprobe.
pub fn packets(path: &Path) -> Result<Packets> {
    let p = path_arg(path)?;
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-show_entries"])
        .arg("packet=stream_index,pts,dts,duration,flags:stream=index,codec_type,time_base")
        .args(["-of", "json"])
        .arg(p);
    let out = run(cmd)?;
    let parsed: ProbeOut = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("parse ffprobe JSON for {}", path.display()))?;
    Packets::from_probe(parsed)
}

impl Packets {
    fn from_probe(p: ProbeOut) -> Result<Self> {
        let find = |kind: &str| {
            p.streams
                .iter()
                .find(|s| s.codec_type.as_deref() == Some(kind))
        };
        let tb = |s: Option<&ProbeStream>| -> Result<(Option<usize>, Rational)> {
            match s {
                None => Ok((None, Rational::new(1, 1000))),
                Some(s) => Ok((
                    Some(s.index),
                    Rational::parse(s.time_base.as_deref().unwrap_or("1/1000"))?,
                )),
            }
        };
        let (vi, video_time_base) = tb(find("video"))?;
        let (ai, audio_time_base) = tb(find("audio"))?;
        let mut video = Vec::new();
        let mut audio = Vec::new();
        for pk in p.packets {
            let Some(pts) = pk.pts.or(pk.dts) else {
                continue;
            };
            let pkt = Pkt {
                pts,
                dts: pk.dts,
                duration: pk.duration.unwrap_or(0),
                key: pk.flags.as_deref().is_some_and(|f| f.contains('K')),
            };
            if Some(pk.stream_index) == vi {
                video.push(pkt);
            } else if Some(pk.stream_index) == ai {
                audio.push(pkt);
            }
        }
        Ok(Self {
            video,
            audio,
            video_time_base,
            audio_time_base,
        })
    }

    /// Video PTS sorted ascending (presentation order).
    pub fn video_pts_sorted(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.video.iter().map(|p| p.pts).collect();
        v.sort_unstable();
        v
    }

    /// Video PTS in nanoseconds, sorted.
    pub fn video_pts_ns(&self) -> Vec<i64> {
        let tb = self.video_time_base;
        self.video_pts_sorted()
            .into_iter()
            .map(|t| tb.ticks_to_ns(t))
            .collect()
    }

    /// Every step between consecutive sorted video PTS that differs from one frame
    /// of `fps_num/fps_den` by more than `tolerance`.
    pub fn video_steps_exact(
        &self,
        fps_num: i64,
        fps_den: i64,
        tolerance: Duration,
    ) -> Vec<Violation> {
        let expected_ns = Rational::new(fps_num, fps_den).frame_ns();
        let tol = duration_ns(tolerance);
        let tb = self.video_time_base;
        let pts = self.video_pts_sorted();
        let mut out = Vec::new();
        for (i, w) in pts.windows(2).enumerate() {
            let actual_ns = tb.ticks_to_ns(w[1]) - tb.ticks_to_ns(w[0]);
            if (actual_ns - expected_ns).abs() > tol {
                out.push(Violation {
                    kind: "video step",
                    index: i + 1,
                    prev_pts: w[0],
                    pts: w[1],
                    time_base: tb,
                    expected_ns,
                    actual_ns,
                });
            }
        }
        out
    }

    /// Panics, naming `who`, unless the recording is continuous at the house format: every
    /// video step exactly one 25 fps frame (±1.5 ms) and no audio gap or overlap over 2 ms.
    pub fn assert_house_continuous(&self, who: &str) {
        let bad = self.video_steps_exact(25, 1, Duration::from_micros(1500));
        assert!(bad.is_empty(), "{who} video: {}", describe_violations(&bad));
        let bad = self.audio_continuity(Duration::from_millis(2));
        assert!(bad.is_empty(), "{who} audio: {}", describe_violations(&bad));
    }

    /// Every audio packet whose start differs from the previous packet's end
    /// (`pts[i] − pts[i−1] − dur[i−1]`) by more than `tolerance`, in PTS order.
    pub fn audio_continuity(&self, tolerance: Duration) -> Vec<Violation> {
        let tol = duration_ns(tolerance);
        let tb = self.audio_time_base;
        let mut a = self.audio.clone();
        a.sort_by_key(|p| p.pts);
        let mut out = Vec::new();
        for (i, w) in a.windows(2).enumerate() {
            let gap_ns =
                tb.ticks_to_ns(w[1].pts) - tb.ticks_to_ns(w[0].pts) - tb.ticks_to_ns(w[0].duration);
            if gap_ns.abs() > tol {
                out.push(Violation {
                    kind: "audio gap",
                    index: i + 1,
                    prev_pts: w[0].pts,
                    pts: w[1].pts,
                    time_base: tb,
                    expected_ns: 0,
                    actual_ns: gap_ns,
                });
            }
        }
        out
    }

    /// Earliest packet start over both streams, in ns (`None` without packets).
    pub fn start_ns(&self) -> Option<i64> {
        let v = self
            .video
            .iter()
            .map(|p| self.video_time_base.ticks_to_ns(p.pts));
        let a = self
            .audio
            .iter()
            .map(|p| self.audio_time_base.ticks_to_ns(p.pts));
        v.chain(a).min()
    }

    /// Latest packet end (pts + duration) over both streams, in ns.
    pub fn end_ns(&self) -> Option<i64> {
        let vt = self.video_time_base;
        let at = self.audio_time_base;
        let v = self
            .video
            .iter()
            .map(|p| vt.ticks_to_ns(p.pts + p.duration));
        let a = self
            .audio
            .iter()
            .map(|p| at.ticks_to_ns(p.pts + p.duration));
        v.chain(a).max()
    }

    /// Length of the recording: latest packet end − earliest packet start.
    pub fn duration(&self) -> Duration {
        match (self.start_ns(), self.end_ns()) {
            (Some(s), Some(e)) if e > s => Duration::from_nanos(e.abs_diff(s)),
            _ => Duration::ZERO,
        }
    }
}

fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk(pts: i64, duration: i64) -> Pkt {
        Pkt {
            pts,
            dts: Some(pts),
            duration,
            key: false,
        }
    }

    #[test]
    fn steps_and_gaps_are_reported_with_values() {
        let p = Packets {
            video: vec![pk(0, 40), pk(80, 40), pk(40, 40), pk(160, 40), pk(199, 40)],
            audio: vec![pk(0, 21), pk(21, 21), pk(42, 21), pk(70, 21)],
            video_time_base: Rational::new(1, 1000),
            audio_time_base: Rational::new(1, 1000),
        };
        let v = p.video_steps_exact(25, 1, Duration::from_micros(1500));
        assert_eq!(v.len(), 1, "{}", describe_violations(&v));
        assert_eq!((v[0].index, v[0].prev_pts, v[0].pts), (3, 80, 160));
        assert_eq!(v[0].actual_ns, 80_000_000);
        let a = p.audio_continuity(Duration::from_micros(1500));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].actual_ns, 7_000_000);
        assert!(a[0].to_string().contains("42 -> 70"), "{}", a[0]);
        assert_eq!(p.duration(), Duration::from_millis(239));
    }
}
