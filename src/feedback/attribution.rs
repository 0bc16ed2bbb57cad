//! Attribution through the as-run log: which audience and which interactions belong to which
//! programme, work, unit, category and day. Pure: airings, channels and figures in, numbers
//! out; no clock, no database (the service loads them; tests feed known ones).
//!
//! The rules, stated once:
//! - **Viewers** (a sample per channel) hold from their instant until the next sample of the
//!   same channel, or at most [`HOLD_MS`]; after that the channel's audience is unknown, not
//!   zero. The total is the sum over channels of what holds at each instant. An airing's
//!   peak is the largest total while it was on air (`first_frame ≤ t < last_frame`); its
//!   average is weighted by time over the part of the airing where any channel was known
//!   (`covered_ms` says how much that was).
//! - **Running totals** (cumulative likes, comments, shares, views, topic figures) are made
//!   monotonic (a drop is a counter reset: the new reading counts from zero), interpolated
//!   linearly between readings and held after the last one; what an airing gets is the
//!   difference across its boundaries. Nothing is attributed before a channel's first
//!   reading.
//! - **Increments** (non-cumulative figures other than viewers, e.g. one webhook per like)
//!   count at their instant.
//! - A unit gets its works' airings **and** its own relay channels' audience over the whole
//!   period; reporting is complete for a (channel, broadcast day) when the channel sent at
//!   least one figure that day.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::model::Kind;
use crate::asrun::air_day_of;

/// How long a viewer sample holds when no newer one arrives: 5 minutes.
pub const HOLD_MS: i64 = 5 * 60 * 1000;

/// One airing as attribution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiringIn {
    /// As-run row id.
    pub id: i64,
    /// The work, if any.
    pub work_id: Option<i64>,
    /// The unit, if any.
    pub unit_id: Option<i64>,
    /// 节目名称.
    pub title: String,
    /// First frame, UTC ms.
    pub start_ms: i64,
    /// Last frame, UTC ms (end of the airing).
    pub end_ms: i64,
    /// The section (版块) of the rundown item it aired from, if known.
    pub section: Option<String>,
}

/// A relay channel as attribution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelIn {
    /// Channel id.
    pub id: i64,
    /// Its unit (None: the organiser's).
    pub unit_id: Option<i64>,
    /// Its platform.
    pub platform: String,
}

/// A work with its categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkIn {
    /// Work id.
    pub id: i64,
    /// Its unit.
    pub unit_id: i64,
    /// Title.
    pub title: String,
    /// Category names.
    pub categories: Vec<String>,
}

/// One figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Channel id.
    pub channel_id: i64,
    /// Instant, UTC ms.
    pub at_ms: i64,
    /// Kind.
    pub kind: Kind,
    /// Value.
    pub value: i64,
    /// A running total.
    pub cumulative: bool,
}

/// Interaction-like counts by kind (everything but viewers).
pub type Counts = BTreeMap<Kind, i64>;

/// The figures of one span of time (an airing, a work's airings, a day…).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Audience {
    /// Largest total concurrent viewers.
    pub peak_viewers: i64,
    /// Time-weighted average concurrent viewers over the covered time.
    pub avg_viewers: i64,
    /// How much of the span had a known viewer figure, ms.
    pub covered_ms: i64,
    /// Likes + comments + shares.
    pub interactions: i64,
    /// Every counted kind (likes, comments, shares, views, topic_reads, …).
    pub counts: Counts,
}

/// What one airing got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Programme {
    /// As-run row id.
    pub airing_id: i64,
    /// Work.
    pub work_id: Option<i64>,
    /// Unit.
    pub unit_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Broadcast day (Asia/Shanghai).
    pub air_day: String,
    /// First frame, UTC ms.
    pub start_ms: i64,
    /// End, UTC ms.
    pub end_ms: i64,
    /// In total.
    pub audience: Audience,
    /// Per platform.
    pub by_platform: BTreeMap<String, Audience>,
}

/// What a group of airings got (a work, a category, a day).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Airings.
    pub airings: usize,
    /// Time on air, ms.
    pub aired_ms: i64,
    /// Largest peak of its airings.
    pub peak_viewers: i64,
    /// Average viewers weighted by covered time.
    pub avg_viewers: i64,
    /// Interactions while on air.
    pub interactions: i64,
    /// Every counted kind while on air.
    pub counts: Counts,
    #[serde(skip)]
    weighted_sum: i128,
    #[serde(skip)]
    covered_ms: i64,
}

impl Group {
    /// Counts one more airing in the group (time on air, peak, interactions; the average
    /// weighted by the airing's covered time).
    pub fn add(&mut self, p: &Programme) {
        self.airings += 1;
        self.aired_ms += p.end_ms - p.start_ms;
        self.peak_viewers = self.peak_viewers.max(p.audience.peak_viewers);
        self.interactions += p.audience.interactions;
        for (k, v) in &p.audience.counts {
            *self.counts.entry(*k).or_default() += v;
        }
        self.weighted_sum += i128::from(p.audience.avg_viewers) * i128::from(p.audience.covered_ms);
        self.covered_ms += p.audience.covered_ms;
        self.avg_viewers = if self.covered_ms > 0 {
            i64::try_from(
                (self.weighted_sum + i128::from(self.covered_ms) / 2) / i128::from(self.covered_ms),
            )
            .unwrap_or(i64::MAX)
        } else {
            0
        };
    }
}

