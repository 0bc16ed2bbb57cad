//! A day on air (cut at 10:00 in the long day: 晨间 is frozen, 上午 is on air): what is
//! refused, and what the on-air item still allows (trim/end from the cut on, overwrite).

use super::*;
use crate::rundown::edit::{EditError, Position};

fn on_air() -> EditContext {
    ctx(Some(at(10, 0, 0)))
}

#[test]
fn frozen_items_are_refused() {
    let d = long_day();
    let c = on_air();
    let err = apply(&d, &EditOp::Remove { index: 0 }, &c).expect_err("aired");
    assert_eq!(err.kind(), "aired");
    assert_eq!(
        err.to_string(),
        "第 1 条“晨间” 已播出，不能修改（00:00:00–08:00:00）"
    );
    for op in [
        EditOp::Trim {
            index: 0,
            in_frames: None,
            frames: Some(HOUR),
        },
        EditOp::Replace {
            index: 0,
            item: work(9, "新作", HOUR),
        },
        EditOp::Move {
            from: 0,
            to: Position::After(3),
        },
        EditOp::EndAt {
            index: 0,
            at: at(7, 0, 0),
        },
        EditOp::Insert {
            item: work(9, "新作", HOUR),
            at: Position::Before(0),
            split: false,
        },
    ] {
        let err = apply(&d, &op, &c).expect_err("aired");
        assert_eq!(err.kind(), "aired", "{op:?}");
    }
}

#[test]
fn the_on_air_item_cannot_be_moved_replaced_or_preceded() {
    let d = long_day();
    let c = on_air();
    let mv = apply(
        &d,
        &EditOp::Move {
            from: 1,
            to: Position::After(2),
        },
        &c,
    )
    .expect_err("on air");
    assert_eq!(mv.kind(), "on_air");
    assert_eq!(
        mv.to_string(),
        "第 2 条“上午” 正在播出（08:00:00 起），不能移动"
    );
    let rp = apply(
        &d,
        &EditOp::Replace {
            index: 1,
            item: work(9, "新作", HOUR),
        },
        &c,
    )
    .expect_err("on air");
    assert_eq!(rp.kind(), "on_air");
    let before = apply(
        &d,
        &EditOp::Insert {
            item: work(9, "新作", HOUR),
            at: Position::Before(1),
            split: false,
        },
        &c,
    )
    .expect_err("too late");
    assert_eq!(before.kind(), "too_late");
    assert!(before.to_string().contains("12:00:00"), "{before}");
    // Inserting after it (at 12:00) is fine.
    let after = ok(
        &d,
        EditOp::Insert {
            item: work(9, "新作", 10 * MIN),
            at: Position::After(1),
            split: false,
        },
        &c,
    );
    assert_eq!(after.day.items[2].start, at(12, 0, 0));
    assert_eq!(after.day.items[..2], d.items[..2]);
}

