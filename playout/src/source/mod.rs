//! Sources: everything that can own the air for a while.
//!
//! Owns: the `Source` trait the switcher pulls from (one conformed video frame and a frame's
//! worth of audio at a time, never blocking past a bound), the `Opener` that turns a cue
//! into a source, and the slate. Does not own: which source is on air (`switcher`).
//!
//! A source is opened (and pre-rolled) before its slot; its state tells the switcher
//! whether it is still opening, ready, or failed and why. A live, stalling source fits the
//! same trait: it simply has no frame in time, and the switcher holds the last one.

pub mod conform;
pub mod file;
pub mod live;
pub mod slate;
pub mod still;

use crate::format::OutputProfile;
use std::time::Duration;

/// What a source is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceState {
    Opening,
    Ready,
    Failed(String),
}

/// Result of asking for the next video frame.
pub enum VideoPull {
    /// A frame conformed to the house format (I420, house size).
    Frame(gstreamer::Buffer),
    /// Nothing yet (a live source stalled, or a decoder behind).
    NotYet,
    /// The source has no more frames.
    Eos,
}

pub trait Source: Send {
    fn state(&self) -> SourceState;
    /// The next video frame, waiting at most `wait`.
    fn pull_video(&mut self, wait: Duration) -> VideoPull;
    /// Appends up to `bytes` bytes of S16 interleaved house-format audio to `out`, waiting
    /// at most `wait` for more. Returns false once the source's audio has ended (or it has
    /// none): the caller pads with silence.
    fn pull_audio(&mut self, out: &mut Vec<u8>, bytes: usize, wait: Duration) -> bool;
    /// `Some(hold)` for a live source: it cannot seek, so the switcher never re-aligns it
    /// to the item's position nor reopens it at an in-point (it reconnects by itself), and
    /// on a stall holds its last frame for `hold` before the slate. `None` for files.
    fn live_hold(&self) -> Option<Duration> {
        None
    }
    /// Called by the switcher when the source's item goes on air (and again when the next
    /// item of the same live feed takes it over): a live source starts recording its
    /// window. Nothing for files.
    fn on_air(&mut self) {}
}

/// Turns a URI into an opening source. Swappable so tests and future live-source kinds can
/// plug in.
pub trait Opener: Send {
    fn open(&self, uri: &str, in_point_ns: u64, profile: &OutputProfile) -> Box<dyn Source>;
}

/// Opens everything GStreamer can decode (files of any container, HTTP, RTSP, RTMP, SRT…).
pub struct DecodebinOpener;

impl Opener for DecodebinOpener {
    fn open(&self, uri: &str, in_point_ns: u64, profile: &OutputProfile) -> Box<dyn Source> {
        Box::new(file::DecodedSource::open(uri, in_point_ns, profile))
    }
}
