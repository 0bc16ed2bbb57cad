//! 报送 online through the secured API: a partner submits the collection form with two works
//! and a lead for its own unit (whatever unit name it sends), keeps a draft, sees its works
//! with their state and source; a partner of another unit sees none of them; a summary of 201
//! 字 is refused with the field named; coordinators see every submission with its source and
//! the reminders of promised videos due (the date put where the test needs it).

mod auth_common;

use auth_common::{json, world};
use axum::http::StatusCode;
use kepu_playout::auth::{NewUser, Role};
use serde_json::{Value, json as j};

fn form(unit_name: &str, summary: &str) -> Value {
    j!({
        "unit": { "name": unit_name, "contact_name": "李老师", "contact_title": "主任",
                  "contact_phone": "010-68512345", "contact_email": "li@example.org.cn" },
        "categories": [3, 4],
        "works": [
            { "title": "深海勇士", "duration_ms": 720000, "copyright_holder": "深海所",
              "summary": summary, "production_status": "finished" },
            { "title": "万米之下", "summary": "待制作的续集", "production_status": "to_be_produced" }
        ],
        "leads": [ { "name": "院士的实验室", "description": "可拍摄超导实验" } ]
    })
}

#[tokio::test]
async fn a_partner_submits_online_and_sees_only_its_own() {
    let w = world().await;
    let (s, saved) = json(
        &w.app,
        "POST",
        "/api/v1/submissions",
        Some(&w.partner),
        Some(form(
            "别人的单位",
            "《深海勇士》，时长12分钟，版权方：深海所",
        )),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{saved}");
    assert_eq!(
        saved["unit_id"], w.units[0],
        "submitted as the partner's own unit"
    );
    assert_eq!(saved["work_ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(saved["lead_ids"].as_array().map(Vec::len), Some(1));

    // The unit sees its works with state and source (and its earlier one, entered by hand).
    let (s, mine) = json(&w.app, "GET", "/api/v1/submissions", Some(&w.partner), None).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    let mine = mine.as_array().expect("list").clone();
    assert_eq!(mine.len(), 3, "{mine:?}");
    assert!(mine.iter().all(|x| x["unit_id"] == w.units[0]));
    let deep = mine
        .iter()
        .find(|x| x["title"] == "深海勇士")
        .expect("submitted");
    assert_eq!(deep["source_label"], "在线填报");
    assert_eq!(deep["state_label"], "已报送");

    // A partner of the other unit: none of it.
    let other = w
        .accounts
        .create_user(&NewUser {
            username: "unit-b".into(),
            role: Role::Partner,
            unit_id: Some(w.units[1]),
            password: "long-enough-password".into(),
        })
        .await
        .expect("user");
    let token_b = w
        .accounts
        .issue_token(other.id, "b")
        .await
        .expect("token")
        .token;
    let (_, theirs) = json(&w.app, "GET", "/api/v1/submissions", Some(&token_b), None).await;
    let theirs = theirs.as_array().expect("list");
    assert!(
        theirs.iter().all(|x| x["unit_id"] == w.units[1]),
        "{theirs:?}"
    );
    assert!(!theirs.iter().any(|x| x["title"] == "深海勇士"));
    let work_a = saved["work_ids"][0].as_i64().expect("id");
    let (s, _) = json(
        &w.app,
        "GET",
        &format!("/api/v1/works/{work_a}"),
        Some(&token_b),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another unit's work is not found");

    // 201 字 refused, the field named; nothing stored.
    let (s, err) = json(
        &w.app,
        "POST",
        "/api/v1/submissions",
        Some(&token_b),
        Some(form("x", &"科".repeat(201))),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");
    assert!(err.to_string().contains("视频内容简介"), "{err}");
    assert!(err.to_string().contains("201"), "{err}");

    // Drafts: kept per unit, never another unit's.
    let draft = j!({ "step": 2, "works": [{ "title": "未完成" }] });
    let (s, _) = json(
        &w.app,
        "PUT",
        "/api/v1/submissions/draft",
        Some(&w.partner),
        Some(draft.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, back) = json(
        &w.app,
        "GET",
        "/api/v1/submissions/draft",
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(back, draft);
    let (_, none) = json(
        &w.app,
        "GET",
        "/api/v1/submissions/draft",
        Some(&token_b),
        None,
    )
    .await;
    assert_eq!(none, Value::Null);

    // Coordinators: every submission with its source, and the reminders.
    let (_, all) = json(&w.app, "GET", "/api/v1/submissions", Some(&w.admin), None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(4), "{all}");
    let (s, due) = json(
        &w.app,
        "GET",
        "/api/v1/reminders?today=2026-08-10&within_days=7",
        Some(&w.admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{due}");
    let due = due.as_array().expect("list");
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["title"], "万米之下");
    assert_eq!(due[0]["due"], "2026-08-15");
    assert_eq!(due[0]["days_left"], 5);
    assert_eq!(due[0]["contact_phone"], "010-68512345");
    let (_, early) = json(
        &w.app,
        "GET",
        "/api/v1/reminders?today=2026-07-01&within_days=7",
        Some(&w.admin),
        None,
    )
    .await;
    assert_eq!(
        early.as_array().map(Vec::len),
        Some(0),
        "not due yet: {early}"
    );
    let (s, _) = json(&w.app, "GET", "/api/v1/reminders", Some(&w.partner), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "reminders are for coordinators");
}
