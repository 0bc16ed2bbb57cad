//! The controller on a simulated clock: the same actor state and handlers that air
//! (`on_read`, `on_event`, `on_status`, `supervise`), driven in 200 ms slices of simulated
//! time against the simulated engine ([`playout::sim::SimEngine`]: the real switcher and
//! ticker with stand-in sources). A day of programme runs in seconds, with edits, midnight,
//! engine restarts and wall-clock steps, and its as-run log is the real one.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use playout::engine::{Playout, WallClock};
use playout::sim::{SimClock, SimEngine, SimMedia};
use playout::{EngineError, OutputProfile, Rate};
use tokio::sync::{Notify, mpsc, watch};

use super::{Controller, days_in_view};
use crate::air::clock::ChannelClock;
use crate::air::{AirParts, AirSettings, Published};
use crate::asrun::AsRunLog;
use crate::metrics::Metrics;
use crate::rundown::FrameRate;
use crate::rundown_db::DbDayStore;

/// Simulated time per step of the driver by default (the supervisor's pace on air).
const SLICE_NS: u64 = 200_000_000;
/// How often the engine's status is sampled (as on air).
const STATUS_NS: u64 = 1_000_000_000;

/// A controller, its simulated engine and clock.
pub(crate) struct Simulation {
    ctl: Controller,
    clock: Arc<SimClock>,
    engine: Arc<Mutex<Option<Arc<SimEngine>>>>,
    days: DbDayStore,
    next_read_ns: u64,
    next_status_ns: u64,
    want_read: bool,
    slice_ns: u64,
    status_ns: u64,
}

impl Simulation {
    /// A controller over `days` and `asrun` whose programme clock starts at `start` (UTC);
    /// `media` tells the stand-in sources what exists and how long it is.
    pub(crate) fn start(
        days: DbDayStore,
        asrun: AsRunLog,
        rate: FrameRate,
        start: DateTime<Utc>,
        media: SimMedia,
        settings: AirSettings,
    ) -> Result<Self, EngineError> {
        Self::start_in(days, asrun, rate, start, media, settings, None)
    }

    /// [`Simulation::start`] with a node's state directory (the rundown cache read at start
    /// and kept there, as on air).
    pub(crate) fn start_in(
        days: DbDayStore,
        asrun: AsRunLog,
        rate: FrameRate,
        start: DateTime<Utc>,
        media: SimMedia,
        settings: AirSettings,
        state_dir: Option<std::path::PathBuf>,
    ) -> Result<Self, EngineError> {
        let start_ns = u64::try_from(start.timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0);
        let clock = SimClock::at(start_ns);
        let profile = OutputProfile {
            width: 16,
            height: 16,
            rate: Rate::new(rate.num, rate.den).ok_or(EngineError::Profile(
                playout::format::ProfileError::Rate(Rate {
                    num: rate.num,
                    den: rate.den,
                }),
            ))?,
            sample_rate: 8_000,
            channels: 1,
            ..OutputProfile::small()
        };
        let slot: Arc<Mutex<Option<Arc<SimEngine>>>> = Arc::new(Mutex::new(None));
        let (c, s) = (clock.clone(), slot.clone());
        let factory = move || {
            let (e, events) = SimEngine::start(profile.clone(), c.clone(), media.clone())?;
            if let Ok(mut g) = s.lock() {
                *g = Some(e.clone());
            }
            Ok((e as Arc<dyn Playout>, events))
        };
        let (engine, events) = factory()?;
        let mono = clock.clone();
        let parts = AirParts {
            engine: Box::new(factory),
            days: days.clone(),
            asrun,
            metrics: Metrics::new().map_err(|e| EngineError::Start {
                what: "metrics",
                reason: e.to_string(),
            })?,
            rate,
            clock: ChannelClock::on(clock.clone() as Arc<dyn WallClock>, 0),
            settings,
            monotonic: Arc::new(move || mono.mono_ns()),
            journal: crate::asrun::journal::Journal::in_memory(Default::default()),
            state_dir,
            recordings: None,
        };
        let published = Published::new(engine.as_ref());
        let (state_tx, _state) = watch::channel(Arc::new(published.clone()));
        let (_requests, requests_rx) = mpsc::channel(1);
        let (_stop, stop_rx) = watch::channel(false);
        let mut ctl = Controller::new(
            parts,
            engine,
            events,
            published,
            state_tx,
            Arc::new(Notify::new()),
            requests_rx,
            stop_rx,
        );
        ctl.detector = crate::air::supervise::StallDetector::new(clock.mono_ns());
        Ok(Self {
            ctl,
            clock,
            engine: slot,
            days,
            next_read_ns: 0,
            next_status_ns: 0,
            want_read: true,
            slice_ns: SLICE_NS,
            status_ns: STATUS_NS,
        })
    }

