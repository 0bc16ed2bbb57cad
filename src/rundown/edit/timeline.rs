//! The working copy of a day during one edit ([`Draft`]): frame offsets, the frozen /
//! on-air / free state of each item, item boundaries, and the ripple-and-absorb pass that
//! closes every touched run up to its next hard start.
//!
//! Ripple: a run starts at a change point (a position and a frame offset) and ends at the
//! next pinned item that did not move (or the day's end). Its items are laid back to back.
//! Overflow is absorbed first by shrinking slates and removing whole filler clips (from the
//! end backwards), then by cutting: the item straddling the limit is shortened, items at or
//! after it are dropped. A shortfall becomes slate right before the limit, merged into an
//! adjacent slate when there is one.

use std::mem;

use chrono::{DateTime, Utc};

use super::super::time::wall_time;
use super::super::{Day, DayItem, ItemKind};
use super::{EditContext, EditError, EditOutcome, Position};

/// One item of the working copy.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub item: DayItem,
    /// Index in the day as given, for existing items.
    pub orig: Option<usize>,
    /// Laid out by the ripple even when pinned (new, moved, replaced or trimmed).
    pub floating: bool,
    /// Placed by the op (inserted or moved): dropping it means there was no room.
    pub added: bool,
    /// An existing item made shorter.
    pub shortened: bool,
}

/// Where an item stands relative to the cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Ends at or before the cut.
    Frozen,
    /// Spans the cut.
    OnAir,
    /// Starts at or after the cut.
    Free,
}

/// A resolved [`Position`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Resolved {
    /// Insertion index in the day as given.
    pub pos: usize,
    /// Frame offset of the boundary.
    pub off: u64,
    /// The item spanning the instant, to be split there.
    pub split: Option<usize>,
}

/// The working copy.
pub(super) struct Draft<'a> {
    pub day: &'a Day,
    pub ctx: &'a EditContext,
    pub slots: Vec<Slot>,
    pub dropped: Vec<DayItem>,
    pub slate_frames: i64,
    /// Change points: (position in `slots` after all structural changes, start offset).
    regions: Vec<(usize, u64)>,
    /// An added item did not fit before this limit (index of the pin in the day as given).
    no_room: Option<(Option<usize>, String)>,
}

/// Media kinds whose in-point advances when their head is cut.
pub(super) fn has_media_position(kind: ItemKind) -> bool {
    matches!(kind, ItemKind::Work | ItemKind::Event | ItemKind::Filler)
}

impl<'a> Draft<'a> {
    pub fn new(day: &'a Day, ctx: &'a EditContext) -> Self {
        Draft {
            day,
            ctx,
            slots: day
                .items
                .iter()
                .enumerate()
                .map(|(i, it)| Slot {
                    item: it.clone(),
                    orig: Some(i),
                    floating: false,
                    added: false,
                    shortened: false,
                })
                .collect(),
            dropped: Vec::new(),
            slate_frames: 0,
            regions: Vec::new(),
            no_room: None,
        }
    }

    /// Length of the day in frames.
    pub fn total(&self) -> u64 {
        self.day.frames()
    }

    /// Frame offset of an instant (may be negative or past the day).
    pub fn off(&self, t: DateTime<Utc>) -> i64 {
        self.day.rate.frames_between(self.day.start, t)
    }

    /// The instant at a frame offset.
    pub fn instant(&self, off: u64) -> DateTime<Utc> {
        self.day.rate.add(self.day.start, off)
    }

    /// `20:00:00` for an offset.
    pub fn wall_off(&self, off: u64) -> String {
        wall_time(self.day.tz(), self.instant(off))
    }

    /// `20:00:00` for an instant.
    pub fn wall(&self, t: DateTime<Utc>) -> String {
        wall_time(self.day.tz(), t)
    }

    /// Start offset of item `i` of the day as given.
    pub fn start_of(&self, i: usize) -> u64 {
        self.off(self.day.items[i].start).max(0) as u64
    }

