//! Shared harness for the engine's end-to-end tests: start the engine on a small profile,
//! cue items on its timeline, collect its events with the instant they arrived, and stop.
//! `air`: the engine on air to a real receiver, the live peers, and the recording read back.
#![allow(dead_code)]

mod air;

// Not every test binary uses the air harness (the same reason as `dead_code` above).
#[allow(unused_imports)]
pub use air::*;
use playout::{Cue, DestinationConfig, Engine, EngineConfig, Event, OutputProfile};
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::clips::Clip;

pub const FPS: i64 = 25;
pub const FRAME_NS: i64 = 40_000_000;

pub struct Run {
    pub engine: Engine,
    pub events: playout::EventStream,
    pub seen: Vec<(Instant, Event)>,
    pub started: Instant,
}

pub fn destinations(list: &[(&str, String)]) -> Vec<DestinationConfig> {
    list.iter()
        .map(|(n, u)| DestinationConfig::new(*n, u.clone()))
        .collect()
}

pub fn start(dests: Vec<DestinationConfig>, first_frame: u64) -> Run {
    start_live(
        dests,
        first_frame,
        playout::source::live::LiveOptions::default(),
    )
}

/// Like [`start`], with live sources opened as `live` says.
pub fn start_live(
    dests: Vec<DestinationConfig>,
    first_frame: u64,
    live: playout::source::live::LiveOptions,
) -> Run {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEPU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let mut cfg = EngineConfig::new(OutputProfile::small(), dests);
    cfg.first_frame = first_frame;
    cfg.live = live;
    // The stopwatch starts before the engine: everything it sends happens after this.
    let started = Instant::now();
    let (engine, events) = Engine::start_with_events(cfg).expect("engine starts");
    Run {
        engine,
        events,
        seen: Vec::new(),
        started,
    }
}

impl Run {
    /// The frame due `lead` from now.
    pub fn frame_in(&self, lead: Duration) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos() as u64;
        self.engine
            .timeline()
            .frame_at(now + lead.as_nanos() as u64)
    }

    /// Collects events until `pred` matches one (returns its arrival) or `limit` passes.
    pub async fn until(
        &mut self,
        limit: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => {
                    let now = Instant::now();
                    let hit = pred(&e);
                    self.seen.push((now, e));
                    if hit {
                        return Some(now);
                    }
                }
                Ok(None) | Err(_) => return None,
            }
        }
    }

    pub fn ended(&self, id: &str) -> bool {
        self.seen
            .iter()
            .any(|(_, e)| matches!(e, Event::ItemEnded { id: i, .. } if i == id))
    }
}

pub fn cue(id: &str, path: &Path, frames: u64) -> Cue {
    Cue::follow(id, path.display().to_string()).with_length(frames)
}

pub fn clip(c: Clip, dir: &Path) -> std::path::PathBuf {
    c.generate(dir).expect("clip generated")
}

/// Asserts a recording's video advances exactly one frame at every step and its audio has
/// no hole.
pub fn assert_continuous(label: &str, path: &Path) -> testkit::probe::Packets {
    let p = testkit::probe::packets(path).unwrap_or_else(|e| panic!("{label}: ffprobe: {e:#}"));
    assert!(
        p.video.len() > 10,
        "{label}: only {} video packets",
        p.video.len()
    );
    let v = p.video_steps_exact(25, 1, Duration::from_micros(1500));
    assert!(
        v.is_empty(),
        "{label}: {}",
        testkit::probe::describe_violations(&v)
    );
    let a = p.audio_continuity(Duration::from_micros(1500));
    assert!(
        a.is_empty(),
        "{label}: {}",
        testkit::probe::describe_violations(&a)
    );
    p
}

/// A peer process (a sender, a server) killed and reaped when dropped.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `cmd` with its output discarded, killed when the result is dropped.
pub fn spawn_quiet(cmd: &mut std::process::Command) -> Kill {
    use std::process::Stdio;
    Kill(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    )
}

/// Waits (blocking, up to 15 s) until `ready()`; panics naming `what` otherwise.
pub fn wait_ready(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} not ready within 15 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}
