//! Each [`super::EditOp`] as a change of the [`Draft`]: the checks against the frozen past
//! and the on-air item, the structural change, and the change points the ripple starts
//! from. Overwrite is the one op that does not ripple.

use chrono::{DateTime, Utc};

use super::super::{DayItem, ItemKind};
use super::timeline::{Draft, Slot, State, has_media_position};
use super::{EditError, Position};

fn check_length(item: &DayItem) -> Result<(), EditError> {
    if item.frames == 0 {
        return Err(EditError::invalid(
            "frames",
            format!("“{}”的时长为零", item.title),
        ));
    }
    Ok(())
}

fn new_slot(item: &DayItem, orig: Option<usize>) -> Slot {
    Slot {
        item: item.clone(),
        orig,
        floating: true,
        added: orig.is_none(),
        shortened: false,
    }
}

/// Trims the item of slot `k` (index `k` of the day as given) to end at `off`; its
/// remainder is dropped.
fn split_at(d: &mut Draft<'_>, k: usize, off: u64) {
    let s = d.start_of(k);
    let mut rest = d.slots[k].item.clone();
    rest.start = d.instant(off);
    rest.frames = d.end_of(k) - off;
    if has_media_position(rest.kind) {
        rest.in_frames += off - s;
    }
    d.shorten(k, off - s);
    d.drop_item(rest);
}

pub(super) fn insert(
    d: &mut Draft<'_>,
    item: &DayItem,
    at: &Position,
    split: bool,
) -> Result<(), EditError> {
    check_length(item)?;
    let r = d.resolve(at, split)?;
    if let Some(k) = r.split {
        split_at(d, k, r.off);
    }
    d.slots.insert(r.pos, new_slot(item, None));
    d.ripple_from(r.pos, r.off);
    Ok(())
}

pub(super) fn overwrite(
    d: &mut Draft<'_>,
    item: &DayItem,
    at: DateTime<Utc>,
) -> Result<(), EditError> {
    check_length(item)?;
    let a = d.boundary_off(at, "at")?;
    let e = a + item.frames;
    if e > d.total() {
        return Err(EditError::invalid(
            "frames",
            format!(
                "“{}”自 {} 起 {} 帧，超过当天结束",
                item.title,
                d.wall_off(a),
                item.frames
            ),
        ));
    }
    if let Some(c) = d.cut_off()
        && (a as i64) < c
    {
        return Err(d.too_late(
            format!("在 {} 覆盖为“{}”", d.wall_off(a), item.title),
            d.cut_clamped(),
        ));
    }
    let mut new = item.clone();
    new.start = d.instant(a);
    let new = new_slot(&new, None);
    let old = std::mem::take(&mut d.slots);
    let mut out = Vec::with_capacity(old.len() + 2);
    let mut placed = false;
    for mut slot in old {
        let s = d.off(slot.item.start).max(0) as u64;
        let end = s + slot.item.frames;
        if end <= a || s >= e {
            if s >= e && !placed {
                placed = true;
                out.push(new.clone());
            }
            out.push(slot);
            continue;
        }
        let covered = end.min(e) - s.max(a);
        let is_slate = slot.item.kind == ItemKind::Slate;
        if is_slate {
            d.slate_frames -= covered as i64;
        }
        if s < a {
            let mut head = slot.clone();
            head.item.frames = a - s;
            if !is_slate {
                head.item.cut = true;
                head.shortened = true;
            }
            out.push(head);
        }
        if !placed {
            placed = true;
            out.push(new.clone());
        }
        if end > e {
            slot.item.start = d.instant(e);
            slot.item.frames = end - e;
            if has_media_position(slot.item.kind) {
                slot.item.in_frames += e - s;
            }
            if !is_slate {
                slot.item.cut = true;
                slot.shortened = true;
            }
            out.push(slot);
        } else if s >= a && !is_slate {
            d.dropped.push(slot.item);
        }
    }
    if !placed {
        out.push(new);
    }
    d.slots = out;
    Ok(())
}

