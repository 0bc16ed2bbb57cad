//! The one thread that owns a live source's connection: connect, deliver, and on any
//! failure close, wait a capped back-off and connect again — never a seek, never giving up
//! while the item is open.
//!
//! Owns: the retry loop (`run`), the context a connection attempt works with (`Ctx`:
//! installs its pipeline, says when to stop) and the checks every attempt shares (bus
//! errors, first frame within the connect timeout, no frame for the frame timeout). Does
//! not own: how a connection is made (`rtsp`, `pull`, `ingest`).

use super::pipeline::{Branch, Front};
use super::record::{Recording, Tap};
use super::settings::LiveSettings;
use super::status::StatusCell;
use crate::format::OutputProfile;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// State shared by the connection thread and the source the switcher pulls.
pub(crate) struct Shared {
    pub status: Arc<StatusCell>,
    /// The pipeline of the current connection, when there is one.
    pub branch: Mutex<Option<Arc<Branch>>>,
    pub stop: AtomicBool,
    generation: AtomicU64,
    /// The recording of this source while on air, when it is recorded.
    pub recording: Option<Arc<Recording>>,
}

impl Shared {
    /// Fresh state around `status`: no connection yet, not stopping.
    pub fn new(status: Arc<StatusCell>, recording: Option<Arc<Recording>>) -> Arc<Shared> {
        Arc::new(Shared {
            status,
            branch: Mutex::new(None),
            stop: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            recording,
        })
    }

    /// The current connection's pipeline, if any.
    pub fn current(&self) -> Option<Arc<Branch>> {
        self.branch.lock().ok().and_then(|b| b.clone())
    }

    fn set(&self, b: Option<Arc<Branch>>) {
        if let Ok(mut g) = self.branch.lock() {
            *g = b;
        }
    }
}

/// What one connection attempt works with.
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub settings: LiveSettings,
    pub profile: OutputProfile,
    /// A frame was decoded during this attempt.
    pub delivered: bool,
}

impl Ctx {
    /// The source was closed: the attempt should end now.
    pub fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Builds this connection's pipeline and makes it the one the switcher pulls from.
    pub fn install(&mut self, front: Front) -> Result<Arc<Branch>, String> {
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let b = Arc::new(super::pipeline::build(
            front,
            &self.profile,
            self.settings.jitter(),
            &self.shared.status,
            generation,
            self.shared.recording.clone().map(Tap::new),
        )?);
        self.shared.set(Some(b.clone()));
        Ok(b)
    }

    /// The checks every attempt shares, to be called a few times a second: an error or
    /// end of stream on the bus, no first picture within the connect timeout (unless the
    /// source legitimately waits for a peer), no picture for the frame timeout.
    pub fn check(&mut self, b: &Branch, wait_for_peer: bool) -> Result<(), String> {
        if let Some(p) = b.bus_problem() {
            return Err(p);
        }
        let (any, since) = b.since_last_frame();
        if any {
            self.delivered = true;
            if since > self.settings.frame_timeout() {
                return Err(format!("no picture for {} ms", since.as_millis()));
            }
        } else if !wait_for_peer && since > self.settings.connect_timeout() {
            return Err(format!(
                "no picture within {} ms of connecting",
                self.settings.connect_timeout_ms
            ));
        }
        Ok(())
    }
}

/// One way of connecting. `run_once` returns when the connection ended (an error, the
/// end of the stream) or the source is stopping (then `Ok`).
pub(crate) trait Connector: Send + 'static {
    fn run_once(&mut self, ctx: &mut Ctx) -> Result<(), String>;
    /// Called once when the source closes (e.g. to tear an RTSP session down politely).
    fn close(&mut self) {}
}

/// Starts the connection thread of a live source.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    settings: LiveSettings,
    profile: OutputProfile,
    mut connector: Box<dyn Connector>,
) -> Result<(), String> {
    std::thread::Builder::new()
        .name("live-source".into())
        .spawn(move || {
            run(&shared, &settings, &profile, &mut *connector);
            connector.close();
            shared.set(None);
            if let Some(r) = &shared.recording {
                r.close();
            }
            shared.status.stopped();
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the live source thread: {e}"))
}

fn run(
    shared: &Arc<Shared>,
    settings: &LiveSettings,
    profile: &OutputProfile,
    c: &mut dyn Connector,
) {
    let mut attempt: u32 = 0;
    let mut first = true;
    while !shared.stop.load(Ordering::SeqCst) {
        shared.status.connecting(!first);
        first = false;
        let mut ctx = Ctx {
            shared: shared.clone(),
            settings: settings.clone(),
            profile: profile.clone(),
            delivered: false,
        };
        // A panic inside one attempt (a library bug on a strange stream) is one more failed
        // attempt, never the end of the programme.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.run_once(&mut ctx)))
                .unwrap_or_else(|_| Err("the connection code panicked".into()));
        // The connection's last recorded segment is finished before the next connection
        // (which continues the recording with the next segment).
        if let Some(b) = shared.current() {
            b.finish_recording();
        }
        shared.set(None);
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let reason = match result {
            Ok(()) => "the connection ended".to_string(),
            Err(e) => e,
        };
        // A connection that delivered pictures starts the back-off afresh.
        if ctx.delivered {
            attempt = 0;
        }
        attempt = attempt.saturating_add(1);
        let wait = settings.backoff(attempt);
        shared.status.retrying(&reason, attempt, wait);
        tracing::warn!(
            source = %shared.status.snapshot().url,
            attempt,
            retry_in_ms = wait.as_millis() as u64,
            reason = %shared.status.snapshot().last_error.unwrap_or_default(),
            "live source down"
        );
        let until = Instant::now() + wait;
        while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
        }
    }
}
