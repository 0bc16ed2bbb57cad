//! Accounts and roles over HTTP on a fresh database: 401 without or with wrong credentials,
//! 403 for a role that may not (before the body is read), partners scoped to their unit,
//! admin-only user management, bad input answered with clear 4xx JSON, nothing changed.

mod auth_common;

use auth_common::{call, json, world};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn no_or_wrong_credentials_are_401_and_change_nothing() {
    let w = world().await;
    let before = w.catalog.units().await.expect("units").len();
    let (s, b, h) = call(&w.app, "GET", "/api/v1/works", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let v: serde_json::Value = serde_json::from_slice(&b).expect("json error");
    assert_eq!(v["error"]["code"], "unauthenticated");
    let bogus = format!("kp_{}", "0".repeat(64));
    for token in ["garbage", "kp_abc", bogus.as_str()] {
        let (s, _) = json(
            &w.app,
            "POST",
            "/api/v1/units",
            Some(token),
            Some(json!({ "name": "新单位" })),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{token}");
    }
    // Basic auth or a bare token is not a bearer token.
    let (s, _) = json(&w.app, "GET", "/api/v1/me", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(w.catalog.units().await.expect("units").len(), before);
}

#[tokio::test]
async fn a_partner_reads_only_its_unit_and_writes_nothing() {
    let w = world().await;
    let p = Some(w.partner.as_str());
    let (s, me) = json(&w.app, "GET", "/api/v1/me", p, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "partner");
    assert_eq!(me["unit_id"], w.units[0]);

    let (s, list) = json(&w.app, "GET", "/api/v1/works", p, None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let ids: Vec<i64> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|x| x["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![w.works[0]]);
    let (s, _) = json(
        &w.app,
        "GET",
        &format!("/api/v1/works/{}", w.works[0]),
        p,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = json(
        &w.app,
        "GET",
        &format!("/api/v1/works/{}", w.works[1]),
        p,
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another unit's work does not exist for a partner: {v}"
    );

    // An operator sees both.
    let (_, list) = json(&w.app, "GET", "/api/v1/works", Some(&w.operator), None).await;
    assert_eq!(list.as_array().expect("list").len(), 2);

    // Everything else is refused, writes before their body is even read.
    for (m, uri) in [
        ("GET", "/api/v1/units"),
        ("GET", "/api/v1/leads"),
        ("GET", "/api/v1/rundown/days/2026-09-21"),
        ("GET", "/api/v1/users"),
    ] {
        let (s, v) = json(&w.app, m, uri, p, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {uri}: {v}");
        assert_eq!(v["error"]["code"], "forbidden");
    }
    let before = w.catalog.works(None).await.expect("works");
    let (s, _, _) = call(
        &w.app,
        "POST",
        "/api/v1/works",
        p,
        Some(b"{not json".to_vec()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = json(
        &w.app,
        "PUT",
        &format!("/api/v1/works/{}/state", w.works[0]),
        p,
        Some(json!({ "state": "selected" })),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = json(
        &w.app,
        "POST",
        "/api/v1/rundown/days/2026-09-21/lock",
        p,
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(w.catalog.works(None).await.expect("works"), before);
}

#[tokio::test]
async fn operators_write_the_catalog_with_clear_errors_for_bad_input() {
    let w = world().await;
    let op = Some(w.operator.as_str());
    let before = w.catalog.units().await.expect("units").len();
    let (s, b, _) = call(
        &w.app,
        "POST",
        "/api/v1/units",
        op,
        Some(b"{\"name\": ".to_vec()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&b).expect("json error");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("请求体无效")),
        "{v}"
    );
    let huge = format!("{{\"name\": \"{}\"}}", "科".repeat(200_000));
    let (s, _, _) = call(&w.app, "POST", "/api/v1/units", op, Some(huge.into_bytes())).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(w.catalog.units().await.expect("units").len(), before);
    let (s, v) = json(
        &w.app,
        "POST",
        "/api/v1/units",
        op,
        Some(json!({ "name": "北京天文馆" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Operators do not manage accounts.
    let (s, _) = json(
        &w.app,
        "POST",
        "/api/v1/users",
        op,
        Some(json!({ "username": "x", "role": "admin", "password": "0123456789ab" })),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(w.accounts.users().await.expect("users").len(), 3);
}

#[tokio::test]
async fn admins_manage_users_and_tokens_without_leaking_secrets() {
    let w = world().await;
    let a = Some(w.admin.as_str());
    let (s, v) = json(&w.app, "POST", "/api/v1/users", a, Some(json!({ "username": "zhang", "role": "partner", "unit_id": w.units[1], "password": "科普之光-2026-密码" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let text = v.to_string();
    assert!(
        !text.contains("密码") && !text.contains("argon2") && !text.contains("hash"),
        "{text}"
    );
    let id = v["id"].as_i64().expect("id");

    for (body, field) in [
        (
            json!({ "username": "li", "role": "root", "password": "0123456789ab" }),
            None,
        ),
        (
            json!({ "username": "li", "role": "partner", "password": "0123456789ab" }),
            Some("unit_id"),
        ),
        (
            json!({ "username": "li", "role": "operator", "password": "short" }),
            Some("password"),
        ),
        (
            json!({ "username": "li", "role": "partner", "unit_id": 999, "password": "0123456789ab" }),
            Some("unit_id"),
        ),
        (
            json!({ "username": "zhang", "role": "operator", "password": "0123456789ab" }),
            None,
        ),
    ] {
        let (s, v) = json(&w.app, "POST", "/api/v1/users", a, Some(body.clone())).await;
        assert!(s.is_client_error(), "{body}: {s} {v}");
        if let Some(f) = field {
            assert_eq!(v["error"]["field"], f, "{v}");
        }
    }
    assert_eq!(w.accounts.users().await.expect("users").len(), 4);

    let (s, v) = json(
        &w.app,
        "POST",
        &format!("/api/v1/users/{id}/tokens"),
        a,
        Some(json!({ "name": "报表脚本" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().expect("token shown once").to_string();
    assert!(
        v["display"]
            .as_str()
            .is_some_and(|d| d.ends_with('…') && d.len() < 12)
    );
    let (s, me) = json(&w.app, "GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["username"], "zhang");
    let (s, _) = json(
        &w.app,
        "POST",
        "/api/v1/users/9999/tokens",
        a,
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = json(
        &w.app,
        "POST",
        "/api/v1/users/abc/tokens",
        a,
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (_, users) = json(&w.app, "GET", "/api/v1/users", a, None).await;
    let text = users.to_string();
    assert!(
        !text.contains("argon2") && !text.contains(&token[3..]),
        "{text}"
    );
}
