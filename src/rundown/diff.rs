//! Difference between two versions of a day, as a pure function: items added, removed, and
//! kept but moved in time (matched on identity: kind, work/feed, source, length).

use serde::Serialize;

use super::time::{fmt_frames_short, wall_time};
use super::{Day, DayItem};

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffOp {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, at a different time.
    Moved,
}

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// What happened.
    pub op: DiffOp,
    /// Start in the old version (Shanghai), when it had one.
    pub old_start: Option<String>,
    /// Start in the new version (Shanghai), when it has one.
    pub new_start: Option<String>,
    /// Title.
    pub title: String,
    /// Length.
    pub duration: String,
}

impl std::fmt::Display for DiffLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.op {
            DiffOp::Added => write!(
                f,
                "+ {} {}（{}）",
                self.new_start.as_deref().unwrap_or(""),
                self.title,
                self.duration
            ),
            DiffOp::Removed => write!(
                f,
                "- {} {}（{}）",
                self.old_start.as_deref().unwrap_or(""),
                self.title,
                self.duration
            ),
            DiffOp::Moved => write!(
                f,
                "~ {} → {} {}（{}）",
                self.old_start.as_deref().unwrap_or(""),
                self.new_start.as_deref().unwrap_or(""),
                self.title,
                self.duration
            ),
        }
    }
}

type Key<'a> = (super::ItemKind, Option<i64>, Option<i64>, &'a str, u64, u64);

fn key(i: &DayItem) -> Key<'_> {
    (
        i.kind,
        i.work_id,
        i.feed_id,
        i.source.as_str(),
        i.frames,
        i.in_frames,
    )
}

/// Lines turning `old` into `new`, in time order; empty when the items are the same.
pub fn diff_days(old: &Day, new: &Day) -> Vec<DiffLine> {
    let (a, b) = (&old.items, &new.items);
    let (n, m) = (a.len(), b.len());
    // Longest common subsequence on item identity.
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if key(&a[i]) == key(&b[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let tz_old = old.tz();
    let tz_new = new.tz();
    let line = |op, o: Option<&DayItem>, nw: Option<&DayItem>, it: &DayItem| DiffLine {
        op,
        old_start: o.map(|x| wall_time(tz_old, x.start)),
        new_start: nw.map(|x| wall_time(tz_new, x.start)),
        title: it.title.clone(),
        duration: fmt_frames_short(new.rate, it.frames),
    };
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && key(&a[i]) == key(&b[j]) {
            if a[i].start != b[j].start {
                out.push(line(DiffOp::Moved, Some(&a[i]), Some(&b[j]), &b[j]));
            }
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(line(DiffOp::Added, None, Some(&b[j]), &b[j]));
            j += 1;
        } else {
            out.push(line(DiffOp::Removed, Some(&a[i]), None, &a[i]));
            i += 1;
        }
    }
    out
}
