//! Who is calling the API, and may they: the [`Authenticated`] extractor (an
//! `Authorization: Bearer kp_…` API token; session cookies join here with the dashboard), the
//! [`guard`] layer that decides the [`Action`] of every route from its method and path and
//! answers 401/403 before any body is read, and the account routes (`/api/v1/me`,
//! `/api/v1/users`, tokens).
//!
//! Owns HTTP concerns of auth only; the rules are `auth::Role::can`, the storage
//! `auth::Accounts`. A refused request changes nothing: the guard runs before the handler.

use super::openapi::IdPath;
use super::{ApiError, ApiResult, Body, Id, JSON_LIMIT};
use crate::auth::{Accounts, Action, AuthError, NewUser, Principal};
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// An authenticated caller; `require` checks the role for an action.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl Authenticated {
    /// The caller if their role may do `action`, else 403.
    pub fn require(self, action: Action) -> Result<Principal, AuthError> {
        if self.0.role.can(action) {
            Ok(self.0)
        } else {
            Err(AuthError::Forbidden { role: self.0.role })
        }
    }
}

/// The bearer token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The name of the dashboard's session cookie.
pub const SESSION_COOKIE: &str = "kepu_session";
/// The header that carries a session's CSRF token on every change.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The CSRF token of the session a request was authenticated with (a request extension).
#[derive(Debug, Clone)]
pub struct SessionCsrf(pub String);

/// Resolves a request's credentials to a caller (401 when there are none or they are wrong):
/// a bearer token first, else the session cookie (then with the session's CSRF token).
pub async fn authenticate(
    accounts: &Accounts,
    headers: &HeaderMap,
) -> Result<(Principal, Option<SessionCsrf>), ApiError> {
    if let Some(token) = bearer(headers) {
        return accounts
            .authenticate_token(token)
            .await?
            .map(|p| (p, None))
            .map_err(ApiError::Auth);
    }
    let Some(c) = cookie(headers, SESSION_COOKIE) else {
        return Err(ApiError::Auth(AuthError::Unauthenticated));
    };
    accounts
        .authenticate_session(c)
        .await?
        .map(|s| (s.principal, Some(SessionCsrf(s.csrf))))
        .map_err(ApiError::Auth)
}

/// Constant-time equality of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A change made with a session cookie must carry the session's CSRF token.
fn csrf_ok(method: &Method, headers: &HeaderMap, csrf: Option<&SessionCsrf>) -> bool {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    match csrf {
        None => true,
        Some(_) if safe => true,
        Some(SessionCsrf(want)) => headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|got| same_token(got.trim(), want)),
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    Accounts: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Self(p.clone()));
        }
        let accounts = Accounts::from_ref(state);
        let (p, csrf) = authenticate(&accounts, &parts.headers).await?;
        if !csrf_ok(&parts.method, &parts.headers, csrf.as_ref()) {
            return Err(csrf_refused());
        }
        parts.extensions.insert(p.clone());
        if let Some(c) = csrf {
            parts.extensions.insert(c);
        }
        Ok(Self(p))
    }
}

