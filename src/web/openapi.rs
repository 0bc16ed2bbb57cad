//! The OpenAPI 3.1 description of the REST API, served open (no credentials) at
//! `GET /api/v1/openapi.json`: every route with its method, path parameters, request body
//! schema and main responses, the bearer-token security scheme applied to every `/api/v1`
//! operation, the roles that may call each one, and the shared error body.
//!
//! The document is derived with `utoipa` from the handlers' `#[utoipa::path]` attributes and
//! the request types' `ToSchema` derives (no hand-written JSON). Three [`Modify`] passes add
//! what is the same for many routes: the security scheme, the error answers of the one
//! mapping in `web` (400/401/403/404/409/413/415/503, each with [`ErrorBody`]), and the roles,
//! read from `web::auth::action_for` and `auth::Role::can` (so they cannot drift from the
//! guard). `tests/openapi.rs` checks that every route registered in `src/web/*.rs` is here.

use std::sync::LazyLock;

use axum::http::Method;
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::auth::Role;

/// Where the document is served.
pub const PATH: &str = "/api/v1/openapi.json";

/// Routes open to anyone: this document, the metrics scrape and login/logout (outside the
/// guard).
pub const OPEN_PATHS: [&str; 9] = [
    PATH,
    "/metrics",
    "/api/v1/session",
    "/verify/{code}",
    "/api/v1/verify/{code}",
    "/api/v1/feedback/hook/{platform}",
    "/watch",
    "/watch/player.js",
    "/live/{file}",
];

/// Name of the bearer security scheme in the document.
pub const BEARER: &str = "bearer";

/// An `{id}` path segment.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    /// 编号 Numeric id.
    pub id: i64,
}

/// A `{date}` path segment: a broadcast day (Asia/Shanghai).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DatePath {
    /// 播出日（北京时间）Broadcast day, `YYYY-MM-DD`.
    #[param(example = "2026-09-01")]
    pub date: NaiveDate,
}

/// 错误应答 An error answer: `{"error": {"code", "message", …}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// 错误详情 The error.
    pub error: ErrorDetail,
}

/// 错误详情 What went wrong.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// 错误码 Machine-readable code.
    pub code: ErrorCode,
    /// 说明（中文）Human-readable message, in Chinese.
    pub message: String,
    /// 出错的字段（400 invalid）The field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// 字段出错的原因（400 invalid）Why the field is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// 编辑带来的新问题（422）The problems an edit would add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<serde_json::Value>>,
}

/// 错误码 The error codes, one per kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400：请求无法使用 Unusable request (bad JSON, path or query).
    BadRequest,
    /// 400：字段无效（见 field、reason）A field is invalid.
    Invalid,
    /// 401：没有或错误的凭据 No or wrong credentials.
    Unauthenticated,
    /// 403：角色无权 The role may not.
    Forbidden,
    /// 404：不存在 Not found.
    NotFound,
    /// 409：冲突（已锁定、已播出、版本不符…）Conflict (locked, aired, stale version…).
    Conflict,
    /// 413：请求体过大 Body too large.
    TooLarge,
    /// 415：不是 JSON Not a JSON body.
    UnsupportedMediaType,
    /// 422：违反编排规则（见 problems）Refused by the rundown's rules.
    RejectedByRules,
    /// 503：暂不可用（数据库、未在播出）Unavailable (database, not on air).
    Unavailable,
}

