//! The audience curve for the live charts: per minute, concurrent viewers per platform and
//! in total, and interactions, from the minute buckets. Pure.
//!
//! A channel's viewers in a minute are the last sample of that minute, held into following
//! minutes without one for at most [`HOLD_MS`](super::attribution::HOLD_MS). Interactions
//! of a minute are the growth of each running total since its previous bucket (a drop is a
//! reset: the new reading counts) plus the increments of the minute.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::attribution::HOLD_MS;
use super::model::Kind;
use super::repo::MinuteBucket;

/// The curve, column-wise (compact for polling).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Curve {
    /// Minute starts, UTC ms.
    pub minutes: Vec<i64>,
    /// Viewers per platform, one value per minute.
    pub platforms: BTreeMap<String, Vec<i64>>,
    /// Viewers in total per minute.
    pub total: Vec<i64>,
    /// Interactions (likes + comments + shares) per minute.
    pub interactions: Vec<i64>,
}

/// Builds the curve of `[from_ms, to_ms)` (minute grid) from `buckets` (any order); only
/// channels in `platform_of` count. Buckets before `from_ms` serve as baselines.
pub fn curve<'a>(
    buckets: impl IntoIterator<Item = &'a MinuteBucket>,
    platform_of: &HashMap<i64, String>,
    from_ms: i64,
    to_ms: i64,
) -> Curve {
    let first = super::repo::minute_of(from_ms);
    let minutes: Vec<i64> = (first..to_ms).step_by(60_000).take(24 * 60 * 2).collect();
    let index = |m: i64| usize::try_from((m - first) / 60_000).ok();
    let mut out = Curve {
        total: vec![0; minutes.len()],
        interactions: vec![0; minutes.len()],
        ..Curve::default()
    };
    let mut sorted: Vec<&MinuteBucket> = buckets
        .into_iter()
        .filter(|b| platform_of.contains_key(&b.channel_id))
        .collect();
    sorted.sort_by_key(|b| (b.channel_id, b.kind.as_str(), b.minute_ms));
    // Viewers: per channel, last sample per minute, held.
    let mut viewers: BTreeMap<i64, Vec<Option<(i64, i64)>>> = BTreeMap::new();
    let mut previous_total: HashMap<(i64, &str), i64> = HashMap::new();
    for b in sorted {
        let kind = super::repo::kind_of(&b.kind);
        if kind == Some(Kind::Viewers) {
            let v = viewers
                .entry(b.channel_id)
                .or_insert_with(|| vec![None; minutes.len()]);
            if let Some(i) = index(b.minute_ms).filter(|i| *i < minutes.len())
                && b.minute_ms >= first
            {
                v[i] = Some((b.last_at_ms, b.value_last));
            } else if b.minute_ms < first {
                // A sample before the window may still hold at its start.
                if b.last_at_ms + HOLD_MS > first && !v.is_empty() && v[0].is_none() {
                    v[0] = Some((b.last_at_ms, b.value_last));
                }
            }
            continue;
        }
        if !kind.is_some_and(Kind::is_interaction) {
            continue;
        }
        let grown = if b.cumulative != 0 {
            let key = (b.channel_id, b.kind.as_str());
            let g = match previous_total.get(&key) {
                None => 0,
                Some(p) if b.value_last >= *p => b.value_last - p,
                Some(_) => b.value_last,
            };
            previous_total.insert(key, b.value_last);
            g
        } else {
            b.value_sum
        };
        if b.minute_ms >= first
            && let Some(i) = index(b.minute_ms).filter(|i| *i < minutes.len())
        {
            out.interactions[i] += grown;
        }
    }
    for (channel, samples) in viewers {
        let platform = platform_of.get(&channel).cloned().unwrap_or_default();
        let series = out
            .platforms
            .entry(platform)
            .or_insert_with(|| vec![0; minutes.len()]);
        let mut held: Option<(i64, i64)> = None;
        for (i, m) in minutes.iter().enumerate() {
            if let Some(s) = samples[i] {
                held = Some(s);
            }
            if let Some((at, v)) = held
                && m + 60_000 - at <= HOLD_MS + 60_000
            {
                series[i] += v;
                out.total[i] += v;
            }
        }
    }
    out.minutes = minutes;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(
        channel_id: i64,
        kind: &str,
        minute: i64,
        last: i64,
        sum: i64,
        cumulative: i64,
    ) -> MinuteBucket {
        MinuteBucket {
            channel_id,
            kind: kind.into(),
            minute_ms: minute * 60_000,
            n: 1,
            value_sum: sum,
            value_max: last,
            value_last: last,
            last_at_ms: minute * 60_000 + 30_000,
            cumulative,
        }
    }

    #[test]
    fn viewers_add_up_per_platform_and_interactions_grow() {
        let platforms = HashMap::from([(1, "bilibili".to_string()), (2, "douyin".to_string())]);
        let buckets = [
            b(1, "viewers", 10, 100, 100, 0),
            b(1, "viewers", 12, 300, 300, 0),
            b(2, "viewers", 11, 50, 50, 0),
            b(1, "likes", 9, 1000, 1000, 1),
            b(1, "likes", 11, 1040, 1040, 1),
            b(2, "comments", 12, 3, 5, 0),
            // Not a channel the caller may see.
            b(3, "viewers", 11, 9999, 9999, 0),
        ];
        let c = curve(&buckets, &platforms, 10 * 60_000, 13 * 60_000);
        assert_eq!(c.minutes.len(), 3);
        assert_eq!(c.platforms["bilibili"], vec![100, 100, 300]);
        assert_eq!(c.platforms["douyin"], vec![0, 50, 50]);
        assert_eq!(c.total, vec![100, 150, 350]);
        // Likes grew 40 by minute 11 (baseline from minute 9); 5 comments in minute 12.
        assert_eq!(c.interactions, vec![0, 40, 5]);
    }
}
