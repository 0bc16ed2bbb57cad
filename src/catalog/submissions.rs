//! 报送 as people follow it: every submitted work and lead with its unit and where it came
//! from (在线填报, 信息采集表, 汇总表), its state through 技术审核 → 遴选 → 排播 → 播出 and its
//! technical verdict in plain Chinese (for a unit: only its own); and the reminders of
//! promised videos (视频待自行制作, 科普月精剪视频) with no accepted file yet whose deadline is
//! near or past. Reads only; storage is `repo`, the states are `workflow`.

use super::Catalog;
use super::model::{ProductionStatus, Verdict, WorkState};
use crate::store::Result;
use chrono::NaiveDate;
use serde::Serialize;

/// One submitted work as a coordinator or its unit sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Submission {
    /// Work id.
    pub work_id: i64,
    /// Unit id.
    pub unit_id: i64,
    /// 报送单位.
    pub unit: String,
    /// 作品名称.
    pub title: String,
    /// Where it came from: online / table / spreadsheet (None: entered by hand or before).
    pub source: Option<String>,
    /// The same in Chinese (在线填报, 信息采集表, 汇总表, 手工录入).
    pub source_label: String,
    /// 报送视频状态 (stored spelling).
    pub production_status: String,
    /// Its Chinese label.
    pub production_status_label: String,
    /// Where the work stands (stored spelling).
    pub state: String,
    /// The state in Chinese (已报送, 技术审核, 入选, 未入选, 已排播, 已播出).
    pub state_label: String,
    /// Submission date.
    pub submitted_on: String,
    /// Due date of a promised video.
    pub due_date: Option<String>,
    /// Files attached.
    pub files: usize,
    /// The latest file's verdict in Chinese (通过, 警告, 不通过), None until probed.
    pub verdict: Option<String>,
    /// Why, in plain Chinese (the QC reasons).
    pub verdict_reasons: Vec<String>,
}

/// A promised video that is due.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    /// Work id.
    pub work_id: i64,
    /// 报送单位.
    pub unit: String,
    /// 联系人.
    pub contact_name: Option<String>,
    /// 联系电话.
    pub contact_phone: Option<String>,
    /// 电子邮箱.
    pub contact_email: Option<String>,
    /// 作品名称.
    pub title: String,
    /// 视频待自行制作 or 科普月精剪视频.
    pub production_status_label: String,
    /// The date it is due (the work's, else the edition's deadline for its status).
    pub due: String,
    /// Days left (negative: overdue).
    pub days_left: i64,
}

fn source_label(s: Option<&str>) -> &'static str {
    match s {
        Some("online") => "在线填报",
        Some("table") => "信息采集表",
        Some("spreadsheet") => "汇总表",
        _ => "手工录入",
    }
}

#[derive(sqlx::FromRow)]
struct Line {
    id: i64,
    unit_id: i64,
    unit: String,
    title: String,
    source: Option<String>,
    production_status: String,
    state: String,
    submitted_on: String,
    due_date: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    contact_email: Option<String>,
}

const LINES: &str = "SELECT w.id, w.unit_id, u.name AS unit, w.title, w.source, w.production_status, \
     w.state, w.submitted_on, w.due_date, u.contact_name, u.contact_phone, u.contact_email \
     FROM works w JOIN units u ON u.id = w.unit_id WHERE w.edition_year = $1";

impl Catalog {
    async fn lines(&self, unit: Option<i64>) -> Result<Vec<Line>> {
        let year = i64::from(self.edition.edition.year);
        let rows: Vec<Line> = match unit {
            Some(u) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{LINES} AND w.unit_id = $2 ORDER BY w.id"
                )))
                .bind(year)
                .bind(u)
                .fetch_all(self.store.pool())
                .await?
            }
            None => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{LINES} ORDER BY w.id")))
                    .bind(year)
                    .fetch_all(self.store.pool())
                    .await?
            }
        };
        Ok(rows)
    }

    /// Every work of the edition (or of `unit` only) with its source, state and verdict.
    pub async fn submissions(&self, unit: Option<i64>) -> Result<Vec<Submission>> {
        let mut out = Vec::new();
        for l in self.lines(unit).await? {
            let files = self.files_of(l.id).await?;
            let last = files.iter().rev().find(|f| f.verdict.is_some());
            let verdict = last
                .and_then(|f| f.verdict.as_deref())
                .and_then(|v| v.parse::<Verdict>().ok())
                .map(|v| v.label().to_string());
            let verdict_reasons = last
                .and_then(|f| f.reasons_json.as_deref())
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_default();
            out.push(Submission {
                work_id: l.id,
                unit_id: l.unit_id,
                unit: l.unit,
                title: l.title,
                source_label: source_label(l.source.as_deref()).to_string(),
                source: l.source,
                production_status_label: l
                    .production_status
                    .parse::<ProductionStatus>()
                    .map_or("未知", ProductionStatus::label)
                    .to_string(),
                production_status: l.production_status,
                state_label: l
                    .state
                    .parse::<WorkState>()
                    .map_or("未知", WorkState::label)
                    .to_string(),
                state: l.state,
                submitted_on: l.submitted_on,
                due_date: l.due_date,
                files: files.len(),
                verdict,
                verdict_reasons,
            });
        }
        Ok(out)
    }

    /// Promised videos (视频待自行制作, 科普月精剪视频) without a file that passed 技术审核,
    /// due within `within_days` of `today` or overdue, soonest first.
    pub async fn reminders(&self, today: NaiveDate, within_days: i64) -> Result<Vec<Reminder>> {
        let mut out = Vec::new();
        for l in self.lines(None).await? {
            let Ok(status) = l.production_status.parse::<ProductionStatus>() else {
                continue;
            };
            if status == ProductionStatus::Finished {
                continue;
            }
            let accepted = self
                .files_of(l.id)
                .await?
                .iter()
                .any(|f| matches!(f.verdict.as_deref(), Some("pass") | Some("warn")));
            if accepted {
                continue;
            }
            let due = l
                .due_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .unwrap_or_else(|| self.edition.deadline(status.into()));
            let days_left = (due - today).num_days();
            if days_left > within_days {
                continue;
            }
            out.push(Reminder {
                work_id: l.id,
                unit: l.unit,
                contact_name: l.contact_name,
                contact_phone: l.contact_phone,
                contact_email: l.contact_email,
                title: l.title,
                production_status_label: status.label().to_string(),
                due: due.format("%Y-%m-%d").to_string(),
                days_left,
            });
        }
        out.sort_by_key(|r| (r.days_left, r.work_id));
        Ok(out)
    }
}
