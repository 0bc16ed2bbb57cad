//! The on-air controller: plays the rundown from the database, day after day, as ONE actor
//! ([`controller`]) that alone owns the engine, the timeline it hands the engine, the
//! as-run recorder and the alarms.
//!
//! The actor cues every item of the next minutes ([`plan`]) — re-reading the days in view
//! every couple of seconds and at once when an edit is saved ([`AirHandle::recue`]); the
//! engine keeps what it was given, so a slow or unreachable database costs nothing on air
//! for the length of the look-ahead. It reads the engine's events from a stream that never
//! drops one (as-run evidence), turns them into as-run writes for the [`writer`] (ordered,
//! retried, apart so a slow database delays nothing) and into alarms. It supervises the
//! engine ([`supervise`]): an engine that stops producing frames raises an alarm within a
//! second and is restarted in-process, its item resumed at the right offset; systemd's
//! watchdog is fed only while frames flow. Its state is published on a `watch`
//! ([`AirHandle::changes`]) for the API and the dashboard's pushed updates.
//!
//! Does not own: the rundown rules or edits (`rundown`, `web::edit`), storage (`rundown_db`,
//! `asrun`), HTTP. Time: the channel clock ([`clock`]) turns programme instants into wall
//! instants, the engine's timeline turns those into frames.

pub mod alarms;
pub mod backup;
pub mod clock;
mod controller;
pub mod loudness;
pub mod plan;
pub mod precheck;
pub mod recorded;
pub mod rehearsal;
pub mod supervise;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use playout::engine::Playout;
use playout::{EngineError, EventStream, Fault, Status};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::asrun::AsRunLog;
use crate::metrics::Metrics;
use crate::rundown::{Day, FrameRate};
use crate::rundown_db::DbDayStore;
use clock::ChannelClock;
use plan::Planned;

/// How the controller runs.
#[derive(Clone, Copy, Debug)]
pub struct AirSettings {
    /// How far ahead the engine is cued.
    pub lookahead: Duration,
    /// Earliest an edit takes effect after it is made.
    pub edit_lead: Duration,
    /// How often the rundown is re-read when nothing asks for it.
    pub poll: Duration,
    /// Longest wait for one database read or write.
    pub db_timeout: Duration,
    /// Restart a stalled engine in-process (else only systemd's watchdog acts).
    pub restart_engine: bool,
    /// Fault drills allowed ([`AirHandle::inject_fault`]).
    pub fault_drills: bool,
    /// Bring each item to the edition's loudness target on air (`None`: items play at
    /// their own level, unlimited).
    pub loudness: Option<loudness::LoudnessPolicy>,
}

impl AirSettings {
    /// The daemon's settings from the channel config.
    pub fn from_config(c: &crate::config::AirConfig) -> Self {
        Self {
            lookahead: c.lookahead,
            edit_lead: c.edit_lead,
            poll: Duration::from_secs(2),
            db_timeout: Duration::from_secs(5),
            restart_engine: c.restart_engine,
            fault_drills: c.fault_drills,
            loudness: None,
        }
    }
}

/// The item on air, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OnAirView {
    /// The engine's item id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Rundown day and index of the item in it (`None` when the engine plays something the
    /// rundown no longer has, e.g. just after an edit).
    pub date: Option<NaiveDate>,
    /// Index in the day.
    pub index: Option<usize>,
    /// Catalog work.
    pub work_id: Option<i64>,
    /// Submitting unit.
    pub unit_id: Option<i64>,
    /// Frames played into the item (its in-point not counted).
    pub position_frames: u64,
    /// Length in frames.
    pub length_frames: Option<u64>,
    /// Frames left.
    pub remaining_frames: Option<u64>,
    /// The slate or a held frame is on air instead of the item.
    pub fallback: bool,
}

/// The next item, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NextView {
    /// The engine's item id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Planned start (programme time, UTC).
    pub start: DateTime<Utc>,
    /// Frames until it starts.
    pub in_frames: u64,
}

/// One cue as the engine received it: what `GET /api/v1/air/cues` shows and what a
/// rehearsal lists, so the two can be compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CueView {
    /// Cue id (`DATE+OFFSET:WHAT`).
    pub id: String,
    /// Title.
    pub title: String,
    /// What the engine opens (file path, the slate, or a URL with its key masked).
    pub source: String,
    /// Start, programme time (UTC).
    pub start: Option<DateTime<Utc>>,
    /// Length, frames.
    pub frames: Option<u64>,
    /// In-point, ns.
    pub in_point_ns: u64,
}

