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
//! - `layout`: which cells are labels and where their values are;
//! - `online`: the same form filled in the dashboard by a partner, and its drafts;
//! - `save`: storing a confirmed form; a folder of forms with a report per file;
//! - `options`: checkbox lists as units mark them;
//! - `summary`: the 视频内容简介 split into works (title, duration, 版权方), counted in 字.

pub mod docx;
pub mod layout;
pub mod online;
pub mod options;
pub mod save;
pub mod summary;

use super::fields::{parse_status, parse_supervisor_type};
use super::model::{NewUnit, ProductionStatus, SUMMARY_MAX_CHARS, SupervisorType};
use crate::edition::Edition;
use crate::store::{Error, Result};
use layout::{Key, category_of, key_values};
use options::choices;
use serde::{Deserialize, Serialize};
use summary::{WorkDraft, parse_entry, split_entries};

pub use layout::is_form_layout;
pub use save::{FileReport, FormSaved, is_form_file};

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

    /// Outside input never panics the readers: random cells made of the characters the
    /// parsers look for (labels, boxes, marks, digits, colons, brackets) and random bytes as
    /// a file (deterministic xorshift, no extra crate).
    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet: Vec<char> =
            "报送单位联系人视频类别内容简介线索上级主管所属类型□☑■√✓是否《》（）()：:，。12345分钟小时\n 0:年其他"
                .chars()
                .collect();
        let e = edition();
        for _ in 0..2000 {
            let rows: Vec<Vec<String>> = (0..(next() % 8))
                .map(|_| {
                    (0..(next() % 5))
                        .map(|_| {
                            (0..(next() % 40))
                                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let _ = is_form_layout(&rows);
            let p = preview_rows("f", "t", &rows, &e);
            let _ = p.ok();
            let bytes: Vec<u8> = (0..(next() % 300)).map(|_| next() as u8).collect();
            let mut zipish = b"PK\x03\x04".to_vec();
            zipish.extend_from_slice(&bytes);
            let _ = read_rows(bytes);
            let _ = read_rows(zipish);
            let text: String = (0..(next() % 60))
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = docx::parse_document_xml(&text);
            let _ = crate::upload::tus::parse_metadata(Some(&text));
        }
    }

    #[test]
    fn a_header_row_is_not_the_form() {
        let rows = vec![row(&["报送单位", "联系人", "联系电话", "作品名称"])];
        assert!(!is_form_layout(&rows));
    }
}
