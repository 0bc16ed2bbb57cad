//! The pure edit core for operators' live edits of one broadcast day: insert, overwrite,
//! move, remove, replace, trim and early end, with ripple up to the next hard start, slate
//! and filler absorption, and the frozen past of a day on air.
//!
//! Owns: the edit vocabulary ([`EditOp`], [`Position`], [`EditContext`], [`EditOutcome`]),
//! [`apply`], the error type ([`EditError`]), [`splice`] (undo while on air), the problems
//! an edit introduced ([`new_problems`]) and the constructors of inserted items
//! ([`work_item`], [`live_item`]).
//!
//! Rules: time is integer frames from `day.start` at `day.rate`; every start is converted
//! back with `rate.add(day.start, off)` so it stays on a frame boundary. A valid day stays
//! exactly midnight→midnight and contiguous after every op. Pinned items and `day.end` keep
//! their instants; items ending at or before [`EditContext::cut`] are frozen, the item
//! spanning it is on air. Nothing here reads a clock or does I/O.
//!
//! Does not own: persistence, the edit history, catalog checks (see
//! [`super::validate::validate_day`]) or the REST mapping (see [`EditError::kind`]).

mod describe;
mod error;
mod items;
mod ops;
mod problems;
mod splice;
mod timeline;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use super::{Day, DayItem};

pub use error::EditError;
pub use items::{MANUAL_BLOCK, live_item, work_item};
pub use problems::new_problems;
pub use splice::{same_airing, splice};

/// Where an item goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Right before item `i` (0-based), at its start.
    Before(usize),
    /// Right after item `i` (0-based), at its end.
    After(usize),
    /// At an instant, which must be an item boundary (or the day's end) unless the op splits.
    At(DateTime<Utc>),
}

/// One operator edit of a day. Indices are 0-based positions in the day as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// Ripple insert: following items move later up to the next hard start. With `split`, an
    /// [`Position::At`] inside an item trims that item to end there; its remainder is dropped.
    Insert {
        /// The new item (its `frames` is its length; `start` is ignored).
        item: DayItem,
        /// Where it goes.
        at: Position,
        /// Split the item spanning an `At` instant instead of refusing.
        split: bool,
    },
    /// Puts `item` over `[at, at + frames)`; nothing outside that span moves.
    Overwrite {
        /// The new item (its `frames` is its length).
        item: DayItem,
        /// Its start.
        at: DateTime<Utc>,
    },
    /// Removes item `from` and inserts it at `to` (ripple at both places). The moved item
    /// loses its hard start.
    Move {
        /// Index of the item.
        from: usize,
        /// Where it goes (a boundary of the day as given).
        to: Position,
    },
    /// Removes an item; following items move earlier up to the next hard start. Removing the
    /// item on air means ending it at the cut.
    Remove {
        /// Index of the item.
        index: usize,
    },
    /// A new item in the same place (keeping its hard start, if any); the length
    /// difference ripples.
    Replace {
        /// Index of the item.
        index: usize,
        /// The new item.
        item: DayItem,
    },
    /// A new in-point and/or length; the length difference ripples.
    Trim {
        /// Index of the item.
        index: usize,
        /// New in-point, frames into the media.
        in_frames: Option<u64>,
        /// New length, frames.
        frames: Option<u64>,
    },
    /// Ends item `index` early at `at` (a skip); following items move earlier up to the
    /// next hard start.
    EndAt {
        /// Index of the item.
        index: usize,
        /// The new end (a frame boundary inside the item).
        at: DateTime<Utc>,
    },
}

/// What an edit may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditContext {
    /// Earliest instant an edit may take effect (now plus a lead, on a frame boundary);
    /// `None` for a day not yet on air.
    pub cut: Option<DateTime<Utc>>,
    /// Template of the slate that closes gaps: title, source, section and block are used;
    /// its length is ignored.
    pub slate: DayItem,
}

/// The result of a successful edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditOutcome {
    /// The edited day.
    pub day: Day,
    /// Existing items the edit removed as a side effect (cut off at a hard start, covered by
    /// an overwrite, split remainders, removed filler). Slates are counted in
    /// `slate_frames` instead.
    pub dropped: Vec<DayItem>,
    /// Indices in the new day of items the edit cut short: existing items shortened by a
    /// ripple, split, overwrite or early end, and an inserted item cut at a hard start
    /// (slates excluded: see `slate_frames`).
    pub shortened: Vec<usize>,
    /// Slate frames added (+) or absorbed (−).
    pub slate_frames: i64,
}

/// Applies `op` to `day` under `ctx`. Pure: `day` is not changed.
pub fn apply(day: &Day, op: &EditOp, ctx: &EditContext) -> Result<EditOutcome, EditError> {
    let mut d = timeline::Draft::new(day, ctx);
    match op {
        EditOp::Insert { item, at, split } => ops::insert(&mut d, item, at, *split)?,
        EditOp::Overwrite { item, at } => ops::overwrite(&mut d, item, *at)?,
        EditOp::Move { from, to } => ops::move_item(&mut d, *from, to)?,
        EditOp::Remove { index } => ops::remove(&mut d, *index)?,
        EditOp::Replace { index, item } => ops::replace(&mut d, *index, item)?,
        EditOp::Trim {
            index,
            in_frames,
            frames,
        } => ops::trim(&mut d, *index, *in_frames, *frames)?,
        EditOp::EndAt { index, at } => ops::end_at(&mut d, *index, *at)?,
    }
    d.finish()
}
