//! The engine's day file: a TOML rundown a person can write and the scheduler writes too.
//!
//! ```toml
//! start = "2026-09-01T00:00:00"        # optional, Asia/Shanghai; absent = now
//! [[item]]
//! source = "media/deep-sea.mp4"        # path (relative to the file) or URL
//! title = "深海探秘"                    # optional
//! in = "00:00:05.000"                  # optional in-point: HH:MM:SS[.mmm] or seconds
//! duration = "00:30:00"                # optional; default: to the file's end
//! at = "2026-09-01T20:00:00"           # optional hard start; cuts whatever is on air
//! ```
//!
//! Owns: parsing and checking that file with errors naming file, line and field, in
//! integer milliseconds. Does not own: turning it into cues on the timeline (`play`).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

use crate::config::line_of;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DayFileError(pub String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    start: Option<Spanned<WallValue>>,
    #[serde(default, rename = "item")]
    items: Vec<Spanned<RawItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    source: Spanned<String>,
    title: Option<String>,
    #[serde(rename = "in")]
    in_point: Option<Spanned<TimeValue>>,
    duration: Option<Spanned<TimeValue>>,
    at: Option<Spanned<WallValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TimeValue {
    Int(i64),
    Float(f64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WallValue {
    Text(String),
    Datetime(toml::value::Datetime),
}

/// One item of the day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayItem {
    /// Line of the `[[item]]` in the file, for messages.
    pub line: usize,
    /// Absolute path or URL.
    pub source: String,
    pub title: Option<String>,
    pub in_ms: u64,
    pub duration_ms: Option<u64>,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayFile {
    pub path: PathBuf,
    pub start: Option<DateTime<Utc>>,
    pub items: Vec<DayItem>,
}

pub use crate::timecode::parse_duration_ms;

/// Parses a Shanghai wall time `YYYY-MM-DDTHH:MM:SS` (or with a space) into UTC.
pub fn parse_wall(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return Shanghai
                .from_local_datetime(&naive)
                .single()
                .map(|d| d.with_timezone(&Utc));
        }
    }
    None
}

impl DayFile {
    pub fn load(path: &Path) -> Result<DayFile, DayFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            DayFileError(format!("{}: cannot read the rundown: {e}", path.display()))
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<DayFile, DayFileError> {
        let file = path.display().to_string();
        let raw: RawDay = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            DayFileError(format!("{file}:{line}: {}", e.message().trim()))
        })?;
        let at = |span: std::ops::Range<usize>, field: &str, msg: String| {
            DayFileError(format!(
                "{file}:{}: {field}: {msg}",
                line_of(text, span.start)
            ))
        };
        let wall = |v: &Spanned<WallValue>, field: &str| -> Result<DateTime<Utc>, DayFileError> {
            let s = match v.get_ref() {
                WallValue::Text(s) => s.clone(),
                WallValue::Datetime(d) => d.to_string(),
            };
            parse_wall(&s).ok_or_else(|| {
                at(
                    v.span(),
                    field,
                    format!(
                        "{s:?} is not a date and time like \"2026-09-01T20:00:00\" (Asia/Shanghai)"
                    ),
                )
            })
        };
        let time = |v: &Spanned<TimeValue>, field: &str| -> Result<u64, DayFileError> {
            let ms = match v.get_ref() {
                TimeValue::Int(i) if *i >= 0 => i.checked_mul(1000).map(|x| x as u64),
                TimeValue::Float(f) if f.is_finite() && *f >= 0.0 && *f < 1e9 => {
                    Some((f * 1000.0).round() as u64)
                }
                TimeValue::Text(s) => parse_duration_ms(s),
                _ => None,
            };
            ms.ok_or_else(|| {
                at(
                    v.span(),
                    field,
                    "must be HH:MM:SS[.mmm] or a number of seconds".into(),
                )
            })
        };
        let start = raw.start.as_ref().map(|s| wall(s, "start")).transpose()?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut items = Vec::new();
        for item in &raw.items {
            let line = line_of(text, item.span().start);
            let it = item.get_ref();
            let src = it.source.get_ref().trim();
            if src.is_empty() {
                return Err(at(
                    it.source.span(),
                    "item.source",
                    "must not be empty".into(),
                ));
            }
            let source = if src.contains("://") {
                src.to_string()
            } else {
                let p = Path::new(src);
                let abs = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                };
                abs.display().to_string()
            };
            let duration_ms = it
                .duration
                .as_ref()
                .map(|d| time(d, "item.duration"))
                .transpose()?;
            if duration_ms == Some(0) {
                let span = it.duration.as_ref().map(|d| d.span()).unwrap_or(0..0);
                return Err(at(span, "item.duration", "must be longer than zero".into()));
            }
            items.push(DayItem {
                line,
                source,
                title: it.title.clone(),
                in_ms: it
                    .in_point
                    .as_ref()
                    .map(|d| time(d, "item.in"))
                    .transpose()?
                    .unwrap_or(0),
                duration_ms,
                at: it.at.as_ref().map(|a| wall(a, "item.at")).transpose()?,
            });
        }
        // Hard starts must not go backwards.
        let mut last: Option<(DateTime<Utc>, usize)> = start.map(|s| (s, 0));
        for (i, it) in items.iter().enumerate() {
            if let Some(t) = it.at {
                if let Some((prev, _)) = last
                    && t < prev
                {
                    let span = raw.items[i]
                        .get_ref()
                        .at
                        .as_ref()
                        .map(|a| a.span())
                        .unwrap_or(0..0);
                    return Err(at(
                        span,
                        "item.at",
                        "is earlier than the start or a previous item's at".into(),
                    ));
                }
                last = Some((t, i));
            }
        }
        Ok(DayFile {
            path: path.to_path_buf(),
            start,
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("00:30:00"), Some(1_800_000));
        assert_eq!(parse_duration_ms("01:02:03.5"), Some(3_723_500));
        assert_eq!(parse_duration_ms("02:03.040"), Some(123_040));
        assert_eq!(parse_duration_ms("90"), Some(90_000));
        assert_eq!(parse_duration_ms("2.25"), Some(2_250));
        assert_eq!(parse_duration_ms("00:61:00"), None);
        assert_eq!(parse_duration_ms("1:2:3:4"), None);
        assert_eq!(parse_duration_ms("abc"), None);
        assert_eq!(parse_duration_ms("-5"), None);
        assert_eq!(parse_duration_ms("1.2345"), None);
    }

    #[test]
    fn wall_times_are_shanghai() {
        let t = parse_wall("2026-09-01T08:00:00").expect("valid");
        assert_eq!(t.to_rfc3339(), "2026-09-01T00:00:00+00:00");
        let t = parse_wall("2026-09-01 00:30:00").expect("valid");
        assert_eq!(t.to_rfc3339(), "2026-08-31T16:30:00+00:00");
    }

    #[test]
    fn a_good_file() {
        let text = r#"
start = "2026-09-01T00:00:00"
[[item]]
source = "a.mp4"
title = "深海探秘"
duration = "00:00:10"
[[item]]
source = "rtsp://cam/1"
in = 2.5
at = 2026-09-01T00:01:00
"#;
        let d = DayFile::parse(Path::new("/srv/day.toml"), text).expect("valid");
        assert_eq!(d.items.len(), 2);
        assert_eq!(d.items[0].source, "/srv/a.mp4");
        assert_eq!(d.items[0].duration_ms, Some(10_000));
        assert_eq!(d.items[0].line, 3);
        assert_eq!(d.items[1].in_ms, 2_500);
        assert_eq!(
            d.items[1].at.map(|t| t.to_rfc3339()),
            Some("2026-08-31T16:01:00+00:00".into())
        );
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let p = Path::new("day.toml");
        let e = DayFile::parse(p, "[[item]]\nsource = \"a\"\nduration = \"ten\"\n")
            .expect_err("must be refused")
            .0;
        assert!(e.starts_with("day.toml:3: item.duration"), "{e}");
        let e = DayFile::parse(p, "[[item]]\nsource = \"a\"\nat = \"tomorrow\"\n")
            .expect_err("must be refused")
            .0;
        assert!(e.starts_with("day.toml:3: item.at"), "{e}");
        let e = DayFile::parse(p, "[[item]]\ntitle = \"x\"\n")
            .expect_err("must be refused")
            .0;
        assert!(e.starts_with("day.toml:1:") && e.contains("source"), "{e}");
        let e = DayFile::parse(p, "[[item]]\nsource = \"a\"\ncolour = 1\n")
            .expect_err("must be refused")
            .0;
        assert!(e.starts_with("day.toml:3:") && e.contains("colour"), "{e}");
        let e = DayFile::parse(
            p,
            "[[item]]\nsource = \"a\"\nat = \"2026-09-01T10:00:00\"\n[[item]]\nsource = \"b\"\nat = \"2026-09-01T09:00:00\"\n",
        )
        .expect_err("must be refused")
        .0;
        assert!(e.starts_with("day.toml:6: item.at"), "{e}");
    }
}

