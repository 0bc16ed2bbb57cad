//! Edition config: the rules of one year's broadcast (window, categories and their minimum
//! durations, technical acceptance, submission deadlines), read from
//! `schedules/editions/<year>.toml`. Rules belong here, not in code: 2025 and 2026 differ.
//! This module owns parsing and validation only. The `[schedule]` table belongs to the
//! rundown and is carried here opaquely so that the same file parses for both.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub mod next;

/// One edition's rules, as written in its TOML file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Edition {
    /// Year, name, theme and broadcast window.
    pub edition: EditionInfo,
    /// The video categories (视频类别) of this edition, ids 1–9.
    #[serde(rename = "category")]
    pub categories: Vec<CategoryRule>,
    /// Technical acceptance rules (技术要求) from the notice.
    pub acceptance: Acceptance,
    /// Submission deadlines (报送时间); later submissions are flagged, not refused.
    pub deadlines: Deadlines,
    /// The rundown's table (sections, day template, slots); opaque to the catalog.
    #[serde(default)]
    pub schedule: Option<toml::Table>,
}

/// Identity and broadcast window of an edition.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EditionInfo {
    /// Edition year, e.g. 2026.
    pub year: i32,
    /// Display name, e.g. 「科普之光」全国科普月大型网络展播.
    pub name: String,
    /// Theme (活动主题).
    pub theme: String,
    /// First broadcast day (local date).
    pub window_start: toml::value::Datetime,
    /// Last broadcast day, inclusive (local date).
    pub window_end: toml::value::Datetime,
    /// IANA time zone of the schedule; must be "Asia/Shanghai".
    pub time_zone: String,
}

/// One video category and its per-edition rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// Category number 1–9 as in SPEC.md.
    pub id: u8,
    /// Chinese name as printed on the collection form.
    pub name: String,
    /// Minimum length of one video in minutes, when the edition sets one (2026: none).
    #[serde(default)]
    pub min_minutes: Option<u32>,
}

/// Technical acceptance rules checked by the machine.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// Allowed containers, lower case: any of mp4, mov, avi, wmv, mkv, ts, flv.
    pub containers: Vec<String>,
    /// Minimum picture width in pixels (after rotation), e.g. 1920.
    pub min_width: u32,
    /// Minimum picture height in pixels (after rotation), e.g. 1080.
    pub min_height: u32,
    /// Whether portrait (竖屏) pictures are refused.
    pub landscape_required: bool,
    /// Overall bit rate below this is refused (bits per second), e.g. 5000000.
    pub reject_below_bps: u64,
    /// Overall bit rate below this is a warning (bits per second), e.g. 8000000.
    pub warn_below_bps: u64,
    /// Largest accepted file in bytes (4 GiB = 4294967296).
    pub max_size_bytes: u64,
    /// Whether a file without an audio stream is refused.
    pub audio_required: bool,
    /// Integrated loudness target in LUFS (stored for playout; deviations warn).
    pub loudness_target_lufs: f64,
    /// Allowed deviation from the target in LU before a warning.
    pub loudness_tolerance_lu: f64,
    /// True peak above this (dBTP) is a warning.
    pub true_peak_max_dbtp: f64,
}

/// Submission deadlines of the notice (local dates, inclusive).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// Finished videos and leads (成品视频及线索).
    pub finished: toml::value::Datetime,
    /// Videos still to be produced by the unit (视频待自行制作).
    pub to_be_produced: toml::value::Datetime,
    /// Month highlights (科普月精剪视频), due during the broadcast.
    pub highlights: toml::value::Datetime,
}

/// A config file that cannot be used, with the place and reason.
#[derive(Debug, thiserror::Error)]
pub enum EditionError {
    /// The file cannot be read.
    #[error("无法读取届次配置 {path}：{source}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax or an unknown/missing field.
    #[error("届次配置 {path} 格式错误：{message}")]
    Parse {
        /// File path.
        path: String,
        /// Parser message (names the line and key).
        message: String,
    },
    /// A value breaks a rule.
    #[error("届次配置 {path} 的 {field} 无效：{reason}")]
    Invalid {
        /// File path.
        path: String,
        /// Dotted field name.
        field: String,
        /// Why.
        reason: String,
    },
}

