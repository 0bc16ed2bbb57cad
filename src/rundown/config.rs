//! The edition's `[schedule]` table: window, sections and the categories feeding them, the
//! day template, cron slots, filler and slate, repeat rules and per-day overrides.
//!
//! Owns parsing (serde, unknown fields refused); [`ScheduleConfig::compile`] (in
//! `compile.rs`) is the one validation step that turns text into integer frames and parsed
//! cron expressions and names the field of every problem. Does not own the rest of the edition file (edition
//! info, categories, acceptance rules belong to the catalog).

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use super::compile::{Block, Clip, CompiledSchedule, Event, Fallback, Override, Section, Slot};
use super::time::FrameRate;

/// The source that plays the engine's own slate card (the same text as the engine's
/// `playout::cue::SLATE_SOURCE`): needs no file, so a fresh install can always air it.
pub const ENGINE_SLATE_SOURCE: &str = "slate:";

/// One configuration problem: which file, which field, what is wrong (in Chinese).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}：字段 {field}：{message}")]
pub struct ConfigIssue {
    /// File the config came from (or `<内存>`).
    pub file: String,
    /// Dotted field path, e.g. `block[2].end`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Everything wrong with a schedule config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("无法读取排播配置 {file}：{source}")]
    Read {
        /// Path.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The TOML did not parse or had unknown/missing fields.
    #[error("排播配置 {file} 格式错误：{message}")]
    Parse {
        /// Path.
        file: String,
        /// Parser message (names the field and line).
        message: String,
    },
    /// Values that parsed but make no sense.
    #[error("排播配置有 {} 处错误：\n{}", .0.len(), .0.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
}

/// Reads a date written as a TOML date (`2026-09-01`) or a string (`"2026-09-01"`).
fn de_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let text = match Either::deserialize(d)? {
        Either::Text(s) => s,
        Either::Toml(t) => t.to_string(),
    };
    text.parse()
        .map_err(|_| serde::de::Error::custom(format!("日期 “{text}” 无效，应为 YYYY-MM-DD")))
}

fn default_edition() -> String {
    "2026".into()
}
fn default_tz() -> String {
    "Asia/Shanghai".into()
}
fn default_channel_id() -> String {
    "kepu.kepuchina.cn".into()
}
fn default_channel_name() -> String {
    "科普之光".into()
}
fn default_min_hours() -> u32 {
    24
}
fn default_max_airings() -> u32 {
    4
}
fn default_true() -> bool {
    true
}
fn default_max_clips() -> u32 {
    6
}
fn default_warn_slate_minutes() -> u32 {
    10
}
fn default_warn_filler_minutes() -> u32 {
    60
}

/// The `[schedule]` table of an edition config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Edition name, e.g. `"2026"`; written into every day.
    #[serde(default = "default_edition")]
    pub edition: String,
    /// IANA time zone of all wall times (the event runs on `Asia/Shanghai`).
    #[serde(default = "default_tz")]
    pub time_zone: String,
    /// First broadcast day (wall date), e.g. `2026-09-01` (TOML date or string).
    #[serde(deserialize_with = "de_date")]
    pub first_day: NaiveDate,
    /// Last broadcast day, inclusive, e.g. `2026-09-30`.
    #[serde(deserialize_with = "de_date")]
    pub last_day: NaiveDate,
    /// House frame rate; all durations are whole frames of it.
    #[serde(default)]
    pub frame_rate: FrameRate,
    /// Seed of the deterministic tie-breaking order.
    #[serde(default)]
    pub seed: u64,
    /// XMLTV channel id.
    #[serde(default = "default_channel_id")]
    pub channel_id: String,
    /// Channel display name.
    #[serde(default = "default_channel_name")]
    pub channel_name: String,
    /// The programme sections (版块) and which categories feed them.
    pub section: Vec<SectionConfig>,
    /// The day template: blocks covering 00:00–24:00 without gap or overlap.
    pub block: Vec<BlockConfig>,
    /// Recurring slots that take precedence over the template when they fire.
    #[serde(default)]
    pub slot: Vec<SlotConfig>,
    /// How remainders are closed.
    pub filler: FillerConfig,
    /// Repeat rules.
    #[serde(default)]
    pub repeat: RepeatConfig,
    /// Per-day overrides (special days, fixed events).
    #[serde(default)]
    pub day: Vec<DayOverride>,
}

