//! The 数据反馈 API under `/api/v1/feedback/`: relay channels (list, create, change, new
//! webhook token), figures in (a validated batch, an upload of a platform export, a
//! per-channel webhook outside the guard) and out (raw figures, the live curve with what was
//! on air, attribution per programme/work/unit/category/day, the units' ranking, the report
//! as XLSX and CSV, upload templates).
//!
//! Roles: admins and operators see and write everything; a partner sees and writes only its
//! own unit's channels and figures (another unit's channel does not exist for it: 404 by id,
//! 403 when a batch or file names it), and its attribution counts only its own channels.
//! HTTP only: the rules and storage are `feedback`.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRef, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{NaiveDate, TimeZone};
use serde::Deserialize;
use serde_json::json;

use super::auth::Authenticated;
use super::openapi::IdPath;
use super::{ApiError, ApiResult, Body, IMPORT_LIMIT, Id, JSON_LIMIT};
use crate::auth::{Accounts, Action, AuthError, Principal};
use crate::catalog::Catalog;
use crate::feedback::model::{Figure, FigureIn, Kind, MAX_BATCH, Source};
use crate::feedback::repo::{Channel, NewChannel};
use crate::feedback::{Feedback, report, upload};
use crate::store::{Error, now_ms};

/// What the feedback handlers share.
#[derive(Clone)]
pub struct FeedbackState {
    /// The service.
    pub feedback: Feedback,
    /// Units and works (names in reports).
    pub catalog: Catalog,
    /// For the `Authenticated` extractor.
    pub accounts: Accounts,
    /// The on-air controller, for the programme clock (rehearsals run it off the wall clock).
    pub air: Option<crate::air::AirHandle>,
    /// Dropping the last clone (the app) stops the pollers.
    pub stop_workers: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// The live curves per (unit, minutes), computed once per change for every watched
    /// key and shared: many dashboards reading them cost one computation.
    pub live_cache: LiveCache,
}

/// The shared live curves ([`crate::feedback::live`]).
pub type LiveCache = crate::feedback::live::LiveCurves;

impl FromRef<FeedbackState> for Accounts {
    fn from_ref(s: &FeedbackState) -> Self {
        s.accounts.clone()
    }
}

impl FeedbackState {
    fn now_ms(&self) -> i64 {
        match &self.air {
            Some(a) => a.clock().now().timestamp_millis(),
            None => now_ms(),
        }
    }
}

/// The guarded routes.
pub fn routes(state: FeedbackState) -> Router {
    let uploads = Router::new()
        .route("/api/v1/feedback/uploads", post(upload_figures))
        .layer(DefaultBodyLimit::max(IMPORT_LIMIT))
        .with_state(state.clone());
    Router::new()
        .route(
            "/api/v1/feedback/channels",
            get(list_channels).post(create_channel),
        )
        .route("/api/v1/feedback/channels/{id}", put(update_channel))
        .route("/api/v1/feedback/channels/{id}/token", post(rotate_token))
        .route(
            "/api/v1/feedback/figures",
            get(list_figures).post(post_figures),
        )
        .route("/api/v1/feedback/pollers", get(pollers))
        .route("/api/v1/feedback/template.csv", get(template_csv))
        .route("/api/v1/feedback/template.xlsx", get(template_xlsx))
        .route("/api/v1/feedback/live", get(live))
        .route("/api/v1/feedback/events", get(events))
        .route("/api/v1/feedback/attribution", get(attribution))
        .route("/api/v1/feedback/report.xlsx", get(report_xlsx))
        .route("/api/v1/feedback/report.csv", get(report_csv))
        .route("/api/v1/feedback/summary.pdf", get(summary_pdf))
        .route("/api/v1/works/{id}/feedback", get(work_feedback))
        .layer(DefaultBodyLimit::max(JSON_LIMIT * 32))
        .with_state(state)
        .merge(uploads)
}

/// The webhook route (outside the guard: the channel's token authenticates it).
pub fn hook_routes(state: FeedbackState) -> Router {
    Router::new()
        .route("/api/v1/feedback/hook/{platform}", post(hook))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .with_state(state)
}

fn bad_query(r: &QueryRejection) -> ApiError {
    ApiError::Rejected(
        StatusCode::BAD_REQUEST,
        format!("查询参数无效：{}", r.body_text()),
    )
}

