//! 数据反馈 (audience feedback): relay channels, figures in from every source (REST API,
//! per-channel webhooks, uploads of platform exports, the dashboard's form, our own HLS
//! audience counted by session), stored as raw events with minute buckets, attributed
//! through the as-run log to programmes, works, units, categories and days, charted live
//! and exported as a feedback report.
//!
//! Owns the [`Feedback`] service that the web layer calls: ingesting (with the metrics of
//! what came in), loading what attribution needs, the live curve, the HLS sampler. Does not
//! own HTTP or roles (`web::feedback`, `web::watch`), the as-run log (`asrun`) or the
//! catalog. Pollers of platform stats URLs are workers of their own ([`poller`]).

pub mod attribution;
pub mod curve;
pub mod hls;
pub mod live;
pub mod model;
pub mod native;
pub mod poller;
pub mod repo;
pub mod report;
pub mod summary;
pub mod upload;
pub mod work;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many recent changes [`Feedback::touched_since`] remembers.
const TOUCHED_KEPT: usize = 4096;

use attribution::{AiringIn, Attribution, ChannelIn, Point, WorkIn};
use model::{Figure, Kind, Source};
use repo::{Channel, FeedbackStore, IngestReport};

use crate::asrun::{AsRunLog, AsRunQuery};
use crate::catalog::Catalog;
use crate::metrics::Metrics;
use crate::store::Result;

/// The platform name of our own public HLS stream.
pub const HLS_PLATFORM: &str = "kepu_hls";
/// The account name of our own public HLS stream.
pub const HLS_ACCOUNT: &str = "本站直播";

/// How the feedback service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackOptions {
    /// Serve the engine's HLS rendition publicly at `/live/` and `/watch` (when the
    /// daemon writes one).
    pub public_hls: bool,
    /// Viewer sessions of the public stream.
    pub sessions: hls::SessionOptions,
    /// How often the HLS viewer count is stored as a figure.
    pub sample_every: Duration,
    /// Pollers of stats URLs.
    pub pollers: Vec<poller::PollerConfig>,
    /// Whether this node runs the once-only jobs (the pollers) now: the lease of the
    /// production pair (`cluster::lease`); always for a single node.
    pub leader: crate::cluster::Leader,
    /// Fault drill only (`[air] fault_drills` with `KEPU_DRILL_JOB_HOLD_MS`): a once-only
    /// job waits this long between taking its lease epoch and writing, so a test can pause
    /// the node with a write in flight. Zero otherwise.
    pub drill_hold: Duration,
}

impl Default for FeedbackOptions {
    fn default() -> Self {
        Self {
            public_hls: true,
            sessions: hls::SessionOptions::default(),
            sample_every: Duration::from_secs(10),
            pollers: Vec::new(),
            leader: crate::cluster::Leader::always(),
            drill_hold: Duration::ZERO,
        }
    }
}

/// The latest viewer sample per channel: (platform, instant, value).
type Latest = HashMap<i64, (String, i64, i64)>;

/// The 数据反馈 service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Feedback {
    /// The tables.
    pub store: FeedbackStore,
    catalog: Catalog,
    asrun: AsRunLog,
    metrics: Metrics,
    /// Viewer sessions of the public HLS stream.
    pub sessions: hls::ViewerSessions,
    latest: Arc<Mutex<Latest>>,
    options: FeedbackOptions,
    /// Bumped after every write that stored something (live pushes wait on it).
    changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// The earliest minute each recent change touched, by the change counter it produced
    /// (the last [`TOUCHED_KEPT`]), so the live curves re-read only those minutes.
    touched: Arc<Mutex<std::collections::VecDeque<(u64, i64)>>>,
    /// The pollers' statuses.
    pollers: poller::Statuses,
}

