//! `POST /api/v1/air/live` in-process (no engine): a source URL that is a registered feed's
//! puts that feed on air — the saved item is the feed's live item, so its backup clip reaches
//! the engine's cue (the air plan), its loudness target applies, and the answer says which
//! feed it took; a URL no feed has stays a plain source with no backup.

mod auth_common;
mod serve_common;

use axum::http::StatusCode;
use kepu_playout::air::plan::{DayInView, plan};
use kepu_playout::rundown::ItemKind;
use kepu_playout::rundown_db::DbDayStore;
use serde_json::json;

#[tokio::test]
async fn a_live_edit_with_a_registered_feeds_url_airs_that_feed_with_its_backup() {
    let w = auth_common::world().await;
    let dir = w.dir.path().to_path_buf();
    // Today (the edit's day without an engine: Shanghai's date now): the slate, a work in
    // an hour.
    let works = vec![serve_common::work("一", &dir.join("一.mp4"), 1500)];
    let ids = serve_common::rundown_common::seed(&w.catalog, &works, "2026-07-01").await;
    let mut wk = works[0].clone();
    wk.id = ids[0];
    // The server dates the edit by its own clock: not across Beijing midnight from ours.
    let to_midnight = {
        let t = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
        86_400 - i64::from(chrono::Timelike::num_seconds_from_midnight(&t))
    };
    if to_midnight < 30 {
        tokio::time::sleep(std::time::Duration::from_secs(
            to_midnight.unsigned_abs() + 1,
        ))
        .await;
    }
    let now = chrono::Utc::now();
    let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let day = serve_common::day_with(
        today,
        now + chrono::Duration::hours(1),
        vec![serve_common::item_of(&wk)],
    );
    let days = DbDayStore::new(w.catalog.store().clone());
    days.save_async(&day, "builder", "test", now)
        .await
        .expect("save");

    // The feed, with a backup clip.
    let url = "rtsp://cam.example:554/telescope";
    let (s, feed) = auth_common::json(
        &w.app,
        "POST",
        "/api/v1/rundown/feeds",
        Some(&w.admin),
        Some(json!({
            "title": "星空望远镜",
            "url": url,
            "unit_id": w.units[0],
            "window": {"kind": "daily", "start": "21:00", "end": "23:00"}
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{feed}");
    let feed_id = feed["id"].as_i64().expect("feed id");
    let clip = dir.join("星空延时.mp4");
    std::fs::write(&clip, b"not judged here").expect("clip");
    let backup = clip.display().to_string();
    let (s, shown) = auth_common::json(
        &w.app,
        "PUT",
        &format!("/api/v1/feeds/{feed_id}/backup"),
        Some(&w.operator),
        Some(json!({"path": backup})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{shown}");

    // The operator gives the camera's URL, spelt with an upper-case host and a trailing /.
    let (s, out) = auth_common::json(
        &w.app,
        "POST",
        "/api/v1/air/live",
        Some(&w.operator),
        Some(
            json!({"source": "rtsp://CAM.example:554/telescope/", "title": "临时标题",
                    "frames": 250, "reason": "天象"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(
        out["feed"],
        json!({"id": feed_id, "title": "星空望远镜", "by": "source"}),
        "the answer names the feed taken: {out}"
    );
    assert!(out["version"]["version"].is_u64(), "saved: {out}");

    // Saved as the feed's live item, and planned with the feed's backup and live loudness.
    let (_, saved) = days
        .load_async(today, None)
        .await
        .expect("load")
        .expect("today");
    let live: Vec<_> = saved
        .items
        .iter()
        .filter(|i| i.kind == ItemKind::Live)
        .collect();
    assert_eq!(live.len(), 1, "{:?}", saved.items);
    assert_eq!(live[0].feed_id, Some(feed_id));
    assert_eq!(live[0].source, url);
    assert_eq!(live[0].title, "星空望远镜");
    assert_eq!(live[0].unit_id, Some(w.units[0]));
    let loaded = vec![(2, saved.clone())];
    let mut planned = plan(
        &[DayInView {
            day: &saved,
            version: 2,
        }],
        |t| saved.rate.frames_between(saved.start, t),
        0,
        0,
        u64::MAX / 2,
    );
    let backups = days.feed_backups_async().await.expect("backups");
    kepu_playout::air::backup::apply(&mut planned, &loaded, &backups);
    kepu_playout::air::loudness::apply(
        &mut planned,
        &Default::default(),
        &kepu_playout::air::loudness::LoudnessPolicy::of_edition(w.catalog.edition()),
    );
    let cue = &planned
        .iter()
        .find(|p| p.live)
        .expect("the live item is planned")
        .cue;
    assert_eq!(cue.source, url);
    assert_eq!(cue.backup.as_deref(), Some(backup.as_str()));
    assert!(cue.live_target_mlufs.is_some(), "{cue:?}");

    // The same by id; a URL no feed has stays a plain source: no feed, no backup.
    let (s, out) = auth_common::json(
        &w.app,
        "POST",
        "/api/v1/air/live",
        Some(&w.operator),
        Some(json!({"feed_id": feed_id, "frames": 250})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["feed"]["by"], "feed_id", "{out}");
    let (s, out) = auth_common::json(
        &w.app,
        "POST",
        "/api/v1/air/live",
        Some(&w.operator),
        Some(json!({"source": "rtsp://cam.example:554/other", "title": "现场", "frames": 250})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert!(out["feed"].is_null(), "{out}");
    let (_, saved) = days
        .load_async(today, None)
        .await
        .expect("load")
        .expect("today");
    let plain = saved
        .items
        .iter()
        .find(|i| i.source == "rtsp://cam.example:554/other")
        .expect("the plain source is on the day");
    assert_eq!((plain.kind, plain.feed_id), (ItemKind::Event, None));
}
