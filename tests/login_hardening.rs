//! Login hardening: five wrong passwords lock the account (for every address) and say so in
//! Chinese; an administrator can unlock it; every attempt is audited with the client and the
//! node, never the password; logins and certificate checks beyond the per-address quota get
//! 429 with Retry-After while other addresses go on.

mod auth_common;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kepu_playout::auth::lockout::MAX_FAILURES;
use kepu_playout::web::limits::{Limits, layer_with};
use serde_json::{Value, json};
use tower::ServiceExt;

const PW: &str = "一个足够长的密码 pw";

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    from: &str,
    body: Option<Value>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let mut req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let addr: SocketAddr = format!("{from}:40000").parse().expect("addr");
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v, headers)
}

async fn login(app: &Router, from: &str, user: &str, pw: &str) -> (StatusCode, Value) {
    let (s, v, _) = send(
        app,
        "POST",
        "/api/v1/session",
        from,
        Some(json!({"username": user, "password": pw})),
    )
    .await;
    (s, v)
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_every_attempt_is_audited() {
    let w = auth_common::world().await;
    let accounts = w.accounts.clone().for_node("main-bj");
    // The app's own Accounts audits logins; rebuild the limits around it.
    let app = layer_with(w.app.clone(), Limits::new(accounts.clone(), 100, 100));
    for i in 0..MAX_FAILURES {
        let (s, v) = login(&app, "198.51.100.7", "op", "wrong password!").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "try {i}: {v}");
    }
    // Now locked: even the right password, from any address, is refused with a clear reason.
    for from in ["198.51.100.7", "203.0.113.9"] {
        let (s, v) = login(&app, from, "op", PW).await;
        assert_eq!(s, StatusCode::LOCKED, "{v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("锁定") && msg.contains("15 分钟"), "{msg}");
    }
    // Another account is not affected.
    let (s, v) = login(&app, "198.51.100.7", "admin", PW).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let audit = accounts.login_audit(100).await.expect("audit");
    let outcomes: Vec<(&str, &str, &str)> = audit
        .iter()
        .rev()
        .map(|a| (a.username.as_str(), a.client.as_str(), a.outcome.as_str()))
        .collect();
    let mut want = vec![("op", "198.51.100.7", "refused"); 5];
    want.push(("op", "198.51.100.7", "locked"));
    want.push(("op", "203.0.113.9", "locked"));
    want.push(("admin", "198.51.100.7", "ok"));
    assert_eq!(outcomes, want);
    let text = format!("{audit:?}");
    assert!(
        !text.contains("wrong password") && !text.contains(PW),
        "no password in the audit"
    );

    // An administrator reads the audit and unlocks from the command line: the right
    // password works again and clears the count.
    let db = w.dir.path().join("catalog.db");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
            .arg("user")
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .expect("kepu-playout user");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let logins = cli(&["logins", "--last", "3"]);
    assert_eq!(
        logins.lines().filter(|l| !l.is_empty()).count(),
        3,
        "{logins}"
    );
    assert!(
        logins
            .lines()
            .next()
            .is_some_and(|l| l.contains("admin\t198.51.100.7\tok")),
        "{logins}"
    );
    assert!(logins.contains("op\t203.0.113.9\tlocked"), "{logins}");
    assert!(cli(&["unlock", "op"]).contains("已解锁"));
    let (s, v) = login(&app, "198.51.100.7", "op", PW).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn logins_and_certificate_checks_beyond_the_quota_get_429_per_address() {
    let w = auth_common::world().await;
    let accounts = w.accounts.clone().for_node("backup-sh");
    let app = layer_with(w.app.clone(), Limits::new(accounts.clone(), 4, 3));
    for i in 0..4 {
        let (s, v) = login(&app, "192.0.2.1", "nobody", "x").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "try {i}: {v}");
    }
    let (s, v, h) = send(
        &app,
        "POST",
        "/api/v1/session",
        "192.0.2.1",
        Some(json!({"username": "op", "password": PW})),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("登录请求过于频繁"),
        "{v}"
    );
    let retry: u64 = h
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    // Another address is not limited; the limited attempt did not reach the password check.
    let (s, v) = login(&app, "192.0.2.2", "op", PW).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let audit = accounts.login_audit(10).await.expect("audit");
    let limited: Vec<_> = audit.iter().filter(|a| a.outcome == "limited").collect();
    assert_eq!(limited.len(), 1, "{audit:?}");
    assert_eq!(limited[0].client, "192.0.2.1");
    assert_eq!(limited[0].node, "backup-sh");

    // Certificate verification: 3 a minute per address here.
    for i in 0..3 {
        let (s, v, _) = send(
            &app,
            "GET",
            "/api/v1/verify/ABCDEFGHJKLMNPQR",
            "192.0.2.3",
            None,
        )
        .await;
        assert_ne!(s, StatusCode::TOO_MANY_REQUESTS, "try {i}: {v}");
    }
    let (s, v, _) = send(&app, "GET", "/verify/ABCDEFGHJKLMNPQR", "192.0.2.3", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("证书核验"),
        "{v}"
    );
    let (s, _, _) = send(&app, "GET", "/verify/ABCDEFGHJKLMNPQR", "192.0.2.4", None).await;
    assert_ne!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_flood_at_the_feedback_webhook_gets_429_per_address() {
    let w = auth_common::world().await;
    let app = layer_with(
        w.app.clone(),
        Limits::new(w.accounts.clone(), 100, 100).hooks_per_minute(5),
    );
    let figures =
        json!({"figures": [{"at_ms": 1_788_000_000_000_i64, "kind": "likes", "value": 1}]});
    // Forged tokens: refused by the webhook itself, and counted by the limit.
    for i in 0..5 {
        let (s, v, _) = send(
            &app,
            "POST",
            "/api/v1/feedback/hook/bilibili?token=forged",
            "192.0.2.9",
            Some(figures.clone()),
        )
        .await;
        assert_ne!(s, StatusCode::TOO_MANY_REQUESTS, "try {i}: {v}");
    }
    let (s, v, h) = send(
        &app,
        "POST",
        "/api/v1/feedback/hook/bilibili?token=forged",
        "192.0.2.9",
        Some(figures.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("数据推送请求过于频繁"),
        "{v}"
    );
    assert!(h.get("retry-after").is_some());
    // Another sender is not held up.
    let (s, v, _) = send(
        &app,
        "POST",
        "/api/v1/feedback/hook/bilibili?token=forged",
        "192.0.2.10",
        Some(figures),
    )
    .await;
    assert_ne!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
}

/// Behind a trusted reverse proxy the limits count the client it names in X-Forwarded-For
/// (and the audit records it); a client that is not a trusted proxy cannot escape its quota
/// by forging the header.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_quota_and_a_forged_header_changes_nothing()
{
    use kepu_playout::web::limits::TrustedProxies;
    let w = auth_common::world().await;
    let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().expect("net")]);
    let app = layer_with(
        w.app.clone(),
        Limits::new(w.accounts.clone(), 2, 100).trusting(proxies),
    );
    let attempt = |from: &'static str, xff: &'static str| {
        let app = app.clone();
        async move {
            let req = Request::builder()
                .method("POST")
                .uri("/api/v1/session")
                .header("content-type", "application/json")
                .header("x-forwarded-for", xff)
                .body(Body::from(
                    json!({"username": "op", "password": "wrong password!"}).to_string(),
                ))
                .expect("request");
            let mut req = req;
            let addr: SocketAddr = format!("{from}:40000").parse().expect("addr");
            req.extensions_mut().insert(ConnectInfo(addr));
            app.oneshot(req).await.expect("infallible").status()
        }
    };
    // Through the proxy (10.1.2.3): two clients, each with its own two tries a minute. The
    // proxy appends the peer it saw; a client's own forged entry on the left is not believed.
    for _ in 0..2 {
        assert_eq!(
            attempt("10.1.2.3", "203.0.113.5").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt("10.1.2.3", "198.18.0.1, 203.0.113.5").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the third try of 203.0.113.5, whatever it wrote in front"
    );
    assert_eq!(
        attempt("10.1.2.3", "203.0.113.6").await,
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxy is not limited"
    );
    // A direct client is not a proxy: its header is ignored, its quota is its own address's.
    for xff in ["192.0.2.1", "192.0.2.2"] {
        assert_eq!(attempt("198.51.100.7", xff).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        attempt("198.51.100.7", "192.0.2.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged X-Forwarded-For does not escape the limit"
    );
    // The audit names the clients as the limits saw them.
    let audit = w.accounts.login_audit(100).await.expect("audit");
    let clients: Vec<&str> = audit.iter().map(|a| a.client.as_str()).collect();
    assert!(
        clients.contains(&"203.0.113.5")
            && clients.contains(&"203.0.113.6")
            && clients.contains(&"198.51.100.7")
            && !clients.contains(&"10.1.2.3")
            && !clients.contains(&"192.0.2.1"),
        "{clients:?}"
    );
}