/// The whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kepu-playout API",
        version = env!("CARGO_PKG_VERSION"),
        description = "「科普之光」全国科普月展播 24/7 播出系统的 REST API：片库、节目单、编辑与播出控制、播出记录、账号。\n\n\
The REST API of the kepu-playout 24/7 playout daemon: catalog, rundown, edits and on-air \
control, as-run log, accounts. Every `/api/v1` route needs `Authorization: Bearer kp_…`; \
each operation names the roles that may call it. Errors are `{\"error\": {\"code\", \"message\", …}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        super::units, super::create_unit, super::unit, super::works, super::create_work,
        super::work, super::files, super::attach, super::reviews, super::review, super::rights,
        super::schedulable, super::set_state, super::history, super::file, super::probe,
        super::leads, super::create_lead, super::playable, super::import, super::form_preview, super::form_save,
        super::rundown::build, super::rundown::feeds, super::rundown::add_feed,
        super::rundown::day, super::rundown::versions, super::rundown::diff,
        super::rundown::validate, super::rundown::lock, super::rundown::unlock,
        super::rundown::restore, super::rundown::export,
        super::edit::history, super::edit::edit, super::edit::undo,
        super::edit::air, super::edit::cues, super::edit::skip, super::edit::live, super::edit::fault,
        super::edit::alarms, super::edit::ack, super::edit::events,
        super::preview::file, super::auth::login, super::auth::logout,
        super::certificate::list, super::certificate::one,
        super::certificate::verify_page, super::certificate::verify_json,
        super::partner::works,
        super::feedback::list_channels, super::feedback::create_channel,
        super::feedback::update_channel, super::feedback::rotate_token,
        super::feedback::post_figures, super::feedback::list_figures,
        super::feedback::upload_figures, super::feedback::pollers, super::feedback::template_csv,
        super::feedback::template_xlsx, super::feedback::live, super::feedback::events,
        super::feedback::attribution,
        super::feedback::report_xlsx, super::feedback::report_csv, super::feedback::summary_pdf,
        super::feedback::hook,
        super::feedback::work_feedback,
        super::watch::page, super::watch::player_js, super::watch::live_file,
        super::asrun::list, super::asrun::export_csv, super::asrun::scrape,
        super::auth::me, super::auth::users, super::auth::create_user, super::auth::issue_token,
        super::feeds::keys, super::feeds::create, super::feeds::revoke,
        super::feeds::feed_list, super::feeds::feed_still,
        super::feeds::feed_backup,
        super::submissions::list, super::submissions::submit, super::submissions::get_draft,
        super::submissions::put_draft, super::submissions::reminders, super::submissions::form,
        super::upload::options, super::upload::create, super::upload::offset,
        super::upload::patch, super::upload::delete, super::upload::show,
        super::recordings::list, super::recordings::register,
        openapi_json,
    ),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode, Role)),
    modifiers(&BearerScheme, &ErrorResponses, &Roles),
    security(("bearer" = [])),
    tags(
        (name = "uploads", description = "视频上传（tus 1.0，可续传）Resumable video uploads (tus 1.0)"),
        (name = "catalog", description = "片库：报送单位、作品、文件、审核、线索、导入 Catalog: units, works, files, reviews, leads, imports"),
        (name = "rundown", description = "节目单：编排、版本、差异、锁定、恢复、校验、导出 Rundown: build, versions, diffs, locks, restore, validation, exports"),
        (name = "edits", description = "节目单编辑与撤销 Edits of a day, their history, undo"),
        (name = "air", description = "播出控制：当前播出、跳过、插播直播 On air: snapshot, skip, live"),
        (name = "feeds", description = "直播推流密钥：签发（只显示一次）、列表、吊销 Ingest stream keys: issue (shown once), list, revoke"),
        (name = "asrun", description = "播出记录 The as-run log"),
        (name = "certificates", description = "活动参与证明与公开核验 Certificates of participation and their public check"),
        (name = "accounts", description = "账号与令牌 Users and API tokens"),
        (name = "feedback", description = "数据反馈：转播渠道、数据上报与回调、归因、实时曲线、报表；公开播放页 Feedback: relay channels, figures in, attribution, live curve, reports; the public player"),
        (name = "metrics", description = "开放接口（无需凭据）：监控指标与本描述 Open routes: metrics and this document"),
    ),
)]
pub struct ApiDoc;

/// The document, built once.
static DOC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    DOC.clone()
}