    /// End offset of item `i` of the day as given.
    pub fn end_of(&self, i: usize) -> u64 {
        self.start_of(i) + self.day.items[i].frames
    }

    /// `第 N 条“标题”`.
    pub fn title(&self, i: usize) -> String {
        format!("第 {} 条“{}”", i + 1, self.day.items[i].title)
    }

    /// The cut as a frame offset.
    pub fn cut_off(&self) -> Option<i64> {
        self.ctx.cut.map(|c| self.off(c))
    }

    /// Frozen, on air or free.
    pub fn state(&self, i: usize) -> State {
        match self.cut_off() {
            None => State::Free,
            Some(c) if self.end_of(i) as i64 <= c => State::Frozen,
            Some(c) if (self.start_of(i) as i64) < c => State::OnAir,
            Some(_) => State::Free,
        }
    }

    /// Errs unless `i` names an item.
    pub fn check_index(&self, i: usize) -> Result<(), EditError> {
        if i < self.day.items.len() {
            Ok(())
        } else {
            Err(EditError::NoSuchItem {
                number: i + 1,
                count: self.day.items.len(),
            })
        }
    }

    pub fn aired(&self, i: usize) -> EditError {
        EditError::Aired {
            index: i,
            item: self.title(i),
            from: self.wall_off(self.start_of(i)),
            to: self.wall_off(self.end_of(i)),
        }
    }

    pub fn on_air(&self, i: usize, action: &str) -> EditError {
        EditError::OnAir {
            index: i,
            item: self.title(i),
            from: self.wall_off(self.start_of(i)),
            action: action.into(),
        }
    }

    pub fn too_late(&self, what: String, earliest: u64) -> EditError {
        EditError::TooLate {
            what,
            earliest: self.instant(earliest),
            earliest_wall: self.wall_off(earliest),
        }
    }

    /// The cut as an offset clamped to the day (0 when none).
    pub fn cut_clamped(&self) -> u64 {
        self.cut_off()
            .map(|c| c.clamp(0, self.total() as i64) as u64)
            .unwrap_or(0)
    }

    /// Errs unless item `i` may be changed as a whole (neither frozen nor on air).
    pub fn check_free(&self, i: usize, action: &str) -> Result<(), EditError> {
        self.check_index(i)?;
        match self.state(i) {
            State::Frozen => Err(self.aired(i)),
            State::OnAir => Err(self.on_air(i, action)),
            State::Free => Ok(()),
        }
    }

    /// Frame offset of `t`, which must be a frame boundary within the day.
    pub fn boundary_off(&self, t: DateTime<Utc>, field: &'static str) -> Result<u64, EditError> {
        let off = self.off(t);
        if off < 0 || off as u64 > self.total() {
            return Err(EditError::invalid(
                field,
                format!("{} 不在当天范围内", self.wall(t)),
            ));
        }
        if self.instant(off as u64) != t {
            return Err(EditError::invalid(
                field,
                format!("{} 不在帧边界上", self.wall(t)),
            ));
        }
        Ok(off as u64)
    }

    /// Resolves a position in the day as given; checks it against the cut.
    pub fn resolve(&self, at: &Position, split: bool) -> Result<Resolved, EditError> {
        let n = self.day.items.len();
        let r = match at {
            Position::Before(i) => {
                self.check_index(*i)?;
                Resolved {
                    pos: *i,
                    off: self.start_of(*i),
                    split: None,
                }
            }
            Position::After(i) => {
                self.check_index(*i)?;
                Resolved {
                    pos: i + 1,
                    off: self.end_of(*i),
                    split: None,
                }
            }
            Position::At(t) => {
                let off = self.boundary_off(*t, "at")?;
                if let Some(i) = (0..n).find(|&i| self.start_of(i) == off) {
                    Resolved {
                        pos: i,
                        off,
                        split: None,
                    }
                } else if off == self.total() || n == 0 {
                    Resolved {
                        pos: n,
                        off,
                        split: None,
                    }
                } else {
                    let k = (0..n)
                        .find(|&i| self.start_of(i) < off && off < self.end_of(i))
                        .ok_or_else(|| {
                            EditError::invalid("at", format!("{} 不在任何节目内", self.wall(*t)))
                        })?;
                    if !split {
                        return Err(EditError::Overlap {
                            index: Some(k),
                            message: format!(
                                "{} 落在{}（{}–{}）中间，会与其重叠；请选择节目边界或拆分插入",
                                self.wall(*t),
                                self.title(k),
                                self.wall_off(self.start_of(k)),
                                self.wall_off(self.end_of(k))
                            ),
                        });
                    }
                    Resolved {
                        pos: k + 1,
                        off,
                        split: Some(k),
                    }
                }
            }
        };
        self.check_insertable(&r)?;
        Ok(r)
    }