/// What the controller knows now.
#[derive(Debug, Clone, Serialize)]
pub struct AirSnapshot {
    /// Programme time now (UTC).
    pub now: DateTime<Utc>,
    /// Frames per second, as a fraction.
    pub rate: FrameRate,
    /// On air now.
    pub on_air: Option<OnAirView>,
    /// Next.
    pub next: Option<NextView>,
    /// Days in view and the version of each the engine was cued from.
    pub days: Vec<(NaiveDate, u32)>,
    /// Items handed to the engine.
    pub cued: usize,
    /// The engine's last status (destinations with keys masked, frames dropped/repeated).
    pub engine: Option<Status>,
    /// Why the rundown could not be read last time, if it could not.
    pub rundown_error: Option<String>,
    /// As-run writes waiting for the database (the journal's entries).
    pub asrun_pending: usize,
    /// As-run writes the journal dropped over its limit (the database away too long).
    pub asrun_dropped: u64,
    /// Alarms active or not yet acknowledged.
    pub alarms_open: usize,
    /// Changes whenever the alarm board changes.
    pub alarms_version: u64,
    /// Times the engine was restarted after a stall.
    pub engine_restarts: u64,
}

/// What the controller publishes after every change.
#[derive(Debug, Clone)]
struct Published {
    alarms: alarms::Alarms,
    plan: Arc<Vec<Planned>>,
    days: Vec<(NaiveDate, u32)>,
    engine: Option<Status>,
    rundown_error: Option<String>,
    asrun_pending: usize,
    asrun_dropped: u64,
    timeline: playout::Timeline,
    engine_restarts: u64,
    /// The engine's live sources (status and stills).
    live: playout::source::live::LiveRegistry,
}

impl Published {
    /// The state before the first read: nothing planned, the engine's timeline and live
    /// sources.
    fn new(engine: &dyn playout::engine::Playout) -> Self {
        Published {
            alarms: alarms::Alarms::default(),
            plan: Arc::new(Vec::new()),
            days: Vec::new(),
            engine: None,
            rundown_error: None,
            asrun_pending: 0,
            asrun_dropped: 0,
            timeline: engine.timeline(),
            engine_restarts: 0,
            live: engine.live_sources(),
        }
    }
}

/// A request to the controller.
enum Request {
    Ack {
        id: u64,
        by: String,
        reply: oneshot::Sender<Option<alarms::Alarm>>,
    },
    Fault {
        fault: Fault,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// What the web side holds: the clock, the published state, the "re-read now" bell, and a
/// bounded line to the controller.
#[derive(Clone)]
pub struct AirHandle {
    clock: ChannelClock,
    rate: FrameRate,
    settings: AirSettings,
    notify: Arc<Notify>,
    state: watch::Receiver<Arc<Published>>,
    requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for AirHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AirHandle").finish_non_exhaustive()
    }
}

/// The earliest instant on `day`'s frame grid at or after `t`.
pub fn on_grid_at_or_after(day: &Day, t: DateTime<Utc>) -> DateTime<Utc> {
    if t <= day.start {
        return day.start;
    }
    let mut off = day.rate.frames_between(day.start, t).max(0) as u64;
    if day.rate.add(day.start, off) < t {
        off += 1;
    }
    day.rate.add(day.start, off)
}

/// Why a request to the controller failed.
#[derive(Debug, thiserror::Error)]
pub enum AirError {
    /// The controller has stopped (the daemon is shutting down).
    #[error("播出控制器已停止")]
    Stopped,
    /// Fault drills are not enabled in the config (`[air] fault_drills`).
    #[error("未启用故障演练（配置 [air] fault_drills = true）")]
    DrillsOff,
    /// The engine refused the request.
    #[error("{0}")]
    Engine(String),
}

impl AirHandle {
    /// The channel clock.
    pub fn clock(&self) -> ChannelClock {
        self.clock.clone()
    }

    /// The earliest instant (on `day`'s frame grid) an edit made now can change: now plus
    /// the edit lead.
    pub fn earliest_edit(&self, day: &Day) -> DateTime<Utc> {
        let lead = chrono::Duration::from_std(self.settings.edit_lead)
            .unwrap_or(chrono::Duration::seconds(1));
        on_grid_at_or_after(day, self.clock.now() + lead)
    }

    /// Asks the controller to re-read the rundown now (after an edit was saved).
    pub fn recue(&self) {
        self.notify.notify_one();
    }

    /// A receiver that wakes whenever the controller publishes a change (alarms, plan,
    /// engine status — the latter about once a second).
    pub fn changes(&self) -> AirChanges {
        AirChanges(self.state.clone())
    }

