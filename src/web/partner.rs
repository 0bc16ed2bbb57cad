//! The partner view of the API: `GET /api/v1/partner/works` lists one unit's works with
//! when each aired (the as-run log) and when it will air (the items of the stored days that
//! have not ended yet). A partner always gets its own unit (asking for another is 403); an
//! operator or admin names the unit with `?unit=`. Read-only: no route here changes anything.
//!
//! HTTP only: the data comes from the catalog, `asrun::AsRunLog` and the stored days.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::Authenticated;
use super::{ApiError, ApiResult};
use crate::asrun::{AsRunLog, AsRunQuery};
use crate::auth::{Accounts, Action, AuthError};
use crate::catalog::Catalog;
use crate::rundown_db::DbDayStore;
use crate::store::Error;

/// What the partner handlers share.
#[derive(Clone)]
pub struct PartnerState {
    /// Works and units.
    pub catalog: Catalog,
    /// What aired.
    pub asrun: AsRunLog,
    /// The stored days (what will air).
    pub days: DbDayStore,
    /// The on-air controller, for the programme clock (rehearsals run it off the wall clock).
    pub air: Option<crate::air::AirHandle>,
    /// For the `Authenticated` extractor.
    pub accounts: Accounts,
}

impl FromRef<PartnerState> for Accounts {
    fn from_ref(s: &PartnerState) -> Self {
        s.accounts.clone()
    }
}

impl PartnerState {
    fn now(&self) -> DateTime<Utc> {
        match &self.air {
            Some(a) => a.clock().now(),
            None => Utc::now(),
        }
    }
}

/// The routes (already given their state).
pub fn routes(state: PartnerState) -> Router {
    Router::new()
        .route("/api/v1/partner/works", get(works))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitQuery {
    #[serde(default)]
    unit: Option<i64>,
}

/// One airing of a work, as the partner sees it.
#[derive(Serialize)]
struct Aired {
    first_frame_ms: i64,
    last_frame_ms: Option<i64>,
    frames: Option<i64>,
    end_reason: Option<String>,
    air_day: String,
}

/// One slot of a work in a stored day that has not ended yet.
#[derive(Serialize)]
struct Upcoming {
    date: chrono::NaiveDate,
    start: DateTime<Utc>,
    frames: u64,
    duration_ms: i64,
    section: String,
}

#[derive(Serialize)]
struct WorkSlots {
    id: i64,
    title: String,
    state: String,
    state_label: &'static str,
    aired: Vec<Aired>,
    upcoming: Vec<Upcoming>,
}

/// 合作单位的作品：何时播出、何时将播 A unit's works: when each aired and will air
/// (a partner gets its own unit; an operator passes `?unit=`).
#[utoipa::path(get, path = "/api/v1/partner/works", tag = "asrun", operation_id = "partner_works",
    params(("unit" = Option<i64>, Query, description = "单位编号（运营人员必填）Unit id (operators)")),
    responses((status = 200, description = "作品与播出 Works with airings", body = Object)))]
async fn works(
    State(s): State<PartnerState>,
    auth: Authenticated,
    q: Result<Query<UnitQuery>, QueryRejection>,
) -> ApiResult<serde_json::Value> {
    let p = auth.require(Action::ReadOwnWorks)?;
    let Query(q) = q.map_err(|r| {
        ApiError::Rejected(
            StatusCode::BAD_REQUEST,
            format!("查询参数无效（可用 unit）：{}", r.body_text()),
        )
    })?;
    let unit = match (p.unit_scope(), q.unit) {
        (Some(own), Some(u)) if u != own => {
            return Err(ApiError::Auth(AuthError::Forbidden { role: p.role }));
        }
        (Some(own), _) => own,
        (None, Some(u)) => u,
        (None, None) => {
            return Err(Error::invalid("unit", "须指定合作单位编号（?unit=）").into());
        }
    };
    let unit_row = s.catalog.unit(unit).await?;
    let mut by_id: BTreeMap<i64, WorkSlots> = s
        .catalog
        .works(None)
        .await?
        .into_iter()
        .filter(|w| w.unit_id == unit)
        .map(|w| {
            (
                w.id,
                WorkSlots {
                    id: w.id,
                    title: w.title,
                    state: w.state,
                    state_label: w.state_label,
                    aired: Vec::new(),
                    upcoming: Vec::new(),
                },
            )
        })
        .collect();
    let rows = s
        .asrun
        .query(&AsRunQuery {
            unit: Some(unit),
            ..AsRunQuery::default()
        })
        .await?;
    for r in rows {
        if let Some(w) = r.work_id.and_then(|id| by_id.get_mut(&id)) {
            w.aired.push(Aired {
                first_frame_ms: r.first_frame_ms,
                last_frame_ms: r.last_frame_ms,
                frames: r.frames,
                end_reason: r.end_reason,
                air_day: r.air_day,
            });
        }
    }
    let now = s.now();
    let days = s.days.latest_days_async().await.map_err(Error::from)?;
    for (date, day) in days {
        for it in &day.items {
            let end = day.rate.add(it.start, it.frames);
            if end <= now {
                continue;
            }
            if let Some(w) = it.work_id.and_then(|id| by_id.get_mut(&id)) {
                w.upcoming.push(Upcoming {
                    date,
                    start: it.start,
                    frames: it.frames,
                    duration_ms: day.rate.ms_of(it.frames),
                    section: it.section.clone(),
                });
            }
        }
    }
    Ok(Json(json!({
        "unit": { "id": unit_row.id, "name": unit_row.name },
        "now": now,
        "works": by_id.into_values().collect::<Vec<_>>(),
    })))
}
