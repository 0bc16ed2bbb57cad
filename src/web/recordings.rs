//! `/api/v1/recordings`: the recorded live windows (回放 material and as-run evidence), for
//! operators and administrators.
//!
//! - `GET /api/v1/recordings`: every window under `[recording] dir`, newest first: feed,
//!   window (its directory name), start/end UTC, bytes, segments, recording / complete /
//!   incomplete, and why it stopped early. `ReadCatalog` — partners get 403: recordings are
//!   the channel's evidence of what aired (a partner sees its own windows in its as-run and
//!   certificates).
//! - `POST /api/v1/recordings/{name}/register`: registers a finished window as a catalog
//!   work for 回放 (`WriteCatalog`): segments joined to one MP4 (ffmpeg `-c copy`), a work of
//!   the feed's unit titled with the feed's title and the window's date, the MP4 attached
//!   (the catalog's probe takes it from there).
//!
//! The routes exist only when `[recording]` is configured; they are guarded by the same
//! layer as every `/api/v1` route (see [`guarded`]).

use super::{ApiError, ApiResult, Body, JSON_LIMIT};
use crate::auth::Principal;
use crate::catalog::Catalog;
use crate::recording::{RecordingView, Recordings, Registered};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

/// What the recording routes need.
#[derive(Clone, Debug)]
pub struct RecordingsState {
    /// The recordings directory and the windows being recorded.
    pub recordings: Recordings,
    /// The catalog (feeds, works).
    pub catalog: Catalog,
}

/// 登记回放作品 How a window is registered.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRecording {
    /// 视频类别编号（默认 [1]）The work's category ids (default `[1]`).
    #[serde(default)]
    pub categories: Option<Vec<u8>>,
}

/// A `{name}` path segment: a window's directory name.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NamePath {
    /// 录像窗口名 The window (directory name, from the list).
    pub name: String,
}

/// The routes, without the guard (see [`guarded`]).
pub fn routes(state: RecordingsState) -> Router {
    Router::new()
        .route("/api/v1/recordings", get(list))
        .route("/api/v1/recordings/{name}/register", post(register))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .with_state(state)
}

/// The routes behind the API's guard, to merge beside [`super::app_with`].
pub fn guarded(state: RecordingsState, accounts: crate::auth::Accounts) -> Router {
    routes(state).layer(axum::middleware::from_fn_with_state(
        accounts,
        super::auth::guard,
    ))
}

/// 直播录像列表（最新在前）Recorded live windows, newest first.
#[utoipa::path(get, operation_id = "list_recordings", path = "/api/v1/recordings", tag = "feeds",
    responses((status = 200, description = "录像 Recordings", body = [RecordingView])))]
pub(crate) async fn list(State(s): State<RecordingsState>) -> ApiResult<Vec<RecordingView>> {
    let rec = s.recordings.clone();
    tokio::task::spawn_blocking(move || rec.list())
        .await
        .map(Json)
        .map_err(|e| {
            ApiError::Rejected(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("无法读取录像目录：{e}"),
            )
        })
}

/// 把录像登记为回放作品 Register a finished window as a catalog work (回放).
#[utoipa::path(post, operation_id = "register_recording", path = "/api/v1/recordings/{name}/register", tag = "feeds",
    params(NamePath), request_body = RegisterRecording,
    responses((status = 201, description = "已登记 Registered", body = Registered)))]
pub(crate) async fn register(
    State(s): State<RecordingsState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    Body(req): Body<RegisterRecording>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let categories = req.categories.unwrap_or_else(|| vec![1]);
    let r = crate::recording::register(&s.recordings, &s.catalog, &name, categories, &who.username)
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}
