//! The builder: fills every day of the window from the works and feeds, exactly 24 h to the
//! frame, and rebuilds from a given day forward leaving past, on-air and locked days alone.
//!
//! How a segment is filled: slow-live feeds first at their windows, then works picked one by
//! one — among the works that fit the remainder and respect the repeat rules, the one whose
//! category and then unit has had the least airtime in its section so far, then the one aired
//! least and longest ago, then a seeded hash of its id. Unaired works are preferred up to a
//! daily premiere quota (unaired ÷ remaining days) so premieres spread over the month, and
//! always in premiere slots. Near the end of a segment the pick looks two works ahead so the
//! block closes on a work, not on the slate (`Packing`). What no work fits is closed with
//! filler clips and the slate.
//! Deterministic: only ordered collections, no clock, no randomness beyond the seed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::config::{CompiledSchedule, Event, Fallback};
use super::mix::{DayMix, day_mix, mix_warnings};
use super::plan::{Segment, day_plan};
use super::time::{
    CronSlot, FrameRate, nearest_frame, parse_clock_ms, parse_duration_frames, wall,
};
use super::{Day, DayItem, FeedWindow, ItemKind, LiveFeed, Work};

/// Shortest remainder worth cutting a work into (when a block allows cuts): 60 s.
const MIN_CUT_SECS: i64 = 60;

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct BuildRequest<'a> {
    /// Works from the catalog (any; the unfit are excluded and reported).
    pub works: &'a [Work],
    /// Slow-live feeds.
    pub feeds: &'a [LiveFeed],
    /// The current rundown, if any (days kept by the rules below are copied unchanged).
    pub existing: &'a BTreeMap<NaiveDate, Day>,
    /// Rebuild from this day on; earlier existing days are kept. Default: the first day.
    pub from: Option<NaiveDate>,
    /// Now: existing days up to and including the day on air are kept.
    pub now: Option<DateTime<Utc>>,
    /// Days an operator locked: kept when they exist.
    pub locked: &'a BTreeSet<NaiveDate>,
}

/// Why an existing day was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepReason {
    /// Before the rebuild's first day.
    BeforeFrom,
    /// Past or on air.
    OnAirOrPast,
    /// Locked by an operator.
    Locked,
}

/// A work left out, and why (Chinese).
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    /// Work id.
    pub work_id: i64,
    /// Title.
    pub title: String,
    /// Reason.
    pub reason: String,
}

/// What the builder did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    /// Days built.
    pub built: Vec<NaiveDate>,
    /// Days kept unchanged.
    pub kept: Vec<(NaiveDate, KeepReason)>,
    /// Works not schedulable.
    pub excluded: Vec<Excluded>,
    /// Schedulable works that did not air at all (capacity or dates forbade it).
    pub unaired: Vec<i64>,
    /// The same works, each with why (Chinese): the days it may air on and the capacity of
    /// its section.
    pub unaired_detail: Vec<Excluded>,
    /// Premieres per built day.
    pub premieres: BTreeMap<NaiveDate, u32>,
    /// Filler and slate frames per built day.
    pub filler_frames: BTreeMap<NaiveDate, u64>,
    /// What every day of the window is made of (premieres, replays, live, events, filler,
    /// slate), per day and per block, in frames at `frame_rate`; kept days included.
    pub mix: BTreeMap<NaiveDate, DayMix>,
    /// The house rate the frame counts are in.
    pub frame_rate: Option<FrameRate>,
    /// Things an operator should know (Chinese).
    pub warnings: Vec<String>,
}

/// The result: every day of the window, and the report.
#[derive(Debug, Clone)]
pub struct Built {
    /// Days by date.
    pub days: BTreeMap<NaiveDate, Day>,
    /// Report.
    pub report: BuildReport,
}

struct Cand<'a> {
    w: &'a Work,
    section: usize,
    cat: u8,
    unit: usize,
    hash: u64,
}

struct Builder<'a> {
    cs: &'a CompiledSchedule,
    cands: Vec<Cand<'a>>,
    by_id: BTreeMap<i64, usize>,
    by_section: Vec<Vec<usize>>,
    feeds: Vec<&'a LiveFeed>,
    air: Vec<Vec<i64>>,
    unit_air: Vec<Vec<u64>>,
    cat_air: Vec<[u64; 10]>,
    report: BuildReport,
}

