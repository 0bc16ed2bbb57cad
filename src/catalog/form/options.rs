//! Checkbox lists as units mark them on the printed form (视频类别, 报送视频状态, 主管单位所属
//! 类型): the box replaced or preceded by ☑ ☒ ■ √ ✓ ✔ (or ▣ ● ✅), a 是 beside the option,
//! or the options not chosen simply deleted. Pure text in, choices out; what an option means
//! (which category, which status) is decided by the caller against the edition.

use serde::{Deserialize, Serialize};

/// Characters that mark an option as chosen.
pub const MARKS: &[char] = &['☑', '☒', '■', '√', '✓', '✔', '▣', '●', '✅'];
/// Characters of an empty box (an option not chosen).
pub const BOXES: &[char] = &['□', '☐', '○', '〇', '◻'];

/// How the choices of a list were recognised, shown to the person confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarkStyle {
    /// Some options carry a mark (☑ √ ■ …) or 是.
    Marked,
    /// No boxes are left: the options not chosen were deleted.
    Deleted,
    /// Every option still has an empty box: nothing chosen.
    NoneChosen,
    /// The cell is empty.
    Empty,
}

impl MarkStyle {
    /// Chinese description.
    pub fn label(self) -> &'static str {
        match self {
            Self::Marked => "按勾选标记识别",
            Self::Deleted => "未选项已删除，保留项视为已选",
            Self::NoneChosen => "所有选项均未勾选",
            Self::Empty => "未填写",
        }
    }
}

/// The chosen options of one list, their texts without marks or boxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choices {
    /// Texts of the chosen options, in order.
    pub chosen: Vec<String>,
    /// How they were recognised.
    pub style: MarkStyle,
}

fn is_mark_or_box(c: char) -> bool {
    MARKS.contains(&c) || BOXES.contains(&c)
}

/// Splits a cell into options: one per line, and a line holding several boxes
/// ("□成品视频 □视频待自行制作") into one per box. Marks next to each other ("√□成品")
/// stay with their option.
pub fn split_options(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in cell.lines() {
        let mut cur = String::new();
        for c in line.chars() {
            let has_text = cur
                .chars()
                .any(|x| !is_mark_or_box(x) && !x.is_whitespace());
            if is_mark_or_box(c) && has_text {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(c);
        }
        out.push(cur);
    }
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One option's state and its bare text.
fn read_option(o: &str) -> (Option<bool>, String) {
    let mut marked = None;
    let mut text = String::new();
    for c in o.chars() {
        if MARKS.contains(&c) {
            marked = Some(true);
        } else if BOXES.contains(&c) {
            marked.get_or_insert(false);
        } else {
            text.push(c);
        }
    }
    let mut t = text.trim().to_string();
    // 是 / 否 written beside the option: "是 成品视频", "成品视频：是", "成品视频（是）".
    for (word, val) in [("是", true), ("否", false)] {
        let stripped = t
            .strip_suffix(&format!("（{word}）"))
            .or_else(|| t.strip_suffix(&format!("({word})")))
            .or_else(|| t.strip_suffix(&format!("：{word}")))
            .or_else(|| t.strip_suffix(&format!(":{word}")))
            .or_else(|| t.strip_suffix(&format!(" {word}")))
            .or_else(|| t.strip_prefix(&format!("{word} ")))
            .or_else(|| t.strip_prefix(&format!("{word}　")));
        if let Some(s) = stripped {
            if marked != Some(true) {
                marked = Some(val);
            }
            t = s.trim().to_string();
        }
    }
    let t = t
        .trim_matches(|c: char| c.is_whitespace() || "：:".contains(c))
        .to_string();
    (marked, t)
}

/// The chosen options of a checkbox cell. Rules, in order: if any option is marked, the
/// marked ones; else if no empty box is left, every option written (the others deleted);
/// else none.
pub fn choices(cell: &str) -> Choices {
    let opts: Vec<(Option<bool>, String)> = split_options(cell)
        .iter()
        .map(|o| read_option(o))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    if opts.is_empty() {
        return Choices {
            chosen: Vec::new(),
            style: MarkStyle::Empty,
        };
    }
    if opts.iter().any(|(m, _)| *m == Some(true)) {
        return Choices {
            chosen: opts
                .into_iter()
                .filter(|(m, _)| *m == Some(true))
                .map(|(_, t)| t)
                .collect(),
            style: MarkStyle::Marked,
        };
    }
    if opts.iter().all(|(m, _)| m.is_none()) {
        return Choices {
            chosen: opts.into_iter().map(|(_, t)| t).collect(),
            style: MarkStyle::Deleted,
        };
    }
    Choices {
        chosen: Vec::new(),
        style: MarkStyle::NoneChosen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ways_units_mark_a_box() {
        for (cell, want) in [
            (
                "☑大国重器类\n□慢直播\n■其他 科普剧",
                vec!["大国重器类", "其他 科普剧"],
            ),
            ("√□成品视频\n□视频待自行制作", vec!["成品视频"]),
            ("□成品视频 ✔视频待自行制作 □精剪", vec!["视频待自行制作"]),
            ("✓ 全国学会\n□地方科协", vec!["全国学会"]),
            ("是 成品视频\n否 精剪", vec!["成品视频"]),
            ("□成品视频（是）\n□精剪", vec!["成品视频"]),
        ] {
            let c = choices(cell);
            assert_eq!(c.chosen, want, "{cell}");
            assert_eq!(c.style, MarkStyle::Marked, "{cell}");
        }
    }

    #[test]
    fn deleted_options_and_untouched_lists() {
        let c = choices("大国重器类科普视频\n\n国家重点实验室类科普视频");
        assert_eq!(c.style, MarkStyle::Deleted);
        assert_eq!(c.chosen.len(), 2);
        let c = choices("□成品视频\n□精剪");
        assert_eq!(c.style, MarkStyle::NoneChosen);
        assert!(c.chosen.is_empty());
        assert_eq!(choices("  \n").style, MarkStyle::Empty);
    }
}
