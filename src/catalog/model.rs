//! The catalog's vocabulary: units, works, media files, leads, reviews and their states, with
//! the rules a single value must obey (summary ≤ 200 characters, categories 1–9, durations in
//! integer milliseconds). Names are English in code; `label()` gives the Chinese for people.
//! Storage is `repo`; multi-record rules (the workflow) are `workflow`.

use crate::store::{Error, Result};
use serde::{Deserialize, Serialize};

/// Longest summary (视频内容简介), counted in characters (Unicode scalar values), not bytes.
pub const SUMMARY_MAX_CHARS: usize = 200;

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal / $zh:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            /// All values.
            pub const ALL: &'static [Self] = &[$(Self::$v),+];
            /// Stored / API spelling.
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),+ } }
            /// Chinese label for people.
            pub fn label(self) -> &'static str { match self { $(Self::$v => $zh),+ } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                let t = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == t || v.label() == t)
                    .ok_or_else(|| Error::invalid(stringify!($name), format!("不认识的取值「{t}」")))
            }
        }
    };
}

str_enum!(
    /// Type of the supervising body (上级主管单位所属类型).
    SupervisorType {
        /// 全民科学素质纲要实施工作办公室成员单位.
        Gangyaoban = "gangyaoban" / "纲要办成员单位",
        /// 全国学会.
        NationalSociety = "national_society" / "全国学会",
        /// 地方科协.
        LocalAssociation = "local_association" / "地方科协",
        /// 其他.
        Other = "other" / "其他",
    }
);

str_enum!(
    /// Submission status (报送视频状态).
    ProductionStatus {
        /// 成品视频: finished.
        Finished = "finished" / "成品视频",
        /// 视频待自行制作: to be produced by a date.
        ToBeProduced = "to_be_produced" / "视频待自行制作",
        /// 科普月精剪视频: month highlights, due during the broadcast.
        Highlights = "highlights" / "科普月精剪视频",
    }
);

impl From<ProductionStatus> for crate::edition::DeadlineKind {
    fn from(s: ProductionStatus) -> Self {
        match s {
            ProductionStatus::Finished => Self::Finished,
            ProductionStatus::ToBeProduced => Self::ToBeProduced,
            ProductionStatus::Highlights => Self::Highlights,
        }
    }
}

str_enum!(
    /// Where a work is in the workflow 已报送 → 技术审核 → 遴选 → 已排播 → 已播出.
    WorkState {
        /// 已报送.
        Submitted = "submitted" / "已报送",
        /// 技术审核: a file has been probed.
        TechReview = "tech_review" / "技术审核",
        /// 入选.
        Selected = "selected" / "入选",
        /// 未入选.
        NotSelected = "not_selected" / "未入选",
        /// 已排播.
        Scheduled = "scheduled" / "已排播",
        /// 已播出.
        Aired = "aired" / "已播出",
    }
);

str_enum!(
    /// Technical acceptance verdict of one file.
    Verdict {
        /// 通过.
        Pass = "pass" / "通过",
        /// 通过（有警告）.
        Warn = "warn" / "警告",
        /// 不通过.
        Fail = "fail" / "不通过",
    }
);

str_enum!(
    /// A reviewer's selection decision (遴选).
    Decision {
        /// 入选.
        Selected = "selected" / "入选",
        /// 未入选.
        NotSelected = "not_selected" / "未入选",
    }
);

/// Parses one category written as an id ("3"), one of the edition's names (also with a year
/// prefix, as the 2026 form writes "2026年全国科普月活动精剪视频", or a box in front), or
/// "其他：…". `categories` are the edition's ([`crate::edition::Edition::categories`]).
pub fn parse_category(s: &str, categories: &[crate::edition::CategoryRule]) -> Option<u8> {
    let t = s.trim().trim_start_matches(['□', '☑', '√', '■']).trim();
    super::form::layout::category_of(categories, t)
}

