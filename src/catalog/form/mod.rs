//! A unit's filled 信息采集表 in the notice's own key–value layout (the notice's attachment:
//! a one-unit Word table of rows 报送单位 | …, 联系人 | … | 职务/职称 | …, 视频类别 with
//! checkboxes, 报送视频状态 with checkboxes, 视频内容简介, 报送线索简介, 上级主管单位 with its
//! type), read from `.docx`, `.xlsx` or `.csv` laid out the same way.
//!
//! Two steps, so that a person confirms every parsed field before anything is stored:
//! [`Catalog::preview_form`] reads a file into a [`FormPreview`] (each field as read, how a
//! checkbox list was recognised, each work split out of the 简介, and every problem with the
//! field named in Chinese) and writes nothing; [`Catalog::save_form`] stores a preview (as
//! shown, or as the person corrected it) in one transaction after checking it again.
//! A folder of tables is previewed or saved file by file ([`Catalog::forms_in`]).
//!
//! This module owns the layout; the one-row-per-work spreadsheet is `import`, the storage
//! is `repo`. Category names come from the edition, never from a constant.
//!
//! - `docx`: Word tables into rows of cell texts;
//! - `options`: checkbox lists as units mark them;
//! - `summary`: the 视频内容简介 split into works (title, duration, 版权方), counted in 字.

pub mod docx;
pub mod options;
pub mod summary;

use super::Catalog;
use super::fields::{parse_status, parse_supervisor_type};
use super::model::{NewUnit, NewWork, ProductionStatus, SUMMARY_MAX_CHARS, SupervisorType};
use super::repo::{self, NewLead, Outcome, WorkContext};
use crate::edition::{CategoryRule, Edition};
use crate::store::{Error, Result};
use options::choices;
use serde::{Deserialize, Serialize};
use summary::{WorkDraft, notice_chars, parse_entry, split_entries};

/// Where a submission came from, as coordinators see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Filled online in the dashboard by a partner account.
    Online,
    /// A unit's 信息采集表 in the notice's layout (.docx/.xlsx/.csv).
    Table,
    /// A one-row-per-work spreadsheet (`import`).
    Spreadsheet,
}

impl Source {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Table => "table",
            Self::Spreadsheet => "spreadsheet",
        }
    }
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Online => "在线填报",
            Self::Table => "信息采集表",
            Self::Spreadsheet => "汇总表",
        }
    }
}

/// The form's fields (the labels of its left-hand cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
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
    fn label(self) -> &'static str {
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
fn key_values(rows: &[Vec<String>]) -> Vec<(Key, String)> {
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

/// One field as read, for the person confirming.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldLine {
    /// The field as printed on the form (报送单位, 视频类别, 第 1 部作品·作品名称, …).
    pub field: String,
    /// The value as understood.
    pub value: String,
    /// How it was read (勾选方式, 从书名号取标题, …), when worth saying.
    #[serde(default)]
    pub note: Option<String>,
}

/// A problem with one field; nothing of its file is stored while there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field as printed on the form.
    pub field: String,
    /// Why, in Chinese.
    pub reason: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "「{}」：{}", self.field, self.reason)
    }
}

/// A lead (线索) read from 报送线索简介.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadDraft {
    /// 线索名称 (《…》, 线索名称：…, or the first clause).
    pub name: String,
    /// The whole entry as written.
    pub description: String,
}

/// Everything read from one filled form, before anything is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormPreview {
    /// File name.
    pub file: String,
    /// How it was read: Word, Excel or CSV.
    pub format: String,
    /// The unit and its contact (报送单位, 联系人, 职务/职称, 联系电话, 电子邮箱, 上级主管单位).
    pub unit: NewUnit,
    /// Chosen category ids (the edition's).
    pub categories: Vec<u8>,
    /// Works read from 视频内容简介.
    pub works: Vec<WorkDraft>,
    /// Leads read from 报送线索简介.
    pub leads: Vec<LeadDraft>,
    /// Every field as read, in the form's order, for a person to confirm.
    pub fields: Vec<FieldLine>,
    /// Problems; the file can be saved only when there are none.
    pub errors: Vec<FieldError>,
    /// Things a person should look at (guesses), which do not stop saving.
    pub warnings: Vec<String>,
}

