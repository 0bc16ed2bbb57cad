//! The RTMP ingest: partners push to `rtmp://HOST:PORT/APP/KEY`; a key names a feed; the
//! feed is played as the live source `ingest://FEED`.
//!
//! Owns: the [`KeyCheck`] the daemon implements (the engine knows nothing of the database
//! or of how keys are stored), the [`IngestHub`] that hands a feed's FLV tags from its one
//! publisher to the live sources playing it, and the feed status (publishing, refusals,
//! last error). The protocol is [`session`] (sans-IO), the sockets are [`server`], the
//! live source side is [`connector`].
//!
//! A stream key is a secret: it is never logged, shown or kept in full here — only the
//! feed id it maps to, and a masked form in logs.

pub mod connector;
pub mod server;
pub mod session;

pub(crate) use connector::IngestConnector;
pub use server::{Ingest, IngestError, IngestSettings};

use bytes::Bytes;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// The id of a feed, as the daemon names it.
pub type FeedId = String;

/// Decides which feed (if any) a stream key publishes to. Implemented by the daemon (keys
/// stored hashed, revocable); must answer quickly (it runs on the ingest's tasks).
pub trait KeyCheck: Send + Sync + 'static {
    /// The feed `key` publishes to on application `app`, or `None` to refuse it.
    fn check(&self, app: &str, key: &str) -> Option<FeedId>;
}

/// One item of a feed, in the order the publisher sent it.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    /// A publisher started (or the subscriber joined one already publishing).
    Start,
    /// An FLV tag body: video (`true`) or audio, with its RTMP timestamp (ms, wrapping).
    Tag { video: bool, ts: u32, data: Bytes },
    /// The publisher left, and why.
    End(String),
    /// A publisher was refused (unsupported codec…), and why.
    Refused(String),
}

/// The ingest side of one feed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FeedIngestStatus {
    pub feed: FeedId,
    /// A publisher is connected and accepted.
    pub publishing: bool,
    /// The publisher's address, while publishing.
    pub publisher: Option<String>,
    /// Publishers refused for this feed (unsupported codecs, a second publisher).
    pub refused: u64,
    pub last_error: Option<String>,
    /// Bytes of media received for this feed.
    pub bytes: u64,
}

#[derive(Default)]
struct Slot {
    /// The connection publishing, by id.
    publisher: Option<u64>,
    /// The sequence headers (AVC config, AAC config) of the current publisher, for
    /// subscribers that join later.
    video_header: Option<(u32, Bytes)>,
    audio_header: Option<(u32, Bytes)>,
    subscribers: Vec<SyncSender<Item>>,
    status: FeedIngestStatus,
}

/// Items a subscriber may have waiting before it loses the newest (bounded memory).
const SUBSCRIBER_QUEUE: usize = 1024;

/// Hands each feed's media from its publisher to the live sources playing it.
#[derive(Clone, Default)]
pub struct IngestHub {
    slots: Arc<Mutex<HashMap<FeedId, Slot>>>,
    /// Connections refused for an unknown or revoked key.
    unknown_keys: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for IngestHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestHub").finish_non_exhaustive()
    }
}

impl IngestHub {
    fn with<R>(&self, feed: &str, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
        let mut g = self.slots.lock().ok()?;
        let slot = g.entry(feed.to_string()).or_insert_with(|| Slot {
            status: FeedIngestStatus {
                feed: feed.to_string(),
                ..Default::default()
            },
            ..Default::default()
        });
        Some(f(slot))
    }

    fn send(slot: &mut Slot, item: Item) {
        slot.subscribers.retain(|s| match s.try_send(item.clone()) {
            Ok(()) | Err(TrySendError::Full(_)) => true,
            Err(TrySendError::Disconnected(_)) => false,
        });
    }

    /// Makes connection `conn` the publisher of `feed`; refuses a second publisher.
    pub(crate) fn claim(&self, feed: &str, conn: u64, addr: &str) -> Result<(), String> {
        self.with(feed, |s| {
            if s.publisher.is_some() {
                s.status.refused += 1;
                let why = "the feed already has a publisher".to_string();
                s.status.last_error = Some(why.clone());
                return Err(why);
            }
            s.publisher = Some(conn);
            s.video_header = None;
            s.audio_header = None;
            s.status.publishing = true;
            s.status.publisher = Some(addr.to_string());
            Self::send(s, Item::Start);
            Ok(())
        })
        .unwrap_or_else(|| Err("ingest state unavailable".into()))
    }

    /// Media from the publisher `conn` of `feed`.
    pub(crate) fn media(&self, feed: &str, conn: u64, video: bool, ts: u32, data: Bytes) {
        self.with(feed, |s| {
            if s.publisher != Some(conn) {
                return;
            }
            s.status.bytes += data.len() as u64;
            // Packet type 0 is the sequence header (AVC config / AAC config).
            if data.get(1) == Some(&0) {
                if video {
                    s.video_header = Some((ts, data.clone()));
                } else {
                    s.audio_header = Some((ts, data.clone()));
                }
            }
            Self::send(s, Item::Tag { video, ts, data });
        });
    }

    /// The publisher `conn` of `feed` left.
    pub(crate) fn release(&self, feed: &str, conn: u64, why: &str) {
        self.with(feed, |s| {
            if s.publisher == Some(conn) {
                s.publisher = None;
                s.status.publishing = false;
                s.status.publisher = None;
                Self::send(s, Item::End(why.to_string()));
            }
        });
    }

    /// A publisher of `feed` was refused (`why` is shown in the feed's status).
    pub(crate) fn refuse(&self, feed: &str, why: &str) {
        self.with(feed, |s| {
            s.status.refused += 1;
            s.status.last_error = Some(why.to_string());
            Self::send(s, Item::Refused(why.to_string()));
        });
    }

    /// Counts a refused unknown key; returns the total so far.
    pub(crate) fn unknown_key(&self) -> u64 {
        self.unknown_keys
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// Connections refused for an unknown or revoked key so far.
    pub fn unknown_keys(&self) -> u64 {
        self.unknown_keys.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Follows `feed`: when a publisher is already on, the receiver starts with `Start`
    /// and its sequence headers.
    pub(crate) fn subscribe(&self, feed: &str) -> Receiver<Item> {
        let (tx, rx) = sync_channel(SUBSCRIBER_QUEUE);
        self.with(feed, |s| {
            if s.publisher.is_some() {
                let _ = tx.try_send(Item::Start);
                for (video, h) in [(true, &s.video_header), (false, &s.audio_header)] {
                    if let Some((ts, data)) = h {
                        let _ = tx.try_send(Item::Tag {
                            video,
                            ts: *ts,
                            data: data.clone(),
                        });
                    }
                }
            }
            s.subscribers.push(tx);
        });
        rx
    }

    /// The ingest status of every feed seen so far.
    pub fn feeds(&self) -> Vec<FeedIngestStatus> {
        let Ok(g) = self.slots.lock() else {
            return Vec::new();
        };
        let mut v: Vec<_> = g.values().map(|s| s.status.clone()).collect();
        v.sort_by(|a, b| a.feed.cmp(&b.feed));
        v
    }
}
