//! The as-run log on a fresh database fed by the pure recorder from engine events: rows with
//! real first/last frames and fallbacks, durable across closing and reopening the file,
//! completed once, queried by day (Beijing), work and unit, and served over HTTP as JSON and
//! CSV with partners scoped to their own unit.

mod auth_common;

use auth_common::{call, json, world};
use axum::http::StatusCode;
use kepu_playout::asrun::recorder::{AsRunRecorder, ItemInfo};
use kepu_playout::asrun::{AsRunLog, AsRunQuery};
use kepu_playout::store::{Error, Store};
use playout::{EndReason, Event, Rate};

/// 2026-09-20 23:59:50 Beijing time (15:59:50 UTC), in ns.
const T0: u64 = 1_789_919_990_000_000_000;
const SEC: u64 = 1_000_000_000;

fn info(id: &str, work: i64, unit: i64, title: &str) -> ItemInfo {
    ItemInfo {
        item_id: id.into(),
        work_id: Some(work),
        unit_id: Some(unit),
        title: title.into(),
        source: format!("/media/{id}.mp4"),
        planned_start_ms: None,
        rundown_day: Some("2026-09-20".into()),
        rundown_version: Some(3),
        gain_mdb: None,
    }
}

/// Two airings across midnight: `a` (unit 0) 20 s with a 2 s fallback, then `b` (unit 1).
fn events() -> Vec<Event> {
    vec![
        Event::ItemStarted {
            id: "a".into(),
            frame: 0,
            wall_ns: T0,
            offset_frames: 0,
        },
        Event::FallbackOn {
            id: Some("a".into()),
            frame: 50,
            reason: playout::FallbackReason::Failed("源文件读取失败".into()),
            fill: playout::Fill::Slate,
        },
        Event::FallbackOff {
            id: Some("a".into()),
            frame: 100,
        },
        Event::ClockSync {
            dropped_total: 0,
            repeated_total: 0,
        },
        Event::ItemEnded {
            id: "a".into(),
            frame: 500,
            wall_ns: T0 + 20 * SEC,
            frames: 500,
            reason: EndReason::Complete,
        },
        Event::ItemStarted {
            id: "b".into(),
            frame: 500,
            wall_ns: T0 + 20 * SEC,
            offset_frames: 0,
        },
    ]
}

async fn feed(log: &AsRunLog, rec: &mut AsRunRecorder, evs: &[Event]) {
    for e in evs {
        for w in rec.on_event(e) {
            log.apply(&w).await.expect("write");
        }
    }
}

#[tokio::test]
async fn airings_are_durable_and_queryable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("asrun.db");
    let path = path.to_str().expect("utf-8").to_string();
    let store = Store::open(&path).await.expect("migrates");
    let log = AsRunLog::new(store.clone());
    let mut rec = AsRunRecorder::new(Rate::PAL);
    // The loudness correction the air plan gave item a is kept with its airing.
    rec.cue(ItemInfo {
        gain_mdb: Some(-9_800),
        ..info("a", 11, 1, "深海探秘")
    });
    rec.cue(info("b", 12, 2, "星空"));
    feed(&log, &mut rec, &events()).await;

    // The process "dies" here: `b` is on air, never ended. Close the pool, reopen the file.
    store.pool().close().await;
    drop((log, store));
    let store = Store::open(&path).await.expect("reopens");
    let log = AsRunLog::new(store);
    let all = log.query(&AsRunQuery::default()).await.expect("query");
    assert_eq!(all.len(), 2);
    let a = &all[0];
    assert_eq!(a.title, "深海探秘");
    assert_eq!(a.gain_mdb, Some(-9_800));
    assert_eq!(all[1].gain_mdb, None);
    assert_eq!(a.source, "/media/a.mp4");
    assert_eq!(a.first_frame_ms, 1_789_919_990_000);
    assert_eq!(a.last_frame_ms, Some(1_789_920_009_960));
    assert_eq!(a.frames, Some(500));
    assert_eq!(a.end_reason.as_deref(), Some("complete"));
    assert_eq!(a.fallbacks.len(), 1);
    assert_eq!(a.fallbacks[0].from_ms, 1_789_919_992_000);
    assert_eq!(a.fallbacks[0].to_ms, 1_789_919_994_000);
    assert_eq!(
        (a.rundown_day.as_deref(), a.rundown_version),
        (Some("2026-09-20"), Some(3))
    );
    assert_eq!(a.air_day, "2026-09-20");
    let b = &all[1];
    assert_eq!(b.air_day, "2026-09-21", "after midnight in Beijing");
    assert_eq!(b.end_reason, None, "cut short by the kill, still logged");

    // A completed airing is not changed again.
    assert!(matches!(
        log.record_end(&a.airing_key, 0, 0, "cut").await,
        Err(Error::NotFound { .. })
    ));
    let again = log.query(&AsRunQuery::default()).await.expect("query");
    assert_eq!(again[0], all[0]);

    let by = |day: Option<&str>, work: Option<i64>, unit: Option<i64>| AsRunQuery {
        day: day.map(String::from),
        work,
        unit,
    };
    assert_eq!(
        log.query(&by(Some("2026-09-21"), None, None))
            .await
            .expect("q")
            .len(),
        1
    );
    assert_eq!(
        log.query(&by(None, Some(11), None)).await.expect("q")[0].item_id,
        "a"
    );
    assert_eq!(
        log.query(&by(None, None, Some(2))).await.expect("q")[0].item_id,
        "b"
    );
    assert!(
        log.query(&by(Some("2026-09-22"), None, None))
            .await
            .expect("q")
            .is_empty()
    );
    assert!(matches!(
        log.query(&by(Some("9月21日"), None, None)).await,
        Err(Error::Invalid { field, .. }) if field == "day"
    ));
    assert_eq!(log.count().await.expect("count"), 2);

    // The restarted daemon closes what the killed one left open, once.
    assert_eq!(log.close_interrupted().await.expect("close"), 1);
    assert_eq!(log.close_interrupted().await.expect("close"), 0);
    let b = log.query(&by(None, Some(12), None)).await.expect("q");
    assert_eq!(b[0].end_reason.as_deref(), Some("interrupted"));
    assert_eq!(b[0].last_frame_ms, None);
}

