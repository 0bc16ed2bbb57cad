//! The live source the switcher pulls: the consumer side of a connection thread.
//!
//! Owns: the jitter buffer gate (a new connection counts as ready once its first picture
//! is `jitter` old, so the queue behind it holds about that much), pulling conformed
//! frames and audio from the current connection's appsinks, and silence for a feed without
//! sound (or before its sound is linked). Does not own: the connection (`supervisor`), timing (the switcher restamps every
//! frame: a live source's timestamps never reach the programme).
//!
//! A live source never ends and never fails: while it is down it reports `Opening` and
//! has no frame, the switcher holds the last frame and then shows the slate, and it takes
//! the air back as soon as a new connection has filled its jitter buffer.

use super::settings::LiveSettings;
use super::supervisor::Shared;
use crate::source::{Source, SourceState, VideoPull};
use gstreamer as gst;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A live source as the switcher sees it (see the module docs). Dropping it stops its
/// connection thread.
pub struct LiveSource {
    shared: Arc<Shared>,
    settings: LiveSettings,
    /// The connection the last pull came from.
    generation: u64,
    audio_pending: Vec<u8>,
    /// Audio kept at most this many bytes ahead (jitter + 200 ms).
    audio_cap: usize,
    /// Bytes of one sample of every channel.
    frame_bytes: usize,
}

impl LiveSource {
    pub(crate) fn new(
        shared: Arc<Shared>,
        settings: LiveSettings,
        audio_bytes_per_s: usize,
        frame_bytes: usize,
    ) -> Self {
        let audio_cap =
            (audio_bytes_per_s as u128 * (u128::from(settings.jitter_ms) + 200) / 1000) as usize;
        LiveSource {
            shared,
            settings,
            generation: 0,
            audio_pending: Vec::new(),
            audio_cap,
            frame_bytes: frame_bytes.max(1),
        }
    }
}

impl Source for LiveSource {
    fn state(&self) -> SourceState {
        // Asked as the current item: on air (the recording starts).
        if let Some(r) = &self.shared.recording {
            r.on_air();
        }
        match self.shared.current() {
            Some(b)
                if b.first_frame
                    .get()
                    .is_some_and(|t| t.elapsed() >= self.settings.jitter()) =>
            {
                SourceState::Ready
            }
            _ => SourceState::Opening,
        }
    }

    fn pull_video(&mut self, wait: Duration) -> VideoPull {
        let Some(b) = self.shared.current() else {
            return VideoPull::NotYet;
        };
        if b.generation != self.generation {
            self.generation = b.generation;
            self.audio_pending.clear();
        }
        match b
            .video
            .try_pull_sample(gst::ClockTime::from_nseconds(wait.as_nanos() as u64))
            .and_then(|s| s.buffer_owned())
        {
            Some(buf) => VideoPull::Frame(buf),
            None => VideoPull::NotYet,
        }
    }

    fn pull_audio(&mut self, out: &mut Vec<u8>, bytes: usize, wait: Duration) -> bool {
        let Some(b) = self.shared.current() else {
            return false;
        };
        // No sound linked (yet, or at all): silence at once, no waiting every tick.
        if !b.has_audio.load(Ordering::SeqCst) {
            return false;
        }
        let deadline = Instant::now() + wait;
        loop {
            if self.audio_pending.len() >= bytes {
                out.extend(self.audio_pending.drain(..bytes));
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match b
                .audio
                .try_pull_sample(gst::ClockTime::from_nseconds(left.as_nanos() as u64))
            {
                Some(sample) => {
                    if let Some(map) = sample.buffer().and_then(|b| b.map_readable().ok()) {
                        self.audio_pending.extend_from_slice(map.as_slice());
                    }
                    // The feed's clock runs a little fast: drop the oldest, keep the latency.
                    if self.audio_pending.len() > self.audio_cap {
                        let extra = self.audio_pending.len() - self.audio_cap;
                        let extra = extra - extra % self.frame_bytes;
                        self.audio_pending.drain(..extra);
                    }
                }
                None => {
                    // Short: hand out what there is; the switcher pads with silence.
                    let take = self.audio_pending.len().min(bytes);
                    let take = take - take % self.frame_bytes;
                    out.extend(self.audio_pending.drain(..take));
                    return true;
                }
            }
        }
    }

    fn live_hold(&self) -> Option<Duration> {
        Some(Duration::from_millis(self.settings.hold_ms))
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        if let Some(r) = &self.shared.recording {
            r.off_air();
        }
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}
