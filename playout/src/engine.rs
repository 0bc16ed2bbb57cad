//! The engine handle: starts the clock, the encoder, the fan-out and the destinations, and
//! is the daemon's one way in (cue, replace, skip, status, events, stop).
//!
//! Owns: the clock thread that ticks frame *n* at `origin + (n − first)/fps` on the
//! monotonic clock, drops (and counts) frames when it falls more than a frame behind,
//! stamps every frame with its computed timestamp, and shuts everything down in order.
//! Does not own: what to play (the daemon cues it) or how (switcher, sources).

use crate::cue::Cue;
use crate::encode::{Deadlines, Encoder, Lateness};
use crate::event::{Event, EventSink, EventStream, OnAirStatus, Status};
use crate::fanout::{self, Tap};
use crate::format::OutputProfile;
use crate::health::{Fault, Health, HealthSnapshot};
use crate::output::{self, DestinationConfig, RetryPolicy, Stats};
use crate::packet::Packet;
use crate::source::live::{LiveOpener, LiveOptions, LiveRegistry};
use crate::source::{Opener, Source, slate};
use crate::switcher::{Switcher, SwitcherSettings};
use crate::ticker::Ticker;
use gstreamer as gst;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, oneshot, watch};

/// Where the slate picture comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlateSource {
    /// The generated card: 「节目即将开始」 and the channel name.
    Card,
    /// The first frame of an image or clip (path or URI).
    File(String),
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub profile: OutputProfile,
    pub channel_name: String,
    pub slate: SlateSource,
    pub destinations: Vec<DestinationConfig>,
    pub retry: RetryPolicy,
    /// Number of the first output frame. Lets tests start the timeline just before the
    /// RTMP 2^24 ms or MPEG-TS 2^33 tick limits.
    pub first_frame: u64,
    /// Frames sit on the time-of-day grid of (wall time + this offset): every frame is due at
    /// a multiple of [`crate::Rate::grid_ns`] from the Unix epoch, so a schedule's midnight
    /// (or any whole second at 25 fps) is a frame boundary. The daemon passes its rehearsal
    /// clock offset; 0 is the wall clock.
    pub time_offset_ns: i64,
    /// Packets a destination may queue before it drops its backlog (~25 fps + ~47 audio/s).
    pub destination_queue: usize,
    pub switcher: Option<SwitcherSettings>,
    /// How far the clock thread may fall behind (a scheduling hiccup, a slow moment)
    /// and catch up by sending frames in a quick burst, before it drops frames to get back
    /// onto wall time. Downstream buffers absorb a burst; a dropped frame is a visible jump.
    pub catch_up_limit: Duration,
    /// The wall clock the programme follows (`None`: the system's). Frames are paced on the
    /// monotonic clock; when the wall clock steps (NTP) or drifts more than a frame from it,
    /// programme frames are dropped or the output frame repeated, and counted.
    pub wall_clock: Option<Arc<dyn WallClock>>,
    /// How live locators (RTSP, SRT, RTMP, HLS, HTTP-FLV, `ingest://`) are opened.
    pub live: LiveOptions,
}