#[test]
fn trim_on_air_to_a_later_instant_ok_and_before_the_cut_refused() {
    let d = long_day();
    let c = on_air();
    let out = ok(
        &d,
        EditOp::Trim {
            index: 1,
            in_frames: None,
            frames: Some(3 * HOUR),
        },
        &c,
    );
    assert_eq!(
        layout(&out.day)[..6],
        [
            row("晨间", 0, 8 * HOUR),
            row("上午", 8 * HOUR, 3 * HOUR),
            row("下午", 11 * HOUR, 7 * HOUR + 30 * MIN),
            row("垫片A", 18 * HOUR + 30 * MIN, 10 * MIN),
            row("等待画面", 18 * HOUR + 40 * MIN, HOUR + 20 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );

    let early = apply(
        &d,
        &EditOp::Trim {
            index: 1,
            in_frames: None,
            frames: Some(HOUR),
        },
        &c,
    )
    .expect_err("too late");
    assert_eq!(early.kind(), "too_late");
    assert_eq!(
        early.to_string(),
        "在 09:00:00 结束第 2 条“上午”：为时已晚，最早只能在 10:00:00 生效"
    );
    let EditError::TooLate { earliest, .. } = early else {
        panic!("too late");
    };
    assert_eq!(earliest, at(10, 0, 0));

    let inpoint = apply(
        &d,
        &EditOp::Trim {
            index: 1,
            in_frames: Some(MIN),
            frames: None,
        },
        &c,
    )
    .expect_err("in-point already aired");
    assert_eq!(inpoint.kind(), "on_air");
    assert_eq!(
        inpoint.to_string(),
        "第 2 条“上午” 正在播出（08:00:00 起），不能修改入点"
    );
}

#[test]
fn end_at_the_cut_ripples_the_next_item_to_start_exactly_at_the_cut() {
    let d = long_day();
    let c = on_air();
    let out = ok(
        &d,
        EditOp::EndAt {
            index: 1,
            at: at(10, 0, 0),
        },
        &c,
    );
    let expect = [
        row("晨间", 0, 8 * HOUR),
        row("上午", 8 * HOUR, 2 * HOUR),
        row("下午", 10 * HOUR, 7 * HOUR + 30 * MIN),
        row("垫片A", 17 * HOUR + 30 * MIN, 10 * MIN),
        row("等待画面", 17 * HOUR + 40 * MIN, 2 * HOUR + 20 * MIN),
        row("直播", 20 * HOUR, 2 * HOUR),
        row("夜间", 22 * HOUR, 2 * HOUR),
    ];
    assert_eq!(layout(&out.day), expect);
    assert_eq!(out.day.items[2].start, c.cut.expect("cut"));
    assert!(out.day.items[1].cut);
    assert_eq!(out.shortened, vec![1]);
    assert_eq!(out.slate_frames, 2 * HOUR as i64);

    // Removing the on-air item means ending it at the cut.
    let rm = ok(&d, EditOp::Remove { index: 1 }, &c);
    assert_eq!(rm.day, out.day);

    let late = apply(
        &d,
        &EditOp::EndAt {
            index: 1,
            at: at(9, 0, 0),
        },
        &c,
    )
    .expect_err("too late");
    assert_eq!(late.kind(), "too_late");
    let past_end = apply(
        &d,
        &EditOp::EndAt {
            index: 1,
            at: at(13, 0, 0),
        },
        &c,
    )
    .expect_err("not inside the item");
    assert_eq!(past_end.kind(), "invalid");
}

#[test]
fn overwrite_across_two_items_keeps_the_timing_after_it() {
    let d = long_day();
    let c = on_air();
    let out = ok(
        &d,
        EditOp::Overwrite {
            item: live(8, "海底", 2 * HOUR),
            at: at(11, 0, 0),
        },
        &c,
    );
    assert_eq!(
        layout(&out.day)[..5],
        [
            row("晨间", 0, 8 * HOUR),
            row("上午", 8 * HOUR, 3 * HOUR),
            row("海底", 11 * HOUR, 2 * HOUR),
            row("下午", 13 * HOUR, 6 * HOUR + 30 * MIN),
            row("垫片A", 19 * HOUR + 30 * MIN, 10 * MIN),
        ]
    );
    assert_eq!(out.day.items[4..], d.items[3..]);
    assert!(out.day.items[1].cut && out.day.items[3].cut);
    assert_eq!(out.day.items[3].in_frames, HOUR);
    assert_eq!(out.shortened, vec![1, 3]);
    assert!(out.dropped.is_empty());
    assert_eq!(out.slate_frames, 0);

    // Covering the filler and the slate whole: the filler is dropped, the slate absorbed.
    let cover = ok(
        &d,
        EditOp::Overwrite {
            item: live(8, "海底", 30 * MIN),
            at: at(19, 30, 0),
        },
        &c,
    );
    assert_eq!(
        layout(&cover.day)[2..5],
        [
            row("下午", 12 * HOUR, 7 * HOUR + 30 * MIN),
            row("海底", 19 * HOUR + 30 * MIN, 30 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert_eq!(cover.dropped.len(), 1);
    assert_eq!(cover.slate_frames, -(20 * MIN as i64));

    // Inside one item: it is split around the overwrite.
    let inside = ok(
        &d,
        EditOp::Overwrite {
            item: live(8, "海底", 30 * MIN),
            at: at(14, 0, 0),
        },
        &c,
    );
    assert_eq!(
        layout(&inside.day)[2..5],
        [
            row("下午", 12 * HOUR, 2 * HOUR),
            row("海底", 14 * HOUR, 30 * MIN),
            row("下午", 14 * HOUR + 30 * MIN, 5 * HOUR),
        ]
    );
    assert_eq!(inside.day.items[4].in_frames, 2 * HOUR + 30 * MIN);

    let late = apply(
        &d,
        &EditOp::Overwrite {
            item: live(8, "海底", 30 * MIN),
            at: at(9, 0, 0),
        },
        &c,
    )
    .expect_err("too late");
    assert_eq!(late.kind(), "too_late");
}
