//! 报送 on PostgreSQL (migrations 8001–8003 and the queries that differ by backend): a form
//! saved with its source, listed, a reminder, a draft, and an upload created against the
//! unit's quota, appended and completed. Skips only outside CI without a server (see
//! `catalog_common::fresh_pg`).

mod catalog_common;

use kepu_playout::catalog::form::Source;
use kepu_playout::catalog::form::online::{OnlineForm, to_preview};
use kepu_playout::upload::{UploadOptions, Uploads};

#[tokio::test]
async fn submissions_and_uploads_on_postgres() {
    let Some(cat) = catalog_common::fresh_pg("subm").await else {
        return;
    };
    let form: OnlineForm = serde_json::from_value(serde_json::json!({
        "unit": { "name": "中国天文学会", "contact_name": "王老师", "contact_phone": "010-12345678" },
        "categories": [4],
        "works": [
            { "title": "星空", "summary": "《星空》", "production_status": "finished" },
            { "title": "月背", "summary": "待制作", "production_status": "to_be_produced" }
        ],
        "leads": [ { "name": "天文台夜观", "description": "可拍摄" } ]
    }))
    .expect("form");
    let p = to_preview(&form, cat.edition());
    assert!(p.ok(), "{:?}", p.errors);
    let saved = cat
        .save_form(&p, "test", Source::Online)
        .await
        .expect("saved");
    assert_eq!(saved.work_ids.len(), 2);
    let again = cat
        .save_form(&p, "test", Source::Online)
        .await
        .expect("again");
    assert_eq!(again.unchanged, 3, "idempotent");
    let subs = cat.submissions(None).await.expect("list");
    assert_eq!(subs.len(), 2);
    assert!(subs.iter().all(|s| s.source_label == "在线填报"));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 8, 20).expect("date");
    let due = cat.reminders(today, 7).await.expect("reminders");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].days_left, -5);
    cat.save_draft(saved.unit_id, &serde_json::json!({"a": 1}))
        .await
        .expect("draft");
    cat.save_draft(saved.unit_id, &serde_json::json!({"a": 2}))
        .await
        .expect("draft replaced");
    assert_eq!(
        cat.draft(saved.unit_id).await.expect("draft"),
        Some(serde_json::json!({"a": 2}))
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let up = Uploads::new(cat.clone(), UploadOptions::new(dir.path().to_path_buf())).expect("dir");
    let meta = [
        ("work".to_string(), saved.work_ids[0].to_string()),
        ("filename".to_string(), "a.bin".to_string()),
    ]
    .into_iter()
    .collect();
    let row = up.create(6, &meta, None, "test").await.expect("created");
    let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
        bytes::Bytes::from_static(b"abcdef"),
    )]);
    let done = up.append(&row.id, 0, None, chunks).await.expect("appended");
    assert_eq!(done.offset_bytes, 6);
    assert_eq!(
        done.sha256.as_deref(),
        Some("bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721")
    );
    let quota = UploadOptions {
        unit_quota_bytes: 10,
        ..UploadOptions::new(dir.path().to_path_buf())
    };
    let other = [("work".to_string(), saved.work_ids[1].to_string())]
        .into_iter()
        .collect();
    let err = Uploads::new(cat.clone(), quota)
        .expect("dir")
        .create(5, &other, None, "test")
        .await
        .expect_err("over the unit's quota");
    assert_eq!(err.status(), 413, "{err}");
}
