//! Exports of the programme list (节目单) — JSON and CSV here, XMLTV and HTML in their own
//! modules — and the engine's day file, the TOML the playout engine plays.
//!
//! Published lists leave filler and slate out unless asked; the engine day file has every
//! item, a `duration` on each (exact `HH:MM:SS.mmm`, 40 ms per frame at 25 fps) and an `at`
//! on each pinned item (the first of every block), so the day holds to wall time.

use serde::{Deserialize, Serialize};

use super::time::{fmt_frames, fmt_frames_short, parse_duration_frames, wall_iso, wall_time};
use super::{Day, DayItem, ItemKind};

/// What to include in a published list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Include filler clips and the slate.
    pub include_filler: bool,
}

/// One row of the programme list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    /// 日期, `2026-09-01`.
    pub date: String,
    /// 开始时间, `HH:MM:SS` Shanghai.
    pub start: String,
    /// 结束时间, `HH:MM:SS` Shanghai (`24:00:00` at the day's end).
    pub end: String,
    /// Start, UTC RFC 3339.
    pub start_utc: String,
    /// End, UTC RFC 3339.
    pub end_utc: String,
    /// 版块.
    pub section: String,
    /// Block, slot or event.
    pub block: String,
    /// 节目名称.
    pub title: String,
    /// 时长, `HH:MM:SS`.
    pub duration: String,
    /// Length in frames.
    pub frames: u64,
    /// 版权方.
    pub copyright_holder: String,
    /// 报送单位.
    pub unit: String,
    /// Item kind.
    pub kind: ItemKind,
    /// Work id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_id: Option<i64>,
    /// Feed id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_id: Option<i64>,
    /// First airing.
    #[serde(default)]
    pub premiere: bool,
}

/// Time of day of `t` within `day` as `HH:MM:SS`, `24:00:00` for the day's end.
pub fn clock_in_day(day: &Day, t: chrono::DateTime<chrono::Utc>) -> String {
    if t >= day.end {
        return "24:00:00".into();
    }
    let s = wall_time(day.tz(), t);
    s.get(..8).map(str::to_owned).unwrap_or(s)
}

fn entry(day: &Day, it: &DayItem) -> ListEntry {
    let end = it.end(day.rate);
    let d = fmt_frames_short(day.rate, it.frames);
    ListEntry {
        date: day.date.to_string(),
        start: clock_in_day(day, it.start),
        end: clock_in_day(day, end),
        start_utc: it
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        end_utc: end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        section: it.section.clone(),
        block: it.block.clone(),
        title: it.title.clone(),
        duration: d.get(..8).map(str::to_owned).unwrap_or(d),
        frames: it.frames,
        copyright_holder: it.copyright_holder.clone(),
        unit: it.unit.clone(),
        kind: it.kind,
        work_id: it.work_id,
        feed_id: it.feed_id,
        premiere: it.premiere,
    }
}

/// The programme list of `days`, in order.
pub fn programme_list(days: &[&Day], opts: ListOptions) -> Vec<ListEntry> {
    days.iter()
        .flat_map(|d| {
            d.items
                .iter()
                .filter(move |i| opts.include_filler || i.kind.is_programme())
                .map(move |i| entry(d, i))
        })
        .collect()
}

/// JSON document of the list: `{ "edition", "time_zone", "entries": [...] }`.
pub fn to_json(days: &[&Day], opts: ListOptions) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        edition: &'a str,
        time_zone: &'a str,
        entries: Vec<ListEntry>,
    }
    let first = days.first();
    let doc = Doc {
        edition: first.map(|d| d.edition.as_str()).unwrap_or(""),
        time_zone: first
            .map(|d| d.time_zone.as_str())
            .unwrap_or("Asia/Shanghai"),
        entries: programme_list(days, opts),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// CSV header: the columns of the published 节目单.
pub const CSV_HEADER: [&str; 8] = [
    "日期",
    "开始时间",
    "结束时间",
    "版块",
    "节目名称",
    "时长",
    "版权方",
    "报送单位",
];

/// CSV, UTF-8 with a byte-order mark so Chinese Excel opens it correctly; CRLF line ends.
pub fn to_csv(days: &[&Day], opts: ListOptions) -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let _ = w.write_record(CSV_HEADER);
        for e in programme_list(days, opts) {
            let _ = w.write_record([
                &e.date,
                &e.start,
                &e.end,
                &e.section,
                &e.title,
                &e.duration,
                &e.copyright_holder,
                &e.unit,
            ]);
        }
        let _ = w.flush();
    }
    out
}

/// One item of the engine day file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineItem {
    /// Path or URL.
    pub source: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// In-point `HH:MM:SS.mmm`.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub in_point: Option<String>,
    /// Length `HH:MM:SS.mmm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Hard start, Shanghai `YYYY-MM-DDTHH:MM:SS[.mmm]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The engine day file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineDayFile {
    /// Start, Shanghai wall time; absent means "now".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Items in order.
    #[serde(default)]
    pub item: Vec<EngineItem>,
}

/// The engine day file of `day` (TOML).
pub fn engine_day_file(day: &Day) -> String {
    let tz = day.tz();
    let file = EngineDayFile {
        start: Some(wall_iso(tz, day.start)),
        item: day
            .items
            .iter()
            .map(|it| EngineItem {
                source: it.source.clone(),
                title: Some(it.title.clone()),
                in_point: (it.in_frames > 0).then(|| fmt_frames(day.rate, it.in_frames)),
                duration: Some(fmt_frames(day.rate, it.frames)),
                at: it.pinned.then(|| wall_iso(tz, it.start)),
            })
            .collect(),
    };
    let body = toml::to_string(&file).unwrap_or_default();
    format!(
        "# 「科普之光」{} 节目单 {}（引擎日文件，{} 时间），由 kepu-playout rundown 生成\n{body}",
        day.edition, day.date, day.time_zone
    )
}

/// Reads an engine day file back (rehearsal plays it as the engine would).
pub fn parse_engine_day_file(text: &str) -> Result<EngineDayFile, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

/// Frames of an engine-file duration/in-point text at `rate`.
pub fn engine_frames(rate: super::FrameRate, text: &str) -> Option<u64> {
    parse_duration_frames(rate, text)
}