/// A source of wall time (Unix ns): the system clock on air, a steppable one in tests.
pub trait WallClock: Send + Sync + std::fmt::Debug {
    /// Unix time now, ns.
    fn unix_ns(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemWallClock;

impl WallClock for SystemWallClock {
    fn unix_ns(&self) -> u64 {
        unix_now_ns()
    }
}

impl EngineConfig {
    pub fn new(profile: OutputProfile, destinations: Vec<DestinationConfig>) -> Self {
        EngineConfig {
            profile,
            channel_name: "科普之光".into(),
            slate: SlateSource::Card,
            destinations,
            retry: RetryPolicy::default(),
            first_frame: 0,
            time_offset_ns: 0,
            destination_queue: 256,
            switcher: None,
            catch_up_limit: Duration::from_secs(1),
            wall_clock: None,
            live: LiveOptions::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("GStreamer could not start: {0}")]
    Gstreamer(String),
    #[error("invalid output profile: {0}")]
    Profile(#[from] crate::format::ProfileError),
    /// A destination's URL cannot be used (checked before anything starts).
    #[error("destination {name}: {reason}")]
    Destination {
        /// The destination's configured name.
        name: String,
        /// What is wrong with its URL.
        reason: crate::output::UrlError,
    },
    #[error("slate: {0}")]
    Slate(String),
    #[error("encoder: {0}")]
    Encoder(#[from] crate::encode::EncodeError),
    /// One of the engine's threads (clock, fan-out) or its support could not be started.
    #[error("cannot start the {what}: {reason}")]
    Start {
        /// What could not start (`clock`, `fan-out`, `metrics`).
        what: &'static str,
        /// Why.
        reason: String,
    },
    #[error("the engine has stopped")]
    Stopped,
}

/// How output frames map to wall time.
#[derive(Clone, Copy, Debug)]
pub struct Timeline {
    pub rate: crate::format::Rate,
    pub first_frame: u64,
    /// Unix time (ns) at which `first_frame` is due.
    pub origin_unix_ns: u64,
}

impl Timeline {
    /// The frame due at Unix time `unix_ns` (rounded to the nearest frame).
    pub fn frame_at(&self, unix_ns: u64) -> u64 {
        if unix_ns <= self.origin_unix_ns {
            return self.first_frame;
        }
        self.first_frame + self.rate.ns_to_frame_round(unix_ns - self.origin_unix_ns)
    }

    /// Unix time (ns) at which frame `n` is due.
    pub fn unix_ns_of(&self, n: u64) -> u64 {
        self.origin_unix_ns + self.rate.frame_to_ns(n.saturating_sub(self.first_frame))
    }
}

enum Command {
    Cue(Vec<Cue>),
    Replace(Vec<Cue>),
    Skip,
    Status(oneshot::Sender<(u64, Option<OnAirStatus>, usize, u64, u64)>),
    Fault(Fault),
    Stop,
}

pub struct Engine {
    commands: mpsc::SyncSender<Command>,
    events: EventSink,
    stats: Vec<Arc<Stats>>,
    lateness: Arc<Lateness>,
    health: Arc<Health>,
    live: LiveRegistry,
    timeline: Timeline,
    clock: Mutex<Option<std::thread::JoinHandle<()>>>,
    fanout: Mutex<Option<std::thread::JoinHandle<()>>>,
    destinations: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    shutdown: watch::Sender<bool>,
}

fn take<T: Default>(m: &Mutex<T>) -> T {
    match m.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    }
}

/// The first instant at or after `t` (Unix ns) where `t + offset` is a multiple of `grid`.
fn on_grid(t: u64, grid: u64, offset: i64) -> u64 {
    if grid == 0 {
        return t;
    }
    let shifted = i128::from(t) + i128::from(offset);
    let rem = shifted.rem_euclid(i128::from(grid));
    if rem == 0 {
        t
    } else {
        t + (i128::from(grid) - rem) as u64
    }
}

fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Engine {
    /// Starts the engine; call from within a tokio runtime. The programme is on air (on the
    /// slate until something is cued) when this returns.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        Self::start_with_events(config).map(|(e, _)| e)
    }

    /// Like `start`, and returns the lossless stream of every event from the very first (a
    /// destination coming up within milliseconds included): what the as-run log is made of.
    pub fn start_with_events(config: EngineConfig) -> Result<(Engine, EventStream), EngineError> {
        gst::init().map_err(|e| EngineError::Gstreamer(e.to_string()))?;
        let profile = config.profile.clone();
        profile.validate().map_err(EngineError::Profile)?;
        for d in &config.destinations {
            let ok = d.kind();
            ok.map_err(|reason| EngineError::Destination {
                name: d.name.clone(),
                reason,
            })?;
        }
        let slate = match &config.slate {
            SlateSource::Card => slate::render_card(&profile, &config.channel_name),
            SlateSource::File(f) => slate::render_file(&profile, &crate::cue::to_uri(f)),
        }
        .map_err(EngineError::Slate)?;

        let (events, first_events) = EventSink::new();
        let health = Arc::new(Health::default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut taps = Vec::new();
        let mut stats = Vec::new();
        let mut destinations = Vec::new();
        for d in &config.destinations {
            let (tx, rx) = tokio::sync::mpsc::channel::<Packet>(config.destination_queue.max(16));
            let st = Arc::new(Stats::new(d));
            taps.push(Tap {
                tx,
                stats: st.clone(),
            });
            stats.push(st.clone());
            destinations.push(tokio::spawn(output::run_destination(
                d.clone(),
                config.retry,
                rx,
                st,
                events.clone(),
                shutdown_rx.clone(),
            )));
        }

        let (packet_tx, packet_rx) = mpsc::sync_channel::<Packet>(2048);
        let fp = profile.clone();
        let fanout = std::thread::Builder::new()
            .name("fanout".into())
            .spawn(move || fanout::run(packet_rx, taps, fp))
            .map_err(|e| EngineError::Start {
                what: "fan-out",
                reason: e.to_string(),
            })?;

        let lateness = Arc::new(Lateness::default());
        let deadline_cell = Arc::new(std::sync::OnceLock::new());
        let encoder = Encoder::start(
            &profile,
            packet_tx,
            lateness.clone(),
            deadline_cell.clone(),
            health.clone(),
        )?;
        // The first frame is due a moment from now, once the encoder runs (starting it can
        // take a while on a busy machine; frames must not be born late).
        // It is put on the time-of-day frame grid (a wait of at most one grid step).
        let wall_clock: Arc<dyn WallClock> = config
            .wall_clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemWallClock));
        let now = Instant::now();
        let now_unix = wall_clock.unix_ns();
        let origin_unix_ns = on_grid(
            now_unix + 100_000_000,
            profile.rate.grid_ns(),
            config.time_offset_ns,
        );
        let origin = now + Duration::from_nanos(origin_unix_ns - now_unix);
        let deadlines = Deadlines {
            origin,
            origin_pts: profile.rate.frame_to_ns(config.first_frame),
        };
        let _ = deadline_cell.set(deadlines);

        let settings = config
            .switcher
            .clone()
            .unwrap_or_else(|| SwitcherSettings::for_profile(&profile));
        let live = LiveRegistry::new(profile.clone());
        let switcher = Switcher::new(
            profile.clone(),
            settings,
            Box::new(LiveOpener::new(config.live.clone(), live.clone())) as Box<dyn Opener>,
            slate,
            config.first_frame,
        );
        let (commands, command_rx) = mpsc::sync_channel::<Command>(256);
        let ev = events.clone();
        let first = config.first_frame;
        let h = health.clone();
        health.clock_running.store(true, Ordering::Relaxed);
        let clock = std::thread::Builder::new()
            .name("clock".into())
            .spawn(move || {
                clock_loop(ClockLoop {
                    switcher,
                    encoder,
                    commands: command_rx,
                    events: ev,
                    profile,
                    deadlines,
                    origin_unix_ns,
                    first,
                    catch_up_ns: config.catch_up_limit.as_nanos() as u64,
                    health: h,
                    wall: wall_clock,
                    origin,
                })
            })
            .map_err(|e| EngineError::Start {
                what: "clock",
                reason: e.to_string(),
            })?;

        Ok((
            Engine {
                commands,
                events,
                stats,
                lateness,
                health,
                live,
                timeline: Timeline {
                    rate: config.profile.rate,
                    first_frame: config.first_frame,
                    origin_unix_ns,
                },
                clock: Mutex::new(Some(clock)),
                fanout: Mutex::new(Some(fanout)),
                destinations: Mutex::new(destinations),
                shutdown,
            },
            first_events,
        ))
    }

    pub fn timeline(&self) -> Timeline {
        self.timeline
    }

    /// The live sources open now: their status and still pictures
    /// ([`LiveRegistry::still`]). A handle: clone it freely; it outlives a restart of
    /// nothing (a new engine has a new registry).
    pub fn live_sources(&self) -> LiveRegistry {
        self.live.clone()
    }

    /// Events from now on, for extra listeners. A receiver that falls far behind loses the
    /// oldest; the lossless stream is the one [`Engine::start_with_events`] returns.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The engine's vital signs, read without the clock thread (which may be the thing that
    /// died): frames ticked, packets encoded, packets the fan-out lost, the encoder's error.
    pub fn health(&self) -> HealthSnapshot {
        self.health.snapshot()
    }

    /// Injects a failure (tests, drills): see [`Fault`].
    pub fn inject_fault(&self, fault: Fault) -> Result<(), EngineError> {
        self.send(Command::Fault(fault))
    }

    fn send(&self, c: Command) -> Result<(), EngineError> {
        self.commands.try_send(c).map_err(|_| EngineError::Stopped)
    }

    /// Appends items to the queue.
    pub fn cue(&self, cues: Vec<Cue>) -> Result<(), EngineError> {
        self.send(Command::Cue(cues))
    }

    /// Replaces every item not yet on air.
    pub fn replace(&self, cues: Vec<Cue>) -> Result<(), EngineError> {
        self.send(Command::Replace(cues))
    }

    /// Ends the item on air; the next one starts at once.
    pub fn skip(&self) -> Result<(), EngineError> {
        self.send(Command::Skip)
    }

    pub async fn status(&self) -> Result<Status, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Status(tx))?;
        let (frame, on_air, queued, dropped, repeated) =
            tokio::time::timeout(Duration::from_secs(2), rx)
                .await
                .map_err(|_| EngineError::Stopped)?
                .map_err(|_| EngineError::Stopped)?;
        Ok(Status {
            frame,
            on_air,
            queued,
            frames_dropped: dropped,
            frames_repeated: repeated,
            max_lateness_ns: self.lateness.max_ns.load(Ordering::Relaxed),
            destinations: self.stats.iter().map(|s| s.snapshot()).collect(),
            live: self.live.snapshot(),
        })
    }

