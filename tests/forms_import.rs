//! Units' filled 信息采集表 in the notice's own layout, made by independent tools (python-docx,
//! openpyxl, Python's csv in GBK; `tests/fixtures/make_forms.py`), read through the real
//! binary: `catalog forms` previews every field and stores nothing; `--confirm` stores;
//! checkbox styles (Wingdings ☑, options deleted, ■, √□), 简介 with and without 《》,
//! durations in minutes and HH:MM:SS, a 201-character 简介 refused with the field named, and
//! a folder of 50 tables with one report per file.

mod catalog_common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Debian's python3 (where python3-docx and python3-openpyxl are), else the one on PATH.
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn make(dir: &Path, extra: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/make_forms.py");
    let out = Command::new(python())
        .arg(script)
        .arg(dir)
        .args(extra)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "make_forms.py failed (needs python3-docx and python3-openpyxl, see run.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(dir: &Path, args: &[&str]) -> (bool, Value, String) {
    let edition = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules/editions/2026.toml");
    let db = dir.join("forms.db");
    let out = Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
        .args([
            "catalog",
            "--database",
            db.to_str().expect("utf-8"),
            "--edition",
            edition,
            "--json",
        ])
        .args(args)
        .output()
        .expect("binary runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn preview_of<'a>(reports: &'a Value, file: &str) -> &'a Value {
    reports
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(file)))
        })
        .map(|r| &r["preview"])
        .unwrap_or_else(|| panic!("no report for {file}: {reports}"))
}

