//! The controller actor: one task that owns the engine, the timeline it hands it, the
//! as-run recorder and the alarms. Everything reaches it as a message — engine events (a
//! lossless stream), rundown reads (done in a side task so a slow database never blocks
//! it), the status sample, the supervisor's tick, the web's requests — and everything it
//! knows leaves it as a published [`Published`] state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use playout::engine::Playout;
use playout::{Cue, Event, EventStream, Status};
use tokio::sync::{Notify, mpsc, watch};

use super::alarms::{self, AlarmKind};
use super::plan::{self, DayInView};
use super::supervise::{StallDetector, Verdict, Watchdog};
use super::writer::AsRunWriter;
use super::{AirParts, AirSettings, EngineFactory, Published, Request};
use crate::asrun::recorder::AsRunRecorder;
use crate::metrics::Metrics;
use crate::rundown::{Day, FrameRate};
use crate::rundown_db::DbDayStore;

use super::clock::ChannelClock;

pub(crate) mod simulate;

/// How often the supervisor reads the engine's vital signs.
const HEALTH_EVERY: Duration = Duration::from_millis(200);
/// How often the engine's status is sampled for the API and metrics.
const STATUS_EVERY: Duration = Duration::from_secs(1);
/// Engine events waiting beyond this many raise an alarm (the reader is stuck).
const EVENTS_BACKLOG_ALARM: usize = 1000;

/// Days read for one cue pass: `(version, day)` and the catalog's loudness measure of the
/// sources they play, or why they could not be read.
/// The days in view, the loudness measured of their sources (and of the feeds' backups), and
/// each feed's backup file by feed id.
type Read = Result<(Vec<(u32, Day)>, HashMap<String, f64>, HashMap<i64, String>), String>;

/// The actor's state.
pub(super) struct Controller {
    clock: ChannelClock,
    rate: FrameRate,
    settings: AirSettings,
    factory: EngineFactory,
    engine: Option<Arc<dyn Playout>>,
    events: EventStream,
    days: DbDayStore,
    recorder: AsRunRecorder,
    writer: AsRunWriter,
    writer_task: tokio::task::JoinHandle<()>,
    metrics: Metrics,
    state: Published,
    publish: watch::Sender<Arc<Published>>,
    notify: Arc<Notify>,
    requests: mpsc::Receiver<Request>,
    stop: watch::Receiver<bool>,
    last_sent: Option<Vec<Cue>>,
    missing_logged: Option<NaiveDate>,
    detector: StallDetector,
    watchdog: Option<Watchdog>,
    stalled: Option<String>,
    monotonic: super::Monotonic,
    packets_lost_seen: u64,
    /// The days last read (the rest of today and tomorrow): planned from while the database
    /// is away, so the programme goes on past the engine's look-ahead.
    loaded: Vec<(u32, Day)>,
    /// The catalog's loudness measure of the sources in `loaded` (LUFS by source).
    measured: HashMap<String, f64>,
    /// Where `loaded` and `measured` are kept for the next process (the state directory).
    cache: Option<std::path::PathBuf>,
    /// Each live feed's backup clip (the file), by feed id.
    backups: HashMap<i64, String>,
    /// Live windows whose recording finished (`None`: nothing recorded).
    recordings: Option<mpsc::Receiver<crate::recording::Finished>>,
    /// Recent airings, for naming the recordings in their as-run rows.
    recent: super::recorded::RecentAirings,
}

/// What the rundown cache file holds: everything the air plan reads from the database, so a
/// node started while the database is away airs what it would with it.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Cached {
    /// The days in view, with their versions.
    days: Vec<(u32, Day)>,
    /// The catalog's loudness measure of their sources (and of the feeds' backups), LUFS.
    measured: HashMap<String, f64>,
    /// Each live feed's backup clip (the file), by feed id. Absent in caches written before
    /// backups were kept: read as none (the slate), until the database answers.
    #[serde(default)]
    backups: HashMap<i64, String>,
}