/// What a request needs: `None` means any authenticated caller.
pub fn action_for(method: &Method, path: &str) -> Option<Action> {
    let read = method == Method::GET || method == Method::HEAD;
    let path = path.trim_end_matches('/');
    if path == "/api/v1/me" {
        return None;
    }
    if path.starts_with("/preview/") {
        return Some(Action::ReadOwnWorks);
    }
    if path.starts_with("/api/v1/users") {
        return Some(Action::ManageUsers);
    }
    // Fault drills break the programme on purpose: administrators only.
    if path == "/api/v1/air/fault" {
        return Some(Action::ManageUsers);
    }
    // Resumable video uploads (tus): partners upload to their own unit's works, scoped by
    // the handlers.
    if path == "/api/v1/uploads" || path.starts_with("/api/v1/uploads/") {
        return Some(Action::ReadOwnWorks);
    }
    // 报送: a partner lists and submits its own unit's works and keeps its draft (scoped by
    // the handlers); the reminders of due videos are for coordinators.
    if path == "/api/v1/submissions"
        || path == "/api/v1/submissions/draft"
        || path == "/api/v1/submissions/form"
    {
        return Some(Action::ReadOwnWorks);
    }
    if path.starts_with("/api/v1/partner") {
        // One unit's works with their slots, scoped by the handler.
        return Some(if read {
            Action::ReadOwnWorks
        } else {
            Action::EditRundown
        });
    }
    if path.starts_with("/api/v1/feedback") {
        // 数据反馈: a partner reads and writes its own unit's channels and figures, scoped by
        // the handlers (the webhook, authenticated by a channel token, is outside the guard).
        return Some(if read {
            Action::ReadFeedback
        } else {
            Action::WriteFeedback
        });
    }
    // A work's 数据反馈 page: a partner reads its own unit's works (the handler refuses
    // another's with 403).
    if read
        && path
            .strip_prefix("/api/v1/works/")
            .and_then(|rest| rest.strip_suffix("/feedback"))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(Action::ReadFeedback);
    }
    if path.starts_with("/api/v1/asrun") {
        return Some(if read {
            Action::ReadAsRun
        } else {
            Action::EditRundown
        });
    }
    // Certificates are read-only here and scoped to a partner's unit by their handlers (the
    // public `/verify/{code}` and `/api/v1/verify/{code}` are outside the guard).
    if path.starts_with("/api/v1/certificates") {
        return Some(if read {
            Action::ReadCertificates
        } else {
            Action::WriteCatalog
        });
    }
    if path.starts_with("/api/v1/rundown")
        || path == "/api/v1/air"
        || path.starts_with("/api/v1/air/")
    {
        return Some(if read {
            Action::ReadRundown
        } else {
            Action::EditRundown
        });
    }
    if !read {
        return Some(Action::WriteCatalog);
    }
    // The works list and one work are scoped to a partner's unit by their handlers.
    let own_works = path == "/api/v1/works"
        || path
            .strip_prefix("/api/v1/works/")
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    Some(if own_works {
        Action::ReadOwnWorks
    } else {
        Action::ReadCatalog
    })
}