    /// The controller's view now.
    pub fn snapshot(&self) -> AirSnapshot {
        let p = self.state.borrow().clone();
        let now = self.clock.now();
        let now_frame = i64::try_from(p.timeline.frame_at(self.clock.wall_ns_of(now))).unwrap_or(0);
        let on_air = p.engine.as_ref().and_then(|e| e.on_air.as_ref()).map(|o| {
            let pl = p.plan.iter().find(|pl| pl.cue.id == o.id);
            OnAirView {
                id: o.id.clone(),
                title: o.title.clone(),
                date: pl.map(|pl| pl.date),
                index: pl.map(|pl| pl.index),
                work_id: pl.and_then(|pl| pl.info.work_id),
                unit_id: pl.and_then(|pl| pl.info.unit_id),
                position_frames: o.position,
                length_frames: o.length,
                remaining_frames: o.length.map(|l| l.saturating_sub(o.position)),
                fallback: o.fallback,
            }
        });
        let current_id = on_air.as_ref().map(|o| o.id.clone());
        let next = p
            .plan
            .iter()
            .find(|pl| pl.start_frame > now_frame && Some(&pl.cue.id) != current_id.as_ref())
            .and_then(|pl| {
                Some(NextView {
                    id: pl.cue.id.clone(),
                    title: pl.cue.title.clone(),
                    start: DateTime::from_timestamp_millis(pl.info.planned_start_ms?)?,
                    in_frames: u64::try_from(pl.start_frame - now_frame).unwrap_or(0),
                })
            });
        AirSnapshot {
            now,
            rate: self.rate,
            on_air,
            next,
            days: p.days.clone(),
            cued: p.plan.len(),
            engine: p.engine.clone(),
            rundown_error: p.rundown_error.clone(),
            asrun_pending: p.asrun_pending,
            asrun_dropped: p.asrun_dropped,
            alarms_open: p.alarms.open(),
            alarms_version: p.alarms.version(),
            engine_restarts: p.engine_restarts,
        }
    }

    /// The cues handed to the engine now (the look-ahead window), in start order.
    pub fn cues(&self) -> Vec<CueView> {
        let p = self.state.borrow().clone();
        p.plan
            .iter()
            .map(|pl| CueView {
                id: pl.cue.id.clone(),
                title: pl.cue.title.clone(),
                source: playout::output::mask::mask_url(&pl.cue.source),
                start: pl.cue.start.map(|f| {
                    DateTime::from_timestamp_nanos(
                        i64::try_from(self.clock.programme_ns_of(p.timeline.unix_ns_of(f)))
                            .unwrap_or(i64::MAX),
                    )
                }),
                frames: pl.cue.length,
                in_point_ns: pl.cue.in_point_ns,
            })
            .collect()
    }

    /// The still picture of the live source `source` (a rundown URL; secrets are matched
    /// masked) as a JPEG `width` pixels wide, with its age; `Ok(None)` when that source is not
    /// open now (outside its window and pre-roll) or has shown no picture yet. Encoding runs
    /// off the runtime, at most 5 s.
    pub async fn live_still(
        &self,
        source: &str,
        width: u32,
    ) -> Result<Option<(Vec<u8>, Duration)>, AirError> {
        let Some(url) = playout::source::live::status_url(source) else {
            return Ok(None);
        };
        let live = self.state.borrow().live.clone();
        tokio::task::spawn_blocking(move || live.still_jpeg(&url, width, Duration::from_secs(5)))
            .await
            .map_err(|e| AirError::Engine(e.to_string()))?
            .transpose()
            .map_err(|e| AirError::Engine(e.to_string()))
    }

    /// The alarms, newest first.
    pub fn alarms(&self) -> Vec<alarms::Alarm> {
        self.state.borrow().alarms.list()
    }

    /// Acknowledges an alarm; `Ok(None)` when there is no such alarm.
    pub async fn ack_alarm(&self, id: u64, by: &str) -> Result<Option<alarms::Alarm>, AirError> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(Request::Ack {
                id,
                by: by.to_string(),
                reply,
            })
            .await
            .map_err(|_| AirError::Stopped)?;
        rx.await.map_err(|_| AirError::Stopped)
    }

    /// Injects a fault into the engine on air (a drill, or a test of supervision); refused
    /// unless `[air] fault_drills` is on.
    pub async fn inject_fault(&self, fault: Fault) -> Result<(), AirError> {
        if !self.settings.fault_drills {
            return Err(AirError::DrillsOff);
        }
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(Request::Fault { fault, reply })
            .await
            .map_err(|_| AirError::Stopped)?;
        rx.await
            .map_err(|_| AirError::Stopped)?
            .map_err(AirError::Engine)
    }
}

