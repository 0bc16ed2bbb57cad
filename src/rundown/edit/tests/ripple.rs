//! Ripple and absorb on a day not yet on air: insert, remove, move, replace and trim move
//! the following items up to the next pin; overflow is absorbed by slate and filler, then
//! cut; a shortfall becomes slate before the pin.

use super::*;
use crate::rundown::edit::Position;

#[test]
fn insert_ripples_up_to_the_pin_cutting_and_dropping_the_overflow() {
    let d = minute_day();
    // 2.5 minutes after 作品1190 (19:50–19:51).
    let out = ok(
        &d,
        EditOp::Insert {
            item: work(99, "新作", 2 * MIN + 30 * SEC),
            at: Position::After(1190),
            split: false,
        },
        &ctx(None),
    );
    let n = &out.day;
    assert_eq!(n.items.len(), 1381 + 1 - 2);
    assert_eq!(n.items[1191].title, "新作");
    assert_eq!(off(n, 1191), 1191 * MIN);
    // 作品1191 follows at 19:53:30; 作品1196 at 19:58:30.
    assert_eq!(n.items[1192].title, "作品1191");
    assert_eq!(n.items[1192].start, at(19, 53, 30));
    assert_eq!(n.items[1197].title, "作品1196");
    assert_eq!(n.items[1197].start, at(19, 58, 30));
    // 作品1197 straddles 20:00: shortened to 30 s and marked cut.
    assert_eq!(n.items[1198].title, "作品1197");
    assert_eq!(n.items[1198].start, at(19, 59, 30));
    assert_eq!(n.items[1198].frames, 30 * SEC);
    assert!(n.items[1198].cut);
    assert_eq!(out.shortened, vec![1198]);
    // 作品1198 and 作品1199 start at/after the pin: dropped and reported.
    let dropped: Vec<&str> = out.dropped.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(dropped, ["作品1198", "作品1199"]);
    // The pin and everything after it did not move.
    assert_eq!(n.items[1199].title, "直播");
    assert_eq!(n.items[1199].start, at(20, 0, 0));
    assert_eq!(n.items[1199..], d.items[1200..]);
    assert_eq!(n.items[..1191], d.items[..1191]);
    assert_eq!(out.slate_frames, 0);
}