fn titles(p: &Value) -> Vec<&str> {
    p["works"]
        .as_array()
        .map(|w| w.iter().filter_map(|x| x["title"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn marking_styles_summaries_and_durations_are_read_then_confirmed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let forms = dir.path().join("forms");
    make(&forms, &[]);
    let f = forms.to_str().expect("utf-8");

    let (ok, v, err) = run(dir.path(), &["forms", f]);
    assert!(ok, "{err}");
    assert_eq!(v.as_array().map(Vec::len), Some(5), "{v}");

    // Word, ☑ inserted as a Wingdings symbol; titles in 《》; minutes and hours.
    let p = preview_of(&v, "wingdings.docx");
    assert_eq!(p["unit"]["name"], "中国科学院物理研究所");
    assert_eq!(p["unit"]["contact_title"], "科普部主任");
    assert_eq!(p["unit"]["supervisor_type"], "national_society");
    assert_eq!(p["categories"], serde_json::json!([3, 4]));
    assert_eq!(titles(p), ["超导之光", "量子计算漫谈"]);
    assert_eq!(p["works"][0]["duration_ms"], 720_000);
    assert_eq!(p["works"][1]["duration_ms"], 3_900_000);
    assert_eq!(p["works"][1]["copyright_holder"], "物理所科学传播中心");
    assert_eq!(p["leads"][0]["name"], "院士的实验室");
    assert!(p["errors"].as_array().is_some_and(Vec::is_empty), "{p}");

    // Word, the options not chosen deleted; no 《》: the first clause; HH:MM:SS.
    let p = preview_of(&v, "deleted.docx");
    assert_eq!(p["categories"], serde_json::json!([1]));
    assert_eq!(p["unit"]["supervisor_type"], "local_association");
    assert_eq!(titles(p), ["走进南海深处"]);
    assert_eq!(p["works"][0]["title_from"], "首句");
    assert_eq!(p["works"][0]["duration_ms"], 1_530_000);
    assert_eq!(p["works"][0]["copyright_holder"], "广东科技报社");
    assert_eq!(p["works"][0]["production_status"], "to_be_produced");
    let how = p["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["field"] == "视频类别"))
        .map(|x| x["note"].clone());
    assert_eq!(
        how,
        Some(Value::from("未选项已删除，保留项视为已选")),
        "{p}"
    );

    // Excel, ■, one option per row; two statuses told apart per work.
    let p = preview_of(&v, "squares.xlsx");
    assert_eq!(p["categories"], serde_json::json!([5, 9]));
    assert_eq!(p["unit"]["supervisor_type"], "national_society");
    assert_eq!(titles(p), ["星空下的中国", "月球背面"]);
    assert_eq!(p["works"][0]["duration_ms"], 510_000);
    assert_eq!(p["works"][0]["copyright_holder"], "中国天文学会");
    assert_eq!(p["works"][0]["production_status"], "finished");
    assert_eq!(p["works"][1]["production_status"], "to_be_produced");

    // CSV saved in GBK, √ put before the box.
    let p = preview_of(&v, "ticks.csv");
    assert_eq!(p["format"], "GB18030");
    assert_eq!(p["categories"], serde_json::json!([2]));
    assert_eq!(titles(p), ["中轴线上的科学"]);
    assert_eq!(p["works"][0]["duration_ms"], 2_700_000);

    // 201 characters: refused, the field named, with the count.
    let p = preview_of(&v, "too_long.docx");
    let e = &p["errors"][0];
    assert!(
        e["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("视频内容简介")),
        "{p}"
    );
    assert!(
        e["reason"].as_str().is_some_and(|r| r.contains("201 字")),
        "{e}"
    );

    // A preview stores nothing.
    let (ok, list, err) = run(dir.path(), &["list"]);
    assert!(ok, "{err}");
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");

    // Confirmed: the four good tables are stored, the long one is not; again: unchanged.
    let (ok, v, err) = run(dir.path(), &["forms", f, "--confirm"]);
    assert!(ok, "{err}");
    let saved: Vec<&Value> = v
        .as_array()
        .map(|a| a.iter().filter(|r| !r["saved"].is_null()).collect())
        .unwrap_or_default();
    assert_eq!(saved.len(), 4, "{v}");
    let (_, list, _) = run(dir.path(), &["list"]);
    let mut stored: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w["title"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    stored.sort();
    assert_eq!(
        stored,
        [
            "中轴线上的科学",
            "星空下的中国",
            "月球背面",
            "走进南海深处",
            "超导之光",
            "量子计算漫谈"
        ]
    );
    let deep = list
        .as_array()
        .and_then(|a| a.iter().find(|w| w["title"] == "走进南海深处"))
        .expect("stored");
    assert_eq!(deep["due_date"], "2026-08-15", "{deep}");
    assert_eq!(deep["declared_duration_ms"], 1_530_000);
    let (ok, v, _) = run(dir.path(), &["forms", f, "--confirm"]);
    assert!(ok);
    let inserted: u64 = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["saved"]["inserted"].as_u64())
                .sum()
        })
        .unwrap_or(99);
    assert_eq!(
        inserted, 0,
        "saving the same tables again creates nothing: {v}"
    );

    // The one-row-per-work import points a form to the right command.
    let (ok, _, err) = run(
        dir.path(),
        &[
            "import",
            forms.join("wingdings.docx").to_str().expect("utf-8"),
        ],
    );
    assert!(!ok);
    assert!(err.contains("信息采集表"), "{err}");
}

#[test]
fn a_folder_of_fifty_tables_gets_a_report_per_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    make(dir.path(), &["batch", "50"]);
    let batch = dir.path().join("batch");
    let t0 = std::time::Instant::now();
    let (ok, v, err) = run(
        dir.path(),
        &["forms", batch.to_str().expect("utf-8"), "--confirm"],
    );
    let took = t0.elapsed();
    assert!(ok, "{err}");
    let reports = v.as_array().expect("array");
    assert_eq!(reports.len(), 50, "{v}");
    let saved = reports.iter().filter(|r| !r["saved"].is_null()).count();
    assert_eq!(saved, 48, "{v}");
    let refused = |name: &str| -> String {
        let r = reports
            .iter()
            .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .expect("reported");
        assert!(r["saved"].is_null());
        r["preview"]["errors"][0]["field"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(refused("unit17.docx"), "电子邮箱");
    assert!(refused("unit33.docx").starts_with("视频内容简介"));
    let (_, list, _) = run(dir.path(), &["list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(96));
    eprintln!("50 tables (25 .docx, 25 .xlsx) previewed and stored in {took:?}");
}

mod api {
    //! The same through the REST API (no socket): preview, a person's correction, save.
    use super::make;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use kepu_playout::catalog::probe::ProbeOptions;
    use kepu_playout::web::{AppState, router};
    use serde_json::Value;
    use tower::ServiceExt;

    use super::catalog_common;

    async fn send(app: &axum::Router, uri: &str, body: Vec<u8>, json: bool) -> (StatusCode, Value) {
        let mut req = Request::builder().method("POST").uri(uri);
        if json {
            req = req.header("content-type", "application/json");
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn preview_correct_and_save_over_http() {
        let (dir, cat) = catalog_common::fresh(2026).await;
        make(dir.path(), &[]);
        let app = router(AppState {
            catalog: cat.clone(),
            probe: ProbeOptions::default(),
        });
        let docx = std::fs::read(dir.path().join("wingdings.docx")).expect("made");
        let (s, mut p) = send(
            &app,
            "/api/v1/forms/preview?name=wingdings.docx",
            docx,
            false,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        assert_eq!(p["works"][0]["title"], "超导之光");
        assert!(
            cat.works(None).await.expect("works").is_empty(),
            "preview stores nothing"
        );
        // The person confirming corrects a title before saving.
        p["works"][0]["title"] = Value::from("超导之光（修订版）");
        let (s, saved) = send(&app, "/api/v1/forms", p.to_string().into_bytes(), true).await;
        assert_eq!(s, StatusCode::CREATED, "{saved}");
        assert_eq!(saved["work_ids"].as_array().map(Vec::len), Some(2));
        let titles: Vec<String> = cat
            .works(None)
            .await
            .expect("works")
            .into_iter()
            .map(|w| w.title)
            .collect();
        assert!(
            titles.contains(&"超导之光（修订版）".to_string()),
            "{titles:?}"
        );

        // A preview with an error cannot be saved; the answer names the field.
        let long = std::fs::read(dir.path().join("too_long.docx")).expect("made");
        let (s, p) = send(
            &app,
            "/api/v1/forms/preview?name=too_long.docx",
            long,
            false,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = send(&app, "/api/v1/forms", p.to_string().into_bytes(), true).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v.to_string().contains("视频内容简介"), "{v}");
        // A one-row-per-work sheet is not a form.
        let sheet = "报送单位,联系人,联系电话,作品名称\n甲,乙,010-12345678,丙\n"
            .as_bytes()
            .to_vec();
        let (s, v) = send(&app, "/api/v1/forms/preview?name=sheet.csv", sheet, false).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v.to_string().contains("不是通知样表"), "{v}");
    }
}
