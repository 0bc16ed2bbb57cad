//! Destinations: one task per platform, isolated, reconnecting.
//!
//! Owns: destination settings, URL parsing and secret masking, per-destination statistics,
//! the reconnect loop with capped back-off, and the GOP cache that lets a destination that
//! comes back start at once on a key frame with fresh codec headers. The protocols live in
//! `rtmp` (RTMP/RTMPS push on rml_rtmp), `srt` (SRT caller via mpegtsmux + srtsink) and
//! `hls` (a live HLS playlist with TS segments in a local directory, via splitmuxsink and
//! our own playlist that continues across restarts: `hls_playlist`).
//! Does not own: encoding or the fan-out.

pub mod error;
pub mod feed;
pub mod flv;
pub mod hls;
pub mod hls_playlist;
pub mod mask;
pub mod rtmp;
pub mod srt;
mod tls;

pub use error::{DestinationError, FailureKind, UrlError};

use crate::event::{DestinationState, DestinationStatus, Event, EventSink};
use crate::packet::{Kind, Packet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// One destination from config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationConfig {
    pub name: String,
    /// `rtmp://`, `rtmps://` or `srt://` URL, stream key included; or `hls:///abs/dir`
    /// (also `hls:/abs/dir`): a live HLS preview, `live.m3u8` and `seg%05d.ts` written into
    /// that local directory (created if missing).
    pub url: String,
    /// Extra CA certificates (PEM) trusted for this destination's RTMPS, besides the
    /// system's and the built-in roots.
    pub tls_ca: Option<std::path::PathBuf>,
}

impl DestinationConfig {
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        DestinationConfig {
            name: name.into(),
            url: url.into(),
            tls_ca: None,
        }
    }

    /// The URL parsed into what it asks for; an error says why (without the key).
    pub fn kind(&self) -> Result<DestinationKind, UrlError> {
        DestinationKind::parse(&self.url)
    }
}

/// What a destination URL asks for, parsed once: the one place that tells the schemes
/// apart (the config's validation, the engine's start and each destination's session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestinationKind {
    /// `rtmp://` or `rtmps://` push.
    Rtmp(rtmp::RtmpUrl),
    /// `srt://` caller or listener (its options stay in the URL, read by `srtsink`).
    Srt,
    /// A local HLS rendition written into this directory.
    Hls(std::path::PathBuf),
}

impl DestinationKind {
    /// Parses `url`: `srt://…` (its options are srtsink's), `hls:` (see [`hls::parse_dir`]),
    /// else `rtmp(s)://` (see [`rtmp::RtmpUrl::parse`]).
    ///
    /// # Errors
    /// [`UrlError`] naming what is wrong.
    pub fn parse(url: &str) -> Result<DestinationKind, UrlError> {
        if url.starts_with("srt://") {
            Ok(DestinationKind::Srt)
        } else if url.starts_with("hls:") {
            hls::parse_dir(url).map(DestinationKind::Hls)
        } else {
            rtmp::RtmpUrl::parse(url).map(DestinationKind::Rtmp)
        }
    }
}

/// Reconnect timing.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub first: Duration,
    pub cap: Duration,
    /// Time-box of connecting and of any single write.
    pub io_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first: Duration::from_millis(250),
            cap: Duration::from_millis(1500),
            io_timeout: Duration::from_secs(5),
        }
    }
}

/// Capped exponential back-off.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    next: Duration,
}

impl Backoff {
    pub fn new(policy: RetryPolicy) -> Self {
        Backoff {
            policy,
            next: policy.first,
        }
    }
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.policy.cap);
        d
    }
    pub fn reset(&mut self) {
        self.next = self.policy.first;
    }
}

/// Live figures of one destination, written by its task, read by status and metrics.
pub struct Stats {
    pub name: String,
    pub masked_url: String,
    pub bytes: AtomicU64,
    pub bitrate: AtomicU64,
    pub reconnects: AtomicU64,
    pub dropped_packets: AtomicU64,
    /// Set by the fan-out when it had to drop a packet: resume on the next key frame.
    pub overflow: AtomicBool,
    /// Sessions ended by each [`FailureKind`] (indexed by `kind as usize`).
    failures: [AtomicU64; FailureKind::ALL.len()],
    state: Mutex<LastState>,
}

