//! Compiling the `[schedule]` table: every text turned into integer frames, section indices
//! and parsed cron expressions, with one pass of checks that names the field of each problem.
//! The compiled form is what the plan and the builder read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::config::{
    BlockConfig, ConfigError, ConfigIssue, EventConfig, FallbackConfig, ScheduleConfig,
};
use super::time::{CronSlot, FrameRate, parse_clock_ms, parse_duration_frames};

/// A section, compiled.
#[derive(Debug, Clone)]
pub struct Section {
    /// Name.
    pub name: String,
    /// Categories.
    pub categories: Vec<u8>,
    /// Slow-live.
    pub slow_live: bool,
    /// Minimum gap between starts of one work, frames.
    pub min_gap_frames: u64,
    /// At most this many airings.
    pub max_airings: u32,
    /// Ways out when the section's own material runs dry, in order.
    pub fallback: Vec<Fallback>,
}

/// A compiled way out for a dry section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// Works of these sections (indices), replays first.
    Replay {
        /// Section indices, in order of preference.
        sections: Vec<usize>,
        /// Unaired works may premiere when no replay fits.
        allow_premieres: bool,
    },
}

/// A block, compiled: `[start, end)` in frames from midnight.
#[derive(Debug, Clone)]
pub struct Block {
    /// Start frame.
    pub start: u64,
    /// End frame.
    pub end: u64,
    /// Section index.
    pub section: usize,
    /// Label.
    pub label: String,
    /// May cut the last work.
    pub allow_cut: bool,
}

/// A slot, compiled.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Name.
    pub name: String,
    /// Parsed cron expression.
    pub cron: CronSlot,
    /// Length, frames.
    pub frames: u64,
    /// Section indices feeding it.
    pub sections: Vec<usize>,
    /// Premiere preference.
    pub premiere: bool,
    /// May cut the last work.
    pub allow_cut: bool,
}

/// A fixed event, compiled.
#[derive(Debug, Clone)]
pub struct Event {
    /// Start frame from midnight.
    pub start: u64,
    /// Length, frames.
    pub frames: u64,
    /// The config it came from.
    pub config: EventConfig,
    /// Section index.
    pub section: usize,
}

/// A day override, compiled.
#[derive(Debug, Clone, Default)]
pub struct Override {
    /// Special-day name.
    pub name: Option<String>,
    /// Replacement template.
    pub blocks: Option<Vec<Block>>,
    /// Fixed events.
    pub events: Vec<Event>,
}

/// A filler clip, compiled.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Source.
    pub source: String,
    /// Title.
    pub title: String,
    /// Length, frames.
    pub frames: u64,
}

/// The schedule config with every text turned into frames, indices and parsed crons.
#[derive(Debug, Clone)]
pub struct CompiledSchedule {
    /// The source config.
    pub config: ScheduleConfig,
    /// Time zone.
    pub tz: Tz,
    /// Frame rate.
    pub rate: FrameRate,
    /// Frames in a 24-hour template day.
    pub day_frames: u64,
    /// Sections.
    pub sections: Vec<Section>,
    /// Section index of each category 0–9.
    pub category_section: [Option<usize>; 10],
    /// Day template.
    pub blocks: Vec<Block>,
    /// Slots.
    pub slots: Vec<Slot>,
    /// Filler clips, largest first.
    pub clips: Vec<Clip>,
    /// Overrides by date.
    pub overrides: BTreeMap<NaiveDate, Override>,
}

impl CompiledSchedule {
    /// Section index by name.
    pub fn section_index(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    /// Every date of the window, in order.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.config
            .first_day
            .iter_days()
            .take_while(|d| *d <= self.config.last_day)
            .collect()
    }
}

struct Issues {
    file: String,
    list: Vec<ConfigIssue>,
}

impl Issues {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.list.push(ConfigIssue {
            file: self.file.clone(),
            field: field.into(),
            message: message.into(),
        });
    }
}

