//! The collection form filled online by a partner account (在线填报): the same fields as the
//! notice's table, typed rather than read, checked by the same rules (the edition's
//! categories, the 200 字 of 视频内容简介 counted as the notice counts, contact fields), and
//! turned into a [`FormPreview`] so that storing it is [`crate::catalog::Catalog::save_form`]
//! like a confirmed table. Drafts are kept per unit as the JSON the page sent.

use super::summary::{WorkDraft, notice_chars};
use super::{FieldError, FormPreview, LeadDraft};
use crate::catalog::Catalog;
use crate::catalog::model::{NewUnit, ProductionStatus, SUMMARY_MAX_CHARS};
use crate::edition::Edition;
use crate::store::{Error, Result, now_ms};
use serde::{Deserialize, Serialize};

/// One work as typed in the form.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnlineWork {
    /// 作品名称.
    pub title: String,
    /// Declared duration in ms.
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// 版权方.
    #[serde(default)]
    pub copyright_holder: Option<String>,
    /// 视频内容简介 (≤ 200 字).
    #[serde(default)]
    pub summary: String,
    /// 报送视频状态.
    pub production_status: ProductionStatus,
}

/// The whole form as the page sends it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnlineForm {
    /// Contact and supervising body (报送单位 is the partner's own unit, whatever is sent).
    pub unit: NewUnit,
    /// Category ids of the edition.
    #[serde(default)]
    pub categories: Vec<u8>,
    /// Works.
    #[serde(default)]
    pub works: Vec<OnlineWork>,
    /// Leads (线索).
    #[serde(default)]
    pub leads: Vec<LeadDraft>,
}

/// Checks an online form against the edition; every problem names its field.
pub fn check(form: &OnlineForm, edition: &Edition) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut err = |field: String, reason: String| errors.push(FieldError { field, reason });
    if let Err(Error::Invalid { field, reason }) = form.unit.validate() {
        let label = match field.as_str() {
            "contact_email" => "电子邮箱",
            "contact_phone" => "联系电话",
            _ => "报送单位",
        };
        err(label.into(), reason);
    }
    if form
        .unit
        .contact_name
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        err("联系人".into(), "请填写联系人".into());
    }
    if form
        .unit
        .contact_phone
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        err("联系电话".into(), "请填写联系电话".into());
    }
    for c in &form.categories {
        if edition.category(*c).is_none() {
            err("视频类别".into(), format!("本届没有编号 {c} 的类别"));
        }
    }
    if form.works.is_empty() && form.leads.is_empty() {
        err("视频内容简介".into(), "至少报送一部作品或一条线索".into());
    }
    if !form.works.is_empty() && form.categories.is_empty() {
        err("视频类别".into(), "请至少选择一个视频类别".into());
    }
    for (i, w) in form.works.iter().enumerate() {
        let no = i + 1;
        if w.title.trim().is_empty() {
            err(format!("第 {no} 部作品·作品名称"), "请填写作品名称".into());
        }
        let n = notice_chars(&w.summary);
        if n > SUMMARY_MAX_CHARS {
            err(
                format!("第 {no} 部作品·视频内容简介"),
                format!("{n} 字，超过通知规定的 {SUMMARY_MAX_CHARS} 字（不计空格与换行）"),
            );
        }
        if let Some(d) = w.duration_ms
            && (d <= 0 || d > 24 * 3_600_000)
        {
            err(
                format!("第 {no} 部作品·时长"),
                "时长须在 0 到 24 小时之间".into(),
            );
        }
    }
    for (i, l) in form.leads.iter().enumerate() {
        if l.name.trim().is_empty() {
            err(format!("线索 {}·名称", i + 1), "请填写线索名称".into());
        }
    }
    errors
}

/// The form as a preview (for [`Catalog::save_form`]).
pub fn to_preview(form: &OnlineForm, edition: &Edition) -> FormPreview {
    let works = form
        .works
        .iter()
        .map(|w| WorkDraft {
            title: w.title.trim().to_string(),
            title_from: "在线填写".into(),
            duration_ms: w.duration_ms,
            duration_text: None,
            copyright_holder: w.copyright_holder.clone().filter(|c| !c.trim().is_empty()),
            summary: w.summary.trim().to_string(),
            summary_chars: notice_chars(&w.summary),
            production_status: Some(w.production_status),
        })
        .collect();
    FormPreview {
        file: "在线填报".into(),
        format: "online".into(),
        unit: form.unit.clone(),
        categories: form.categories.clone(),
        works,
        leads: form.leads.clone(),
        fields: Vec::new(),
        errors: check(form, edition),
        warnings: Vec::new(),
    }
}

impl Catalog {
    /// Keeps a unit's draft (the page's JSON, any state of completion).
    pub async fn save_draft(&self, unit_id: i64, draft: &serde_json::Value) -> Result<()> {
        let body = draft.to_string();
        if body.len() > 256 * 1024 {
            return Err(Error::invalid("draft", "草稿超过 256 KB"));
        }
        let mut tx = self.store.pool().begin().await?;
        sqlx::query("DELETE FROM submission_drafts WHERE unit_id = $1")
            .bind(unit_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO submission_drafts (unit_id, body, updated_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(unit_id)
        .bind(&body)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A unit's draft, if it kept one.
    pub async fn draft(&self, unit_id: i64) -> Result<Option<serde_json::Value>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM submission_drafts WHERE unit_id = $1")
                .bind(unit_id)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }
}
