//! Recorded live windows over the API: operators and administrators list them (feed,
//! start/end UTC, size, segments, recording / complete), partners get 403; an operator
//! registers a finished window as a work of the feed's unit (回放), whose joined MP4 the
//! catalog's probe reads as playable H.264 + AAC of the window's length; a window still
//! recording cannot be registered.

mod auth_common;

use auth_common::{json, world};
use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::recording::{RecordingConfig, Recordings, window_name};
use kepu_playout::rundown::FeedWindow;
use kepu_playout::rundown_db::source::{NewFeed, add_feed};
use kepu_playout::web::recordings::{RecordingsState, guarded};
use playout::source::live::{Manifest, RecordPlanner};
use serde_json::json as j;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `seconds` of 320×180 H.264 + AAC as MPEG-TS at `path` (what the recorder writes).
fn segment(path: &Path, seconds: u32, colour: &str) {
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("color=c={colour}:s=320x180:r=25:d={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=1000:sample_rate=48000:d={seconds}"))
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mpegts"])
        .arg(path)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "segment {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_are_listed_for_staff_and_one_registered_as_a_playable_work() {
    let w = world().await;
    let feed = add_feed(
        &w.catalog,
        &NewFeed {
            title: "FAST 望远镜慢直播".into(),
            url: "rtsp://telescope.example/live".into(),
            unit_id: w.units[0],
            copyright_holder: None,
            window: FeedWindow::Daily {
                start: "20:00".into(),
                end: "23:00".into(),
            },
        },
    )
    .await
    .expect("feed");
    let root = w.dir.path().join("recordings");
    let rec = Recordings::new(RecordingConfig {
        dir: root.clone(),
        quota_bytes: 1 << 30,
        segment: Duration::from_secs(600),
    });
    rec.set_feeds([(feed.url.clone(), feed.id)]);

    // A finished window of two segments (a camera restart in between).
    let start = Utc
        .with_ymd_and_hms(2026, 9, 1, 12, 0, 0)
        .single()
        .expect("date");
    let name = window_name(Some(feed.id), &feed.url, start);
    let dir = root.join(&name);
    std::fs::create_dir_all(&dir).expect("dir");
    segment(&dir.join("seg-00000.ts"), 3, "0xff00ff");
    segment(&dir.join("seg-00001.ts"), 2, "0x00ff00");
    let m = Manifest {
        source: feed.url.clone(),
        started_unix_ms: start.timestamp_millis(),
        ended_unix_ms: Some(start.timestamp_millis() + 5_000),
        segments: vec!["seg-00000.ts".into(), "seg-00001.ts".into()],
        connections: 2,
        error: None,
    };
    std::fs::write(
        dir.join(playout::source::live::record::MANIFEST),
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("manifest");
    // And a window being recorded now (the engine asked the planner where).
    let plan = rec
        .plan(&feed.url, std::time::SystemTime::now())
        .expect("planned");
    std::fs::create_dir_all(&plan.dir).expect("dir");
    let live = Manifest {
        ended_unix_ms: None,
        segments: vec![],
        connections: 1,
        started_unix_ms: Utc::now().timestamp_millis(),
        ..m.clone()
    };
    std::fs::write(
        plan.dir.join(playout::source::live::record::MANIFEST),
        serde_json::to_vec(&live).expect("json"),
    )
    .expect("manifest");

    let app = w.app.clone().merge(guarded(
        RecordingsState {
            recordings: rec.clone(),
            catalog: w.catalog.clone(),
        },
        w.accounts.clone(),
    ));

    let (s, list) = json(&app, "GET", "/api/v1/recordings", Some(&w.operator), None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().cloned().expect("array");
    assert_eq!(list.len(), 2, "{list:?}");
    // Newest first: the one recording.
    assert_eq!(list[0]["recording"], true);
    assert_eq!(list[0]["complete"], false);
    assert_eq!(list[1]["name"], name.as_str());
    assert_eq!(list[1]["feed"], feed.id);
    assert_eq!(list[1]["start"], "2026-09-01T12:00:00Z");
    assert_eq!(list[1]["end"], "2026-09-01T12:00:05Z");
    assert_eq!(list[1]["segments"], 2);
    assert_eq!(list[1]["complete"], true);
    assert!(
        list[1]["size"].as_u64().is_some_and(|b| b > 10_000),
        "{list:?}"
    );

    // Partners see none (the channel's evidence, not a unit's).
    for (m, uri) in [
        ("GET", "/api/v1/recordings".to_string()),
        ("POST", format!("/api/v1/recordings/{name}/register")),
    ] {
        let (s, _) = json(&app, m, &uri, Some(&w.partner), Some(j!({}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {uri} by a partner");
    }

    // The one recording cannot be registered yet.
    let busy = plan
        .dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let (s, e) = json(
        &app,
        "POST",
        &format!("/api/v1/recordings/{busy}/register"),
        Some(&w.operator),
        Some(j!({})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");

    // The finished one becomes a work of the feed's unit with its MP4 attached.
    let (s, r) = json(
        &app,
        "POST",
        &format!("/api/v1/recordings/{name}/register"),
        Some(&w.operator),
        Some(j!({"categories": [3]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let work_id = r["work_id"].as_i64().expect("work id");
    let work = w.catalog.work(work_id).await.expect("work");
    assert_eq!(work.unit_id, w.units[0]);
    assert_eq!(work.title, "FAST 望远镜慢直播 回放 2026-09-01 20:00");
    assert_eq!(work.categories, vec![3]);
    let file = r["file"].as_str().expect("file").to_string();
    assert!(file.ends_with("window.mp4"), "{file}");

    // The catalog's probe reads it: H.264 + AAC, the two segments' length.
    let report = kepu_playout::catalog::probe::probe(file.clone(), ProbeOptions::default()).await;
    assert!(report.error.is_none(), "{report:?}");
    assert!(
        matches!(report.container.as_deref(), Some("mp4" | "mov")),
        "{report:?}"
    );
    let v = report.video.as_ref().expect("video");
    assert!(v.codec.contains("264"), "{report:?}");
    assert!(report.audio.is_some(), "{report:?}");
    let ms = report.duration_ms.expect("duration");
    assert!((4_800..=5_300).contains(&ms), "duration {ms} ms");
    let files = w.catalog.files_of(work_id).await.expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].location, file);

    // Registering twice is a conflict (a work of that title exists), not a second work.
    let (s, e) = json(
        &app,
        "POST",
        &format!("/api/v1/recordings/{name}/register"),
        Some(&w.admin),
        Some(j!({})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, _) = json(
        &app,
        "POST",
        "/api/v1/recordings/feed999-20260901T120000Z/register",
        Some(&w.admin),
        Some(j!({})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