/// Wakes its holder on every change the controller publishes.
#[derive(Debug)]
pub struct AirChanges(watch::Receiver<Arc<Published>>);

impl AirChanges {
    /// Waits for the next change; `Err` once the controller has stopped.
    pub async fn changed(&mut self) -> Result<(), AirError> {
        self.0.changed().await.map_err(|_| AirError::Stopped)
    }
}

/// Starts an engine (the first one, and each restart after a stall).
pub type EngineFactory =
    Box<dyn FnMut() -> Result<(Arc<dyn Playout>, EventStream), EngineError> + Send + 'static>;

/// The running controller: its handle and its task.
pub struct Air {
    handle: AirHandle,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// A monotonic clock in ns from any origin: the supervisor's sense of elapsed time.
pub type Monotonic = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The process's monotonic clock.
pub fn real_monotonic() -> Monotonic {
    let epoch = std::time::Instant::now();
    Arc::new(move || u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

/// What the controller needs.
pub struct AirParts {
    /// Starts the engine (now, and again after a stall).
    pub engine: EngineFactory,
    /// The rundown.
    pub days: DbDayStore,
    /// The as-run log.
    pub asrun: AsRunLog,
    /// Metrics to keep current.
    pub metrics: Metrics,
    /// The rundown's frame rate (must equal the engine's).
    pub rate: FrameRate,
    /// Programme clock.
    pub clock: ChannelClock,
    /// Settings.
    pub settings: AirSettings,
    /// Elapsed time for supervision ([`real_monotonic`] on air; simulated in rehearsals).
    pub monotonic: Monotonic,
    /// The queue of as-run writes ([`crate::asrun::journal`]): on the daemon a file in the
    /// node's state directory, replayed first; in memory in rehearsals.
    pub journal: crate::asrun::journal::Journal,
    /// The node's state directory: the days last read are kept there
    /// ([`RUNDOWN_CACHE`]) so a node restarted while the database is away plays them.
    /// `None`: nothing kept (rehearsals).
    pub state_dir: Option<std::path::PathBuf>,
    /// Live windows whose recording finished (`[recording]`): each is named in the as-run
    /// rows of the airings it recorded. `None`: nothing recorded.
    pub recordings: Option<mpsc::Receiver<crate::recording::Finished>>,
}

/// The file in the state directory holding the days last read (JSON; written atomically).
pub const RUNDOWN_CACHE: &str = "rundown-cache.json";

impl Air {
    /// Starts the engine and the controller. The first cue happens at once.
    pub fn start(mut parts: AirParts) -> Result<Air, EngineError> {
        let (engine, events) = (parts.engine)()?;
        let (stop, stop_rx) = watch::channel(false);
        let (requests, requests_rx) = mpsc::channel(64);
        let notify = Arc::new(Notify::new());
        let published = Published::new(engine.as_ref());
        let (state_tx, state) = watch::channel(Arc::new(published.clone()));
        let handle = AirHandle {
            clock: parts.clock.clone(),
            rate: parts.rate,
            settings: parts.settings,
            notify: notify.clone(),
            state,
            requests,
        };
        let task = tokio::spawn(controller::run(controller::Controller::new(
            parts,
            engine,
            events,
            published,
            state_tx,
            notify,
            requests_rx,
            stop_rx,
        )));
        handle.recue();
        Ok(Air { handle, stop, task })
    }

    /// The handle for the web side.
    pub fn handle(&self) -> AirHandle {
        self.handle.clone()
    }

    /// Stops the controller: the engine stops in order (bounded), its last events become
    /// the last as-run rows (the item on air ends with reason `shutdown`), and those are
    /// written (bounded).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .is_err()
        {
            tracing::error!("the on-air controller did not stop within 30 s");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_land_on_the_next_frame_boundary() {
        let day_start = DateTime::from_timestamp(1_788_192_000, 0).expect("instant");
        let day = Day {
            date: "2026-09-01".parse().expect("date"),
            edition: "2026".into(),
            time_zone: "Asia/Shanghai".into(),
            rate: FrameRate::default(),
            start: day_start,
            end: day_start + chrono::Duration::days(1),
            items: Vec::new(),
        };
        let t = day_start + chrono::Duration::milliseconds(1001);
        assert_eq!(
            on_grid_at_or_after(&day, t),
            day_start + chrono::Duration::milliseconds(1040)
        );
        let on = day_start + chrono::Duration::milliseconds(1040);
        assert_eq!(on_grid_at_or_after(&day, on), on);
        assert_eq!(
            on_grid_at_or_after(&day, day_start - chrono::Duration::seconds(5)),
            day_start
        );
    }
}
