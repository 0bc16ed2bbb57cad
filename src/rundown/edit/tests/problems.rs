//! The problems an edit introduced: old problems of the day do not block an unrelated
//! edit; a new unselected work or a new gap does.

use super::*;
use crate::rundown::edit::{Position, new_problems};
use crate::rundown::{LiveFeed, Readiness, Work};

fn catalog() -> Catalog {
    let ready = Readiness {
        tech: true,
        selected: true,
        rights: true,
    };
    let w = |id: i64, title: &str, frames: u64, selected: bool| Work {
        id,
        title: title.into(),
        unit: "单位".into(),
        unit_id: 1,
        copyright_holder: "单位".into(),
        categories: vec![1],
        frames,
        ms: None,
        source: format!("/media/{title}.mp4"),
        premiere_after: None,
        blocked: Vec::new(),
        ready: Readiness { selected, ..ready },
    };
    let works = [
        // 晨间 is on the day but not selected: an existing problem.
        w(1, "晨间", 8 * HOUR, false),
        w(2, "上午", 4 * HOUR, true),
        w(3, "下午", 7 * HOUR + 30 * MIN, true),
        w(4, "夜间", 2 * HOUR, true),
        w(98, "好片", 2 * HOUR, true),
        w(99, "落选", 10 * MIN, false),
    ];
    let feed = LiveFeed {
        id: 7,
        title: "直播".into(),
        url: "rtmp://live/7".into(),
        unit: "单位".into(),
        unit_id: 1,
        copyright_holder: String::new(),
        window: crate::rundown::FeedWindow::Daily {
            start: "20:00".into(),
            end: "22:00".into(),
        },
    };
    Catalog::new(&works, &[feed])
}

#[test]
fn old_problems_do_not_block_but_a_new_unselected_work_does() {
    let cat = catalog();
    let d = long_day();
    let before = validate_day(&d, &cat, None);
    let kinds: Vec<ProblemKind> = before.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::NotSelected]);

    // An unrelated edit: 晨间 is still unselected, which is not new.
    let fine = ok(
        &d,
        EditOp::Replace {
            index: 6,
            item: work(98, "好片", 2 * HOUR),
        },
        &ctx(None),
    );
    let after = validate_day(&fine.day, &cat, None);
    assert_eq!(after.len(), 1);
    assert!(new_problems(&before, &d, &after, &fine.day).is_empty());

    // Inserting the unselected work 99 is a new problem, even though 晨间's is old.
    let bad = ok(
        &d,
        EditOp::Insert {
            item: work(99, "落选", 10 * MIN),
            at: Position::After(2),
            split: false,
        },
        &ctx(None),
    );
    let after = validate_day(&bad.day, &cat, None);
    let new = new_problems(&before, &d, &after, &bad.day);
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!(new[0].kind, ProblemKind::NotSelected);
    assert_eq!(new[0].item, Some(3));
    assert_eq!(new[0].at, at(19, 30, 0));
    assert!(new[0].message.contains("落选"), "{}", new[0].message);
}

#[test]
fn structural_problems_count_only_when_they_grow() {
    let cat = catalog();
    // A day with an existing gap (晨间 an hour short, nothing after it).
    let mut gappy = long_day();
    gappy.items[0].frames -= HOUR;
    let before = validate_day(&gappy, &cat, None);
    assert!(before.iter().any(|p| p.kind == ProblemKind::Gap));
    // An unrelated edit keeps exactly the one gap: nothing new.
    let moved = ok_unchecked(
        &gappy,
        EditOp::Trim {
            index: 6,
            in_frames: Some(0),
            frames: None,
        },
    );
    let after = validate_day(&moved, &cat, None);
    assert!(new_problems(&before, &gappy, &after, &moved).is_empty());
    // A second gap is new.
    let mut worse = moved.clone();
    worse.items[3].frames -= MIN;
    let after = validate_day(&worse, &cat, None);
    let new = new_problems(&before, &gappy, &after, &worse);
    assert!(
        new.iter()
            .any(|p| p.kind == ProblemKind::Gap && p.at == at(19, 39, 0))
    );
    assert!(new.iter().all(|p| p.at != at(7, 0, 0)), "{new:#?}");
}

/// Applies an op to a day that is not sound to begin with.
fn ok_unchecked(day: &Day, op: EditOp) -> Day {
    apply(day, &op, &ctx(None)).expect("edit applies").day
}