/// The unit whose data the caller asks for: a partner's own (another is 403); an operator's
/// `?unit=` or everything.
fn scope(p: &Principal, asked: Option<i64>) -> Result<Option<i64>, ApiError> {
    match (p.unit_scope(), asked) {
        (Some(own), Some(u)) if u != own => {
            Err(ApiError::Auth(AuthError::Forbidden { role: p.role }))
        }
        (Some(own), _) => Ok(Some(own)),
        (None, u) => Ok(u),
    }
}

/// The channels the caller may write, by id.
async fn writable(s: &FeedbackState, p: &Principal) -> Result<HashMap<i64, Channel>, ApiError> {
    Ok(s.feedback
        .store
        .channels(p.unit_scope())
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// A channel the caller may see (404 for another unit's, as for one that does not exist).
async fn visible_channel(s: &FeedbackState, p: &Principal, id: i64) -> Result<Channel, ApiError> {
    let c = s.feedback.store.channel(id).await?;
    match p.unit_scope() {
        Some(own) if c.unit_id != Some(own) => Err(Error::not_found("转播渠道", id).into()),
        _ => Ok(c),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitQuery {
    #[serde(default)]
    unit: Option<i64>,
}

/// 转播渠道列表（合作方只见本单位）Relay channels (a partner sees its own unit's).
#[utoipa::path(get, path = "/api/v1/feedback/channels", tag = "feedback",
    params(("unit" = Option<i64>, Query, description = "单位编号 Unit id")),
    responses((status = 200, description = "渠道（令牌已遮盖）Channels, tokens masked", body = [Channel])))]
async fn list_channels(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<UnitQuery>, QueryRejection>,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let unit = scope(&p, q.unit)?;
    Ok(Json(json!(s.feedback.store.channels(unit).await?)))
}

/// 登记转播渠道（返回一次完整的回调令牌）Register a relay channel; the webhook token is
/// shown this once.
#[utoipa::path(post, path = "/api/v1/feedback/channels", tag = "feedback", request_body = NewChannel,
    responses((status = 201, description = "{channel, token}", body = Object)))]
async fn create_channel(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    Body(mut c): Body<NewChannel>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let p = auth.require(Action::WriteFeedback)?;
    c.unit_id = scope(&p, c.unit_id)?;
    if let Some(u) = c.unit_id {
        s.catalog.unit(u).await?;
    }
    let issued = s.feedback.store.create_channel(&c).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "channel": issued.channel, "token": issued.token,
                     "note": "回调令牌只显示这一次，请妥善保存" })),
    ))
}

/// 修改转播渠道 Change a relay channel.
#[utoipa::path(put, path = "/api/v1/feedback/channels/{id}", tag = "feedback", params(IdPath),
    request_body = NewChannel,
    responses((status = 200, description = "渠道 The channel", body = Channel)))]
async fn update_channel(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    Id(id): Id,
    Body(c): Body<NewChannel>,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::WriteFeedback)?;
    let old = visible_channel(&s, &p, id).await?;
    if c.unit_id.is_some() && c.unit_id != old.unit_id {
        return Err(Error::invalid("unit_id", "渠道所属单位不能修改").into());
    }
    Ok(Json(json!(s.feedback.store.update_channel(id, &c).await?)))
}

/// 重新签发回调令牌（旧令牌立即失效）New webhook token (the old one stops at once).
#[utoipa::path(post, path = "/api/v1/feedback/channels/{id}/token", tag = "feedback", params(IdPath),
    responses((status = 200, description = "{channel, token}", body = Object)))]
async fn rotate_token(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    Id(id): Id,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::WriteFeedback)?;
    visible_channel(&s, &p, id).await?;
    let issued = s.feedback.store.rotate_token(id).await?;
    Ok(Json(
        json!({ "channel": issued.channel, "token": issued.token,
                    "note": "回调令牌只显示这一次，请妥善保存" }),
    ))
}

/// A batch of figures.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Batch {
    /// 数据（至多 50000 条）The figures (at most 50,000).
    figures: Vec<FigureIn>,
    /// 来源：api（默认）或 manual（手工填报）Source: `api` (default) or `manual`.
    #[serde(default)]
    source: Option<Source>,
}