impl Feedback {
    /// The service over the catalog's store.
    pub fn new(
        catalog: Catalog,
        asrun: AsRunLog,
        metrics: Metrics,
        options: FeedbackOptions,
    ) -> Self {
        Self {
            store: FeedbackStore::new(catalog.store().clone()),
            catalog,
            asrun,
            metrics,
            sessions: hls::ViewerSessions::new(options.sessions),
            latest: Arc::new(Mutex::new(HashMap::new())),
            options,
            changes: Arc::new(tokio::sync::watch::channel(0).0),
            touched: Arc::new(Mutex::new(std::collections::VecDeque::new())),
            pollers: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The pollers' statuses (shared; each poller keeps its own entry current).
    pub fn poller_statuses(&self) -> poller::Statuses {
        self.pollers.clone()
    }

    /// Publishes whether a poller's last read worked.
    pub fn metrics_poller_up(&self, name: &str, up: bool) {
        self.metrics.set_feedback_poller_up(name, up);
    }

    /// A receiver that sees a new value after every write that stored something.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The change counter: it moves after every write that stored something.
    pub fn generation(&self) -> u64 {
        *self.changes.borrow()
    }

    /// The earliest minute (UTC ms) touched by the changes after counter `since`:
    /// `Some(i64::MAX)` when there was none, `None` when they are too many to know.
    pub fn touched_since(&self, since: u64) -> Option<i64> {
        let touched = self
            .touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation() == since {
            return Some(i64::MAX);
        }
        // Every change after `since` must still be listed.
        if touched.front().is_none_or(|(g, _)| *g > since + 1) {
            return None;
        }
        Some(
            touched
                .iter()
                .filter(|(g, _)| *g > since)
                .map(|(_, m)| *m)
                .min()
                .unwrap_or(i64::MAX),
        )
    }

    /// Counts a write that stored figures, the earliest at `earliest_ms`.
    fn changed(&self, earliest_ms: i64) {
        let mut touched = self
            .touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut now = 0;
        self.changes.send_modify(|v| {
            *v += 1;
            now = *v;
        });
        touched.push_back((now, repo::minute_of(earliest_ms)));
        while touched.len() > TOUCHED_KEPT {
            touched.pop_front();
        }
    }

    /// The as-run log it attributes through.
    pub fn asrun(&self) -> &AsRunLog {
        &self.asrun
    }

    /// The options it runs with.
    pub fn options(&self) -> &FeedbackOptions {
        &self.options
    }

    /// Stores validated figures of known channels (`channels` by id, for the metrics'
    /// platform labels) in one transaction, and counts them in the metrics.
    pub async fn ingest(
        &self,
        figures: &[Figure],
        channels: &HashMap<i64, Channel>,
    ) -> Result<IngestReport> {
        self.ingest_fenced(figures, channels, &crate::cluster::fence::Fence::none())
            .await
    }

    /// [`Feedback::ingest`] for a once-only job (the pollers): refused (`Conflict`, nothing
    /// stored) when `fence`'s lease epoch is no longer the current one
    /// ([`crate::cluster::fence`]); the rows keep the epoch.
    pub async fn ingest_fenced(
        &self,
        figures: &[Figure],
        channels: &HashMap<i64, Channel>,
        fence: &crate::cluster::fence::Fence,
    ) -> Result<IngestReport> {
        let report = self.store.ingest_fenced(figures, fence).await?;
        let stored = report.inserted + report.corrected;
        if stored > 0 {
            self.changed(figures.iter().map(|f| f.at_ms).min().unwrap_or(0));
        }
        if stored > 0
            && let Some(source) = figures.first().map(|f| f.source)
        {
            self.metrics
                .feedback_events_ingested(source.as_str(), stored as u64);
        }
        let now = crate::store::now_ms();
        let mut latest = self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for f in figures.iter().filter(|f| f.kind == Kind::Viewers) {
            if let Some(c) = channels.get(&f.channel_id) {
                let newer = latest
                    .get(&f.channel_id)
                    .is_none_or(|(_, at, _)| *at <= f.at_ms);
                if newer {
                    latest.insert(f.channel_id, (c.platform.clone(), f.at_ms, f.value));
                }
            }
        }
        let mut per_platform: BTreeMap<&str, i64> = BTreeMap::new();
        for (platform, at, v) in latest.values() {
            let fresh = now - at < attribution::HOLD_MS;
            *per_platform.entry(platform.as_str()).or_default() += if fresh { *v } else { 0 };
        }
        for (p, v) in per_platform {
            self.metrics.set_feedback_viewers(p, v);
        }
        Ok(report)
    }

    /// Stores a platform's own messages of `channel` (deduplicated by message id, summed
    /// per kind and instant) and counts what was written in the metrics as `webhook`.
    pub async fn ingest_native(
        &self,
        channel: &Channel,
        events: &[native::NativeEvent],
    ) -> Result<repo::NativeReport> {
        let report = self.store.ingest_native(channel.id, events).await?;
        if report.figures > 0 {
            self.changed(events.iter().map(|e| e.at_ms).min().unwrap_or(0));
            self.metrics
                .feedback_events_ingested(Source::Webhook.as_str(), report.counted as u64);
        }
        Ok(report)
    }

    /// Attributes the figures of `[from_ms, to_ms)` through the as-run log. With `unit`,
    /// only that unit's airings and only its own channels' figures count (a partner's view:
    /// nothing of another unit goes in). `now_ms` (the programme clock) ends the airing on
    /// air.
    pub async fn attribute(
        &self,
        from_ms: i64,
        to_ms: i64,
        unit: Option<i64>,
        now_ms: i64,
    ) -> Result<(Attribution, Vec<Channel>)> {
        let rows = self
            .asrun
            .query(&AsRunQuery {
                unit,
                ..AsRunQuery::default()
            })
            .await?;
        let mut airings: Vec<AiringIn> = Vec::new();
        let mut days: HashMap<(String, i64), Option<crate::rundown::Day>> = HashMap::new();
        let day_store = crate::rundown_db::DbDayStore::new(self.catalog.store().clone());
        for a in rows {
            // An airing still on air counts up to now; one cut short by a crash (no last
            // frame) is left out: its end is unknown.
            let Some(end) = a
                .last_frame_ms
                .or_else(|| a.end_reason.is_none().then_some(now_ms.min(to_ms)))
            else {
                continue;
            };
            if end <= from_ms || a.first_frame_ms >= to_ms {
                continue;
            }
            // The section (版块) of the rundown item it aired from, in the version it aired.
            let section = match (&a.rundown_day, a.rundown_version, a.planned_start_ms) {
                (Some(d), Some(v), Some(planned)) => {
                    let key = (d.clone(), v);
                    if !days.contains_key(&key) {
                        let loaded = match (d.parse(), u32::try_from(v)) {
                            (Ok(date), Ok(v)) => day_store
                                .load_async(date, Some(v))
                                .await
                                .ok()
                                .flatten()
                                .map(|(_, day)| day),
                            _ => None,
                        };
                        days.insert(key.clone(), loaded);
                    }
                    days.get(&key).and_then(Option::as_ref).and_then(|day| {
                        day.items
                            .iter()
                            .find(|it| it.start.timestamp_millis() == planned)
                            .map(|it| it.section.clone())
                            .filter(|s| !s.is_empty())
                    })
                }
                _ => None,
            };
            airings.push(AiringIn {
                id: a.id,
                work_id: a.work_id,
                unit_id: a.unit_id,
                title: a.title,
                start_ms: a.first_frame_ms,
                end_ms: end,
                section,
            });
        }
        let works: Vec<WorkIn> = self
            .catalog
            .works(None)
            .await?
            .into_iter()
            .map(|w| WorkIn {
                id: w.id,
                unit_id: w.unit_id,
                title: w.title,
                categories: w.category_names.iter().map(|s| (*s).to_string()).collect(),
            })
            .collect();
        let channels = self.store.channels(unit).await?;
        let chans: Vec<ChannelIn> = channels
            .iter()
            .map(|c| ChannelIn {
                id: c.id,
                unit_id: c.unit_id,
                platform: c.platform.clone(),
            })
            .collect();
        // Readings around the period too: a running total is interpolated across its ends.
        let day = 86_400_000;
        let ids: std::collections::BTreeSet<i64> = channels.iter().map(|c| c.id).collect();
        let points: Vec<Point> = self
            .store
            .figures(&[], from_ms - day, to_ms + day, i64::MAX / 2)
            .await?
            .into_iter()
            .filter(|f| ids.contains(&f.channel_id))
            .filter_map(|f| f.point())
            .collect();
        let a = tokio::task::spawn_blocking(move || {
            attribution::attribute(&airings, &works, &chans, &points, from_ms, to_ms)
        })
        .await
        .map_err(|e| crate::store::Error::Unavailable(format!("统计任务失败：{e}")))?;
        Ok((a, channels))
    }

    /// Stores the public stream's viewer count every [`FeedbackOptions::sample_every`]
    /// (instants on that grid, so a restart does not double a sample) until `stop` fires.
    /// `now_ms` is the programme clock (a rehearsal's figures line up with its as-run).
    pub async fn run_hls_sampler(
        self,
        now_ms: impl Fn() -> i64 + Send + 'static,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let every = self.options.sample_every.max(Duration::from_millis(100));
        let step = i64::try_from(every.as_millis()).unwrap_or(10_000);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut channel: Option<Channel> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let viewers = self.sessions.count(std::time::Instant::now());
            self.metrics
                .set_feedback_viewers(HLS_PLATFORM, i64::try_from(viewers).unwrap_or(i64::MAX));
            if channel.is_none() {
                match self.store.own_channel(HLS_PLATFORM, HLS_ACCOUNT).await {
                    Ok(c) => channel = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "HLS viewer channel unavailable; retrying");
                        continue;
                    }
                }
            }
            let Some(c) = &channel else { continue };
            let at = now_ms().div_euclid(step) * step;
            let fig = Figure {
                channel_id: c.id,
                at_ms: at,
                kind: Kind::Viewers,
                value: i64::try_from(viewers).unwrap_or(i64::MAX),
                cumulative: false,
                source: Source::Hls,
                as_of_ms: None,
            };
            let chans = HashMap::from([(c.id, c.clone())]);
            let figs = [fig];
            let write = tokio::time::timeout(Duration::from_secs(5), self.ingest(&figs, &chans));
            match write.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "HLS viewer sample not stored"),
                Err(_) => tracing::warn!("HLS viewer sample not stored: database timeout (5 s)"),
            }
        }
    }
}
