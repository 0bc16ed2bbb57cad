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
    /// The engine stopped producing frames while it was on air (the daemon restarted it;
    /// the item resumed, at its right offset, as a new airing).
    EngineFailed,
}

/// Why the programme shows the held frame or the slate instead of its item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum FallbackReason {
    /// No item owns this frame.
    NothingScheduled,
    /// The item's source could not be opened at all.
    Unavailable,
    /// The source failed, and how.
    Failed(String),
    /// The source is still opening (a late pre-roll, a camera connecting).
    NotReady,
    /// A failed source is being opened again.
    Reopening,
    /// The source delivers nothing in time (a live feed stalled, a decoder behind).
    Stalled,
    /// The source is behind the item's position and skipping to it.
    CatchingUp,
    /// The source ended before the item's slot did.
    EndedEarly,
}

/// What fills the air during a fallback, once the held last frame has run out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// The engine's slate, with silence.
    #[default]
    Slate,
    /// The cue's backup clip (see [`crate::Cue::with_backup`]), looped, with its sound.
    Backup,
}

impl Fill {
    /// The operators' word for it, as the as-run log and alarms say it: 垫片 (the slate) or
    /// 备播素材 (the backup clip).
    pub fn label_zh(self) -> &'static str {
        match self {
            Fill::Slate => "垫片",
            Fill::Backup => "备播素材",
        }
    }
}

impl std::fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NothingScheduled => f.write_str("nothing scheduled"),
            Self::Unavailable => f.write_str("source unavailable"),
            Self::Failed(why) => write!(f, "source failed: {why}"),
            Self::NotReady => f.write_str("source not ready"),
            Self::Reopening => f.write_str("source re-opening"),
            Self::Stalled => f.write_str("source stalled"),
            Self::CatchingUp => f.write_str("source catching up"),
            Self::EndedEarly => f.write_str("the source ended before its slot"),
        }
    }
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
    /// The slate or the item's backup clip went on air instead of the item (after its
    /// last frame was held for the hold). Sent again, with the new `fill`, when the fill
    /// changes during one fallback (a backup that breaks gives way to the slate).
    FallbackOn {
        id: Option<String>,
        frame: u64,
        reason: FallbackReason,
        /// What is on air instead.
        fill: Fill,
    },
    FallbackOff {
        id: Option<String>,
        frame: u64,
    },
    DestinationUp {
        name: String,
    },
    /// A destination's session ended with an error; it reconnects with back-off.
    DestinationDown {
        /// The destination's configured name.
        name: String,
        /// Why, in English, with the URL's secrets masked.
        reason: String,
        /// The class of the failure (refused, connect, lost …).
        kind: crate::output::FailureKind,
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
    /// The class of `last_error` (`"refused"`, `"connect"`, `"lost"` …).
    pub last_error_kind: Option<crate::output::FailureKind>,
    /// Sessions ended by each kind of failure since the engine started (kinds never seen
    /// are absent): `{"connect": 3, "refused": 1}`.
    pub failures: std::collections::BTreeMap<crate::output::FailureKind, u64>,
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

/// The engine's events as the daemon receives them: in order, and never dropped. The
/// senders (the clock thread, the destinations) never wait for the reader; the queue between
/// them is unbounded in count but not in practice (a handful of events per item), and
/// [`EventStream::backlog`] tells how far the reader is behind so a stuck reader is seen and
/// alarmed rather than silently losing the as-run log's evidence.
#[derive(Debug)]
pub struct EventStream {
    rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
    depth: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl EventStream {
    /// The next event; `None` once the engine has stopped and every event was read.
    pub async fn recv(&mut self) -> Option<Event> {
        let e = self.rx.recv().await;
        if e.is_some() {
            self.depth
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        e
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        let e = self.rx.try_recv().ok();
        if e.is_some() {
            self.depth
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        e
    }

    /// Events sent and not yet read.
    pub fn backlog(&self) -> usize {
        self.depth.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The sending side: every event goes to the one [`EventStream`] (lossless) and to the
/// broadcast subscribers ([`crate::Engine::subscribe`], which may lag and lose the oldest).
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: tokio::sync::mpsc::UnboundedSender<Event>,
    depth: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    bus: tokio::sync::broadcast::Sender<Event>,
}

impl EventSink {
    /// A sink, its lossless stream, and the broadcast side for extra listeners.
    pub fn new() -> (EventSink, EventStream) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let depth = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (bus, _) = tokio::sync::broadcast::channel(4096);
        (
            EventSink {
                tx,
                depth: depth.clone(),
                bus,
            },
            EventStream { rx, depth },
        )
    }

    /// Sends `e`; never blocks. Dropped only when the stream's reader is gone.
    pub fn send(&self, e: Event) {
        let _ = self.bus.send(e.clone());
        self.depth
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.tx.send(e).is_err() {
            self.depth
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A lossy listener from now on (the lossless stream is [`EventStream`]).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.bus.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(n: u64) -> Event {
        Event::ItemStarted {
            id: format!("item-{n}"),
            frame: n,
            wall_ns: n,
            offset_frames: 0,
        }
    }

    #[tokio::test]
    async fn a_stalled_reader_loses_nothing_and_its_backlog_is_seen() {
        let (sink, mut stream) = EventSink::new();
        let mut lossy = sink.subscribe();
        // The clock thread goes on sending while the reader is stuck: 3× the broadcast
        // capacity, from another thread, none of them waiting.
        let sender = sink.clone();
        std::thread::spawn(move || {
            for n in 0..12_288 {
                sender.send(started(n));
            }
        })
        .join()
        .expect("sender");
        assert_eq!(stream.backlog(), 12_288);
        for n in 0..12_288 {
            assert_eq!(stream.recv().await, Some(started(n)), "event {n} in order");
        }
        assert_eq!(stream.backlog(), 0);
        // The broadcast side, by contrast, lost the oldest.
        assert!(matches!(
            lossy.try_recv(),
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_))
        ));
        drop(sink);
        assert_eq!(
            stream.recv().await,
            None,
            "closed once every sender is gone"
        );
    }
}