/// Validates a batch against the caller's channels: every problem named by row and field;
/// a channel the caller may not write makes the whole batch 403.
fn validate(
    figures: &[FigureIn],
    source: Source,
    channels: &HashMap<i64, Channel>,
    row_base: usize,
) -> Result<Vec<Figure>, ApiError> {
    let now = now_ms();
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(figures.len());
    for (i, f) in figures.iter().enumerate() {
        match f.check(source, now) {
            Ok(fig) => {
                if !channels.contains_key(&fig.channel_id) {
                    return Err(ApiError::Rejected(
                        StatusCode::FORBIDDEN,
                        format!(
                            "第 {} 条：渠道 {} 不存在或不属于本单位，未写入任何数据",
                            i + row_base,
                            fig.channel_id
                        ),
                    ));
                }
                out.push(fig);
            }
            Err(errs) => {
                for (field, reason) in errs {
                    errors.push((i + row_base, field, reason));
                }
            }
        }
    }
    if let Some((row, field, reason)) = errors.first() {
        let all: Vec<serde_json::Value> = errors
            .iter()
            .map(|(r, f, why)| json!({ "row": r, "field": f, "reason": why }))
            .collect();
        return Err(ApiError::InvalidRows {
            field: format!("figures[{row}].{field}"),
            message: format!(
                "第 {row} 条「{field}」：{reason}（共 {} 处错误，未写入任何数据）",
                errors.len()
            ),
            errors: json!(all),
        });
    }
    Ok(out)
}

/// 提交一批数据（幂等：同一渠道、时刻、指标只计一次；全部有效才写入）Send a batch of
/// figures: idempotent by (channel, instant, kind); all or nothing.
#[utoipa::path(post, path = "/api/v1/feedback/figures", tag = "feedback", request_body = Batch,
    responses((status = 200, description = "{received, inserted, corrected, duplicates}",
               body = crate::feedback::repo::IngestReport)))]