#[cfg(test)]
mod robustness {
    //! Thousands of corrupted variants of a valid day file: each is parsed or refused with
    //! a message naming the file, never a panic. (A seeded stand-in for a fuzz target:
    //! cargo-fuzz needs a nightly toolchain this project's machines cannot fetch.)
    use super::*;

    const GOOD: &str = "start = \"2026-09-01T00:00:00\"\n[[item]]\nsource = \"a.mp4\"\ntitle = \"深海\"\nin = \"00:00:05.5\"\nduration = 90\n[[item]]\nsource = \"rtsp://cam/1\"\nat = \"2026-09-01T20:00:00\"\n";

    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn corrupted_files_never_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let alphabet: Vec<char> = "[]=\"':.-T0123456789 \n#\\节目abcdefghijklmnopqrstuvwxyz{}"
            .chars()
            .collect();
        for _ in 0..4000 {
            let mut chars: Vec<char> = GOOD.chars().collect();
            for _ in 0..(next(&mut seed) % 6 + 1) {
                let pos = (next(&mut seed) as usize) % (chars.len() + 1);
                match next(&mut seed) % 3 {
                    0 if pos < chars.len() => {
                        chars.remove(pos);
                    }
                    1 => chars.insert(pos, alphabet[(next(&mut seed) as usize) % alphabet.len()]),
                    _ => chars.truncate(pos),
                }
            }
            let text: String = chars.into_iter().collect();
            if let Err(e) = DayFile::parse(Path::new("day.toml"), &text) {
                assert!(e.0.starts_with("day.toml:"), "{e} for {text:?}");
            }
        }
    }
}