#[test]
fn insert_overflow_is_absorbed_by_slate_first() {
    let d = long_day();
    let out = ok(
        &d,
        EditOp::Insert {
            item: work(99, "新作", 15 * MIN),
            at: Position::After(2),
            split: false,
        },
        &ctx(None),
    );
    assert_eq!(
        layout(&out.day)[2..7],
        [
            row("下午", 12 * HOUR, 7 * HOUR + 30 * MIN),
            row("新作", 19 * HOUR + 30 * MIN, 15 * MIN),
            row("垫片A", 19 * HOUR + 45 * MIN, 10 * MIN),
            row("等待画面", 19 * HOUR + 55 * MIN, 5 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert_eq!(out.slate_frames, -(15 * MIN as i64));
    assert!(out.dropped.is_empty());
    assert!(out.shortened.is_empty());
}

#[test]
fn insert_overflow_past_the_slate_removes_whole_filler_and_reslates_the_rest() {
    let d = long_day();
    let out = ok(
        &d,
        EditOp::Insert {
            item: work(99, "新作", 25 * MIN),
            at: Position::After(2),
            split: false,
        },
        &ctx(None),
    );
    // 20 min of slate absorbed, the 10 min filler removed, 5 min of slate back before 20:00.
    assert_eq!(
        layout(&out.day)[3..6],
        [
            row("新作", 19 * HOUR + 30 * MIN, 25 * MIN),
            row("等待画面", 19 * HOUR + 55 * MIN, 5 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert_eq!(
        out.day.items[4].block, "补空",
        "the new slate comes from the template"
    );
    assert_eq!(out.slate_frames, -(15 * MIN as i64));
    let dropped: Vec<&str> = out.dropped.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(dropped, ["垫片A"]);
}

#[test]
fn remove_leaves_a_slate_before_the_pin() {
    let d = minute_day();
    let out = ok(&d, EditOp::Remove { index: 1195 }, &ctx(None));
    let n = &out.day;
    assert_eq!(n.items[1195].title, "作品1196");
    assert_eq!(n.items[1195].start, at(19, 55, 0));
    assert_eq!(n.items[1198].title, "作品1199");
    assert_eq!(n.items[1198].start, at(19, 58, 0));
    assert_eq!(n.items[1199].kind, ItemKind::Slate);
    assert_eq!(n.items[1199].start, at(19, 59, 0));
    assert_eq!(n.items[1199].frames, MIN);
    assert_eq!(n.items[1199].source, "/media/slate.png");
    assert_eq!(n.items[1200].title, "直播");
    assert_eq!(n.items[1200].start, at(20, 0, 0));
    assert_eq!(out.slate_frames, MIN as i64);
    assert!(out.dropped.is_empty());
}

#[test]
fn remove_merges_the_gap_into_the_slate_of_the_run() {
    let d = long_day();
    let out = ok(&d, EditOp::Remove { index: 2 }, &ctx(None));
    assert_eq!(
        layout(&out.day)[2..5],
        [
            row("垫片A", 12 * HOUR, 10 * MIN),
            row("等待画面", 12 * HOUR + 10 * MIN, 7 * HOUR + 50 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert_eq!(out.day.items.len(), 6);
    assert_eq!(out.slate_frames, (7 * HOUR + 30 * MIN) as i64);
}

#[test]
fn move_down_and_up_within_a_run() {
    let d = minute_day();
    let down = ok(
        &d,
        EditOp::Move {
            from: 10,
            to: Position::Before(20),
        },
        &ctx(None),
    );
    let n = &down.day;
    assert_eq!(n.items.len(), d.items.len());
    assert_eq!(
        (n.items[10].title.as_str(), off(n, 10)),
        ("作品11", 10 * MIN)
    );
    assert_eq!(
        (n.items[18].title.as_str(), off(n, 18)),
        ("作品19", 18 * MIN)
    );
    assert_eq!(
        (n.items[19].title.as_str(), off(n, 19)),
        ("作品10", 19 * MIN)
    );
    assert_eq!(
        (n.items[20].title.as_str(), off(n, 20)),
        ("作品20", 20 * MIN)
    );
    assert_eq!(n.items[20..], d.items[20..]);
    assert_eq!(down.slate_frames, 0);

    let up = ok(
        &d,
        EditOp::Move {
            from: 20,
            to: Position::Before(10),
        },
        &ctx(None),
    );
    let n = &up.day;
    assert_eq!((n.items[9].title.as_str(), off(n, 9)), ("作品9", 9 * MIN));
    assert_eq!(
        (n.items[10].title.as_str(), off(n, 10)),
        ("作品20", 10 * MIN)
    );
    assert_eq!(
        (n.items[11].title.as_str(), off(n, 11)),
        ("作品10", 11 * MIN)
    );
    assert_eq!(
        (n.items[20].title.as_str(), off(n, 20)),
        ("作品19", 20 * MIN)
    );
    assert_eq!(
        (n.items[21].title.as_str(), off(n, 21)),
        ("作品21", 21 * MIN)
    );
    assert!(up.dropped.is_empty());
}

#[test]
fn move_across_the_pin_ripples_both_runs() {
    let d = minute_day();
    // 作品1269 (index 1210, 21:09) moves before 作品5: the run before 20:00 overflows by a
    // minute (作品1199 dropped); the run after the pin closes with a minute of slate.
    let out = ok(
        &d,
        EditOp::Move {
            from: 1210,
            to: Position::Before(5),
        },
        &ctx(None),
    );
    let n = &out.day;
    assert_eq!(
        (n.items[5].title.as_str(), off(n, 5)),
        ("作品1269", 5 * MIN)
    );
    assert_eq!((n.items[6].title.as_str(), off(n, 6)), ("作品5", 6 * MIN));
    assert_eq!(
        (n.items[1199].title.as_str(), off(n, 1199)),
        ("作品1198", 1199 * MIN)
    );
    assert_eq!(
        (n.items[1200].title.as_str(), off(n, 1200)),
        ("直播", 1200 * MIN)
    );
    assert_eq!(
        (n.items[1210].title.as_str(), off(n, 1210)),
        ("作品1270", 1269 * MIN)
    );
    let last = n.items.len() - 1;
    assert_eq!(n.items[last].kind, ItemKind::Slate);
    assert_eq!((off(n, last), n.items[last].frames), (1439 * MIN, MIN));
    let dropped: Vec<&str> = out.dropped.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(dropped, ["作品1199"]);
    assert_eq!(out.slate_frames, MIN as i64);
    assert!(!n.items[5].pinned);
}

#[test]
fn replace_with_a_longer_and_a_shorter_work() {
    let d = long_day();
    let longer = ok(
        &d,
        EditOp::Replace {
            index: 1,
            item: work(20, "长片", 4 * HOUR + 30 * MIN),
        },
        &ctx(None),
    );
    assert_eq!(
        layout(&longer.day)[1..4],
        [
            row("长片", 8 * HOUR, 4 * HOUR + 30 * MIN),
            row("下午", 12 * HOUR + 30 * MIN, 7 * HOUR + 30 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert_eq!(longer.slate_frames, -(20 * MIN as i64));
    assert_eq!(longer.dropped.len(), 1);
    assert_eq!(longer.dropped[0].title, "垫片A");

    let shorter = ok(
        &d,
        EditOp::Replace {
            index: 1,
            item: work(21, "短片", 3 * HOUR),
        },
        &ctx(None),
    );
    assert_eq!(
        layout(&shorter.day)[1..6],
        [
            row("短片", 8 * HOUR, 3 * HOUR),
            row("下午", 11 * HOUR, 7 * HOUR + 30 * MIN),
            row("垫片A", 18 * HOUR + 30 * MIN, 10 * MIN),
            row("等待画面", 18 * HOUR + 40 * MIN, HOUR + 20 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert_eq!(shorter.slate_frames, HOUR as i64);

    // Replacing the pinned live keeps its hard start.
    let pin = ok(
        &d,
        EditOp::Replace {
            index: 5,
            item: DayItem {
                pinned: false,
                ..live(8, "海底", HOUR)
            },
        },
        &ctx(None),
    );
    assert!(pin.day.items[5].pinned);
    assert_eq!(
        layout(&pin.day)[5..],
        [
            row("海底", 20 * HOUR, HOUR),
            row("夜间", 21 * HOUR, 2 * HOUR),
            row("等待画面", 23 * HOUR, HOUR),
        ]
    );
}

#[test]
fn trim_length_and_in_point() {
    let d = long_day();
    let out = ok(
        &d,
        EditOp::Trim {
            index: 6,
            in_frames: None,
            frames: Some(HOUR),
        },
        &ctx(None),
    );
    assert_eq!(
        layout(&out.day)[6..],
        [
            row("夜间", 22 * HOUR, HOUR),
            row("等待画面", 23 * HOUR, HOUR)
        ]
    );
    assert_eq!(out.slate_frames, HOUR as i64);

    let inp = ok(
        &d,
        EditOp::Trim {
            index: 2,
            in_frames: Some(MIN),
            frames: None,
        },
        &ctx(None),
    );
    assert_eq!(inp.day.items[2].in_frames, MIN);
    assert_eq!(layout(&inp.day), layout(&d));
}

#[test]
fn the_operators_own_item_is_not_absorbed() {
    let d = long_day();
    // The slate before 20:00 (19:40) becomes 30 min of filler: nothing after it can absorb
    // the overflow and the new filler is not absorbed itself, so it is cut at 20:00.
    let out = ok(
        &d,
        EditOp::Replace {
            index: 4,
            item: filler("垫片B", 30 * MIN),
        },
        &ctx(None),
    );
    assert_eq!(
        layout(&out.day)[3..6],
        [
            row("垫片A", 19 * HOUR + 30 * MIN, 10 * MIN),
            row("垫片B", 19 * HOUR + 40 * MIN, 20 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
    assert!(out.day.items[4].cut);
    assert_eq!(out.shortened, vec![4]);
    assert!(out.dropped.is_empty());
    assert_eq!(out.slate_frames, 0);

    // A slate trimmed shorter keeps its new length; the rest is new slate.
    let trimmed = ok(
        &d,
        EditOp::Trim {
            index: 4,
            in_frames: None,
            frames: Some(5 * MIN),
        },
        &ctx(None),
    );
    assert_eq!(
        layout(&trimmed.day)[4..7],
        [
            row("等待画面", 19 * HOUR + 40 * MIN, 5 * MIN),
            row("等待画面", 19 * HOUR + 45 * MIN, 15 * MIN),
            row("直播", 20 * HOUR, 2 * HOUR),
        ]
    );
}
