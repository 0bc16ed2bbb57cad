//! The rundown: the 30-day September schedule (节目单) built from the catalog's works and
//! the slow-live feeds, validated and exported; what a rehearsal reports.
//!
//! Owns: the edition's `[schedule]` config ([`config`]), the day plan of blocks, cron slots
//! and fixed events ([`plan`]), the builder ([`builder`]), validation ([`validate`]), the
//! exports ([`export`], [`xmltv`], [`html`]), what each day is made of ([`mix`]), the rehearsal's
//! report ([`rehearse`]), day diffs ([`diff`]), operators' live edits of a day ([`edit`]) and the
//! storage seam ([`store`]). The `rundown` command is `crate::rundown_cli`, an edge outside the
//! core (it reaches the database and the on-air controller's rehearsal).
//!
//! Does not own: the catalog (it hands us [`Work`] and [`LiveFeed`] values), the database
//! (a [`store::DayStore`] implementation comes with it), the engine (it reads the day file
//! written by [`export::engine_day_file`]) or the on-air controller. Everything here is pure:
//! no system clock, no network; media existence is asked through [`rehearse::MediaProbe`].

pub mod builder;
pub mod compile;
pub mod config;
pub mod demo;
pub mod diff;
pub mod edit;
pub mod export;
pub mod html;
pub mod mix;
pub mod plan;
pub mod rehearse;
pub mod store;
pub mod time;
pub mod validate;
pub mod xmltv;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use builder::{BuildReport, BuildRequest, Built, build};
pub use config::{CompiledSchedule, ConfigError, ScheduleConfig};
pub use time::FrameRate;

/// What the catalog says about a work's fitness to air; every flag must be true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Readiness {
    /// Passed the technical check (container, resolution, bit rate, loudness…).
    pub tech: bool,
    /// Selected in 遴选.
    pub selected: bool,
    /// 版权、传播权和内容审核确认单 on file.
    pub rights: bool,
}

impl Readiness {
    /// All three checks passed.
    pub fn all(self) -> bool {
        self.tech && self.selected && self.rights
    }
}

/// A work as the catalog hands it to the rundown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Work {
    /// Catalog id.
    pub id: i64,
    /// Title as published in the 节目单.
    pub title: String,
    /// 报送单位 (submitting unit), as published.
    pub unit: String,
    /// Catalog id of the unit (fairness is counted per unit id).
    pub unit_id: i64,
    /// 版权方, as published.
    pub copyright_holder: String,
    /// Categories 1–9 of the submission form; the first one that feeds a section decides
    /// the work's section.
    pub categories: Vec<u8>,
    /// Duration in frames at the house rate (rounded down).
    pub frames: u64,
    /// Exact duration in milliseconds when known (the measured one). Works laid back to back
    /// then take whole frames with the remainder carried ([`time::carried_frames`]) instead
    /// of each losing its last fraction of a frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<i64>,
    /// Media path or URL.
    pub source: String,
    /// A late work may air only from this Shanghai date on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premiere_after: Option<NaiveDate>,
    /// Technical, selection and rights status.
    pub ready: Readiness,
    /// The catalog's own words for why the work is not ready (no file, not probed, failed
    /// QC and why, not selected, rights not on file), when it is not; the builder reports
    /// these per work instead of the bare flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<String>,
}

/// When a slow-live feed is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeedWindow {
    /// Every day from `start` to `end` Shanghai wall time (`HH:MM[:SS]`; `end` may be
    /// `24:00`; an `end` before `start` runs past midnight).
    Daily {
        /// Start, `HH:MM[:SS]`.
        start: String,
        /// End, `HH:MM[:SS]`.
        end: String,
    },
    /// Starting at each firing of a 6/7-field cron expression (Shanghai), for `duration`.
    Cron {
        /// Cron expression, seconds first.
        cron: String,
        /// `HH:MM:SS`.
        duration: String,
    },
}