/// The days a previous process read (empty when there is no cache or it is unreadable).
fn read_cache(path: &std::path::Path) -> Cached {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "rundown cache not readable");
            }
            return Default::default();
        }
    };
    match serde_json::from_slice::<Cached>(&text) {
        Ok(c) => {
            tracing::info!(path = %path.display(), days = c.days.len(), backups = c.backups.len(), "rundown cache read: planning from it until the database answers");
            c
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "rundown cache unreadable: ignored");
            Default::default()
        }
    }
}

/// Keeps what was read for the next process: a temporary file, fsync, rename.
fn write_cache(path: &std::path::Path, cached: &Cached) -> std::io::Result<()> {
    use std::io::Write as _;
    let json = serde_json::to_vec(cached).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&json)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

impl Controller {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        parts: AirParts,
        engine: Arc<dyn Playout>,
        events: EventStream,
        state: Published,
        publish: watch::Sender<Arc<Published>>,
        notify: Arc<Notify>,
        requests: mpsc::Receiver<Request>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let (writer, writer_task) = AsRunWriter::spawn(
            parts.asrun,
            parts.journal,
            parts.metrics.clone(),
            parts.settings.db_timeout,
        );
        let cache = parts.state_dir.map(|d| d.join(super::RUNDOWN_CACHE));
        let Cached {
            days: loaded,
            measured,
            backups,
        } = cache.as_deref().map(read_cache).unwrap_or_default();
        let recorder = AsRunRecorder::new(engine.timeline().rate);
        Self {
            clock: parts.clock,
            rate: parts.rate,
            settings: parts.settings,
            factory: parts.engine,
            engine: Some(engine),
            events,
            days: parts.days,
            recorder,
            writer,
            writer_task,
            metrics: parts.metrics,
            state,
            publish,
            notify,
            requests,
            stop,
            last_sent: None,
            missing_logged: None,
            detector: StallDetector::new(0),
            watchdog: Watchdog::from_env(),
            stalled: None,
            monotonic: parts.monotonic.clone(),
            packets_lost_seen: 0,
            loaded,
            measured,
            cache,
            backups,
            recordings: parts.recordings,
            recent: super::recorded::RecentAirings::default(),
        }
    }

    fn mono_ns(&self) -> u64 {
        (self.monotonic)()
    }

    fn publish(&self) {
        let _ = self.publish.send(Arc::new(self.state.clone()));
    }
}

/// Runs the actor until told to stop; then stops the engine in order and lets the writer
/// store the last rows.
pub(super) async fn run(mut c: Controller) {
    let (read_tx, mut read_rx) = mpsc::channel::<Read>(2);
    let (status_tx, mut status_rx) = mpsc::channel::<Status>(2);
    let mut poll = tokio::time::interval(c.settings.poll);
    let mut health = tokio::time::interval(HEALTH_EVERY);
    let mut status = tokio::time::interval(STATUS_EVERY);
    for t in [&mut poll, &mut health, &mut status] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    let mut reading = false;
    let mut want_read = true;
    c.detector = StallDetector::new(c.mono_ns());
    if !c.loaded.is_empty() {
        // The days a previous process kept: on air at once, before the first read answers
        // (it may wait out its timeout with the database away).
        let loaded = std::mem::take(&mut c.loaded);
        c.plan_from(&loaded);
        c.loaded = loaded;
        c.publish();
    }
    loop {
        if want_read && !reading {
            reading = true;
            want_read = false;
            let days = c.days.clone();
            let now = c.clock.now();
            // Today and tomorrow (and whatever the look-ahead reaches): kept once read, so a
            // database away for hours costs nothing on air.
            let until = (now
                + chrono::Duration::from_std(c.settings.lookahead)
                    .unwrap_or(chrono::Duration::minutes(10)))
            .max(now + chrono::Duration::days(1));
            let timeout = c.settings.db_timeout;
            let loudness = c.settings.loudness.is_some();
            let tx = read_tx.clone();
            tokio::spawn(async move {
                let r = tokio::time::timeout(timeout, days_in_view(&days, now, until, loudness))
                    .await
                    .unwrap_or_else(|_| Err("数据库读取超时".into()));
                let _ = tx.send(r).await;
            });
        }
        tokio::select! {
            _ = c.stop.changed() => {
                if *c.stop.borrow() {
                    break;
                }
            }
            Some(ev) = c.events.recv() => c.on_event(ev),
            Some(req) = c.requests.recv() => c.on_request(req),
            _ = c.notify.notified() => want_read = true,
            _ = poll.tick() => want_read = true,
            Some(r) = read_rx.recv() => {
                reading = false;
                c.on_read(r);
            }
            Some(st) = status_rx.recv() => c.on_status(st),
            Some(f) = next_recording(&mut c.recordings) => c.on_recording(&f),
            _ = status.tick() => {
                if let Some(engine) = c.engine.clone() {
                    let tx = status_tx.clone();
                    tokio::spawn(async move {
                        if let Ok(Ok(st)) =
                            tokio::time::timeout(Duration::from_secs(2), engine.status()).await
                        {
                            let _ = tx.try_send(st);
                        }
                    });
                }
            }
            _ = health.tick() => {
                if c.supervise().await {
                    want_read = true;
                }
            }
        }
    }
    c.shutdown().await;
}

