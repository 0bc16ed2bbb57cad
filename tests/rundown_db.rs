//! The rundown from and into the database, as users will notice it: a catalog seeded through
//! the catalog's own functions (units, works, files with probe results, reviews, rights) on a
//! fresh SQLite file migrated by the real migrations builds 30 days of exactly 2,160,000
//! frames, each saved as version 1 with who and why; a rebuild from Sep 16 after late works
//! arrive leaves Sep 1–15 and a locked Sep 20 byte-identical *in the database*; versions
//! diff and restore; and the REST API answers 400/404/409 naming the field.

mod catalog_common;
mod rundown_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use catalog_common::fresh;
use chrono::NaiveDate;
use http_body_util::BodyExt;
use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::rundown::export::{engine_frames, parse_engine_day_file};
use kepu_playout::rundown::store::Lock;
use kepu_playout::rundown::{FrameRate, ItemKind, demo};
use kepu_playout::rundown_db::{DbDayStore, ops};
use kepu_playout::store::Error;
use kepu_playout::web::{AppState, router};
use rundown_common::{seed, seed_feeds, t};
use serde_json::{Value, json};
use tower::ServiceExt;

const DAY: u64 = 2_160_000;

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, day).expect("valid date")
}

/// What the database holds for each day: (current version, canonical JSON).
async fn raw_days(c: &Catalog) -> BTreeMap<String, (i64, String)> {
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT d.date, d.current_version, v.day_json FROM rundown_days d \
         JOIN rundown_day_versions v ON v.date = d.date AND v.version = d.current_version",
    )
    .fetch_all(c.store().pool())
    .await
    .expect("raw rows");
    rows.into_iter().map(|(d, v, j)| (d, (v, j))).collect()
}

#[tokio::test]
async fn month_from_the_catalog_rebuilt_with_late_works_restored() {
    let (_dir, cat) = fresh(2026).await;
    seed(&cat, &demo::catalog(7, 200), "2026-07-01").await;
    seed_feeds(&cat).await;
    let days = DbDayStore::new(cat.store().clone());
    let cs = Arc::new(ops::schedule_of(cat.edition()).expect("edition has [schedule]"));

    let first = ops::build(
        &cat,
        &days,
        cs.clone(),
        None,
        t("2026-08-20T09:00:00+08:00"),
        "编排员甲",
        "首次编排",
    )
    .await
    .expect("build");
    assert_eq!(first.saved.len(), 30);
    assert!(
        !first.report.excluded.is_empty(),
        "unselected works are reported"
    );
    let stored = days.latest_days_async().await.expect("latest");
    assert_eq!(stored.len(), 30);
    for (date, day) in &stored {
        assert_eq!(day.frames(), DAY, "{date}");
        let sum: u64 = day.items.iter().map(|i| i.frames).sum();
        assert_eq!(sum, DAY, "{date}: items add up to 24 h at the frame");
        assert!(
            day.items.iter().any(|i| i.kind == ItemKind::Live),
            "{date}: feeds placed"
        );
        let v = days.versions_async(*date).await.expect("versions");
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].author.as_str(), v[0].reason.as_str()),
            ("编排员甲", "首次编排")
        );
        assert_eq!(v[0].at, t("2026-08-20T09:00:00+08:00"));
    }
    let (_, problems) = ops::validate(&cat, &days, &cs, d(1))
        .await
        .expect("validate");
    assert!(problems.is_empty(), "{problems:?}");

    // The same inputs again: no day changes, so no version is written.
    let again = ops::build(
        &cat,
        &days,
        cs.clone(),
        None,
        t("2026-08-20T10:00:00+08:00"),
        "编排员乙",
        "重跑",
    )
    .await
    .expect("rebuild");
    assert!(
        again.saved.iter().all(|(_, v)| *v == 1),
        "{:?}",
        again.saved
    );

    // Lock Sep 20, then late works arrive and the rest of the month is rebuilt from Sep 16.
    let lock = Lock {
        by: "值班长".into(),
        at: t("2026-09-10T08:00:00+08:00"),
        reason: "特别节目已确认".into(),
    };
    ops::lock(&days, d(20), lock.clone()).await.expect("lock");
    assert!(matches!(
        ops::lock(&days, d(20), lock).await,
        Err(Error::Conflict(m)) if m.contains("值班长")
    ));
    let before = raw_days(&cat).await;
    let late_ids = seed(&cat, &demo::works(11, 5001, 25, None), "2026-09-14").await;
    let late = ops::build(
        &cat,
        &days,
        cs.clone(),
        Some(d(16)),
        t("2026-09-15T12:00:00+08:00"),
        "编排员甲",
        "补充晚到作品",
    )
    .await
    .expect("late rebuild");
    let after = raw_days(&cat).await;
    for day in (1..=15).chain([20]) {
        let k = d(day).to_string();
        assert_eq!(
            before[&k], after[&k],
            "{k} is byte-identical in the database"
        );
    }
    let changed: Vec<&String> = after
        .iter()
        .filter(|(k, (v, _))| *v == 2 && k.as_str() >= "2026-09-16")
        .map(|(k, _)| k)
        .collect();
    assert!(!changed.is_empty(), "{:?}", late.saved);
    let latest = days.latest_days_async().await.expect("latest");
    let mut late_aired = 0;
    for (date, day) in &latest {
        assert_eq!(day.frames(), DAY);
        for it in &day.items {
            if it.work_id.is_some_and(|id| late_ids.contains(&id)) {
                assert!(*date >= d(16), "late work on {date}");
                late_aired += 1;
            }
        }
    }
    assert!(late_aired > 0, "late works air after the rebuild");

    // Diff and restore a rebuilt day.
    let day16 = d(16);
    let (from, to, lines) = ops::diff(&days, day16, None, None).await.expect("diff");
    assert_eq!((from, to), (1, 2));
    assert!(!lines.is_empty());
    let v3 = ops::restore(&days, day16, 1, "值班长", t("2026-09-15T13:00:00+08:00"))
        .await
        .expect("restore");
    assert_eq!((v3.version, v3.reason.as_str()), (3, "恢复第 1 版"));
    let (_, v1) = ops::version(&days, day16, 1).await.expect("v1");
    let (_, cur) = ops::current(&days, day16).await.expect("current");
    assert_eq!(cur.to_canonical_json(), v1.to_canonical_json());
    assert!(matches!(
        ops::restore(&days, d(20), 1, "值班长", t("2026-09-15T13:00:00+08:00")).await,
        Err(Error::Conflict(m)) if m.contains("锁定")
    ));
    assert!(matches!(
        ops::restore(&days, day16, 9, "值班长", t("2026-09-15T13:00:00+08:00")).await,
        Err(Error::NotFound { .. })
    ));
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (s, _, bytes) = call_raw(app, method, uri, body).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (s, v)
}

