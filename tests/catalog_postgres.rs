//! The same catalog on PostgreSQL: migrations, import (idempotent), workflow and a probe
//! record on a fresh database. Runs when `KEPU_TEST_POSTGRES_URL` points at a server whose
//! user may create databases (e.g. `postgres://postgres@127.0.0.1:55433/postgres`); skipped
//! otherwise, saying so.

mod catalog_common;

use catalog_common::edition;
use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::model::{Decision, Verdict, WorkState};
use kepu_playout::catalog::probe::ProbeReport;
use kepu_playout::catalog::workflow::NewReview;
use kepu_playout::store::{Backend, Store};
use sqlx::Connection;

async fn fresh_pg() -> Option<Catalog> {
    let Ok(admin) = std::env::var("KEPU_TEST_POSTGRES_URL") else {
        // `./run.sh test` (and so CI) always provides a server: there, not running is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "KEPU_TEST_POSTGRES_URL is not set in CI: ./run.sh test starts a PostgreSQL server"
        );
        eprintln!("KEPU_TEST_POSTGRES_URL not set: PostgreSQL test skipped");
        return None;
    };
    let name = format!(
        "kepu_test_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("admin connection");
    // The name is made of digits and a fixed prefix: safe to splice.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let store = Store::open(&format!("{base}/{name}"))
        .await
        .expect("migrates on PostgreSQL");
    assert_eq!(store.backend(), Backend::Postgres);
    Some(Catalog::new(store, edition(2026)))
}

#[tokio::test]
async fn catalog_on_postgres() {
    let Some(c) = fresh_pg().await else { return };
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schedules/demo/submissions-2026.csv");
    let r = c.import_file(&demo, "pg").await.expect("import");
    assert_eq!((r.inserted, r.failed), (10, 0), "{r:#?}");
    let again = c.import_file(&demo, "pg").await.expect("re-import");
    assert_eq!((again.inserted, again.unchanged), (0, 10), "{again:#?}");
    let bad = c
        .import_bytes(
            "bad.csv",
            "报送单位,作品名称,视频内容简介,视频类别\n某馆,某片,"
                .to_string()
                .into_bytes()
                .into_iter()
                .chain("科".repeat(201).into_bytes())
                .chain(",3\n".bytes())
                .collect(),
            "pg",
        )
        .await
        .expect("import");
    assert_eq!(bad.failed, 1, "{bad:#?}");

    let works = c.works(None).await.expect("list");
    assert_eq!(works.len(), 9);
    let id = works[0].id;
    let f = c.attach_file(id, "/nonexistent.mp4").await.expect("attach");
    let report = ProbeReport {
        location: "/nonexistent.mp4".into(),
        error: Some("文件不存在".into()),
        ..Default::default()
    };
    assert_eq!(
        c.record_probe(f.id, &report).await.expect("stored").verdict,
        Verdict::Fail
    );
    c.add_review(
        id,
        &NewReview {
            reviewer: "甲".into(),
            decision: Some(Decision::Selected),
            ..Default::default()
        },
    )
    .await
    .expect("review");
    c.confirm_rights(id, "甲").await.expect("rights");
    let s = c.schedulable(id).await.expect("check");
    assert_eq!(s.reasons.len(), 1, "{s:?}");
    assert!(
        c.set_work_state(id, WorkState::Scheduled, "x")
            .await
            .is_err()
    );
    assert_eq!(c.history_of(id).await.expect("history").len(), 4);
}