impl Controller {
    fn on_status(&mut self, st: Status) {
        self.metrics.update_from_status(&st);
        let now = self.clock.now();
        if let Some(engine) = &self.engine {
            let tl = engine.timeline();
            let now_frame = i64::try_from(tl.frame_at(self.clock.wall_ns_of(now))).unwrap_or(0);
            let pre = super::precheck::check(&self.state.plan, &st.live, now_frame, self.rate);
            for s in pre.silent {
                let secs =
                    s.starts_in_frames / i64::from(self.rate.num.max(1)) * i64::from(self.rate.den);
                self.state.alarms.raise(
                    AlarmKind::LiveNotDelivering,
                    &s.id,
                    format!(
                        "直播「{}」约 {secs} 秒后开播，信号源尚未送达画面（{}）",
                        s.title, s.state
                    ),
                    now,
                );
            }
            for id in pre.delivering {
                self.state
                    .alarms
                    .clear(&[AlarmKind::LiveNotDelivering], Some(&id), now);
            }
        }
        // A live window's recording that stopped (the air goes on): the operator must
        // know the 回放 and the evidence are missing from here on.
        // It lasts as long as the window (the source is open).
        let mut failing = Vec::new();
        for l in &st.live {
            if let Some(r) = &l.recording
                && let Some(why) = &r.error
            {
                self.state.alarms.raise(
                    AlarmKind::RecordingFailed,
                    &r.dir,
                    format!("直播「{}」的录像已中断（播出不受影响）：{why}", l.url),
                    now,
                );
                failing.push(r.dir.clone());
            }
        }
        for a in self.state.alarms.list() {
            if a.kind == AlarmKind::RecordingFailed
                && a.cleared_at.is_none()
                && !failing.contains(&a.subject)
            {
                self.state
                    .alarms
                    .clear(&[AlarmKind::RecordingFailed], Some(&a.subject), now);
            }
        }
        self.state.engine = Some(st);
        self.state.alarms.tick(now);
        self.publish();
    }

    fn on_event(&mut self, ev: Event) {
        let ev = to_programme_time(ev, &self.clock);
        let now = self.clock.now();
        let plan = self.state.plan.clone();
        let view = |id: &str| {
            plan.iter()
                .find(|p| p.cue.id == id)
                .map(|p| alarms::ItemView {
                    title: p.cue.title.clone(),
                    live: p.live,
                })
        };
        let before = self.state.alarms.version();
        self.state.alarms.on_event(&ev, view, now);
        let writes = self.recorder.on_event(&ev);
        self.recent.note(&writes, |id| {
            plan.iter()
                .find(|p| p.cue.id == id)
                .map(|p| p.cue.source.clone())
        });
        self.writer.send(writes);
        if self.state.alarms.version() != before {
            self.publish();
        }
    }

    /// A live window's recording finished: its airings' rows name it.
    fn on_recording(&mut self, f: &crate::recording::Finished) {
        let writes = self.recent.recorded(f);
        if writes.is_empty() {
            tracing::warn!(window = %f.name, "a finished recording matches no airing: the as-run does not name it");
        }
        self.writer.send(writes);
    }