    /// Steps of `ns` of simulated time (default 200 ms, the supervisor's pace on air; a
    /// rehearsal without faults can take longer steps).
    pub(crate) fn with_slice(mut self, ns: u64) -> Self {
        self.slice_ns = ns.max(1_000_000);
        self
    }

    /// Samples the engine's status every `ns` of simulated time (default 1 s, as on air).
    pub(crate) fn with_status_every(mut self, ns: u64) -> Self {
        self.status_ns = ns.max(1_000_000);
        self
    }

    /// Programme time now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.ctl.clock.now()
    }

    /// The rundown changed: read it at the next slice (what an edit's re-cue does).
    #[cfg(test)]
    pub(crate) fn recue(&mut self) {
        self.want_read = true;
    }

    /// Steps the wall clock (NTP) by `ns`.
    #[cfg(test)]
    pub(crate) fn step_wall(&self, ns: i64) {
        self.clock.step_wall(ns);
    }

    /// Injects a fault into the engine on air.
    #[cfg(test)]
    pub(crate) fn fault(&self, fault: playout::Fault) {
        if let Some(e) = &self.ctl.engine {
            let _ = e.inject_fault(fault);
        }
    }

    /// Every cue the current engine was handed (the last version of each id), with its
    /// start as a programme instant.
    pub(crate) fn cues_seen(&self) -> Vec<(playout::Cue, Option<DateTime<Utc>>)> {
        let Some(e) = self.engine.lock().ok().and_then(|g| g.clone()) else {
            return Vec::new();
        };
        let tl = e.timeline();
        e.cues_seen()
            .into_iter()
            .map(|c| {
                let at = c.start.map(|f| {
                    DateTime::from_timestamp_nanos(
                        i64::try_from(self.ctl.clock.programme_ns_of(tl.unix_ns_of(f)))
                            .unwrap_or(i64::MAX),
                    )
                });
                (c, at)
            })
            .collect()
    }

    /// Engine restarts so far.
    #[cfg(test)]
    pub(crate) fn restarts(&self) -> u64 {
        self.ctl.state.engine_restarts
    }

    /// The alarm board.
    #[cfg(test)]
    pub(crate) fn alarms(&self) -> Vec<crate::air::alarms::Alarm> {
        self.ctl.state.alarms.list()
    }

    /// Runs until the programme clock reads `until`.
    pub(crate) async fn run_until(&mut self, until: DateTime<Utc>) {
        while self.now() < until {
            let mono = self.clock.mono_ns() + self.slice_ns;
            self.clock.set_mono(mono);
            let engine = self.engine.lock().ok().and_then(|g| g.clone());
            if let Some(e) = engine {
                e.advance();
            }
            while let Some(ev) = self.ctl.events.try_recv() {
                self.ctl.on_event(ev);
            }
            if self.want_read || mono >= self.next_read_ns {
                self.want_read = false;
                self.next_read_ns =
                    mono + u64::try_from(self.ctl.settings.poll.as_nanos()).unwrap_or(u64::MAX);
                let now = self.now();
                let horizon = now
                    + chrono::Duration::from_std(self.ctl.settings.lookahead)
                        .unwrap_or(chrono::Duration::minutes(10));
                let loudness = self.ctl.settings.loudness.is_some();
                let read = days_in_view(&self.days, now, horizon, loudness).await;
                self.ctl.on_read(read);
            }
            if mono >= self.next_status_ns {
                self.next_status_ns = mono + self.status_ns;
                if let Some(e) = self.ctl.engine.clone()
                    && let Ok(st) = e.status().await
                {
                    self.ctl.on_status(st);
                }
            }
            if self.ctl.supervise().await {
                self.want_read = true;
            }
        }
    }

    /// Stops the engine in order and waits for the as-run writer.
    pub(crate) async fn finish(self) {
        self.ctl.shutdown().await;
    }
}

#[cfg(test)]
mod tests;
