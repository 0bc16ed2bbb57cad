//! The rundown part of the REST API under `/api/v1/rundown/`: slow-live feeds, a day's
//! current version, its versions, diffs between versions, build/rebuild from the catalog,
//! lock/unlock, restore, validation and the exports (JSON, CSV, XMLTV, HTML and the engine's day file as TOML).
//!
//! Owns HTTP concerns only (paths, queries, bodies, content types); the work is done by
//! `rundown_db::ops`, and errors go through the one mapping in `web` (400 naming the field,
//! 404, 409, 503), never a raw database error.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::openapi::DatePath;
use super::{ApiError, ApiResult, Body};
use crate::catalog::Catalog;
use crate::rundown::export::{ListOptions, engine_day_file, to_csv, to_json};
use crate::rundown::mix::{day_mix, mix_warnings};
use crate::rundown::store::Lock;
use crate::rundown::{CompiledSchedule, html, xmltv};
use crate::rundown_db::source::{self, NewFeed};
use crate::rundown_db::{DbDayStore, ops};
use crate::store::Error;
use axum::Json;

/// What the rundown handlers share.
#[derive(Clone)]
pub struct RundownState {
    catalog: Catalog,
    days: DbDayStore,
    schedule: Result<Arc<CompiledSchedule>, String>,
}

impl RundownState {
    /// The rundown over `catalog`'s database, with the `[schedule]` of its edition.
    pub fn new(catalog: Catalog) -> Self {
        let schedule = ops::schedule_of(catalog.edition())
            .map(Arc::new)
            .map_err(|e| e.to_string());
        Self {
            days: DbDayStore::new(catalog.store().clone()),
            catalog,
            schedule,
        }
    }

    fn schedule(&self) -> Result<Arc<CompiledSchedule>, Error> {
        self.schedule.clone().map_err(|m| {
            tracing::error!(error = %m, "edition has no usable [schedule]");
            Error::Unavailable(format!("排播配置不可用：{m}"))
        })
    }
}

/// The rundown routes (already given their state).
pub fn routes(state: RundownState) -> Router {
    Router::new()
        .route("/api/v1/rundown/build", post(build))
        .route("/api/v1/rundown/feeds", get(feeds).post(add_feed))
        .route("/api/v1/rundown/days/{date}", get(day))
        .route("/api/v1/rundown/days/{date}/versions", get(versions))
        .route("/api/v1/rundown/days/{date}/diff", get(diff))
        .route("/api/v1/rundown/days/{date}/validate", get(validate))
        .route("/api/v1/rundown/days/{date}/lock", post(lock))
        .route("/api/v1/rundown/days/{date}/unlock", post(unlock))
        .route(
            "/api/v1/rundown/days/{date}/restore/{version}",
            post(restore),
        )
        .route("/api/v1/rundown/days/{date}/{file}", get(export))
        .with_state(state)
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, Error> {
    s.trim()
        .parse()
        .map_err(|_| Error::invalid(field, format!("日期「{s}」无效，应写成 2026-09-01")))
}

fn parse_version(field: &str, s: &str) -> Result<u32, Error> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| Error::invalid(field, format!("版本号「{s}」无效，应为从 1 起的整数")))
}

/// 某日当前节目单（版本、锁定）A day's current rundown, with its version and lock.
#[utoipa::path(get, path = "/api/v1/rundown/days/{date}", tag = "rundown", params(DatePath),
    responses((status = 200, description = "{version, lock, day, mix, warnings}: mix = frames of premieres, replays, live, events, filler and slate for the day and per block; warnings past the edition's slate/filler limits", body = Object)))]
async fn day(
    State(s): State<RundownState>,
    Path(date): Path<String>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date("date", &date)?;
    let (meta, day) = ops::current(&s.days, date).await?;
    let lock = s.days.lock_async(date).await.map_err(Error::from)?;
    let mix = day_mix(&day);
    // Without a usable [schedule] the day still shows; only the limits' warnings are missing.
    let warnings = s
        .schedule
        .as_ref()
        .map(|cs| mix_warnings(cs, date, &mix))
        .unwrap_or_default();
    Ok(Json(
        json!({ "version": meta, "lock": lock, "day": day, "mix": mix, "warnings": warnings }),
    ))
}

/// 某日的全部版本 A day's versions.
#[utoipa::path(get, path = "/api/v1/rundown/days/{date}/versions", tag = "rundown", params(DatePath),
    responses((status = 200, description = "{date, current, lock, versions}", body = Object)))]