impl FormPreview {
    /// Whether it can be saved as is.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Reads rows of a filled form into a preview; `edition` gives the categories and deadlines.
pub fn preview_rows(
    file: &str,
    format: &str,
    rows: &[Vec<String>],
    edition: &Edition,
) -> FormPreview {
    let kv = key_values(rows);
    let get = |k: Key| -> String {
        kv.iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
            .unwrap_or("")
            .to_string()
    };
    let mut fields = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut line = |field: &str, value: String, note: Option<String>| {
        fields.push(FieldLine {
            field: field.to_string(),
            value,
            note,
        })
    };
    let some = |s: String| Some(s).filter(|s| !s.is_empty());

    // The unit and its contact.
    let unit_name = get(Key::Unit);
    if unit_name.is_empty() {
        errors.push(FieldError {
            field: Key::Unit.label().into(),
            reason: "报送单位未填写".into(),
        });
    }
    // 上级主管单位: "主管单位名称：…" and the type's checkboxes in one cell, or separate rows.
    let sup_cell = get(Key::Supervisor);
    let mut sup_name = get(Key::SupervisorName);
    let mut sup_type_cell = get(Key::SupervisorType);
    if !sup_cell.is_empty() {
        let (name_part, type_part) = match sup_cell.find("主管单位所属类型") {
            Some(i) => (
                &sup_cell[..i],
                sup_cell[i + "主管单位所属类型".len()..].trim_start_matches(['：', ':']),
            ),
            None => (sup_cell.as_str(), ""),
        };
        let name_part = name_part.trim();
        let name_part = name_part
            .strip_prefix("主管单位名称")
            .map_or(name_part, |r| r.trim_start_matches(['：', ':']));
        if sup_name.is_empty() {
            sup_name = name_part.lines().next().unwrap_or("").trim().to_string();
        }
        if sup_type_cell.is_empty() {
            sup_type_cell = type_part.trim().to_string();
        }
    }
    let sup_choices = choices(&sup_type_cell);
    let supervisor_type: Option<SupervisorType> = match sup_choices.chosen.as_slice() {
        [] => None,
        [one] => parse_supervisor_type(one).or_else(|| {
            errors.push(FieldError {
                field: "主管单位所属类型".into(),
                reason: format!("「{one}」不是纲要办成员单位、全国学会、地方科协或其他"),
            });
            None
        }),
        many => {
            errors.push(FieldError {
                field: "主管单位所属类型".into(),
                reason: format!("只能选一项，勾选了 {} 项：{}", many.len(), many.join("、")),
            });
            None
        }
    };
    let unit = NewUnit {
        name: unit_name.clone(),
        supervisor_name: some(sup_name.clone()),
        supervisor_type,
        contact_name: some(get(Key::Contact)),
        contact_title: some(get(Key::ContactTitle)),
        contact_phone: some(get(Key::Phone)),
        contact_email: some(get(Key::Email)),
    };
    for (k, v) in [
        (Key::Unit, &unit.name),
        (Key::Contact, &get(Key::Contact)),
        (Key::ContactTitle, &get(Key::ContactTitle)),
        (Key::Phone, &get(Key::Phone)),
        (Key::Email, &get(Key::Email)),
    ] {
        line(k.label(), v.clone(), None);
    }
    if unit.contact_name.is_none() {
        warnings.push("联系人未填写".into());
    }
    if let Err(Error::Invalid { field, reason }) = unit.validate() {
        let label = match field.as_str() {
            "contact_email" => Key::Email.label(),
            "contact_phone" => Key::Phone.label(),
            _ => Key::Unit.label(),
        };
        if !(label == Key::Unit.label() && unit_name.is_empty()) {
            errors.push(FieldError {
                field: label.into(),
                reason,
            });
        }
    }
    line("上级主管单位", sup_name, None);
    line(
        "主管单位所属类型",
        supervisor_type.map_or(String::new(), |t| t.label().to_string()),
        Some(sup_choices.style.label().to_string()),
    );

    // 视频类别.
    let cat_choices = choices(&get(Key::Categories));
    let mut categories = Vec::new();
    for o in &cat_choices.chosen {
        match category_of(&edition.categories, o) {
            Some(id) if !categories.contains(&id) => categories.push(id),
            Some(_) => {}
            None => errors.push(FieldError {
                field: Key::Categories.label().into(),
                reason: format!(
                    "「{o}」不是本届的视频类别（{}）",
                    edition
                        .categories
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            }),
        }
    }
    categories.sort_unstable();
    let cat_names: Vec<String> = categories
        .iter()
        .filter_map(|id| edition.category(*id).map(|c| c.name.clone()))
        .collect();
    line(
        Key::Categories.label(),
        cat_names.join("、"),
        Some(cat_choices.style.label().to_string()),
    );

    // 报送视频状态: the options' own remarks ("（科普月精剪视频除外…）") are not the option.
    let status_choices = choices(&get(Key::Status));
    let mut statuses: Vec<ProductionStatus> = Vec::new();
    let mut wants_leads = false;
    for o in &status_choices.chosen {
        let core = o.split(['（', '(']).next().unwrap_or(o);
        wants_leads |= core.contains("线索");
        match parse_status(core) {
            Some(s) if !statuses.contains(&s) => statuses.push(s),
            Some(_) => {}
            None => errors.push(FieldError {
                field: Key::Status.label().into(),
                reason: format!("「{o}」不是成品视频、视频待自行制作或科普月精剪视频"),
            }),
        }
    }
    line(
        Key::Status.label(),
        statuses
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join("、"),
        Some(status_choices.style.label().to_string()),
    );

    // 视频内容简介 → works.
    let entries = split_entries(&get(Key::Summary));
    let mut works = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let mut d = parse_entry(e);
        let no = n + 1;
        let status = match statuses.as_slice() {
            [one] => Some(*one),
            [] => None,
            many => {
                let by_word = if e.contains("待") && e.contains("制作") {
                    Some(ProductionStatus::ToBeProduced)
                } else if e.contains("精剪") {
                    Some(ProductionStatus::Highlights)
                } else if e.contains("成品") {
                    Some(ProductionStatus::Finished)
                } else {
                    None
                }
                .filter(|s| many.contains(s));
                if by_word.is_none() {
                    warnings.push(format!(
                        "第 {no} 部作品未写明报送状态，按「{}」处理，请确认",
                        many[0].label()
                    ));
                }
                Some(by_word.unwrap_or(many[0]))
            }
        };
        d.production_status = status;
        if d.summary_chars > SUMMARY_MAX_CHARS {
            errors.push(FieldError {
                field: format!("{}（第 {no} 部作品）", Key::Summary.label()),
                reason: format!(
                    "{} 字，超过通知规定的 {SUMMARY_MAX_CHARS} 字（不计空格与换行）",
                    d.summary_chars
                ),
            });
        }
        if d.title.is_empty() {
            errors.push(FieldError {
                field: format!("{}（第 {no} 部作品）", Key::Summary.label()),
                reason: "未写作品名称（请用《》标出）".into(),
            });
        } else if d.title.chars().count() > 100 {
            errors.push(FieldError {
                field: format!("{}（第 {no} 部作品）", Key::Summary.label()),
                reason: format!(
                    "作品名称「{}…」超过 100 字；请用《》标出作品名称",
                    d.title.chars().take(20).collect::<String>()
                ),
            });
        }
        if d.duration_ms.is_none() {
            warnings.push(format!("第 {no} 部作品未写时长"));
        }
        if d.copyright_holder.is_none() {
            warnings.push(format!("第 {no} 部作品未写版权方"));
        }
        let w = format!("第 {no} 部作品");
        line(
            &format!("{w}·作品名称"),
            d.title.clone(),
            Some(format!("取自{}", d.title_from)),
        );
        line(
            &format!("{w}·时长"),
            d.duration_ms.map_or(String::new(), crate::timecode::hms),
            d.duration_text.clone().map(|t| format!("原文「{t}」")),
        );
        line(
            &format!("{w}·版权方"),
            d.copyright_holder.clone().unwrap_or_default(),
            None,
        );
        line(
            &format!("{w}·报送状态"),
            status.map_or(String::new(), |s| s.label().to_string()),
            None,
        );
        line(
            &format!("{w}·简介字数"),
            format!("{} / {SUMMARY_MAX_CHARS}", d.summary_chars),
            None,
        );
        works.push(d);
    }

    // 报送线索简介 → leads.
    let mut leads = Vec::new();
    for (n, e) in split_entries(&get(Key::Lead)).iter().enumerate() {
        let d = parse_entry(e);
        line(
            &format!("线索 {}·名称", n + 1),
            d.title.clone(),
            Some(format!("取自{}", d.title_from)),
        );
        leads.push(LeadDraft {
            name: d.title,
            description: e.trim().to_string(),
        });
    }
    if wants_leads && leads.is_empty() && works.is_empty() {
        warnings.push("勾选了「成品视频及线索」，但视频内容简介与报送线索简介都是空的".into());
    }

    if !works.is_empty() && categories.is_empty() {
        errors.push(FieldError {
            field: Key::Categories.label().into(),
            reason: format!("未勾选视频类别（{}）", cat_choices.style.label()),
        });
    }
    if !works.is_empty() && statuses.is_empty() {
        errors.push(FieldError {
            field: Key::Status.label().into(),
            reason: format!("未勾选报送视频状态（{}）", status_choices.style.label()),
        });
    }
    if works.is_empty() && leads.is_empty() && !unit_name.is_empty() {
        errors.push(FieldError {
            field: Key::Summary.label().into(),
            reason: "视频内容简介与报送线索简介都未填写".into(),
        });
    }
    FormPreview {
        file: file.to_string(),
        format: format.to_string(),
        unit,
        categories,
        works,
        leads,
        fields,
        errors,
        warnings,
    }
}

/// Reads a file's bytes into rows and the name of the format it was read as.
pub fn read_rows(bytes: Vec<u8>) -> Result<(Vec<Vec<String>>, String)> {
    if bytes.starts_with(b"PK\x03\x04") && docx::is_docx(&bytes) {
        let rows = docx::read_docx(&bytes).map_err(|e| Error::invalid("file", e))?;
        return Ok((rows, "Word".into()));
    }
    let (table, enc) = super::import::read_table(bytes)?;
    Ok((table.into_iter().map(|(_, cells)| cells).collect(), enc))
}

/// The result of saving one form.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormSaved {
    /// File name.
    pub file: String,
    /// The unit's id.
    pub unit_id: i64,
    /// Ids of the works, in the form's order.
    pub work_ids: Vec<i64>,
    /// Ids of the leads.
    pub lead_ids: Vec<i64>,
    /// Works or leads created.
    pub inserted: usize,
    /// Works or leads changed.
    pub updated: usize,
    /// Works or leads already stored as they are.
    pub unchanged: usize,
}

