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
//!
//! Lip sync: picture and sound leave the pipeline through separate bounded queues, so what
//! arrives together is not what belongs together. Each tick's sound is therefore the feed's
//! samples from the running time of the picture just pulled: older samples are dropped,
//! missing ones are silence ([`LIP_SYNC_TOLERANCE_NS`]). Measured before this, a live SRT
//! feed aired its sound 220–300 ms early (`playout/tests/live_sync.rs`).

use super::settings::LiveSettings;
use super::supervisor::Shared;
use crate::source::{Source, SourceState, VideoPull};
use gstreamer as gst;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How far a live feed's sound may stand from its picture before it is re-aligned
/// (dropped or padded with silence), ns. Under a frame of sound; well inside ITU-R
/// BT.1359's detectability (sound 45 ms early, 125 ms late).
pub const LIP_SYNC_TOLERANCE_NS: u64 = 15_000_000;

/// Sound and picture times further apart than this are taken as different clocks and not
/// aligned, ns. Above what the bounded queues hold (the sound's holds 64 buffers: 1.4 s
/// of AAC at 48 kHz, 2.7 s of HE-AAC).
const MAX_ALIGN_NS: u64 = 5_000_000_000;

/// A live source as the switcher sees it (see the module docs). Dropping it stops its
/// connection thread.
pub struct LiveSource {
    shared: Arc<Shared>,
    settings: LiveSettings,
    /// The connection the last pull came from.
    generation: u64,
    audio_pending: Vec<u8>,
    /// Running time of the first sample in `audio_pending`, ns (`None`: not known).
    audio_pending_rt: Option<u64>,
    /// Running time of the picture last pulled, ns: where this tick's sound starts.
    video_rt: Option<u64>,
    /// Audio kept at most this many bytes ahead (jitter + 200 ms).
    audio_cap: usize,
    /// Bytes of one second of sound (all channels).
    bytes_per_s: usize,
    /// Bytes of one sample of every channel.
    frame_bytes: usize,
}

/// The running time (ns) of a sample's buffer, from its segment; `None` without a time.
fn running_time_ns(sample: &gst::Sample) -> Option<u64> {
    let pts = sample.buffer()?.pts()?;
    let seg = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
    seg.to_running_time(pts).map(gst::ClockTime::nseconds)
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
            audio_pending_rt: None,
            video_rt: None,
            audio_cap,
            bytes_per_s: audio_bytes_per_s.max(1),
            frame_bytes: frame_bytes.max(1),
        }
    }

    /// Whole samples' bytes in `ns` of sound.
    fn bytes_in(&self, ns: u64) -> usize {
        let b = (u128::from(ns) * self.bytes_per_s as u128 / 1_000_000_000) as usize;
        b - b % self.frame_bytes
    }

    /// Nanoseconds of sound in `bytes`.
    fn ns_in(&self, bytes: usize) -> u64 {
        (bytes as u128 * 1_000_000_000 / self.bytes_per_s as u128) as u64
    }

    /// Appends a pulled buffer of sound starting at running time `rt`: a gap after what is
    /// pending becomes silence (at most a second), an overlap is cut from the new buffer.
    fn append_audio(&mut self, data: &[u8], rt: Option<u64>) {
        let (Some(rt), Some(start)) = (rt, self.audio_pending_rt) else {
            if self.audio_pending.is_empty() {
                self.audio_pending_rt = rt;
            }
            self.audio_pending.extend_from_slice(data);
            return;
        };
        let expected = start + self.ns_in(self.audio_pending.len());
        if rt > expected + LIP_SYNC_TOLERANCE_NS {
            let gap = self.bytes_in((rt - expected).min(1_000_000_000));
            self.audio_pending.resize(self.audio_pending.len() + gap, 0);
            self.audio_pending.extend_from_slice(data);
        } else if rt + LIP_SYNC_TOLERANCE_NS < expected {
            let skip = self.bytes_in(expected - rt).min(data.len());
            self.audio_pending.extend_from_slice(&data[skip..]);
        } else {
            self.audio_pending.extend_from_slice(data);
        }
    }

    /// Brings what is pending to start at the picture's running time: older sound dropped,
    /// sound that starts later preceded by silence. Needs both times; otherwise as it is.
    fn align_audio(&mut self) {
        let (Some(v), Some(a)) = (self.video_rt, self.audio_pending_rt) else {
            return;
        };
        // Times this far apart are not one clock (a feed that stamps its streams apart):
        // arrival order is all there is.
        if a.abs_diff(v) >= MAX_ALIGN_NS {
            return;
        }
        if a + LIP_SYNC_TOLERANCE_NS < v {
            let drop = self.bytes_in(v - a).min(self.audio_pending.len());
            self.audio_pending.drain(..drop);
            self.audio_pending_rt = Some(a + self.ns_in(drop));
        } else if a > v + LIP_SYNC_TOLERANCE_NS {
            let pad = self.bytes_in(a - v);
            self.audio_pending
                .splice(0..0, std::iter::repeat_n(0u8, pad));
            self.audio_pending_rt = Some(a - self.ns_in(pad));
        }
    }

    /// Takes `n` bytes off the front of what is pending into `out`.
    fn take_audio(&mut self, out: &mut Vec<u8>, n: usize) {
        out.extend(self.audio_pending.drain(..n));
        let took = self.ns_in(n);
        if let Some(rt) = self.audio_pending_rt.as_mut() {
            *rt += took;
        }
        if self.audio_pending.is_empty() {
            self.audio_pending_rt = None;
        }
    }
}

impl Source for LiveSource {
    fn state(&self) -> SourceState {
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
            self.audio_pending_rt = None;
            self.video_rt = None;
        }
        let Some(sample) = b
            .video
            .try_pull_sample(gst::ClockTime::from_nseconds(wait.as_nanos() as u64))
        else {
            return VideoPull::NotYet;
        };
        self.video_rt = running_time_ns(&sample);
        match sample.buffer_owned() {
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
            self.align_audio();
            if self.audio_pending.len() >= bytes {
                self.take_audio(out, bytes);
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match b
                .audio
                .try_pull_sample(gst::ClockTime::from_nseconds(left.as_nanos() as u64))
            {
                Some(sample) => {
                    let rt = running_time_ns(&sample);
                    if let Some(map) = sample.buffer().and_then(|b| b.map_readable().ok()) {
                        self.append_audio(map.as_slice(), rt);
                    }
                    // Never more than the jitter's worth ahead, whatever the times say.
                    if self.audio_pending.len() > self.audio_cap {
                        let extra = self.audio_pending.len() - self.audio_cap;
                        let extra = extra - extra % self.frame_bytes;
                        self.audio_pending.drain(..extra);
                        let dropped = self.ns_in(extra);
                        if let Some(rt) = self.audio_pending_rt.as_mut() {
                            *rt += dropped;
                        }
                    }
                }
                None => {
                    // Short: hand out what there is; the switcher pads with silence.
                    let take = self.audio_pending.len().min(bytes);
                    let take = take - take % self.frame_bytes;
                    self.take_audio(out, take);
                    return true;
                }
            }
        }
    }

    fn on_air(&mut self) {
        // The recording of the window starts (idempotent).
        if let Some(r) = &self.shared.recording {
            r.on_air();
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
