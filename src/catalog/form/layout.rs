//! The notice's key–value layout: which cells are field labels (报送单位, 联 系 人, 视频类别
//! （可多选）…), where each label's value is (the next cell in the row; merged copies skipped;
//! rows below continuing a checkbox list laid one option per row), whether a table is in this
//! layout at all, and which of the edition's categories an option names. Rows of strings in,
//! fields out; no I/O.

use crate::edition::CategoryRule;

/// The form's fields (the labels of its left-hand cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Unit,
    Contact,
    ContactTitle,
    Phone,
    Email,
    Categories,
    Status,
    Summary,
    Lead,
    Supervisor,
    SupervisorName,
    SupervisorType,
}

const LABELS: &[(Key, &[&str])] = &[
    (Key::Unit, &["报送单位", "申报单位"]),
    (Key::Contact, &["联系人"]),
    (Key::ContactTitle, &["职务/职称", "职务", "职称"]),
    (Key::Phone, &["联系电话", "电话", "手机"]),
    (Key::Email, &["电子邮箱", "邮箱", "电子邮件"]),
    (Key::Categories, &["视频类别"]),
    (Key::Status, &["报送视频状态", "视频状态"]),
    (Key::Summary, &["视频内容简介", "视频内容", "内容简介"]),
    (Key::Lead, &["报送线索简介", "线索简介"]),
    (Key::Supervisor, &["上级主管单位"]),
    (Key::SupervisorName, &["主管单位名称"]),
    (
        Key::SupervisorType,
        &["主管单位所属类型", "上级主管单位类型"],
    ),
];

impl Key {
    /// The field's name as printed on the form (used in every message).
    pub(super) fn label(self) -> &'static str {
        LABELS
            .iter()
            .find(|(k, _)| *k == self)
            .and_then(|(_, l)| l.first())
            .copied()
            .unwrap_or("?")
    }
}

/// A label cell's comparison key: no blanks, no remark in brackets, no trailing colon.
fn norm_label(cell: &str) -> String {
    let t: String = cell
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .collect();
    let t = t.split(['（', '(']).next().unwrap_or("");
    t.trim_end_matches(['：', ':']).to_string()
}

fn key_of(cell: &str) -> Option<Key> {
    let n = norm_label(cell);
    if n.is_empty() || n.chars().count() > 12 {
        return None;
    }
    LABELS
        .iter()
        .find(|(_, names)| names.iter().any(|l| *l == n))
        .map(|(k, _)| *k)
}

/// "报送单位：中国科协" written in one cell: the key and the text after the colon.
fn inline_key(cell: &str) -> Option<(Key, String)> {
    let (head, rest) = cell.split_once(['：', ':'])?;
    Some((key_of(head)?, rest.trim().to_string()))
}

/// Whether rows look like the notice's key–value form rather than a table with a header row:
/// at least three different labels, and never more than two in one row (a header row has
/// them all).
pub fn is_form_layout(rows: &[Vec<String>]) -> bool {
    let mut keys = Vec::new();
    for r in rows {
        let in_row: Vec<Key> = r.iter().filter_map(|c| key_of(c)).collect();
        if in_row.len() > 2 {
            return false;
        }
        for k in in_row {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys.len() >= 3
}

/// The value of every field, read from rows by walking each row: a label cell's value is the
/// next cell that is neither a copy of it (merged cells) nor another label. A row without a
/// label whose first cells are empty continues the field above (a checkbox list laid one
/// option per row in a spreadsheet).
pub(super) fn key_values(rows: &[Vec<String>]) -> Vec<(Key, String)> {
    let mut out: Vec<(Key, String)> = Vec::new();
    let mut last: Option<(usize, usize)> = None; // (index in out, value column)
    for r in rows {
        let mut i = 0;
        let mut found = false;
        while i < r.len() {
            let cell = r[i].trim();
            if let Some(k) = key_of(cell) {
                found = true;
                let mut j = i + 1;
                while j < r.len() && r[j].trim() == cell {
                    j += 1;
                }
                let value = match r.get(j) {
                    Some(v) if key_of(v).is_none() => v.trim().to_string(),
                    _ => String::new(),
                };
                // Without a value cell, options on the rows below start under the label.
                let col = if r
                    .get(j)
                    .is_some_and(|v| key_of(v).is_none() && !v.trim().is_empty())
                {
                    j
                } else {
                    i
                };
                out.push((k, value));
                last = Some((out.len() - 1, col));
                i = j + usize::from(r.get(j).is_some_and(|v| key_of(v).is_none()));
                continue;
            }
            if let Some((k, v)) = inline_key(cell) {
                found = true;
                out.push((k, v));
                last = Some((out.len() - 1, i));
            }
            i += 1;
        }
        if found {
            continue;
        }
        // A continuation row: empty up to the value column of the field above.
        if let Some((idx, col)) = last {
            let before_empty = r.iter().take(col).all(|c| c.trim().is_empty());
            let text: Vec<&str> = r
                .iter()
                .skip(col)
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .collect();
            if before_empty && !text.is_empty() {
                let v = &mut out[idx].1;
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(&text.join(" "));
            } else if !before_empty {
                last = None;
            }
        }
    }
    out
}

/// A category option's text against the edition's names: the name itself, with a year
/// prefix ("2026年…") or a remark, or 其他 with what follows.
pub fn category_of(cats: &[CategoryRule], option: &str) -> Option<u8> {
    let strip = |s: &str| -> String {
        let t: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
            .collect();
        let t = t.split(['（', '(']).next().unwrap_or("").to_string();
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        if digits == 4 && t[digits..].starts_with('年') {
            t[digits + '年'.len_utf8()..].to_string()
        } else {
            t
        }
    };
    let o = strip(option);
    if o.is_empty() {
        return None;
    }
    if let Ok(n) = o.parse::<u8>() {
        return cats.iter().find(|c| c.id == n).map(|c| c.id);
    }
    if let Some(c) = cats.iter().find(|c| strip(&c.name) == o) {
        return Some(c.id);
    }
    // 其他 with the unit's own words after it.
    cats.iter()
        .find(|c| {
            let n = strip(&c.name);
            n.chars().count() <= 3 && o.starts_with(&n)
        })
        .map(|c| c.id)
}
