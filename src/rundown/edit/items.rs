//! Constructors of the items an operator inserts: a catalog work (optionally with an
//! in-point and a length) and a slow-live feed for a given length. Starts are left unset:
//! [`super::apply`] places them.

use super::super::builder;
use super::super::{DayItem, LiveFeed, Work};

/// The `block` of items placed by an operator's edit.
pub const MANUAL_BLOCK: &str = "人工编排";

/// A work item starting `in_frames` into the media, `frames` long (the rest of the work
/// when `None`); `cut` when it ends before the work does.
pub fn work_item(w: &Work, frames: Option<u64>, in_frames: u64, section: &str) -> DayItem {
    let frames = frames.unwrap_or_else(|| w.frames.saturating_sub(in_frames));
    let mut it = builder::work_item(w, section, MANUAL_BLOCK, frames);
    it.in_frames = in_frames;
    it.cut = in_frames.saturating_add(frames) < w.frames;
    it
}

/// A live item of the feed, `frames` long. Not pinned: an operator's live insert follows
/// the ripple like any other item.
pub fn live_item(f: &LiveFeed, frames: u64, section: &str) -> DayItem {
    let mut it = builder::live_item(f, MANUAL_BLOCK, section);
    it.frames = frames;
    it.pinned = false;
    it
}