/// The open route serving the document (merged outside the auth guard). The path is written
/// out (not [`PATH`]) so that `tests/openapi.rs`, which reads the routes from the source, sees it.
pub fn routes() -> Router {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// 本接口描述（OpenAPI 3.1，无需凭据）This document (OpenAPI 3.1, no credentials).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "metrics", security(()),
    responses((status = 200, description = "OpenAPI 3.1 文档 The OpenAPI 3.1 document", body = Object)))]
async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOC)
}

/// Adds the bearer-token scheme.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("kp_…")
                    .description(Some(
                        "API 令牌（管理员用 POST /api/v1/users/{id}/tokens 签发）\
                         An API token `kp_…`, issued by an admin",
                    ))
                    .build(),
            ),
        );
    }
}

/// The shared error answers: (status, component name, description).
const ERRORS: [(u16, &str, &str); 8] = [
    (
        400,
        "BadRequest",
        "请求或字段无效 Bad request or invalid field (`field`, `reason`)",
    ),
    (
        401,
        "Unauthenticated",
        "没有或错误的凭据 No or wrong credentials",
    ),
    (403, "Forbidden", "角色无权 The caller's role may not"),
    (404, "NotFound", "不存在 Not found"),
    (
        409,
        "Conflict",
        "冲突：已锁定、已播出、版本不符等 Conflict: locked, aired, stale version…",
    ),
    (413, "TooLarge", "请求体过大 Body too large"),
    (
        415,
        "UnsupportedMediaType",
        "请求体须为 JSON The body must be JSON",
    ),
    (
        503,
        "Unavailable",
        "暂不可用 Unavailable (database, schedule, not on air)",
    ),
];

/// The operations of a path item, with their methods.
fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, &mut item.get),
        (Method::PUT, &mut item.put),
        (Method::POST, &mut item.post),
        (Method::DELETE, &mut item.delete),
        (Method::PATCH, &mut item.patch),
        (Method::HEAD, &mut item.head),
        (Method::OPTIONS, &mut item.options),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
    .collect()
}

/// Adds the error answers to every guarded operation (those a handler names stay).
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in ERRORS {
            components.responses.insert(
                name.to_string(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build(),
                ),
            );
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            if OPEN_PATHS.contains(&path.as_str()) {
                continue;
            }
            for (method, op) in operations(item) {
                let json_body = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.keys().any(|c| c == "application/json"));
                for (status, name, _) in ERRORS {
                    let applies = match status {
                        409 => method != Method::GET,
                        413 => op.request_body.is_some(),
                        415 => json_body,
                        _ => true,
                    };
                    if applies {
                        op.responses
                            .responses
                            .entry(status.to_string())
                            .or_insert_with(|| {
                                RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
                            });
                    }
                }
            }
        }
    }
}

/// The roles that may call `method path` (a path template), as the guard decides.
pub fn roles_for(method: &Method, path: &str) -> Vec<Role> {
    // A concrete path for the template: numeric ids (a partner's own-work check looks at them).
    let concrete: String = path
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "1"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let action = super::auth::action_for(method, &concrete);
    [Role::Admin, Role::Operator, Role::Partner]
        .into_iter()
        .filter(|r| action.is_none_or(|a| r.can(a)))
        .collect()
}

/// Names the roles that may call each guarded operation, in its description.
struct Roles;

