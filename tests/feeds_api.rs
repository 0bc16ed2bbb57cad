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

/// A feed's backup clip over the API: set as a catalog work (its accepted file airs) or as a
/// file path, refused with the field named when it cannot air, shown in the feed list, read
/// by the air plan's loader, and cleared; only staff may set it.
#[tokio::test]
async fn a_feeds_backup_is_set_as_a_work_or_a_path_shown_and_read_by_the_air_plan() {
    let w = world().await;
    let (s, feed) = json(
        &w.app,
        "POST",
        "/api/v1/rundown/feeds",
        Some(&w.admin),
        Some(j!({
            "title": "星空望远镜",
            "url": "rtsp://cam.example/telescope",
            "unit_id": w.units[0],
            "window": {"kind": "daily", "start": "21:00", "end": "23:00"}
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{feed}");
    let id = feed["id"].as_i64().expect("feed id");
    let uri = format!("/api/v1/feeds/{id}/backup");
    // Work 0 has an accepted file; work 1 has none.
    let accepted = "/srv/kepu/media/星空延时.mp4";
    sqlx::query(
        "INSERT INTO media_files (work_id, location, verdict, duration_ms, probed_at_ms, \
         created_at_ms) VALUES ($1, $2, 'pass', 90000, 1, 1)",
    )
    .bind(w.works[0])
    .bind(accepted)
    .execute(w.catalog.store().pool())
    .await
    .expect("file row");

    let (s, list) = json(&w.app, "GET", "/api/v1/feeds", Some(&w.operator), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(list[0]["backup"].is_null(), "no backup yet: {list}");

    for (body, field) in [
        (j!({"work_id": w.works[1]}), "work_id"),
        (j!({"work_id": 999_999}), "work_id"),
        (j!({"work_id": w.works[0], "path": "/x.mp4"}), "backup"),
        (j!({}), "backup"),
        (j!({"path": "relative/clip.mp4"}), "path"),
        (j!({"path": "/nonexistent/kepu/clip.mp4"}), "path"),
    ] {
        let (s, e) = json(&w.app, "PUT", &uri, Some(&w.operator), Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
    }
    let (s, _) = json(
        &w.app,
        "PUT",
        &uri,
        Some(&w.partner),
        Some(j!({"work_id": w.works[0]})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a partner may not set it");
    let (s, _) = json(
        &w.app,
        "PUT",
        "/api/v1/feeds/999999/backup",
        Some(&w.operator),
        Some(j!({"work_id": w.works[0]})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A work: its accepted file airs.
    let (s, shown) = json(
        &w.app,
        "PUT",
        &uri,
        Some(&w.operator),
        Some(j!({"work_id": w.works[0]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{shown}");
    assert_eq!(shown["backup"]["work_id"], w.works[0]);
    assert_eq!(shown["backup"]["work_title"], "作品0");
    assert_eq!(shown["backup"]["location"], accepted);
    let (_, list) = json(&w.app, "GET", "/api/v1/feeds", Some(&w.operator), None).await;
    assert_eq!(list[0]["backup"]["location"], accepted, "{list}");
    let days = kepu_playout::rundown_db::DbDayStore::new(w.catalog.store().clone());
    let for_air = days.feed_backups_async().await.expect("backups");
    assert_eq!(
        for_air.get(&id).map(String::as_str),
        Some(accepted),
        "{for_air:?}"
    );

    // A file path on the playout machine.
    let clip = w.dir.path().join("备播.mp4");
    std::fs::write(&clip, b"not judged here").expect("file");
    let path = clip.display().to_string();
    let (s, shown) = json(
        &w.app,
        "PUT",
        &uri,
        Some(&w.admin),
        Some(j!({"path": path})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{shown}");
    assert_eq!(shown["backup"]["location"], path.as_str());
    assert!(shown["backup"]["work_id"].is_null());
    let for_air = days.feed_backups_async().await.expect("backups");
    assert_eq!(for_air.get(&id), Some(&path));

    // Cleared: the slate again, nothing for the air plan.
    let (s, shown) = json(&w.app, "PUT", &uri, Some(&w.operator), Some(j!(null))).await;
    assert_eq!(s, StatusCode::OK, "{shown}");
    assert!(shown["backup"].is_null(), "{shown}");
    assert!(days.feed_backups_async().await.expect("backups").is_empty());
}
