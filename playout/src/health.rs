//! The engine's vital signs, read without asking the clock thread: a stalled or dead engine
//! cannot answer a status request, so the supervisor (the daemon's on-air controller) reads
//! these counters instead and decides from their progress whether frames still flow.
//!
//! Owns: the counters and the faults a test may inject. Does not own: what to do about a
//! stall (the daemon raises the alarm, restarts the engine, and stops feeding systemd's
//! watchdog).

use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters shared by the clock thread, the encoder and the fan-out.
#[derive(Debug, Default)]
pub struct Health {
    /// Output frames the clock thread has ticked (including dropped ones).
    pub frames_ticked: AtomicU64,
    /// Packets (video and audio) the encoder has produced.
    pub packets_encoded: AtomicU64,
    /// Packets the encoder produced that the fan-out could not take (its queue full or gone).
    pub packets_lost_to_fanout: AtomicU64,
    /// The clock thread is running.
    pub clock_running: AtomicBool,
    /// The encoder's first error, once it has failed.
    pub encoder_error: Mutex<Option<String>>,
}

impl Health {
    /// A copy of the counters now.
    pub fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot {
            frames_ticked: self.frames_ticked.load(Ordering::Relaxed),
            packets_encoded: self.packets_encoded.load(Ordering::Relaxed),
            packets_lost_to_fanout: self.packets_lost_to_fanout.load(Ordering::Relaxed),
            clock_running: self.clock_running.load(Ordering::Relaxed),
            encoder_error: match self.encoder_error.lock() {
                Ok(g) => g.clone(),
                Err(p) => p.into_inner().clone(),
            },
        }
    }

    /// Records the encoder's first error (later ones are consequences).
    pub fn encoder_failed(&self, error: &str) {
        let mut g = match self.encoder_error.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if g.is_none() {
            *g = Some(error.to_string());
        }
    }
}

/// The counters at one instant. Frames flow while `frames_ticked` and `packets_encoded`
/// both advance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HealthSnapshot {
    /// Output frames ticked so far.
    pub frames_ticked: u64,
    /// Encoded packets so far.
    pub packets_encoded: u64,
    /// Encoded packets the fan-out could not take.
    pub packets_lost_to_fanout: u64,
    /// The clock thread is running.
    pub clock_running: bool,
    /// The encoder's first error.
    pub encoder_error: Option<String>,
}

/// A failure a test (or an operator's drill) can inject into a running engine to prove
/// that supervision notices and recovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The encoder's pipeline is torn down: frames still tick, nothing is encoded.
    KillEncoder,
    /// The clock thread ends at once, as if it had crashed: no frame is ticked again.
    StopClock,
}