async fn versions(
    State(s): State<RundownState>,
    Path(date): Path<String>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date("date", &date)?;
    let (current, _) = ops::current(&s.days, date).await?;
    let versions = s.days.versions_async(date).await.map_err(Error::from)?;
    let lock = s.days.lock_async(date).await.map_err(Error::from)?;
    Ok(Json(json!({
        "date": date, "current": current.version, "lock": lock, "versions": versions,
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DiffQuery {
    /// 起始版本（默认上一版）From version (default: the previous one).
    #[param(value_type = Option<u32>, minimum = 1)]
    from: Option<String>,
    /// 目标版本（默认当前版）To version (default: the current one).
    #[param(value_type = Option<u32>, minimum = 1)]
    to: Option<String>,
}

/// 两个版本之间的差异（默认：上一版对当前版）Changes between two versions (default: previous against current).
#[utoipa::path(get, path = "/api/v1/rundown/days/{date}/diff", tag = "rundown", params(DatePath, DiffQuery),
    responses((status = 200, description = "{date, from, to, changes}", body = Object)))]
async fn diff(
    State(s): State<RundownState>,
    Path(date): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date("date", &date)?;
    let from = q
        .from
        .as_deref()
        .map(|v| parse_version("from", v))
        .transpose()?;
    let to =
        q.to.as_deref()
            .map(|v| parse_version("to", v))
            .transpose()?;
    let (from, to, changes) = ops::diff(&s.days, date, from, to).await?;
    Ok(Json(
        json!({ "date": date, "from": from, "to": to, "changes": changes }),
    ))
}

/// 慢直播信号列表 List the slow-live feeds.
#[utoipa::path(get, path = "/api/v1/rundown/feeds", tag = "rundown",
    responses((status = 200, description = "慢直播信号 Feeds", body = [Object])))]
async fn feeds(State(s): State<RundownState>) -> ApiResult<serde_json::Value> {
    // Locators may carry secrets (an SRT passphrase, a pull URL's key): masked here.
    let mut feeds = source::feeds(&s.catalog).await?;
    for f in &mut feeds {
        f.url = playout::output::mask::mask_url(&f.url);
    }
    Ok(Json(json!(feeds)))
}

/// 添加慢直播信号 Add a slow-live feed.
#[utoipa::path(post, path = "/api/v1/rundown/feeds", tag = "rundown", request_body = NewFeed,
    responses((status = 201, description = "已添加的信号 The feed", body = Object)))]
async fn add_feed(
    State(s): State<RundownState>,
    Body(f): Body<NewFeed>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let mut feed = source::add_feed(&s.catalog, &f).await?;
    feed.url = playout::output::mask::mask_url(&feed.url);
    Ok((StatusCode::CREATED, Json(json!(feed))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BuildBody {
    /// Rebuild from this date on (default: the first day).
    #[serde(default)]
    #[schema(format = Date)]
    from: Option<String>,
    /// Now, RFC 3339 (default: the system clock): days up to the one on air stay.
    #[serde(default)]
    #[schema(format = DateTime)]
    now: Option<String>,
    /// Who.
    author: String,
    /// Why.
    reason: String,
}

/// 从片库编排（重排）节目单；已播和正在播的日子不变 Build or rebuild the rundown from the catalog; days up to the one on air stay.
#[utoipa::path(post, path = "/api/v1/rundown/build", tag = "rundown", request_body = BuildBody,
    responses((status = 200, description = "编排结果 Build report", body = Object)))]
async fn build(
    State(s): State<RundownState>,
    Body(b): Body<BuildBody>,
) -> ApiResult<serde_json::Value> {
    let from = b
        .from
        .as_deref()
        .map(|v| parse_date("from", v))
        .transpose()?;
    let now = match b.now.as_deref() {
        Some(v) => v.parse::<DateTime<Utc>>().map_err(|_| {
            Error::invalid(
                "now",
                format!("时间「{v}」无效，应为 RFC 3339，如 2026-09-15T12:00:00+08:00"),
            )
        })?,
        None => Utc::now(),
    };
    if b.reason.trim().is_empty() {
        return Err(Error::invalid("reason", "须写明编排原因").into());
    }
    let cs = s.schedule()?;
    let out = ops::build(
        &s.catalog,
        &s.days,
        cs,
        from,
        now,
        b.author.trim(),
        b.reason.trim(),
    )
    .await?;
    Ok(Json(json!(out)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LockBody {
    /// 锁定人 Who locks.
    by: String,
    /// 原因 Why.
    #[serde(default)]
    reason: String,
}

/// 锁定某日节目单 Lock a day.
#[utoipa::path(post, path = "/api/v1/rundown/days/{date}/lock", tag = "rundown", params(DatePath), request_body = LockBody,
    responses((status = 200, description = "{date, lock}", body = Object)))]
async fn lock(
    State(s): State<RundownState>,
    Path(date): Path<String>,
    Body(b): Body<LockBody>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date("date", &date)?;
    let l = Lock {
        by: b.by.trim().to_string(),
        at: Utc::now(),
        reason: b.reason,
    };
    let l = ops::lock(&s.days, date, l).await?;
    Ok(Json(json!({ "date": date, "lock": l })))
}

/// 解锁某日节目单 Unlock a day.
#[utoipa::path(post, path = "/api/v1/rundown/days/{date}/unlock", tag = "rundown", params(DatePath),
    responses((status = 200, description = "{date, lock: null}", body = Object)))]
