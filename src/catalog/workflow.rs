//! The review workflow 已报送 → 技术审核 → 遴选 (入选/未入选) → 已排播 → 已播出: recording probe
//! results and reviews, rights confirmations, state changes with history, and the
//! `schedulable` rule the rundown relies on (passed technical check, selected, rights on file).
//! Late submissions are flagged at submission (see `repo`), never refused here.

use super::Catalog;
use super::model::*;
use super::probe::{ProbeOptions, ProbeReport, probe};
use super::qc::{QcResult, hms, judge};
use super::repo::{Work, history_add};
use crate::store::{Error, Result, now_ms};
use serde::{Deserialize, Serialize};

/// A reviewer's record: any of checklist, decision; the technical verdict is filled in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// Who reviews (required).
    pub reviewer: String,
    /// 中文简体字幕 checked.
    #[serde(default)]
    pub subtitles: Option<bool>,
    /// 无角标、台标、水印、Logo checked.
    #[serde(default)]
    pub no_logo: Option<bool>,
    /// 无商业广告 checked.
    #[serde(default)]
    pub no_ads: Option<bool>,
    /// AI 生成内容已标注 checked.
    #[serde(default)]
    pub ai_label: Option<bool>,
    /// 科学性 checked.
    #[serde(default)]
    pub science: Option<bool>,
    /// 入选 / 未入选.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// Reason (required for 未入选).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A work the rundown may place, with the file to play and what playout needs to know.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Playable {
    /// The work (title, copyright holder, categories for the 节目单).
    pub work: Work,
    /// The chosen file: the best verdict, then the most recently probed.
    pub file_id: i64,
    /// Its path or URL.
    pub location: String,
    /// Its measured duration, ms.
    pub duration_ms: i64,
    /// Integrated loudness, LUFS, for gain at playout.
    pub loudness_lufs: Option<f64>,
    /// True peak, dBTP.
    pub true_peak_dbtp: Option<f64>,
}

/// Why a work can or cannot be scheduled.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Schedulability {
    /// True when nothing blocks it.
    pub schedulable: bool,
    /// The blocking reasons, in Chinese.
    pub reasons: Vec<String>,
}

