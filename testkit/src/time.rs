//! Integer time arithmetic: time bases, tick ⇄ nanosecond conversion.
//!
//! Timestamps stay integers of a stream's time base (e.g. 1/1000 for FLV, 1/90000 for
//! MPEG-TS); conversions go through `i128` and round to nearest, so nothing ever
//! accumulates floating-point error.

use std::fmt;

use anyhow::{Context, Result, bail};

/// Nanoseconds per second.
pub const NS_PER_S: i64 = 1_000_000_000;

/// 2^24 ms, the point where RTMP's 24-bit timestamp field overflows into the extended
/// timestamp, in nanoseconds (16777.216 s).
pub const RTMP_24BIT_WRAP_NS: i64 = (1 << 24) * 1_000_000;

/// 2^33 ticks of 90 kHz, the MPEG-TS PTS wrap (≈ 95443.718 s).
pub const MPEGTS_PTS_WRAP: u64 = 1 << 33;

/// A positive rational such as a time base `1/90000` or a frame rate `30000/1001`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    pub num: i64,
    pub den: i64,
}

impl Rational {
    pub const fn new(num: i64, den: i64) -> Self {
        Self { num, den }
    }

    /// Parses `"1/90000"` (ffprobe's `time_base`) or `"25"`.
    pub fn parse(s: &str) -> Result<Self> {
        let (n, d) = s.split_once('/').unwrap_or((s, "1"));
        let num: i64 = n
            .trim()
            .parse()
            .with_context(|| format!("rational {s:?}"))?;
        let den: i64 = d
            .trim()
            .parse()
            .with_context(|| format!("rational {s:?}"))?;
        if num <= 0 || den <= 0 {
            bail!("rational {s:?} is not positive");
        }
        Ok(Self { num, den })
    }

    /// `ticks` of this time base in nanoseconds (rounded to nearest).
    pub fn ticks_to_ns(self, ticks: i64) -> i64 {
        div_round(
            i128::from(ticks) * i128::from(self.num) * i128::from(NS_PER_S),
            i128::from(self.den),
        )
    }

    /// Nanoseconds as ticks of this time base (rounded to nearest).
    pub fn ns_to_ticks(self, ns: i64) -> i64 {
        div_round(
            i128::from(ns) * i128::from(self.den),
            i128::from(self.num) * i128::from(NS_PER_S),
        )
    }

    /// Rescales `ticks` of this time base into ticks of `to` (rounded to nearest).
    pub fn rescale(self, ticks: i64, to: Rational) -> i64 {
        div_round(
            i128::from(ticks) * i128::from(self.num) * i128::from(to.den),
            i128::from(self.den) * i128::from(to.num),
        )
    }

    /// Treating `self` as a frame rate: the length of one frame in nanoseconds.
    pub fn frame_ns(self) -> i64 {
        div_round(
            i128::from(self.den) * i128::from(NS_PER_S),
            i128::from(self.num),
        )
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

fn div_round(n: i128, d: i128) -> i64 {
    let q = if (n < 0) == (d < 0) {
        (n + d / 2) / d
    } else {
        (n - d / 2) / d
    };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// Parses a decimal seconds string such as `"16775.021"`, `"-0.5"` or `"2.5e-05"`
/// (ffmpeg's `%g`) into nanoseconds without going through floating point.
pub fn parse_seconds_ns(s: &str) -> Result<i64> {
    let s = s.trim();
    if let Some((mant, exp)) = s.split_once(['e', 'E']) {
        let exp: i32 = exp.parse().with_context(|| format!("seconds {s:?}"))?;
        let mut ns = i128::from(parse_seconds_ns(mant)?);
        for _ in 0..exp.unsigned_abs() {
            ns = if exp > 0 { ns * 10 } else { ns / 10 };
        }
        return i64::try_from(ns).with_context(|| format!("seconds {s:?} out of range"));
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().with_context(|| format!("seconds {s:?}"))?
    };
    let mut frac_ns: i64 = 0;
    let mut scale = NS_PER_S / 10;
    for c in frac.chars() {
        let d = c
            .to_digit(10)
            .with_context(|| format!("seconds {s:?}: bad digit {c:?}"))?;
        frac_ns += i64::from(d) * scale;
        scale /= 10;
    }
    let ns = int * NS_PER_S + frac_ns;
    Ok(if neg { -ns } else { ns })
}

/// Formats nanoseconds as seconds with millisecond precision, for messages.
pub fn fmt_ns(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    format!(
        "{sign}{}.{:06}s",
        a / 1_000_000_000,
        (a % 1_000_000_000) / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_exact() {
        let ms = Rational::new(1, 1000);
        assert_eq!(ms.ticks_to_ns(16_777_217), 16_777_217_000_000);
        let ts = Rational::new(1, 90_000);
        assert_eq!(ts.ticks_to_ns(3600), 40_000_000);
        assert_eq!(ts.ns_to_ticks(40_000_000), 3600);
        assert_eq!(ts.rescale(3600, ms), 40);
        assert_eq!(Rational::new(30_000, 1001).frame_ns(), 33_366_667);
        assert_eq!(
            Rational::parse("1/48000").expect("parse"),
            Rational::new(1, 48_000)
        );
        assert!(Rational::parse("0/0").is_err());
        assert_eq!(
            parse_seconds_ns("16775.021").expect("p"),
            16_775_021_000_000
        );
        assert_eq!(parse_seconds_ns("-0.5").expect("p"), -500_000_000);
        assert_eq!(parse_seconds_ns("2.5e-05").expect("p"), 25_000);
        assert_eq!(parse_seconds_ns("1e3").expect("p"), 1_000 * NS_PER_S);
        assert_eq!(fmt_ns(-1_500_000), "-0.001500s");
    }
}
