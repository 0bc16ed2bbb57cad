//! 报送 over HTTP: `GET /api/v1/submissions` (every work with its source, state and verdict in
//! plain Chinese; a partner sees only its unit's), `POST /api/v1/submissions` (the collection
//! form filled online; a partner submits for its own unit only), `GET`/`PUT
//! /api/v1/submissions/draft` (a partner's draft), and `GET /api/v1/reminders` (coordinators:
//! promised videos due). The guard lets partners reach the first three; handlers scope.

use super::{ApiError, ApiResult, AppState, Body};
use crate::auth::Principal;
use crate::catalog::form::online::{OnlineForm, to_preview};
use crate::catalog::form::{FormSaved, Source};
use crate::store::Error;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;

type Caller = Option<Extension<Principal>>;

fn scope(p: &Caller) -> Option<i64> {
    p.as_ref().and_then(|p| p.0.unit_scope())
}

/// 报送列表（来源、状态、技术审核结论；报送单位账号只见本单位）Every submission with its
/// source, state and verdict in plain Chinese; a partner sees its own unit's only.
#[utoipa::path(get, operation_id = "list_submissions", path = "/api/v1/submissions", tag = "catalog",
    responses((status = 200, description = "报送 Submissions", body = [crate::catalog::submissions::Submission])))]
pub(crate) async fn list(
    State(s): State<AppState>,
    p: Caller,
) -> ApiResult<Vec<crate::catalog::submissions::Submission>> {
    Ok(Json(s.catalog.submissions(scope(&p)).await?))
}

/// 在线填报（报送单位账号以本单位名义）Submit the collection form online.
#[utoipa::path(post, operation_id = "submit_form", path = "/api/v1/submissions", tag = "catalog", request_body = OnlineForm,
    responses((status = 201, description = "已报送 Saved", body = FormSaved),
        (status = 400, description = "指明栏目的错误 A field is wrong (named)")))]
pub(crate) async fn submit(
    State(s): State<AppState>,
    p: Caller,
    Body(mut form): Body<OnlineForm>,
) -> Result<(StatusCode, Json<FormSaved>), ApiError> {
    if let Some(unit) = scope(&p) {
        // A partner submits as its own unit, whatever name the page sent.
        form.unit.name = s.catalog.unit(unit).await?.name;
    }
    let preview = to_preview(&form, s.catalog.edition());
    let actor = p
        .as_ref()
        .map_or_else(|| "online".to_string(), |p| p.0.username.clone());
    let saved = s
        .catalog
        .save_form(&preview, &actor, Source::Online)
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

fn own_unit(p: &Caller) -> Result<i64, ApiError> {
    scope(p).ok_or_else(|| Error::invalid("account", "草稿属于报送单位账号（partner）").into())
}

/// 本单位的草稿 The unit's draft (null when none).
#[utoipa::path(get, operation_id = "get_submission_draft", path = "/api/v1/submissions/draft", tag = "catalog",
    responses((status = 200, description = "草稿 The draft", body = Object)))]
pub(crate) async fn get_draft(
    State(s): State<AppState>,
    p: Caller,
) -> ApiResult<serde_json::Value> {
    let unit = own_unit(&p)?;
    Ok(Json(
        s.catalog
            .draft(unit)
            .await?
            .unwrap_or(serde_json::Value::Null),
    ))
}

/// 保存草稿 Keep the unit's draft.
#[utoipa::path(put, operation_id = "put_submission_draft", path = "/api/v1/submissions/draft", tag = "catalog", request_body = Object,
    responses((status = 204, description = "已保存 Kept")))]
pub(crate) async fn put_draft(
    State(s): State<AppState>,
    p: Caller,
    Body(draft): Body<serde_json::Value>,
) -> Result<StatusCode, ApiError> {
    let unit = own_unit(&p)?;
    s.catalog.save_draft(unit, &draft).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReminderQuery {
    /// Today's date (YYYY-MM-DD, Asia/Shanghai); default: today.
    today: Option<String>,
    /// Due within this many days (default 7).
    within_days: Option<i64>,
}

/// 待提交视频提醒（视频待自行制作、科普月精剪视频，无合格文件且临近或超过截止日期）Promised
/// videos without an accepted file, due within `within_days` of `today` or overdue.
#[utoipa::path(get, operation_id = "list_reminders", path = "/api/v1/reminders", tag = "catalog", params(ReminderQuery),
    responses((status = 200, description = "提醒 Reminders", body = [crate::catalog::submissions::Reminder])))]
pub(crate) async fn reminders(
    State(s): State<AppState>,
    Query(q): Query<ReminderQuery>,
) -> ApiResult<Vec<crate::catalog::submissions::Reminder>> {
    let today = match q.today.as_deref() {
        Some(t) => crate::catalog::model::parse_date("today", t)?,
        None => chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive(),
    };
    let within = q.within_days.unwrap_or(7).clamp(0, 366);
    Ok(Json(s.catalog.reminders(today, within).await?))
}

/// 报送表的栏目（本届类别、报送状态及截止日期、字数与文件上限、本单位）The form's choices from
/// the edition: categories, statuses with their deadlines, the 200 字 and 4 GB limits, and the
/// caller's unit.
#[utoipa::path(get, operation_id = "submission_form", path = "/api/v1/submissions/form", tag = "catalog",
    responses((status = 200, description = "报送表栏目 The form's choices", body = Object)))]
pub(crate) async fn form(State(s): State<AppState>, p: Caller) -> ApiResult<serde_json::Value> {
    use crate::catalog::model::ProductionStatus;
    let e = s.catalog.edition();
    let unit = match scope(&p) {
        Some(u) => Some(s.catalog.unit(u).await?),
        None => None,
    };
    let statuses: Vec<serde_json::Value> = ProductionStatus::ALL
        .iter()
        .map(|st| {
            serde_json::json!({
                "value": st.as_str(),
                "label": st.label(),
                "deadline": e.deadline((*st).into()).format("%Y-%m-%d").to_string(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "edition": e.edition.name,
        "year": e.edition.year,
        "unit": unit,
        "categories": e.categories.iter().map(|c| serde_json::json!({"id": c.id, "name": c.name})).collect::<Vec<_>>(),
        "statuses": statuses,
        "summary_max_chars": crate::catalog::model::SUMMARY_MAX_CHARS,
        "max_upload_bytes": e.acceptance.max_size_bytes,
    })))
}

/// The 报送 routes.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/submissions", get(list).post(submit))
        .route("/api/v1/submissions/draft", get(get_draft).put(put_draft))
        .route("/api/v1/submissions/form", get(form))
        .route("/api/v1/reminders", get(reminders))
        .with_state(state)
}
