//! The edit and on-air part of the REST API: operators' edits of a day
//! (`POST /api/v1/rundown/days/{date}/edits`, previews with `"dry_run": true`), their history
//! (`GET …/edits`), undo (`POST …/undo`), the on-air controls `POST /api/v1/air/skip` and
//! `POST /api/v1/air/live`, and what is on air (`GET /api/v1/air`).
//!
//! A live edit given a source URL that is a registered feed's (the feed's own locator) puts
//! that feed on air, as `feed_id` would: its backup clip, recording name and loudness target
//! apply. The answer says which feed it took (`feed`).
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

use super::openapi::{DatePath, ErrorBody};
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
        .route("/api/v1/air/cues", get(cues))
        .route("/api/v1/air/skip", post(skip))
        .route("/api/v1/air/live", post(live))
        .route("/api/v1/air/fault", post(fault))
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

/// 编辑某日节目单（插入、移动、删除、替换、修剪、跳过、直播；`dry_run` 只预览）Edit a day (insert, move, remove, replace, trim, skip, live; `dry_run` previews).
#[utoipa::path(post, path = "/api/v1/rundown/days/{date}/edits", tag = "edits", params(DatePath), request_body = EditRequest,
    responses((status = 200, description = "编辑结果（预览或未改变时 version 为 null，unchanged 为 true 表示没有改变）The result (version null for a preview or an edit that changes nothing; `unchanged` says so)", body = Object),
        (status = 422, description = "编辑会违反编排规则 The edit would break the rundown's rules (`problems`)", body = ErrorBody)))]
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

/// 某日的编辑记录（谁、何时、为何）A day's edit history (who, when, why).
#[utoipa::path(get, path = "/api/v1/rundown/days/{date}/edits", tag = "edits", operation_id = "edit_history", params(DatePath),
    responses((status = 200, description = "{date, edits}", body = Object)))]
async fn history(
    State(s): State<EditState>,
    Path(date): Path<String>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date(&date)?;
    Ok(Json(
        json!({ "date": date, "edits": s.editor.history(date).await? }),
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Reason {
    /// 原因（记入编辑记录）Why (kept in the history).
    #[serde(default)]
    reason: String,
}

/// 撤销某日最近一次编辑 Undo a day's last edit.
#[utoipa::path(post, path = "/api/v1/rundown/days/{date}/undo", tag = "edits", params(DatePath), request_body = Reason,
    responses((status = 200, description = "撤销结果 The result", body = Object), (status = 422, description = "编辑会违反编排规则 The edit would break the rundown's rules (`problems`)", body = ErrorBody)))]
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

/// 正在播出的内容（仅 serve 进程）What is on air (only in the `serve` process).
#[utoipa::path(get, path = "/api/v1/air", tag = "air",
    responses((status = 200, description = "播出状态 On-air snapshot", body = Object)))]
async fn air(State(s): State<EditState>) -> ApiResult<serde_json::Value> {
    Ok(Json(json!(on_air(&s)?.snapshot())))
}

/// 已交给播出引擎的节目提示（预读窗口内）The cues handed to the engine (the look-ahead window).
#[utoipa::path(get, path = "/api/v1/air/cues", tag = "air",
    responses((status = 200, description = "{cues: [{id, title, source, start, frames, in_point_ns}]}", body = Object)))]
async fn cues(State(s): State<EditState>) -> ApiResult<serde_json::Value> {
    Ok(Json(json!({ "cues": on_air(&s)?.cues() })))
}

fn on_air(s: &EditState) -> Result<&AirHandle, ApiError> {
    s.air.as_ref().ok_or_else(|| {
        ApiError::Rejected(
            StatusCode::SERVICE_UNAVAILABLE,
            "本进程没有在播出（未运行 serve）".into(),
        )
    })
}

/// 告警列表（最新在前）The alarms, newest first.
#[utoipa::path(get, path = "/api/v1/alarms", tag = "air",
    responses((status = 200, description = "告警 Alarms", body = Object)))]
async fn alarms(State(s): State<EditState>) -> ApiResult<serde_json::Value> {
    Ok(Json(json!({ "alarms": on_air(&s)?.alarms() })))
}

/// 确认告警 Acknowledge an alarm.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/ack", tag = "air",
    params(("id" = i64, Path, description = "告警编号 Alarm id")),
    responses((status = 200, description = "已确认的告警 The acknowledged alarm", body = Object)))]
async fn ack(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    super::Id(id): super::Id,
) -> ApiResult<serde_json::Value> {
    let air = on_air(&s)?;
    let id = u64::try_from(id).unwrap_or(0);
    match air
        .ack_alarm(id, &author(&caller))
        .await
        .map_err(unavailable)?
    {
        Some(a) => Ok(Json(json!(a))),
        None => Err(ApiError::Store(Error::not_found("告警", id))),
    }
}

