//! The REST API (JSON over axum) under `/api/v1/`: the catalog (units, works, files, probes,
//! reviews, rights, state, leads and imports) and the rundown ([`rundown`]: days, versions,
//! diffs, build, locks, restore, validation, exports). It owns HTTP concerns only:
//! input extraction, status codes, body limits, and the one place where store errors become
//! HTTP answers (400 with the field, 404, 409, 503). It never shows a raw database error and
//! never panics on input. [`app`] puts the whole API behind accounts and roles ([`auth`]),
//! adds the as-run log and `/metrics` ([`asrun`]) and certificates with their public
//! verification ([`certificate`]); [`router`] alone is the open catalog and rundown API
//! (tests, and the CLI until `serve` lands).

use crate::catalog::Catalog;
use crate::catalog::model::{NewUnit, NewWork, WorkState};
use crate::catalog::probe::ProbeOptions;
use crate::catalog::repo::NewLead;
use crate::catalog::workflow::NewReview;
use crate::store::Error;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

pub mod asrun;
pub mod auth;
pub mod certificate;
pub mod dashboard;
pub mod edit;
pub mod feedback;
pub mod feeds;
pub mod limits;
pub mod openapi;
pub mod partner;
pub mod preview;
pub mod recordings;
pub mod rundown;
pub mod submissions;
pub mod upload;
pub mod watch;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 256 * 1024;
/// Largest import file accepted.
pub const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The catalog of the running edition.
    pub catalog: Catalog,
    /// Limits of probes started through the API.
    pub probe: ProbeOptions,
}

/// An API failure, turned into a JSON error body with the right status.
#[derive(Debug)]
pub enum ApiError {
    /// A classified store/catalog error.
    Store(Error),
    /// The request itself was unusable (bad JSON, bad path), with the status to answer.
    Rejected(StatusCode, String),
    /// No or wrong credentials (401), or a role that may not do this (403).
    Auth(crate::auth::AuthError),
    /// Rows of a batch or a file are invalid (400): the first is named in `field` and the
    /// message, every one in `errors` (row, field or column, reason).
    InvalidRows {
        /// The first field at fault (`figures[3].value`, `file`).
        field: String,
        /// What was refused, in Chinese.
        message: String,
        /// Every problem.
        errors: serde_json::Value,
    },
    /// Well-formed but refused by the rules (422), with the details (e.g. the problems).
    Unprocessable {
        /// What was refused and why.
        message: String,
        /// Structured details merged into the error body.
        details: serde_json::Value,
    },
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        Self::Auth(e)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::Store(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Store(e) => {
                let message = e.to_string();
                match e {
                    Error::NotFound { .. } => (
                        StatusCode::NOT_FOUND,
                        json!({ "code": "not_found", "message": message }),
                    ),
                    Error::Invalid { field, reason } => (
                        StatusCode::BAD_REQUEST,
                        json!({ "code": "invalid", "field": field, "reason": reason, "message": message }),
                    ),
                    Error::Conflict(_) => (
                        StatusCode::CONFLICT,
                        json!({ "code": "conflict", "message": message }),
                    ),
                    Error::Unavailable(_) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({ "code": "unavailable", "message": message }),
                    ),
                }
            }
            Self::Rejected(status, message) => {
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    StatusCode::SERVICE_UNAVAILABLE => "unavailable",
                    StatusCode::NOT_FOUND => "not_found",
                    StatusCode::FORBIDDEN => "forbidden",
                    _ => "bad_request",
                };
                (status, json!({ "code": code, "message": message }))
            }
            Self::InvalidRows {
                field,
                message,
                errors,
            } => (
                StatusCode::BAD_REQUEST,
                json!({ "code": "invalid", "field": field, "reason": message,
                        "message": message, "errors": errors }),
            ),
            Self::Unprocessable { message, details } => {
                let mut body = json!({ "code": "rejected_by_rules", "message": message });
                if let (Some(b), serde_json::Value::Object(d)) = (body.as_object_mut(), details) {
                    b.extend(d);
                }
                (StatusCode::UNPROCESSABLE_ENTITY, body)
            }
            Self::Auth(e) => {
                let message = e.to_string();
                return match e {
                    crate::auth::AuthError::Unauthenticated => (
                        StatusCode::UNAUTHORIZED,
                        [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                        Json(json!({ "error": { "code": "unauthenticated", "message": message } })),
                    )
                        .into_response(),
                    crate::auth::AuthError::Forbidden { .. } => (
                        StatusCode::FORBIDDEN,
                        Json(json!({ "error": { "code": "forbidden", "message": message } })),
                    )
                        .into_response(),
                    crate::auth::AuthError::Locked { .. } => (
                        StatusCode::LOCKED,
                        Json(json!({ "error": { "code": "locked", "message": message } })),
                    )
                        .into_response(),
                };
            }
        };
        (status, Json(json!({ "error": body }))).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A JSON body whose rejection is a JSON error (with serde's message naming the field).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::Rejected(
                r.status(),
                format!("请求体无效：{}", r.body_text()),
            )),
        }
    }
}

