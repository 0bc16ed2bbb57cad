//! A live source's runtime state as the daemon sees it: connecting / live / stalled /
//! retrying (why, which attempt, next try in), bit rate, frame rate, last frame age and
//! reconnect count.
//!
//! Owns: the status types, the meter the connection thread feeds (bytes and frames in
//! one-second windows) and the registry through which the engine's `status()` lists every
//! live source alive, and its latest still picture for the dashboard (one a second, a
//! reference to a decoded frame). Does not own: the connection (`supervisor`).

use gstreamer as gst;
use serde::Serialize;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// What a live source is doing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LiveState {
    /// Opening a connection (or waiting for a publisher, for an ingest feed).
    Connecting,
    /// Frames are arriving.
    Live,
    /// Connected, but no frame for longer than the hold.
    Stalled,
    /// The last attempt failed; the next one starts in `next_try_in_ms`.
    Retrying {
        reason: String,
        attempt: u32,
        next_try_in_ms: u64,
    },
    /// Closed (the item left the air).
    Stopped,
}

/// A snapshot of one live source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveStatus {
    /// The source's locator with its secrets masked.
    pub url: String,
    /// `rtsp`, `srt`, `rtmp`, `hls`, `http-flv` or `ingest`.
    pub kind: String,
    pub state: LiveState,
    /// Bits per second received over the last whole second.
    pub bitrate: u64,
    /// Decoded frames per 1000 s over the last whole second (25 fps = 25000).
    pub frame_rate_milli: u64,
    /// Milliseconds since the last decoded frame; `None` before the first.
    pub last_frame_age_ms: Option<u64>,
    /// Connections opened again after the first.
    pub reconnects: u64,
    /// The last failure, masked.
    pub last_error: Option<String>,
    /// The recording of the window on air, when the source is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingStatus>,
}

/// A live source's recording while on air (see `record`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordingStatus {
    /// The window's directory.
    pub dir: String,
    /// Segments opened so far.
    pub segments: u32,
    /// Why the recording stopped early (a full disk, a write error); the programme is not
    /// affected.
    pub error: Option<String>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    bytes: u64,
    frames: u64,
    last_bitrate: u64,
    last_fps_milli: u64,
}

#[derive(Debug)]
struct Inner {
    state: LiveState,
    /// When the current `Retrying` ends (for `next_try_in_ms`).
    retry_until: Option<Instant>,
    last_frame: Option<Instant>,
    reconnects: u64,
    last_error: Option<String>,
    window: Window,
}

/// The status a connection thread writes and the engine reads.
#[derive(Debug)]
pub struct StatusCell {
    /// The locator, masked.
    url: String,
    /// The secrets of the locator, scrubbed out of error text.
    secrets: Vec<String>,
    kind: &'static str,
    /// A live source with no frame for this long shows as stalled.
    stall_after: Duration,
    inner: Mutex<Inner>,
    /// The latest picture kept for the dashboard's still (at most one a second), and when.
    still: Mutex<Option<(Instant, gst::Buffer)>>,
    /// The recording of the window on air, when there is one.
    recording: Mutex<Option<RecordingStatus>>,
}

/// How often a live source's still picture is renewed.
const STILL_EVERY: Duration = Duration::from_secs(1);