    /// Frames that reached the encoder more than a frame late, out of all frames.
    pub fn late_frames(&self) -> (u64, u64) {
        (
            self.lateness.late_frames.load(Ordering::Relaxed),
            self.lateness.frames.load(Ordering::Relaxed),
        )
    }

    /// Stops in order: the clock, the encoder (flushed), the fan-out, the destinations
    /// (each sends what it has and closes). Bounded in time.
    /// A second call (or one after the first finished) returns at once.
    pub async fn stop(&self) {
        let _ = self.commands.try_send(Command::Stop);
        let Some(clock) = take(&self.clock) else {
            return;
        };
        let _ = tokio::task::spawn_blocking(move || clock.join()).await;
        if let Some(h) = take(&self.fanout) {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        // Each destination sends what it still has and closes; those still connecting or
        // stuck are told to stop after a bound.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut unfinished = Vec::new();
        for mut h in take(&self.destinations) {
            if tokio::time::timeout_at(deadline, &mut h).await.is_err() {
                unfinished.push(h);
            }
        }
        let _ = self.shutdown.send(true);
        for h in unfinished {
            if tokio::time::timeout(Duration::from_secs(2), h)
                .await
                .is_err()
            {
                tracing::warn!("a destination did not stop in time");
            }
        }
        self.events.send(Event::Stopped);
    }
}

/// What an on-air controller needs of an engine: the real one, or the simulated one a
/// rehearsal runs ([`crate::sim::SimEngine`]) — so both run the same controller.
pub trait Playout: Send + Sync {
    /// How output frames map to wall time.
    fn timeline(&self) -> Timeline;
    /// Replaces every item not yet on air.
    fn replace(&self, cues: Vec<Cue>) -> Result<(), EngineError>;
    /// The vital signs, read without the clock thread.
    fn health(&self) -> HealthSnapshot;
    /// Injects a failure (drills, tests).
    fn inject_fault(&self, fault: Fault) -> Result<(), EngineError>;
    /// A status snapshot (bounded wait).
    fn status(&self) -> BoxFuture<'_, Result<Status, EngineError>>;
    /// Stops in order (bounded); a second call returns at once.
    fn stop(&self) -> BoxFuture<'_, ()>;
    /// The live sources open now (status and stills); none by default.
    fn live_sources(&self) -> LiveRegistry {
        LiveRegistry::default()
    }
}

/// A boxed future, for the [`Playout`] trait's async methods.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl Playout for Engine {
    fn timeline(&self) -> Timeline {
        Engine::timeline(self)
    }
    fn live_sources(&self) -> LiveRegistry {
        Engine::live_sources(self)
    }
    fn replace(&self, cues: Vec<Cue>) -> Result<(), EngineError> {
        Engine::replace(self, cues)
    }
    fn health(&self) -> HealthSnapshot {
        Engine::health(self)
    }
    fn inject_fault(&self, fault: Fault) -> Result<(), EngineError> {
        Engine::inject_fault(self, fault)
    }
    fn status(&self) -> BoxFuture<'_, Result<Status, EngineError>> {
        Box::pin(Engine::status(self))
    }
    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(Engine::stop(self))
    }
}