/// A section (版块).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionConfig {
    /// Name as published, e.g. `寻初心`.
    pub name: String,
    /// Categories (1–9) whose works feed this section; a category feeds one section.
    pub categories: Vec<u8>,
    /// Slow-live section: live feeds are placed here at their windows.
    #[serde(default)]
    pub slow_live: bool,
    /// Overrides `repeat.min_hours` for works of this section.
    #[serde(default)]
    pub min_hours: Option<u32>,
    /// Overrides `repeat.max_airings` for works of this section.
    #[serde(default)]
    pub max_airings: Option<u32>,
    /// What fills this section's blocks when its own material runs out, tried in order
    /// before filler clips and the slate (e.g. other sections' works as replays).
    #[serde(default)]
    pub fallback: Vec<FallbackConfig>,
}

/// One way out for a section whose own material has run dry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FallbackConfig {
    /// 重播: works of other sections, already aired ones first; they keep their own section
    /// in the 节目单 and their own repeat rules (minimum gap, most airings).
    Replay {
        /// Sections whose works may be replayed here, in order of preference.
        sections: Vec<String>,
        /// When no replay fits, a work that has not aired yet may premiere here rather than
        /// leave the time to filler and the slate (default `true`).
        #[serde(default = "default_true")]
        allow_premieres: bool,
    },
}

/// A block of the day template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockConfig {
    /// Start, wall time `HH:MM[:SS]`.
    pub start: String,
    /// End, wall time `HH:MM[:SS]` (`24:00` for midnight).
    pub end: String,
    /// Section filling the block.
    pub section: String,
    /// Label shown in reports (defaults to the section name).
    #[serde(default)]
    pub label: Option<String>,
    /// The last work may be cut short to close the block exactly.
    #[serde(default)]
    pub allow_cut: bool,
}

/// A recurring slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// Name shown in reports, e.g. `黄金时段首播`.
    pub name: String,
    /// Cron expression (6 or 7 fields, seconds first), read in `time_zone`.
    pub cron: String,
    /// Length, `HH:MM:SS`.
    pub duration: String,
    /// Sections whose works may fill the slot.
    pub sections: Vec<String>,
    /// Prefer works that have not aired yet (premieres).
    #[serde(default)]
    pub premiere: bool,
    /// The last work may be cut short to close the slot exactly.
    #[serde(default)]
    pub allow_cut: bool,
}

/// How filler closes what works cannot fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillerConfig {
    /// Short clips (idents, trailers), used largest first, rotating.
    #[serde(default)]
    pub clips: Vec<FillerClip>,
    /// At most this many clips in one remainder; the slate takes the rest.
    #[serde(default = "default_max_clips")]
    pub max_clips: u32,
    /// Slate: the still shown for any remainder shorter than every clip.
    pub slate: SlateConfig,
    /// The build report warns about a day carrying more slate than this many minutes.
    #[serde(default = "default_warn_slate_minutes")]
    pub warn_slate_minutes: u32,
    /// The build report warns about a day carrying more filler clips than this many minutes.
    #[serde(default = "default_warn_filler_minutes")]
    pub warn_filler_minutes: u32,
}

/// A filler clip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillerClip {
    /// Media path or URL.
    pub source: String,
    /// Title for logs.
    pub title: String,
    /// Exact length, `HH:MM:SS[.mmm]`.
    pub duration: String,
}

/// The slate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlateConfig {
    /// Media path of the slate (a still or a loop); plays for any length. `slate:` is the
    /// engine's own slate card, which needs no file.
    pub source: String,
    /// Title for logs.
    pub title: String,
}

/// Repeat rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatConfig {
    /// A work airs again no sooner than this many hours after a previous start.
    #[serde(default = "default_min_hours")]
    pub min_hours: u32,
    /// At most this many airings of a work over the window.
    #[serde(default = "default_max_airings")]
    pub max_airings: u32,
    /// Every selected work airs at least once (reported when capacity forbids it).
    #[serde(default = "default_true")]
    pub every_work_once: bool,
    /// Spread premieres evenly over the remaining days instead of front-loading them.
    #[serde(default = "default_true")]
    pub spread_premieres: bool,
}