/// A destination's state and its last failure (text and class), kept across reconnects.
#[derive(Clone)]
struct LastState {
    state: DestinationState,
    error: Option<(String, FailureKind)>,
}

impl Stats {
    pub fn new(cfg: &DestinationConfig) -> Self {
        Stats {
            name: cfg.name.clone(),
            masked_url: mask::mask_url(&cfg.url),
            bytes: AtomicU64::new(0),
            bitrate: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            dropped_packets: AtomicU64::new(0),
            overflow: AtomicBool::new(false),
            failures: Default::default(),
            state: Mutex::new(LastState {
                state: DestinationState::Connecting,
                error: None,
            }),
        }
    }

    fn set_state(&self, s: DestinationState, err: Option<(String, FailureKind)>) {
        if let Ok(mut g) = self.state.lock() {
            g.state = s;
            if err.is_some() {
                g.error = err;
            }
        }
    }

    pub fn snapshot(&self) -> DestinationStatus {
        let LastState { state, error } =
            self.state.lock().map(|g| g.clone()).unwrap_or(LastState {
                state: DestinationState::Stopped,
                error: Some(("stats lock poisoned".into(), FailureKind::Local)),
            });
        let (last_error, last_error_kind) = match error {
            Some((text, kind)) => (Some(text), Some(kind)),
            None => (None, None),
        };
        let failures = FailureKind::ALL
            .iter()
            .map(|&k| (k, self.failures[k as usize].load(Ordering::Relaxed)))
            .filter(|&(_, n)| n > 0)
            .collect();
        DestinationStatus {
            name: self.name.clone(),
            url: self.masked_url.clone(),
            state,
            bytes: self.bytes.load(Ordering::Relaxed),
            bitrate: self.bitrate.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            dropped_packets: self.dropped_packets.load(Ordering::Relaxed),
            last_error,
            last_error_kind,
            failures,
        }
    }
}

/// Counts bytes sent and keeps a bit rate over ~2 s windows.
pub struct Meter {
    window_start: Instant,
    window_bytes: u64,
}

impl Meter {
    pub fn new() -> Self {
        Meter {
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }
    pub fn add(&mut self, stats: &Stats, n: usize) {
        stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.window_bytes += n as u64;
        let el = self.window_start.elapsed();
        if el >= Duration::from_secs(2) {
            let bps = self.window_bytes * 8 * 1000 / el.as_millis().max(1) as u64;
            stats.bitrate.store(bps, Ordering::Relaxed);
            self.window_start = Instant::now();
            self.window_bytes = 0;
        }
    }
}

impl Default for Meter {
    fn default() -> Self {
        Self::new()
    }
}

/// The packets a destination holds while it is not sending: from the last key frame on,
/// so a reconnect starts with a complete picture at once.
#[derive(Default)]
pub struct GopCache {
    packets: Vec<Packet>,
    have_key: bool,
}

impl GopCache {
    pub fn push(&mut self, p: Packet) {
        if p.kind == Kind::Video && p.key {
            self.packets.clear();
            self.have_key = true;
        }
        if self.have_key {
            self.packets.push(p);
        }
        // A GOP should never grow without bound; cap at ~20 s of packets.
        if self.packets.len() > 2000 {
            self.packets.clear();
            self.have_key = false;
        }
    }
    pub fn clear(&mut self) {
        self.packets.clear();
        self.have_key = false;
    }
    /// The cached GOP, kept (a session that fails straight away can start the next one
    /// from it again).
    pub fn snapshot(&self) -> Vec<Packet> {
        self.packets.clone()
    }
    /// Absorbs whatever is queued without waiting; a fan-out overflow restarts at a key.
    pub fn drain(&mut self, rx: &mut mpsc::Receiver<Packet>, stats: &Stats) {
        while let Ok(p) = rx.try_recv() {
            if stats.overflow.swap(false, Ordering::SeqCst) {
                self.clear();
            }
            self.push(p);
        }
    }
}

/// Lets packets through unless the fan-out had to drop some for this destination; then it
/// holds everything back until the next video key frame, so the receiver never gets a
/// picture that references frames it did not receive.
pub struct KeyGate {
    waiting: bool,
}

impl KeyGate {
    /// A gate that starts closed (`waiting`) until the first key frame, or open.
    pub fn new(waiting: bool) -> Self {
        KeyGate { waiting }
    }

