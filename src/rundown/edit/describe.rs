//! Short Chinese summaries of an [`EditOp`] for the edit history, e.g.
//! “插入“作品名”于 20:00:00 前”. Indices out of range are named by number only.

use chrono::{DateTime, Utc};

use super::super::Day;
use super::super::time::{fmt_frames_short, wall_time};
use super::{EditOp, Position};

struct Names<'a>(&'a Day);

impl Names<'_> {
    fn wall(&self, t: DateTime<Utc>) -> String {
        wall_time(self.0.tz(), t)
    }

    fn item(&self, i: usize) -> String {
        match self.0.items.get(i) {
            Some(it) => format!("第 {} 条“{}”", i + 1, it.title),
            None => format!("第 {} 条", i + 1),
        }
    }

    fn start(&self, i: usize) -> Option<String> {
        self.0.items.get(i).map(|it| self.wall(it.start))
    }

    fn end(&self, i: usize) -> Option<String> {
        self.0.items.get(i).map(|it| self.wall(it.end(self.0.rate)))
    }

    fn len(&self, frames: u64) -> String {
        fmt_frames_short(self.0.rate, frames)
    }

    /// `于 20:00:00 前（第 N 条“…”）`, `于第 N 条“…”后（20:00:00）`, `于 20:00:00`.
    fn position(&self, p: &Position) -> String {
        match p {
            Position::Before(i) => match self.start(*i) {
                Some(t) => format!("于 {t} 前（{}）", self.item(*i)),
                None => format!("于{}前", self.item(*i)),
            },
            Position::After(i) => match self.end(*i) {
                Some(t) => format!("于{}后（{t}）", self.item(*i)),
                None => format!("于{}后", self.item(*i)),
            },
            Position::At(t) => format!("于 {}", self.wall(*t)),
        }
    }
}

impl EditOp {
    /// A short Chinese summary for the edit history.
    pub fn describe(&self, day: &Day) -> String {
        let n = Names(day);
        match self {
            EditOp::Insert { item, at, split } => format!(
                "插入“{}”{}{}",
                item.title,
                n.position(at),
                if *split { "（拆分）" } else { "" }
            ),
            EditOp::Overwrite { item, at } => format!(
                "覆盖 {}–{} 为“{}”",
                n.wall(*at),
                n.wall(day.rate.add(*at, item.frames)),
                item.title
            ),
            EditOp::Move { from, to } => format!("移动{}{}", n.item(*from), n.position(to)),
            EditOp::Remove { index } => match n.start(*index) {
                Some(t) => format!("删除{}（{t}）", n.item(*index)),
                None => format!("删除{}", n.item(*index)),
            },
            EditOp::Replace { index, item } => {
                format!("将{}替换为“{}”", n.item(*index), item.title)
            }
            EditOp::Trim {
                index,
                in_frames,
                frames,
            } => {
                let mut parts = Vec::new();
                if let Some(i) = in_frames {
                    parts.push(format!("入点 {}", n.len(*i)));
                }
                if let Some(f) = frames {
                    parts.push(format!("时长 {}", n.len(*f)));
                }
                format!("修剪{}：{}", n.item(*index), parts.join("、"))
            }
            EditOp::EndAt { index, at } => {
                format!("{}于 {} 提前结束", n.item(*index), n.wall(*at))
            }
        }
    }
}
