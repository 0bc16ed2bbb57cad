//! Storing a confirmed form, and a folder of forms read (and stored) file by file with one
//! report each. A preview is checked again before it is stored (a person may have corrected
//! it); everything of one form is written in one transaction or not at all.

use super::{FormPreview, Source, is_form_layout, preview_rows, read_rows};
use crate::catalog::Catalog;
use crate::catalog::model::{NewWork, ProductionStatus, SUMMARY_MAX_CHARS};
use crate::catalog::repo::{self, NewLead, Outcome, WorkContext};
use crate::store::{Error, Result};
use serde::{Deserialize, Serialize};

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
            let n_chars = super::summary::notice_chars(&d.summary);
            if n_chars > SUMMARY_MAX_CHARS {
                return Err(Error::invalid(
                    format!("视频内容简介（第 {} 部作品）", n + 1),
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
                    format!("第 {} 部作品·{}", n + 1, field_label(&field)),
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