pub(super) fn move_item(d: &mut Draft<'_>, from: usize, to: &Position) -> Result<(), EditError> {
    d.check_free(from, "移动")?;
    let r = d.resolve(to, false)?;
    if r.pos == from || r.pos == from + 1 {
        return Err(EditError::invalid(
            "to",
            format!("{}的位置没有改变", d.title(from)),
        ));
    }
    let s = d.start_of(from);
    let mut slot = d.slots.remove(from);
    slot.item.pinned = false;
    slot.floating = true;
    slot.added = true;
    if r.pos > from {
        d.slots.insert(r.pos - 1, slot);
        d.ripple_from(from, s);
        d.ripple_from(r.pos - 1, r.off);
    } else {
        d.slots.insert(r.pos, slot);
        d.ripple_from(r.pos, r.off);
        d.ripple_from(from + 1, s);
    }
    Ok(())
}

pub(super) fn remove(d: &mut Draft<'_>, index: usize) -> Result<(), EditError> {
    d.check_index(index)?;
    match d.state(index) {
        State::Frozen => Err(d.aired(index)),
        State::OnAir => {
            let cut = d.instant(d.cut_clamped());
            end_at(d, index, cut)
        }
        State::Free => {
            let s = d.start_of(index);
            d.slots.remove(index);
            d.ripple_from(index, s);
            Ok(())
        }
    }
}

pub(super) fn replace(d: &mut Draft<'_>, index: usize, item: &DayItem) -> Result<(), EditError> {
    d.check_free(index, "替换")?;
    check_length(item)?;
    let s = d.start_of(index);
    let mut slot = new_slot(item, Some(index));
    slot.item.pinned = d.day.items[index].pinned;
    slot.item.start = d.instant(s);
    d.slots[index] = slot;
    d.ripple_from(index, s);
    Ok(())
}

pub(super) fn trim(
    d: &mut Draft<'_>,
    index: usize,
    in_frames: Option<u64>,
    frames: Option<u64>,
) -> Result<(), EditError> {
    d.check_index(index)?;
    if in_frames.is_none() && frames.is_none() {
        return Err(EditError::invalid("frames", "未给出新的入点或时长"));
    }
    if frames == Some(0) {
        return Err(EditError::invalid(
            "frames",
            format!("{}的时长不能为零", d.title(index)),
        ));
    }
    let s = d.start_of(index);
    let old = &d.day.items[index];
    match d.state(index) {
        State::Frozen => return Err(d.aired(index)),
        State::OnAir => {
            if in_frames.is_some_and(|i| i != old.in_frames) {
                return Err(d.on_air(index, "修改入点"));
            }
            if let Some(f) = frames
                && ((s + f) as i64) < d.cut_off().unwrap_or(0)
            {
                return Err(d.too_late(
                    format!("在 {} 结束{}", d.wall_off(s + f), d.title(index)),
                    d.cut_clamped(),
                ));
            }
        }
        State::Free => {}
    }
    let slot = &mut d.slots[index];
    if let Some(i) = in_frames {
        slot.item.in_frames = i;
    }
    if let Some(f) = frames {
        slot.item.frames = f;
    }
    slot.floating = true;
    d.ripple_from(index, s);
    Ok(())
}

pub(super) fn end_at(d: &mut Draft<'_>, index: usize, at: DateTime<Utc>) -> Result<(), EditError> {
    d.check_index(index)?;
    if d.state(index) == State::Frozen {
        return Err(d.aired(index));
    }
    let off = d.boundary_off(at, "at")?;
    let (s, e) = (d.start_of(index), d.end_of(index));
    if let Some(c) = d.cut_off()
        && (off as i64) < c
    {
        return Err(d.too_late(
            format!("在 {} 结束{}", d.wall_off(off), d.title(index)),
            d.cut_clamped(),
        ));
    }
    if off <= s || off > e {
        return Err(EditError::invalid(
            "at",
            format!(
                "{} 不在{}（{}–{}）之内，只能提前结束",
                d.wall_off(off),
                d.title(index),
                d.wall_off(s),
                d.wall_off(e)
            ),
        ));
    }
    if off == e {
        return Ok(());
    }
    d.shorten(index, off - s);
    d.ripple_from(index + 1, off);
    Ok(())
}
