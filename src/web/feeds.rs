//! `/api/v1/feeds/keys`: stream keys of the RTMP ingest (admin and operator, through the
//! guard: reading is `ReadCatalog`, changing is `WriteCatalog`). A new key is in the answer
//! once and never again; lists carry only a hint. The running ingest picks keys up within
//! 5 s (it reloads them from the table).

use super::{ApiError, ApiResult, Body, Id, JSON_LIMIT};
use crate::feeds::{Feeds, IngestKey, IssuedKey};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

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
pub fn routes(feeds: Feeds) -> Router {
    Router::new()
        .route("/api/v1/feeds/keys", get(keys).post(create))
        .route("/api/v1/feeds/keys/{id}", delete(revoke))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .with_state(feeds)
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