impl Default for RepeatConfig {
    fn default() -> Self {
        RepeatConfig {
            min_hours: default_min_hours(),
            max_airings: default_max_airings(),
            every_work_once: true,
            spread_premieres: true,
        }
    }
}

/// A per-day override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayOverride {
    /// The wall date (TOML date or string).
    #[serde(deserialize_with = "de_date")]
    pub date: NaiveDate,
    /// Name of the special day, e.g. `全国科普日`.
    #[serde(default)]
    pub name: Option<String>,
    /// Replacement day template (covering 24 h); the edition template when absent.
    #[serde(default)]
    pub block: Option<Vec<BlockConfig>>,
    /// Fixed events at fixed times; they take precedence over blocks and slots.
    #[serde(default)]
    pub event: Vec<EventConfig>,
}

/// A fixed event on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// Start, wall time `HH:MM[:SS]`.
    pub at: String,
    /// Length, `HH:MM:SS`.
    pub duration: String,
    /// Title as published.
    pub title: String,
    /// Section the event is listed under.
    pub section: String,
    /// Direct source (path or URL); or give `work_id` or `feed_id`.
    #[serde(default)]
    pub source: Option<String>,
    /// A catalog work to air.
    #[serde(default)]
    pub work_id: Option<i64>,
    /// A live feed to air.
    #[serde(default)]
    pub feed_id: Option<i64>,
    /// Copyright holder for the 节目单 (direct sources).
    #[serde(default)]
    pub copyright_holder: Option<String>,
    /// Submitting unit for the 节目单 (direct sources).
    #[serde(default)]
    pub unit: Option<String>,
}

impl ScheduleConfig {
    /// Parses the `[schedule]` table from TOML text. Accepts either the table's content
    /// (a bare schedule file) or a whole edition file with a `[schedule]` table.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Self, ConfigError> {
        let parse_err = |e: toml::de::Error| ConfigError::Parse {
            file: file.into(),
            message: e.to_string(),
        };
        let table: toml::Table = toml::from_str(text).map_err(parse_err)?;
        if let Some(toml::Value::Table(_)) = table.get("schedule") {
            // Parsed from the text (not the table) so that errors carry the line and column.
            #[derive(Deserialize)]
            struct Edition {
                schedule: ScheduleConfig,
            }
            return toml::from_str::<Edition>(text)
                .map(|e| e.schedule)
                .map_err(parse_err);
        }
        toml::from_str(text).map_err(parse_err)
    }

    /// Reads, parses and compiles a config file.
    pub fn load(path: &Path) -> Result<CompiledSchedule, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        Self::from_toml_str(&text, &file)?.compile(&file)
    }

    /// The filler clips and the slate whose source a probe says is missing, each as a problem
    /// naming the field (`filler.clips[2].source`, `filler.slate.source`). The engine's own
    /// slate card ([`ENGINE_SLATE_SOURCE`]) is always present.
    pub fn missing_filler(
        &self,
        file: &str,
        probe: &dyn super::rehearse::MediaProbe,
    ) -> Vec<ConfigIssue> {
        use super::rehearse::MediaCheck;
        let mut out = Vec::new();
        let sources = self
            .filler
            .clips
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("filler.clips[{i}].source"), &c.source, "垫片"))
            .chain([(
                "filler.slate.source".to_string(),
                &self.filler.slate.source,
                "等待画面",
            )]);
        for (field, source, what) in sources {
            if source.trim() != ENGINE_SLATE_SOURCE && probe.probe(source) == MediaCheck::Missing {
                out.push(ConfigIssue {
                    file: file.into(),
                    field,
                    message: format!(
                        "{what}素材 “{source}” 不存在；播出时将以备用画面顶替并告警（可改用 “{ENGINE_SLATE_SOURCE}” 播放引擎自带的等待画面）"
                    ),
                });
            }
        }
        out
    }

    /// Checks every field; `Ok` only when the whole config is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.compile("<内存>").map(|_| ())
    }
}
