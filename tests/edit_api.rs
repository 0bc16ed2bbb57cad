//! The edit API in-process (no engine): previews, saves, undo and history, and every kind of
//! bad input refused with a clear 4xx that changes nothing. The on-air behaviour of the same
//! API is tested against a real receiver in `serve_air.rs`.

mod auth_common;
mod serve_common;

use axum::http::StatusCode;
use kepu_playout::rundown_db::DbDayStore;
use serde_json::{Value, json};

const DATE: &str = "2027-09-01";

struct Setup {
    w: auth_common::World,
    ready: Vec<i64>,
    path: String,
}

async fn setup() -> Setup {
    let w = auth_common::world().await;
    let dir = w.dir.path().to_path_buf();
    let works: Vec<_> = ["一", "二", "三", "四"]
        .iter()
        .map(|n| serve_common::work(n, &dir.join(format!("{n}.mp4")), 1500))
        .collect();
    let ready = serve_common::rundown_common::seed(&w.catalog, &works, "2026-07-01").await;
    let by_id: Vec<_> = works
        .iter()
        .zip(&ready)
        .map(|(wk, id)| {
            let mut wk = wk.clone();
            wk.id = *id;
            serve_common::item_of(&wk)
        })
        .collect();
    let date = DATE.parse().expect("date");
    let t0 = chrono::DateTime::parse_from_rfc3339("2027-09-01T20:00:00+08:00")
        .expect("t0")
        .with_timezone(&chrono::Utc);
    let day = serve_common::day_with(date, t0, by_id[..3].to_vec());
    DbDayStore::new(w.catalog.store().clone())
        .save_async(&day, "builder", "test", chrono::Utc::now())
        .await
        .expect("save");
    Setup {
        w,
        ready,
        path: format!("/api/v1/rundown/days/{DATE}/edits"),
    }
}

