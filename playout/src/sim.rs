//! The simulated engine: the real [`Switcher`] and [`Ticker`] on a simulated clock, with
//! stand-in sources instead of decoders and no encoder — what a rehearsal (and the
//! controller's tests) run, so a day or a month plays through the code that airs, in
//! seconds.
//!
//! Time only moves when told ([`SimEngine::advance_to`]): the simulated monotonic time paces
//! the output frames, the simulated wall clock ([`SimClock`], which a test can step) is what
//! the programme follows. Media is asked about through a [`SimMedia`] function: present with
//! a length, or missing (the source then fails like a missing file).

use crate::cue::Cue;
use crate::engine::{BoxFuture, EngineError, Playout, Timeline, WallClock};
use crate::event::{EventSink, EventStream, Status};
use crate::format::OutputProfile;
use crate::health::{Fault, Health, HealthSnapshot};
use crate::source::{Opener, Source, SourceState, VideoPull};
use crate::switcher::{Switcher, SwitcherSettings};
use crate::ticker::Ticker;
use gstreamer as gst;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A simulated clock: monotonic time that moves only when told, and a wall clock on it
/// that can be stepped (NTP) apart from it.
#[derive(Debug, Default)]
pub struct SimClock {
    mono_ns: AtomicU64,
    /// Unix ns at mono 0.
    epoch_unix_ns: AtomicU64,
    step_ns: AtomicI64,
}

impl SimClock {
    /// A clock whose wall reads `unix_ns` now.
    pub fn at(unix_ns: u64) -> Arc<Self> {
        let c = Self::default();
        c.epoch_unix_ns.store(unix_ns, Ordering::Relaxed);
        Arc::new(c)
    }

    /// Monotonic ns since the clock was made.
    pub fn mono_ns(&self) -> u64 {
        self.mono_ns.load(Ordering::Relaxed)
    }

    /// Moves monotonic (and wall) time forward to `mono_ns` (never back).
    pub fn set_mono(&self, mono_ns: u64) {
        self.mono_ns.fetch_max(mono_ns, Ordering::Relaxed);
    }

    /// Steps the wall clock by `ns` (positive: ahead) without moving monotonic time.
    pub fn step_wall(&self, ns: i64) {
        self.step_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The wall instant at monotonic `mono_ns` under the current step.
    pub fn wall_at(&self, mono_ns: u64) -> u64 {
        let base = i128::from(self.epoch_unix_ns.load(Ordering::Relaxed)) + i128::from(mono_ns);
        u64::try_from(base + i128::from(self.step_ns.load(Ordering::Relaxed))).unwrap_or(0)
    }
}

impl WallClock for SimClock {
    fn unix_ns(&self) -> u64 {
        self.wall_at(self.mono_ns())
    }
}

/// What a stand-in source knows of a URI: `Some(frames)` present with that many frames
/// (`u64::MAX`: endless, a live feed), `None` missing.
pub type SimMedia = Arc<dyn Fn(&str) -> Option<u64> + Send + Sync>;

struct StandInOpener {
    media: SimMedia,
    frame: gst::Buffer,
}

impl Opener for StandInOpener {
    fn open(&self, uri: &str, in_point_ns: u64, profile: &OutputProfile) -> Box<dyn Source> {
        let skip = profile.rate.ns_to_frame_round(in_point_ns);
        Box::new(StandIn {
            left: (self.media)(uri).map(|f| f.saturating_sub(skip)),
            frame: self.frame.clone(),
            uri: uri.to_string(),
        })
    }
}

/// A source that has `left` frames (or is missing), with silence.
struct StandIn {
    left: Option<u64>,
    frame: gst::Buffer,
    uri: String,
}

impl Source for StandIn {
    fn state(&self) -> SourceState {
        match self.left {
            Some(_) => SourceState::Ready,
            None => SourceState::Failed(format!("素材不存在：{}", self.uri)),
        }
    }

    fn pull_video(&mut self, _wait: Duration) -> VideoPull {
        match &mut self.left {
            Some(0) | None => VideoPull::Eos,
            Some(n) => {
                if *n != u64::MAX {
                    *n -= 1;
                }
                VideoPull::Frame(self.frame.clone())
            }
        }
    }