async fn post_figures(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    Body(b): Body<Batch>,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::WriteFeedback)?;
    let source = b.source.unwrap_or(Source::Api);
    if !matches!(source, Source::Api | Source::Manual) {
        return Err(Error::invalid("source", "此接口的来源只能是 api 或 manual").into());
    }
    if b.figures.is_empty() || b.figures.len() > MAX_BATCH {
        return Err(Error::invalid(
            "figures",
            format!("须有 1 至 {MAX_BATCH} 条数据，收到 {} 条", b.figures.len()),
        )
        .into());
    }
    let channels = writable(&s, &p).await?;
    let figures = validate(&b.figures, source, &channels, 0)?;
    Ok(Json(json!(s.feedback.ingest(&figures, &channels).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FiguresQuery {
    #[serde(default)]
    channel: Option<i64>,
    #[serde(default)]
    from_ms: Option<i64>,
    #[serde(default)]
    to_ms: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// 原始数据（合作方只见本单位渠道）Raw figures (a partner sees its own channels').
#[utoipa::path(get, path = "/api/v1/feedback/figures", tag = "feedback",
    params(("channel" = Option<i64>, Query, description = "渠道编号"),
           ("from_ms" = Option<i64>, Query, description = "起（UTC 毫秒，默认 24 小时前）"),
           ("to_ms" = Option<i64>, Query, description = "止（UTC 毫秒，默认现在之后 10 分钟）"),
           ("limit" = Option<i64>, Query, description = "至多条数（默认 10000）")),
    responses((status = 200, description = "数据 Figures", body = [Object])))]
async fn list_figures(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<FiguresQuery>, QueryRejection>,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let ids: Vec<i64> = match q.channel {
        Some(c) => vec![visible_channel(&s, &p, c).await?.id],
        None => match p.unit_scope() {
            Some(own) => s
                .feedback
                .store
                .channels(Some(own))
                .await?
                .iter()
                .map(|c| c.id)
                .collect(),
            None => Vec::new(),
        },
    };
    if p.unit_scope().is_some() && ids.is_empty() {
        return Ok(Json(json!([])));
    }
    let now = now_ms();
    let rows = s
        .feedback
        .store
        .figures(
            &ids,
            q.from_ms.unwrap_or(now - 86_400_000),
            q.to_ms.unwrap_or(now + 600_000),
            q.limit.unwrap_or(10_000).clamp(1, 100_000),
        )
        .await?;
    Ok(Json(json!(rows)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    channel: Option<i64>,
}

/// 上传平台导出的数据表（CSV 或 XLSX，GBK/UTF-8；有错误的行全部列出，整表不写入）Upload a
/// platform export (CSV or XLSX); any bad row refuses the file, every row error named.
#[utoipa::path(post, path = "/api/v1/feedback/uploads", tag = "feedback",
    params(("name" = Option<String>, Query, description = "文件名 File name"),
           ("channel" = Option<i64>, Query, description = "表中没有「渠道编号」列时的渠道 The channel of a sheet without one")),
    request_body(description = "文件内容 The file's bytes", content(
        ("text/csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("application/octet-stream"),
    )),
    responses((status = 200, description = "{file, encoding, rows, received, inserted, corrected, duplicates}", body = Object)))]
async fn upload_figures(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<UploadQuery>, QueryRejection>,
    body: axum::body::Bytes,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::WriteFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    if body.is_empty() {
        return Err(Error::invalid("body", "请求体为空：请上传 CSV 或 XLSX 文件内容").into());
    }
    let name = q.name.unwrap_or_else(|| "upload".into());
    let channels = writable(&s, &p).await?;
    if let Some(c) = q.channel
        && !channels.contains_key(&c)
    {
        return Err(Error::not_found("转播渠道", c).into());
    }
    let (n, bytes, ch) = (name.clone(), body.to_vec(), q.channel);
    let parsed = tokio::task::spawn_blocking(move || upload::parse(&n, bytes, ch))
        .await
        .map_err(|e| Error::Unavailable(format!("解析任务失败：{e}")))??;
    let parsed = match parsed {
        Ok(p) => p,
        Err(rows) => {
            let first = rows.first().map(ToString::to_string).unwrap_or_default();
            return Err(ApiError::InvalidRows {
                field: "file".into(),
                message: format!("{name} {first}（共 {} 处错误，未写入任何数据）", rows.len()),
                errors: json!(rows),
            });
        }
    };
    let figures = validate(&parsed.figures, Source::Upload, &channels, 0).map_err(|e| match e {
        // Rows of a file are spreadsheet rows; the model's batch index is not useful here.
        ApiError::Rejected(st, m) => ApiError::Rejected(st, format!("{name}：{m}")),
        other => other,
    })?;
    let r = s.feedback.ingest(&figures, &channels).await?;
    Ok(Json(json!({
        "file": name, "encoding": parsed.encoding, "rows": parsed.rows,
        "received": r.received, "inserted": r.inserted, "corrected": r.corrected,
        "duplicates": r.duplicates,
    })))
}

/// 采集器状态（运行、重试及原因；合作方只见本单位渠道的）Pollers' status: running or
/// retrying and why (a partner sees those of its own channels).
#[utoipa::path(get, path = "/api/v1/feedback/pollers", tag = "feedback",
    responses((status = 200, description = "[{name, channel_id, url (无查询串), state, last_error, last_ok_ms, failures, figures}]", body = [Object])))]
async fn pollers(
    State(s): State<FeedbackState>,
    auth: Authenticated,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::ReadFeedback)?;
    let mine: Option<std::collections::BTreeSet<i64>> = match p.unit_scope() {
        Some(own) => Some(
            s.feedback
                .store
                .channels(Some(own))
                .await?
                .iter()
                .map(|c| c.id)
                .collect(),
        ),
        None => None,
    };
    let all: Vec<crate::feedback::poller::PollerStatus> = s
        .feedback
        .poller_statuses()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .filter(|st| mine.as_ref().is_none_or(|m| m.contains(&st.channel_id)))
        .cloned()
        .collect();
    Ok(Json(json!(all)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateQuery {
    #[serde(default)]
    channel: Option<i64>,
    #[serde(default)]
    encoding: Option<String>,
}

fn attachment(ctype: &'static str, file: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// 数据上传模板（CSV，UTF-8 或 encoding=gbk）The upload template as CSV (UTF-8 with BOM, or GBK).
#[utoipa::path(get, path = "/api/v1/feedback/template.csv", tag = "feedback",
    params(("channel" = Option<i64>, Query, description = "示例行的渠道编号"),
           ("encoding" = Option<String>, Query, description = "utf-8（默认）或 gbk")),
    responses((status = 200, description = "CSV 模板 The template", content_type = "text/csv")))]
async fn template_csv(
    auth: Authenticated,
    q: Result<Query<TemplateQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let gbk = match q
        .encoding
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("utf-8" | "utf8") => false,
        Some("gbk" | "gb18030") => true,
        Some(other) => {
            return Err(Error::invalid("encoding", format!("「{other}」应为 utf-8 或 gbk")).into());
        }
    };
    let body = upload::template_csv(q.channel.unwrap_or(1), gbk);
    let ctype = if gbk {
        "text/csv; charset=gbk"
    } else {
        "text/csv; charset=utf-8"
    };
    Ok(attachment(ctype, "feedback-template.csv", body))
}

/// 数据上传模板（XLSX）The upload template as XLSX.
#[utoipa::path(get, path = "/api/v1/feedback/template.xlsx", tag = "feedback",
    params(("channel" = Option<i64>, Query, description = "示例行的渠道编号")),
    responses((status = 200, description = "XLSX 模板 The template",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
async fn template_xlsx(
    auth: Authenticated,
    q: Result<Query<TemplateQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let channel = q.channel.unwrap_or(1);
    let body = tokio::task::spawn_blocking(move || upload::template_xlsx(channel))
        .await
        .map_err(|e| Error::Unavailable(format!("模板任务失败：{e}")))??;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "feedback-template.xlsx",
        body,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveQuery {
    #[serde(default)]
    unit: Option<i64>,
    #[serde(default)]
    minutes: Option<i64>,
}

/// 实时曲线：每分钟各平台与合计在线人数、互动量，及其间播出的节目（轮询用，紧凑）The live
/// curve: viewers per platform and in total, interactions, per minute, with what was on air.
#[utoipa::path(get, path = "/api/v1/feedback/live", tag = "feedback", operation_id = "feedback_live",
    params(("unit" = Option<i64>, Query, description = "单位编号（合作方只能是本单位）"),
           ("minutes" = Option<i64>, Query, description = "最近多少分钟（默认 60，至多 1440）")),
    responses((status = 200, description = "{now, from_ms, curve, on_air, channels}", body = Object)))]
async fn live(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<LiveQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let unit = scope(&p, q.unit)?;
    let body = live_json(&s, unit, q.minutes.unwrap_or(60)).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The live curve of the last `minutes` for `unit` (all when None), as compact JSON, from
/// the shared answers ([`crate::feedback::live`]).
async fn live_json(
    s: &FeedbackState,
    unit: Option<i64>,
    minutes: i64,
) -> Result<bytes::Bytes, ApiError> {
    Ok(s.live_cache
        .get(&s.feedback, unit, minutes, || s.now_ms())
        .await?)
}

/// 实时曲线推送（SSE）：有新数据时（至少每 5 秒）推送 `curve` 事件，内容同 /live Live curve
/// pushed (server-sent events): a `curve` event, as `/live` answers, at once, after every
/// write that stored figures (at most 5 per second) and at least every 5 s.
#[utoipa::path(get, path = "/api/v1/feedback/events", tag = "feedback", operation_id = "feedback_events",
    params(("unit" = Option<i64>, Query, description = "单位编号（合作方只能是本单位）"),
           ("minutes" = Option<i64>, Query, description = "最近多少分钟（默认 60，至多 1440）")),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream")))]
async fn events(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<LiveQuery>, QueryRejection>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use std::time::Duration;
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let unit = scope(&p, q.unit)?;
    let minutes = q.minutes.unwrap_or(60);
    let rx = s.feedback.subscribe();
    let stream =
        futures_util::stream::unfold((s, rx, true), move |(s, mut rx, first)| async move {
            if !first {
                tokio::select! {
                    changed = rx.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                        // A burst of writes becomes one push.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        rx.borrow_and_update();
                    }
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
            let event = match live_json(&s, unit, minutes).await {
                Ok(v) => std::str::from_utf8(&v)
                    .ok()
                    .map(|json| Event::default().event("curve").data(json)),
                Err(_) => Event::default()
                    .event("unavailable")
                    .data("数据暂不可用，稍后自动重试")
                    .into(),
            };
            Some((futures_util::stream::iter(event.map(Ok)), (s, rx, false)))
        });
    use futures_util::StreamExt;
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    unit: Option<i64>,
}

/// `[from 00:00, to+1 00:00)` Beijing time, as UTC ms; both default to today.
fn period(s: &FeedbackState, q: &PeriodQuery) -> Result<(i64, i64), ApiError> {
    let today = crate::asrun::air_day_of(s.now_ms());
    let day = |field: &str, v: Option<&str>| -> Result<NaiveDate, ApiError> {
        let v = v.unwrap_or(&today).trim();
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| Error::invalid(field, format!("日期「{v}」格式应为 YYYY-MM-DD")).into())
    };
    let (from, to) = (day("from", q.from.as_deref())?, day("to", q.to.as_deref())?);
    if to < from || (to - from).num_days() > 400 {
        return Err(Error::invalid("to", "结束日期须不早于开始日期，区间至多 400 天").into());
    }
    let start = |d: NaiveDate| {
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map_or(0, |t| t.timestamp_millis())
    };
    Ok((start(from), start(to + chrono::Days::new(1))))
}

async fn unit_names(s: &FeedbackState) -> Result<HashMap<i64, String>, ApiError> {
    Ok(s.catalog
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

/// 归因：每次播出、每部作品、每个单位、类别、日期的在线与互动，及单位排名 Attribution per
/// programme, work, unit, category and day, with the units' ranking.
#[utoipa::path(get, path = "/api/v1/feedback/attribution", tag = "feedback",
    params(("from" = Option<String>, Query, description = "起始播出日 YYYY-MM-DD（北京时间，默认今天）"),
           ("to" = Option<String>, Query, description = "结束播出日（含）"),
           ("unit" = Option<i64>, Query, description = "单位编号（合作方只能是本单位）")),
    responses((status = 200, description = "{from_ms, to_ms, programmes, works, units, ranking, categories, sections, days, total}", body = Object)))]
async fn attribution(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<PeriodQuery>, QueryRejection>,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let unit = scope(&p, q.unit)?;
    let (from, to) = period(&s, &q)?;
    let (a, _) = s.feedback.attribute(from, to, unit, s.now_ms()).await?;
    let names = unit_names(&s).await?;
    let ranking = report::ranking(&a, &names);
    Ok(Json(json!({
        "from_ms": from, "to_ms": to, "programmes": a.programmes, "works": a.works,
        "units": a.units, "ranking": ranking, "categories": a.categories,
        "sections": a.sections, "days": a.days,
        "total": a.total,
    })))
}

async fn report_data(
    s: &FeedbackState,
    p: &Principal,
    q: &PeriodQuery,
) -> Result<
    (
        crate::feedback::attribution::Attribution,
        Vec<Channel>,
        HashMap<i64, String>,
        report::ReportMeta,
    ),
    ApiError,
> {
    let unit = scope(p, q.unit)?;
    let (from, to) = period(s, q)?;
    let (a, channels) = s.feedback.attribute(from, to, unit, s.now_ms()).await?;
    let names = unit_names(s).await?;
    let scope_name = unit
        .and_then(|u| names.get(&u).cloned())
        .unwrap_or_else(|| "全部单位".into());
    Ok((
        a,
        channels,
        names,
        report::ReportMeta {
            from_ms: from,
            to_ms: to,
            scope: scope_name,
        },
    ))
}

/// 数据反馈汇总表（XLSX：汇总、单位排名、节目、转播渠道）The feedback report as XLSX.
#[utoipa::path(get, path = "/api/v1/feedback/report.xlsx", tag = "feedback",
    params(("from" = Option<String>, Query, description = "起始播出日 YYYY-MM-DD"),
           ("to" = Option<String>, Query, description = "结束播出日（含）"),
           ("unit" = Option<i64>, Query, description = "单位编号")),
    responses((status = 200, description = "XLSX",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
async fn report_xlsx(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let (a, channels, names, meta) = report_data(&s, &p, &q).await?;
    let body = tokio::task::spawn_blocking(move || report::xlsx(&a, &names, &channels, &meta))
        .await
        .map_err(|e| Error::Unavailable(format!("报表任务失败：{e}")))??;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "feedback-report.xlsx",
        body,
    ))
}

/// 单位数据反馈月度汇总（PDF，与证明并列）A unit's end-of-month summary as PDF (beside its
/// certificates; the same figures as XLSX are `report.xlsx?unit=`).
#[utoipa::path(get, path = "/api/v1/feedback/summary.pdf", tag = "feedback",
    params(("from" = Option<String>, Query, description = "起始播出日 YYYY-MM-DD"),
           ("to" = Option<String>, Query, description = "结束播出日（含）"),
           ("unit" = Option<i64>, Query, description = "单位编号（合作方只能是本单位；值班员必填）")),
    responses((status = 200, description = "PDF", content_type = "application/pdf")))]
async fn summary_pdf(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let unit = scope(&p, q.unit)?
        .ok_or_else(|| ApiError::from(Error::invalid("unit", "请指定单位编号（unit）")))?;
    let (a, channels, names, meta) = report_data(&s, &p, &q).await?;
    let name = names
        .get(&unit)
        .cloned()
        .ok_or_else(|| ApiError::from(Error::not_found("单位", unit.to_string())))?;
    let edition = s.catalog.edition().edition.name.clone();
    let now = s.now_ms();
    let body = tokio::task::spawn_blocking(move || {
        crate::feedback::summary::pdf(&a, unit, &name, &channels, &meta, &edition, now)
    })
    .await
    .map_err(|e| Error::Unavailable(format!("汇总任务失败：{e}")))??;
    Ok(attachment(
        "application/pdf",
        &format!("feedback-summary-unit-{unit}.pdf"),
        body,
    ))
}

/// 节目数据表（CSV，UTF-8 带 BOM，末行合计）The programmes table as CSV, closed by 合计.
#[utoipa::path(get, path = "/api/v1/feedback/report.csv", tag = "feedback",
    params(("from" = Option<String>, Query, description = "起始播出日 YYYY-MM-DD"),
           ("to" = Option<String>, Query, description = "结束播出日（含）"),
           ("unit" = Option<i64>, Query, description = "单位编号")),
    responses((status = 200, description = "CSV", content_type = "text/csv")))]