/// Categories stored as "1,3".
pub fn categories_to_db(c: &[u8]) -> String {
    c.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

/// Inverse of [`categories_to_db`]; ignores junk.
pub fn categories_from_db(s: &str) -> Vec<u8> {
    s.split(',').filter_map(|p| p.trim().parse().ok()).collect()
}

/// A submitting unit (报送单位).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, PartialEq)]
pub struct Unit {
    /// Row id.
    pub id: i64,
    /// 报送单位.
    pub name: String,
    /// 上级主管单位.
    pub supervisor_name: Option<String>,
    /// 主管单位所属类型 (stored spelling of [`SupervisorType`]).
    pub supervisor_type: Option<String>,
    /// 联系人.
    pub contact_name: Option<String>,
    /// 职务/职称.
    pub contact_title: Option<String>,
    /// 联系电话.
    pub contact_phone: Option<String>,
    /// 电子邮箱.
    pub contact_email: Option<String>,
    /// Created, ms UTC.
    pub created_at_ms: i64,
    /// Last change, ms UTC.
    pub updated_at_ms: i64,
}

/// Input for a unit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    /// 报送单位 (required).
    pub name: String,
    /// 上级主管单位.
    #[serde(default)]
    pub supervisor_name: Option<String>,
    /// 主管单位所属类型.
    #[serde(default)]
    pub supervisor_type: Option<SupervisorType>,
    /// 联系人.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// 职务/职称.
    #[serde(default)]
    pub contact_title: Option<String>,
    /// 联系电话.
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// 电子邮箱.
    #[serde(default)]
    pub contact_email: Option<String>,
}

impl NewUnit {
    /// Checks the fields one by one; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let n = self.name.trim();
        if n.is_empty() {
            return Err(Error::invalid("name", "报送单位不能为空"));
        }
        if n.chars().count() > 100 {
            return Err(Error::invalid("name", "报送单位名称超过 100 字"));
        }
        if let Some(e) = self.contact_email.as_deref().filter(|e| !e.is_empty()) {
            let ok = e
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'));
            if !ok {
                return Err(Error::invalid(
                    "contact_email",
                    format!("电子邮箱「{e}」格式不对"),
                ));
            }
        }
        if let Some(p) = self.contact_phone.as_deref().filter(|p| !p.is_empty()) {
            let ok = p
                .chars()
                .all(|c| c.is_ascii_digit() || "-+ ()（）—".contains(c))
                && p.chars().filter(char::is_ascii_digit).count() >= 7;
            if !ok {
                return Err(Error::invalid(
                    "contact_phone",
                    format!("联系电话「{p}」格式不对"),
                ));
            }
        }
        Ok(())
    }
}

/// A submitted work (作品).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, PartialEq)]
pub struct WorkRow {
    /// Row id.
    pub id: i64,
    /// Submitting unit.
    pub unit_id: i64,
    /// Edition year.
    pub edition_year: i64,
    /// 作品名称.
    pub title: String,
    /// Categories as "1,3".
    pub categories: String,
    /// 时长, declared by the unit, in ms.
    pub declared_duration_ms: Option<i64>,
    /// 版权方.
    pub copyright_holder: Option<String>,
    /// 视频内容简介 (≤ 200 characters).
    pub summary: Option<String>,
    /// Stored spelling of [`ProductionStatus`].
    pub production_status: String,
    /// Due date for works still to be produced, YYYY-MM-DD.
    pub due_date: Option<String>,
    /// Declared AI-generated content (0/1).
    pub ai_generated: i64,
    /// Declared simplified-Chinese subtitles (0/1).
    pub has_subtitles: i64,
    /// Who put the rights confirmation (确认单) on file.
    pub rights_confirmed_by: Option<String>,
    /// When, ms UTC.
    pub rights_confirmed_at_ms: Option<i64>,
    /// Stored spelling of [`WorkState`].
    pub state: String,
    /// Submitted after the edition's deadline (0/1).
    pub late: i64,
    /// Local date of submission, YYYY-MM-DD.
    pub submitted_on: String,
    /// Hash of the submitted fields (idempotent import).
    pub content_key: String,
    /// Created, ms UTC.
    pub created_at_ms: i64,
    /// Last change, ms UTC.
    pub updated_at_ms: i64,
}

