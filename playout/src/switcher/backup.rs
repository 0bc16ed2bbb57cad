//! An item's backup clip: what fills its fallbacks instead of the slate.
//!
//! Owns: the clip's sources (the copy that goes on air, opened when the item is pre-rolled,
//! and the next pass, opened while one plays so a loop costs no frame), looping it
//! frame-exactly, its sound and that sound's level, and giving up on a clip that cannot be
//! played (the switcher then shows the slate). Does not own: when the backup is on air (the
//! switcher's hold and return rules) or the events (the switcher says what fills the air).
//!
//! Every outage plays the clip from its start: when the item's source delivers again the
//! pass on air is retired and the pre-rolled next pass, still at its first frame, waits for
//! the next outage.

use super::pull_frame_audio;
use crate::format::OutputProfile;
use crate::level::Leveller;
use crate::source::{Opener, Source, SourceState, VideoPull};
use gstreamer as gst;
use std::time::Duration;

/// The backup clip of the item on air (see the module docs).
pub(super) struct Backup {
    uri: String,
    /// The pass that is on air, or the one that goes on air at the next outage (at its
    /// first frame).
    playing: Option<Box<dyn Source>>,
    /// The next pass, opened when `playing` went on air.
    next: Option<Box<dyn Source>>,
    /// The clip cannot be played (missing, not media, no picture): the slate instead.
    broken: Option<String>,
    /// Frames of the current pass handed out.
    pos: u64,
    /// The clip's last frame handed out (repeated while a late next pass opens).
    last: Option<gst::Buffer>,
    /// Passes started on air (a loop counts one).
    pub(super) passes: u64,
    /// Frames repeated because the next pass was not ready at a loop.
    pub(super) repeated: u64,
    level: Leveller,
}

/// What the backup gave for a tick.
pub(super) enum BackupPull {
    /// A frame of the clip and its sound.
    Frame(gst::Buffer, Vec<u8>),
    /// Not yet playable (still opening): the slate for now.
    NotReady,
    /// The clip cannot be played (logged once, with why): the slate for the rest of the
    /// item.
    Broken,
}

impl Backup {
    /// A backup for the clip at `uri`, taking over a pass already pre-rolled.
    pub(super) fn new(uri: String, preopened: Option<Box<dyn Source>>, level: Leveller) -> Self {
        Backup {
            uri,
            playing: preopened,
            next: None,
            broken: None,
            pos: 0,
            last: None,
            passes: 0,
            repeated: 0,
            level,
        }
    }

    /// Whether a pass is on air now (the clip is past its first frame).
    pub(super) fn on_air(&self) -> bool {
        self.pos > 0
    }

    /// One frame of the clip, looping it; `retired` takes sources no longer needed.
    pub(super) fn pull(
        &mut self,
        wait: Duration,
        bytes: usize,
        opener: &dyn Opener,
        profile: &OutputProfile,
        retired: &mut Vec<Box<dyn Source>>,
    ) -> BackupPull {
        if self.broken.is_some() {
            return BackupPull::Broken;
        }
        if self.playing.is_none() {
            self.playing = Some(opener.open(&self.uri, 0, profile));
        }
        // At most one loop per tick: a clip that ends at once is broken, not looped forever.
        for _ in 0..2 {
            let Some(src) = self.playing.as_mut() else {
                break;
            };
            match src.state() {
                SourceState::Failed(why) => return self.give_up(why, retired),
                SourceState::Opening => return self.repeat_or(bytes, BackupPull::NotReady),
                SourceState::Ready => {}
            }
            // The next pass opens as this one goes on air, so the loop's join costs no
            // frame.
            if self.pos == 0 && self.next.is_none() {
                self.next = Some(opener.open(&self.uri, 0, profile));
            }
            match src.pull_video(wait) {
                VideoPull::Frame(v) => {
                    let audio = pull_frame_audio(&mut **src, bytes, wait, &mut self.level);
                    if self.pos == 0 {
                        self.passes += 1;
                    }
                    self.pos += 1;
                    self.last = Some(v.clone());
                    return BackupPull::Frame(v, audio);
                }
                VideoPull::NotYet => return self.repeat_or(bytes, BackupPull::NotReady),
                VideoPull::Eos if self.pos == 0 => {
                    return self.give_up("备播素材没有画面".into(), retired);
                }
                VideoPull::Eos => {
                    // The loop: the next pass (pre-rolled at its first frame) takes over in
                    // this same tick.
                    if let Some(done) = self.playing.take() {
                        retired.push(done);
                    }
                    self.playing = self.next.take();
                    self.pos = 0;
                }
            }
        }
        self.repeat_or(bytes, BackupPull::NotReady)
    }

    /// The clip's last frame again with silence when a pass is under way (a decoder
    /// behind, a next pass still opening), else `otherwise`.
    fn repeat_or(&mut self, bytes: usize, otherwise: BackupPull) -> BackupPull {
        match &self.last {
            Some(v) if self.passes > 0 => {
                self.repeated += 1;
                BackupPull::Frame(v.clone(), vec![0; bytes])
            }
            _ => otherwise,
        }
    }

    fn give_up(&mut self, why: String, retired: &mut Vec<Box<dyn Source>>) -> BackupPull {
        tracing::warn!(backup = %self.uri, reason = %why, "backup clip cannot be played: the slate instead");
        retired.extend(self.playing.take());
        retired.extend(self.next.take());
        self.broken = Some(why);
        BackupPull::Broken
    }

    /// The item's source is back: the pass on air is retired and the next outage starts
    /// the clip from its start (the pre-rolled next pass when there is one).
    pub(super) fn rewind(&mut self, retired: &mut Vec<Box<dyn Source>>) {
        if !self.on_air() && self.last.is_none() {
            return;
        }
        if self.on_air() {
            retired.extend(self.playing.take());
            self.playing = self.next.take();
        }
        self.pos = 0;
        self.last = None;
    }

    /// Every source it holds, to be retired (the item left the air).
    pub(super) fn into_sources(self) -> impl Iterator<Item = Box<dyn Source>> {
        self.playing.into_iter().chain(self.next)
    }
}