    fn on_request(&mut self, req: Request) {
        match req {
            Request::Ack { id, by, reply } => {
                let now = self.clock.now();
                let out = self.state.alarms.ack(id, &by, now);
                let _ = reply.send(out);
                self.publish();
            }
            Request::Fault { fault, reply } => {
                tracing::warn!(?fault, "fault drill: injecting into the engine on air");
                let r = match &self.engine {
                    Some(e) => e.inject_fault(fault).map_err(|e| e.to_string()),
                    None => Err("播出引擎未运行".into()),
                };
                let _ = reply.send(r);
            }
        }
    }

    /// Plans the cues from the days read and hands a changed plan to the engine.
    fn on_read(&mut self, read: Read) {
        let error = match read {
            Ok((days, measured, backups)) => {
                if let Some(path) = &self.cache
                    && (days != self.loaded || measured != self.measured || backups != self.backups)
                {
                    let cached = Cached {
                        days: days.clone(),
                        measured: measured.clone(),
                        backups: backups.clone(),
                    };
                    if let Err(e) = write_cache(path, &cached) {
                        tracing::warn!(path = %path.display(), error = %e, "rundown cache not written");
                    }
                }
                self.loaded = days;
                self.measured = measured;
                self.backups = backups;
                None
            }
            Err(e) => {
                // The engine keeps what it has, and the days read before go on being planned
                // from: the rest of today and tomorrow stay on air while the database is away.
                if self.state.rundown_error.is_none() {
                    tracing::warn!(error = %e, days = self.loaded.len(), "rundown not readable; playing from the days read before");
                }
                Some(e)
            }
        };
        if error.is_some() && self.loaded.is_empty() {
            self.state.rundown_error = error;
            self.publish();
            return;
        }
        let loaded = std::mem::take(&mut self.loaded);
        self.plan_from(&loaded);
        self.loaded = loaded;
        if error.is_none() && self.state.rundown_error.is_some() {
            tracing::info!("rundown readable again");
        }
        self.state.rundown_error = error;
        self.publish();
    }