/// The only containers the probe can name.
pub const KNOWN_CONTAINERS: &[&str] = &["mp4", "mov", "avi", "wmv", "mkv", "ts", "flv"];

fn date_of(dt: &toml::value::Datetime) -> Option<NaiveDate> {
    match (dt.date, dt.time) {
        (Some(d), None) => NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()),
        _ => None,
    }
}

impl Edition {
    /// Reads, parses and validates an edition file.
    pub fn load(path: &Path) -> Result<Self, EditionError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| EditionError::Read {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// Parses and validates edition TOML; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, EditionError> {
        let e: Self = toml::from_str(text).map_err(|err| EditionError::Parse {
            path: origin.to_string(),
            message: err.to_string(),
        })?;
        e.validate(origin)?;
        Ok(e)
    }

    /// Checks every rule; the first broken one is reported with its field.
    pub fn validate(&self, origin: &str) -> Result<(), EditionError> {
        let bad = |field: &str, reason: String| EditionError::Invalid {
            path: origin.to_string(),
            field: field.to_string(),
            reason,
        };
        let info = &self.edition;
        if !(2020..=2100).contains(&info.year) {
            return Err(bad("edition.year", format!("年份 {} 不合理", info.year)));
        }
        if info.time_zone != "Asia/Shanghai" {
            return Err(bad("edition.time_zone", "必须为 Asia/Shanghai".into()));
        }
        let start = date_of(&info.window_start)
            .ok_or_else(|| bad("edition.window_start", "须为日期，如 2026-09-01".into()))?;
        let end = date_of(&info.window_end)
            .ok_or_else(|| bad("edition.window_end", "须为日期，如 2026-09-30".into()))?;
        if end < start {
            return Err(bad("edition.window_end", "早于 window_start".into()));
        }
        let mut seen = [false; 10];
        for (i, c) in self.categories.iter().enumerate() {
            if !(1..=9).contains(&c.id) {
                return Err(bad(&format!("category[{i}].id"), "须为 1–9".into()));
            }
            if std::mem::replace(&mut seen[usize::from(c.id)], true) {
                return Err(bad(&format!("category[{i}].id"), format!("{} 重复", c.id)));
            }
            if c.name.trim().is_empty() {
                return Err(bad(&format!("category[{i}].name"), "不能为空".into()));
            }
            if c.min_minutes == Some(0) {
                return Err(bad(
                    &format!("category[{i}].min_minutes"),
                    "不限时长请省略此项".into(),
                ));
            }
        }
        if self.categories.is_empty() {
            return Err(bad("category", "至少需要一个类别".into()));
        }
        let a = &self.acceptance;
        if a.containers.is_empty() {
            return Err(bad("acceptance.containers", "不能为空".into()));
        }
        for c in &a.containers {
            if !KNOWN_CONTAINERS.contains(&c.as_str()) {
                return Err(bad(
                    "acceptance.containers",
                    format!("未知格式 {c}（可用：{}）", KNOWN_CONTAINERS.join("、")),
                ));
            }
        }
        if a.min_width == 0 || a.min_height == 0 {
            return Err(bad("acceptance.min_width", "分辨率须大于 0".into()));
        }
        if a.reject_below_bps > a.warn_below_bps {
            return Err(bad(
                "acceptance.reject_below_bps",
                "不能高于 warn_below_bps".into(),
            ));
        }
        if a.max_size_bytes == 0 {
            return Err(bad("acceptance.max_size_bytes", "须大于 0".into()));
        }
        if !(-70.0..=0.0).contains(&a.loudness_target_lufs) || a.loudness_tolerance_lu <= 0.0 {
            return Err(bad(
                "acceptance.loudness_target_lufs",
                "响度目标或容差不合理".into(),
            ));
        }
        for (field, dt) in [
            ("deadlines.finished", &self.deadlines.finished),
            ("deadlines.to_be_produced", &self.deadlines.to_be_produced),
            ("deadlines.highlights", &self.deadlines.highlights),
        ] {
            date_of(dt).ok_or_else(|| bad(field, "须为日期，如 2026-08-15".into()))?;
        }
        Ok(())
    }

