//! Dashboard sessions: login sets an HttpOnly, SameSite=Strict cookie; every change made
//! with the cookie needs the session's CSRF token; logout ends the session.

mod auth_common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PW: &str = "一个足够长的密码 pw";

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

#[tokio::test]
async fn a_session_cookie_works_only_with_its_csrf_token_and_ends_at_logout() {
    let w = auth_common::world().await;
    let (st, v, _) = send(
        &w.app,
        "POST",
        "/api/v1/session",
        &[],
        Some(json!({"username": "op", "password": "wrong password!"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");

    let (st, v, h) = send(
        &w.app,
        "POST",
        "/api/v1/session",
        &[],
        Some(json!({"username": "op", "password": PW})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let set = h
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie set")
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().expect("pair").to_string();
    let csrf = v["csrf_token"].as_str().expect("csrf").to_string();
    assert_eq!(v["user"]["role"], "operator");
    assert!(
        !v.to_string()
            .contains(cookie.split('=').nth(1).expect("value")),
        "the cookie value is not in the body"
    );

    let (st, me, _) = send(&w.app, "GET", "/api/v1/me", &[("cookie", &cookie)], None).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["csrf_token"], csrf.as_str());

    let unit = json!({"name": "新单位"});
    let (st, v, _) = send(
        &w.app,
        "POST",
        "/api/v1/units",
        &[("cookie", &cookie)],
        Some(unit.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "no CSRF token: {v}");
    assert!(v.to_string().contains("CSRF"), "{v}");
    let (st, v, _) = send(
        &w.app,
        "POST",
        "/api/v1/units",
        &[
            ("cookie", &cookie),
            ("x-csrf-token", "0".repeat(64).as_str()),
        ],
        Some(unit.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a wrong token: {v}");
    let (_, units_before, _) =
        send(&w.app, "GET", "/api/v1/units", &[("cookie", &cookie)], None).await;
    assert!(
        !units_before.to_string().contains("新单位"),
        "nothing was created"
    );
    let (st, v, _) = send(
        &w.app,
        "POST",
        "/api/v1/units",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        Some(unit),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    let (st, _, h) = send(
        &w.app,
        "DELETE",
        "/api/v1/session",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(
        h.get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the cookie is cleared"
    );
    let (st, _, _) = send(&w.app, "GET", "/api/v1/me", &[("cookie", &cookie)], None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "the session ended");
}