impl Drop for Engine {
    /// An engine dropped without [`Engine::stop`] (a supervisor giving up on a stalled one)
    /// still tells its clock and destinations to end, without waiting for them.
    fn drop(&mut self) {
        let running = match self.clock.lock() {
            Ok(g) => g.is_some(),
            Err(p) => p.into_inner().is_some(),
        };
        if running {
            let _ = self.commands.try_send(Command::Stop);
            let _ = self.shutdown.send(true);
        }
    }
}

struct ClockLoop {
    switcher: Switcher,
    encoder: Encoder,
    commands: mpsc::Receiver<Command>,
    events: EventSink,
    profile: OutputProfile,
    deadlines: Deadlines,
    origin_unix_ns: u64,
    first: u64,
    catch_up_ns: u64,
    health: Arc<Health>,
    wall: Arc<dyn WallClock>,
    /// The monotonic instant at which `first` was due (with `origin_unix_ns` on the wall).
    origin: Instant,
}

fn clock_loop(c: ClockLoop) {
    let ClockLoop {
        switcher,
        encoder,
        commands,
        events,
        profile,
        deadlines,
        origin_unix_ns,
        first,
        catch_up_ns,
        health,
        wall,
        origin,
    } = c;
    let rate = profile.rate;
    let frame_ns = rate.frame_ns();
    let mut t = Ticker::new(switcher, profile.clone(), events, first, origin_unix_ns);
    let (reap_tx, reap_rx) = mpsc::channel::<Box<dyn Source>>();
    let reaper = std::thread::Builder::new()
        .name("source-reaper".into())
        .spawn(move || while reap_rx.recv().is_ok() {});
    let max_backlog =
        (profile.width * profile.height * 3 / 2) as u64 * rate.frames_in_secs(1).max(1);
    'run: loop {
        while let Ok(cmd) = commands.try_recv() {
            let n = t.programme_frame();
            match cmd {
                Command::Cue(cues) => {
                    for q in cues {
                        t.switcher.cue(q, n);
                    }
                }
                Command::Replace(cues) => t.switcher.replace(cues, n),
                Command::Skip => t.switcher.skip(n),
                Command::Status(tx) => {
                    let _ = tx.send((
                        n,
                        t.switcher.on_air(),
                        t.switcher.queued(),
                        t.dropped(),
                        t.repeated(),
                    ));
                }
                Command::Fault(Fault::KillEncoder) => {
                    tracing::error!("fault injected: the encoder is torn down");
                    encoder.kill();
                }
                Command::Fault(Fault::StopClock) => {
                    tracing::error!("fault injected: the clock thread ends now");
                    health.clock_running.store(false, Ordering::Relaxed);
                    // Like a crash: no orderly finish, no end events; the encoder goes with
                    // the thread.
                    encoder.kill();
                    drop(reap_tx);
                    return;
                }
                Command::Stop => break 'run,
            }
        }
        let due = deadlines.due(rate.frame_to_ns(t.output_frame()));
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        }
        // Too far behind the clock to catch up: drop frames (the items still advance, so the
        // schedule stays on wall time).
        let late = Instant::now().saturating_duration_since(due).as_nanos() as u64;
        if late > catch_up_ns.max(frame_ns) {
            let k = late / frame_ns;
            t.drop_late(k, wall.unix_ns());
            health.frames_ticked.fetch_add(k, Ordering::Relaxed);
            tracing::warn!(
                frames = k,
                total = t.dropped(),
                "behind the clock: frames dropped"
            );
        }
        // The wall clock and the monotonic one, read together (scheduling lateness does not
        // count as a step). Events carry the real instant the frame left the switcher.
        let wall_ns = wall.unix_ns();
        let mono_ns = Instant::now().saturating_duration_since(origin).as_nanos() as u64;
        let (out, frame) = t.tick(wall_ns, mono_ns);
        health.frames_ticked.fetch_add(1, Ordering::Relaxed);
        if encoder.backlog_bytes() > max_backlog {
            t.count_dropped();
        } else if let Err(e) = push(&encoder, &profile, out, frame) {
            if health.snapshot().encoder_error.is_none() {
                tracing::error!(error = %e, "encoder failed");
            }
            health.encoder_failed(&e.to_string());
        }
        for s in t.take_retired() {
            let _ = reap_tx.send(s);
        }
        if out.is_multiple_of(5)
            && health.snapshot().encoder_error.is_none()
            && let Some(err) = encoder.error()
        {
            tracing::error!(error = %err, "encoder error");
            health.encoder_failed(&err);
        }
    }
    t.finish();
    health.clock_running.store(false, Ordering::Relaxed);
    for s in t.take_retired() {
        let _ = reap_tx.send(s);
    }
    drop(reap_tx);
    if health.snapshot().encoder_error.is_some() {
        // A failed encoder has nothing left to flush.
        encoder.kill();
    } else {
        encoder.finish(Duration::from_secs(5));
    }
    if let Ok(h) = reaper {
        let _ = h.join();
    }
}