async fn report_csv(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    q: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = auth.require(Action::ReadFeedback)?;
    let Query(q) = q.map_err(|r| bad_query(&r))?;
    let (a, _, names, _) = report_data(&s, &p, &q).await?;
    let body = report::programmes_csv(&a, &names)?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        "feedback-programmes.csv",
        body,
    ))
}

/// 作品数据反馈：每次播出的在线曲线（各平台与合计，播出区间标出）、播出期间互动、合计；
/// 合作方只能查看本单位作品（计本单位渠道）A work's feedback: its airings (as-run) each with
/// the audience curve around it, what it got while on air, and totals. A partner sees only
/// its own unit's works (403 otherwise), counted on its own channels.
#[utoipa::path(get, path = "/api/v1/works/{id}/feedback", tag = "feedback",
    operation_id = "work_feedback", params(IdPath),
    responses((status = 200, description = "{work, now, airings: [{airing_id, start_ms, end_ms, on_air, audience, by_platform, curve}], totals, channels}；合作方查看其他单位的作品为 403 (another unit's work: 403)", body = Object)))]
async fn work_feedback(
    State(s): State<FeedbackState>,
    auth: Authenticated,
    Id(id): Id,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::ReadFeedback)?;
    let w = s.catalog.work(id).await?;
    if let Some(own) = p.unit_scope()
        && own != w.unit_id
    {
        return Err(ApiError::Rejected(
            StatusCode::FORBIDDEN,
            format!("作品 {id} 属于其他单位：合作方只能查看本单位作品的数据反馈"),
        ));
    }
    let unit_name = s.catalog.unit(w.unit_id).await.map(|u| u.name).ok();
    let input = crate::feedback::attribution::WorkIn {
        id: w.id,
        unit_id: w.unit_id,
        title: w.title.clone(),
        categories: w.category_names.clone(),
    };
    let f = s
        .feedback
        .work_feedback(&input, p.unit_scope(), s.now_ms())
        .await?;
    Ok(Json(json!({
        "work": { "id": w.id, "title": w.title, "unit_id": w.unit_id, "unit": unit_name,
                  "categories": w.category_names, "state": w.state,
                  "state_label": w.state_label },
        "now": s.now_ms(), "airings": f.airings, "totals": f.totals, "channels": f.channels,
    })))
}

