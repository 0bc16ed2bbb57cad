//! Time for the rundown: the house frame rate, frame counts and their exact text forms,
//! Shanghai broadcast days as UTC instants, and cron slot expansion.
//!
//! Media time is integer frames; wall time is `Asia/Shanghai` for people and UTC instants in
//! data. Nothing here reads the system clock: callers pass "now" in.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A frame rate as an exact fraction, e.g. 25/1 (the house rate) or 30000/1001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameRate {
    /// Numerator (frames).
    pub num: u32,
    /// Denominator (seconds).
    pub den: u32,
}

impl Default for FrameRate {
    fn default() -> Self {
        FrameRate { num: 25, den: 1 }
    }
}

impl FrameRate {
    /// Frames in `ms` milliseconds, rounded down.
    pub fn frames_in_ms(self, ms: i64) -> i64 {
        ((ms as i128 * self.num as i128) / (1000 * self.den as i128)) as i64
    }

    /// Frames in `secs` whole seconds, rounded down.
    pub fn frames_in_secs(self, secs: i64) -> u64 {
        ((secs.max(0) as u128 * self.num as u128) / self.den as u128) as u64
    }

    /// Milliseconds spanned by `frames`, rounded to the nearest millisecond (exact at 25 fps).
    pub fn ms_of(self, frames: u64) -> i64 {
        let n = frames as i128 * 1000 * self.den as i128;
        let d = self.num as i128;
        ((n + d / 2) / d) as i64
    }

    /// Nanoseconds spanned by `frames`, rounded down.
    pub fn ns_of(self, frames: u64) -> i64 {
        ((frames as i128 * 1_000_000_000 * self.den as i128) / self.num as i128) as i64
    }

    /// Frames between two instants (rounded to the nearest frame; negative when `b < a`).
    pub fn frames_between(self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        let ns = (b - a).num_nanoseconds().unwrap_or(i64::MAX) as i128;
        let per = 1_000_000_000i128 * self.den as i128;
        let n = ns * self.num as i128;
        let q = if n >= 0 {
            (n + per / 2) / per
        } else {
            (n - per / 2) / per
        };
        q as i64
    }

    /// The instant `frames` after `t`.
    pub fn add(self, t: DateTime<Utc>, frames: u64) -> DateTime<Utc> {
        t + Duration::nanoseconds(self.ns_of(frames))
    }
}

impl std::fmt::Display for FrameRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// Formats a frame count as `HH:MM:SS.mmm` (hours may exceed 24). Exact at 25 fps.
pub fn fmt_frames(rate: FrameRate, frames: u64) -> String {
    fmt_ms(rate.ms_of(frames))
}

/// Formats milliseconds as `HH:MM:SS.mmm` ([`crate::timecode::hms_millis`]).
pub use crate::timecode::hms_millis as fmt_ms;

/// Formats a frame count as `HH:MM:SS` when whole seconds, else `HH:MM:SS.mmm` (for people).
pub fn fmt_frames_short(rate: FrameRate, frames: u64) -> String {
    let s = fmt_frames(rate, frames);
    s.strip_suffix(".000").map(str::to_owned).unwrap_or(s)
}

/// Parses `HH:MM[:SS[.mmm]]` or plain (decimal) seconds into milliseconds.
pub fn parse_clock_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [sec] => (0, 0, *sec),
        [h, m] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, "0"),
        [h, m, sec] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, *sec),
        _ => return None,
    };
    if h < 0 || !(0..60).contains(&m) && parts.len() > 1 {
        return None;
    }
    let (whole, frac) = match sec.split_once('.') {
        Some((w, f)) => (w, f),
        None => (sec, ""),
    };
    let whole: i64 = whole.parse().ok()?;
    if whole < 0 || (parts.len() > 1 && whole >= 60) || frac.len() > 3 {
        return None;
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let frac_ms: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().ok()?
    };
    Some(((h * 60 + m) * 60 + whole) * 1000 + frac_ms)
}

/// Parses a duration text (`HH:MM:SS[.mmm]` or seconds) into frames at `rate`, requiring it to
/// land exactly on a frame boundary.
pub fn parse_duration_frames(rate: FrameRate, s: &str) -> Option<u64> {
    let ms = parse_clock_ms(s)?;
    let frames = rate.frames_in_ms(ms);
    (rate.ms_of(frames as u64) == ms).then_some(frames as u64)
}

/// The broadcast day `date` in `tz`: `[midnight, next midnight)` as UTC instants.
pub fn day_bounds(tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = date.succ_opt().unwrap_or(date);
    (
        local_to_utc(tz, date.and_time(NaiveTime::MIN)),
        local_to_utc(tz, next.and_time(NaiveTime::MIN)),
    )
}

/// A wall-clock time in `tz` as a UTC instant (earliest reading when ambiguous; skipped
/// times move forward an hour — Shanghai has neither).
pub fn local_to_utc(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&t).earliest() {
        Some(d) => d.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(t + Duration::hours(1)))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&t)),
    }
}

/// `2026-09-01 20:00:00` (with `.mmm` when not whole seconds) in `tz`: how people read times.
pub fn wall(tz: Tz, t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&tz);
    let ms = l.timestamp_subsec_millis();
    if ms == 0 {
        l.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{ms:03}", l.format("%Y-%m-%d %H:%M:%S"))
    }
}

/// `20:00:00` (with `.mmm` when not whole seconds) in `tz`.
pub fn wall_time(tz: Tz, t: DateTime<Utc>) -> String {
    let w = wall(tz, t);
    w.get(11..).map(str::to_owned).unwrap_or(w)
}