/// splitmix64: the seeded tie-breaking order.
pub fn mix(seed: u64, x: u64) -> u64 {
    let mut z = seed ^ x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Why a work cannot be scheduled, if it cannot (Chinese): the catalog's own reasons when it
/// gave them (no file, not probed, failed QC and why, not selected, rights), else the flags;
/// then a length of zero, no source, no section, and a premiere date after the window.
pub fn unfit_reason(cs: &CompiledSchedule, w: &Work) -> Option<String> {
    let mut why: Vec<String> = Vec::new();
    if !w.blocked.is_empty() {
        why.extend(w.blocked.iter().cloned());
    } else {
        if !w.ready.tech {
            why.push("未通过技术审核".into());
        }
        if !w.ready.selected {
            why.push("未入选（遴选未通过）".into());
        }
        if !w.ready.rights {
            why.push("版权确认单未备案".into());
        }
    }
    if w.frames == 0 {
        why.push("时长为零".into());
    }
    if w.source.trim().is_empty() && w.blocked.is_empty() {
        why.push("无素材路径".into());
    }
    if primary_category(cs, w).is_none() {
        why.push("类别不属于任何版块".into());
    }
    if let Some(after) = w.premiere_after
        && after > cs.config.last_day
    {
        why.push(format!(
            "逾期报送：最早 {after} 起可播（报送次日），已过播出窗口最后一天 {}",
            cs.config.last_day
        ));
    }
    (!why.is_empty()).then(|| why.join("；"))
}

fn primary_category(cs: &CompiledSchedule, w: &Work) -> Option<(u8, usize)> {
    w.categories.iter().find_map(|&c| {
        cs.category_section
            .get(c as usize)
            .copied()
            .flatten()
            .map(|s| (c, s))
    })
}

/// Builds (or rebuilds) the window. See the module header for the rules.
pub fn build(cs: &CompiledSchedule, req: &BuildRequest<'_>) -> Built {
    let mut b = Builder::new(cs, req);
    let on_air = req.now.map(|n| n.with_timezone(&cs.tz).date_naive());
    let from = req.from.unwrap_or(cs.config.first_day);
    let mut days = BTreeMap::new();
    let mut to_build = Vec::new();
    for date in cs.dates() {
        let reason = if date < from {
            Some(KeepReason::BeforeFrom)
        } else if on_air.is_some_and(|o| date <= o) {
            Some(KeepReason::OnAirOrPast)
        } else if req.locked.contains(&date) {
            Some(KeepReason::Locked)
        } else {
            None
        };
        match (reason, req.existing.get(&date)) {
            (Some(r), Some(day)) => {
                b.register(day);
                b.report.kept.push((date, r));
                days.insert(date, day.clone());
            }
            (Some(_), None) => {
                if req.locked.contains(&date) {
                    b.report
                        .warnings
                        .push(format!("{date} 已锁定但尚无节目单，已重新生成"));
                }
                to_build.push(date);
            }
            (None, _) => to_build.push(date),
        }
    }
    let total = to_build.len();
    for (i, date) in to_build.into_iter().enumerate() {
        let day = b.build_day(date, total - i);
        b.report.built.push(date);
        days.insert(date, day);
    }
    b.report.frame_rate = Some(cs.rate);
    for (date, day) in &days {
        let m = day_mix(day);
        if b.report.built.contains(date) {
            b.report.warnings.extend(mix_warnings(cs, *date, &m));
        }
        b.report.mix.insert(*date, m);
    }
    if cs.config.repeat.every_work_once {
        b.report.unaired = b
            .cands
            .iter()
            .enumerate()
            .filter(|(i, _)| b.air[*i].is_empty())
            .map(|(_, c)| c.w.id)
            .collect();
        b.report.unaired_detail = b
            .cands
            .iter()
            .enumerate()
            .filter(|(i, _)| b.air[*i].is_empty())
            .map(|(_, c)| Excluded {
                work_id: c.w.id,
                title: c.w.title.clone(),
                reason: unaired_reason(cs, c),
            })
            .collect();
        if !b.report.unaired.is_empty() {
            b.report.warnings.push(format!(
                "{} 部入选作品在播出窗口内未能安排播出（逐部原因见下）",
                b.report.unaired.len()
            ));
        }
    }
    Built {
        days,
        report: b.report,
    }
}

/// Why a schedulable work got no airing (Chinese): it may air only late in the window, or
/// its section had no room for its length.
fn unaired_reason(cs: &CompiledSchedule, c: &Cand<'_>) -> String {
    let section = cs.sections.get(c.section).map_or("-", |s| s.name.as_str());
    let length = super::time::fmt_frames_short(cs.rate, c.w.frames);
    match c.w.premiere_after {
        Some(after) if after > cs.config.first_day => format!(
            "逾期报送，{after} 起方可播出；此后至 {} 版块「{section}」没有容纳 {length} 的空档",
            cs.config.last_day
        ),
        _ => format!(
            "播出窗口 {} 至 {} 内版块「{section}」没有容纳 {length} 的空档（时长容量不足）",
            cs.config.first_day, cs.config.last_day
        ),
    }
}

impl<'a> Builder<'a> {
    fn new(cs: &'a CompiledSchedule, req: &BuildRequest<'a>) -> Self {
        let mut report = BuildReport::default();
        let mut sorted: Vec<&Work> = req.works.iter().collect();
        sorted.sort_by_key(|w| w.id);
        let mut units: BTreeMap<i64, usize> = BTreeMap::new();
        for w in &sorted {
            let n = units.len();
            units.entry(w.unit_id).or_insert(n);
        }
        let mut cands = Vec::new();
        let mut by_id = BTreeMap::new();
        for w in sorted {
            if by_id.contains_key(&w.id) {
                report
                    .warnings
                    .push(format!("作品编号 {} 重复，仅使用第一条", w.id));
                continue;
            }
            if let Some(reason) = unfit_reason(cs, w) {
                report.excluded.push(Excluded {
                    work_id: w.id,
                    title: w.title.clone(),
                    reason,
                });
                continue;
            }
            let Some((cat, section)) = primary_category(cs, w) else {
                continue;
            };
            by_id.insert(w.id, cands.len());
            let unit = units.get(&w.unit_id).copied().unwrap_or(0);
            cands.push(Cand {
                w,
                section,
                cat,
                unit,
                hash: mix(cs.config.seed, w.id as u64),
            });
        }
        let mut by_section = vec![Vec::new(); cs.sections.len()];
        for (i, c) in cands.iter().enumerate() {
            by_section[c.section].push(i);
        }
        let mut feeds: Vec<&LiveFeed> = req.feeds.iter().collect();
        feeds.sort_by_key(|f| f.id);
        let n = cands.len();
        Builder {
            cs,
            cands,
            by_id,
            by_section,
            feeds,
            air: vec![Vec::new(); n],
            unit_air: vec![vec![0; units.len().max(1)]; cs.sections.len()],
            cat_air: vec![[0; 10]; cs.sections.len()],
            report,
        }
    }

    fn record(&mut self, ci: usize, at_ms: i64, frames: u64) {
        let v = &mut self.air[ci];
        let p = v.partition_point(|&x| x <= at_ms);
        v.insert(p, at_ms);
        let c = &self.cands[ci];
        self.unit_air[c.section][c.unit] += frames;
        self.cat_air[c.section][c.cat as usize] += frames;
    }

    /// Counts a kept day's airings toward repeats and fairness.
    fn register(&mut self, day: &Day) {
        for it in &day.items {
            if let (ItemKind::Work, Some(id)) = (it.kind, it.work_id)
                && let Some(&ci) = self.by_id.get(&id)
            {
                self.record(ci, it.start.timestamp_millis(), it.frames);
            }
        }
    }

    fn build_day(&mut self, date: NaiveDate, days_left: usize) -> Day {
        let cs = self.cs;
        let plan = day_plan(cs, date);
        let mut quota = vec![u32::MAX; cs.sections.len()];
        let mut unaired = vec![0u64; cs.sections.len()];
        if cs.config.repeat.spread_premieres {
            // The day's share of the unaired works (late works from their date on), split
            // among the sections in proportion to their unaired works (largest remainders get
            // the odd ones), so the shares add up to the day's share exactly.
            for (s, n) in unaired.iter_mut().enumerate() {
                *n = self.by_section[s]
                    .iter()
                    .filter(|&&ci| {
                        self.air[ci].is_empty()
                            && self.cands[ci].w.premiere_after.is_none_or(|d| d <= date)
                    })
                    .count() as u64;
            }
            let total: u64 = unaired.iter().sum();
            let day_share = total.div_ceil(days_left.max(1) as u64);
            let mut rems = Vec::new();
            for (s, q) in quota.iter_mut().enumerate() {
                let x = unaired[s] * day_share;
                *q = x.checked_div(total).unwrap_or(0) as u32;
                rems.push((std::cmp::Reverse(x.checked_rem(total).unwrap_or(0)), s));
            }
            rems.sort();
            let given: u64 = quota.iter().map(|&q| u64::from(q)).sum();
            for &(_, s) in rems.iter().take(day_share.saturating_sub(given) as usize) {
                quota[s] += 1;
            }
        }
        let mut d = DayBuild {
            date,
            start: plan.start,
            items: Vec::new(),
            premieres: vec![0; cs.sections.len()],
            quota,
            unaired: unaired.iter().map(|&n| n as u32).collect(),
            rot: date.ordinal() as usize,
            filler: 0,
        };
        let feed_spans = self.feed_spans(&plan.start, &plan.end, plan.frames);
        // Premiere slots first, so their premieres count toward the day's share before the
        // blocks take theirs; airings are kept sorted by time, so the repeat rules hold in
        // either order, and the items are put back in time order below.
        let mut order: Vec<&Segment> = plan.segments.iter().collect();
        order.sort_by_key(|s| !s.premiere);
        for seg in order {
            if let Some(ev) = &seg.event {
                self.fill_event(&mut d, seg, ev);
                continue;
            }
            let mut cur = seg.start;
            let mut pinned = true;
            if seg.slow_live {
                let mut taken: Vec<(u64, u64, &LiveFeed)> = Vec::new();
                for &(a, e, f) in &feed_spans {
                    let (a, e) = (a.max(seg.start), e.min(seg.end));
                    if a < e && taken.iter().all(|t| e <= t.0 || a >= t.1) {
                        taken.push((a, e, f));
                    }
                }
                taken.sort_by_key(|t| (t.0, t.2.id));
                for (a, e, f) in taken {
                    self.fill_works(&mut d, seg, cur, a, pinned);
                    let name = cs.sections[seg.sections[0]].name.clone();
                    d.push(cs, a, e - a, live_item(f, &seg.label, &name), true);
                    pinned = false;
                    cur = e;
                }
            }
            self.fill_works(&mut d, seg, cur, seg.end, pinned);
        }
        d.items.sort_by_key(|i| i.start);
        self.report.premieres.insert(date, d.premieres.iter().sum());
        self.report.filler_frames.insert(date, d.filler);
        Day {
            date,
            edition: cs.config.edition.clone(),
            time_zone: cs.config.time_zone.clone(),
            rate: cs.rate,
            start: plan.start,
            end: plan.end,
            items: d.items,
        }
    }

    /// Each feed's on-air spans within the day, frames from midnight, by feed id.
    fn feed_spans(
        &mut self,
        start: &DateTime<Utc>,
        end: &DateTime<Utc>,
        frames: u64,
    ) -> Vec<(u64, u64, &'a LiveFeed)> {
        let cs = self.cs;
        let mut out = Vec::new();
        for &f in &self.feeds {
            let bad = |what: &str| {
                format!(
                    "慢直播信号 {}（{}）的时段 {what} 无效，已跳过",
                    f.id, f.title
                )
            };
            match &f.window {
                FeedWindow::Daily { start: s, end: e } => {
                    let (Some(s), Some(e)) = (parse_clock_ms(s), parse_clock_ms(e)) else {
                        push_once(&mut self.report.warnings, bad("start/end"));
                        continue;
                    };
                    let (s, e) = (
                        cs.rate.frames_in_ms(s) as u64,
                        cs.rate.frames_in_ms(e) as u64,
                    );
                    if e > s {
                        out.push((s.min(frames), e.min(frames), f));
                    } else {
                        out.push((0, e.min(frames), f));
                        out.push((s.min(frames), frames, f));
                    }
                }
                FeedWindow::Cron { cron, duration } => {
                    let (Ok(c), Some(len)) = (
                        CronSlot::parse(cron),
                        parse_duration_frames(cs.rate, duration),
                    ) else {
                        push_once(&mut self.report.warnings, bad("cron/duration"));
                        continue;
                    };
                    let from = *start - chrono::Duration::nanoseconds(cs.rate.ns_of(len));
                    for t in c.firings(cs.tz, from, *end) {
                        let a = cs.rate.frames_between(*start, t);
                        let e = a + len as i64;
                        out.push((a.max(0) as u64, e.clamp(0, frames as i64) as u64, f));
                    }
                }
            }
        }
        out.retain(|s| s.1 > s.0);
        out
    }

    fn fill_event(&mut self, d: &mut DayBuild, seg: &Segment, ev: &Event) {
        let cs = self.cs;
        let len = seg.end - seg.start;
        let section = cs.sections[seg.sections[0]].name.clone();
        let c = &ev.config;
        let mut item = DayItem {
            start: d.start,
            frames: len,
            in_frames: 0,
            kind: ItemKind::Event,
            work_id: None,
            feed_id: None,
            title: c.title.clone(),
            source: c.source.clone().unwrap_or_default(),
            section,
            block: seg.label.clone(),
            unit: c.unit.clone().unwrap_or_default(),
            unit_id: None,
            copyright_holder: c.copyright_holder.clone().unwrap_or_default(),
            categories: Vec::new(),
            premiere: false,
            pinned: true,
            cut: false,
        };
        if let Some(id) = c.work_id {
            item.kind = ItemKind::Work;
            item.work_id = Some(id);
            if let Some(&ci) = self.by_id.get(&id) {
                let w = self.cands[ci].w;
                item = work_item(w, &item.section, &seg.label, len);
                item.pinned = true;
                item.premiere = self.air[ci].is_empty();
                let at = d.at_ms(cs, seg.start);
                self.record(ci, at, item.frames);
            } else {
                self.report.warnings.push(format!(
                    "{} 活动 “{}” 指定的作品 {id} 不可播出",
                    d.date, c.title
                ));
            }
        } else if let Some(id) = c.feed_id {
            item.kind = ItemKind::Live;
            item.feed_id = Some(id);
            if let Some(f) = self.feeds.iter().find(|f| f.id == id) {
                item.source = f.url.clone();
                item.unit = f.unit.clone();
                item.unit_id = Some(f.unit_id);
                item.copyright_holder = f.copyright_holder.clone();
            }
        }
        let used = item.frames;
        d.push(cs, seg.start, used, item, true);
        if used < len {
            self.close(d, seg, seg.start + used, len - used);
        }
    }

    fn fill_works(
        &mut self,
        d: &mut DayBuild,
        seg: &Segment,
        mut cur: u64,
        end: u64,
        mut pinned: bool,
    ) {
        let cs = self.cs;
        let min_cut = cs.rate.frames_in_secs(MIN_CUT_SECS);
        // The run of works with exact lengths in progress: its first frame and its exact
        // length so far. Each boundary falls on the frame nearest the exact running time
        // (the remainder carried, `time::carried_frames`).
        let mut run_from = cur;
        let mut run_ms: u128 = 0;
        while cur < end {
            let left = end - cur;
            let at = d.at_ms(cs, cur);
            let Some((ci, fits)) = self.pick(d, seg, left, at, min_cut) else {
                break;
            };
            let c = &self.cands[ci];
            let section = cs.sections[c.section].name.clone();
            let frames = match (fits, c.w.ms) {
                (false, _) => left,
                (true, Some(ms)) if ms > 0 => {
                    run_ms += u128::from(ms.unsigned_abs());
                    let to = run_from + nearest_frame(cs.rate, run_ms);
                    to.saturating_sub(cur).clamp(1, left)
                }
                (true, _) => {
                    run_from = cur + c.w.frames;
                    run_ms = 0;
                    c.w.frames
                }
            };
            let mut item = work_item(c.w, &section, &seg.label, frames);
            item.premiere = self.air[ci].is_empty();
            item.cut = !fits;
            if item.premiere {
                d.premieres[c.section] += 1;
            }
            self.record(ci, at, frames);
            d.push(cs, cur, frames, item, pinned);
            pinned = false;
            cur += frames;
        }
        if cur < end {
            self.close_pinned(d, seg, cur, end - cur, pinned);
        }
    }

    /// Best work for `left` frames at `at_ms`, and whether it fits whole. Tier 0 is the
    /// segment's own sections; then each way out of its sections (`fallback`) in order. A
    /// work that fits beats one that must be cut, whatever its tier.
    fn pick(
        &self,
        d: &DayBuild,
        seg: &Segment,
        left: u64,
        at_ms: i64,
        min_cut: u64,
    ) -> Option<(usize, bool)> {
        let mut tiers: Vec<(&[usize], Option<bool>)> = vec![(&seg.sections, None)];
        for &s in &seg.sections {
            for f in &self.cs.sections[s].fallback {
                match f {
                    Fallback::Replay {
                        sections,
                        allow_premieres,
                    } => tiers.push((sections, Some(*allow_premieres))),
                }
            }
        }
        let mut all: Vec<(PickKey, usize)> = Vec::with_capacity(self.cands.len());
        // A section already looked at in an earlier tier ranks no better in a later one.
        let mut seen = vec![false; self.cs.sections.len()];
        for (tier, (sections, fallback)) in tiers.iter().enumerate() {
            for &s in *sections {
                if std::mem::replace(&mut seen[s], true) {
                    continue;
                }
                let sec = &self.cs.sections[s];
                let gap = self.cs.rate.ms_of(sec.min_gap_frames);
                for &ci in &self.by_section[s] {
                    let c = &self.cands[ci];
                    if c.w.premiere_after.is_some_and(|p| p > d.date) {
                        continue;
                    }
                    let air = &self.air[ci];
                    if air.len() >= sec.max_airings as usize {
                        continue;
                    }
                    let p = air.partition_point(|&x| x < at_ms);
                    if (p > 0 && at_ms - air[p - 1] < gap)
                        || (p < air.len() && air[p] - at_ms < gap)
                    {
                        continue;
                    }
                    let fits = c.w.frames <= left;
                    if !fits && (!seg.allow_cut || left < min_cut) {
                        continue;
                    }
                    let within_share = d.premieres[s] < d.quota[s];
                    let (class, tier) = match fallback {
                        // A way out: replays first, premieres only when allowed. A work whose
                        // section is behind its share of premieres may premiere in another
                        // section's (not slow-live) block as if it were its own.
                        Some(_) if !air.is_empty() => (1, tier),
                        Some(false) => continue,
                        Some(true) if within_share && !seg.slow_live => (0, 0),
                        Some(true) => (2, tier),
                        None if !air.is_empty() => (1, tier),
                        None if seg.premiere || within_share => (0, tier),
                        None => (2, tier),
                    };
                    let last = air.last().copied().unwrap_or(i64::MIN);
                    // A premiere slot open to several sections serves the one with the most
                    // works still to premiere first.
                    let backlog = if class == 0 {
                        u32::MAX - d.unaired[s].saturating_sub(d.premieres[s])
                    } else {
                        0
                    };
                    let key = (
                        !fits && tier > 0,
                        class == 2 && self.cs.config.repeat.spread_premieres,
                        0,
                        tier,
                        !fits,
                        class,
                        backlog,
                        self.cat_air[s][c.cat as usize],
                        self.unit_air[s][c.unit],
                        air.len(),
                        last,
                        c.hash,
                    );
                    all.push((key, ci));
                }
            }
        }
        // What a work leaves behind that no work can fill is filler or slate. The end of a
        // segment (less than three of the longest eligible works left) looks two works ahead:
        // a work leaving `rest` is charged what the best one or two other eligible works
        // (distinct, fitting, of the best premiere-share rank present) cannot fill of it, in
        // whole `PACK_SECS` steps (`Packing::waste`); a cut wastes nothing. The work wasting
        // least wins, whatever its tier or class; elsewhere nothing is wasted and tier decides:
        // a section's own material, even cut where the block allows it, before a way out.
        // Only the `PACK_TRIES` best-ranked candidates are charged, best first, and the search
        // stops at the first that wastes nothing, so a large catalog costs a few passes over
        // its lengths per pick, not one per work.
        // The pool's premiere-share rank: on a first day every work is a premiere, and past
        // the share once it is used.
        let over = all.iter().filter(|(k, _)| !k.4).all(|(k, _)| k.1);
        let in_pool = |k: &PickKey| !k.4 && k.1 == over;
        let longest = all
            .iter()
            .filter(|(k, _)| in_pool(k))
            .map(|&(_, ci)| self.cands[ci].w.frames)
            .max()
            .unwrap_or(0);
        if left >= longest.saturating_mul(3) {
            return all.into_iter().min().map(|(k, ci)| (ci, !k.4));
        }
        let pack = Packing::new(
            all.iter()
                .filter(|(k, _)| in_pool(k))
                .map(|&(_, ci)| self.cands[ci].w.frames),
            self.cs.rate.frames_in_secs(PACK_SECS).max(1),
        );
        if all.len() > PACK_TRIES {
            all.select_nth_unstable(PACK_TRIES - 1);
            all.truncate(PACK_TRIES);
        }
        all.sort_unstable();
        let mut best: Option<(PickKey, usize)> = None;
        for (mut k, ci) in all {
            if let Some((b, _)) = &best
                && (k.0, k.1) > (b.0, b.1)
            {
                // Everything from here on ranks after the best found so far.
                break;
            }
            if !k.4 {
                let len = self.cands[ci].w.frames;
                k.2 = pack.waste(left - len, in_pool(&k).then_some(len));
            }
            if best.as_ref().is_none_or(|(b, _)| k < *b) {
                let done = k.2 == 0;
                best = Some((k, ci));
                if done {
                    break;
                }
            }
        }
        best.map(|(k, ci)| (ci, !k.4))
    }

    fn close(&mut self, d: &mut DayBuild, seg: &Segment, at: u64, len: u64) {
        self.close_pinned(d, seg, at, len, false)
    }

    /// Closes `len` frames at `at` with filler clips (largest first, rotating) and the slate.
    fn close_pinned(
        &mut self,
        d: &mut DayBuild,
        seg: &Segment,
        mut at: u64,
        mut len: u64,
        mut pinned: bool,
    ) {
        let cs = self.cs;
        let section = cs
            .sections
            .get(seg.sections[0])
            .map(|s| s.name.clone())
            .unwrap_or_default();
        d.filler += len;
        let n = cs.clips.len();
        let mut used = 0;
        while n > 0 && used < cs.config.filler.max_clips {
            let Some(clip) = (0..n)
                .map(|k| &cs.clips[(d.rot + k) % n])
                .find(|c| c.frames <= len)
            else {
                break;
            };
            d.rot += 1;
            used += 1;
            let item = filler_item(
                ItemKind::Filler,
                &clip.title,
                &clip.source,
                &section,
                &seg.label,
                clip.frames,
            );
            d.push(cs, at, clip.frames, item, pinned);
            pinned = false;
            at += clip.frames;
            len -= clip.frames;
        }
        if len > 0 {
            let s = &cs.config.filler.slate;
            let item = filler_item(
                ItemKind::Slate,
                &s.title,
                &s.source,
                &section,
                &seg.label,
                len,
            );
            d.push(cs, at, len, item, pinned);
        }
    }
}

/// What the end-of-segment packing counts as waste: whole steps of this many seconds of
/// slate (a rest shorter than one step counts as filled, so the card shows at most a few
/// seconds at a block's end and fairness, not the last second, decides among near fits).
const PACK_SECS: i64 = 5;

/// How many of the best-ranked candidates the end-of-segment packing charges at one pick.
const PACK_TRIES: usize = 128;

/// The eligible lengths at one pick, for looking two works ahead at the end of a segment.
pub(super) struct Packing {
    /// Distinct lengths (frames), ascending, with how many eligible works have each.
    lengths: Vec<(u64, u32)>,
    /// One waste step, frames.
    step: u64,
}

impl Packing {
    /// The pool of `lengths` (frames, any order, repeats allowed); waste counted in `step`
    /// frames.
    pub(super) fn new(lengths: impl Iterator<Item = u64>, step: u64) -> Self {
        let mut v: Vec<u64> = lengths.collect();
        v.sort_unstable();
        let mut out: Vec<(u64, u32)> = Vec::new();
        for l in v {
            match out.last_mut() {
                Some((x, n)) if *x == l => *n += 1,
                _ => out.push((l, 1)),
            }
        }
        Packing { lengths: out, step }
    }

    fn longest(&self) -> u64 {
        self.lengths.last().map_or(0, |l| l.0)
    }

    /// Whole steps of `rest` (frames) that one or two eligible works, other than the one of
    /// length `taken` just placed, cannot fill. Zero when `rest` is two longest works or more.
    pub(super) fn waste(&self, rest: u64, taken: Option<u64>) -> u64 {
        if rest < self.step || rest >= self.longest().saturating_mul(2) {
            return 0;
        }
        let count = |i: usize| {
            let (l, n) = self.lengths[i];
            n.saturating_sub(u32::from(taken == Some(l)))
        };
        let v = &self.lengths;
        // One work: the longest within the rest.
        let mut filled = 0;
        let p = v.partition_point(|&(l, _)| l <= rest);
        if let Some(i) = (0..p).rev().find(|&i| count(i) > 0) {
            filled = v[i].0;
        }
        // Two works: the largest sum within the rest (two pointers over the lengths).
        if p > 0 {
            let (mut i, mut j) = (0, p - 1);
            while i <= j && filled < rest {
                if count(i) == 0 {
                    i += 1;
                    continue;
                }
                if count(j) == 0 || (i == j && count(i) < 2) {
                    if j == 0 {
                        break;
                    }
                    j -= 1;
                    continue;
                }
                let sum = v[i].0 + v[j].0;
                if sum <= rest {
                    filled = filled.max(sum);
                    i += 1;
                } else {
                    if j == 0 {
                        break;
                    }
                    j -= 1;
                }
            }
        }
        (rest - filled) / self.step
    }
}

fn push_once(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Ranking of a candidate (smaller is better): a way out that does not fit, a premiere past
/// the day's share (when `spread_premieres`: only when nothing else fits), whole minutes it
/// would leave that no work can fill, tier (0 own sections, then each way out), does not fit,
/// class (0 wanted premiere, 1 repeat, 2 premiere over quota or in a way out), category airtime, unit airtime, airings, last airing, hash.
type PickKey = (
    bool,
    bool,
    u64,
    usize,
    bool,
    u8,
    u32,
    u64,
    u64,
    usize,
    i64,
    u64,
);

struct DayBuild {
    date: NaiveDate,
    start: DateTime<Utc>,
    items: Vec<DayItem>,
    premieres: Vec<u32>,
    quota: Vec<u32>,
    /// Unaired works of each section at the start of the day (spread_premieres only).
    unaired: Vec<u32>,
    rot: usize,
    filler: u64,
}

impl DayBuild {
    fn at_ms(&self, cs: &CompiledSchedule, offset: u64) -> i64 {
        cs.rate.add(self.start, offset).timestamp_millis()
    }

    fn push(
        &mut self,
        cs: &CompiledSchedule,
        offset: u64,
        frames: u64,
        mut item: DayItem,
        pinned: bool,
    ) {
        item.start = cs.rate.add(self.start, offset);
        item.frames = frames;
        item.pinned = pinned;
        self.items.push(item);
    }
}

/// A work item (start unset) of `frames`; `cut` when shorter than the work.
pub(crate) fn work_item(w: &Work, section: &str, block: &str, frames: u64) -> DayItem {
    DayItem {
        start: DateTime::<Utc>::MIN_UTC,
        frames,
        in_frames: 0,
        kind: ItemKind::Work,
        work_id: Some(w.id),
        feed_id: None,
        title: w.title.clone(),
        source: w.source.clone(),
        section: section.into(),
        block: block.into(),
        unit: w.unit.clone(),
        unit_id: Some(w.unit_id),
        copyright_holder: w.copyright_holder.clone(),
        categories: w.categories.clone(),
        premiere: false,
        pinned: false,
        cut: frames < w.frames,
    }
}

/// A pinned live item (start and length unset) placed by `block`.
pub(crate) fn live_item(f: &LiveFeed, block: &str, section: &str) -> DayItem {
    DayItem {
        start: DateTime::<Utc>::MIN_UTC,
        frames: 0,
        in_frames: 0,
        kind: ItemKind::Live,
        work_id: None,
        feed_id: Some(f.id),
        title: f.title.clone(),
        source: f.url.clone(),
        section: section.into(),
        block: block.into(),
        unit: f.unit.clone(),
        unit_id: Some(f.unit_id),
        copyright_holder: f.copyright_holder.clone(),
        categories: vec![8],
        premiere: false,
        pinned: true,
        cut: false,
    }
}

/// A filler or slate item (start unset) of `frames`.
pub(crate) fn filler_item(
    kind: ItemKind,
    title: &str,
    source: &str,
    section: &str,
    block: &str,
    frames: u64,
) -> DayItem {
    DayItem {
        start: DateTime::<Utc>::MIN_UTC,
        frames,
        in_frames: 0,
        kind,
        work_id: None,
        feed_id: None,
        title: title.into(),
        source: source.into(),
        section: section.into(),
        block: block.into(),
        unit: String::new(),
        unit_id: None,
        copyright_holder: String::new(),
        categories: Vec::new(),
        premiere: false,
        pinned: false,
        cut: false,
    }
}

/// Human text of an instant for warnings.
pub fn when(cs: &CompiledSchedule, t: DateTime<Utc>) -> String {
    wall(cs.tz, t)
}