/// A numeric `{id}` path segment.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<i64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Self(id)),
            Err(_) => Err(ApiError::Store(Error::invalid(
                "id",
                "路径中的编号须为整数",
            ))),
        }
    }
}

/// What the secured API needs besides the catalog.
#[derive(Clone, Debug)]
pub struct Services {
    /// Users and tokens.
    pub accounts: crate::auth::Accounts,
    /// The as-run log.
    pub asrun: crate::asrun::AsRunLog,
    /// The metrics registry scraped at `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The on-air controller, when the process is on air (`serve`).
    pub air: Option<crate::air::AirHandle>,
    /// Where the HLS preview is written, when there is one.
    pub preview_dir: Option<std::path::PathBuf>,
    /// The ingest's keys, when this process runs the RTMP ingest: keys issued or revoked
    /// through the API take effect at once (else within the ingest's 5 s reload).
    pub ingest_keys: Option<crate::feeds::Feeds>,
    /// Resumable video uploads ([`upload`]: `/api/v1/uploads`), when the process takes them.
    pub uploads: Option<crate::upload::Uploads>,
}

/// The daemon's HTTP app: every `/api/v1` route behind [`auth::guard`] (401 without
/// credentials, 403 for a role that may not), the as-run log, certificates, the partner view
/// ([`partner`]), the account routes; and, open without credentials, the `/metrics` scrape,
/// `/api/v1/openapi.json` ([`openapi`]), login, certificate verification (`/verify/{code}`,
/// `/api/v1/verify/{code}`) and the dashboard's static page ([`dashboard`]; its data needs a
/// login).
pub fn app(state: AppState, services: Services) -> Router {
    app_with(state, services, crate::feedback::FeedbackOptions::default())
}