/// One file of a folder: its preview, and what saving did (when asked and possible).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileReport {
    /// The file's path as given.
    pub path: String,
    /// The preview, when the file could be read as a form.
    pub preview: Option<FormPreview>,
    /// Why the file could not be read or saved at all.
    pub error: Option<String>,
    /// What saving stored.
    pub saved: Option<FormSaved>,
}

impl FileReport {
    /// One line for people: 已导入 / 待确认 / 有误 with the reasons.
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("{}：无法导入：{e}", self.path);
        }
        let Some(p) = &self.preview else {
            return format!("{}：无内容", self.path);
        };
        if !p.ok() {
            let why: Vec<String> = p.errors.iter().map(ToString::to_string).collect();
            return format!("{}：有误，未导入：{}", self.path, why.join("；"));
        }
        match &self.saved {
            Some(s) => format!(
                "{}：已导入「{}」作品 {} 部、线索 {} 条（新增 {}，更新 {}，未变 {}）",
                self.path,
                p.unit.name,
                s.work_ids.len(),
                s.lead_ids.len(),
                s.inserted,
                s.updated,
                s.unchanged
            ),
            None => format!(
                "{}：待确认「{}」作品 {} 部、线索 {} 条",
                self.path,
                p.unit.name,
                p.works.len(),
                p.leads.len()
            ),
        }
    }
}