/// Input for a work, from the API or one import row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWork {
    /// Submitting unit id.
    pub unit_id: i64,
    /// 作品名称.
    pub title: String,
    /// Category ids 1–9 (multi-select).
    pub categories: Vec<u8>,
    /// Declared duration in ms.
    #[serde(default)]
    pub declared_duration_ms: Option<i64>,
    /// 版权方.
    #[serde(default)]
    pub copyright_holder: Option<String>,
    /// 视频内容简介.
    #[serde(default)]
    pub summary: Option<String>,
    /// 报送视频状态.
    pub production_status: ProductionStatus,
    /// Due date (YYYY-MM-DD) when still to be produced.
    #[serde(default)]
    pub due_date: Option<String>,
    /// AI-generated content declared.
    #[serde(default)]
    pub ai_generated: bool,
    /// Simplified-Chinese subtitles declared.
    #[serde(default)]
    pub has_subtitles: bool,
    /// Submission date YYYY-MM-DD (Asia/Shanghai); today when absent.
    #[serde(default)]
    pub submitted_on: Option<String>,
}

/// Parses a YYYY-MM-DD date or names the field.
pub fn parse_date(field: &str, s: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(s.trim(), "%Y/%m/%d"))
        .map_err(|_| Error::invalid(field, format!("日期「{s}」应写成 2026-08-15")))
}

impl NewWork {
    /// Checks the fields one by one; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let t = self.title.trim();
        if t.is_empty() {
            return Err(Error::invalid("title", "作品名称不能为空"));
        }
        if t.chars().count() > 100 {
            return Err(Error::invalid("title", "作品名称超过 100 字"));
        }
        if self.categories.is_empty() {
            return Err(Error::invalid("categories", "至少选择一个视频类别"));
        }
        if let Some(c) = self.categories.iter().find(|c| !(1..=9).contains(*c)) {
            return Err(Error::invalid(
                "categories",
                format!("视频类别 {c} 不存在（1–9）"),
            ));
        }
        if let Some(d) = self.declared_duration_ms
            && (d <= 0 || d > 24 * 3_600_000)
        {
            return Err(Error::invalid(
                "declared_duration_ms",
                "时长须在 0 到 24 小时之间",
            ));
        }
        if let Some(s) = &self.summary {
            let n = s.chars().count();
            if n > SUMMARY_MAX_CHARS {
                return Err(Error::invalid(
                    "summary",
                    format!("视频内容简介 {n} 字，超过 {SUMMARY_MAX_CHARS} 字上限"),
                ));
            }
        }
        if let Some(d) = &self.due_date {
            parse_date("due_date", d)?;
        }
        if let Some(d) = &self.submitted_on {
            parse_date("submitted_on", d)?;
        }
        Ok(())
    }
}

/// A media file attached to a work, with the last probe result.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, PartialEq)]
pub struct MediaFileRow {
    /// Row id.
    pub id: i64,
    /// Owning work.
    pub work_id: i64,
    /// Path or URL.
    pub location: String,
    /// Stored spelling of [`Verdict`]; None until probed.
    pub verdict: Option<String>,
    /// Reasons (JSON array of Chinese strings).
    pub reasons_json: Option<String>,
    /// The whole probe report (JSON).
    pub probe_json: Option<String>,
    /// Container (mp4, mov, …).
    pub container: Option<String>,
    /// Displayed width.
    pub width: Option<i64>,
    /// Displayed height.
    pub height: Option<i64>,
    /// Overall bit rate.
    pub bit_rate_bps: Option<i64>,
    /// Size in bytes.
    pub size_bytes: Option<i64>,
    /// Duration in ms.
    pub duration_ms: Option<i64>,
    /// Audio present (0/1).
    pub has_audio: Option<i64>,
    /// Every stream in words ([`crate::catalog::probe::ProbeReport::streams_summary`]).
    #[sqlx(default)]
    #[serde(default)]
    pub streams: Option<String>,
    /// Integrated loudness, LUFS.
    pub loudness_lufs: Option<f64>,
    /// True peak, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// When probed, ms UTC.
    pub probed_at_ms: Option<i64>,
    /// Created, ms UTC.
    pub created_at_ms: i64,
}