    /// Errs when an insertion at `r` would take effect before the cut.
    fn check_insertable(&self, r: &Resolved) -> Result<(), EditError> {
        let Some(c) = self.cut_off() else {
            return Ok(());
        };
        if r.off as i64 >= c {
            return Ok(());
        }
        let n = self.day.items.len();
        let at = r.split.unwrap_or(r.pos.min(n.saturating_sub(1)));
        if n == 0 {
            return Err(self.too_late("插入".into(), self.cut_clamped()));
        }
        match self.state(at) {
            State::OnAir => {
                let earliest = if r.split.is_some() {
                    self.cut_clamped()
                } else {
                    self.end_of(at)
                };
                Err(self.too_late(
                    format!("不能在正在播出的{}之前插入", self.title(at)),
                    earliest,
                ))
            }
            State::Frozen => Err(self.aired(at)),
            State::Free => Err(self.too_late("插入".into(), self.cut_clamped())),
        }
    }

    /// Shortens the item in slot `k` to `frames` (counted as slate or marked cut).
    pub fn shorten(&mut self, k: usize, frames: u64) {
        let s = &mut self.slots[k];
        let by = s.item.frames.saturating_sub(frames);
        if by == 0 {
            return;
        }
        s.item.frames = frames;
        if s.item.kind == ItemKind::Slate {
            self.slate_frames -= by as i64;
        } else {
            s.item.cut = true;
            s.shortened = true;
        }
    }

    /// Records an existing item removed as a side effect.
    pub fn drop_item(&mut self, item: DayItem) {
        if item.kind == ItemKind::Slate {
            self.slate_frames -= item.frames as i64;
        } else {
            self.dropped.push(item);
        }
    }

    /// Marks a change point: slots from `pos` on are laid out from offset `off`.
    pub fn ripple_from(&mut self, pos: usize, off: u64) {
        self.regions.push((pos, off));
    }

    /// First index at or after `pos` of a pinned slot that did not move, or the length.
    fn run_end(&self, pos: usize) -> usize {
        (pos..self.slots.len())
            .find(|&k| self.slots[k].item.pinned && !self.slots[k].floating)
            .unwrap_or(self.slots.len())
    }

