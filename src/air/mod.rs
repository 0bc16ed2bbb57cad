//! The on-air controller: plays the rundown from the database, day after day.
//!
//! Owns three tasks around one running [`Engine`]:
//! - the **cue loop** reads the days in view (the day on air, and the next one once the
//!   look-ahead reaches past midnight) and hands the engine every item of the next minutes
//!   ([`plan`]); it runs every couple of seconds and at once when an edit is saved
//!   ([`AirHandle::recue`]). The engine keeps what it was given, so a slow or unreachable
//!   database costs nothing on air for the length of the look-ahead; an unchanged plan is
//!   not re-sent, and a changed one is handed over with `replace`, which keeps pre-rolled
//!   sources and only retimes the item on air.
//! - the **event loop** turns engine events into as-run rows (in order; a failed write is
//!   retried, never dropped) and keeps the fallback state;
//! - the **status loop** samples the engine once a second for `/metrics` and the API.
//!
//! Does not own: the rundown rules or edits (`rundown`, `web::edit`), storage (`rundown_db`,
//! `asrun`), HTTP. Time: the channel clock ([`clock`]) turns programme instants into wall
//! instants, the engine's timeline turns those into frames.

pub mod alarms;
pub mod clock;
pub mod plan;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use playout::{Cue, Engine, Event, Status};
use serde::Serialize;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::asrun::AsRunLog;
use crate::asrun::recorder::{AsRunRecorder, Write};
use crate::metrics::Metrics;
use crate::rundown::{Day, FrameRate};
use crate::rundown_db::DbDayStore;
use clock::ChannelClock;
use plan::{DayInView, Planned};

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
}