/// ISO local form `2026-09-01T20:00:00[.mmm]` in `tz`, as the engine day file wants it.
pub fn wall_iso(tz: Tz, t: DateTime<Utc>) -> String {
    wall(tz, t).replacen(' ', "T", 1)
}

/// A parsed cron expression (6 or 7 fields, seconds first, as the `cron` crate reads them).
#[derive(Debug, Clone)]
pub struct CronSlot {
    schedule: cron::Schedule,
}

impl CronSlot {
    /// Parses `expr`; the error text is the parser's.
    pub fn parse(expr: &str) -> Result<Self, String> {
        cron::Schedule::from_str(expr)
            .map(|schedule| CronSlot { schedule })
            .map_err(|e| e.to_string())
    }

    /// Every firing in `[from, to)`, read as wall time in `tz`, returned as UTC instants.
    pub fn firings(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let start = (from - Duration::nanoseconds(1)).with_timezone(&tz);
        self.schedule
            .after(&start)
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t < to)
            .filter(|t| *t >= from)
            .collect()
    }
}

/// Whole-frame lengths of a run of items laid end to end, from their exact lengths in
/// milliseconds, with the remainder carried (issue 13, fault 7).
///
/// Each boundary falls on the frame nearest the exact running time from the start of the run
/// (half a frame rounds up), so an item takes `round(end) - round(start)` frames: ten 1.1 s
/// clips at 25 fps (27.5 frames each) take 28, 27, 28, 27 … frames, and any prefix of the run
/// takes the sum of its lengths to within half a frame — an item pinned where the run ends
/// by the clock is never reached early or late by more than that, so nothing that fits is
/// cut. Integer arithmetic only (`u128`), exact for every rate; a length that would overflow
/// saturates. Negative lengths count as zero.
///
/// Returns an iterator so a caller can restart the run (a pinned item) by starting a new one.
pub fn carried_frames<I>(rate: FrameRate, lengths_ms: I) -> CarriedFrames<I::IntoIter>
where
    I: IntoIterator<Item = i64>,
{
    CarriedFrames {
        rate,
        lengths: lengths_ms.into_iter(),
        elapsed_ms: 0,
        done_frames: 0,
    }
}

/// The iterator of [`carried_frames`]: whole frames per item, remainder carried.
#[derive(Debug, Clone)]
pub struct CarriedFrames<I> {
    rate: FrameRate,
    lengths: I,
    /// Exact time elapsed in the run, ms.
    elapsed_ms: u128,
    /// Frames handed out so far (the frame nearest `elapsed_ms` before this item).
    done_frames: u64,
}

impl<I> CarriedFrames<I> {
    /// Exact milliseconds of the run so far (the sum of the lengths read).
    pub fn elapsed_ms(&self) -> u128 {
        self.elapsed_ms
    }

    /// Frames of the run so far (the sum of the lengths handed out).
    pub fn frames_so_far(&self) -> u64 {
        self.done_frames
    }
}

/// The frame nearest `ms` milliseconds at `rate` (half a frame rounds up).
pub fn nearest_frame(rate: FrameRate, ms: u128) -> u64 {
    let n = ms.saturating_mul(u128::from(rate.num));
    let d = 1000 * u128::from(rate.den.max(1));
    u64::try_from((n + d / 2) / d).unwrap_or(u64::MAX)
}

impl<I: Iterator<Item = i64>> Iterator for CarriedFrames<I> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let ms = self.lengths.next()?;
        self.elapsed_ms = self
            .elapsed_ms
            .saturating_add(u128::from(ms.max(0).unsigned_abs()));
        let end = nearest_frame(self.rate, self.elapsed_ms);
        let frames = end.saturating_sub(self.done_frames);
        self.done_frames = end;
        Some(frames)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.lengths.size_hint()
    }
}

#[cfg(test)]
mod carry_tests {
    use super::*;

    #[test]
    fn ten_clips_of_1100_ms_take_28_27_alternately_and_275_in_all() {
        let f: Vec<u64> = carried_frames(FrameRate::default(), [1100; 10]).collect();
        assert_eq!(f, [28, 27, 28, 27, 28, 27, 28, 27, 28, 27]);
        assert_eq!(f.iter().sum::<u64>(), 275);
    }

    #[test]
    fn every_prefix_is_within_half_a_frame_of_its_exact_length() {
        for rate in [
            FrameRate { num: 25, den: 1 },
            FrameRate {
                num: 30000,
                den: 1001,
            },
            FrameRate { num: 50, den: 1 },
        ] {
            let lengths = [1100i64, 7, 40, 1999, 33_367, 1, 0, 12_345, 999];
            let mut run = carried_frames(rate, lengths);
            let mut exact_ms = 0i64;
            let mut sum = 0u64;
            for ms in lengths {
                sum += run.next().expect("one length per item");
                exact_ms += ms;
                // |sum × 1000 × den − exact × num| ≤ ½ × 1000 × den, in integers.
                let lhs = (i128::from(sum) * 1000 * i128::from(rate.den)
                    - i128::from(exact_ms) * i128::from(rate.num))
                .abs();
                assert!(
                    lhs * 2 <= 1000 * i128::from(rate.den),
                    "{rate}: {sum} vs {exact_ms} ms"
                );
                assert_eq!(run.frames_so_far(), sum);
            }
            assert!(run.next().is_none());
        }
    }

    #[test]
    fn whole_frame_lengths_are_unchanged_and_negative_lengths_are_zero() {
        let f: Vec<u64> = carried_frames(FrameRate::default(), [40, 2000, -5, 80]).collect();
        assert_eq!(f, [1, 50, 0, 2]);
        let huge: Vec<u64> = carried_frames(FrameRate::default(), [i64::MAX, i64::MAX]).collect();
        assert_eq!(huge.len(), 2);
    }
}