fn unavailable(e: crate::air::AirError) -> ApiError {
    ApiError::Rejected(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

/// A fault drill.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// `kill_encoder` (frames tick, nothing is encoded) or `stop_clock` (no frame is ticked
    /// again).
    #[schema(value_type = String)]
    pub fault: playout::Fault,
}

/// 故障演练：向在播引擎注入故障（仅管理员，且须在配置中开启 `[air] fault_drills`）A fault drill:
/// injects a failure into the engine on air to prove supervision (admins only; off unless
/// `[air] fault_drills = true`).
#[utoipa::path(post, path = "/api/v1/air/fault", tag = "air", request_body = FaultRequest,
    responses((status = 200, description = "已注入（未启用演练时 404）Injected (404 while drills are off)", body = Object)))]
async fn fault(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    Body(r): Body<FaultRequest>,
) -> ApiResult<serde_json::Value> {
    let air = on_air(&s)?;
    match air.inject_fault(r.fault).await {
        Ok(()) => {
            tracing::warn!(by = %author(&caller), fault = ?r.fault, "fault drill injected");
            Ok(Json(json!({ "injected": r.fault })))
        }
        Err(crate::air::AirError::DrillsOff) => Err(ApiError::Rejected(
            StatusCode::NOT_FOUND,
            crate::air::AirError::DrillsOff.to_string(),
        )),
        Err(e) => Err(unavailable(e)),
    }
}

/// 实时推送（SSE）：播出状态变化时推送 `air`（至少每秒一次），告警变化时推送 `alarms` Live updates
/// (server-sent events), pushed on change: `air` (the snapshot; at least once a second),
/// `alarms` (the whole board) when it changes.
#[utoipa::path(get, path = "/api/v1/events", tag = "air",
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream")))]
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
    let changes = air.changes();
    // Pushed when the controller publishes a change (alarms, plan, the engine's status about
    // once a second), at most five times a second, and at least once a second.
    let stream = futures_util::stream::unfold(
        (air, changes, None::<u64>, true),
        |(air, mut changes, seen, first)| async move {
            if !first {
                let wait = tokio::time::sleep(std::time::Duration::from_secs(1));
                tokio::select! {
                    r = changes.changed() => {
                        if r.is_err() {
                            return None;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                    _ = wait => {}
                }
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
                (air, changes, Some(version), false),
            ))
        },
    );
    use futures_util::StreamExt;
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::default()))
}

/// 立即结束正在播出的条目，后续条目提前 End the item on air now; later items move up.
#[utoipa::path(post, path = "/api/v1/air/skip", tag = "air", request_body = Reason,
    responses((status = 200, description = "编辑结果 The result", body = Object), (status = 422, description = "编辑会违反编排规则 The edit would break the rundown's rules (`problems`)", body = ErrorBody)))]
async fn skip(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    Body(r): Body<Reason>,
) -> ApiResult<serde_json::Value> {
    on_air_edit(&s, &caller, EditRequestOp::Skip {}, r.reason).await
}