async fn unlock(
    State(s): State<RundownState>,
    Path(date): Path<String>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date("date", &date)?;
    ops::unlock(&s.days, date).await?;
    Ok(Json(json!({ "date": date, "lock": null })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    /// 操作人 Who restores.
    by: String,
}

/// 恢复某日的旧版本（存为新版本）Restore an earlier version of a day (saved as a new version).
#[utoipa::path(post, path = "/api/v1/rundown/days/{date}/restore/{version}", tag = "rundown",
    params(DatePath, ("version" = u32, Path, description = "要恢复的版本号（从 1 起）Version to restore, from 1", minimum = 1)),
    request_body = RestoreBody,
    responses((status = 200, description = "{date, restored, version}", body = Object)))]
async fn restore(
    State(s): State<RundownState>,
    Path((date, version)): Path<(String, String)>,
    Body(b): Body<RestoreBody>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date("date", &date)?;
    let v = parse_version("version", &version)?;
    let meta = ops::restore(&s.days, date, v, b.by.trim(), Utc::now()).await?;
    Ok(Json(
        json!({ "date": date, "restored": v, "version": meta }),
    ))
}

/// 按编排规则校验某日 Validate a day against the rundown's rules.
#[utoipa::path(get, path = "/api/v1/rundown/days/{date}/validate", tag = "rundown", params(DatePath),
    responses((status = 200, description = "{date, version, ok, problems}", body = Object)))]
async fn validate(
    State(s): State<RundownState>,
    Path(date): Path<String>,
) -> ApiResult<serde_json::Value> {
    let date = parse_date("date", &date)?;
    let cs = s.schedule()?;
    let (meta, problems) = ops::validate(&s.catalog, &s.days, &cs, date).await?;
    Ok(Json(json!({
        "date": date, "version": meta.version, "ok": problems.is_empty(), "problems": problems,
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// 含垫片 Include filler items.
    #[serde(default)]
    with_filler: bool,
}

/// 导出某日节目单：export.json、export.csv、export.xmltv、export.html、export.toml（播出引擎日文件）Export a day.
#[utoipa::path(get, path = "/api/v1/rundown/days/{date}/{file}", tag = "rundown",
    params(DatePath,
        ("file" = String, Path, description = "导出文件名 Export file name",
            example = "export.csv",
            pattern = "^export\\.(json|csv|xmltv|html|toml)$"),
        ExportQuery),
    responses((status = 200, description = "导出内容 The export", content(
        (Object = "application/json"),
        (String = "text/csv"),
        (String = "application/xml"),
        (String = "text/html"),
        (String = "application/toml"),
    ))))]
async fn export(
    State(s): State<RundownState>,
    Path((date, file)): Path<(String, String)>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let Some(format) = file.strip_prefix("export.") else {
        return Err(Error::not_found("接口", file).into());
    };
    let date = parse_date("date", &date)?;
    let (_, day) = ops::current(&s.days, date).await?;
    let refs = [&day];
    let opts = ListOptions {
        include_filler: q.with_filler,
    };
    let (ctype, body): (&str, Vec<u8>) = match format {
        "json" => ("application/json", to_json(&refs, opts).into_bytes()),
        "csv" => ("text/csv; charset=utf-8", to_csv(&refs, opts)),
        "xmltv" => {
            let (cid, cname) = match &s.schedule {
                Ok(cs) => (cs.config.channel_id.clone(), cs.config.channel_name.clone()),
                Err(_) => ("kepu.kepuchina.cn".into(), "科普之光".into()),
            };
            (
                "application/xml; charset=utf-8",
                xmltv::to_xmltv(&refs, &cid, &cname, opts).into_bytes(),
            )
        }
        "html" => (
            "text/html; charset=utf-8",
            html::to_html(&refs, "「科普之光」全国科普月大型网络展播", opts).into_bytes(),
        ),
        "toml" => (
            "application/toml; charset=utf-8",
            engine_day_file(&day).into_bytes(),
        ),
        other => {
            return Err(Error::invalid(
                "format",
                format!("不支持的导出格式「{other}」，可用 json、csv、xmltv、html、toml"),
            )
            .into());
        }
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, ctype)], body).into_response())
}
