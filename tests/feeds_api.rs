//! Ingest stream keys over the API: an admin issues one (the key is in that answer only),
//! lists show a hint and never the key, a partner may not see or issue keys, an operator
//! revokes one, and a second revocation is a 404.

mod auth_common;

use auth_common::{json, world};
use axum::http::StatusCode;
use serde_json::json as j;

#[tokio::test]
async fn keys_are_shown_once_listed_as_hints_and_revoked_by_staff_only() {
    let w = world().await;
    let (s, issued) = json(
        &w.app,
        "POST",
        "/api/v1/feeds/keys",
        Some(&w.admin),
        Some(j!({"feed": "telescope-1", "note": "天文台"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{issued}");
    let key = issued["key"]
        .as_str()
        .expect("key in the answer")
        .to_string();
    assert!(key.starts_with("ki_") && key.len() > 40, "{key}");
    let id = issued["id"].as_i64().expect("id");

    let (s, list) = json(&w.app, "GET", "/api/v1/feeds/keys", Some(&w.operator), None).await;
    assert_eq!(s, StatusCode::OK);
    let text = list.to_string();
    assert!(
        !text.contains(&key[3..]),
        "the key never appears in a list: {text}"
    );
    assert_eq!(list[0]["feed"], "telescope-1");
    assert!(
        list[0]["key_hint"]
            .as_str()
            .is_some_and(|h| h.ends_with('…'))
    );

    for (m, body) in [("GET", None), ("POST", Some(j!({"feed": "x"})))] {
        let (s, _) = json(&w.app, m, "/api/v1/feeds/keys", Some(&w.partner), body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} by a partner");
    }
    let (s, e) = json(
        &w.app,
        "POST",
        "/api/v1/feeds/keys",
        Some(&w.admin),
        Some(j!({"feed": "bad/name"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["field"], "feed");

    let uri = format!("/api/v1/feeds/keys/{id}");
    let (s, _) = json(&w.app, "DELETE", &uri, Some(&w.operator), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = json(&w.app, "DELETE", &uri, Some(&w.operator), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = json(&w.app, "GET", "/api/v1/feeds/keys", Some(&w.admin), None).await;
    assert!(list[0]["revoked_at_ms"].is_i64(), "{list}");
}
