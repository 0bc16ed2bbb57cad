//! `POST /api/v1/rundown/build` answers, per work, why it cannot air in the window — the
//! catalog's own reasons (no file, not selected, rights not on file) and a submission so
//! late that its first possible day is past the window — the same words as the CLI.

mod auth_common;

use auth_common::{call, world};
use axum::http::StatusCode;
use kepu_playout::catalog::model::{NewWork, ProductionStatus};
use serde_json::{Value, json};

#[tokio::test]
async fn the_build_answer_names_why_each_work_cannot_air() {
    let w = world().await;
    let late = w
        .catalog
        .create_work(
            &NewWork {
                unit_id: w.units[0],
                title: "月球车的一天".into(),
                categories: vec![2],
                declared_duration_ms: Some(600_000),
                copyright_holder: Some("重庆科技馆".into()),
                summary: None,
                production_status: ProductionStatus::Finished,
                due_date: None,
                ai_generated: false,
                has_subtitles: true,
                submitted_on: Some("2026-09-30".into()),
            },
            "test",
        )
        .await
        .expect("late work")
        .id;
    let body = json!({ "now": "2026-08-01T00:00:00Z", "author": "值班员", "reason": "测试编排" });
    let (st, bytes, _) = call(
        &w.app,
        "POST",
        "/api/v1/rundown/build",
        Some(&w.operator),
        Some(body.to_string().into_bytes()),
    )
    .await;
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(st, StatusCode::OK, "{v}");
    let excluded = v["report"]["excluded"].as_array().expect("excluded");
    let why = |id: i64| {
        excluded
            .iter()
            .find(|e| e["work_id"] == id)
            .and_then(|e| e["reason"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    for id in w.works {
        let r = why(id);
        assert!(
            r.contains("未提交视频文件")
                && r.contains("尚未遴选入选")
                && r.contains("确认单未登记"),
            "work {id}: {r}"
        );
    }
    let r = why(late);
    assert!(
        r.contains("逾期报送：最早 2026-10-01 起可播（报送次日），已过播出窗口最后一天 2026-09-30"),
        "{r}"
    );
    assert!(v["report"]["unaired_detail"].is_array(), "{v}");
}
