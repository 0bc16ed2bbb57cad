//! Splicing two versions of a day at the cut: the past from the day on air, the future from
//! another version. This is how "undo" works while a day is on air:
//! `splice(current, earlier_version, cut)`.

use chrono::{DateTime, Utc};

use super::super::{Day, DayItem, ItemKind};
use super::timeline::has_media_position;

/// The same airing of the same thing: same start, kind, work, feed and source (the length
/// may differ).
pub fn same_airing(a: &DayItem, b: &DayItem) -> bool {
    a.start == b.start
        && a.kind == b.kind
        && a.work_id == b.work_id
        && a.feed_id == b.feed_id
        && a.source == b.source
}

/// The day whose items before `cut` are `current`'s and from `cut` on are `proposed`'s.
///
/// At the seam: when the item spanning `cut` is the same airing in both, `proposed`'s
/// version of it is kept (e.g. a new length); otherwise `current`'s spanning item ends at
/// `cut` and `proposed`'s spanning item starts there, its in-point advanced by the frames
/// skipped (works, events and filler; not live or slate). Day bounds come from `current`.
pub fn splice(current: &Day, proposed: &Day, cut: DateTime<Utc>) -> Day {
    let rate = current.rate;
    let off = |t: DateTime<Utc>| rate.frames_between(current.start, t);
    let c = off(cut).clamp(0, current.frames() as i64);
    let spans = |it: &DayItem| off(it.start) < c && off(it.start) + (it.frames as i64) > c;

    let mut items: Vec<DayItem> = current
        .items
        .iter()
        .filter(|it| off(it.start) + it.frames as i64 <= c)
        .cloned()
        .collect();
    let cur_span = current.items.iter().find(|it| spans(it));
    let prop_span = proposed.items.iter().find(|it| spans(it));
    match (cur_span, prop_span) {
        (Some(a), Some(b)) if same_airing(a, b) => items.push(b.clone()),
        _ => {
            if let Some(a) = cur_span {
                let mut a = a.clone();
                a.frames = (c - off(a.start)) as u64;
                if a.kind != ItemKind::Slate {
                    a.cut = true;
                }
                items.push(a);
            }
            if let Some(b) = prop_span {
                let mut b = b.clone();
                let skipped = (c - off(b.start)) as u64;
                b.start = rate.add(current.start, c as u64);
                b.frames -= skipped;
                if has_media_position(b.kind) {
                    b.in_frames += skipped;
                }
                if b.kind != ItemKind::Slate {
                    b.cut = true;
                }
                items.push(b);
            }
        }
    }
    items.extend(
        proposed
            .items
            .iter()
            .filter(|it| off(it.start) >= c)
            .cloned(),
    );
    Day {
        items,
        ..current.clone()
    }
}
