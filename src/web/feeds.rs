//! `/api/v1/feeds`: the slow-live feeds as operators watch them, and the stream keys of the
//! RTMP ingest (admin and operator, through the guard: reading is `ReadCatalog`, changing is
//! `WriteCatalog`).
//!
//! - `GET /api/v1/feeds`: every feed of the edition with its window, its locator masked, and
//!   — while the engine has it open (its window, or the pre-roll before it) — the live
//!   status (connecting / live / stalled / retrying, bit rate, frame rate, last frame age,
//!   reconnects, last error, masked) and the address of its still picture.
//! - `GET /api/v1/feeds/{id}/still.jpg?w=480`: the feed's latest picture (renewed every
//!   second by the engine), 404 with the reason when it is not open or has shown nothing.
//! - `PUT /api/v1/feeds/{id}/backup`: the feed's backup clip (a catalog work or a file
//!   path), looped on air instead of the slate while the feed is down; `null` clears it.
//! - `/api/v1/feeds/keys`: a new key is in the answer once and never again; lists carry only
//!   a hint. The running ingest picks keys up within 5 s (it reloads them from the table).

use super::{ApiError, ApiResult, Body, Id, JSON_LIMIT};
use crate::air::AirHandle;
use crate::catalog::Catalog;
use crate::feeds::{Feeds, IngestKey, IssuedKey};
use crate::rundown::FeedWindow;
use crate::rundown_db::backup::{BackupView, FeedBackup};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use playout::source::live::{LiveStatus, status_url};
use serde::{Deserialize, Serialize};

/// What the feed routes need.
#[derive(Clone, Debug)]
pub struct FeedsState {
    /// Ingest keys.
    pub feeds: Feeds,
    /// The catalog (the edition's feeds).
    pub catalog: Catalog,
    /// The on-air controller, when the process is on air.
    pub air: Option<AirHandle>,
}

/// 慢直播信号及其实时状态 A feed as operators watch it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedView {
    /// Catalog id.
    pub id: i64,
    /// 名称 Title as published.
    pub title: String,
    /// 报送单位 Unit.
    pub unit: String,
    /// 信号地址（密钥已遮蔽）The locator, secrets masked.
    pub url: String,
    /// `rtsp`, `srt`, `rtmp`, `hls`, `http-flv`, `ingest`; `None` when the locator is not a
    /// live source the engine knows.
    pub kind: Option<String>,
    /// 播出时段 The window (daily `start`–`end`, or cron and duration).
    #[schema(value_type = Object)]
    pub window: FeedWindow,
    /// 实时状态：信号在播出时段及其预开时间内由引擎打开时才有 The live status while the
    /// engine has the source open (its window and the pre-roll before it).
    #[schema(value_type = Option<Object>)]
    pub status: Option<LiveStatus>,
    /// 画面截图地址（信号打开时）The still's address, while open.
    pub still: Option<String>,
    /// 备播素材：信号中断时循环播出，代替垫片；未设置时为空 The backup clip, looped on air
    /// instead of the slate while the feed is down; `None`: the slate.
    pub backup: Option<BackupView>,
}

/// `?w=` of the still.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StillQuery {
    /// 宽度（像素，默认 480，最大 1920）Width in pixels (default 480, at most 1920).
    pub w: Option<u32>,
}

/// 新推流密钥 A key to issue.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// 直播源名称（节目单中写作 `ingest://FEED`）The feed (`ingest://FEED` in the rundown).
    pub feed: String,
    /// 备注（给谁的）Who the key is for.
    #[serde(default)]
    pub note: String,
}

/// The routes (inside the guard).
pub fn routes(state: FeedsState) -> Router {
    let keys_routes = Router::new()
        .route("/api/v1/feeds/keys", get(keys).post(create))
        .route("/api/v1/feeds/keys/{id}", delete(revoke))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .with_state(state.feeds.clone());
    Router::new()
        .route("/api/v1/feeds", get(feed_list))
        .route("/api/v1/feeds/{id}/still.jpg", get(feed_still))
        .with_state(state.clone())
        .merge(keys_routes)
        .merge(
            Router::new()
                .route("/api/v1/feeds/{id}/backup", put(feed_backup))
                .layer(DefaultBodyLimit::max(JSON_LIMIT))
                .with_state(state),
        )
}

/// The engine's status of `url` among `live`, matched masked.
fn status_of<'a>(live: &'a [LiveStatus], url: &str) -> Option<&'a LiveStatus> {
    let key = status_url(url)?;
    live.iter().find(|s| s.url == key)
}

/// 慢直播信号列表及实时状态 The feeds, with their live status while open.
#[utoipa::path(get, path = "/api/v1/feeds", tag = "feeds",
    responses((status = 200, description = "信号 Feeds", body = [FeedView])))]
