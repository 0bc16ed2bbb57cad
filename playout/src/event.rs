//! What the engine reports: events as they happen and a status snapshot on request.
//!
//! Owns: the `Event` and `Status` types. Does not own: who listens (the daemon turns events
//! into the as-run log and metrics).

use serde::Serialize;

/// Why an item stopped owning the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Played its whole length or to its end.
    Complete,
    /// A later item with a hard start cut it.
    Cut,
    /// An operator skipped it.
    Skipped,
    /// Its source failed and the slot ran out on the slate.
    Failed,
    /// It was cued for a time that had already passed completely.
    Missed,
    /// The engine shut down while it was on air.
    Shutdown,
}

/// Something that happened on the programme or at a destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The item's first frame left the switcher at `wall_ns` (Unix time, ns).
    ItemStarted {
        id: String,
        frame: u64,
        wall_ns: u64,
        /// Frames skipped into the item because it joined late (restart mid-item).
        offset_frames: u64,
    },
    ItemEnded {
        id: String,
        /// First frame that no longer belonged to the item.
        frame: u64,
        wall_ns: u64,
        frames: u64,
        reason: EndReason,
    },
    /// The slate (or the held last frame) went on air instead of the item.
    FallbackOn {
        id: Option<String>,
        frame: u64,
        reason: String,
    },
    FallbackOff {
        id: Option<String>,
        frame: u64,
    },
    DestinationUp {
        name: String,
    },
    DestinationDown {
        name: String,
        reason: String,
    },
    /// Frames were dropped (the programme fell behind the clock) or repeated (a source had
    /// nothing in time); the totals are running counts.
    ClockSync {
        dropped_total: u64,
        repeated_total: u64,
    },
    /// The engine stopped; nothing follows.
    Stopped,
}

/// State of one destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationState {
    Connecting,
    Live,
    Retrying,
    Stopped,
}

#[derive(Clone, Debug, Serialize)]
pub struct DestinationStatus {
    pub name: String,
    /// The URL with its stream key and passphrase masked.
    pub url: String,
    pub state: DestinationState,
    pub bytes: u64,
    /// Bit rate over the last few seconds, bit/s.
    pub bitrate: u64,
    pub reconnects: u64,
    /// Packets dropped because this destination could not keep up or was down.
    pub dropped_packets: u64,
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OnAirStatus {
    pub id: String,
    pub title: String,
    pub started_frame: u64,
    /// Frames played so far.
    pub position: u64,
    pub length: Option<u64>,
    pub fallback: bool,
}

/// A snapshot of the whole engine.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The frame being produced now.
    pub frame: u64,
    pub on_air: Option<OnAirStatus>,
    /// Cued items not yet on air.
    pub queued: usize,
    pub frames_dropped: u64,
    pub frames_repeated: u64,
    /// Worst lateness of a frame at the encoder against the wall clock, ns.
    pub max_lateness_ns: u64,
    pub destinations: Vec<DestinationStatus>,
    /// Every live source open (on air or pre-rolled).
    pub live: Vec<crate::source::live::LiveStatus>,
}