/// [`app`] with the 数据反馈 options: the feedback API ([`feedback`]: guarded, its webhook
/// open) and, when the engine writes an HLS rendition and `public_hls` is on, the public
/// player and stream ([`watch`]: `/watch`, `/live/…`) with viewers counted by session and
/// sampled into figures every `sample_every`; the configured pollers. Those workers end
/// with the app.
pub fn app_with(
    state: AppState,
    services: Services,
    options: crate::feedback::FeedbackOptions,
) -> Router {
    let public_hls = options.public_hls;
    // Certificates asked for here are written only by the pair's leader, fenced.
    let (leader, drill_hold) = (options.leader.clone(), options.drill_hold);
    let pollers = options.pollers.clone();
    let feedback_service = crate::feedback::Feedback::new(
        state.catalog.clone(),
        services.asrun.clone(),
        services.metrics.clone(),
        options,
    );
    // The pollers run until the app (holding the sender) is dropped.
    let (stop_workers, stop_rx) = tokio::sync::watch::channel(false);
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        for p in pollers {
            let air = services.air.clone();
            let now: std::sync::Arc<dyn Fn() -> i64 + Send + Sync> =
                std::sync::Arc::new(move || match &air {
                    Some(a) => a.clock().now().timestamp_millis(),
                    None => crate::store::now_ms(),
                });
            let worker = crate::feedback::poller::Poller::new(p, feedback_service.clone(), now);
            rt.spawn(worker.run(stop_rx.clone()));
        }
    }
    let feedback_state = feedback::FeedbackState {
        feedback: feedback_service.clone(),
        catalog: state.catalog.clone(),
        accounts: services.accounts.clone(),
        air: services.air.clone(),
        stop_workers: std::sync::Arc::new(stop_workers),
        live_cache: feedback::LiveCache::default(),
    };
    let watch = watch::routes(watch::WatchState::start(
        feedback_service,
        services.preview_dir.clone().filter(|_| public_hls),
        services.air.clone(),
    ));
    let state_store = state.catalog.store().clone();
    let certificates =
        crate::certificate::Certificates::new(state.catalog.clone(), services.asrun.clone())
            .issued_under(leader, drill_hold);
    let certificate_state = certificate::CertificateState {
        certificates: certificates.clone(),
        accounts: services.accounts.clone(),
    };
    let asrun_state = asrun::AsRunState {
        log: services.asrun.clone(),
        catalog: state.catalog.clone(),
        accounts: services.accounts.clone(),
    };
    let partner = partner::routes(partner::PartnerState {
        catalog: state.catalog.clone(),
        asrun: services.asrun.clone(),
        days: crate::rundown_db::DbDayStore::new(state.catalog.store().clone()),
        air: services.air.clone(),
        accounts: services.accounts.clone(),
    });
    let edits = crate::rundown_db::ops::schedule_of(state.catalog.edition())
        .ok()
        .map(|cs| {
            edit::routes(edit::EditState {
                editor: crate::rundown_db::editing::Editor::new(
                    state.catalog.clone(),
                    std::sync::Arc::new(cs),
                ),
                air: services.air.clone(),
            })
            .layer(DefaultBodyLimit::max(JSON_LIMIT))
        })
        .unwrap_or_default();
    let feeds_routes = feeds::routes(feeds::FeedsState {
        feeds: services
            .ingest_keys
            .clone()
            .unwrap_or_else(|| crate::feeds::Feeds::new(state_store.clone())),
        catalog: state.catalog.clone(),
        air: services.air.clone(),
    });
    edits
        .merge(preview::routes(services.preview_dir.clone()))
        .merge(submissions::routes(state.clone()))
        .merge(
            services
                .uploads
                .clone()
                .map(upload::routes)
                .unwrap_or_default(),
        )
        .merge(router(state))
        .merge(asrun::routes(asrun_state))
        .merge(certificate::routes(certificate_state))
        .merge(partner)
        .merge(feeds_routes)
        .merge(feedback::routes(feedback_state.clone()))
        .merge(auth::routes(services.accounts.clone()))
        .layer(axum::middleware::from_fn_with_state(
            services.accounts.clone(),
            auth::guard,
        ))
        .merge(auth::session_routes(services.accounts))
        .merge(asrun::metrics_routes(services.metrics))
        .merge(openapi::routes())
        .merge(certificate::public_routes(certificates))
        .merge(feedback::hook_routes(feedback_state))
        .merge(watch)
        .merge(dashboard::routes())
}

/// The catalog API, mounted at `/api/v1`.
pub fn router(state: AppState) -> Router {
    let imports = Router::new()
        .route("/api/v1/imports", post(import))
        // 信息采集表 in the notice's layout: preview, then save what a person confirmed.
        .route("/api/v1/forms/preview", post(form_preview))
        .route("/api/v1/forms", post(form_save))
        .layer(DefaultBodyLimit::max(IMPORT_LIMIT));
    Router::new()
        .route("/api/v1/units", get(units).post(create_unit))
        .route("/api/v1/units/{id}", get(unit))
        .route("/api/v1/works", get(works).post(create_work))
        .route("/api/v1/works/{id}", get(work))
        .route("/api/v1/works/{id}/files", get(files).post(attach))
        .route("/api/v1/works/{id}/reviews", get(reviews).post(review))
        .route("/api/v1/works/{id}/rights", post(rights))
        .route("/api/v1/works/{id}/schedulable", get(schedulable))
        .route("/api/v1/works/{id}/state", put(set_state))
        .route("/api/v1/works/{id}/history", get(history))
        .route("/api/v1/files/{id}", get(file))
        .route("/api/v1/files/{id}/probe", post(probe))
        .route("/api/v1/leads", get(leads).post(create_lead))
        .route("/api/v1/playable", get(playable))
        .with_state(state.clone())
        .merge(rundown::routes(rundown::RundownState::new(
            state.catalog.clone(),
        )))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .merge(imports.with_state(state))
        .fallback(|| async { ApiError::Store(Error::not_found("接口", "路径")) })
}

