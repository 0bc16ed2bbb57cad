//! Splicing two versions at the cut ("undo" while on air): the same airing keeps the
//! proposed version; a different airing is cut at the seam and resumed with its in-point
//! advanced.

use super::*;
use crate::rundown::edit::{same_airing, splice};

#[test]
fn same_airing_takes_the_proposed_length() {
    let current = long_day();
    // The proposed version gives 上午 five hours (12:00→13:00); 下午 is cut at 20:00.
    let proposed = ok(
        &current,
        EditOp::Trim {
            index: 1,
            in_frames: None,
            frames: Some(5 * HOUR),
        },
        &ctx(None),
    )
    .day;
    assert_eq!(
        layout(&proposed)[1..4],
        [
            row("上午", 8 * HOUR, 5 * HOUR),
            row("下午", 13 * HOUR, 7 * HOUR),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert!(same_airing(&current.items[1], &proposed.items[1]));
    let s = splice(&current, &proposed, at(10, 0, 0));
    assert_sound(&s);
    assert_eq!(s, proposed);
    assert_eq!(s.items[1].frames, 5 * HOUR);
}

#[test]
fn different_airing_cuts_the_seam_and_advances_the_in_point() {
    let original = long_day();
    // At 10:00 上午 was skipped: 下午 started at 10:00.
    let current = ok(
        &original,
        EditOp::EndAt {
            index: 1,
            at: at(10, 0, 0),
        },
        &ctx(Some(at(10, 0, 0))),
    )
    .day;
    // At 10:30 the operator undoes it: back to the original from 10:30.
    let s = splice(&current, &original, at(10, 30, 0));
    assert_sound(&s);
    assert!(!same_airing(&current.items[2], &original.items[1]));
    assert_eq!(
        layout(&s),
        [
            row("晨间", 0, 8 * HOUR),
            row("上午", 8 * HOUR, 2 * HOUR),
            row("下午", 10 * HOUR, 30 * MIN),
            row("上午", 10 * HOUR + 30 * MIN, HOUR + 30 * MIN),
            row("下午", 12 * HOUR, 7 * HOUR + 30 * MIN),
            row("垫片A", 19 * HOUR + 30 * MIN, 10 * MIN),
            row("等待画面", 19 * HOUR + 40 * MIN, 20 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
            row("夜间", 22 * HOUR, 2 * HOUR),
        ]
    );
    // Current's 下午 ends at the seam; original's 上午 resumes 2.5 h into the work.
    assert!(s.items[2].cut);
    assert_eq!(s.items[2].in_frames, 0);
    assert_eq!(s.items[3].in_frames, 2 * HOUR + 30 * MIN);
    assert!(s.items[3].cut);
}

#[test]
fn live_resumes_without_an_in_point() {
    let current = long_day();
    let mut proposed = long_day();
    proposed.items[5] = DayItem {
        start: proposed.items[5].start,
        ..live(8, "海底", 2 * HOUR)
    };
    let s = splice(&current, &proposed, at(21, 0, 0));
    assert_sound(&s);
    assert_eq!(
        layout(&s)[5..],
        [
            row("直播", 20 * HOUR, HOUR),
            row("海底", 21 * HOUR, HOUR),
            row("夜间", 22 * HOUR, 2 * HOUR),
        ]
    );
    assert_eq!(s.items[6].in_frames, 0);
    // A cut outside the day takes one side whole.
    assert_eq!(splice(&current, &proposed, current.start), proposed);
    assert_eq!(splice(&current, &proposed, current.end), current);
}