impl ScheduleConfig {
    /// Validates and compiles; `file` names the source in error messages.
    pub fn compile(&self, file: &str) -> Result<CompiledSchedule, ConfigError> {
        let mut is = Issues {
            file: file.into(),
            list: Vec::new(),
        };
        let tz: Tz = match self.time_zone.parse() {
            Ok(tz) => tz,
            Err(_) => {
                is.push("time_zone", format!("未知时区 “{}”", self.time_zone));
                chrono_tz::Asia::Shanghai
            }
        };
        let rate = self.frame_rate;
        if rate.num == 0 || rate.den == 0 {
            is.push("frame_rate", "帧率的分子和分母都必须大于 0");
        }
        let rate = if rate.num == 0 || rate.den == 0 {
            FrameRate::default()
        } else {
            rate
        };
        if self.last_day < self.first_day {
            is.push(
                "last_day",
                format!("结束日 {} 早于开始日 {}", self.last_day, self.first_day),
            );
        } else if (self.last_day - self.first_day).num_days() > 366 {
            is.push("last_day", "播出窗口超过一年");
        }
        let day_frames = rate.frames_in_secs(86_400);

        // Sections.
        let mut sections = Vec::new();
        let mut category_section = [None; 10];
        let mut names = BTreeSet::new();
        if self.section.is_empty() {
            is.push("section", "至少需要一个版块");
        }
        for (i, s) in self.section.iter().enumerate() {
            if s.name.trim().is_empty() {
                is.push(format!("section[{i}].name"), "版块名称为空");
            }
            if !names.insert(s.name.clone()) {
                is.push(
                    format!("section[{i}].name"),
                    format!("版块 “{}” 重复", s.name),
                );
            }
            for &c in &s.categories {
                if !(1..=9).contains(&c) {
                    is.push(
                        format!("section[{i}].categories"),
                        format!("类别 {c} 不在 1–9 之内"),
                    );
                } else if let Some(j) = category_section[c as usize] {
                    is.push(
                        format!("section[{i}].categories"),
                        format!("类别 {c} 已属于版块 section[{j}]"),
                    );
                } else {
                    category_section[c as usize] = Some(i);
                }
            }
            let min_hours = s.min_hours.unwrap_or(self.repeat.min_hours);
            let max_airings = s.max_airings.unwrap_or(self.repeat.max_airings);
            if max_airings == 0 {
                is.push(
                    format!("section[{i}].max_airings"),
                    "最多播出次数必须至少为 1",
                );
            }
            sections.push(Section {
                name: s.name.clone(),
                categories: s.categories.clone(),
                slow_live: s.slow_live,
                min_gap_frames: rate.frames_in_secs(i64::from(min_hours) * 3600),
                max_airings,
                fallback: Vec::new(),
            });
        }
        for (i, s) in self.section.iter().enumerate() {
            for (j, f) in s.fallback.iter().enumerate() {
                let field = format!("section[{i}].fallback[{j}].sections");
                match f {
                    FallbackConfig::Replay {
                        sections: names,
                        allow_premieres,
                    } => {
                        if names.is_empty() {
                            is.push(field.clone(), "重播来源至少需要一个版块");
                        }
                        let mut idx = Vec::new();
                        for (k, n) in names.iter().enumerate() {
                            match self.section.iter().position(|x| x.name == *n) {
                                Some(x) if x == i => is.push(
                                    format!("{field}[{k}]"),
                                    format!("版块 “{n}” 不能以自身作为重播来源"),
                                ),
                                Some(x) if idx.contains(&x) => {
                                    is.push(format!("{field}[{k}]"), format!("版块 “{n}” 重复"))
                                }
                                Some(x) => idx.push(x),
                                None => {
                                    is.push(format!("{field}[{k}]"), format!("未定义的版块 “{n}”"))
                                }
                            }
                        }
                        if let Some(sec) = sections.get_mut(i) {
                            sec.fallback.push(Fallback::Replay {
                                sections: idx,
                                allow_premieres: *allow_premieres,
                            });
                        }
                    }
                }
            }
        }
        if self.repeat.max_airings == 0 {
            is.push("repeat.max_airings", "最多播出次数必须至少为 1");
        }
        let section_of = |is: &mut Issues, field: String, name: &str| -> usize {
            match self.section.iter().position(|s| s.name == name) {
                Some(i) => i,
                None => {
                    is.push(field, format!("未定义的版块 “{name}”"));
                    0
                }
            }
        };

        let blocks = compile_blocks(&mut is, "block", &self.block, rate, day_frames, &section_of);

        // Slots.
        let mut slots = Vec::new();
        for (i, s) in self.slot.iter().enumerate() {
            let cron = match CronSlot::parse(&s.cron) {
                Ok(c) => Some(c),
                Err(e) => {
                    is.push(
                        format!("slot[{i}].cron"),
                        format!(
                            "cron 表达式 “{}” 无法解析（需 6 或 7 段，秒在最前）：{e}",
                            s.cron
                        ),
                    );
                    None
                }
            };
            let frames = duration(
                &mut is,
                format!("slot[{i}].duration"),
                &s.duration,
                rate,
                day_frames,
            );
            if s.sections.is_empty() {
                is.push(format!("slot[{i}].sections"), "至少需要一个版块");
            }
            let secs: Vec<usize> = s
                .sections
                .iter()
                .enumerate()
                .map(|(j, n)| section_of(&mut is, format!("slot[{i}].sections[{j}]"), n))
                .collect();
            if let Some(cron) = cron {
                slots.push(Slot {
                    name: s.name.clone(),
                    cron,
                    frames,
                    sections: secs,
                    premiere: s.premiere,
                    allow_cut: s.allow_cut,
                });
            }
        }

        // Filler.
        let mut clips = Vec::new();
        for (i, c) in self.filler.clips.iter().enumerate() {
            if c.source.trim().is_empty() {
                is.push(format!("filler.clips[{i}].source"), "垫片素材路径为空");
            }
            let frames = duration(
                &mut is,
                format!("filler.clips[{i}].duration"),
                &c.duration,
                rate,
                day_frames,
            );
            clips.push(Clip {
                source: c.source.clone(),
                title: c.title.clone(),
                frames,
            });
        }
        clips.sort_by(|a, b| b.frames.cmp(&a.frames).then(a.source.cmp(&b.source)));
        if self.filler.warn_slate_minutes > 1440 {
            is.push(
                "filler.warn_slate_minutes",
                "提醒阈值不能超过一天（1440 分钟）",
            );
        }
        if self.filler.warn_filler_minutes > 1440 {
            is.push(
                "filler.warn_filler_minutes",
                "提醒阈值不能超过一天（1440 分钟）",
            );
        }
        if self.filler.slate.source.trim().is_empty() {
            is.push("filler.slate.source", "等待画面（slate）素材路径为空");
        }

        // Overrides.
        let mut overrides = BTreeMap::new();
        for (i, d) in self.day.iter().enumerate() {
            if d.date < self.first_day || d.date > self.last_day {
                is.push(
                    format!("day[{i}].date"),
                    format!(
                        "日期 {} 不在播出窗口 {}–{} 内",
                        d.date, self.first_day, self.last_day
                    ),
                );
            }
            let blocks = d.block.as_ref().map(|b| {
                compile_blocks(
                    &mut is,
                    &format!("day[{i}].block"),
                    b,
                    rate,
                    day_frames,
                    &section_of,
                )
            });
            let mut events = Vec::new();
            for (j, e) in d.event.iter().enumerate() {
                let f = format!("day[{i}].event[{j}]");
                let start = match parse_clock_ms(&e.at) {
                    Some(ms)
                        if ms < 86_400_000 && rate.ms_of(rate.frames_in_ms(ms) as u64) == ms =>
                    {
                        rate.frames_in_ms(ms) as u64
                    }
                    _ => {
                        is.push(
                            format!("{f}.at"),
                            format!("时间 “{}” 无效（应为 HH:MM[:SS]，且在帧边界上）", e.at),
                        );
                        0
                    }
                };
                let frames = duration(
                    &mut is,
                    format!("{f}.duration"),
                    &e.duration,
                    rate,
                    day_frames,
                );
                if start + frames > day_frames {
                    is.push(format!("{f}.duration"), "活动跨过午夜；请拆成两天");
                }
                let given = [e.source.is_some(), e.work_id.is_some(), e.feed_id.is_some()]
                    .iter()
                    .filter(|b| **b)
                    .count();
                if given != 1 {
                    is.push(f.clone(), "source、work_id、feed_id 必须恰好给出一个");
                }
                if e.source.as_deref().is_some_and(|s| s.trim().is_empty()) {
                    is.push(format!("{f}.source"), "信号源为空");
                }
                let section = section_of(&mut is, format!("{f}.section"), &e.section);
                events.push(Event {
                    start,
                    frames,
                    config: e.clone(),
                    section,
                });
            }
            events.sort_by_key(|e| e.start);
            for w in events.windows(2) {
                if w[0].start + w[0].frames > w[1].start {
                    is.push(
                        format!("day[{i}].event"),
                        format!(
                            "活动 “{}” 与 “{}” 时间重叠",
                            w[0].config.title, w[1].config.title
                        ),
                    );
                }
            }
            if overrides
                .insert(
                    d.date,
                    Override {
                        name: d.name.clone(),
                        blocks,
                        events,
                    },
                )
                .is_some()
            {
                is.push(
                    format!("day[{i}].date"),
                    format!("日期 {} 重复设置", d.date),
                );
            }
        }

        if !is.list.is_empty() {
            return Err(ConfigError::Invalid(is.list));
        }
        Ok(CompiledSchedule {
            config: self.clone(),
            tz,
            rate,
            day_frames,
            sections,
            category_section,
            blocks,
            slots,
            clips,
            overrides,
        })
    }
}