    /// Plans the cues of the look-ahead from `loaded` and hands a changed plan to the engine.
    fn plan_from(&mut self, loaded: &[(u32, Day)]) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let now = self.clock.now();
        let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        if !loaded.iter().any(|(_, d)| d.date == today) && self.missing_logged != Some(today) {
            tracing::warn!(%today, "no rundown for the day on air: the slate is on air");
            self.missing_logged = Some(today);
        }
        let in_view: Vec<DayInView<'_>> = loaded
            .iter()
            .map(|(v, d)| DayInView {
                day: d,
                version: *v,
            })
            .collect();
        let timeline = engine.timeline();
        let lookahead = chrono::Duration::from_std(self.settings.lookahead)
            .unwrap_or(chrono::Duration::minutes(10));
        let now_frame = timeline.frame_at(self.clock.wall_ns_of(now));
        let horizon = now_frame + self.rate.frames_in_secs(lookahead.num_seconds());
        let origin = DateTime::from_timestamp_nanos(
            i64::try_from(self.clock.programme_ns_of(timeline.origin_unix_ns)).unwrap_or(i64::MAX),
        );
        let first = i64::try_from(timeline.first_frame).unwrap_or(0);
        let rate = self.rate;
        let planned = plan::plan(
            &in_view,
            |t| first + rate.frames_between(origin, t),
            timeline.first_frame,
            now_frame,
            horizon,
        );
        let mut planned = planned;
        super::backup::apply(&mut planned, loaded, &self.backups);
        if let Some(policy) = &self.settings.loudness {
            super::loudness::apply(&mut planned, &self.measured, policy);
        }
        let cues: Vec<Cue> = planned.iter().map(|p| p.cue.clone()).collect();
        if self.last_sent.as_ref() != Some(&cues) {
            for p in &planned {
                self.recorder.cue(p.info.clone());
            }
            match engine.replace(cues.clone()) {
                Ok(()) => {
                    tracing::info!(items = cues.len(), "engine cued");
                    self.last_sent = Some(cues);
                }
                Err(e) => tracing::error!(error = %e, "the engine refused the cues"),
            }
        }
        self.state.plan = Arc::new(planned);
        self.state.days = loaded.iter().map(|(v, d)| (d.date, *v)).collect();
    }

    /// Reads the engine's vital signs; raises, clears and restarts. Returns true when a new
    /// engine was started (it must be cued at once).
    async fn supervise(&mut self) -> bool {
        let Some(h) = self.engine.as_ref().map(|e| e.health()) else {
            return false;
        };
        let now_ns = self.mono_ns();
        let verdict = self.detector.observe(&h, now_ns);
        if h.packets_lost_to_fanout > self.packets_lost_seen {
            self.metrics
                .packets_lost(h.packets_lost_to_fanout - self.packets_lost_seen);
            self.packets_lost_seen = h.packets_lost_to_fanout;
        }
        let backlog = self.events.backlog();
        self.state.asrun_pending = self.writer.pending();
        self.metrics.set_backlogs(backlog, self.state.asrun_pending);
        let now = self.clock.now();
        let dropped = self.writer.dropped();
        if dropped > self.state.asrun_dropped {
            self.state.asrun_dropped = dropped;
            self.state.alarms.raise(
                AlarmKind::AsrunJournalFull,
                "",
                format!("数据库长时间不可用，本地播出记录日志已满：最早的 {dropped} 条播出记录写入已丢弃"),
                now,
            );
            self.publish();
        }
        if backlog > EVENTS_BACKLOG_ALARM {
            self.state.alarms.raise(
                AlarmKind::EventsBacklog,
                "",
                format!("{backlog} 个播出事件待处理：播出记录写入落后"),
                now,
            );
        } else {
            self.state
                .alarms
                .clear(&[AlarmKind::EventsBacklog], None, now);
        }
        if let Some(w) = self.watchdog.as_mut()
            && w.due(&verdict, now_ns)
            && let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog])
        {
            tracing::debug!(error = %e, "systemd watchdog notify failed");
        }
        match verdict {
            Verdict::Stalled(why) => {
                if self.stalled.is_none() {
                    tracing::error!(reason = %why, "the engine has stalled: dead air");
                    self.metrics.set_engine_stalled(true);
                    self.state.alarms.raise(
                        AlarmKind::EngineStalled,
                        "engine",
                        format!("播出引擎停止出帧：{why}"),
                        now,
                    );
                    self.stalled = Some(why);
                    self.publish();
                }
                if self.settings.restart_engine {
                    return self.restart().await;
                }
                false
            }
            Verdict::Flowing | Verdict::Starting => {
                if self.stalled.take().is_some() {
                    self.metrics.set_engine_stalled(false);
                    self.state
                        .alarms
                        .clear(&[AlarmKind::EngineStalled], None, now);
                    self.publish();
                }
                false
            }
        }
    }

    /// Replaces a stalled engine: reads what the old one still said, closes the airing on
    /// air where frames stopped, stops the old engine (bounded; its destinations must be
    /// gone before the new ones connect), starts a new one. Returns true when it runs.
    async fn restart(&mut self) -> bool {
        let Some(old) = self.engine.take() else {
            return false;
        };
        while let Some(ev) = self.events.try_recv() {
            self.on_event(ev);
        }
        // Where frames stopped, on the wall clock of the old engine's events.
        let stopped_ago = self
            .mono_ns()
            .saturating_sub(self.detector.last_flowing_ns());
        let wall_now = self.clock.wall().unix_ns();
        let stopped_at = self
            .clock
            .programme_ns_of(wall_now.saturating_sub(stopped_ago));
        self.writer.send(self.recorder.engine_lost(stopped_at));
        stop_engine(old).await;
        match (self.factory)() {
            Ok((engine, events)) => {
                tracing::warn!("the engine was restarted after a stall");
                self.recorder = AsRunRecorder::new(engine.timeline().rate);
                self.state.timeline = engine.timeline();
                self.state.live = engine.live_sources();
                self.engine = Some(engine);
                self.events = events;
                self.detector = StallDetector::new(self.mono_ns());
                self.last_sent = None;
                self.state.engine_restarts += 1;
                self.metrics.engine_restarted();
                self.publish();
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "the engine could not be restarted; retrying");
                false
            }
        }
    }

    /// Stops the engine in order, drains its last events into the as-run log, and waits
    /// (bounded) for the writer.
    async fn shutdown(mut self) {
        if let Some(engine) = self.engine.take() {
            stop_engine(engine).await;
        }
        // The engine's last events (ItemEnded shutdown, Stopped) are in the stream.
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(500), self.events.recv()).await
        {
            let stopped = matches!(ev, Event::Stopped);
            self.on_event(ev);
            if stopped {
                break;
            }
        }
        // The engine closed its live sources as it stopped: their recordings are finished.
        while let Some(f) = self.recordings.as_mut().and_then(|r| r.try_recv().ok()) {
            self.on_recording(&f);
        }
        let Controller {
            writer,
            writer_task,
            ..
        } = self;
        writer.close();
        drop(writer);
        if tokio::time::timeout(Duration::from_secs(15), writer_task)
            .await
            .is_err()
        {
            tracing::error!("as-run writes did not finish within 15 s of the engine stopping");
        }
    }
}