pub(crate) async fn feed_list(State(s): State<FeedsState>) -> ApiResult<Vec<FeedView>> {
    let feeds = crate::rundown_db::source::feeds(&s.catalog).await?;
    let mut backups = crate::rundown_db::backup::backups(s.catalog.store()).await?;
    let live = s
        .air
        .as_ref()
        .and_then(|a| a.snapshot().engine)
        .map(|e| e.live)
        .unwrap_or_default();
    Ok(Json(
        feeds
            .into_iter()
            .map(|f| {
                let status = status_of(&live, &f.url).cloned();
                let kind = playout::source::live::classify(&playout::cue::to_uri(&f.url))
                    .map(|(k, _)| k.name().to_string());
                FeedView {
                    still: status
                        .as_ref()
                        .map(|_| format!("/api/v1/feeds/{}/still.jpg", f.id)),
                    id: f.id,
                    title: f.title,
                    unit: f.unit,
                    url: playout::output::mask::mask_url(&f.url),
                    kind,
                    window: f.window,
                    status,
                    backup: backups.remove(&f.id),
                }
            })
            .collect(),
    ))
}

/// 设置或清除备播素材（作品或文件路径；`null` 清除）Set or clear the feed's backup clip
/// (a catalog work or a file path; `null` clears it). Answers the feed as listed.
#[utoipa::path(put, path = "/api/v1/feeds/{id}/backup", tag = "feeds",
    params(super::openapi::IdPath), request_body = Option<FeedBackup>,
    responses((status = 200, description = "信号 The feed", body = FeedView)))]
pub(crate) async fn feed_backup(
    State(s): State<FeedsState>,
    Id(id): Id,
    Body(backup): Body<Option<FeedBackup>>,
) -> ApiResult<FeedView> {
    let in_edition = crate::rundown_db::source::feeds(&s.catalog)
        .await?
        .iter()
        .any(|f| f.id == id);
    if !in_edition {
        return Err(ApiError::Rejected(
            StatusCode::NOT_FOUND,
            format!("没有编号为 {id} 的慢直播信号"),
        ));
    }
    crate::rundown_db::backup::set_backup(s.catalog.store(), id, backup.as_ref()).await?;
    let Json(list) = feed_list(State(s)).await?;
    list.into_iter()
        .find(|f| f.id == id)
        .map(Json)
        .ok_or_else(|| {
            ApiError::Rejected(
                StatusCode::NOT_FOUND,
                format!("没有编号为 {id} 的慢直播信号"),
            )
        })
}

/// 信号画面截图（JPEG，每秒更新）The feed's latest picture (JPEG, renewed every second).
#[utoipa::path(get, path = "/api/v1/feeds/{id}/still.jpg", tag = "feeds",
    params(super::openapi::IdPath, StillQuery),
    responses((status = 200, description = "JPEG（信号未打开或尚无画面时 404）JPEG (404 when not \
        open or no picture yet)", content_type = "image/jpeg")))]
pub(crate) async fn feed_still(
    State(s): State<FeedsState>,
    Id(id): Id,
    Query(q): Query<StillQuery>,
) -> Result<Response, ApiError> {
    let not_found = |m: String| ApiError::Rejected(StatusCode::NOT_FOUND, m);
    let feeds = crate::rundown_db::source::feeds(&s.catalog).await?;
    let feed = feeds
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| not_found(format!("没有编号为 {id} 的慢直播信号")))?;
    let air = s
        .air
        .as_ref()
        .ok_or_else(|| not_found("本进程未在播出，没有信号画面".into()))?;
    let width = q.w.unwrap_or(480).clamp(16, 1920);
    match air.live_still(&feed.url, width).await {
        Ok(Some((jpeg, age))) => Ok((
            [
                (header::CONTENT_TYPE, "image/jpeg".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (
                    header::HeaderName::from_static("x-still-age-ms"),
                    age.as_millis().to_string(),
                ),
            ],
            jpeg,
        )
            .into_response()),
        Ok(None) => Err(not_found(format!(
            "「{}」的信号现在没有打开（只在播出时段及开播前的预开时间内打开）或尚无画面",
            feed.title
        ))),
        Err(e) => Err(ApiError::Rejected(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("无法生成「{}」的画面截图：{e}", feed.title),
        )),
    }
}

/// 推流密钥列表（只含提示，不含密钥）List ingest keys (hints only, never the keys).
#[utoipa::path(get, path = "/api/v1/feeds/keys", tag = "feeds",
    responses((status = 200, description = "推流密钥 Keys", body = [IngestKey])))]
pub(crate) async fn keys(State(f): State<Feeds>) -> ApiResult<Vec<IngestKey>> {
    Ok(Json(f.keys().await?))
}

/// 签发推流密钥（密钥只在此应答中出现一次）Issue a key (shown in this answer only).
#[utoipa::path(post, path = "/api/v1/feeds/keys", tag = "feeds", request_body = NewKey,
    responses((status = 201, description = "新密钥 The new key", body = IssuedKey)))]
pub(crate) async fn create(
    State(f): State<Feeds>,
    Body(k): Body<NewKey>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(f.create_key(&k.feed, &k.note).await?),
    ))
}

/// 吊销推流密钥 Revoke a key.
#[utoipa::path(delete, path = "/api/v1/feeds/keys/{id}", tag = "feeds",
    params(super::openapi::IdPath),
    responses((status = 204, description = "已吊销 Revoked")))]
pub(crate) async fn revoke(State(f): State<Feeds>, Id(id): Id) -> Result<StatusCode, ApiError> {
    f.revoke(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
