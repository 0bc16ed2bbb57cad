//! The problems an edit introduced, so that a day's existing problems do not block
//! unrelated edits: structural problems whose count went up, and item problems about a
//! thing (work, feed or source) that did not have that problem before.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::super::Day;
use super::super::validate::{Problem, ProblemKind};

/// Whether a problem is about the day's shape rather than one item's content.
fn structural(kind: ProblemKind) -> bool {
    matches!(
        kind,
        ProblemKind::Gap
            | ProblemKind::Overlap
            | ProblemKind::Overrun
            | ProblemKind::DayLength
            | ProblemKind::OffFrame
            | ProblemKind::ZeroLength
            | ProblemKind::DayBounds
    )
}

/// What an item problem is about.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    /// The item's work, feed and source.
    Item(Option<i64>, Option<i64>, String),
    /// A problem not tied to one item (a slow-live window), by instant.
    At(DateTime<Utc>),
}

fn subject(p: &Problem, day: &Day) -> Subject {
    match p.item.and_then(|i| day.items.get(i)) {
        Some(it) => Subject::Item(it.work_id, it.feed_id, it.source.clone()),
        None => Subject::At(p.at),
    }
}

/// Problems in `after` that the edit introduced (see the module header). An edit is
/// refused when this is non-empty.
pub fn new_problems(
    before: &[Problem],
    before_day: &Day,
    after: &[Problem],
    after_day: &Day,
) -> Vec<Problem> {
    let mut count: BTreeMap<ProblemKind, (usize, usize)> = BTreeMap::new();
    for p in before.iter().filter(|p| structural(p.kind)) {
        count.entry(p.kind).or_default().0 += 1;
    }
    for p in after.iter().filter(|p| structural(p.kind)) {
        count.entry(p.kind).or_default().1 += 1;
    }
    let old: BTreeSet<(ProblemKind, Subject)> = before
        .iter()
        .filter(|p| !structural(p.kind))
        .map(|p| (p.kind, subject(p, before_day)))
        .collect();
    let old_at: BTreeSet<(ProblemKind, DateTime<Utc>)> =
        before.iter().map(|p| (p.kind, p.at)).collect();

    let mut out = Vec::new();
    for (&kind, &(b, a)) in &count {
        if a <= b {
            continue;
        }
        let of_kind: Vec<&Problem> = after.iter().filter(|p| p.kind == kind).collect();
        let fresh: Vec<&Problem> = of_kind
            .iter()
            .copied()
            .filter(|p| !old_at.contains(&(p.kind, p.at)))
            .collect();
        let pick = if fresh.is_empty() { of_kind } else { fresh };
        out.extend(pick.into_iter().cloned());
    }
    out.extend(
        after
            .iter()
            .filter(|p| !structural(p.kind) && !old.contains(&(p.kind, subject(p, after_day))))
            .cloned(),
    );
    out.sort_by_key(|p| (p.at, p.kind));
    out
}
