//! Certificates (活动参与证明) over HTTP.
//!
//! Behind the guard ([`routes`]; operators and admins see all, a partner only its unit's):
//! - `GET /api/v1/certificates?work=ID|unit=ID`: the current certificate of each work that
//!   aired (issued or refreshed on the way; on the production pair only the leader issues,
//!   fenced — another node answers with what is issued and otherwise 503 naming the leader);
//! - `GET /api/v1/certificates/{code}` (JSON), `{code}.html` (printable A4 page) and
//!   `{code}.pdf`. Another unit's code is 404 for a partner, as an unknown one.
//!
//! Public, no credentials ([`public_routes`], merged outside the guard): `GET /verify/{code}`
//! (a small Chinese page) and `GET /api/v1/verify/{code}` (JSON `{valid, …}`), 404 for a code
//! that was not issued or whose stored certificate fails its HMAC re-check. They show the
//! certificate's own wording and nothing else (no ids, no other works, no echo of the input).

use super::auth::Authenticated;
use super::{ApiError, ApiResult};
use crate::auth::{Accounts, Action, AuthError};
use crate::certificate::{Certificate, Certificates, html, pdf};
use crate::store::Error;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// What the certificate handlers share.
#[derive(Clone)]
pub struct CertificateState {
    /// Issues and checks certificates.
    pub certificates: Certificates,
    /// For the `Authenticated` extractor.
    pub accounts: Accounts,
}

impl FromRef<CertificateState> for Accounts {
    fn from_ref(s: &CertificateState) -> Self {
        s.accounts.clone()
    }
}

/// The authenticated routes (put them behind the guard).
pub fn routes(state: CertificateState) -> Router {
    Router::new()
        .route("/api/v1/certificates", get(list))
        .route("/api/v1/certificates/{code}", get(one))
        .with_state(state)
}

/// The public verification routes (no credentials; merge them outside the guard).
pub fn public_routes(certificates: Certificates) -> Router {
    Router::new()
        .route("/verify/{code}", get(verify_page))
        .route("/api/v1/verify/{code}", get(verify_json))
        .with_state(certificates)
}

/// Inline styles only, no scripts, no framing: what the HTML pages may load.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'none'";

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    work: Option<i64>,
    #[serde(default)]
    unit: Option<i64>,
}

/// A certificate in the list and the JSON view: its payload and where to get it.
fn with_links(c: &Certificate) -> serde_json::Value {
    let base = format!("/api/v1/certificates/{}", c.code);
    let mut v = json!(c);
    if let Some(o) = v.as_object_mut() {
        o.insert("airing_count".into(), json!(c.airings.len()));
        o.insert(
            "links".into(),
            json!({
                "json": base,
                "html": format!("{base}.html"),
                "pdf": format!("{base}.pdf"),
                "verify": c.verify_path(),
            }),
        );
    }
    v
}

#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", operation_id = "certificates_list",
    params(("work" = Option<i64>, Query, description = "作品编号 Work id"),
           ("unit" = Option<i64>, Query, description = "单位编号 Unit id")),
    responses((status = 200, description = "已播作品的活动参与证明 Certificates of aired works", body = Object),
              (status = 503, description = "本节点不是主控节点，证明须由主控节点签发 Not the pair's leader: a new certificate is issued by the leader, named in the message", body = Object)))]
async fn list(
    State(s): State<CertificateState>,
    auth: Authenticated,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::ReadCertificates)?;
    let Query(mut q) = q.map_err(|r| {
        ApiError::Rejected(
            StatusCode::BAD_REQUEST,
            format!("查询参数无效（可用 work、unit）：{}", r.body_text()),
        )
    })?;
    if let Some(own) = p.unit_scope() {
        if q.unit.is_some_and(|u| u != own) {
            return Err(ApiError::Auth(AuthError::Forbidden { role: p.role }));
        }
        q.unit = Some(own);
    }
    let certs = match q.work {
        Some(work) => {
            let unit = s.certificates.unit_of(work).await?;
            // Another unit's work does not exist for a partner.
            if !p.may_see_unit(Some(unit)) {
                return Err(Error::not_found("作品", work).into());
            }
            if q.unit.is_some_and(|u| u != unit) {
                Vec::new()
            } else {
                s.certificates.for_work(work).await?.into_iter().collect()
            }
        }
        None => s.certificates.for_all(q.unit).await?,
    };
    Ok(Json(json!(
        certs.iter().map(with_links).collect::<Vec<_>>()
    )))
}

