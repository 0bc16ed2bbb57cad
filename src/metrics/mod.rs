//! Prometheus metrics of the daemon, in one registry owned by [`Metrics`] (no global
//! registry: tests and several daemons in one process stay apart).
//!
//! Owns the metric names and how an engine [`playout::Status`] maps onto them. Does not own
//! the scrape route (`web`) or the polling of the engine (the daemon calls
//! [`Metrics::update_from_status`]). Destination labels are the destinations' config names,
//! never URLs or stream keys.

use playout::{DestinationState, Status};
use prometheus::{
    Encoder, Gauge, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The daemon's metrics. Cheap to clone (handles share the registry).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    node_leader: IntGaugeVec,
    on_air_position_frames: IntGauge,
    on_air_item: IntGaugeVec,
    fallback_active: IntGauge,
    destination_up: IntGaugeVec,
    destination_bitrate_bps: IntGaugeVec,
    destination_reconnects_total: IntCounterVec,
    destination_failures_total: IntCounterVec,
    frames_dropped_total: IntCounter,
    frames_repeated_total: IntCounter,
    max_lateness_seconds: Gauge,
    asrun_rows_total: IntCounter,
    live_source_up: IntGaugeVec,
    live_source_bitrate_bps: IntGaugeVec,
    live_source_last_frame_age_ms: IntGaugeVec,
    live_source_reconnects: IntGaugeVec,
    engine: EngineSeries,
    feedback_viewers: IntGaugeVec,
    feedback_events_total: IntCounterVec,
    feedback_poller_up: IntGaugeVec,
}