/// The layer in front of every API route: authenticates, checks the role for the route's
/// action, and passes the caller to the handlers as a request extension.
pub async fn guard(State(accounts): State<Accounts>, mut req: Request, next: Next) -> Response {
    let (principal, csrf) = match authenticate(&accounts, req.headers()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if !csrf_ok(req.method(), req.headers(), csrf.as_ref()) {
        tracing::info!(user = %principal.username, path = req.uri().path(), "refused: no CSRF token");
        return csrf_refused().into_response();
    }
    if let Some(c) = csrf {
        req.extensions_mut().insert(c);
    }
    if let Some(action) = action_for(req.method(), req.uri().path())
        && !principal.role.can(action)
    {
        tracing::info!(user = %principal.username, role = %principal.role, path = req.uri().path(), "refused by role");
        return ApiError::Auth(AuthError::Forbidden {
            role: principal.role,
        })
        .into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

fn csrf_refused() -> ApiError {
    ApiError::Rejected(
        StatusCode::FORBIDDEN,
        "缺少或错误的 CSRF 令牌（X-CSRF-Token），修改未执行；请刷新页面后重试".into(),
    )
}

/// The account routes (admin only for users and tokens, through the guard).
pub fn routes(accounts: Accounts) -> Router {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(users).post(create_user))
        .route("/api/v1/users/{id}/tokens", post(issue_token))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .with_state(accounts)
}

/// 当前调用者（用户、角色、单位；会话登录时含 CSRF 令牌）The caller: user, role, unit (and
/// the CSRF token when logged in with a session).
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, description = "调用者 The caller", body = Object)))]
async fn me(
    Authenticated(p): Authenticated,
    csrf: Option<axum::Extension<SessionCsrf>>,
) -> Json<serde_json::Value> {
    let mut v = json!(p);
    if let (Some(o), Some(axum::Extension(SessionCsrf(c)))) = (v.as_object_mut(), csrf) {
        o.insert("csrf_token".into(), json!(c));
    }
    Json(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

fn session_cookie(value: &str, max_age: i64, headers: &HeaderMap) -> String {
    // Secure when the daemon is reached over TLS through a proxy; a plain-HTTP LAN setup
    // still works (HttpOnly and SameSite=Strict hold either way).
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// 登录：设置会话 Cookie（HttpOnly、SameSite=Strict），返回 CSRF 令牌 Log in: sets the session
/// cookie and returns the CSRF token every change must send as `X-CSRF-Token`.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", security(()),
    request_body = Object,
    responses((status = 200, description = "用户与 CSRF 令牌 The user and the CSRF token", body = Object),
              (status = 401, description = "用户名或口令错误 Wrong name or password", body = super::openapi::ErrorBody),
              (status = 423, description = "多次失败后账户已锁定 Locked after repeated failures", body = super::openapi::ErrorBody),
              (status = 429, description = "尝试过于频繁 Too many attempts from this address", body = super::openapi::ErrorBody)))]
async fn login(
    State(a): State<Accounts>,
    super::limits::ClientAddr(client): super::limits::ClientAddr,
    headers: HeaderMap,
    Body(l): Body<Login>,
) -> Result<Response, ApiError> {
    let p = a
        .login_from(&l.username, &l.password, &client)
        .await?
        .map_err(|e| {
            tracing::info!(user = %l.username.trim(), "login refused");
            ApiError::Auth(e)
        })?;
    let s = a.create_session(&p).await?;
    let body = json!({ "user": p, "csrf_token": s.csrf });
    Ok((
        [(
            header::SET_COOKIE,
            session_cookie(&s.cookie, s.max_age_secs, &headers),
        )],
        Json(body),
    )
        .into_response())
}

/// 退出登录 Log out (ends the session, clears the cookie).
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts", security(()),
    responses((status = 204, description = "已退出 Logged out")))]
async fn logout(State(a): State<Accounts>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(c) = cookie(&headers, SESSION_COOKIE) {
        a.end_session(c).await?;
    }
    Ok((
        [(header::SET_COOKIE, session_cookie("", 0, &headers))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

/// Login and logout (outside the guard: logging in needs no credentials yet).
pub fn session_routes(accounts: Accounts) -> Router {
    Router::new()
        .route("/api/v1/session", post(login).delete(logout))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(accounts)
}

/// 用户列表（仅管理员）List users (admin only).
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, description = "用户（不含口令散列）Users (no hashes)", body = [Object])))]
async fn users(State(a): State<Accounts>, auth: Authenticated) -> ApiResult<serde_json::Value> {
    auth.require(Action::ManageUsers)?;
    Ok(Json(json!(a.users().await?)))
}

/// 新建用户（仅管理员）Create a user (admin only).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUser,
    responses((status = 201, description = "已创建的用户 The user", body = Object)))]
async fn create_user(
    State(a): State<Accounts>,
    auth: Authenticated,
    Body(u): Body<NewUser>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    auth.require(Action::ManageUsers)?;
    Ok((StatusCode::CREATED, Json(json!(a.create_user(&u).await?))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// 令牌名称（用途）The token's name (what it is for).
    name: String,
}

/// 为用户签发 API 令牌（只显示一次，仅管理员）Issue an API token for a user (shown once; admin only).
#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", tag = "accounts", params(IdPath), request_body = NewToken,
    responses((status = 201, description = "{id, token, display, note}", body = Object)))]
async fn issue_token(
    State(a): State<Accounts>,
    auth: Authenticated,
    Id(id): Id,
    Body(t): Body<NewToken>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    auth.require(Action::ManageUsers)?;
    let t = a.issue_token(id, &t.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": t.id, "token": t.token, "display": t.display,
                     "note": "令牌只显示这一次，请妥善保存" })),
    ))
}