    /// Ripples every change point and builds the outcome.
    pub fn finish(mut self) -> Result<EditOutcome, EditError> {
        let mut regions = mem::take(&mut self.regions);
        regions.sort_by_key(|r| r.0);
        let mut merged: Vec<(usize, u64)> = Vec::new();
        let mut end = 0;
        for (pos, off) in regions {
            if merged.is_empty() || pos > end {
                merged.push((pos, off));
                end = self.run_end(pos);
            }
        }
        for &(pos, off) in merged.iter().rev() {
            self.fit(pos, off);
        }
        if let Some((pin, what)) = self.no_room.take() {
            let message = match pin {
                Some(p) => format!(
                    "“{what}”放不下：{}在 {} 固定开始，之前没有空间",
                    self.title(p),
                    self.wall_off(self.start_of(p))
                ),
                None => format!("“{what}”放不下：已到当天结束"),
            };
            return Err(EditError::Overlap {
                index: pin,
                message,
            });
        }
        let shortened = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.shortened)
            .map(|(i, _)| i)
            .collect();
        let mut day = self.day.clone();
        day.items = self.slots.into_iter().map(|s| s.item).collect();
        Ok(EditOutcome {
            day,
            dropped: self.dropped,
            shortened,
            slate_frames: self.slate_frames,
        })
    }

    /// Lays out the run starting at slot `a`, offset `s0`, up to its limit.
    fn fit(&mut self, a: usize, s0: u64) {
        let mut b = self.run_end(a);
        let limit_orig = self.slots.get(b).and_then(|s| s.orig);
        let limit = match self.slots.get(b) {
            Some(s) => self.off(s.item.start),
            None => self.total() as i64,
        };
        let total: u64 = self.slots[a..b].iter().map(|s| s.item.frames).sum();
        let mut over = s0 as i64 + total as i64 - limit;

        // Absorb: slates shrink, whole filler clips go, from the end backwards. Items the
        // op placed or changed (floating) are the operator's and are not absorbed.
        let mut k = b;
        while over > 0 && k > a {
            k -= 1;
            if self.slots[k].floating {
                continue;
            }
            match self.slots[k].item.kind {
                ItemKind::Slate => {
                    let f = self.slots[k].item.frames;
                    let take = (over as u64).min(f);
                    over -= take as i64;
                    if take == f {
                        let s = self.slots.remove(k);
                        self.slate_frames -= f as i64;
                        self.note_removed(&s, limit_orig);
                        b -= 1;
                    } else {
                        self.shorten(k, f - take);
                    }
                }
                ItemKind::Filler => {
                    let s = self.slots.remove(k);
                    over -= s.item.frames as i64;
                    self.note_removed(&s, limit_orig);
                    self.drop_item(s.item);
                    b -= 1;
                }
                _ => {}
            }
        }

        // Cut: shorten the item straddling the limit, drop what starts at or after it.
        if over > 0 {
            let mut cursor = s0 as i64;
            let mut k = a;
            while k < b {
                let f = self.slots[k].item.frames as i64;
                if cursor >= limit {
                    let s = self.slots.remove(k);
                    self.note_removed(&s, limit_orig);
                    self.drop_item(s.item);
                    b -= 1;
                    continue;
                }
                if cursor + f > limit {
                    self.shorten(k, (limit - cursor) as u64);
                }
                cursor += self.slots[k].item.frames as i64;
                k += 1;
            }
            over = 0;
        }

        // Close a shortfall with slate right before the limit.
        if over < 0 {
            let gap = (-over) as u64;
            self.slate_frames += gap as i64;
            let cut = self.cut_off().unwrap_or(i64::MIN);
            if b > a
                && self.slots[b - 1].item.kind == ItemKind::Slate
                && !self.slots[b - 1].floating
            {
                self.slots[b - 1].item.frames += gap;
            } else if b == a
                && a > 0
                && self.slots[a - 1].item.kind == ItemKind::Slate
                && !self.slots[a - 1].shortened
                && !self.slots[a - 1].floating
                && s0 as i64 > cut
                && self.off(self.slots[a - 1].item.start) + self.slots[a - 1].item.frames as i64
                    == s0 as i64
            {
                self.slots[a - 1].item.frames += gap;
            } else {
                let mut slate = self.ctx.slate.clone();
                slate.kind = ItemKind::Slate;
                slate.frames = gap;
                slate.in_frames = 0;
                slate.work_id = None;
                slate.feed_id = None;
                slate.premiere = false;
                slate.pinned = false;
                slate.cut = false;
                self.slots.insert(
                    b,
                    Slot {
                        item: slate,
                        orig: None,
                        floating: true,
                        added: false,
                        shortened: false,
                    },
                );
                b += 1;
            }
        }

        let mut cursor = s0;
        for k in a..b {
            self.slots[k].item.start = self.instant(cursor);
            cursor += self.slots[k].item.frames;
        }
    }

    fn note_removed(&mut self, s: &Slot, limit: Option<usize>) {
        if s.added && self.no_room.is_none() {
            self.no_room = Some((limit, s.item.title.clone()));
        }
    }
}
