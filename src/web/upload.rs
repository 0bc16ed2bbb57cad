//! The tus 1.0 endpoints of resumable video uploads (`/api/v1/uploads`): `OPTIONS` (version,
//! extensions, `Tus-Max-Size` = the edition's 4 GB), `POST` (creation: refused with 413
//! before any byte when `Upload-Length` is over the limit or the unit's quota, 507 when the
//! disk is short), `HEAD` (where it stands), `PATCH` (append), `DELETE` (termination), and
//! `GET` (the upload's record as JSON: SHA-256, the work's file, its verdict once probed).
//! A partner reaches only its own unit's works and uploads ("not found" otherwise); the
//! guard in front lets any signed-in role through and the handlers scope.

use crate::auth::Principal;
use crate::upload::{UploadError, Uploads, tus};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use axum::{Extension, Json, Router};

fn tus_headers(h: &mut HeaderMap) {
    h.insert("Tus-Resumable", HeaderValue::from_static(tus::VERSION));
    h.insert("Cache-Control", HeaderValue::from_static("no-store"));
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        if status.is_server_error() {
            tracing::warn!("upload: {self}");
        }
        let mut resp = (
            status,
            Json(serde_json::json!({ "error": status.as_u16(), "message": self.to_string() })),
        )
            .into_response();
        tus_headers(resp.headers_mut());
        resp
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn scope(p: &Option<Extension<Principal>>) -> Option<i64> {
    p.as_ref().and_then(|p| p.0.unit_scope())
}

fn actor(p: &Option<Extension<Principal>>) -> String {
    p.as_ref()
        .map_or_else(|| "api".to_string(), |p| p.0.username.clone())
}

fn with_headers(status: StatusCode, pairs: &[(&'static str, String)]) -> Response {
    let mut resp = status.into_response();
    tus_headers(resp.headers_mut());
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(v) {
            resp.headers_mut().insert(*k, v);
        }
    }
    resp
}

/// tus 服务能力（版本、扩展、单个文件上限）tus capabilities: version, extensions, `Tus-Max-Size`.
#[utoipa::path(options, operation_id = "upload_options", path = "/api/v1/uploads", tag = "uploads",
    responses((status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size")))]
pub(crate) async fn options(State(u): State<Uploads>) -> Response {
    with_headers(
        StatusCode::NO_CONTENT,
        &[
            ("Tus-Version", tus::VERSION.to_string()),
            ("Tus-Extension", tus::EXTENSIONS.to_string()),
            ("Tus-Max-Size", u.max_size().to_string()),
        ],
    )
}

/// 创建上传（tus creation；超过 4G、单位配额或磁盘空间时不传数据即拒绝）Create an upload:
/// `Upload-Length` and `Upload-Metadata` (`filename`, `work`); refused before any byte when
/// over the edition's limit (413), the unit's quota (413) or the free disk (507).
#[utoipa::path(post, operation_id = "create_upload", path = "/api/v1/uploads", tag = "uploads",
    responses((status = 201, description = "Location: the upload's URL"),
        (status = 413, description = "超过上限或配额 Over the limit or the quota"),
        (status = 507, description = "磁盘空间不足 Disk full")))]
pub(crate) async fn create(
    State(u): State<Uploads>,
    p: Option<Extension<Principal>>,
    h: HeaderMap,
) -> Result<Response, UploadError> {
    tus::check_version(header(&h, "Tus-Resumable"))?;
    let length = tus::parse_u64("Upload-Length", header(&h, "Upload-Length"))?;
    let meta = tus::parse_metadata(header(&h, "Upload-Metadata"))?;
    let row = u.create(length, &meta, scope(&p), &actor(&p)).await?;
    Ok(with_headers(
        StatusCode::CREATED,
        &[
            ("Location", format!("/api/v1/uploads/{}", row.id)),
            ("Upload-Offset", row.offset_bytes.to_string()),
        ],
    ))
}

/// 查询续传位置 Where the upload stands (`Upload-Offset`, `Upload-Length`).
#[utoipa::path(head, operation_id = "upload_offset", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "上传编号 Upload id")),
    responses((status = 200, description = "Upload-Offset, Upload-Length")))]
pub(crate) async fn offset(
    State(u): State<Uploads>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Response, UploadError> {
    let row = u.get(&id, scope(&p)).await?;
    Ok(with_headers(
        StatusCode::OK,
        &[
            ("Upload-Offset", row.offset_bytes.to_string()),
            ("Upload-Length", row.length.to_string()),
        ],
    ))
}

/// 续传数据（application/offset+octet-stream，从 Upload-Offset 起）Append bytes at `Upload-Offset`.
#[utoipa::path(patch, operation_id = "append_upload", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "上传编号 Upload id")),
    request_body(description = "文件的下一段 The next bytes", content(("application/offset+octet-stream"))),
    responses((status = 204, description = "Upload-Offset: bytes received"),
        (status = 409, description = "续传位置不符 Offset mismatch")))]
pub(crate) async fn patch(
    State(u): State<Uploads>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, UploadError> {
    tus::check_version(header(&h, "Tus-Resumable"))?;
    tus::check_patch_type(header(&h, "Content-Type"))?;
    let offset = tus::parse_u64("Upload-Offset", header(&h, "Upload-Offset"))?;
    let row = u
        .append(&id, offset, scope(&p), body.into_data_stream())
        .await?;
    Ok(with_headers(
        StatusCode::NO_CONTENT,
        &[("Upload-Offset", row.offset_bytes.to_string())],
    ))
}

/// 撤销未完成的上传（tus termination）Abandon an unfinished upload.
#[utoipa::path(delete, operation_id = "delete_upload", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "上传编号 Upload id")),
    responses((status = 204, description = "已撤销 Removed")))]
pub(crate) async fn delete(
    State(u): State<Uploads>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<Response, UploadError> {
    tus::check_version(header(&h, "Tus-Resumable"))?;
    u.terminate(&id, scope(&p)).await?;
    Ok(with_headers(StatusCode::NO_CONTENT, &[]))
}

/// 上传记录（SHA-256、作品文件）The upload's record: SHA-256, the work's file once complete.
#[utoipa::path(get, operation_id = "show_upload", path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "上传编号 Upload id")),
    responses((status = 200, description = "上传记录 The record", body = crate::upload::UploadRow)))]
pub(crate) async fn show(
    State(u): State<Uploads>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Response, UploadError> {
    let row = u.get(&id, scope(&p)).await?;
    let mut resp = Json(row).into_response();
    tus_headers(resp.headers_mut());
    Ok(resp)
}

/// The upload routes over `uploads` (mount behind the API guard).
pub fn routes(uploads: Uploads) -> Router {
    Router::new()
        .route("/api/v1/uploads", post(create).options(options))
        .route(
            "/api/v1/uploads/{id}",
            head(offset).patch(patch).delete(delete).get(show),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(uploads)
}

/// [`routes`] behind the API guard ([`super::auth::guard`]): what `serve` mounts.
pub fn guarded_routes(uploads: Uploads, accounts: crate::auth::Accounts) -> Router {
    routes(uploads).layer(axum::middleware::from_fn_with_state(
        accounts,
        super::auth::guard,
    ))
}