/// The engine's supervision series.
#[derive(Clone)]
struct EngineSeries {
    restarts_total: IntCounter,
    stalled: IntGauge,
    packets_lost_total: IntCounter,
    events_backlog: IntGauge,
    asrun_pending: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Metrics could not be registered (a programming error: a duplicate name).
#[derive(Debug, thiserror::Error)]
#[error("指标注册失败：{0}")]
pub struct MetricsError(#[from] prometheus::Error);

fn reg<T: prometheus::core::Collector + Clone + 'static>(
    r: &Registry,
    c: T,
) -> Result<T, MetricsError> {
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

/// Raises a counter to `total` (counters only go up; a lower total after an engine
/// restart leaves it where it is).
fn raise_to(c: &IntCounter, total: u64) {
    let now = c.get();
    if total > now {
        c.inc_by(total - now);
    }
}

impl Metrics {
    /// A fresh registry with every series registered.
    pub fn new() -> Result<Self, MetricsError> {
        let r = Registry::new();
        Ok(Self {
            on_air_position_frames: reg(
                &r,
                IntGauge::new(
                    "kepu_on_air_position_frames",
                    "Frames played so far of the item on air (0 when none)",
                )?,
            )?,
            fallback_active: reg(
                &r,
                IntGauge::new(
                    "kepu_fallback_active",
                    "1 while the slate or a held frame is on air instead of the item",
                )?,
            )?,
            on_air_item: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_on_air_item",
                        "1 for the item on air (engine item id and title)",
                    ),
                    &["id", "title"],
                )?,
            )?,
            destination_up: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new("kepu_destination_up", "1 while the destination is live"),
                    &["destination"],
                )?,
            )?,
            destination_bitrate_bps: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_destination_bitrate_bps",
                        "Bit rate sent to the destination over the last seconds",
                    ),
                    &["destination"],
                )?,
            )?,
            destination_reconnects_total: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "kepu_destination_reconnects_total",
                        "Reconnections of the destination",
                    ),
                    &["destination"],
                )?,
            )?,
            destination_failures_total: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "kepu_destination_failures_total",
                        "Sessions of the destination ended by a failure, by kind (url, connect, \
                         tls, refused, timeout, lost, protocol, local, restart)",
                    ),
                    &["destination", "kind"],
                )?,
            )?,
            frames_dropped_total: reg(
                &r,
                IntCounter::new(
                    "kepu_frames_dropped_total",
                    "Programme frames dropped because the output fell behind the clock",
                )?,
            )?,
            frames_repeated_total: reg(
                &r,
                IntCounter::new(
                    "kepu_frames_repeated_total",
                    "Programme frames repeated because a source had nothing in time",
                )?,
            )?,
            max_lateness_seconds: reg(
                &r,
                Gauge::new(
                    "kepu_max_lateness_seconds",
                    "Worst lateness of a frame at the encoder against the wall clock",
                )?,
            )?,
            live_source_up: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_live_source_up",
                        "1 while the live source delivers pictures (source: locator without scheme, secrets masked)",
                    ),
                    &["source", "kind"],
                )?,
            )?,
            live_source_bitrate_bps: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_live_source_bitrate_bps",
                        "Bit rate received from the live source over the last second",
                    ),
                    &["source", "kind"],
                )?,
            )?,
            live_source_last_frame_age_ms: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_live_source_last_frame_age_ms",
                        "Milliseconds since the live source's last picture (-1 before any)",
                    ),
                    &["source", "kind"],
                )?,
            )?,
            live_source_reconnects: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_live_source_reconnects",
                        "Connections the live source opened again after its first",
                    ),
                    &["source", "kind"],
                )?,
            )?,
            asrun_rows_total: reg(
                &r,
                IntCounter::new("kepu_asrun_rows_total", "Airings written to the as-run log")?,
            )?,
            engine: EngineSeries {
                restarts_total: reg(
                    &r,
                    IntCounter::new(
                        "kepu_engine_restarts_total",
                        "Times a stalled engine was restarted in-process",
                    )?,
                )?,
                stalled: reg(
                    &r,
                    IntGauge::new(
                        "kepu_engine_stalled",
                        "1 while the engine produces no frames (dead air), else 0",
                    )?,
                )?,
                packets_lost_total: reg(
                    &r,
                    IntCounter::new(
                        "kepu_encoder_packets_lost_total",
                        "Encoded packets the fan-out could not take (between encoder and destinations)",
                    )?,
                )?,
                events_backlog: reg(
                    &r,
                    IntGauge::new(
                        "kepu_engine_events_backlog",
                        "Engine events sent and not yet read by the on-air controller",
                    )?,
                )?,
                asrun_pending: reg(
                    &r,
                    IntGauge::new(
                        "kepu_asrun_pending",
                        "As-run writes waiting for the database",
                    )?,
                )?,
            },
            feedback_viewers: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_feedback_viewers",
                        "Concurrent viewers per platform (newest samples under 5 min old; kepu_hls: our own stream counted by session)",
                    ),
                    &["platform"],
                )?,
            )?,
            feedback_events_total: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "kepu_feedback_events_total",
                        "Feedback figures stored (new or corrected; replays not counted), by source",
                    ),
                    &["source"],
                )?,
            )?,
            feedback_poller_up: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_feedback_poller_up",
                        "1 while the poller's last read worked, 0 while it retries",
                    ),
                    &["poller"],
                )?,
            )?,
            node_leader: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kepu_node_leader",
                        "1 while this node of the pair holds the once-only jobs' lease, else 0",
                    ),
                    &["node", "role"],
                )?,
            )?,
            registry: r,
        })
    }

    /// Sets whether this node (`[node] name`, role) holds the jobs' lease.
    pub fn set_node_leader(&self, node: &str, role: &str, leader: bool) {
        self.node_leader
            .with_label_values(&[node, role])
            .set(i64::from(leader));
    }

    /// The engine was restarted after a stall.
    pub fn engine_restarted(&self) {
        self.engine.restarts_total.inc();
    }

    /// Whether the engine is stalled now.
    pub fn set_engine_stalled(&self, stalled: bool) {
        self.engine.stalled.set(i64::from(stalled));
    }

    /// Adds packets lost between the encoder and the fan-out.
    pub fn packets_lost(&self, n: u64) {
        self.engine.packets_lost_total.inc_by(n);
    }

    /// The controller's queues: engine events not yet read, as-run writes not yet stored.
    pub fn set_backlogs(&self, events: usize, asrun: usize) {
        self.engine
            .events_backlog
            .set(i64::try_from(events).unwrap_or(i64::MAX));
        self.engine
            .asrun_pending
            .set(i64::try_from(asrun).unwrap_or(i64::MAX));
    }

    /// Copies an engine status snapshot into the series.
    pub fn update_from_status(&self, s: &Status) {
        let (position, fallback) = s
            .on_air
            .as_ref()
            .map_or((0, false), |o| (o.position, o.fallback));
        self.on_air_position_frames
            .set(i64::try_from(position).unwrap_or(i64::MAX));
        self.fallback_active.set(i64::from(fallback));
        self.on_air_item.reset();
        if let Some(o) = &s.on_air {
            self.on_air_item
                .with_label_values(&[o.id.as_str(), o.title.as_str()])
                .set(1);
        }
        raise_to(&self.frames_dropped_total, s.frames_dropped);
        raise_to(&self.frames_repeated_total, s.frames_repeated);
        // Nanoseconds to seconds for display only; the engine keeps integers.
        #[allow(clippy::cast_precision_loss)]
        self.max_lateness_seconds
            .set(s.max_lateness_ns as f64 / 1e9);
        // Live sources come and go with the rundown: the series show the ones open now.
        self.live_source_up.reset();
        self.live_source_bitrate_bps.reset();
        self.live_source_last_frame_age_ms.reset();
        self.live_source_reconnects.reset();
        for l in &s.live {
            // Labelled by kind and the locator without its scheme (already masked by the
            // engine): never a URL, never a key.
            let source = l
                .url
                .split_once("://")
                .map_or(l.url.as_str(), |(_, rest)| rest);
            let labels = [source, l.kind.as_str()];
            self.live_source_up
                .with_label_values(&labels)
                .set(i64::from(l.state == playout::source::live::LiveState::Live));
            self.live_source_bitrate_bps
                .with_label_values(&labels)
                .set(i64::try_from(l.bitrate).unwrap_or(i64::MAX));
            self.live_source_last_frame_age_ms
                .with_label_values(&labels)
                .set(
                    l.last_frame_age_ms
                        .map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX)),
                );
            self.live_source_reconnects
                .with_label_values(&labels)
                .set(i64::try_from(l.reconnects).unwrap_or(i64::MAX));
        }
        for d in &s.destinations {
            let name = [d.name.as_str()];
            self.destination_up
                .with_label_values(&name)
                .set(i64::from(d.state == DestinationState::Live));
            self.destination_bitrate_bps
                .with_label_values(&name)
                .set(i64::try_from(d.bitrate).unwrap_or(i64::MAX));
            raise_to(
                &self.destination_reconnects_total.with_label_values(&name),
                d.reconnects,
            );
            for (kind, n) in &d.failures {
                raise_to(
                    &self
                        .destination_failures_total
                        .with_label_values(&[d.name.as_str(), kind.as_str()]),
                    *n,
                );
            }
        }
    }

    /// Counts airings written to the as-run log.
    pub fn asrun_row_written(&self) {
        self.asrun_rows_total.inc();
    }

    /// Sets the as-run count (e.g. from the table at start).
    pub fn set_asrun_rows(&self, total: u64) {
        raise_to(&self.asrun_rows_total, total);
    }

    /// Sets the concurrent viewers of a platform (数据反馈).
    pub fn set_feedback_viewers(&self, platform: &str, viewers: i64) {
        self.feedback_viewers
            .with_label_values(&[platform])
            .set(viewers);
    }

    /// Counts feedback figures stored from `source`.
    pub fn feedback_events_ingested(&self, source: &str, n: u64) {
        self.feedback_events_total
            .with_label_values(&[source])
            .inc_by(n);
    }

    /// Sets whether a feedback poller's last read worked.
    pub fn set_feedback_poller_up(&self, poller: &str, up: bool) {
        self.feedback_poller_up
            .with_label_values(&[poller])
            .set(i64::from(up));
    }

    /// The scrape body in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