fn duration(is: &mut Issues, field: String, text: &str, rate: FrameRate, max: u64) -> u64 {
    match parse_duration_frames(rate, text) {
        Some(f) if f > 0 && f <= max => f,
        Some(_) => {
            is.push(field, format!("时长 “{text}” 必须大于 0 且不超过 24 小时"));
            1
        }
        None => {
            is.push(
                field,
                format!("时长 “{text}” 无效（应为 HH:MM:SS[.mmm]，且为整帧）"),
            );
            1
        }
    }
}

fn compile_blocks(
    is: &mut Issues,
    prefix: &str,
    blocks: &[BlockConfig],
    rate: FrameRate,
    day_frames: u64,
    section_of: &dyn Fn(&mut Issues, String, &str) -> usize,
) -> Vec<Block> {
    let mut out = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let mut at = |field: &str, text: &str| match parse_clock_ms(text) {
            Some(ms) if ms <= 86_400_000 && rate.ms_of(rate.frames_in_ms(ms) as u64) == ms => {
                rate.frames_in_ms(ms) as u64
            }
            _ => {
                is.push(
                    format!("{prefix}[{i}].{field}"),
                    format!("时间 “{text}” 无效（应为 HH:MM[:SS]，00:00–24:00）"),
                );
                0
            }
        };
        let start = at("start", &b.start);
        let end = at("end", &b.end);
        if end <= start {
            is.push(
                format!("{prefix}[{i}].end"),
                format!("结束 {} 不晚于开始 {}", b.end, b.start),
            );
        }
        let section = section_of(is, format!("{prefix}[{i}].section"), &b.section);
        out.push(Block {
            start,
            end,
            section,
            label: b.label.clone().unwrap_or_else(|| b.section.clone()),
            allow_cut: b.allow_cut,
        });
    }
    let mut sorted: Vec<&Block> = out.iter().collect();
    sorted.sort_by_key(|b| b.start);
    let mut cursor = 0u64;
    for b in &sorted {
        if b.start > cursor {
            is.push(
                prefix,
                format!(
                    "模板在 {} 到 {} 之间有空档",
                    clock(rate, cursor),
                    clock(rate, b.start)
                ),
            );
        } else if b.start < cursor {
            is.push(
                prefix,
                format!("模板块 {}（{}）与前一块重叠", b.label, clock(rate, b.start)),
            );
        }
        cursor = cursor.max(b.end);
    }
    if cursor != day_frames && !out.is_empty() {
        is.push(
            prefix,
            format!("模板必须覆盖 00:00–24:00，现止于 {}", clock(rate, cursor)),
        );
    }
    if out.is_empty() {
        is.push(prefix, "日模板为空，必须覆盖 00:00–24:00");
    }
    out.sort_by_key(|b| b.start);
    out
}

fn clock(rate: FrameRate, frames: u64) -> String {
    super::time::fmt_frames_short(rate, frames)
}
