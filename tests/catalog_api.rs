//! The catalog REST API on a fresh database via `tower::ServiceExt::oneshot` (no socket):
//! create and read, 400 naming the field, 404, 409, body limits, and no raw database errors.

mod catalog_common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use catalog_common::fresh;
use http_body_util::BodyExt;
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::web::{AppState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder().method(method).uri(uri);
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    raw(app, req).await
}

async fn raw(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

fn work_body(unit_id: i64, title: &str) -> Value {
    json!({ "unit_id": unit_id, "title": title, "categories": [3, 4], "declared_duration_ms": 1_930_000,
            "copyright_holder": "中国科学院深海所", "summary": "深海下潜", "production_status": "finished",
            "submitted_on": "2026-07-01" })
}

#[tokio::test]
async fn the_catalog_over_http() {
    let (_d, cat) = fresh(2026).await;
    let app = router(AppState {
        catalog: cat,
        probe: ProbeOptions::default(),
    });

    let (s, unit) = call(&app, "POST", "/api/v1/units", Some(json!({ "name": "中国科学院深海科学与工程研究所", "supervisor_type": "gangyaoban", "contact_email": "a@idsse.ac.cn" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{unit}");
    let unit_id = unit["id"].as_i64().expect("id");
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/units",
        Some(json!({ "name": "中国科学院深海科学与工程研究所" })),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/units",
        Some(json!({ "name": "某馆", "contact_email": "nope" })),
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("contact_email")),
        "{v}"
    );

    let (s, work) = call(
        &app,
        "POST",
        "/api/v1/works",
        Some(work_body(unit_id, "深海勇士号下潜记")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{work}");
    assert_eq!(work["category_names"][1], "国家重点实验室类科普视频");
    let id = work["id"].as_i64().expect("id");

    // 200 characters pass, 201 are refused with the field named.
    let mut b = work_body(unit_id, "二百字");
    b["summary"] = json!("科".repeat(200));
    assert_eq!(
        call(&app, "POST", "/api/v1/works", Some(b.clone())).await.0,
        StatusCode::CREATED
    );
    b["title"] = json!("二百零一字");
    b["summary"] = json!("科".repeat(201));
    let (s, v) = call(&app, "POST", "/api/v1/works", Some(b)).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("summary")),
        "{v}"
    );

    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/works",
        Some(work_body(unit_id, "深海勇士号下潜记")),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/works",
        Some(work_body(9999, "无主作品")),
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unit_id")),
        "{v}"
    );
    let mut bad = work_body(unit_id, "类别错");
    bad["categories"] = json!([10]);
    let (s, v) = call(&app, "POST", "/api/v1/works", Some(bad)).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("categories")),
        "{v}"
    );
    // Missing and unknown fields: serde's message names them.
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/works",
        Some(json!({ "unit_id": unit_id })),
    )
    .await;
    assert!(
        s.is_client_error()
            && v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("title")),
        "{s} {v}"
    );
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/units",
        Some(json!({ "name": "x", "colour": "red" })),
    )
    .await;
    assert!(
        s.is_client_error()
            && v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("colour")),
        "{s} {v}"
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/units")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .expect("req");
    let (s, v) = raw(&app, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // 404s and bad ids.
    assert_eq!(
        call(&app, "GET", "/api/v1/works/424242", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/files/424242", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/nothing", None).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = call(&app, "GET", "/api/v1/works/abc", None).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id")),
        "{v}"
    );
    let (s, v) = call(&app, "GET", "/api/v1/works?state=bogus", None).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("state")),
        "{v}"
    );

    // Scheduling is refused with the reasons; probing a missing file gives a failed report.
    let (s, v) = call(
        &app,
        "PUT",
        &format!("/api/v1/works/{id}/state"),
        Some(json!({ "state": "scheduled" })),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("确认单未登记")),
        "{v}"
    );
    let (s, f) = call(
        &app,
        "POST",
        &format!("/api/v1/works/{id}/files"),
        Some(json!({ "location": "/nonexistent/deep.mp4" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let (s, v) = call(
        &app,
        "POST",
        &format!("/api/v1/files/{}/probe", f["id"]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["qc"]["verdict"], "fail");
    let (s, v) = call(
        &app,
        "POST",
        &format!("/api/v1/works/{id}/reviews"),
        Some(json!({ "reviewer": "审核员甲", "decision": "selected" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["technical_verdict"], "fail");
    let (s, v) = call(
        &app,
        "POST",
        &format!("/api/v1/works/{id}/rights"),
        Some(json!({ "by": "审核员甲" })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = call(&app, "GET", &format!("/api/v1/works/{id}"), None).await;
    assert_eq!(v["schedulable"]["schedulable"], false);
    assert_eq!(
        v["schedulable"]["reasons"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    let (_, v) = call(&app, "GET", &format!("/api/v1/works/{id}/history"), None).await;
    assert_eq!(v.as_array().map(Vec::len), Some(4), "{v}");
    let (_, v) = call(&app, "GET", "/api/v1/works?state=selected", None).await;
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");

    let (s, v) = call(&app, "GET", "/api/v1/playable", None).await;
    assert_eq!(
        (s, v.as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "{v}"
    );

    // Leads.
    let (s, v) = call(
        &app,
        "POST",
        "/api/v1/leads",
        Some(json!({ "unit_id": unit_id, "name": "冷湖星空", "categories": [8] })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn imports_and_body_limits() {
    let (_d, cat) = fresh(2026).await;
    let app = router(AppState {
        catalog: cat,
        probe: ProbeOptions::default(),
    });
    let csv =
        "报送单位,作品名称,视频类别,时长\n中国科技馆,天宫课堂,3,30分钟\n中国科技馆,坏行,十,30\n";
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/imports?name=form.csv")
        .body(Body::from(csv))
        .expect("req");
    let (s, v) = raw(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["inserted"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(v["errors"][0]["row"], 3);
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/imports")
        .body(Body::empty())
        .expect("req");
    assert_eq!(raw(&app, req).await.0, StatusCode::BAD_REQUEST);
    // A JSON body over the limit is refused before it is parsed.
    let big = json!({ "name": "x".repeat(kepu_playout::web::JSON_LIMIT + 1) });
    let (s, _) = call(&app, "POST", "/api/v1/units", Some(big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The work view over HTTP (issue 13): a form with a title row above its header imports, a
/// file with two audio tracks is probed through the API, and `GET /api/v1/works/{id}` shows
/// every stream of it in words (and in `probe_json`).
#[tokio::test]
async fn the_work_view_shows_every_stream_of_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("two-tracks.mkv");
    let out = std::process::Command::new("ffmpeg")
        .args(["-y", "-nostdin", "-v", "error"])
        .args(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=1"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=f=1000:r=48000:d=1,pan=stereo|c0=c0|c1=c0",
        ])
        .args(["-f", "lavfi", "-i", "sine=f=500:r=48000:d=1"])
        .args(["-map", "0:v", "-map", "1:a", "-map", "2:a"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:a", "aac"])
        .arg(&file)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_d, cat) = fresh(2026).await;
    let app = router(AppState {
        catalog: cat,
        probe: ProbeOptions {
            loudness: false,
            ..ProbeOptions::default()
        },
    });
    let csv = format!(
        "2026年科普之光展播作品信息采集表,,,,\n报送单位,作品名称,视频类别,时长,视频文件\n\
         中国科技馆,双音轨样片,3,1秒,{}\n",
        file.display()
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/imports?name=form.csv")
        .body(Body::from(csv))
        .expect("req");
    let (s, v) = raw(&app, req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["inserted"].as_u64(), Some(1), "{v}");
    let (_, works) = call(&app, "GET", "/api/v1/works", None).await;
    let id = works[0]["id"].as_i64().expect("work id");
    let (_, files) = call(&app, "GET", &format!("/api/v1/works/{id}/files"), None).await;
    let (s, v) = call(
        &app,
        "POST",
        &format!("/api/v1/files/{}/probe", files[0]["id"]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, w) = call(&app, "GET", &format!("/api/v1/works/{id}"), None).await;
    let streams = w["files"][0]["streams"].as_str().unwrap_or_default();
    assert!(
        streams.contains("音轨 1") && streams.contains("2 声道 stereo"),
        "{w}"
    );
    assert!(
        streams.contains("音轨 2") && streams.contains("1 声道 mono"),
        "{w}"
    );
    let report: Value =
        serde_json::from_str(w["files"][0]["probe_json"].as_str().unwrap_or("{}")).expect("json");
    assert_eq!(report["audio_streams"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["video"]["chroma"], "4:2:0");
}