/// Stops an engine in order, bounded (a status sample may still hold a clone: the stop
/// does not wait for it).
async fn stop_engine(engine: Arc<dyn Playout>) {
    if tokio::time::timeout(Duration::from_secs(8), engine.stop())
        .await
        .is_err()
    {
        tracing::error!("the engine did not stop within 8 s");
    }
}

/// The next finished recording; never, when nothing is recorded.
async fn next_recording(
    rx: &mut Option<mpsc::Receiver<crate::recording::Finished>>,
) -> Option<crate::recording::Finished> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads the days in view: the one containing `now` and every one the look-ahead reaches.
async fn days_in_view(
    days: &DbDayStore,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    loudness: bool,
) -> Read {
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
    // A feed's backup is a file like any other: planned (and measured) from here.
    let backups = days.feed_backups_async().await.map_err(|e| e.to_string())?;
    let measured = if loudness {
        let mut sources: Vec<String> = out
            .iter()
            .flat_map(|(_, d)| d.items.iter().map(move |i| (d, i)))
            .filter(|(d, i)| {
                let end = i.start + chrono::Duration::nanoseconds(d.rate.ns_of(i.frames));
                i.start < until && end > now
            })
            .map(|(_, i)| i)
            .map(|i| i.source.clone())
            .chain(backups.values().cloned())
            .collect();
        sources.sort();
        sources.dedup();
        days.measured_loudness_async(&sources)
            .await
            .map_err(|e| e.to_string())?
    } else {
        HashMap::new()
    };
    Ok((out, measured, backups))
}

/// Moves an event's wall instants onto programme time (a rehearsal's offset).
fn to_programme_time(ev: Event, clock: &ChannelClock) -> Event {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> Day {
        let date: NaiveDate = "2026-09-05".parse().expect("date");
        let (start, end) = crate::rundown::time::day_bounds(chrono_tz::Asia::Shanghai, date);
        Day {
            date,
            edition: "2026".into(),
            time_zone: "Asia/Shanghai".into(),
            rate: FrameRate::default(),
            start,
            end,
            items: Vec::new(),
        }
    }

    #[test]
    fn the_cache_keeps_the_feeds_backups_and_reads_a_cache_written_before_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(super::super::RUNDOWN_CACHE);
        let cached = Cached {
            days: vec![(3, day())],
            measured: HashMap::from([("/media/星空延时.mp4".to_string(), -19.5)]),
            backups: HashMap::from([(7, "/media/星空延时.mp4".to_string())]),
        };
        write_cache(&path, &cached).expect("written");
        assert_eq!(read_cache(&path), cached);
        // A cache of an older daemon (days and loudness only) is still read: no backups.
        let old = serde_json::json!({
            "days": serde_json::to_value(&cached.days).expect("days"),
            "measured": {"/media/a.mp4": -23.0},
        });
        std::fs::write(&path, serde_json::to_vec(&old).expect("json")).expect("write");
        let read = read_cache(&path);
        assert_eq!(read.days, cached.days);
        assert_eq!(
            read.measured,
            HashMap::from([("/media/a.mp4".to_string(), -23.0)])
        );
        assert!(read.backups.is_empty());
        // Unreadable or missing: nothing, never a panic.
        std::fs::write(&path, b"{not json").expect("write");
        assert_eq!(read_cache(&path), Cached::default());
        assert_eq!(read_cache(&dir.path().join("none.json")), Cached::default());
    }
}
