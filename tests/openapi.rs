//! The OpenAPI description served by the daemon's app (`GET /api/v1/openapi.json`), in
//! process on a fresh database: it is open (no credentials), it is OpenAPI 3.1, and it
//! describes exactly the routes the app registers. The routes are read from the source
//! (`.route("…", get(…).post(…))` in `src/web/*.rs`), so a route added without its
//! `#[utoipa::path]` fails here; the same list is checked against the running app (405 with
//! the right `Allow` for a method no route has), so the reading cannot drift either.

mod auth_common;

use std::collections::BTreeSet;
use std::path::Path;

use auth_common::{call, json, world};
use axum::http::StatusCode;
use serde_json::Value;

/// Methods axum's `MethodRouter` builders name.
const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

/// The text inside the parentheses that open at `open` (the index of `(`).
fn balanced(src: &str, open: usize) -> &str {
    let mut depth = 0usize;
    for (i, c) in src[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &src[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after byte {open}");
}

/// Splits at the commas and dots that are outside any parentheses.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0usize, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The (method, path) pairs of every `.route("path", get(a).post(b))` in `src/web/*.rs`.
fn source_routes() -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/web")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        // The dashboard's static files (`/`, `/assets/…`) are the web page, not the REST API.
        .filter(|p| !p.ends_with("dashboard.rs"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "src/web/*.rs: {files:?}");
    let mut out = BTreeSet::new();
    for file in files {
        let src = std::fs::read_to_string(&file).expect("source file");
        let name = file.display();
        for other in [".nest(", ".route_service(", ".nest_service("] {
            assert!(
                !src.contains(other),
                "{name} uses {other}: teach tests/openapi.rs to read it"
            );
        }
        for (at, _) in src.match_indices(".route(") {
            let args = balanced(&src, at + ".route".len());
            let parts = split_top(args, ',');
            let path = parts[0].trim();
            assert!(
                path.len() > 2 && path.starts_with('"') && path.ends_with('"'),
                "{name}: a route's path must be a string literal, got {path}"
            );
            let path = &path[1..path.len() - 1];
            let router = parts.get(1).map(|s| s.trim()).unwrap_or_default();
            let mut methods = 0;
            for call in split_top(router, '.') {
                let method = call.split('(').next().unwrap_or_default().trim();
                assert!(
                    METHODS.contains(&method),
                    "{name}: route {path}: `{method}` is not a method this test reads"
                );
                out.insert((method.to_string(), path.to_string()));
                methods += 1;
            }
            assert!(methods > 0, "{name}: route {path} has no method");
        }
    }
    out
}

/// The (method, path) pairs the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// The document as served to a caller without credentials.
async fn fetch(app: &axum::Router) -> Value {
    let (s, body, headers) = call(app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ctype.starts_with("application/json"), "{ctype}");
    serde_json::from_slice(&body).expect("the document is JSON")
}

/// Follows a local `$ref` (`#/components/schemas/Name`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .expect("a schema reference");
            let s = &doc["components"]["schemas"][name];
            assert!(s.is_object(), "{r} is in the document");
            s
        }
        None => v,
    }
}

