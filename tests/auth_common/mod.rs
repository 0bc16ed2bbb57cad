//! Shared helpers of the auth, as-run and metrics tests: a fresh database through the real
//! migrations with two units, one work each, and an admin, an operator and a partner (of the
//! first unit) with API tokens; the secured app; and a `oneshot` caller.
#![allow(dead_code)]

#[path = "../catalog_common/mod.rs"]
pub mod catalog_common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kepu_playout::asrun::AsRunLog;
use kepu_playout::auth::{Accounts, NewUser, Role};
use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::model::{NewUnit, NewWork, ProductionStatus};
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::metrics::Metrics;
use kepu_playout::web::{AppState, Services, app};
use serde_json::Value;
use tower::ServiceExt;

/// Everything a test needs.
pub struct World {
    pub dir: tempfile::TempDir,
    pub catalog: Catalog,
    pub accounts: Accounts,
    pub asrun: AsRunLog,
    pub metrics: Metrics,
    pub app: Router,
    pub units: [i64; 2],
    pub works: [i64; 2],
    pub admin: String,
    pub operator: String,
    pub partner: String,
}

fn new_work(unit_id: i64, title: &str) -> NewWork {
    NewWork {
        unit_id,
        title: title.into(),
        categories: vec![3],
        declared_duration_ms: Some(600_000),
        copyright_holder: Some("版权方".into()),
        summary: None,
        production_status: ProductionStatus::Finished,
        due_date: None,
        ai_generated: false,
        has_subtitles: false,
        submitted_on: Some("2026-07-01".into()),
    }
}

pub async fn world() -> World {
    let (dir, catalog) = catalog_common::fresh(2026).await;
    let mut units = [0; 2];
    let mut works = [0; 2];
    for (i, name) in ["中国科学院深海科学与工程研究所", "中国科学技术馆"]
        .iter()
        .enumerate()
    {
        let u = catalog
            .create_unit(&NewUnit {
                name: (*name).into(),
                ..NewUnit::default()
            })
            .await
            .expect("unit");
        units[i] = u.id;
        works[i] = catalog
            .create_work(&new_work(u.id, &format!("作品{i}")), "test")
            .await
            .expect("work")
            .id;
    }
    let accounts = Accounts::new(catalog.store().clone());
    let mut tokens = Vec::new();
    for (name, role, unit) in [
        ("admin", Role::Admin, None),
        ("op", Role::Operator, None),
        ("partner", Role::Partner, Some(units[0])),
    ] {
        let u = accounts
            .create_user(&NewUser {
                username: name.into(),
                role,
                unit_id: unit,
                password: "一个足够长的密码 pw".into(),
            })
            .await
            .expect("user");
        tokens.push(
            accounts
                .issue_token(u.id, "test")
                .await
                .expect("token")
                .token,
        );
    }
    let asrun = AsRunLog::new(catalog.store().clone());
    let metrics = Metrics::new().expect("metrics");
    let app = app(
        AppState {
            catalog: catalog.clone(),
            probe: ProbeOptions::default(),
        },
        Services {
            accounts: accounts.clone(),
            asrun: asrun.clone(),
            metrics: metrics.clone(),
            air: None,
            preview_dir: None,
            ingest_keys: None,
            uploads: Some(
                kepu_playout::upload::Uploads::new(
                    catalog.clone(),
                    kepu_playout::upload::UploadOptions::new(dir.path().join("uploads")),
                )
                .expect("upload dir"),
            ),
        },
    );
    let [admin, operator, partner]: [String; 3] = tokens.try_into().expect("three tokens");
    World {
        dir,
        catalog,
        accounts,
        asrun,
        metrics,
        app,
        units,
        works,
        admin,
        operator,
        partner,
    }
}

/// Calls the app; `token` as a bearer token, `body` as raw bytes with a JSON content type.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b)),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes.to_vec(), headers)
}

/// Calls the app and reads a JSON answer.
pub async fn json(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (s, b, _) = call(
        app,
        method,
        uri,
        token,
        body.map(|v| v.to_string().into_bytes()),
    )
    .await;
    let v = serde_json::from_slice(&b)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned()));
    (s, v)
}

/// `pdftotext` from poppler-utils; `None` (skip) only outside CI.
pub fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    match std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "pdftotext: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).expect("utf-8 text"))
        }
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "pdftotext is missing in CI ({e}): ./run.sh installs poppler-utils"
            );
            eprintln!("pdftotext not found ({e}): PDF text check skipped");
            None
        }
    }
}
