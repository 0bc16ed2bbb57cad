//! A still source: one picture for as long as the item lasts, with silence. It is what a
//! cue with the source [`crate::cue::SLATE_SOURCE`] plays — the slate *scheduled* as an item
//! (a rundown's closing slate), which is programme, not a fallback.
//!
//! Owns: repeating a prepared house-format frame. Does not own: rendering it (`slate`).

use super::{Source, SourceState, VideoPull};
use gstreamer as gst;
use std::time::Duration;

/// Repeats `frame` forever.
pub struct StillSource {
    frame: gst::Buffer,
}

impl StillSource {
    pub fn new(frame: gst::Buffer) -> Self {
        StillSource { frame }
    }
}

impl Source for StillSource {
    fn state(&self) -> SourceState {
        SourceState::Ready
    }

    fn pull_video(&mut self, _wait: Duration) -> VideoPull {
        VideoPull::Frame(self.frame.clone())
    }

    fn pull_audio(&mut self, out: &mut Vec<u8>, bytes: usize, _wait: Duration) -> bool {
        out.resize(out.len() + bytes, 0);
        true
    }
}
