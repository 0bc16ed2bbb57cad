//! 数据反馈 of one work (its page on the dashboard): every airing of it in the as-run log,
//! each with what it got while on air (peak and average concurrent viewers, interactions by
//! kind, per platform: the same rules and numbers as [`attribution`](super::attribution)),
//! the audience curve per minute around it (viewers per platform and in total,
//! interactions: [`curve`](super::curve)), and the totals over its airings.
//!
//! Owns loading and assembling; who may see which work is the web layer's
//! (`web::feedback`). With a unit scope (a partner's view) only that unit's relay channels
//! count, as in the partner's attribution.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::Feedback;
use super::attribution::{self, AiringIn, ChannelIn, Group, HOLD_MS, Point, Programme, WorkIn};
use super::curve::{self, Curve};
use super::repo;
use crate::asrun::AsRunQuery;
use crate::store::Result;

/// How much of the curve is shown before and after an airing: 10 minutes.
pub const CURVE_MARGIN_MS: i64 = 10 * 60_000;
/// Readings this far around an airing serve to interpolate running totals across its ends
/// (as in the period attribution): a day.
const AROUND_MS: i64 = 86_400_000;

/// One airing of the work with its figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkAiring {
    /// What it got while on air (`start_ms`/`end_ms` are its first and last frame; an
    /// airing still on air ends now).
    #[serde(flatten)]
    pub programme: Programme,
    /// Still on air.
    pub on_air: bool,
    /// The audience per minute from [`CURVE_MARGIN_MS`] before its first frame to as long
    /// after its end (not after now).
    pub curve: Curve,
}

/// Everything the work's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkFeedback {
    /// The work.
    pub work_id: i64,
    /// Its airings, oldest first (one cut short by a crash, without a known end, is left
    /// out, as in the period attribution).
    pub airings: Vec<WorkAiring>,
    /// Over its airings: count, time on air, largest peak, average viewers (weighted by
    /// covered time), interactions and every kind.
    pub totals: Group,
    /// The relay channels counted (a partner: its own unit's).
    pub channels: usize,
}

impl Feedback {
    /// The figures of `work` (its unit `work_unit`, its title) over all its airings, with
    /// only `scope`'s channels counted when set. `now_ms` (the programme clock) ends an
    /// airing still on air.
    pub async fn work_feedback(
        &self,
        work: &WorkIn,
        scope: Option<i64>,
        now_ms: i64,
    ) -> Result<WorkFeedback> {
        let rows = self
            .asrun()
            .query(&AsRunQuery {
                work: Some(work.id),
                ..AsRunQuery::default()
            })
            .await?;
        let channels = self.store.channels(scope).await?;
        let chans: Vec<ChannelIn> = channels
            .iter()
            .map(|c| ChannelIn {
                id: c.id,
                unit_id: c.unit_id,
                platform: c.platform.clone(),
            })
            .collect();
        let ids: BTreeSet<i64> = channels.iter().map(|c| c.id).collect();
        let id_list: Vec<i64> = ids.iter().copied().collect();
        let platform_of: HashMap<i64, String> = channels
            .iter()
            .map(|c| (c.id, c.platform.clone()))
            .collect();
        let mut airings = Vec::new();
        let mut totals = Group::default();
        for a in rows {
            let on_air = a.last_frame_ms.is_none() && a.end_reason.is_none();
            let Some(end) = a.last_frame_ms.or(on_air.then_some(now_ms)) else {
                continue;
            };
            if end <= a.first_frame_ms {
                continue;
            }
            let airing = AiringIn {
                id: a.id,
                work_id: a.work_id,
                unit_id: a.unit_id.or(Some(work.unit_id)),
                title: a.title,
                start_ms: a.first_frame_ms,
                end_ms: end,
                section: None,
            };
            // Nothing to read for a caller without channels (an empty list means all).
            let points: Vec<Point> = if id_list.is_empty() {
                Vec::new()
            } else {
                self.store
                    .figures(
                        &id_list,
                        airing.start_ms - AROUND_MS,
                        end + AROUND_MS,
                        i64::MAX / 2,
                    )
                    .await?
                    .into_iter()
                    .filter(|f| ids.contains(&f.channel_id))
                    .filter_map(|f| f.point())
                    .collect()
            };
            let (from, to) = (airing.start_ms, airing.end_ms);
            let works = [work.clone()];
            let (one, chans2) = ([airing], chans.clone());
            let got = tokio::task::spawn_blocking(move || {
                attribution::attribute(&one, &works, &chans2, &points, from, to)
            })
            .await
            .map_err(|e| crate::store::Error::Unavailable(format!("统计任务失败：{e}")))?;
            let Some(programme) = got.programmes.into_iter().next() else {
                continue;
            };
            totals.add(&programme);
            let curve_from = repo::minute_of(from - CURVE_MARGIN_MS);
            let curve_to = repo::minute_of((to + CURVE_MARGIN_MS).min(now_ms.max(to))) + 60_000;
            let buckets = if id_list.is_empty() {
                Vec::new()
            } else {
                self.store.minutes(curve_from - HOLD_MS, curve_to).await?
            };
            let curve = curve::curve(&buckets, &platform_of, curve_from, curve_to);
            airings.push(WorkAiring {
                programme,
                on_air,
                curve,
            });
        }
        Ok(WorkFeedback {
            work_id: work.id,
            airings,
            totals,
            channels: channels.len(),
        })
    }
}