/// A platform's own push on its channel's webhook: parsed (the field at fault named),
/// deduplicated by message id, stored as increments.
async fn native_hook(
    s: &FeedbackState,
    channel: &Channel,
    shape: crate::feedback::native::Native,
    body: &[u8],
    headers: &HeaderMap,
) -> Result<serde_json::Value, ApiError> {
    let msg_type = headers.get("x-msg-type").and_then(|v| v.to_str().ok());
    let batch = crate::feedback::native::parse(shape, body, msg_type, now_ms()).map_err(|e| {
        ApiError::from(Error::invalid(
            &e.field,
            format!(
                "{} 推送格式无效：「{}」{}",
                channel.platform, e.field, e.reason
            ),
        ))
    })?;
    let r = s.feedback.ingest_native(channel, &batch.events).await?;
    let ignored: serde_json::Map<String, serde_json::Value> = batch
        .ignored
        .into_iter()
        .map(|(k, n)| (k, json!(n)))
        .collect();
    Ok(json!({
        "format": channel.platform, "received": r.received, "counted": r.counted,
        "duplicates": r.duplicates, "figures": r.figures, "not_added": r.not_added,
        "ignored": ignored,
    }))
}

/// A webhook's figures: the batch's without the channel (the token names it).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct HookBody {
    /// 数据 The figures.
    figures: Vec<HookFigure>,
}

