//! Where an item may go: boundaries, splitting inside an item, no room before a pin or the
//! day's end, and the invalid inputs (indices, zero lengths, off-frame instants).

use chrono::Duration;

use super::*;
use crate::rundown::edit::Position;

#[test]
fn insert_at_a_non_boundary_is_refused_unless_split() {
    let d = long_day();
    let op = |split| EditOp::Insert {
        item: work(9, "新作", 30 * MIN),
        at: Position::At(at(9, 0, 0)),
        split,
    };
    let err = apply(&d, &op(false), &ctx(None)).expect_err("overlap");
    assert_eq!(err.kind(), "overlap");
    assert_eq!(
        err.to_string(),
        "09:00:00 落在第 2 条“上午”（08:00:00–12:00:00）中间，会与其重叠；请选择节目边界或拆分插入"
    );

    let out = ok(&d, op(true), &ctx(None));
    assert_eq!(
        layout(&out.day)[1..7],
        [
            row("上午", 8 * HOUR, HOUR),
            row("新作", 9 * HOUR, 30 * MIN),
            row("下午", 9 * HOUR + 30 * MIN, 7 * HOUR + 30 * MIN),
            row("垫片A", 17 * HOUR, 10 * MIN),
            row("等待画面", 17 * HOUR + 10 * MIN, 2 * HOUR + 50 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert!(out.day.items[1].cut);
    assert_eq!(out.shortened, vec![1]);
    assert_eq!(out.dropped.len(), 1);
    let rest = &out.dropped[0];
    assert_eq!((rest.title.as_str(), rest.start), ("上午", at(9, 0, 0)));
    assert_eq!((rest.frames, rest.in_frames), (3 * HOUR, HOUR));

    // A boundary needs no split.
    let b = ok(
        &d,
        EditOp::Insert {
            item: work(9, "新作", 30 * MIN),
            at: Position::At(at(12, 0, 0)),
            split: false,
        },
        &ctx(None),
    );
    assert_eq!(
        (b.day.items[2].title.as_str(), off(&b.day, 2)),
        ("新作", 12 * HOUR)
    );
}

#[test]
fn split_on_air_only_from_the_cut_on() {
    let d = long_day();
    let c = ctx(Some(at(10, 0, 0)));
    let op = |t| EditOp::Insert {
        item: work(9, "新作", 30 * MIN),
        at: Position::At(t),
        split: true,
    };
    let err = apply(&d, &op(at(9, 0, 0)), &c).expect_err("too late");
    assert_eq!(err.kind(), "too_late");
    let out = ok(&d, op(at(10, 0, 0)), &c);
    assert_eq!(
        layout(&out.day)[1..3],
        [
            row("上午", 8 * HOUR, 2 * HOUR),
            row("新作", 10 * HOUR, 30 * MIN)
        ]
    );
    assert_eq!(off(&out.day, 3), 10 * HOUR + 30 * MIN);
}

#[test]
fn no_room_before_a_pin_or_the_day_end() {
    let d = long_day();
    let pin = apply(
        &d,
        &EditOp::Insert {
            item: work(9, "新作", 30 * MIN),
            at: Position::Before(5),
            split: false,
        },
        &ctx(None),
    )
    .expect_err("no room");
    assert_eq!(pin.kind(), "overlap");
    assert_eq!(
        pin.to_string(),
        "“新作”放不下：第 6 条“直播”在 20:00:00 固定开始，之前没有空间"
    );
    let end = apply(
        &d,
        &EditOp::Insert {
            item: work(9, "新作", 30 * MIN),
            at: Position::After(6),
            split: false,
        },
        &ctx(None),
    )
    .expect_err("no room");
    assert_eq!(end.kind(), "overlap");
}

#[test]
fn invalid_inputs() {
    let d = long_day();
    let c = ctx(None);
    let missing = apply(&d, &EditOp::Remove { index: 7 }, &c).expect_err("no item");
    assert_eq!(missing.kind(), "no_such_item");
    assert_eq!(missing.to_string(), "没有第 8 条节目（当天共 7 条）");
    let zero = apply(
        &d,
        &EditOp::Insert {
            item: work(9, "新作", 0),
            at: Position::After(1),
            split: false,
        },
        &c,
    )
    .expect_err("zero");
    assert_eq!(zero.kind(), "invalid");
    let trim0 = apply(
        &d,
        &EditOp::Trim {
            index: 1,
            in_frames: None,
            frames: Some(0),
        },
        &c,
    )
    .expect_err("zero");
    assert_eq!(trim0.kind(), "invalid");
    let off_frame = apply(
        &d,
        &EditOp::EndAt {
            index: 1,
            at: at(9, 0, 0) + Duration::milliseconds(10),
        },
        &c,
    )
    .expect_err("off frame");
    assert_eq!(off_frame.kind(), "invalid");
    let same = apply(
        &d,
        &EditOp::Move {
            from: 1,
            to: Position::Before(2),
        },
        &c,
    )
    .expect_err("no move");
    assert_eq!(same.kind(), "invalid");
}