/// One unit's figures for the organiser's ranking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitFigures {
    /// Unit id.
    pub unit_id: i64,
    /// Its works' airings while on air (any channel's audience).
    pub works: Group,
    /// Its relay channels.
    pub relays: usize,
    /// Its relay channels over the whole period.
    pub relay_audience: Audience,
    /// (channel, broadcast day) pairs expected.
    pub reports_expected: usize,
    /// … of which had at least one figure.
    pub reports_made: usize,
}

/// Everything attributed over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// Per airing, in airing order.
    pub programmes: Vec<Programme>,
    /// Per work.
    pub works: BTreeMap<i64, Group>,
    /// Per unit.
    pub units: BTreeMap<i64, UnitFigures>,
    /// Per category name.
    pub categories: BTreeMap<String, Group>,
    /// Per section (版块) of the rundown items that aired.
    pub sections: BTreeMap<String, Group>,
    /// Per broadcast day: its airings' figures.
    pub days: BTreeMap<String, Group>,
    /// Over the whole period, every channel.
    pub total: Audience,
}

/// The figures of one channel and kind, sorted by instant.
#[derive(Debug, Default)]
struct Series {
    samples: Vec<(i64, i64)>,
    /// Running totals made monotonic: (instant, total since the first reading).
    totals: Vec<(i64, i64)>,
    increments: Vec<(i64, i64)>,
}

impl Series {
    fn finish(&mut self, raw_totals: &mut [(i64, i64)]) {
        self.samples.sort_unstable();
        self.increments.sort_unstable();
        raw_totals.sort_unstable();
        let mut acc = 0i64;
        let mut prev: Option<i64> = None;
        self.totals = raw_totals
            .iter()
            .map(|&(t, v)| {
                match prev {
                    None => {}
                    Some(p) if v >= p => acc += v - p,
                    Some(_) => acc += v,
                }
                prev = Some(v);
                (t, acc)
            })
            .collect();
    }

    /// The monotonic running total at `t` (linear between readings, held after the last).
    fn total_at(&self, t: i64) -> i64 {
        let i = self.totals.partition_point(|&(at, _)| at <= t);
        if i == 0 {
            return 0;
        }
        let (t0, v0) = self.totals[i - 1];
        match self.totals.get(i) {
            None => v0,
            Some(&(t1, v1)) => {
                let num = i128::from(v1 - v0) * i128::from(t - t0);
                let den = i128::from(t1 - t0).max(1);
                v0 + i64::try_from(num / den).unwrap_or(0)
            }
        }
    }

    /// What counted in `[a, b)`.
    fn counted(&self, a: i64, b: i64) -> i64 {
        let inc: i64 = self
            .increments
            .iter()
            .filter(|(t, _)| *t >= a && *t < b)
            .map(|(_, v)| v)
            .sum();
        inc + (self.total_at(b) - self.total_at(a)).max(0)
    }

    /// The viewer sample holding at `t`.
    fn sample_at(&self, t: i64) -> Option<i64> {
        let i = self.samples.partition_point(|&(at, _)| at <= t);
        let (at, v) = *self.samples.get(i.checked_sub(1)?)?;
        (t - at < HOLD_MS).then_some(v)
    }
}

/// Every channel's series, indexed.
struct Figures {
    series: BTreeMap<(i64, Kind), Series>,
}

impl Figures {
    fn new(points: &[Point]) -> Self {
        let mut series: BTreeMap<(i64, Kind), Series> = BTreeMap::new();
        let mut raw: BTreeMap<(i64, Kind), Vec<(i64, i64)>> = BTreeMap::new();
        for p in points {
            let s = series.entry((p.channel_id, p.kind)).or_default();
            if p.kind == Kind::Viewers {
                s.samples.push((p.at_ms, p.value));
            } else if p.cumulative {
                raw.entry((p.channel_id, p.kind))
                    .or_default()
                    .push((p.at_ms, p.value));
            } else {
                s.increments.push((p.at_ms, p.value));
            }
        }
        for (k, s) in &mut series {
            let mut r = raw.remove(k).unwrap_or_default();
            s.finish(&mut r);
        }
        Self { series }
    }