/// One figure pushed to a webhook.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct HookFigure {
    /// 时刻（UTC 毫秒）Instant, UTC ms.
    at_ms: i64,
    /// 指标 Kind.
    kind: Kind,
    /// 数值 Value.
    value: i64,
    /// 累计值 A running total (default by kind).
    #[serde(default)]
    cumulative: Option<bool>,
    /// 统计时刻 As of.
    #[serde(default)]
    as_of_ms: Option<i64>,
}

/// The channel token of a webhook call: `X-Kepu-Token`, `Authorization: Bearer`, or (for a
/// platform whose push URL is all it lets one configure) the query's `token`.
fn hook_token<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    if let Some(v) = headers.get("x-kepu-token").and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some((scheme, token)) = v.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(token.trim());
    }
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::trim)
}

/// Our webhook body, or the serde message naming what is wrong.
fn our_hook_body(body: &[u8]) -> Result<HookBody, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::Rejected(StatusCode::BAD_REQUEST, format!("请求体无效：{e}")))
}

/// Whether a body is our `{"figures": …}` rather than a platform's own shape.
fn looks_like_ours(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("figures").is_some())
}

/// 平台回调（渠道令牌认证，2 秒内应答；幂等）A platform's webhook, authenticated by the
/// channel's token (`X-Kepu-Token: fb_…`); answered within 2 s; idempotent.
#[utoipa::path(post, path = "/api/v1/feedback/hook/{platform}", tag = "feedback", operation_id = "feedback_hook", security(()),
    params(("platform" = String, Path, description = "平台，须与渠道一致 The channel's platform")),
    request_body = HookBody,
    responses((status = 200, description = "{received, inserted, corrected, duplicates}；令牌缺失或无效时 401 (no or unknown token: 401)", body = crate::feedback::repo::IngestReport)))]