/// What `{code}`, `{code}.html` and `{code}.pdf` ask for.
enum Format {
    Json,
    Html,
    Pdf,
}

fn split(segment: &str) -> (&str, Format) {
    if let Some(code) = segment.strip_suffix(".html") {
        (code, Format::Html)
    } else if let Some(code) = segment.strip_suffix(".pdf") {
        (code, Format::Pdf)
    } else {
        (segment, Format::Json)
    }
}

#[utoipa::path(get, path = "/api/v1/certificates/{code}", tag = "certificates", operation_id = "certificate_get",
    params(("code" = String, Path, description = "验证码（可加 .html / .pdf）Code, optionally with .html or .pdf")),
    responses((status = 200, description = "证明（JSON、可打印页面或 PDF）The certificate: JSON, printable page or PDF", body = Object)))]
async fn one(
    State(s): State<CertificateState>,
    auth: Authenticated,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let p = auth.require(Action::ReadCertificates)?;
    let (code, format) = split(&segment);
    let c = match s.certificates.verify(code).await? {
        // Another unit's certificate is as unknown to a partner as a code never issued.
        Some(c) if p.may_see_unit(Some(c.unit_id)) => c,
        _ => return Err(Error::not_found("活动参与证明", "该验证码").into()),
    };
    Ok(match format {
        Format::Json => Json(with_links(&c)).into_response(),
        Format::Html => html_response(StatusCode::OK, html::certificate_page(&c)),
        Format::Pdf => {
            let code = c.code.clone();
            let bytes = tokio::task::spawn_blocking(move || pdf::render(&c))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "certificate PDF task failed");
                    Error::Unavailable("证明 PDF 生成失败".into())
                })??;
            let disposition =
                HeaderValue::from_str(&format!("inline; filename=\"certificate-{code}.pdf\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("inline"));
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/pdf"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
    })
}

#[utoipa::path(get, path = "/verify/{code}", tag = "certificates", security(()),
    params(("code" = String, Path, description = "验证码 Verification code")),
    responses((status = 200, description = "核验页面 Verification page (HTML)"),
              (status = 404, description = "验证码无效 Not a valid code")))]
async fn verify_page(State(certs): State<Certificates>, Path(code): Path<String>) -> Response {
    match certs.verify(&code).await {
        Ok(Some(c)) => html_response(StatusCode::OK, html::verify_page(Some(&c))),
        Ok(None) => html_response(StatusCode::NOT_FOUND, html::verify_page(None)),
        Err(e) => {
            tracing::error!(error = %e, "certificate verification failed");
            html_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\">\
                 <title>暂时无法验证</title><p>暂时无法验证，请稍后重试。</p></html>\n"
                    .into(),
            )
        }
    }
}

#[utoipa::path(get, path = "/api/v1/verify/{code}", tag = "certificates", security(()),
    params(("code" = String, Path, description = "验证码 Verification code")),
    responses((status = 200, description = "有效 `{valid: true, …}`", body = Object),
              (status = 404, description = "无效 `{valid: false}`", body = Object)))]
async fn verify_json(
    State(certs): State<Certificates>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    Ok(match certs.verify(&code).await? {
        Some(c) => Json(c.public()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({
                "valid": false,
                "error": { "code": "not_found", "message": "验证码无效：未找到对应的活动参与证明" },
            })),
        )
            .into_response(),
    })
}