/// An on-air control as an edit of today's day, saved and re-cued at once.
async fn on_air_edit(
    s: &EditState,
    caller: &Option<Extension<Principal>>,
    edit: EditRequestOp,
    reason: String,
) -> ApiResult<serde_json::Value> {
    let req = EditRequest {
        edit,
        base_version: None,
        reason,
        dry_run: false,
    };
    let out = s
        .editor
        .edit(s.today(), &req, &author(caller), s.now(), s.earliest())
        .await?;
    s.saved();
    Ok(Json(json!(out)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LiveRequest {
    /// 慢直播信号编号 A feed of the catalog.
    #[serde(default)]
    feed_id: Option<i64>,
    /// 或信号源地址（rtsp、rtmp(s)、srt、http(s)）Or a source URL.
    #[serde(default)]
    source: Option<String>,
    /// 信号源的标题 Title for a source URL.
    #[serde(default)]
    title: Option<String>,
    /// 时长（帧）How long, frames.
    frames: u64,
    /// 何时开始（默认 now）From when (default now).
    #[serde(default)]
    when: Option<When>,
    /// 原因 Why.
    #[serde(default)]
    reason: String,
}

/// The feed a live edit puts on air, as its answer names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
struct TookFeed {
    /// 慢直播信号编号 The feed's id.
    id: i64,
    /// 标题 Its title.
    title: String,
    /// 如何确定：`feed_id`（按编号）或 `source`（地址与已登记信号相同）How it was found.
    by: &'static str,
}

/// The scheme and authority of a locator lower-cased, the rest as given, surrounding blanks
/// and a trailing `/` dropped: two spellings of one feed compare equal.
fn normalized(url: &str) -> String {
    let t = url.trim().trim_end_matches('/');
    match t.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            format!(
                "{}://{}{path}",
                scheme.to_ascii_lowercase(),
                authority.to_ascii_lowercase()
            )
        }
        None => t.to_string(),
    }
}

/// Resolves a live edit's source to a registered feed: a `feed_id` names one, a source URL
/// equal to a feed's locator ([`normalized`]) becomes that feed's id. Returns the
/// `(feed_id, source)` for the editor and the feed taken, if any; anything else (both
/// given, an unknown id, a plain URL no feed has) is left to the editor as it was.
fn resolve_feed(
    feeds: &[crate::rundown::LiveFeed],
    feed_id: Option<i64>,
    source: Option<String>,
) -> (Option<i64>, Option<String>, Option<TookFeed>) {
    match (feed_id, source) {
        (Some(id), None) => {
            let took = feeds.iter().find(|f| f.id == id).map(|f| TookFeed {
                id,
                title: f.title.clone(),
                by: "feed_id",
            });
            (Some(id), None, took)
        }
        (None, Some(url)) => {
            let want = normalized(&url);
            match feeds.iter().find(|f| normalized(&f.url) == want) {
                Some(f) => (
                    Some(f.id),
                    None,
                    Some(TookFeed {
                        id: f.id,
                        title: f.title.clone(),
                        by: "source",
                    }),
                ),
                None => (None, Some(url), None),
            }
        }
        (id, src) => (id, src, None),
    }
}

/// 插播直播信号（慢直播或信号源地址；地址与已登记信号相同时按该信号播出，其备播素材、录像与响度目标生效；答复的 `feed` 说明采用了哪个信号）Put a live source on air (a feed or a source URL; a URL that is a registered feed's airs as that feed, with its backup clip, recording and loudness target; the answer's `feed` names the feed taken, null for a plain URL).
#[utoipa::path(post, path = "/api/v1/air/live", tag = "air", request_body = LiveRequest,
    responses((status = 200, description = "编辑结果（另含 feed：采用的慢直播信号 {id, title, by}，或 null）The result, with `feed`: the feed taken {id, title, by} or null", body = Object), (status = 422, description = "编辑会违反编排规则 The edit would break the rundown's rules (`problems`)", body = ErrorBody)))]
async fn live(
    State(s): State<EditState>,
    caller: Option<Extension<Principal>>,
    Body(r): Body<LiveRequest>,
) -> ApiResult<serde_json::Value> {
    let feeds = crate::rundown_db::source::feeds(s.editor.catalog()).await?;
    let (feed_id, source, took) = resolve_feed(&feeds, r.feed_id, r.source);
    if let Some(f) = &took {
        tracing::info!(
            feed = f.id,
            by = f.by,
            "live edit: the registered feed goes on air"
        );
    }
    let edit = EditRequestOp::Live {
        feed_id,
        source,
        title: r.title,
        frames: r.frames,
        when: r.when,
    };
    let Json(mut out) = on_air_edit(&s, &caller, edit, r.reason).await?;
    if let Some(o) = out.as_object_mut() {
        o.insert("feed".into(), json!(took));
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rundown::{FeedWindow, LiveFeed};

    fn feed(id: i64, title: &str, url: &str) -> LiveFeed {
        LiveFeed {
            id,
            title: title.into(),
            url: url.into(),
            unit: "天文台".into(),
            unit_id: 1,
            copyright_holder: String::new(),
            window: FeedWindow::Daily {
                start: "20:00".into(),
                end: "21:00".into(),
            },
        }
    }

    #[test]
    fn a_live_edits_url_resolves_to_the_registered_feed_with_that_locator() {
        let feeds = [
            feed(3, "望远镜", "rtsp://Cam.Example:554/telescope"),
            feed(4, "合作方推流", "ingest://scope-1"),
        ];
        let took = |id, title: &str, by| {
            Some(TookFeed {
                id,
                title: title.into(),
                by,
            })
        };
        // The same locator, spelt with another case of host and a trailing slash.
        assert_eq!(
            resolve_feed(
                &feeds,
                None,
                Some(" rtsp://cam.example:554/telescope/ ".into())
            ),
            (Some(3), None, took(3, "望远镜", "source"))
        );
        assert_eq!(
            resolve_feed(&feeds, None, Some("ingest://scope-1".into())),
            (Some(4), None, took(4, "合作方推流", "source"))
        );
        assert_eq!(
            resolve_feed(&feeds, Some(4), None),
            (Some(4), None, took(4, "合作方推流", "feed_id"))
        );
        // The path is compared as given; a plain URL stays a plain URL.
        assert_eq!(
            resolve_feed(
                &feeds,
                None,
                Some("rtsp://cam.example:554/Telescope".into())
            ),
            (None, Some("rtsp://cam.example:554/Telescope".into()), None)
        );
        // Left to the editor's own errors.
        assert_eq!(resolve_feed(&feeds, Some(9), None), (Some(9), None, None));
        assert_eq!(
            resolve_feed(&feeds, Some(3), Some("srt://x:1".into())),
            (Some(3), Some("srt://x:1".into()), None)
        );
    }
}
