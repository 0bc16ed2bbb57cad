//! The as-run log over HTTP: `GET /api/v1/asrun?day=&work=&unit=` (JSON) and
//! `GET /api/v1/asrun.csv` (the same rows as CSV for Excel). A partner sees only its own
//! unit's airings; asking for another unit is 403. The metrics scrape (`GET /metrics`) lives
//! here too, as the other read-only view of what went on air.

use super::auth::Authenticated;
use super::{ApiError, ApiResult};
use crate::asrun::{Airing, AsRunLog, AsRunQuery, csv};
use crate::auth::{Accounts, Action, AuthError};
use crate::catalog::Catalog;
use crate::metrics::{CONTENT_TYPE, Metrics};
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;

/// What the as-run handlers share.
#[derive(Clone)]
pub struct AsRunState {
    /// The log.
    pub log: AsRunLog,
    /// For unit names in the CSV.
    pub catalog: Catalog,
    /// For the `Authenticated` extractor.
    pub accounts: Accounts,
}

impl FromRef<AsRunState> for Accounts {
    fn from_ref(s: &AsRunState) -> Self {
        s.accounts.clone()
    }
}

/// The as-run routes.
pub fn routes(state: AsRunState) -> Router {
    Router::new()
        .route("/api/v1/asrun", get(list))
        .route("/api/v1/asrun.csv", get(export_csv))
        .with_state(state)
}

/// The metrics scrape route (no credentials: the series carry no names, URLs or keys).
pub fn metrics_routes(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

/// Prometheus 指标（无需凭据）Prometheus metrics (no credentials).
#[utoipa::path(get, path = "/metrics", tag = "metrics", security(()),
    responses((status = 200, description = "Prometheus 文本格式 Prometheus text format", content_type = "text/plain; version=0.0.4", body = String)))]
async fn scrape(State(m): State<Metrics>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], m.render()).into_response()
}

/// The query, scoped to the caller's unit (403 for another unit).
fn scoped(
    auth: Authenticated,
    q: Result<Query<AsRunQuery>, QueryRejection>,
) -> Result<AsRunQuery, ApiError> {
    let p = auth.require(Action::ReadAsRun)?;
    let Query(mut q) = q.map_err(|r| {
        ApiError::Rejected(
            StatusCode::BAD_REQUEST,
            format!("查询参数无效（可用 day、work、unit）：{}", r.body_text()),
        )
    })?;
    if let Some(own) = p.unit_scope() {
        if q.unit.is_some_and(|u| u != own) {
            return Err(ApiError::Auth(AuthError::Forbidden { role: p.role }));
        }
        q.unit = Some(own);
    }
    Ok(q)
}

/// 播出记录（合作方只见本单位）The as-run log (a partner sees its own unit's).
#[utoipa::path(get, path = "/api/v1/asrun", tag = "asrun", params(AsRunQuery),
    responses((status = 200, description = "播出记录 Airings", body = [Airing])))]
async fn list(
    State(s): State<AsRunState>,
    auth: Authenticated,
    q: Result<Query<AsRunQuery>, QueryRejection>,
) -> ApiResult<serde_json::Value> {
    let q = scoped(auth, q)?;
    Ok(Json(json!(s.log.query(&q).await?)))
}

/// 播出记录 CSV（供 Excel）The as-run log as CSV (for Excel).
#[utoipa::path(get, path = "/api/v1/asrun.csv", tag = "asrun", params(AsRunQuery),
    responses((status = 200, description = "CSV，UTF-8", content_type = "text/csv", body = String)))]
async fn export_csv(
    State(s): State<AsRunState>,
    auth: Authenticated,
    q: Result<Query<AsRunQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = scoped(auth, q)?;
    let rows = s.log.query(&q).await?;
    let units: HashMap<i64, String> = s
        .catalog
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let name = format!(
        "attachment; filename=\"asrun-{}.csv\"",
        q.day.as_deref().unwrap_or("all")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv::to_csv(&rows, &units),
    )
        .into_response())
}