    pub fn admit(&mut self, p: &Packet, stats: &Stats, gop: &mut GopCache) -> bool {
        if stats.overflow.swap(false, Ordering::SeqCst) {
            self.waiting = true;
            gop.clear();
        }
        if self.waiting && p.kind == Kind::Video && p.key {
            self.waiting = false;
        }
        !self.waiting
    }
}

/// How a session ended.
pub enum SessionEnd {
    /// The engine is shutting down or the programme ended.
    Finished,
}

/// Everything a protocol session needs.
pub struct SessionCtx<'a> {
    pub cfg: &'a DestinationConfig,
    pub policy: RetryPolicy,
    pub rx: &'a mut mpsc::Receiver<Packet>,
    pub gop: &'a mut GopCache,
    pub stats: &'a Stats,
    pub events: &'a EventSink,
    pub shutdown: &'a mut watch::Receiver<bool>,
}

impl SessionCtx<'_> {
    /// The programme's codec headers and the packets to start from: the cached GOP (from
    /// its key frame), or, with none cached, the first key frame to arrive. `None` when the
    /// programme ends or the engine shuts down first.
    pub async fn wait_for_headers(&mut self) -> Option<(Arc<crate::packet::Headers>, Vec<Packet>)> {
        loop {
            self.gop.drain(self.rx, self.stats);
            let cached = self.gop.snapshot();
            if let Some(h) = cached.first().and_then(|p| p.headers.clone()) {
                return Some((h, cached));
            }
            tokio::select! {
                p = self.rx.recv() => self.gop.push(p?),
                _ = self.shutdown.changed() => return None,
            }
        }
    }

    /// Marks the destination live and tells the world.
    pub fn up(&self) {
        self.stats.set_state(DestinationState::Live, None);
        self.events.send(Event::DestinationUp {
            name: self.cfg.name.clone(),
        });
    }
}

/// Runs one destination until shutdown: connect, send, and on any failure drop the
/// backlog, wait, and connect again.
pub async fn run_destination(
    cfg: DestinationConfig,
    policy: RetryPolicy,
    mut rx: mpsc::Receiver<Packet>,
    stats: Arc<Stats>,
    events: EventSink,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(policy);
    let mut gop = GopCache::default();
    let secrets = mask::secrets_of(&cfg.url);
    loop {
        if *shutdown.borrow() {
            break;
        }
        stats.set_state(DestinationState::Connecting, None);
        let started = Instant::now();
        let ctx = SessionCtx {
            cfg: &cfg,
            policy,
            rx: &mut rx,
            gop: &mut gop,
            stats: &stats,
            events: &events,
            shutdown: &mut shutdown,
        };
        let result = match cfg.kind() {
            Ok(DestinationKind::Srt) => srt::run_session(ctx).await,
            Ok(DestinationKind::Hls(_)) => hls::run_session(ctx).await,
            Ok(DestinationKind::Rtmp(_)) => rtmp::run_session(ctx).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(SessionEnd::Finished) => break,
            Err(e) => {
                let kind = e.kind();
                let msg = mask::scrub(&e.to_string(), &secrets);
                tracing::warn!(destination = %cfg.name, kind = kind.as_str(), error = %msg, "destination down");
                stats.set_state(DestinationState::Retrying, Some((msg.clone(), kind)));
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                stats.failures[kind as usize].fetch_add(1, Ordering::Relaxed);
                events.send(Event::DestinationDown {
                    name: cfg.name.clone(),
                    reason: msg,
                    kind,
                });
                if started.elapsed() > Duration::from_secs(10) {
                    backoff.reset();
                }
                let until = tokio::time::Instant::now() + backoff.next_delay();
                // While waiting, keep the latest GOP so the next session starts at once.
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => break,
                        p = rx.recv() => match p {
                            Some(p) => {
                                if stats.overflow.swap(false, Ordering::SeqCst) {
                                    gop.clear();
                                }
                                gop.push(p);
                            }
                            None => {
                                stats.set_state(DestinationState::Stopped, None);
                                return;
                            }
                        },
                        _ = shutdown.changed() => break,
                    }
                }
            }
        }
    }
    stats.set_state(DestinationState::Stopped, None);
}