/// A lead (线索): an idea for a video the 科普中国 team may film.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, PartialEq)]
pub struct LeadRow {
    /// Row id.
    pub id: i64,
    /// Proposing unit.
    pub unit_id: i64,
    /// Edition year.
    pub edition_year: i64,
    /// 线索名称.
    pub name: String,
    /// Categories as "1,3".
    pub categories: String,
    /// 科普价值、传播亮点及可拍摄内容.
    pub description: Option<String>,
    /// proposed / accepted / declined / filmed.
    pub state: String,
    /// The work it became, if any.
    pub work_id: Option<i64>,
    /// Hash of the submitted fields.
    pub content_key: String,
    /// Created, ms UTC.
    pub created_at_ms: i64,
    /// Last change, ms UTC.
    pub updated_at_ms: i64,
}

/// A review record: technical result, checklist, and/or selection decision.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, PartialEq)]
pub struct ReviewRow {
    /// Row id.
    pub id: i64,
    /// Reviewed work.
    pub work_id: i64,
    /// Who.
    pub reviewer: String,
    /// When, ms UTC.
    pub at_ms: i64,
    /// Technical verdict the reviewer saw.
    pub technical_verdict: Option<String>,
    /// 中文简体字幕 checked (0/1, None = not checked).
    pub chk_subtitles: Option<i64>,
    /// 无角标、台标、水印 checked.
    pub chk_no_logo: Option<i64>,
    /// 无商业广告 checked.
    pub chk_no_ads: Option<i64>,
    /// AI 生成内容已标注 checked.
    pub chk_ai_label: Option<i64>,
    /// 科学性 checked.
    pub chk_science: Option<i64>,
    /// selected / not_selected.
    pub decision: Option<String>,
    /// Reason of the decision.
    pub reason: Option<String>,
}

/// One state change of a work, lead or file.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, PartialEq)]
pub struct HistoryRow {
    /// Row id.
    pub id: i64,
    /// work / lead / file.
    pub entity: String,
    /// Its id.
    pub entity_id: i64,
    /// Previous state.
    pub from_state: Option<String>,
    /// New state.
    pub to_state: String,
    /// Who (a person or "import", "probe").
    pub actor: String,
    /// Free note.
    pub note: Option<String>,
    /// When, ms UTC.
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> Vec<crate::edition::CategoryRule> {
        crate::edition::Edition::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schedules/editions/2026.toml"
        )))
        .expect("edition")
        .categories
    }

    #[test]
    fn categories_parse_from_ids_and_the_editions_names() {
        let c = categories();
        assert_eq!(parse_category("3", &c), Some(3));
        assert_eq!(parse_category("2026年全国科普月活动精剪视频", &c), Some(1));
        assert_eq!(parse_category("□慢直播形式科普视频", &c), Some(8));
        assert_eq!(parse_category("其他：科普剧", &c), Some(9));
        assert_eq!(parse_category("10", &c), None);
        assert_eq!(parse_category("纪录片", &c), None);
        // A name the edition renamed is read by the edition's spelling.
        let mut renamed = c.clone();
        renamed[7].name = "慢直播科普视频".into();
        assert_eq!(parse_category("慢直播科普视频", &renamed), Some(8));
        assert_eq!(parse_category("慢直播形式科普视频", &renamed), None);
    }

    #[test]
    fn summary_is_counted_in_characters() {
        let mut w = NewWork {
            unit_id: 1,
            title: "深海探秘".into(),
            categories: vec![3],
            declared_duration_ms: Some(1_800_000),
            copyright_holder: None,
            summary: Some("科".repeat(200)),
            production_status: ProductionStatus::Finished,
            due_date: None,
            ai_generated: false,
            has_subtitles: true,
            submitted_on: None,
        };
        assert!(
            w.validate().is_ok(),
            "200 Chinese characters (600 bytes) pass"
        );
        w.summary = Some("科".repeat(201));
        let err = w.validate().expect_err("201 refused");
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "summary"),
            "{err}"
        );
    }

    #[test]
    fn enums_read_both_spellings() {
        assert_eq!(
            "全国学会".parse::<SupervisorType>().ok(),
            Some(SupervisorType::NationalSociety)
        );
        assert_eq!(
            "tech_review".parse::<WorkState>().ok(),
            Some(WorkState::TechReview)
        );
        assert!("bogus".parse::<Verdict>().is_err());
    }
}