impl StatusCell {
    pub(crate) fn new(url: String, kind: &'static str, stall_after: Duration) -> Arc<Self> {
        let secrets = crate::output::mask::secrets_of(&url);
        Arc::new(StatusCell {
            url: crate::output::mask::scrub(&url, &secrets),
            secrets,
            kind,
            stall_after,
            still: Mutex::new(None),
            recording: Mutex::new(None),
            inner: Mutex::new(Inner {
                state: LiveState::Connecting,
                retry_until: None,
                last_frame: None,
                reconnects: 0,
                last_error: None,
                window: Window {
                    start: Instant::now(),
                    bytes: 0,
                    frames: 0,
                    last_bitrate: 0,
                    last_fps_milli: 0,
                },
            }),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> Option<R> {
        self.inner.lock().ok().map(|mut g| f(&mut g))
    }

    pub(crate) fn connecting(&self, reconnect: bool) {
        self.with(|i| {
            i.state = LiveState::Connecting;
            i.retry_until = None;
            if reconnect {
                i.reconnects += 1;
            }
        });
    }

    pub(crate) fn retrying(&self, reason: &str, attempt: u32, wait: Duration) {
        self.with(|i| {
            i.state = LiveState::Retrying {
                reason: reason.to_string(),
                attempt,
                next_try_in_ms: wait.as_millis() as u64,
            };
            i.retry_until = Some(Instant::now() + wait);
            i.last_error = Some(reason.to_string());
        });
    }

    pub(crate) fn stopped(&self) {
        self.with(|i| i.state = LiveState::Stopped);
    }

    /// Records a failure that does not end the connection (a refused publisher).
    pub(crate) fn error(&self, reason: &str) {
        self.with(|i| i.last_error = Some(reason.to_string()));
    }

    fn roll(w: &mut Window, now: Instant) {
        let age = now.duration_since(w.start);
        if age >= Duration::from_secs(1) {
            let ns = age.as_nanos().max(1);
            w.last_bitrate = (u128::from(w.bytes) * 8 * 1_000_000_000 / ns) as u64;
            w.last_fps_milli = (u128::from(w.frames) * 1_000_000_000_000 / ns) as u64;
            // A window much older than a second means nothing arrived meanwhile.
            if age >= Duration::from_secs(2) {
                w.last_bitrate = 0;
                w.last_fps_milli = 0;
            }
            w.start = now;
            w.bytes = 0;
            w.frames = 0;
        }
    }

    /// `n` bytes of the feed arrived.
    pub(crate) fn bytes(&self, n: usize) {
        let now = Instant::now();
        self.with(|i| {
            Self::roll(&mut i.window, now);
            i.window.bytes += n as u64;
        });
    }

    /// A picture was decoded.
    pub(crate) fn frame(&self) {
        let now = Instant::now();
        self.with(|i| {
            Self::roll(&mut i.window, now);
            i.window.frames += 1;
            i.last_frame = Some(now);
            if matches!(i.state, LiveState::Connecting) {
                i.state = LiveState::Live;
            }
        });
    }

    /// Offers a decoded picture (house format) as the source's still; kept when the last one
    /// is a second old or more. A reference count, not a copy.
    pub(crate) fn offer_still(&self, picture: &gst::Buffer) {
        if let Ok(mut g) = self.still.try_lock()
            && g.as_ref().is_none_or(|(t, _)| t.elapsed() >= STILL_EVERY)
        {
            *g = Some((Instant::now(), picture.clone()));
        }
    }

    /// The latest still picture (house format, raw I420) and its age, if a picture was
    /// decoded since the source opened.
    pub fn still(&self) -> Option<(gst::Buffer, Duration)> {
        self.still
            .lock()
            .ok()?
            .as_ref()
            .map(|(t, b)| (b.clone(), t.elapsed()))
    }

    /// Publishes the state of the source's recording.
    pub(crate) fn set_recording(&self, r: RecordingStatus) {
        if let Ok(mut g) = self.recording.lock() {
            *g = Some(r);
        }
    }

    /// The status now.
    pub fn snapshot(&self) -> LiveStatus {
        let now = Instant::now();
        let mut st = self
            .with(|i| {
                Self::roll(&mut i.window, now);
                let age = i.last_frame.map(|t| now.duration_since(t));
                let state = match &i.state {
                    LiveState::Live if age.is_some_and(|a| a > self.stall_after) => {
                        LiveState::Stalled
                    }
                    LiveState::Retrying {
                        reason, attempt, ..
                    } => LiveState::Retrying {
                        reason: reason.clone(),
                        attempt: *attempt,
                        next_try_in_ms: i
                            .retry_until
                            .map(|t| t.saturating_duration_since(now).as_millis() as u64)
                            .unwrap_or(0),
                    },
                    s => s.clone(),
                };
                LiveStatus {
                    url: self.url.clone(),
                    kind: self.kind.to_string(),
                    state,
                    bitrate: i.window.last_bitrate,
                    frame_rate_milli: i.window.last_fps_milli,
                    last_frame_age_ms: age.map(|a| a.as_millis() as u64),
                    reconnects: i.reconnects,
                    last_error: i.last_error.clone(),
                    recording: None,
                }
            })
            .unwrap_or_else(|| LiveStatus {
                url: self.url.clone(),
                kind: self.kind.to_string(),
                state: LiveState::Stopped,
                bitrate: 0,
                frame_rate_milli: 0,
                last_frame_age_ms: None,
                reconnects: 0,
                last_error: Some("status lock poisoned".into()),
                recording: None,
            });
        st.recording = self.recording.lock().ok().and_then(|r| r.clone());
        if let Some(e) = st.last_error.take() {
            st.last_error = Some(crate::output::mask::scrub(&e, &self.secrets));
        }
        st
    }
}

/// Every live source alive, for the engine's status. Cloned into the opener; sources
/// register themselves and disappear when dropped.
#[derive(Clone, Debug, Default)]
pub struct LiveRegistry {
    cells: Arc<Mutex<Vec<Weak<StatusCell>>>>,
    /// The programme format of the pictures its sources decode to (for stills).
    profile: Arc<crate::format::OutputProfile>,
}

impl LiveRegistry {
    /// An empty registry for sources decoding to `profile`.
    pub fn new(profile: crate::format::OutputProfile) -> Self {
        LiveRegistry {
            cells: Arc::default(),
            profile: Arc::new(profile),
        }
    }

    /// The still of the open live source whose masked locator is `url`, as a JPEG `width`
    /// pixels wide, and the picture's age; `None` when no such source is open or it has
    /// shown no picture. Blocks up to `timeout` (call it off the async runtime).
    ///
    /// # Errors
    /// See [`crate::still::jpeg`].
    pub fn still_jpeg(
        &self,
        url: &str,
        width: u32,
        timeout: Duration,
    ) -> Option<Result<(Vec<u8>, Duration), crate::still::StillError>> {
        let (frame, age) = self.still(url)?;
        Some(crate::still::jpeg(&frame, &self.profile, width, timeout).map(|j| (j, age)))
    }

    pub(crate) fn register(&self, cell: &Arc<StatusCell>) {
        if let Ok(mut v) = self.cells.lock() {
            v.retain(|w| w.strong_count() > 0);
            v.push(Arc::downgrade(cell));
        }
    }

    /// The status of every live source still open, oldest first.
    pub fn snapshot(&self) -> Vec<LiveStatus> {
        let Ok(mut v) = self.cells.lock() else {
            return Vec::new();
        };
        v.retain(|w| w.strong_count() > 0);
        v.iter()
            .filter_map(Weak::upgrade)
            .map(|c| c.snapshot())
            .filter(|s| s.state != LiveState::Stopped)
            .collect()
    }

    /// The still picture (raw I420 at the house format) and its age of the open live source
    /// whose masked locator is `url` (as in [`LiveStatus::url`] and
    /// [`super::status_url`]); `None` when no such source is open or it has shown no picture.
    pub fn still(&self, url: &str) -> Option<(gst::Buffer, Duration)> {
        let cells: Vec<Arc<StatusCell>> = {
            let v = self.cells.lock().ok()?;
            v.iter().filter_map(Weak::upgrade).collect()
        };
        cells.iter().find(|c| c.url == url).and_then(|c| c.still())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_goes_live_with_its_first_frame_and_shows_stalled_after_the_hold() {
        let c = StatusCell::new("rtsp://cam/x".into(), "rtsp", Duration::from_millis(30));
        assert_eq!(c.snapshot().state, LiveState::Connecting);
        c.bytes(1000);
        c.frame();
        let s = c.snapshot();
        assert_eq!(s.state, LiveState::Live);
        assert!(s.last_frame_age_ms.is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.snapshot().state, LiveState::Stalled);
        c.retrying("connection reset", 2, Duration::from_secs(1));
        match c.snapshot().state {
            LiveState::Retrying {
                attempt,
                next_try_in_ms,
                ..
            } => {
                assert_eq!(attempt, 2);
                assert!(next_try_in_ms <= 1000 && next_try_in_ms > 500);
            }
            s => panic!("{s:?}"),
        }
        c.connecting(true);
        assert_eq!(c.snapshot().reconnects, 1);
    }

    #[test]
    fn errors_are_shown_with_the_key_masked_and_dropped_sources_leave_the_registry() {
        let reg = LiveRegistry::default();
        let c = StatusCell::new(
            "rtmp://h/live/supersecretkey".into(),
            "rtmp",
            Duration::from_secs(1),
        );
        reg.register(&c);
        c.error("refused rtmp://h/live/supersecretkey");
        let s = reg.snapshot();
        assert_eq!(s.len(), 1);
        assert!(!s[0].url.contains("supersecretkey"), "{}", s[0].url);
        assert!(
            !s[0]
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("supersecretkey")
        );
        drop(c);
        assert!(reg.snapshot().is_empty());
    }
}