/// A slow-live feed (慢直播): a pulled source URL with the window it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveFeed {
    /// Catalog id of the feed.
    pub id: i64,
    /// Title as published.
    pub title: String,
    /// Source URL (RTSP/RTMP/SRT/HLS/HTTP-FLV).
    pub url: String,
    /// 报送单位.
    pub unit: String,
    /// Catalog id of the unit.
    pub unit_id: i64,
    /// 版权方.
    #[serde(default)]
    pub copyright_holder: String,
    /// When the feed is on.
    pub window: FeedWindow,
}

/// What an item on a day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A catalog work.
    Work,
    /// A slow-live feed.
    Live,
    /// A fixed event from a day override (source given directly).
    Event,
    /// A filler clip.
    Filler,
    /// The slate.
    Slate,
}

impl ItemKind {
    /// Filler and slate are not programmes: they are left out of published lists.
    pub fn is_programme(self) -> bool {
        !matches!(self, ItemKind::Filler | ItemKind::Slate)
    }

    /// Chinese name for reports.
    pub fn zh(self) -> &'static str {
        match self {
            ItemKind::Work => "作品",
            ItemKind::Live => "慢直播信号",
            ItemKind::Event => "特别活动",
            ItemKind::Filler => "垫片",
            ItemKind::Slate => "等待画面",
        }
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// One item of a day. Times are UTC instants; lengths are frames at the day's rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayItem {
    /// Planned start (UTC).
    pub start: DateTime<Utc>,
    /// Planned length in frames.
    pub frames: u64,
    /// In-point into the media, frames.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub in_frames: u64,
    /// What the item is.
    pub kind: ItemKind,
    /// Catalog work id, for works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_id: Option<i64>,
    /// Feed id, for slow-live feeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_id: Option<i64>,
    /// Title as published.
    pub title: String,
    /// Media path or URL.
    pub source: String,
    /// Section (版块) name.
    pub section: String,
    /// Name of the block, slot or event that placed the item.
    #[serde(default)]
    pub block: String,
    /// 报送单位.
    #[serde(default)]
    pub unit: String,
    /// Unit id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<i64>,
    /// 版权方.
    #[serde(default)]
    pub copyright_holder: String,
    /// Categories of the work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<u8>,
    /// First airing of the work in this rundown.
    #[serde(default, skip_serializing_if = "is_false")]
    pub premiere: bool,
    /// Hard start: the engine cuts to this item at `start` whatever is on air.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pinned: bool,
    /// The item was cut short of the work's length to close its block.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cut: bool,
}

impl DayItem {
    /// Planned end instant at `rate`.
    pub fn end(&self, rate: FrameRate) -> DateTime<Utc> {
        rate.add(self.start, self.frames)
    }
}

/// One broadcast day: midnight to midnight in the edition's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Day {
    /// The Shanghai date.
    pub date: NaiveDate,
    /// Edition name (e.g. `2026`).
    pub edition: String,
    /// IANA time zone of the wall times (`Asia/Shanghai`).
    pub time_zone: String,
    /// Frame rate of every `frames` field.
    pub rate: FrameRate,
    /// Midnight starting the day (UTC).
    pub start: DateTime<Utc>,
    /// Midnight ending the day (UTC).
    pub end: DateTime<Utc>,
    /// Items in start order.
    pub items: Vec<DayItem>,
}

impl Day {
    /// The day's time zone (Shanghai when the name does not parse).
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Length of the day in frames.
    pub fn frames(&self) -> u64 {
        self.rate.frames_between(self.start, self.end).max(0) as u64
    }

    /// Canonical serialized form (pretty JSON, trailing newline): what stores persist and
    /// what "byte-identical" compares.
    pub fn to_canonical_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The catalog as the rundown sees it: works and feeds by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Works by id.
    pub works: BTreeMap<i64, Work>,
    /// Feeds by id.
    pub feeds: BTreeMap<i64, LiveFeed>,
}

impl Catalog {
    /// Indexes works and feeds by id (a later duplicate id wins).
    pub fn new(works: &[Work], feeds: &[LiveFeed]) -> Self {
        Catalog {
            works: works.iter().map(|w| (w.id, w.clone())).collect(),
            feeds: feeds.iter().map(|f| (f.id, f.clone())).collect(),
        }
    }
}
