//! The same catalog on PostgreSQL: migrations, import (idempotent), workflow and a probe
//! record on a fresh database. Runs when `KEPU_TEST_POSTGRES_URL` points at a server whose
//! user may create databases (e.g. `postgres://postgres@127.0.0.1:55433/postgres`); skipped
//! otherwise, saying so.

mod catalog_common;

use catalog_common::fresh_pg;
use kepu_playout::catalog::model::{Decision, Verdict, WorkState};
use kepu_playout::catalog::probe::ProbeReport;
use kepu_playout::catalog::workflow::NewReview;

#[tokio::test]
async fn catalog_on_postgres() {
    let Some(c) = fresh_pg("kepu_test").await else {
        return;
    };
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
