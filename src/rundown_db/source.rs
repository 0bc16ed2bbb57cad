//! The catalog as the rundown sees it: every work of the edition as a [`rundown::Work`]
//! (frames from the measured duration in integer ms, readiness from the review workflow,
//! the file `Catalog::playable_works` chose) and the slow-live feeds of the `live_feeds`
//! table, with the small functions that add and list feeds.
//!
//! Owns the `live_feeds` SQL and the catalog → rundown mapping; the readiness rule itself is
//! the catalog's (`schedulable`), reused here, never re-decided.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::rundown::{FeedWindow, FrameRate, LiveFeed, Readiness, Work};
use crate::store::{Error, Result, now_ms};

/// Frames of a duration in integer milliseconds, rounded down (a work is never announced
/// longer than it is).
pub fn frames_of_ms(rate: FrameRate, ms: i64) -> u64 {
    u64::try_from(rate.frames_in_ms(ms.max(0))).unwrap_or(0)
}

/// Every work of the catalog's edition as a rundown work. Works `playable_works` returns are
/// ready; the others carry the flags that block them, so the builder reports them and
/// validation names them.
pub async fn works(cat: &Catalog, rate: FrameRate) -> Result<Vec<Work>> {
    let units: BTreeMap<i64, String> = cat
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let playable: BTreeMap<i64, (String, i64)> = cat
        .playable_works()
        .await?
        .into_iter()
        .map(|p| (p.work.id, (p.location, p.duration_ms)))
        .collect();
    let mut out = Vec::new();
    for w in cat.works(None).await? {
        let mut blocked = Vec::new();
        let (ready, source, ms) = match playable.get(&w.id) {
            Some((loc, ms)) => (
                Readiness {
                    tech: true,
                    selected: true,
                    rights: true,
                },
                loc.clone(),
                *ms,
            ),
            None => {
                let best = cat
                    .files_of(w.id)
                    .await?
                    .into_iter()
                    .filter(|f| matches!(f.verdict.as_deref(), Some("pass" | "warn")))
                    .find(|f| f.duration_ms.is_some());
                let selected = matches!(w.state.as_str(), "selected" | "scheduled" | "aired");
                let ready = Readiness {
                    tech: best.is_some(),
                    selected,
                    rights: w.rights_confirmed_by.is_some(),
                };
                blocked = cat.schedulable(w.id).await?.reasons;
                match best {
                    Some(f) => (ready, f.location, f.duration_ms.unwrap_or(0)),
                    None => (ready, String::new(), w.declared_duration_ms.unwrap_or(0)),
                }
            }
        };
        // A late work airs from the day after it arrived at the earliest.
        let premiere_after = w
            .late
            .then(|| w.submitted_on.parse::<NaiveDate>().ok())
            .flatten()
            .map(|d| d + Duration::days(1));
        out.push(Work {
            id: w.id,
            unit: units.get(&w.unit_id).cloned().unwrap_or_default(),
            unit_id: w.unit_id,
            copyright_holder: w.copyright_holder.clone().unwrap_or_default(),
            categories: w.categories.clone(),
            frames: frames_of_ms(rate, ms),
            ms: (ms > 0).then_some(ms),
            source,
            premiere_after,
            ready,
            blocked,
            title: w.title,
        });
    }
    Ok(out)
}

/// A feed to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeed {
    /// Title as published.
    pub title: String,
    /// Source URL (rtsp/rtmp/rtmps/srt/http/https), or `ingest://FEED` for a partner pushing
    /// into the RTMP ingest.
    pub url: String,
    /// 报送单位 id.
    pub unit_id: i64,
    /// 版权方 (default: the unit).
    #[serde(default)]
    pub copyright_holder: Option<String>,
    /// When it is on.
    pub window: FeedWindow,
}

impl NewFeed {
    /// Checks title and URL, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.title.trim().is_empty() {
            return Err(Error::invalid("title", "慢直播信号名称不能为空"));
        }
        let url = self.url.trim();
        // A partner pushing into our RTMP ingest: `ingest://FEED`, FEED as its keys name it.
        if let Some(feed) = url.strip_prefix("ingest://") {
            return crate::feeds::validate_feed(feed).map_err(|_| {
                Error::invalid(
                    "url",
                    "推流接入的信号须写作 ingest://信号名（1–64 个字母、数字、- 或 _）",
                )
            });
        }
        let scheme_ok = [
            "rtsp://", "rtmp://", "rtmps://", "srt://", "http://", "https://",
        ]
        .iter()
        .any(|s| url.starts_with(s));
        if !scheme_ok {
            return Err(Error::invalid(
                "url",
                "信号源须为 rtsp/rtmp/rtmps/srt/http/https 网址，或推流接入的 ingest://信号名",
            ));
        }
        Ok(())
    }
}

type FeedRow = (i64, String, String, i64, Option<String>, String);

/// Adds a slow-live feed to the edition; a feed of the same title is a conflict.
pub async fn add_feed(cat: &Catalog, f: &NewFeed) -> Result<LiveFeed> {
    f.validate()?;
    cat.unit(f.unit_id)
        .await
        .map_err(|_| Error::invalid("unit_id", format!("报送单位 {} 不存在", f.unit_id)))?;
    let window =
        serde_json::to_string(&f.window).map_err(|e| Error::invalid("window", e.to_string()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO live_feeds (edition_year, title, url, unit_id, copyright_holder, \
         window_json, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(i64::from(cat.edition().edition.year))
    .bind(f.title.trim())
    .bind(f.url.trim())
    .bind(f.unit_id)
    .bind(f.copyright_holder.as_deref())
    .bind(window)
    .bind(now_ms())
    .fetch_one(cat.store().pool())
    .await?;
    feeds(cat)
        .await?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| Error::not_found("慢直播信号", id))
}

/// The edition's slow-live feeds, by id.
pub async fn feeds(cat: &Catalog) -> Result<Vec<LiveFeed>> {
    let units: BTreeMap<i64, String> = cat
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let rows: Vec<FeedRow> = sqlx::query_as(
        "SELECT id, title, url, unit_id, copyright_holder, window_json FROM live_feeds \
         WHERE edition_year = $1 ORDER BY id",
    )
    .bind(i64::from(cat.edition().edition.year))
    .fetch_all(cat.store().pool())
    .await?;
    let mut out = Vec::new();
    for (id, title, url, unit_id, holder, window_json) in rows {
        let window: FeedWindow = serde_json::from_str(&window_json).map_err(|e| {
            tracing::error!(feed = id, error = %e, "stored feed window does not parse");
            Error::Unavailable(format!("慢直播信号 {id} 的时段数据损坏"))
        })?;
        let unit = units.get(&unit_id).cloned().unwrap_or_default();
        out.push(LiveFeed {
            id,
            title,
            url,
            copyright_holder: holder.unwrap_or_else(|| unit.clone()),
            unit,
            unit_id,
            window,
        });
    }
    Ok(out)
}