impl Catalog {
    /// Reads one filled form (bytes of a .docx, .xlsx or .csv) into a preview; writes nothing.
    /// A file that is not in the form's layout is refused with a message saying so.
    pub async fn preview_form(&self, name: &str, bytes: Vec<u8>) -> Result<FormPreview> {
        let (rows, format) = tokio::task::spawn_blocking(move || read_rows(bytes))
            .await
            .map_err(|e| Error::Unavailable(format!("解析 {name} 失败：{e}")))??;
        if !is_form_layout(&rows) {
            return Err(Error::invalid(
                "file",
                format!(
                    "{name} 不是通知样表（信息采集表）的格式：没有找到「报送单位」「联系人」「视频类别」等逐行填写的栏目；每行一部作品的汇总表请用汇总表导入"
                ),
            ));
        }
        Ok(preview_rows(name, &format, &rows, &self.edition))
    }

    /// Stores a confirmed preview in one transaction: the unit (created or its contact
    /// updated), each work and lead (matched by unit, edition and title/name, so saving the
    /// same form again changes nothing). Refused, with the field named, while the preview
    /// has errors or a corrected value breaks a rule.
    pub async fn save_form(
        &self,
        p: &FormPreview,
        actor: &str,
        source: Source,
    ) -> Result<FormSaved> {
        if let Some(e) = p.errors.first() {
            return Err(Error::invalid(&e.field, e.reason.clone()));
        }
        p.unit.validate()?;
        let year = i64::from(self.edition.edition.year);
        let mut new_works = Vec::new();
        for (n, d) in p.works.iter().enumerate() {
            let status = d.production_status.unwrap_or(ProductionStatus::Finished);
            let n_chars = notice_chars(&d.summary);
            if n_chars > SUMMARY_MAX_CHARS {
                return Err(Error::invalid(
                    &format!("视频内容简介（第 {} 部作品）", n + 1),
                    format!("{n_chars} 字，超过通知规定的 {SUMMARY_MAX_CHARS} 字"),
                ));
            }
            let due = (status == ProductionStatus::ToBeProduced).then(|| {
                self.edition
                    .deadline(status.into())
                    .format("%Y-%m-%d")
                    .to_string()
            });
            let w = NewWork {
                unit_id: 0,
                title: d.title.trim().to_string(),
                categories: p.categories.clone(),
                declared_duration_ms: d.duration_ms,
                copyright_holder: d.copyright_holder.clone(),
                summary: Some(d.summary.clone()),
                production_status: status,
                due_date: due,
                ai_generated: false,
                has_subtitles: false,
                submitted_on: None,
            };
            w.validate().map_err(|e| match e {
                Error::Invalid { field, reason } => Error::invalid(
                    &format!("第 {} 部作品·{}", n + 1, field_label(&field)),
                    reason,
                ),
                other => other,
            })?;
            new_works.push(w);
        }
        let mut tx = self.store.pool().begin().await?;
        let (unit_id, _) = repo::unit_upsert(&mut tx, &p.unit).await?;
        let mut saved = FormSaved {
            file: p.file.clone(),
            unit_id,
            work_ids: Vec::new(),
            lead_ids: Vec::new(),
            inserted: 0,
            updated: 0,
            unchanged: 0,
        };
        let count = |o: Outcome, s: &mut FormSaved| match o {
            Outcome::Inserted => s.inserted += 1,
            Outcome::Updated => s.updated += 1,
            Outcome::Unchanged => s.unchanged += 1,
        };
        for w in new_works {
            let w = NewWork { unit_id, ..w };
            let (submitted_on, late) = self.submission_date(&w)?;
            let cx = WorkContext {
                edition_year: year,
                submitted_on: &submitted_on,
                late,
                actor,
            };
            let (id, o) = repo::work_upsert(&mut tx, &w, &cx).await?;
            sqlx::query("UPDATE works SET source = $1 WHERE id = $2 AND source IS NULL")
                .bind(source.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            count(o, &mut saved);
            saved.work_ids.push(id);
        }
        for l in &p.leads {
            let lead = NewLead {
                unit_id,
                name: l.name.trim().to_string(),
                categories: p.categories.clone(),
                description: Some(l.description.clone()),
            };
            if lead.name.is_empty() {
                return Err(Error::invalid("报送线索简介", "线索没有名称"));
            }
            let (id, o) = repo::lead_upsert(&mut tx, &lead, year, actor).await?;
            sqlx::query("UPDATE leads SET source = $1 WHERE id = $2 AND source IS NULL")
                .bind(source.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            count(o, &mut saved);
            saved.lead_ids.push(id);
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Previews (and with `confirm`, saves) every form among `paths`: a folder stands for the
    /// .docx/.xlsx/.xls/.csv files in it (sorted by name). One report per file; a bad file
    /// does not stop the others.
    pub async fn forms_in(
        &self,
        paths: &[std::path::PathBuf],
        confirm: bool,
        actor: &str,
    ) -> Vec<FileReport> {
        let mut files = Vec::new();
        for p in paths {
            if p.is_dir() {
                let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(p)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|f| is_form_file(f))
                    .collect();
                found.sort();
                files.extend(found);
            } else {
                files.push(p.clone());
            }
        }
        let mut out = Vec::new();
        for f in files {
            let path = f.display().to_string();
            let name = f
                .file_name()
                .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
            let mut report = FileReport {
                path,
                preview: None,
                error: None,
                saved: None,
            };
            let preview = match tokio::fs::read(&f).await {
                Ok(bytes) => self.preview_form(&name, bytes).await,
                Err(e) => Err(Error::invalid("file", format!("无法读取：{e}"))),
            };
            match preview {
                Ok(p) => {
                    if confirm && p.ok() {
                        match self.save_form(&p, actor, Source::Table).await {
                            Ok(s) => report.saved = Some(s),
                            Err(e) => report.error = Some(e.to_string()),
                        }
                    }
                    report.preview = Some(p);
                }
                Err(e) => report.error = Some(e.to_string()),
            }
            out.push(report);
        }
        out
    }
}

/// Whether a path is a table a form may be in (by extension; Office lock files `~$…` skipped).
pub fn is_form_file(p: &std::path::Path) -> bool {
    let lock = p
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("~$"));
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    !lock && matches!(ext.as_str(), "docx" | "xlsx" | "xls" | "csv")
}

fn field_label(field: &str) -> &str {
    match field {
        "title" => "作品名称",
        "categories" => "视频类别",
        "declared_duration_ms" => "时长",
        "summary" => "视频内容简介",
        "due_date" => "预计完成日期",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edition() -> Edition {
        Edition::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schedules/editions/2026.toml"
        )))
        .expect("edition")
    }

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn the_notices_layout_is_read_field_by_field() {
        let rows = vec![
            row(&["“科普之光”全国科普月大型网络展播活动征集信息采集表"]),
            row(&["报送单位", "中国科协科普部", "中国科协科普部"]),
            row(&["联 系 人", "张三", "职务/职称", "处长"]),
            row(&["联系电话", "010-63003153", "电子邮箱", "a@cast.org.cn"]),
            row(&[
                "视频类别\n（可多选）",
                "☑2026年全国科普月活动精剪视频\n□大国重器类科普视频\n■其他  科普剧",
            ]),
            row(&[
                "报送视频状态（可多选）",
                "☑成品视频及线索（7月12日前报送）\n□视频待自行制作（科普月精剪视频除外，8月15日前补充报送）\n□科普月精剪视频（9月15日前报送）",
            ]),
            row(&[
                "视频内容简介",
                "需包括作品名称、时长信息、版权方信息（如入选，将呈现在节目单中），不超过200字。\n1.《深海》，时长12分钟，版权方：深海所\n2.《星空》，时长00:08:30，版权方：天文台",
            ]),
            row(&["报送线索简介", "《院士的实验室》，可拍摄超导实验"]),
            row(&[
                "上级主管单位",
                "主管单位名称：中国科协\n主管单位所属类型：\n□全民科学素质纲要实施工作办公室成员单位\n√全国学会\n□地方科协",
            ]),
        ];
        assert!(is_form_layout(&rows));
        let p = preview_rows("a.docx", "Word", &rows, &edition());
        assert!(p.ok(), "{:?}", p.errors);
        assert_eq!(p.unit.name, "中国科协科普部");
        assert_eq!(p.unit.contact_title.as_deref(), Some("处长"));
        assert_eq!(p.unit.supervisor_name.as_deref(), Some("中国科协"));
        assert_eq!(
            p.unit.supervisor_type,
            Some(SupervisorType::NationalSociety)
        );
        assert_eq!(p.categories, vec![1, 9]);
        assert_eq!(p.works.len(), 2);
        assert_eq!(p.works[1].duration_ms, Some(510_000));
        assert_eq!(
            p.works[0].production_status,
            Some(ProductionStatus::Finished)
        );
        assert_eq!(p.leads[0].name, "院士的实验室");
    }

    #[test]
    fn a_header_row_is_not_the_form() {
        let rows = vec![row(&["报送单位", "联系人", "联系电话", "作品名称"])];
        assert!(!is_form_layout(&rows));
    }
}