    fn pull_audio(&mut self, out: &mut Vec<u8>, bytes: usize, _wait: Duration) -> bool {
        if matches!(self.left, Some(n) if n > 0) {
            out.resize(out.len() + bytes, 0);
            true
        } else {
            false
        }
    }
}

struct Inner {
    ticker: Ticker,
    /// The clock thread "died" ([`Fault::StopClock`]): no frame is ticked again.
    dead: bool,
    /// The encoder "died" ([`Fault::KillEncoder`]): frames tick, no packet is produced.
    encoder_dead: bool,
    stopped: bool,
    /// Every cue handed over, the last version of each id.
    cues: std::collections::BTreeMap<String, Cue>,
}

/// The engine of a rehearsal.
pub struct SimEngine {
    inner: Mutex<Inner>,
    clock: Arc<SimClock>,
    timeline: Timeline,
    /// Monotonic ns at which `first_frame` is due.
    origin_mono_ns: u64,
    profile: OutputProfile,
    events: EventSink,
    health: Arc<Health>,
}

impl SimEngine {
    /// Starts a simulated engine on `clock` whose first frame is due at the next frame of the
    /// wall clock's time-of-day grid (as the real engine's is).
    pub fn start(
        profile: OutputProfile,
        clock: Arc<SimClock>,
        media: SimMedia,
    ) -> Result<(Arc<SimEngine>, EventStream), EngineError> {
        gst::init().map_err(|e| EngineError::Gstreamer(e.to_string()))?;
        let size = (profile.width * profile.height * 3 / 2) as usize;
        let frame = gst::Buffer::with_size(size)
            .map_err(|e| EngineError::Gstreamer(format!("stand-in frame: {e}")))?;
        let slate = gst::Buffer::with_size(size)
            .map_err(|e| EngineError::Gstreamer(format!("stand-in slate: {e}")))?;
        let grid = profile.rate.grid_ns().max(1);
        let now_mono = clock.mono_ns();
        let now_wall = clock.wall_at(now_mono);
        let rem = now_wall % grid;
        let wait = if rem == 0 { 0 } else { grid - rem };
        let origin_unix_ns = now_wall + wait;
        let origin_mono_ns = now_mono + wait;
        let (events, stream) = EventSink::new();
        let mut settings = SwitcherSettings::for_profile(&profile);
        // Stand-ins answer at once: nothing to wait for.
        settings.pull_wait = Duration::ZERO;
        let switcher = Switcher::new(
            profile.clone(),
            settings,
            Box::new(StandInOpener { media, frame }),
            slate,
            0,
        );
        let ticker = Ticker::new(switcher, profile.clone(), events.clone(), 0, origin_unix_ns);
        let health = Arc::new(Health::default());
        health
            .clock_running
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok((
            Arc::new(SimEngine {
                inner: Mutex::new(Inner {
                    ticker,
                    dead: false,
                    encoder_dead: false,
                    stopped: false,
                    cues: std::collections::BTreeMap::new(),
                }),
                clock,
                timeline: Timeline {
                    rate: profile.rate,
                    first_frame: 0,
                    origin_unix_ns,
                },
                origin_mono_ns,
                profile,
                events,
                health,
            }),
            stream,
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Every cue this engine was handed (the last version of each id), by start frame.
    pub fn cues_seen(&self) -> Vec<Cue> {
        let mut v: Vec<Cue> = self.lock().cues.values().cloned().collect();
        v.sort_by_key(|c| (c.start, c.id.clone()));
        v
    }

    /// Ticks every output frame due up to the clock's monotonic time now.
    pub fn advance(&self) {
        let rate = self.profile.rate;
        let now = self.clock.mono_ns();
        let mut g = self.lock();
        if g.dead || g.stopped {
            return;
        }
        loop {
            let out = g.ticker.output_frame();
            let due = self.origin_mono_ns + rate.frame_to_ns(out);
            if due > now {
                break;
            }
            let wall = self.clock.wall_at(due);
            let _ = g.ticker.tick(wall, due - self.origin_mono_ns);
            self.health.frames_ticked.fetch_add(1, Ordering::Relaxed);
            if !g.encoder_dead {
                // One video and about two audio packets a frame.
                self.health.packets_encoded.fetch_add(3, Ordering::Relaxed);
            }
            drop(g.ticker.take_retired());
        }
    }
}

impl Playout for SimEngine {
    fn timeline(&self) -> Timeline {
        self.timeline
    }

    fn replace(&self, cues: Vec<Cue>) -> Result<(), EngineError> {
        let mut g = self.lock();
        if g.dead || g.stopped {
            return Err(EngineError::Stopped);
        }
        let n = g.ticker.programme_frame();
        for c in &cues {
            g.cues.insert(c.id.clone(), c.clone());
        }
        g.ticker.switcher.replace(cues, n);
        Ok(())
    }

    fn health(&self) -> HealthSnapshot {
        self.health.snapshot()
    }

    fn inject_fault(&self, fault: Fault) -> Result<(), EngineError> {
        let mut g = self.lock();
        match fault {
            Fault::KillEncoder => {
                g.encoder_dead = true;
                self.health.encoder_failed("模拟编码器故障");
            }
            Fault::StopClock => {
                g.dead = true;
                self.health.clock_running.store(false, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn status(&self) -> BoxFuture<'_, Result<Status, EngineError>> {
        let g = self.lock();
        let st = if g.dead || g.stopped {
            Err(EngineError::Stopped)
        } else {
            Ok(Status {
                frame: g.ticker.programme_frame(),
                on_air: g.ticker.switcher.on_air(),
                queued: g.ticker.switcher.queued(),
                frames_dropped: g.ticker.dropped(),
                frames_repeated: g.ticker.repeated(),
                max_lateness_ns: 0,
                destinations: Vec::new(),
                live: Vec::new(),
            })
        };
        Box::pin(async move { st })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        let mut g = self.lock();
        if !g.stopped {
            g.stopped = true;
            if !g.dead {
                g.ticker.finish();
            }
            self.health.clock_running.store(false, Ordering::Relaxed);
            self.events.send(crate::event::Event::Stopped);
        }
        Box::pin(async {})
    }
}