    /// First broadcast day.
    pub fn window_start(&self) -> NaiveDate {
        date_of(&self.edition.window_start).unwrap_or(NaiveDate::MIN)
    }

    /// Last broadcast day (inclusive).
    pub fn window_end(&self) -> NaiveDate {
        date_of(&self.edition.window_end).unwrap_or(NaiveDate::MAX)
    }

    /// The deadline for works submitted as `kind` (validated dates; see
    /// [`Edition::validate`]).
    pub fn deadline(&self, kind: DeadlineKind) -> NaiveDate {
        let dt = match kind {
            DeadlineKind::Finished => &self.deadlines.finished,
            DeadlineKind::ToBeProduced => &self.deadlines.to_be_produced,
            DeadlineKind::Highlights => &self.deadlines.highlights,
        };
        date_of(dt).unwrap_or(NaiveDate::MAX)
    }

    /// The rule of category `id`, if this edition has it.
    pub fn category(&self, id: u8) -> Option<&CategoryRule> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The strictest minimum duration (ms) over the given categories, if any is set.
    pub fn min_duration_ms(&self, categories: &[u8]) -> Option<i64> {
        categories
            .iter()
            .filter_map(|id| self.category(*id)?.min_minutes)
            .max()
            .map(|m| i64::from(m) * 60_000)
    }
}

/// The edition's submission deadlines, by what a unit submits (报送视频状态): the notice's
/// three dates (2026: finished videos by 8月15日, highlights by 9月15日). The catalog maps its
/// submission status onto these; the edition knows nothing of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineKind {
    /// 成品视频.
    Finished,
    /// 视频待自行制作.
    ToBeProduced,
    /// 科普月精剪视频.
    Highlights,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(year: u32) -> Edition {
        let path = format!(
            "{}/schedules/editions/{year}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        Edition::load(Path::new(&path)).expect("shipped edition parses")
    }

    #[test]
    fn shipped_editions_parse_with_the_notices_rules() {
        let e25 = shipped(2025);
        assert_eq!(e25.acceptance.containers, vec!["mp4"]);
        assert_eq!(e25.min_duration_ms(&[8]), Some(180 * 60_000));
        assert_eq!(e25.min_duration_ms(&[4, 1]), Some(30 * 60_000));
        assert_eq!(e25.categories.len(), 9);
        let e26 = shipped(2026);
        assert_eq!(e26.min_duration_ms(&[1, 8]), None);
        assert!(e26.acceptance.containers.contains(&"wmv".to_string()));
        assert_eq!(
            e26.window_start(),
            NaiveDate::from_ymd_opt(2026, 9, 1).expect("date")
        );
    }

    #[test]
    fn unknown_fields_and_bad_values_are_named() {
        let base = std::fs::read_to_string(format!(
            "{}/schedules/editions/2026.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("read");
        let typo = base.replace("min_width", "min_widht");
        let err = Edition::parse(&typo, "x.toml")
            .expect_err("typo refused")
            .to_string();
        assert!(err.contains("min_widht"), "{err}");
        let tz = base.replace("\"Asia/Shanghai\"", "\"UTC\"");
        let err = Edition::parse(&tz, "x.toml")
            .expect_err("tz refused")
            .to_string();
        assert!(err.contains("edition.time_zone"), "{err}");
        // The shipped file carries the rundown's `[schedule]`; the catalog keeps it opaque.
        let e = Edition::parse(&base, "x.toml").expect("schedule table is opaque");
        assert!(e.schedule.is_some_and(|t| t.contains_key("block")));
    }
}