impl AirSettings {
    /// The daemon's settings from the channel config.
    pub fn from_config(c: &crate::config::AirConfig) -> Self {
        Self {
            lookahead: c.lookahead,
            edit_lead: c.edit_lead,
            poll: Duration::from_secs(2),
            db_timeout: Duration::from_secs(5),
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
    /// As-run writes waiting for the database.
    pub asrun_pending: usize,
    /// Alarms active or not yet acknowledged.
    pub alarms_open: usize,
    /// Changes whenever the alarm board changes.
    pub alarms_version: u64,
}

#[derive(Default)]
struct Inner {
    alarms: alarms::Alarms,
    plan: Vec<Planned>,
    days: Vec<(NaiveDate, u32)>,
    engine: Option<Status>,
    rundown_error: Option<String>,
    asrun_pending: usize,
}

struct Shared {
    clock: ChannelClock,
    rate: FrameRate,
    settings: AirSettings,
    timeline: playout::Timeline,
    notify: Notify,
    inner: RwLock<Inner>,
}

/// What the web side holds: the clock, the snapshot, and the "re-read now" bell.
#[derive(Clone)]
pub struct AirHandle {
    shared: Arc<Shared>,
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

impl AirHandle {
    /// The channel clock.
    pub fn clock(&self) -> ChannelClock {
        self.shared.clock
    }

    /// The earliest instant (on `day`'s frame grid) an edit made now can change: now plus
    /// the edit lead.
    pub fn earliest_edit(&self, day: &Day) -> DateTime<Utc> {
        let lead = chrono::Duration::from_std(self.shared.settings.edit_lead)
            .unwrap_or(chrono::Duration::seconds(1));
        on_grid_at_or_after(day, self.shared.clock.now() + lead)
    }

    /// Asks the cue loop to re-read the rundown now (after an edit was saved).
    pub fn recue(&self) {
        self.shared.notify.notify_one();
    }

    /// The controller's view now.
    pub fn snapshot(&self) -> AirSnapshot {
        let s = &self.shared;
        let now = s.clock.now();
        let inner = match s.inner.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now_frame = i64::try_from(s.timeline.frame_at(s.clock.wall_ns_of(now))).unwrap_or(0);
        let on_air = inner
            .engine
            .as_ref()
            .and_then(|e| e.on_air.as_ref())
            .map(|o| {
                let p = inner.plan.iter().find(|p| p.cue.id == o.id);
                OnAirView {
                    id: o.id.clone(),
                    title: o.title.clone(),
                    date: p.map(|p| p.date),
                    index: p.map(|p| p.index),
                    work_id: p.and_then(|p| p.info.work_id),
                    unit_id: p.and_then(|p| p.info.unit_id),
                    position_frames: o.position,
                    length_frames: o.length,
                    remaining_frames: o.length.map(|l| l.saturating_sub(o.position)),
                    fallback: o.fallback,
                }
            });
        let current_id = on_air.as_ref().map(|o| o.id.clone());
        let next = inner
            .plan
            .iter()
            .find(|p| p.start_frame > now_frame && Some(&p.cue.id) != current_id.as_ref())
            .and_then(|p| {
                Some(NextView {
                    id: p.cue.id.clone(),
                    title: p.cue.title.clone(),
                    start: DateTime::from_timestamp_millis(p.info.planned_start_ms?)?,
                    in_frames: u64::try_from(p.start_frame - now_frame).unwrap_or(0),
                })
            });
        AirSnapshot {
            now,
            rate: s.rate,
            on_air,
            next,
            days: inner.days.clone(),
            cued: inner.plan.len(),
            engine: inner.engine.clone(),
            rundown_error: inner.rundown_error.clone(),
            asrun_pending: inner.asrun_pending,
            alarms_open: inner.alarms.open(),
            alarms_version: inner.alarms.version(),
        }
    }

    /// The alarms, newest first.
    pub fn alarms(&self) -> Vec<alarms::Alarm> {
        match self.shared.inner.read() {
            Ok(g) => g.alarms.list(),
            Err(p) => p.into_inner().alarms.list(),
        }
    }

    /// Acknowledges an alarm; `None` when there is no such alarm.
    pub fn ack_alarm(&self, id: u64, by: &str) -> Option<alarms::Alarm> {
        let now = self.shared.clock.now();
        let mut out = None;
        self.update(|i| out = i.alarms.ack(id, by, now));
        out
    }

    fn update(&self, f: impl FnOnce(&mut Inner)) {
        match self.shared.inner.write() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}

/// The running controller: its handle and its tasks.
pub struct Air {
    handle: AirHandle,
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    cue_task: JoinHandle<()>,
    status_task: JoinHandle<()>,
    event_task: JoinHandle<()>,
}

/// What the controller needs.
pub struct AirParts {
    /// The engine, started.
    pub engine: Engine,
    /// Its events from the first.
    pub events: broadcast::Receiver<Event>,
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
}

impl Air {
    /// Starts the three loops. The first cue happens at once.
    pub fn start(parts: AirParts) -> Air {
        let engine = Arc::new(parts.engine);
        let shared = Arc::new(Shared {
            clock: parts.clock,
            rate: parts.rate,
            settings: parts.settings,
            timeline: engine.timeline(),
            notify: Notify::new(),
            inner: RwLock::new(Inner::default()),
        });
        let handle = AirHandle { shared };
        let (stop, stop_rx) = watch::channel(false);
        let recorder = Arc::new(Mutex::new(AsRunRecorder::new(engine.timeline().rate)));
        let cue_task = tokio::spawn(cue_loop(
            handle.clone(),
            engine.clone(),
            parts.days,
            recorder.clone(),
            stop_rx.clone(),
        ));
        let status_task = tokio::spawn(status_loop(
            handle.clone(),
            engine.clone(),
            parts.metrics.clone(),
            stop_rx,
        ));
        let event_task = tokio::spawn(event_loop(
            handle.clone(),
            parts.events,
            recorder,
            parts.asrun,
            parts.metrics,
        ));
        handle.recue();
        Air {
            handle,
            engine,
            stop,
            cue_task,
            status_task,
            event_task,
        }
    }

    /// The handle for the web side.
    pub fn handle(&self) -> AirHandle {
        self.handle.clone()
    }

    /// Stops the loops, then the engine (bounded), then lets the event loop write the last
    /// as-run rows (the item on air ends with reason `shutdown`).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.cue_task.await;
        let _ = self.status_task.await;
        match Arc::try_unwrap(self.engine) {
            Ok(engine) => engine.stop().await,
            Err(_) => tracing::error!("engine still shared at shutdown; not stopped in order"),
        }
        // The engine's last events (ItemEnded shutdown, Stopped) are in the channel; the
        // event loop ends when it is closed.
        if tokio::time::timeout(Duration::from_secs(10), self.event_task)
            .await
            .is_err()
        {
            tracing::error!("as-run writes did not finish within 10 s of the engine stopping");
        }
    }
}

/// Reads the days in view: the one containing `now` and every one the look-ahead reaches.
async fn days_in_view(
    days: &DbDayStore,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(u32, Day)>, String> {
    let tz = chrono_tz::Asia::Shanghai;
    let mut date = now.with_timezone(&tz).date_naive();
    let last = until.with_timezone(&tz).date_naive();
    let mut out = Vec::new();
    while date <= last {
        match days.load_async(date, None).await {
            Ok(Some((meta, day))) => out.push((meta.version, day)),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    Ok(out)
}

async fn cue_loop(
    air: AirHandle,
    engine: Arc<Engine>,
    days: DbDayStore,
    recorder: Arc<Mutex<AsRunRecorder>>,
    mut stop: watch::Receiver<bool>,
) {
    let s = air.shared.clone();
    let mut last_sent: Option<Vec<Cue>> = None;
    let mut missing_logged: Option<NaiveDate> = None;
    loop {
        tokio::select! {
            _ = s.notify.notified() => {}
            _ = tokio::time::sleep(s.settings.poll) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let now = s.clock.now();
        let lookahead = chrono::Duration::from_std(s.settings.lookahead)
            .unwrap_or(chrono::Duration::minutes(10));
        let read = tokio::time::timeout(
            s.settings.db_timeout,
            days_in_view(&days, now, now + lookahead),
        )
        .await
        .unwrap_or_else(|_| Err("数据库读取超时".into()));
        let loaded = match read {
            Ok(d) => d,
            Err(e) => {
                // The engine keeps what it has: up to the look-ahead is still on air.
                tracing::warn!(error = %e, "rundown not readable; the engine keeps its cues");
                air.update(|i| i.rundown_error = Some(e));
                continue;
            }
        };
        let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        if !loaded.iter().any(|(_, d)| d.date == today) && missing_logged != Some(today) {
            tracing::warn!(%today, "no rundown for the day on air: the slate is on air");
            missing_logged = Some(today);
        }
        let in_view: Vec<DayInView<'_>> = loaded
            .iter()
            .map(|(v, d)| DayInView {
                day: d,
                version: *v,
            })
            .collect();
        let now_frame = s.timeline.frame_at(s.clock.wall_ns_of(now));
        let horizon = now_frame + s.rate.frames_in_secs(lookahead.num_seconds());
        let origin = engine_origin(&s);
        let first = i64::try_from(s.timeline.first_frame).unwrap_or(0);
        let planned = plan::plan(
            &in_view,
            |t| first + s.rate.frames_between(origin, t),
            s.timeline.first_frame,
            now_frame,
            horizon,
        );
        let cues: Vec<Cue> = planned.iter().map(|p| p.cue.clone()).collect();
        let versions: Vec<(NaiveDate, u32)> = loaded.iter().map(|(v, d)| (d.date, *v)).collect();
        if last_sent.as_ref() != Some(&cues) {
            if let Ok(mut r) = recorder.lock() {
                for p in &planned {
                    r.cue(p.info.clone());
                }
            }
            match engine.replace(cues.clone()) {
                Ok(()) => {
                    tracing::info!(items = cues.len(), "engine cued");
                    last_sent = Some(cues);
                }
                Err(e) => tracing::error!(error = %e, "the engine refused the cues"),
            }
        }
        air.update(|i| {
            i.plan = planned;
            i.days = versions;
            i.rundown_error = None;
        });
    }
}

/// The programme instant of the engine's first frame.
fn engine_origin(s: &Shared) -> DateTime<Utc> {
    let ns = s.clock.programme_ns_of(s.timeline.origin_unix_ns);
    DateTime::from_timestamp_nanos(i64::try_from(ns).unwrap_or(i64::MAX))
}

async fn status_loop(
    air: AirHandle,
    engine: Arc<Engine>,
    metrics: Metrics,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Ok(Ok(st)) = tokio::time::timeout(Duration::from_secs(2), engine.status()).await {
            metrics.update_from_status(&st);
            air.update(|i| i.engine = Some(st));
        }
        let now = air.shared.clock.now();
        air.update(|i| i.alarms.tick(now));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// Moves an event's wall instants onto programme time (a rehearsal's offset).
fn to_programme_time(ev: Event, clock: ChannelClock) -> Event {
    match ev {
        Event::ItemStarted {
            id,
            frame,
            wall_ns,
            offset_frames,
        } => Event::ItemStarted {
            id,
            frame,
            wall_ns: clock.programme_ns_of(wall_ns),
            offset_frames,
        },
        Event::ItemEnded {
            id,
            frame,
            wall_ns,
            frames,
            reason,
        } => Event::ItemEnded {
            id,
            frame,
            wall_ns: clock.programme_ns_of(wall_ns),
            frames,
            reason,
        },
        other => other,
    }
}

async fn event_loop(
    air: AirHandle,
    mut events: broadcast::Receiver<Event>,
    recorder: Arc<Mutex<AsRunRecorder>>,
    asrun: AsRunLog,
    metrics: Metrics,
) {
    let clock = air.shared.clock;
    let timeout = air.shared.settings.db_timeout;
    let mut pending: VecDeque<Write> = VecDeque::new();
    let mut open = true;
    while open || !pending.is_empty() {
        if open {
            let next = if pending.is_empty() {
                Some(events.recv().await)
            } else {
                // Writes are waiting for the database: retry them at least once a second.
                tokio::time::timeout(Duration::from_secs(1), events.recv())
                    .await
                    .ok()
            };
            match next {
                Some(Ok(ev)) => {
                    let ev = to_programme_time(ev, clock);
                    let now = clock.now();
                    air.update(|i| {
                        let plan = &i.plan;
                        let view = |id: &str| {
                            plan.iter()
                                .find(|p| p.cue.id == id)
                                .map(|p| alarms::ItemView {
                                    title: p.cue.title.clone(),
                                    live: p.live,
                                })
                        };
                        i.alarms.on_event(&ev, view, now);
                    });
                    if matches!(ev, Event::Stopped) {
                        open = false;
                    }
                    if let Ok(mut r) = recorder.lock() {
                        pending.extend(r.on_event(&ev));
                    }
                }
                Some(Err(broadcast::error::RecvError::Lagged(n))) => {
                    tracing::error!(
                        missed = n,
                        "engine events missed: the as-run log may lack rows"
                    );
                }
                Some(Err(broadcast::error::RecvError::Closed)) => open = false,
                None => {}
            }
        }
        while let Some(w) = pending.front() {
            match tokio::time::timeout(timeout, asrun.apply(w)).await {
                Ok(Ok(())) => {
                    if matches!(w, Write::Start(_)) {
                        metrics.asrun_row_written();
                    }
                    pending.pop_front();
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, pending = pending.len(), "as-run write failed; will retry");
                    break;
                }
                Err(_) => {
                    tracing::warn!(
                        pending = pending.len(),
                        "as-run write timed out; will retry"
                    );
                    break;
                }
            }
        }
        let n = pending.len();
        air.update(|i| i.asrun_pending = n);
        if !open && n > 0 {
            // The engine has stopped; give the database a last few chances.
            tokio::time::sleep(Duration::from_millis(200)).await;
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