#[tokio::test]
async fn asrun_over_http_is_scoped_and_exports_csv() {
    let w = world().await;
    let mut rec = AsRunRecorder::new(Rate::PAL);
    rec.cue(info("a", w.works[0], w.units[0], "深海探秘"));
    rec.cue(info("b", w.works[1], w.units[1], "星空"));
    feed(&w.asrun, &mut rec, &events()).await;

    let (s, v) = json(&w.app, "GET", "/api/v1/asrun", Some(&w.operator), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().expect("list").len(), 2);
    let (_, v) = json(
        &w.app,
        "GET",
        "/api/v1/asrun?day=2026-09-21",
        Some(&w.operator),
        None,
    )
    .await;
    assert_eq!(v[0]["item_id"], "b");

    // A partner sees its own unit only, and may not ask for another.
    let (s, v) = json(&w.app, "GET", "/api/v1/asrun", Some(&w.partner), None).await;
    assert_eq!(s, StatusCode::OK);
    let items: Vec<&str> = v
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|x| x["item_id"].as_str())
        .collect();
    assert_eq!(items, vec!["a"]);
    let (s, _) = json(
        &w.app,
        "GET",
        &format!("/api/v1/asrun?unit={}", w.units[1]),
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(&w.app, "GET", "/api/v1/asrun.csv", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Bad queries are 400 with a message, never a 500.
    for q in ["day=yesterday", "work=abc", "colour=red"] {
        let (s, v) = json(
            &w.app,
            "GET",
            &format!("/api/v1/asrun?{q}"),
            Some(&w.operator),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }

    let (s, body, h) = call(
        &w.app,
        "GET",
        "/api/v1/asrun.csv?day=2026-09-20",
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    assert!(body.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(body[3..].to_vec()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "节目名称,报送单位,开始时间,结束时间,时长,来源,结束原因,垫片,录像"
    );
    assert_eq!(
        lines[1],
        "深海探秘,中国科学院深海科学与工程研究所,2026-09-20 23:59:50,2026-09-21 00:00:09,00:00:20,/media/a.mp4,正常结束,23:59:52–23:59:54 垫片：source failed: 源文件读取失败,"
    );
    assert_eq!(lines.len(), 2);
}

#[tokio::test]
async fn a_live_airings_recording_is_added_after_its_end_once_and_shown() {
    use kepu_playout::asrun::AiringRecording;
    use kepu_playout::asrun::recorder::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("asrun.db");
    let store = Store::open(path.to_str().expect("utf-8"))
        .await
        .expect("migrates");
    let log = AsRunLog::new(store);
    let mut rec = AsRunRecorder::new(Rate::PAL);
    rec.cue(info("a", 11, 1, "深海探秘"));
    feed(&log, &mut rec, &events()[..5]).await;
    let key = log.query(&AsRunQuery::default()).await.expect("query")[0]
        .airing_key
        .clone();
    let r = AiringRecording {
        name: "feed3-20260920T155950Z".into(),
        segments: 2,
        bytes: 1_234_567,
    };
    let w = Write::Recording {
        key: key.clone(),
        recording: r.clone(),
    };
    // Added to the completed row; a retry (the answer lost) writes the same facts.
    log.apply(&w).await.expect("recording");
    log.apply(&w).await.expect("retry");
    let a = &log.query(&AsRunQuery::default()).await.expect("query")[0];
    assert_eq!(a.recording.as_ref(), Some(&r));
    assert_eq!(a.end_reason.as_deref(), Some("complete"));
    // No such airing: refused (the writer drops it instead of blocking its queue).
    assert!(matches!(
        log.apply(&Write::Recording {
            key: "nothing@1".into(),
            recording: r,
        })
        .await,
        Err(Error::NotFound { .. })
    ));
}