/// 报送单位列表 List the submitting units.
#[utoipa::path(get, path = "/api/v1/units", tag = "catalog",
    responses((status = 200, description = "报送单位 Units", body = [Object])))]
async fn units(State(s): State<AppState>) -> ApiResult<serde_json::Value> {
    Ok(Json(json!(s.catalog.units().await?)))
}

/// 新建报送单位 Create a unit.
#[utoipa::path(post, path = "/api/v1/units", tag = "catalog", request_body = NewUnit,
    responses((status = 201, description = "已创建的单位 The created unit", body = Object)))]
async fn create_unit(
    State(s): State<AppState>,
    Body(u): Body<NewUnit>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(s.catalog.create_unit(&u).await?)),
    ))
}

/// 一个报送单位 One unit.
#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "catalog", params(openapi::IdPath),
    responses((status = 200, description = "单位 The unit", body = Object)))]
async fn unit(State(s): State<AppState>, Id(id): Id) -> ApiResult<serde_json::Value> {
    Ok(Json(json!(s.catalog.unit(id).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct WorksQuery {
    /// 只列此状态的作品 Only works in this state.
    #[param(value_type = Option<WorkState>)]
    state: Option<String>,
}

/// 作品列表（合作方只见本单位）List works (a partner sees its own unit's).
#[utoipa::path(get, path = "/api/v1/works", tag = "catalog", params(WorksQuery),
    responses((status = 200, description = "作品 Works", body = [Object])))]
async fn works(
    State(s): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Principal>>,
    Query(q): Query<WorksQuery>,
) -> ApiResult<serde_json::Value> {
    let state = q
        .state
        .map(|v| {
            v.parse::<WorkState>()
                .map_err(|_| Error::invalid("state", format!("不认识的状态「{v}」")))
        })
        .transpose()?;
    let mut works = s.catalog.works(state).await?;
    if let Some(axum::Extension(p)) = caller {
        works.retain(|w| p.may_see_unit(Some(w.unit_id)));
    }
    Ok(Json(json!(works)))
}

/// 新建作品 Create a work.
#[utoipa::path(post, path = "/api/v1/works", tag = "catalog", request_body = NewWork,
    responses((status = 201, description = "已创建的作品 The created work", body = Object)))]
async fn create_work(
    State(s): State<AppState>,
    Body(w): Body<NewWork>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(s.catalog.create_work(&w, "api").await?)),
    ))
}

/// 作品详情：单位、文件、审核、可排播 A work with its unit, files, reviews, schedulability.
#[utoipa::path(get, path = "/api/v1/works/{id}", tag = "catalog", params(openapi::IdPath),
    responses((status = 200, description = "{work, unit, files, reviews, schedulable}", body = Object)))]
async fn work(
    State(s): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Principal>>,
    Id(id): Id,
) -> ApiResult<serde_json::Value> {
    let c = &s.catalog;
    let w = c.work(id).await?;
    // Another unit's work does not exist for a partner (no hint that the id is taken).
    if let Some(axum::Extension(p)) = caller
        && !p.may_see_unit(Some(w.unit_id))
    {
        return Err(Error::not_found("作品", id).into());
    }
    Ok(Json(json!({
        "work": w,
        "unit": c.unit(w.unit_id).await?,
        "files": c.files_of(id).await?,
        "reviews": c.reviews_of(id).await?,
        "schedulable": c.schedulable(id).await?,
    })))
}

/// 作品的媒体文件 A work's media files.
#[utoipa::path(get, path = "/api/v1/works/{id}/files", tag = "catalog", params(openapi::IdPath),
    responses((status = 200, description = "文件 Files", body = [Object])))]
async fn files(State(s): State<AppState>, Id(id): Id) -> ApiResult<serde_json::Value> {
    s.catalog.work_row(id).await?;
    Ok(Json(json!(s.catalog.files_of(id).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Attach {
    /// 文件路径或 URL Path or URL of the file.
    location: String,
}

/// 为作品登记媒体文件 Attach a media file to a work.
#[utoipa::path(post, path = "/api/v1/works/{id}/files", tag = "catalog", params(openapi::IdPath), request_body = Attach,
    responses((status = 201, description = "已登记的文件 The attached file", body = Object)))]
async fn attach(
    State(s): State<AppState>,
    Id(id): Id,
    Body(a): Body<Attach>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(s.catalog.attach_file(id, &a.location).await?)),
    ))
}