#[tokio::test]
async fn the_document_is_served_without_credentials_as_openapi_3_1() {
    let w = world().await;
    let doc = fetch(&w.app).await;
    let version = doc["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1"), "{version}");
    assert_eq!(doc["info"]["title"], "kepu-playout API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for t in [
        "catalog", "rundown", "edits", "air", "asrun", "accounts", "metrics", "feedback",
    ] {
        assert!(tags.contains(t), "tag {t}: {tags:?}");
    }
    // A wrong token does not stand in the way either; the rest of the API is still guarded.
    let (s, _) = json(
        &w.app,
        "GET",
        "/api/v1/openapi.json",
        Some("kp_wrong"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = json(&w.app, "GET", "/api/v1/works", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json(&w.app, "GET", "/api/v1/openapi.json/x", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "only the document is open");
}

#[tokio::test]
async fn every_route_the_app_registers_is_described() {
    let w = world().await;
    let doc = fetch(&w.app).await;
    let source = source_routes();
    // The reading found the routes (36 `.route(` calls, some with two methods).
    assert!(source.len() >= 44, "{} routes: {source:?}", source.len());
    for known in [
        ("get", "/api/v1/works/{id}"),
        ("post", "/api/v1/rundown/days/{date}/edits"),
        ("post", "/api/v1/rundown/days/{date}/restore/{version}"),
        ("get", "/metrics"),
        ("get", "/api/v1/openapi.json"),
    ] {
        assert!(
            source.contains(&(known.0.to_string(), known.1.to_string())),
            "{known:?}"
        );
    }
    let described = documented(&doc);
    let missing: Vec<_> = source.difference(&described).collect();
    assert!(
        missing.is_empty(),
        "routes without a description: {missing:?}"
    );
    let extra: Vec<_> = described.difference(&source).collect();
    assert!(extra.is_empty(), "described but not registered: {extra:?}");
    // Each path parameter of the template is a described parameter.
    for (method, path) in &source {
        let op = &doc["paths"][path][method];
        let params: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(params, in_template, "{method} {path}");
        assert!(
            ["200", "201", "204"]
                .iter()
                .any(|s| op["responses"][*s].is_object()),
            "{method} {path}: a success answer"
        );
    }
}

#[tokio::test]
async fn the_routes_read_from_the_source_are_the_apps() {
    let mut w = world().await;
    // `serve` merges the recording routes beside the app when `[recording]` is configured.
    w.app = w.app.clone().merge(kepu_playout::web::recordings::guarded(
        kepu_playout::web::recordings::RecordingsState {
            recordings: kepu_playout::recording::Recordings::new(
                kepu_playout::recording::RecordingConfig {
                    dir: w.dir.path().join("recordings"),
                    quota_bytes: 1 << 30,
                    segment: std::time::Duration::from_secs(600),
                },
            ),
            catalog: w.catalog.clone(),
        },
        w.accounts.clone(),
    ));
    let source = source_routes();
    let paths: BTreeSet<&str> = source.iter().map(|(_, p)| p.as_str()).collect();
    // tus uploads need PATCH: TRACE is the method no route has.
    assert!(
        !source.iter().any(|(m, _)| m == "trace"),
        "this check uses TRACE as the method no route has"
    );
    for path in paths {
        let uri = path
            .replace("{date}", "2026-09-01")
            .replace("{file}", "export.json")
            .replace("{id}", "1")
            .replace("{name}", "feed1-20260901T120000Z")
            .replace("{platform}", "bilibili")
            .replace("{version}", "1");
        let (s, body, headers) = call(&w.app, "TRACE", &uri, Some(&w.admin), None).await;
        assert_eq!(
            s,
            StatusCode::METHOD_NOT_ALLOWED,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        let allow: BTreeSet<String> = headers
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| m != "head")
            .collect();
        let expected: BTreeSet<String> = source
            .iter()
            .filter(|(m, p)| p == path && m != "head")
            .map(|(m, _)| m.clone())
            .collect();
        assert_eq!(allow, expected, "{path}");
    }
}

#[tokio::test]
async fn the_edit_request_names_every_op() {
    let w = world().await;
    let doc = fetch(&w.app).await;
    let body = &doc["paths"]["/api/v1/rundown/days/{date}/edits"]["post"]["requestBody"];
    let req = resolve(&doc, &body["content"]["application/json"]["schema"]);
    for field in ["edit", "base_version", "reason", "dry_run"] {
        assert!(req["properties"][field].is_object(), "EditRequest.{field}");
    }
    let op = resolve(&doc, &req["properties"]["edit"]);
    let variants = op["oneOf"].as_array().expect("the edit is one of the ops");
    let mut names = BTreeSet::new();
    for v in variants {
        let v = resolve(&doc, v);
        let tag = &v["properties"]["op"];
        let name = tag["enum"][0]
            .as_str()
            .or_else(|| tag["const"].as_str())
            .unwrap_or_else(|| panic!("op tag of {v}"));
        names.insert(name.to_string());
    }
    let want: BTreeSet<String> = [
        "insert", "move", "remove", "replace", "trim", "skip", "live",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(names, want);
    // The on-air controls take their own bodies.
    let live = &doc["paths"]["/api/v1/air/live"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert!(resolve(&doc, live)["properties"]["frames"].is_object());
}

#[tokio::test]
async fn the_bearer_scheme_applies_to_every_guarded_route() {
    let w = world().await;
    let doc = fetch(&w.app).await;
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));
    let err = &doc["components"]["schemas"]["ErrorBody"];
    assert!(err["properties"]["error"].is_object(), "{err}");
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let open = kepu_playout::web::openapi::OPEN_PATHS.contains(&path.as_str());
        if open {
            assert_eq!(op["security"], serde_json::json!([{}]), "{path} is open");
        } else {
            assert!(
                op["security"].is_null(),
                "{method} {path}: the global scheme"
            );
            for status in ["401", "403", "404"] {
                assert!(
                    op["responses"][status]["$ref"].is_string(),
                    "{method} {path} {status}"
                );
            }
            let roles = op["description"].as_str().unwrap_or_default();
            assert!(roles.contains("Roles: admin"), "{method} {path}: {roles}");
        }
    }
}