fn b(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

impl Catalog {
    /// The minimum duration that applies to a work (strictest of its categories).
    pub async fn min_duration_of(&self, work_id: i64) -> Result<Option<i64>> {
        let w = self.work_row(work_id).await?;
        Ok(self
            .edition
            .min_duration_ms(&categories_from_db(&w.categories)))
    }

    /// Stores a probe report and its verdict on a file; the work enters 技术审核 if it was
    /// only 已报送.
    pub async fn record_probe(&self, file_id: i64, report: &ProbeReport) -> Result<QcResult> {
        let f = self.file(file_id).await?;
        let min = self.min_duration_of(f.work_id).await?;
        let mut qc = judge(report, &self.edition.acceptance, min);
        // The published 节目单 shows the declared length: say when the file disagrees.
        let declared = self.work_row(f.work_id).await?.declared_duration_ms;
        if let (Some(d), Some(real)) = (declared, report.airtime_ms())
            && (d - real).abs() > (d / 20).max(10_000)
        {
            qc.reasons
                .push(format!("实际时长 {} 与申报时长 {} 不符", hms(real), hms(d)));
            if qc.verdict == Verdict::Pass {
                qc.verdict = Verdict::Warn;
            }
        }
        let probe_json = serde_json::to_string(report).unwrap_or_default();
        let reasons_json = serde_json::to_string(&qc.reasons).unwrap_or_default();
        let v = report.video.as_ref();
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "UPDATE media_files SET verdict = $1, reasons_json = $2, probe_json = $3, container = $4, \
             width = $5, height = $6, bit_rate_bps = $7, size_bytes = $8, duration_ms = $9, has_audio = $10, \
             loudness_lufs = $11, true_peak_dbtp = $12, probed_at_ms = $13, streams = $15 WHERE id = $14",
        )
        .bind(qc.verdict.as_str())
        .bind(&reasons_json)
        .bind(&probe_json)
        .bind(report.container.as_deref())
        .bind(v.map(|v| i64::from(v.display_width)))
        .bind(v.map(|v| i64::from(v.display_height)))
        .bind(report.bit_rate_bps.and_then(|b| i64::try_from(b).ok()))
        .bind(report.size_bytes.and_then(|b| i64::try_from(b).ok()))
        // What the rundown schedules: the picture's length (the engine ends the item with
        // its last picture), the container's only when there is no picture.
        .bind(report.airtime_ms())
        .bind(i64::from(report.audio.is_some()))
        .bind(report.loudness.as_ref().and_then(|l| l.integrated_lufs))
        .bind(report.loudness.as_ref().and_then(|l| l.true_peak_dbtp))
        .bind(now_ms())
        .bind(file_id)
        .bind(report.streams_summary())
        .execute(&mut *tx)
        .await?;
        let state: String = sqlx::query_scalar("SELECT state FROM works WHERE id = $1")
            .bind(f.work_id)
            .fetch_one(&mut *tx)
            .await?;
        let note = format!("文件 {} 技术检测：{}", f.id, qc.verdict.label());
        if state == WorkState::Submitted.as_str() {
            set_state_tx(
                &mut tx,
                f.work_id,
                WorkState::Submitted,
                WorkState::TechReview,
                "probe",
                &note,
            )
            .await?;
        } else {
            history_add(
                &mut tx,
                "file",
                f.id,
                None,
                qc.verdict.as_str(),
                "probe",
                Some(&note),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(qc)
    }

    /// Probes one attached file and records the result.
    pub async fn probe_file(
        &self,
        file_id: i64,
        opts: ProbeOptions,
    ) -> Result<(ProbeReport, QcResult)> {
        let f = self.file(file_id).await?;
        let report = probe(f.location.clone(), opts).await;
        let qc = self.record_probe(file_id, &report).await?;
        Ok((report, qc))
    }

    /// Records a review; a decision moves the work to 入选 / 未入选.
    pub async fn add_review(&self, work_id: i64, r: &NewReview) -> Result<ReviewRow> {
        if r.reviewer.trim().is_empty() {
            return Err(Error::invalid("reviewer", "审核人不能为空"));
        }
        let reason = r.reason.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if r.decision == Some(Decision::NotSelected) && reason.is_none() {
            return Err(Error::invalid("reason", "未入选须写明理由"));
        }
        let w = self.work_row(work_id).await?;
        let state: WorkState = w.state.parse()?;
        if r.decision.is_some() && matches!(state, WorkState::Scheduled | WorkState::Aired) {
            return Err(Error::Conflict(format!(
                "作品已{}，不能再改遴选结果",
                state.label()
            )));
        }
        let tech = self.technical_verdict(work_id).await?;
        let mut tx = self.store.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO reviews (work_id, reviewer, at_ms, technical_verdict, chk_subtitles, chk_no_logo, \
             chk_no_ads, chk_ai_label, chk_science, decision, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(work_id)
        .bind(r.reviewer.trim())
        .bind(now_ms())
        .bind(tech.map(Verdict::as_str))
        .bind(b(r.subtitles))
        .bind(b(r.no_logo))
        .bind(b(r.no_ads))
        .bind(b(r.ai_label))
        .bind(b(r.science))
        .bind(r.decision.map(Decision::as_str))
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(d) = r.decision {
            let to = match d {
                Decision::Selected => WorkState::Selected,
                Decision::NotSelected => WorkState::NotSelected,
            };
            if to != state {
                set_state_tx(
                    &mut tx,
                    work_id,
                    state,
                    to,
                    r.reviewer.trim(),
                    reason.unwrap_or(""),
                )
                .await?;
            }
        }
        tx.commit().await?;
        sqlx::query_as("SELECT * FROM reviews WHERE id = $1")
            .bind(id)
            .fetch_one(self.store.pool())
            .await
            .map_err(Error::from)
    }

    /// Records that the rights confirmation (版权、传播权和内容审核确认单) is on file.
    pub async fn confirm_rights(&self, work_id: i64, by: &str) -> Result<()> {
        if by.trim().is_empty() {
            return Err(Error::invalid("by", "登记人不能为空"));
        }
        self.work_row(work_id).await?;
        let mut tx = self.store.pool().begin().await?;
        sqlx::query("UPDATE works SET rights_confirmed_by = $1, rights_confirmed_at_ms = $2, updated_at_ms = $2 WHERE id = $3")
            .bind(by.trim())
            .bind(now_ms())
            .bind(work_id)
            .execute(&mut *tx)
            .await?;
        history_add(
            &mut tx,
            "work",
            work_id,
            None,
            "rights_confirmed",
            by.trim(),
            Some("确认单已登记"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The best verdict over the work's probed files (None when none probed).
    pub async fn technical_verdict(&self, work_id: i64) -> Result<Option<Verdict>> {
        let files = self.files_of(work_id).await?;
        let verdicts: Vec<Verdict> = files
            .iter()
            .filter_map(|f| f.verdict.as_deref()?.parse().ok())
            .collect();
        Ok([Verdict::Pass, Verdict::Warn, Verdict::Fail]
            .into_iter()
            .find(|v| verdicts.contains(v)))
    }

    /// Whether a work may be scheduled, and if not, every reason.
    pub async fn schedulable(&self, work_id: i64) -> Result<Schedulability> {
        let w = self.work_row(work_id).await?;
        let mut reasons = Vec::new();
        match self.technical_verdict(work_id).await? {
            Some(Verdict::Pass | Verdict::Warn) => {}
            Some(Verdict::Fail) => {
                let files = self.files_of(work_id).await?;
                let why: Vec<String> = files
                    .iter()
                    .filter_map(|f| {
                        serde_json::from_str::<Vec<String>>(f.reasons_json.as_deref()?).ok()
                    })
                    .flatten()
                    .take(3)
                    .collect();
                reasons.push(format!("技术审核未通过：{}", why.join("；")));
            }
            None if self.files_of(work_id).await?.is_empty() => reasons.push(
                "未提交视频文件（信息采集表「视频文件」为空，可用 catalog attach 补交）".into(),
            ),
            None => reasons.push("视频文件尚未技术检测（catalog probe --pending）".into()),
        }
        match w.state.parse::<WorkState>()? {
            WorkState::Selected | WorkState::Scheduled | WorkState::Aired => {}
            WorkState::NotSelected => reasons.push("遴选结果为未入选".into()),
            WorkState::Submitted | WorkState::TechReview => reasons.push("尚未遴选入选".into()),
        }
        if w.rights_confirmed_by.is_none() {
            reasons.push("版权、传播权和内容审核确认单未登记".into());
        }
        Ok(Schedulability {
            schedulable: reasons.is_empty(),
            reasons,
        })
    }

    /// Every work of the edition that may be scheduled now (入选 or 已排播, passed, rights on
    /// file), with its best file. This is what the rundown draws from.
    pub async fn playable_works(&self) -> Result<Vec<Playable>> {
        let mut out = Vec::new();
        for w in self.works(None).await? {
            if !matches!(w.state.as_str(), "selected" | "scheduled")
                || !self.schedulable(w.id).await?.schedulable
            {
                continue;
            }
            let mut files: Vec<MediaFileRow> = self
                .files_of(w.id)
                .await?
                .into_iter()
                .filter(|f| {
                    matches!(f.verdict.as_deref(), Some("pass" | "warn")) && f.duration_ms.is_some()
                })
                .collect();
            files.sort_by_key(|f| {
                (
                    f.verdict.as_deref() != Some("pass"),
                    std::cmp::Reverse(f.probed_at_ms),
                )
            });
            if let Some(f) = files.into_iter().next() {
                out.push(Playable {
                    file_id: f.id,
                    location: f.location,
                    duration_ms: f.duration_ms.unwrap_or(0),
                    loudness_lufs: f.loudness_lufs,
                    true_peak_dbtp: f.true_peak_dbtp,
                    work: w,
                });
            }
        }
        Ok(out)
    }

    /// Moves a work to 已排播 (only when schedulable) or 已播出 (only from 已排播), or back
    /// from 已排播 to 入选 when taken off the schedule.
    pub async fn set_work_state(&self, work_id: i64, to: WorkState, actor: &str) -> Result<Work> {
        let w = self.work_row(work_id).await?;
        let from: WorkState = w.state.parse()?;
        match (from, to) {
            (_, WorkState::Scheduled) if from != WorkState::Scheduled => {
                let s = self.schedulable(work_id).await?;
                if !s.schedulable {
                    return Err(Error::Conflict(format!(
                        "不能排播：{}",
                        s.reasons.join("；")
                    )));
                }
            }
            (WorkState::Scheduled, WorkState::Aired)
            | (WorkState::Scheduled, WorkState::Selected) => {}
            _ if from == to => return self.work(work_id).await,
            _ => {
                return Err(Error::Conflict(format!(
                    "不能从「{}」改为「{}」（遴选请用审核，播出须先排播）",
                    from.label(),
                    to.label()
                )));
            }
        }
        let mut tx = self.store.pool().begin().await?;
        set_state_tx(&mut tx, work_id, from, to, actor, "").await?;
        tx.commit().await?;
        self.work(work_id).await
    }
}

async fn set_state_tx(
    conn: &mut sqlx::AnyConnection,
    work_id: i64,
    from: WorkState,
    to: WorkState,
    actor: &str,
    note: &str,
) -> Result<()> {
    // Compare-and-set: a concurrent change makes this a conflict, not a lost update.
    let done =
        sqlx::query("UPDATE works SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4")
            .bind(to.as_str())
            .bind(now_ms())
            .bind(work_id)
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() != 1 {
        return Err(Error::Conflict("作品状态已被他人修改，请刷新后重试".into()));
    }
    let note = Some(note).filter(|n| !n.is_empty());
    history_add(
        conn,
        "work",
        work_id,
        Some(from.as_str()),
        to.as_str(),
        actor,
        note,
    )
    .await
}