    /// The audience of `channels` over `[a, b)`.
    fn audience(&self, channels: &BTreeSet<i64>, a: i64, b: i64) -> Audience {
        let mut out = Audience::default();
        if b <= a {
            return out;
        }
        let viewers: Vec<&Series> = channels
            .iter()
            .filter_map(|c| self.series.get(&(*c, Kind::Viewers)))
            .collect();
        let mut cuts: BTreeSet<i64> = BTreeSet::from([a]);
        for s in &viewers {
            for &(t, _) in &s.samples {
                for c in [t, t + HOLD_MS] {
                    if c > a && c < b {
                        cuts.insert(c);
                    }
                }
            }
        }
        let cuts: Vec<i64> = cuts.into_iter().collect();
        let mut weighted: i128 = 0;
        for (i, &t) in cuts.iter().enumerate() {
            let next = cuts.get(i + 1).copied().unwrap_or(b);
            let known: Vec<i64> = viewers.iter().filter_map(|s| s.sample_at(t)).collect();
            if known.is_empty() {
                continue;
            }
            let total: i64 = known.iter().sum();
            out.peak_viewers = out.peak_viewers.max(total);
            out.covered_ms += next - t;
            weighted += i128::from(total) * i128::from(next - t);
        }
        if out.covered_ms > 0 {
            out.avg_viewers = i64::try_from(
                (weighted + i128::from(out.covered_ms) / 2) / i128::from(out.covered_ms),
            )
            .unwrap_or(i64::MAX);
        }
        for c in channels {
            for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::Viewers) {
                if let Some(s) = self.series.get(&(*c, kind)) {
                    let n = s.counted(a, b);
                    if n > 0 || s.totals.len() + s.increments.len() > 0 {
                        *out.counts.entry(kind).or_default() += n;
                    }
                }
            }
        }
        out.interactions = out
            .counts
            .iter()
            .filter(|(k, _)| k.is_interaction())
            .map(|(_, v)| v)
            .sum();
        out
    }

    /// Broadcast days (Asia/Shanghai) on which `channel` sent anything.
    fn days_reported(&self, channel: i64) -> BTreeSet<String> {
        self.series
            .range((channel, Kind::ALL[0])..=(channel, Kind::ALL[Kind::ALL.len() - 1]))
            .flat_map(|(_, s)| {
                s.samples
                    .iter()
                    .chain(&s.totals)
                    .chain(&s.increments)
                    .map(|(t, _)| air_day_of(*t))
            })
            .collect()
    }
}

/// Attributes `points` over the period `[from_ms, to_ms)` through `airings`.
pub fn attribute(
    airings: &[AiringIn],
    works: &[WorkIn],
    channels: &[ChannelIn],
    points: &[Point],
    from_ms: i64,
    to_ms: i64,
) -> Attribution {
    let figures = Figures::new(points);
    let all: BTreeSet<i64> = channels.iter().map(|c| c.id).collect();
    let mut by_platform: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for c in channels {
        by_platform.entry(&c.platform).or_default().insert(c.id);
    }
    let works_by_id: BTreeMap<i64, &WorkIn> = works.iter().map(|w| (w.id, w)).collect();
    let mut out = Attribution {
        total: figures.audience(&all, from_ms, to_ms),
        ..Attribution::default()
    };
    let mut sorted: Vec<&AiringIn> = airings.iter().collect();
    sorted.sort_by_key(|a| (a.start_ms, a.id));
    for a in sorted {
        let (start, end) = (a.start_ms.max(from_ms), a.end_ms.min(to_ms));
        if end <= start {
            continue;
        }
        let p = Programme {
            airing_id: a.id,
            work_id: a.work_id,
            unit_id: a.unit_id,
            title: a.title.clone(),
            air_day: air_day_of(a.start_ms),
            start_ms: start,
            end_ms: end,
            audience: figures.audience(&all, start, end),
            by_platform: by_platform
                .iter()
                .map(|(p, ids)| ((*p).to_string(), figures.audience(ids, start, end)))
                .collect(),
        };
        out.days.entry(p.air_day.clone()).or_default().add(&p);
        if let Some(sec) = &a.section {
            out.sections.entry(sec.clone()).or_default().add(&p);
        }
        if let Some(w) = a.work_id {
            out.works.entry(w).or_default().add(&p);
            if let Some(wi) = works_by_id.get(&w) {
                for c in &wi.categories {
                    out.categories.entry(c.clone()).or_default().add(&p);
                }
            }
        }
        if let Some(u) = a.unit_id.or_else(|| {
            a.work_id
                .and_then(|w| works_by_id.get(&w).map(|wi| wi.unit_id))
        }) {
            let uf = out.units.entry(u).or_default();
            uf.unit_id = u;
            uf.works.add(&p);
        }
        out.programmes.push(p);
    }
    let broadcast_days: BTreeSet<String> = out.days.keys().cloned().collect();
    let mut by_unit: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for c in channels {
        if let Some(u) = c.unit_id {
            by_unit.entry(u).or_default().insert(c.id);
        }
    }
    for (u, ids) in by_unit {
        let uf = out.units.entry(u).or_default();
        uf.unit_id = u;
        uf.relays = ids.len();
        uf.relay_audience = figures.audience(&ids, from_ms, to_ms);
        for c in &ids {
            let reported = figures.days_reported(*c);
            uf.reports_expected += broadcast_days.len();
            uf.reports_made += broadcast_days.intersection(&reported).count();
        }
    }
    out
}

#[cfg(test)]
mod tests;