/// 作品的审核记录 A work's reviews.
#[utoipa::path(get, path = "/api/v1/works/{id}/reviews", tag = "catalog", params(openapi::IdPath),
    responses((status = 200, description = "审核 Reviews", body = [Object])))]
async fn reviews(State(s): State<AppState>, Id(id): Id) -> ApiResult<serde_json::Value> {
    s.catalog.work_row(id).await?;
    Ok(Json(json!(s.catalog.reviews_of(id).await?)))
}

/// 添加审核（检查项、遴选结论）Add a review (checklist, decision).
#[utoipa::path(post, path = "/api/v1/works/{id}/reviews", tag = "catalog", params(openapi::IdPath), request_body = NewReview,
    responses((status = 201, description = "已添加的审核 The review", body = Object)))]
async fn review(
    State(s): State<AppState>,
    Id(id): Id,
    Body(r): Body<NewReview>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(s.catalog.add_review(id, &r).await?)),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Rights {
    /// 确认人 Who confirms.
    by: String,
}

/// 确认版权 Confirm the rights of a work.
#[utoipa::path(post, path = "/api/v1/works/{id}/rights", tag = "catalog", params(openapi::IdPath), request_body = Rights,
    responses((status = 200, description = "作品 The work", body = Object)))]
async fn rights(
    State(s): State<AppState>,
    Id(id): Id,
    Body(r): Body<Rights>,
) -> ApiResult<serde_json::Value> {
    s.catalog.confirm_rights(id, &r.by).await?;
    Ok(Json(json!(s.catalog.work(id).await?)))
}

/// 作品能否排播及原因 Whether a work may be scheduled, and why not.
#[utoipa::path(get, path = "/api/v1/works/{id}/schedulable", tag = "catalog", params(openapi::IdPath),
    responses((status = 200, description = "可排播判断 Schedulability", body = Object)))]
async fn schedulable(State(s): State<AppState>, Id(id): Id) -> ApiResult<serde_json::Value> {
    Ok(Json(json!(s.catalog.schedulable(id).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SetState {
    /// 新状态 The new state.
    state: WorkState,
    /// 操作人（默认 api）Who (default `api`).
    #[serde(default)]
    actor: Option<String>,
}

/// 改变作品状态 Change a work's state.
#[utoipa::path(put, path = "/api/v1/works/{id}/state", tag = "catalog", params(openapi::IdPath), request_body = SetState,
    responses((status = 200, description = "作品 The work", body = Object)))]
async fn set_state(
    State(s): State<AppState>,
    Id(id): Id,
    Body(b): Body<SetState>,
) -> ApiResult<serde_json::Value> {
    let actor = b.actor.as_deref().unwrap_or("api");
    Ok(Json(json!(
        s.catalog.set_work_state(id, b.state, actor).await?
    )))
}

/// 作品的变更记录 A work's history.
#[utoipa::path(get, path = "/api/v1/works/{id}/history", tag = "catalog", operation_id = "work_history", params(openapi::IdPath),
    responses((status = 200, description = "变更记录 History", body = [Object])))]
async fn history(State(s): State<AppState>, Id(id): Id) -> ApiResult<serde_json::Value> {
    s.catalog.work_row(id).await?;
    Ok(Json(json!(s.catalog.history_of(id).await?)))
}

/// 一个媒体文件 One media file.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "catalog", params(openapi::IdPath),
    responses((status = 200, description = "文件 The file", body = Object)))]
async fn file(State(s): State<AppState>, Id(id): Id) -> ApiResult<serde_json::Value> {
    Ok(Json(json!(s.catalog.file(id).await?)))
}

/// 技术检测一个文件（探测与质检）Probe a file and judge it (QC).
#[utoipa::path(post, path = "/api/v1/files/{id}/probe", tag = "catalog", params(openapi::IdPath),
    responses((status = 200, description = "{report, qc}", body = Object)))]