async fn call_raw(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, String, Vec<u8>) {
    let req = Request::builder().method(method).uri(uri);
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ctype, bytes.to_vec())
}

fn field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_rundown_over_http() {
    let (_dir, cat) = fresh(2026).await;
    seed(&cat, &demo::catalog(3, 120), "2026-07-01").await;
    let app = router(AppState {
        catalog: cat.clone(),
        probe: ProbeOptions::default(),
    });
    let base = "/api/v1/rundown";

    let (s, v) = call(&app, "GET", &format!("{base}/days/2026-09-01"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Slow-live feeds: 400 naming the field, 201, then listed.
    let unit = cat.units().await.expect("units")[0].id;
    let feed = |url: &str| {
        json!({ "title": "兴隆观测站·星空慢直播", "url": url, "unit_id": unit,
                "window": { "kind": "daily", "start": "00:00", "end": "03:00" } })
    };
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/feeds"),
        Some(feed("ftp://x")),
    )
    .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "url"), "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/feeds"),
        Some(feed("rtsp://cam.example.invalid/x")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/feeds"),
        Some(feed("rtsp://cam.example.invalid/x")),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = call(&app, "GET", &format!("{base}/feeds"), None).await;
    assert_eq!(
        (s, v.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1)),
        "{v}"
    );
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/build"),
        Some(json!({ "author": "api", "reason": "首次编排", "from": "2026-13-01" })),
    )
    .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "from"), "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/build"),
        Some(json!({ "author": "api", "reason": "首次编排", "now": "昨天" })),
    )
    .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "now"), "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/build"),
        Some(json!({ "author": "api", "reason": "首次编排", "now": "2026-08-20T09:00:00+08:00" })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["saved"].as_array().map(Vec::len), Some(30));
    // The build answer says what each day is made of and warns, naming day and block, when a
    // day carries more than the edition's 10 minutes of slate (120 works cannot fill a month).
    let mix = &v["report"]["mix"]["2026-09-20"];
    let kinds = [
        "premiere_frames",
        "replay_frames",
        "live_frames",
        "event_frames",
        "filler_frames",
        "slate_frames",
    ];
    let sum: u64 = kinds.iter().filter_map(|k| mix[*k].as_u64()).sum();
    assert_eq!(sum, 2_160_000, "{mix}");
    let slate = mix["slate_frames"].as_u64().expect("slate_frames");
    assert!(slate > 10 * 60 * 25, "a thin catalog leaves slate: {mix}");
    let warned = v["report"]["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .find(|w| w.starts_with("2026-09-20 等待画面共"))
        .unwrap_or_else(|| panic!("no slate warning for 09-20: {}", v["report"]["warnings"]))
        .to_string();
    let block = mix["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .find(|b| b["slate_frames"].as_u64().unwrap_or(0) > 0)
        .expect("a block with slate");
    assert!(
        warned.contains(block["block"].as_str().expect("label")),
        "{warned} names {block}"
    );
    let build_warnings: Vec<String> = v["report"]["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w.as_str().map(String::from))
        .collect();

    let (s, v) = call(&app, "GET", &format!("{base}/days/2026-09-03"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["version"]["version"], 1);
    assert_eq!(v["version"]["author"], "api");
    assert_eq!(v["day"]["date"], "2026-09-03");
    // The day view's figures: what the day is made of, and the same warnings as the build.
    let sum: u64 = kinds.iter().filter_map(|k| v["mix"][*k].as_u64()).sum();
    assert_eq!(sum, 2_160_000, "{}", v["mix"]);
    // (09-20, where the thin catalog runs out, carries the slate warning; 09-03 none since
    // the ends of the blocks are packed.)
    let (s, v20) = call(&app, "GET", &format!("{base}/days/2026-09-20"), None).await;
    assert_eq!(s, StatusCode::OK);
    let day_warnings: Vec<&str> = v20["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !day_warnings.is_empty()
            && day_warnings
                .iter()
                .all(|w| w.starts_with("2026-09-20 ") && build_warnings.contains(&w.to_string())),
        "{day_warnings:?}"
    );
    let (s, v) = call(&app, "GET", &format!("{base}/days/2026-09-31"), None).await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "date"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2026-09-31"))
    );

    // A hand edit saved as version 2, then versions and diff.
    let days = DbDayStore::new(cat.store().clone());
    let (_, mut day) = ops::current(&days, d(3)).await.expect("day");
    day.items.remove(1);
    days.save_async(&day, "编辑", "删一条", t("2026-08-21T09:00:00+08:00"))
        .await
        .expect("save");
    let (s, v) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-03/versions"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["current"], 2);
    assert_eq!(v["versions"][1]["reason"], "删一条");
    let (s, v) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-03/diff?from=1&to=2"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["changes"].as_array().is_some_and(|c| !c.is_empty()),
        "{v}"
    );
    let (s, v) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-03/diff?from=x"),
        None,
    )
    .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "from"), "{v}");
    let (s, v) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-03/diff?to=7"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Restore: unknown version 404, bad version 400, good one makes version 3.
    let by = Some(json!({ "by": "值班长" }));
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/restore/9"),
        by.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/restore/abc"),
        by.clone(),
    )
    .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "version"), "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/restore/1"),
        by.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"]["version"], 3);

    // Locks: 409 on a second lock and on restoring a locked day; unlock frees it.
    let lock = Some(json!({ "by": "值班长", "reason": "已审定" }));
    let (s, _) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/lock"),
        lock.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/lock"),
        lock.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/restore/2"),
        by.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-10-05/lock"),
        lock.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/lock"),
        Some(json!({ "who": "x" })),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/unlock"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(
        &app,
        "POST",
        &format!("{base}/days/2026-09-03/restore/2"),
        by,
    )
    .await;
    assert_eq!(
        (s, &v["version"]["version"]),
        (StatusCode::OK, &json!(4)),
        "{v}"
    );

    // Validation and exports.
    let (s, v) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-04/validate"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    let (s, ct, csv) = call_raw(
        &app,
        "GET",
        &format!("{base}/days/2026-09-04/export.csv"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    for (fmt, want) in [
        ("json", "application/json"),
        ("xmltv", "application/xml"),
        ("html", "text/html"),
        ("toml", "application/toml"),
    ] {
        let (s, ct, body) = call_raw(
            &app,
            "GET",
            &format!("{base}/days/2026-09-04/export.{fmt}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{fmt}");
        assert!(ct.starts_with(want), "{fmt}: {ct}");
        assert!(!body.is_empty());
    }
    let (_, _, toml) = call_raw(
        &app,
        "GET",
        &format!("{base}/days/2026-09-04/export.toml"),
        None,
    )
    .await;
    let text = String::from_utf8(toml).expect("utf-8");
    let file = parse_engine_day_file(&text).expect("engine day file parses");
    let rate = FrameRate::default();
    let total: u64 = file
        .item
        .iter()
        .filter_map(|i| engine_frames(rate, i.duration.as_deref()?))
        .sum();
    assert_eq!(total, DAY, "the engine day file plays 24 h");
    let (s, v) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-04/export.pdf"),
        None,
    )
    .await;
    assert_eq!((s, field(&v)), (StatusCode::BAD_REQUEST, "format"), "{v}");
    let (s, v) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-04/export.csv"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = call(
        &app,
        "GET",
        &format!("{base}/days/2026-09-04/whatever"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: kepu_playout::rundown_cli::RundownArgs,
}

fn rundown(args: &[&str]) -> anyhow::Result<()> {
    use clap::Parser;
    let cli = Cli::try_parse_from(std::iter::once("rundown").chain(args.iter().copied()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    kepu_playout::rundown_cli::run(cli.args)
}

#[test]
fn the_cli_works_from_the_database() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (dir, cat) = rt.block_on(async {
        let (dir, cat) = fresh(2026).await;
        seed(&cat, &demo::catalog(5, 80), "2026-07-01").await;
        (dir, cat)
    });
    let db = dir.path().join("catalog.db");
    let db = db.to_str().expect("utf-8 path");
    let ed = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules/editions/2026.toml");
    let common = ["--db", db, "--edition", ed];
    let with = |head: &[&str]| -> Vec<String> {
        head.iter()
            .chain(common.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>| rundown(&args.iter().map(String::as_str).collect::<Vec<_>>());

    run(with(&[
        "build",
        "--now",
        "2026-08-20T01:00:00Z",
        "--reason",
        "命令行编排",
        "--json",
    ]))
    .expect("build from the database");
    run(with(&["show", "--date", "2026-09-05", "--json"])).expect("show");
    run(with(&["validate", "--date", "2026-09-05"])).expect("validate passes");
    run(with(&["lock", "--date", "2026-09-05", "--by", "值班长"])).expect("lock");
    let err = run(with(&["restore", "--date", "2026-09-05", "--version", "1"]))
        .expect_err("locked day is not restored");
    assert!(err.to_string().contains("锁定"), "{err:#}");
    let err = run(with(&["lock", "--date", "2026-10-05"])).expect_err("no such day");
    assert!(err.to_string().contains("2026-10-05"), "{err:#}");
    let out = dir.path().join("0905.toml");
    let out_s = out.to_str().expect("utf-8 path");
    run(with(&[
        "export",
        "--format",
        "engine",
        "--date",
        "2026-09-05",
        "--out",
        out_s,
    ]))
    .expect("export engine day file");
    let text = std::fs::read_to_string(&out).expect("exported");
    let file = parse_engine_day_file(&text).expect("parses");
    let total: u64 = file
        .item
        .iter()
        .filter_map(|i| engine_frames(FrameRate::default(), i.duration.as_deref()?))
        .sum();
    assert_eq!(total, DAY);
    run(with(&["rehearse", "--probe", "trust", "--json"])).expect("rehearse");

    let days = DbDayStore::new(cat.store().clone());
    let (versions, lock, stored) = rt.block_on(async {
        (
            days.versions_async(d(5)).await.expect("versions"),
            days.lock_async(d(5)).await.expect("lock"),
            days.dates_async().await.expect("dates"),
        )
    });
    assert_eq!(stored.len(), 30);
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].reason, "命令行编排");
    assert_eq!(lock.map(|l| l.by), Some("值班长".to_string()));
}