async fn current(s: &Setup) -> (u64, Vec<String>) {
    let (st, v) = auth_common::json(
        &s.w.app,
        "GET",
        &format!("/api/v1/rundown/days/{DATE}"),
        Some(&s.w.operator),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let titles = v["day"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().unwrap_or_default().to_string())
        .collect();
    (v["version"]["version"].as_u64().expect("version"), titles)
}

async fn edit(s: &Setup, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    auth_common::json(&s.w.app, "POST", &s.path, token, Some(body)).await
}

#[tokio::test]
async fn a_preview_saves_nothing_an_edit_saves_a_version_and_undo_brings_the_day_back() {
    let s = setup().await;
    let op = s.w.operator.clone();
    let (v0, before) = current(&s).await;
    assert_eq!(before[1..4], ["一", "二", "三"]);
    let insert = json!({"op": "insert", "work_id": s.ready[3], "after": 1});
    let (st, preview) = edit(&s, Some(&op), json!({"edit": insert, "dry_run": true})).await;
    assert_eq!(st, StatusCode::OK, "{preview}");
    assert!(preview["version"].is_null());
    assert_eq!(preview["day"]["items"][2]["title"], "四");
    assert!(!preview["diff"].as_array().expect("diff").is_empty());
    assert_eq!(
        current(&s).await,
        (v0, before.clone()),
        "a preview changes nothing"
    );

    let (st, done) = edit(
        &s,
        Some(&op),
        json!({"edit": insert, "base_version": v0, "reason": "加播"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{done}");
    let (v1, after) = current(&s).await;
    assert_eq!(v1, v0 + 1);
    assert_eq!(after[1..5], ["一", "四", "二", "三"]);
    // Later items rippled: 二 now starts one work (60 s) later.
    assert_eq!(done["day"]["items"][3]["start"], "2027-09-01T12:02:00Z");

    // The same base version again is a conflict: someone else's edit would be lost.
    let (st, v) = edit(&s, Some(&op), json!({"edit": insert, "base_version": v0})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");

    let (st, hist) = auth_common::json(&s.w.app, "GET", &s.path, Some(&op), None).await;
    assert_eq!(st, StatusCode::OK);
    let edits = hist["edits"].as_array().expect("edits");
    assert_eq!(edits.len(), 1, "{hist}");
    assert_eq!(edits[0]["reason"], "加播");
    assert!(
        edits[0]["summary"]
            .as_str()
            .expect("summary")
            .contains("四"),
        "{hist}"
    );
    assert!(edits[0]["author"].as_str().is_some_and(|a| !a.is_empty()));

    let (st, v) = auth_common::json(
        &s.w.app,
        "POST",
        &format!("/api/v1/rundown/days/{DATE}/undo"),
        Some(&op),
        Some(json!({"reason": "误操作"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (v2, undone) = current(&s).await;
    assert_eq!(
        (v2, undone),
        (v1 + 1, before),
        "undo restores the day as it was"
    );
    let (st, v) = auth_common::json(
        &s.w.app,
        "POST",
        &format!("/api/v1/rundown/days/{DATE}/undo"),
        Some(&op),
        Some(json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "nothing left to undo: {v}");
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let s = setup().await;
    let op = s.w.operator.clone();
    let unselected = s.w.works[0];
    let state = current(&s).await;
    // (what, token, body, status, what the answer must mention)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "unknown work",
            Some(&op),
            json!({"edit": {"op": "insert", "work_id": 987_654, "after": 1}}).to_string().into_bytes(),
            StatusCode::NOT_FOUND,
            "987654",
        ),
        (
            "overlapping insert",
            Some(&op),
            json!({"edit": {"op": "insert", "work_id": s.ready[3], "at": "2027-09-01T20:00:30+08:00"}})
                .to_string()
                .into_bytes(),
            StatusCode::CONFLICT,
            "一",
        ),
        (
            "a work not selected",
            Some(&op),
            json!({"edit": {"op": "insert", "work_id": unselected, "after": 1}}).to_string().into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "未",
        ),
        (
            "no such item",
            Some(&op),
            json!({"edit": {"op": "remove", "index": 99}}).to_string().into_bytes(),
            StatusCode::NOT_FOUND,
            "第 100 条",
        ),
        (
            "malformed JSON",
            Some(&op),
            b"{\"edit\": {\"op\": \"insert\",".to_vec(),
            StatusCode::BAD_REQUEST,
            "请求体无效",
        ),
        (
            "an unknown field",
            Some(&op),
            json!({"edit": {"op": "remove", "index": 1, "force": true}}).to_string().into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "force",
        ),
        (
            "path traversal in a source",
            Some(&op),
            json!({"edit": {"op": "live", "source": "../../etc/passwd", "frames": 100}}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "source",
        ),
        (
            "a file URL as a source",
            Some(&op),
            json!({"edit": {"op": "live", "source": "file:///etc/passwd", "frames": 100}}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "source",
        ),
        (
            "a huge payload",
            Some(&op),
            format!("{{\"edit\": {{\"op\": \"skip\"}}, \"reason\": \"{}\"}}", "长".repeat(200_000)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
        (
            "a partner",
            Some(&s.w.partner),
            json!({"edit": {"op": "remove", "index": 1}}).to_string().into_bytes(),
            StatusCode::FORBIDDEN,
            "partner",
        ),
        (
            "no credentials",
            None,
            json!({"edit": {"op": "remove", "index": 1}}).to_string().into_bytes(),
            StatusCode::UNAUTHORIZED,
            "",
        ),
    ];
    for (what, token, body, status, mention) in cases {
        let (st, bytes, _) = auth_common::call(&s.w.app, "POST", &s.path, token, Some(body)).await;
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(st, status, "{what}: {text}");
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: a message: {text}"
        );
        assert!(text.contains(mention), "{what}: names {mention:?}: {text}");
    }
    // A locked day refuses edits (the lock says who).
    let (st, v) = auth_common::json(
        &s.w.app,
        "POST",
        &format!("/api/v1/rundown/days/{DATE}/lock"),
        Some(&op),
        Some(json!({"by": "值班主任", "reason": "终审"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = edit(&s, Some(&op), json!({"edit": {"op": "remove", "index": 2}})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(v.to_string().contains("值班主任"), "{v}");
    assert_eq!(current(&s).await, state, "nothing changed");
    let (_, hist) = auth_common::json(&s.w.app, "GET", &s.path, Some(&op), None).await;
    assert_eq!(hist["edits"].as_array().map(Vec::len), Some(0));
}

/// Dozens of trims of different items sent at once by eight clients (half of them naming the
/// version they saw, half not) over one real database: every one is applied or refused with
/// 409 naming the version it lost to — never silently overwritten. A refused client re-reads
/// and tries again, as the day editor does. The history is then a clean chain (each applied
/// edit computed from the version just before it) and the final day holds every change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_edits_are_each_applied_or_refused_and_none_is_lost() {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 4;
    let s = setup().await;
    // Replace the day with 32 items, so each trim changes its own item.
    let store = DbDayStore::new(s.w.catalog.store().clone());
    let (_, day) = store
        .load_async(DATE.parse().expect("date"), None)
        .await
        .expect("load")
        .expect("day");
    let works: Vec<_> = day
        .items
        .iter()
        .filter(|i| i.work_id.is_some())
        .cloned()
        .collect();
    let items: Vec<_> = (0..CLIENTS * PER_CLIENT)
        .map(|i| works[i % works.len()].clone())
        .collect();
    let t0 = chrono::DateTime::parse_from_rfc3339("2027-09-01T08:00:00+08:00")
        .expect("t0")
        .with_timezone(&chrono::Utc);
    let day = serve_common::day_with(DATE.parse().expect("date"), t0, items);
    store
        .save_async(&day, "builder", "32 items", chrono::Utc::now())
        .await
        .expect("save");
    let first = day
        .items
        .iter()
        .position(|i| i.work_id.is_some())
        .expect("a work");
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut applied = Vec::new();
            let mut refused = 0u32;
            for k in 0..PER_CLIENT {
                let index = first + c * PER_CLIENT + k;
                // Each item gets its own new length: 1500 − (index + 1) frames.
                let frames = 1500 - (index as u64 + 1);
                let mut tries = 0;
                loop {
                    tries += 1;
                    assert!(tries < 200, "client {c} never got its edit through");
                    let mut body = json!({
                        "edit": {"op": "trim", "index": index, "frames": frames},
                        "reason": format!("client {c} edit {k}"),
                    });
                    if c % 2 == 0 {
                        let (v, _) = current(&s).await;
                        body["base_version"] = json!(v);
                    }
                    let (st, v) = edit(&s, Some(&s.w.operator), body).await;
                    match st {
                        StatusCode::OK => {
                            assert_eq!(v["unchanged"], false, "{v}");
                            let saved = v["version"]["version"].as_u64().expect("version");
                            applied.push((saved, v["base_version"].as_u64().expect("base")));
                            break;
                        }
                        StatusCode::CONFLICT => {
                            let msg = v["error"].to_string();
                            assert!(msg.contains("版"), "a conflict names the version: {v}");
                            refused += 1;
                        }
                        other => panic!("client {c}: {other} {v}"),
                    }
                }
            }
            (applied, refused)
        }));
    }
    let mut applied = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (a, r) = t.await.expect("client");
        applied.extend(a);
        refused += r;
    }
    assert_eq!(applied.len(), CLIENTS * PER_CLIENT);
    // Every saved version is distinct and was computed from the version just before it.
    applied.sort_unstable();
    for (saved, base) in &applied {
        assert_eq!(
            *base + 1,
            *saved,
            "version {saved} was computed from {base}"
        );
    }
    let (st, hist) = auth_common::json(&s.w.app, "GET", &s.path, Some(&s.w.operator), None).await;
    assert_eq!(st, StatusCode::OK);
    let edits = hist["edits"].as_array().expect("edits");
    assert_eq!(
        edits.len(),
        CLIENTS * PER_CLIENT,
        "refused edits are not in the history"
    );
    for e in edits {
        assert_eq!(
            e["base_version"].as_u64().expect("base") + 1,
            e["version"].as_u64().expect("version"),
            "history row {e}"
        );
    }
    // The day holds every change.
    let (final_meta, final_day) = store
        .load_async(DATE.parse().expect("date"), None)
        .await
        .expect("load")
        .expect("day");
    for c in 0..CLIENTS * PER_CLIENT {
        let index = first + c;
        assert_eq!(
            final_day.items[index].frames,
            1500 - (index as u64 + 1),
            "item {index} keeps its trim"
        );
    }
    eprintln!("concurrent edits: {refused} refused with 409 and retried");

    // An edit that changes nothing says so and is not recorded.
    let index = first;
    let (st, v) = edit(
        &s,
        Some(&s.w.operator),
        json!({"edit": {"op": "trim", "index": index, "frames": 1500 - (index as u64 + 1)}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["unchanged"], true, "{v}");
    assert!(v["version"].is_null(), "{v}");
    let (st, hist) = auth_common::json(&s.w.app, "GET", &s.path, Some(&s.w.operator), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        hist["edits"].as_array().expect("edits").len(),
        CLIENTS * PER_CLIENT
    );
    let (v_now, _) = current(&s).await;
    assert_eq!(v_now, u64::from(final_meta.version), "no version was added");
}