impl Modify for Roles {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if OPEN_PATHS.contains(&path.as_str()) {
                continue;
            }
            for (method, op) in operations(item) {
                let roles = roles_for(&method, path)
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let line = format!("角色 Roles: {roles}");
                op.description = Some(match op.description.take() {
                    Some(d) if !d.is_empty() => format!("{d}\n\n{line}"),
                    _ => line,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Error;
    use axum::response::IntoResponse;
    use std::collections::HashSet;

    fn json() -> serde_json::Value {
        serde_json::to_value(document()).expect("document serializes")
    }

    #[test]
    fn is_openapi_3_1_with_info_and_bearer() {
        let v = json();
        assert!(v["openapi"].as_str().is_some_and(|s| s.starts_with("3.1")));
        assert_eq!(v["info"]["title"], "kepu-playout API");
        assert_eq!(v["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            v["components"]["securitySchemes"][BEARER]["scheme"],
            "bearer"
        );
        assert_eq!(v["security"][0][BEARER], serde_json::json!([]));
    }

    #[test]
    fn operation_ids_are_unique_and_every_operation_is_tagged() {
        let v = json();
        let mut ids = HashSet::new();
        let paths = v["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                let id = op["operationId"].as_str().expect("operationId");
                assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
                assert!(op["tags"][0].is_string(), "{method} {path} has no tag");
            }
        }
    }

    #[test]
    fn open_routes_need_no_credentials_and_guarded_ones_answer_401() {
        let v = json();
        for p in OPEN_PATHS {
            let item = v["paths"][p].as_object().expect("described");
            for (method, op) in item {
                assert_eq!(op["security"], serde_json::json!([{}]), "{method} {p}");
                if p != "/api/v1/session" {
                    assert!(op["responses"].get("401").is_none(), "{p}");
                }
            }
        }
        let me = &v["paths"]["/api/v1/me"]["get"];
        assert!(me["security"].is_null(), "global security applies");
        assert_eq!(
            me["responses"]["401"]["$ref"],
            "#/components/responses/Unauthenticated"
        );
        let edit = &v["paths"]["/api/v1/rundown/days/{date}/edits"]["post"];
        assert!(edit["responses"]["422"].is_object());
        assert!(edit["responses"]["409"].is_object());
        assert!(edit["responses"]["413"].is_object());
    }

    #[test]
    fn roles_follow_the_guard() {
        let users = roles_for(&Method::POST, "/api/v1/users");
        assert_eq!(users, vec![Role::Admin]);
        let own_work = roles_for(&Method::GET, "/api/v1/works/{id}");
        assert_eq!(own_work, vec![Role::Admin, Role::Operator, Role::Partner]);
        let files = roles_for(&Method::GET, "/api/v1/works/{id}/files");
        assert_eq!(files, vec![Role::Admin, Role::Operator]);
        let v = json();
        let d = v["paths"]["/api/v1/users"]["post"]["description"]
            .as_str()
            .expect("description");
        assert!(d.ends_with("角色 Roles: admin"), "{d}");
    }

    /// What `ApiError` answers parses as [`ErrorBody`]: the schema matches the real bodies.
    #[tokio::test]
    async fn real_error_bodies_match_the_schema() {
        use super::super::ApiError;
        use axum::http::StatusCode;
        let cases = [
            ApiError::Store(Error::not_found("作品", 7)),
            ApiError::Store(Error::invalid("date", "日期无效")),
            ApiError::Store(Error::Conflict("已锁定".into())),
            ApiError::Store(Error::Unavailable("数据库".into())),
            ApiError::Rejected(StatusCode::PAYLOAD_TOO_LARGE, "太大".into()),
            ApiError::Rejected(StatusCode::UNSUPPORTED_MEDIA_TYPE, "不是 JSON".into()),
            ApiError::Rejected(StatusCode::BAD_REQUEST, "坏".into()),
            ApiError::Unprocessable {
                message: "新问题".into(),
                details: serde_json::json!({ "problems": [{ "kind": "gap" }] }),
            },
            ApiError::Auth(crate::auth::AuthError::Unauthenticated),
            ApiError::Auth(crate::auth::AuthError::Forbidden {
                role: Role::Partner,
            }),
        ];
        let mut seen = HashSet::new();
        for e in cases {
            let resp = e.into_response();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .expect("body");
            let body: ErrorBody = serde_json::from_slice(&bytes).expect("an ErrorBody");
            assert!(
                status == 422 || ERRORS.iter().any(|(s, _, _)| *s == status),
                "status {status} is described"
            );
            seen.insert(body.error.code);
        }
        assert_eq!(seen.len(), 10, "every ErrorCode occurs");
    }
}