async fn probe(State(s): State<AppState>, Id(id): Id) -> ApiResult<serde_json::Value> {
    let (report, qc) = s.catalog.probe_file(id, s.probe).await?;
    Ok(Json(json!({ "report": report, "qc": qc })))
}

/// 可播出的作品及文件 Works the rundown may place, with the file to play.
#[utoipa::path(get, path = "/api/v1/playable", tag = "catalog",
    responses((status = 200, description = "可播作品 Playable works", body = [Object])))]
async fn playable(State(s): State<AppState>) -> ApiResult<serde_json::Value> {
    Ok(Json(json!(s.catalog.playable_works().await?)))
}

/// 选题线索列表 List leads.
#[utoipa::path(get, path = "/api/v1/leads", tag = "catalog",
    responses((status = 200, description = "线索 Leads", body = [Object])))]
async fn leads(State(s): State<AppState>) -> ApiResult<serde_json::Value> {
    Ok(Json(json!(s.catalog.leads().await?)))
}

/// 新建选题线索 Create a lead.
#[utoipa::path(post, path = "/api/v1/leads", tag = "catalog", request_body = NewLead,
    responses((status = 201, description = "已创建的线索 The lead", body = Object)))]
async fn create_lead(
    State(s): State<AppState>,
    Body(l): Body<NewLead>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(s.catalog.create_lead(&l, "api").await?)),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// 文件名（用于识别格式和记录）File name (format and record).
    name: Option<String>,
}

/// 导入报送表（CSV 或 XLSX，最大 32 MiB）Import a submission sheet (CSV or XLSX, at most 32 MiB).
#[utoipa::path(post, path = "/api/v1/imports", tag = "catalog", params(ImportQuery),
    request_body(description = "文件内容 The file's bytes", content(
        ("text/csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("application/octet-stream"),
    )),
    responses((status = 200, description = "导入结果 Import report", body = Object)))]
async fn import(
    State(s): State<AppState>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult<serde_json::Value> {
    if body.is_empty() {
        return Err(Error::invalid("body", "请求体为空：请上传 CSV 或 XLSX 文件内容").into());
    }
    let name = q.name.unwrap_or_else(|| "upload".into());
    Ok(Json(json!(
        s.catalog.import_bytes(&name, body.to_vec(), "api").await?
    )))
}

/// 预览信息采集表（通知样表格式：.docx、.xlsx 或 .csv；不写入）Preview a unit's filled
/// collection form in the notice's key–value layout; nothing is stored.
#[utoipa::path(post, path = "/api/v1/forms/preview", tag = "catalog", params(ImportQuery),
    request_body(description = "文件内容 The file's bytes", content(
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("text/csv"),
        ("application/octet-stream"),
    )),
    responses((status = 200, description = "逐项识别结果 Every field as read", body = crate::catalog::form::FormPreview),
        (status = 400, description = "不是信息采集表 Not a form in the notice's layout")))]
async fn form_preview(
    State(s): State<AppState>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult<crate::catalog::form::FormPreview> {
    if body.is_empty() {
        return Err(Error::invalid(
            "body",
            "请求体为空：请上传信息采集表（.docx、.xlsx 或 .csv）",
        )
        .into());
    }
    let name = q.name.unwrap_or_else(|| "upload".into());
    Ok(Json(s.catalog.preview_form(&name, body.to_vec()).await?))
}

/// 保存已核对的信息采集表 Save a previewed form as a person confirmed (or corrected) it.
#[utoipa::path(post, path = "/api/v1/forms", tag = "catalog",
    request_body = crate::catalog::form::FormPreview,
    responses((status = 201, description = "已保存 Saved", body = crate::catalog::form::FormSaved),
        (status = 400, description = "仍有错误，指明栏目 A field is still wrong (named)")))]
async fn form_save(
    State(s): State<AppState>,
    auth: Option<axum::Extension<crate::auth::Principal>>,
    Body(p): Body<crate::catalog::form::FormPreview>,
) -> Result<(StatusCode, Json<crate::catalog::form::FormSaved>), ApiError> {
    let actor = auth.map_or_else(|| "api".to_string(), |a| a.0.username.clone());
    let saved = s
        .catalog
        .save_form(&p, &actor, crate::catalog::form::Source::Table)
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}