async fn hook(
    State(s): State<FeedbackState>,
    Path(platform): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<serde_json::Value> {
    let work = async {
        let Some(token) = hook_token(&headers, uri.query()) else {
            return Err(ApiError::Auth(AuthError::Unauthenticated));
        };
        let Some(channel) = s.feedback.store.channel_by_token(token).await? else {
            tracing::info!(platform = %platform, "webhook refused: unknown channel token");
            return Err(ApiError::Auth(AuthError::Unauthenticated));
        };
        if channel.platform != platform {
            return Err(Error::invalid(
                "platform",
                format!("该令牌属于平台 {}，不是 {platform}", channel.platform),
            )
            .into());
        }
        let b = match our_hook_body(&body) {
            Ok(b) => b,
            Err(ours) => {
                // The platform's own push (Bilibili open platform, Douyin callbacks).
                let Some(shape) = crate::feedback::native::Native::of_platform(&channel.platform)
                else {
                    return Err(ours);
                };
                if looks_like_ours(&body) {
                    return Err(ours);
                }
                return native_hook(&s, &channel, shape, &body, &headers).await;
            }
        };
        if b.figures.is_empty() || b.figures.len() > MAX_BATCH {
            return Err(Error::invalid("figures", format!("须有 1 至 {MAX_BATCH} 条数据")).into());
        }
        let figures: Vec<FigureIn> = b
            .figures
            .iter()
            .map(|f| FigureIn {
                channel_id: channel.id,
                at_ms: f.at_ms,
                kind: f.kind,
                value: f.value,
                cumulative: f.cumulative,
                as_of_ms: f.as_of_ms,
            })
            .collect();
        let channels = HashMap::from([(channel.id, channel)]);
        let figures = validate(&figures, Source::Webhook, &channels, 0)?;
        Ok(json!(s.feedback.ingest(&figures, &channels).await?))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), work).await {
        Ok(r) => Ok(Json(r?)),
        Err(_) => {
            Err(Error::Unavailable("2 秒内未能写入，请重试（重复发送只计一次）".into()).into())
        }
    }
}
