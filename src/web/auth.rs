//! Who is calling the API, and may they: the [`Authenticated`] extractor (an
//! `Authorization: Bearer kp_…` API token; session cookies join here with the dashboard), the
//! [`guard`] layer that decides the [`Action`] of every route from its method and path and
//! answers 401/403 before any body is read, and the account routes (`/api/v1/me`,
//! `/api/v1/users`, tokens).
//!
//! Owns HTTP concerns of auth only; the rules are `auth::Role::can`, the storage
//! `auth::Accounts`. A refused request changes nothing: the guard runs before the handler.

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

/// Resolves a request's credentials to a caller (401 when there are none or they are wrong).
pub async fn authenticate(accounts: &Accounts, headers: &HeaderMap) -> Result<Principal, ApiError> {
    // Session cookies (dashboard) will be tried here after the bearer token.
    let Some(token) = bearer(headers) else {
        return Err(ApiError::Auth(AuthError::Unauthenticated));
    };
    accounts
        .authenticate_token(token)
        .await?
        .map_err(ApiError::Auth)
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
        let p = authenticate(&accounts, &parts.headers).await?;
        parts.extensions.insert(p.clone());
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
    if path.starts_with("/api/v1/users") {
        return Some(Action::ManageUsers);
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
    let principal = match authenticate(&accounts, req.headers()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
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

/// The account routes (admin only for users and tokens, through the guard).
pub fn routes(accounts: Accounts) -> Router {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(users).post(create_user))
        .route("/api/v1/users/{id}/tokens", post(issue_token))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .with_state(accounts)
}

async fn me(Authenticated(p): Authenticated) -> Json<Principal> {
    Json(p)
}

async fn users(State(a): State<Accounts>, auth: Authenticated) -> ApiResult<serde_json::Value> {
    auth.require(Action::ManageUsers)?;
    Ok(Json(json!(a.users().await?)))
}

async fn create_user(
    State(a): State<Accounts>,
    auth: Authenticated,
    Body(u): Body<NewUser>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    auth.require(Action::ManageUsers)?;
    Ok((StatusCode::CREATED, Json(json!(a.create_user(&u).await?))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
}

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