fn push(
    enc: &Encoder,
    profile: &OutputProfile,
    n: u64,
    out: crate::switcher::TickOutput,
) -> Result<(), crate::encode::EncodeError> {
    let rate = profile.rate;
    let mut video = out.video.copy();
    {
        let v = video.make_mut();
        v.set_pts(gst::ClockTime::from_nseconds(rate.frame_to_ns(n)));
        v.set_dts(gst::ClockTime::NONE);
        v.set_duration(gst::ClockTime::from_nseconds(
            rate.frame_to_ns(n + 1) - rate.frame_to_ns(n),
        ));
    }
    let sr = profile.sample_rate as u64;
    let s0 = rate.samples_before(n, profile.sample_rate);
    let s1 = rate.samples_before(n + 1, profile.sample_rate);
    let mut audio = gst::Buffer::from_mut_slice(out.audio);
    {
        let a = audio.make_mut();
        a.set_pts(gst::ClockTime::from_nseconds(
            (s0 as u128 * 1_000_000_000 / sr as u128) as u64,
        ));
        a.set_duration(gst::ClockTime::from_nseconds(
            ((s1 - s0) as u128 * 1_000_000_000 / sr as u128) as u64,
        ));
    }
    enc.push(video, audio)
}

#[cfg(test)]
mod tests {
    use super::on_grid;
    use crate::Rate;

    #[test]
    fn the_first_frame_lands_on_the_time_of_day_grid() {
        let grid = Rate::PAL.grid_ns();
        assert_eq!(grid, 40_000_000);
        assert_eq!(
            Rate::new(30_000, 1001).map(Rate::grid_ns),
            Some(100_100_000)
        );
        // 12.345 s after the epoch → 12.360 s; with a rehearsal offset of +7 ms the programme
        // instant (t + 7 ms) is what lands on the grid.
        assert_eq!(on_grid(12_345_000_000, grid, 0), 12_360_000_000);
        assert_eq!(on_grid(12_360_000_000, grid, 0), 12_360_000_000);
        assert_eq!(on_grid(12_345_000_000, grid, 7_000_000), 12_353_000_000);
        assert_eq!(on_grid(12_345_000_000, grid, -3_000_000), 12_363_000_000);
    }
}
