//! The edit and on-air part of the REST API: operators' edits of a day
//! (`POST /api/v1/rundown/days/{date}/edits`, previews with `"dry_run": true`), their history
//! (`GET …/edits`), undo (`POST …/undo`), the on-air controls `POST /api/v1/air/skip` and
//! `POST /api/v1/air/live`, and what is on air (`GET /api/v1/air`).
//!
//! HTTP only: the rules are `rundown_db::editing` (and `rundown::edit` under it). A saved
//! edit rings the on-air controller, which re-cues the engine at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiResult, Body};
use crate::air::{AirHandle, on_grid_at_or_after};
use crate::auth::Principal;
use crate::rundown::Day;
use crate::rundown_db::editing::{EditFailure, EditRequest, EditRequestOp, Editor, When};
use crate::store::Error;

/// What the edit handlers share.
#[derive(Clone)]
pub struct EditState {
    /// The editor (catalog, days, history, schedule).
    pub editor: Editor,
    /// The controller, when the daemon is on air.
    pub air: Option<AirHandle>,
}

impl EditState {
    fn now(&self) -> DateTime<Utc> {
        match &self.air {
            Some(a) => a.clock().now(),
            None => Utc::now(),
        }
    }

    fn earliest(&self) -> impl Fn(&Day) -> DateTime<Utc> + '_ {
        move |d: &Day| match &self.air {
            Some(a) => a.earliest_edit(d),
            None => on_grid_at_or_after(d, Utc::now() + chrono::Duration::seconds(1)),
        }
    }

    fn today(&self) -> NaiveDate {
        self.now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive()
    }

    fn saved(&self) {
        if let Some(a) = &self.air {
            a.recue();
        }
    }
}

impl From<EditFailure> for ApiError {
    fn from(e: EditFailure) -> Self {
        match e {
            EditFailure::Store(e) => ApiError::Store(e),
            EditFailure::Problems { message, problems } => ApiError::Unprocessable {
                message,
                details: json!({ "problems": problems }),
            },
        }
    }
}

/// The routes (already given their state).
pub fn routes(state: EditState) -> Router {
    Router::new()
        .route("/api/v1/rundown/days/{date}/edits", get(history).post(edit))
        .route("/api/v1/rundown/days/{date}/undo", post(undo))
        .route("/api/v1/air", get(air))
        .route("/api/v1/air/skip", post(skip))
        .route("/api/v1/air/live", post(live))
        .route("/api/v1/alarms", get(alarms))
        .route("/api/v1/alarms/{id}/ack", post(ack))
        .route("/api/v1/events", get(events))
        .with_state(state)
}

fn parse_date(s: &str) -> Result<NaiveDate, Error> {
    s.trim()
        .parse()
        .map_err(|_| Error::invalid("date", format!("日期「{s}」无效，应写成 2026-09-01")))
}

fn author(p: &Option<Extension<Principal>>) -> String {
    p.as_ref()
        .map(|Extension(p)| p.username.clone())
        .unwrap_or_else(|| "api".into())
}

async fn edit(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    Path(date): Path<String>,
    Body(req): Body<EditRequest>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date(&date)?;
    let out = s
        .editor
        .edit(date, &req, &author(&caller), s.now(), s.earliest())
        .await?;
    if out.version.is_some() {
        s.saved();
    }
    Ok(Json(json!(out)))
}

async fn history(
    State(s): State<EditState>,
    Path(date): Path<String>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date(&date)?;
    Ok(Json(
        json!({ "date": date, "edits": s.editor.history(date).await? }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Reason {
    #[serde(default)]
    reason: String,
}

async fn undo(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    Path(date): Path<String>,
    Body(r): Body<Reason>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date(&date)?;
    let out = s
        .editor
        .undo(date, &r.reason, &author(&caller), s.now(), s.earliest())
        .await?;
    s.saved();
    Ok(Json(json!(out)))
}

async fn air(State(s): State<EditState>) -> Result<Json<serde_json::Value>, ApiError> {
    match &s.air {
        Some(a) => Ok(Json(json!(a.snapshot()))),
        None => Err(ApiError::Rejected(
            StatusCode::SERVICE_UNAVAILABLE,
            "本进程没有在播出（未运行 serve）".into(),
        )),
    }
}

fn on_air(s: &EditState) -> Result<&AirHandle, ApiError> {
    s.air.as_ref().ok_or_else(|| {
        ApiError::Rejected(
            StatusCode::SERVICE_UNAVAILABLE,
            "本进程没有在播出（未运行 serve）".into(),
        )
    })
}

async fn alarms(State(s): State<EditState>) -> ApiResult<serde_json::Value> {
    Ok(Json(json!({ "alarms": on_air(&s)?.alarms() })))
}

async fn ack(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    super::Id(id): super::Id,
) -> ApiResult<serde_json::Value> {
    let air = on_air(&s)?;
    let id = u64::try_from(id).unwrap_or(0);
    match air.ack_alarm(id, &author(&caller)) {
        Some(a) => Ok(Json(json!(a))),
        None => Err(ApiError::Store(Error::not_found("告警", id))),
    }
}

/// Live updates for the dashboard: `air` (the snapshot) every second, `alarms` (the whole
/// board) when it changes, and a keep-alive comment.
async fn events(
    State(s): State<EditState>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let air = on_air(&s)?.clone();
    let stream =
        futures_util::stream::unfold((air, None::<u64>, true), |(air, seen, first)| async move {
            if !first {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            let snap = air.snapshot();
            let mut events = vec![Event::default().event("air").json_data(&snap).ok()];
            if seen != Some(snap.alarms_version) {
                events.push(
                    Event::default()
                        .event("alarms")
                        .json_data(json!({ "alarms": air.alarms() }))
                        .ok(),
                );
            }
            let version = snap.alarms_version;
            Some((
                futures_util::stream::iter(events.into_iter().flatten().map(Ok)),
                (air, Some(version), false),
            ))
        });
    use futures_util::StreamExt;
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::default()))
}

async fn skip(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    Body(r): Body<Reason>,
) -> ApiResult<serde_json::Value> {
    let req = EditRequest {
        edit: EditRequestOp::Skip {},
        base_version: None,
        reason: r.reason,
        dry_run: false,
    };
    let out = s
        .editor
        .edit(s.today(), &req, &author(&caller), s.now(), s.earliest())
        .await?;
    s.saved();
    Ok(Json(json!(out)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveRequest {
    #[serde(default)]
    feed_id: Option<i64>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    title: Option<String>,
    frames: u64,
    #[serde(default)]
    when: Option<When>,
    #[serde(default)]
    reason: String,
}

async fn live(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    Body(r): Body<LiveRequest>,
) -> ApiResult<serde_json::Value> {
    let req = EditRequest {
        edit: EditRequestOp::Live {
            feed_id: r.feed_id,
            source: r.source,
            title: r.title,
            frames: r.frames,
            when: r.when,
        },
        base_version: None,
        reason: r.reason,
        dry_run: false,
    };
    let out = s
        .editor
        .edit(s.today(), &req, &author(&caller), s.now(), s.earliest())
        .await?;
    s.saved();
    Ok(Json(json!(out)))
}
