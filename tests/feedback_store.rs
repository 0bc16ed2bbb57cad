//! The 数据反馈 storage on both backends, by the same steps: channels with hashed tokens,
//! a batch, its replay (counted once), a correction, the minute buckets recomputed from the
//! raw events, attribution through an as-run row, and a platform's own messages (counted
//! once per message id, same-instant ones added). SQLite always; PostgreSQL when
//! `KEPU_TEST_POSTGRES_URL` is set (`./run.sh test` starts one; in CI it must be set).

mod catalog_common;

use std::collections::HashMap;

use kepu_playout::asrun::recorder::ItemInfo;
use kepu_playout::asrun::{AsRunLog, NewAiring};
use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::model::NewUnit;
use kepu_playout::feedback::model::{Figure, Kind, Source};
use kepu_playout::feedback::repo::NewChannel;
use kepu_playout::feedback::{Feedback, FeedbackOptions};
use kepu_playout::metrics::Metrics;

/// 2026-09-01 12:00 in Beijing.
const T: i64 = 1_788_235_200_000;
const MIN: i64 = 60_000;

fn fig(channel_id: i64, at_ms: i64, kind: Kind, value: i64, cumulative: bool) -> Figure {
    Figure {
        channel_id,
        at_ms,
        kind,
        value,
        cumulative,
        source: Source::Api,
        as_of_ms: None,
    }
}

async fn exercise(catalog: Catalog) {
    let unit = catalog
        .create_unit(&NewUnit {
            name: "中国科学技术馆".into(),
            ..NewUnit::default()
        })
        .await
        .expect("unit");
    let asrun = AsRunLog::new(catalog.store().clone());
    let metrics = Metrics::new().expect("metrics");
    let fb = Feedback::new(
        catalog.clone(),
        asrun.clone(),
        metrics.clone(),
        FeedbackOptions::default(),
    );
    let issued = fb
        .store
        .create_channel(&NewChannel {
            unit_id: Some(unit.id),
            platform: "bilibili".into(),
            account_name: "科技馆B站".into(),
            room_url: Some("https://live.bilibili.com/9".into()),
            active: None,
        })
        .await
        .expect("channel");
    let ch = issued.channel.clone();
    assert_eq!(ch.unit_id, Some(unit.id));
    assert_eq!(
        fb.store
            .channel_by_token(&issued.token)
            .await
            .expect("lookup")
            .map(|c| c.id),
        Some(ch.id)
    );
    assert!(
        fb.store
            .channel_by_token("fb_nope")
            .await
            .expect("lookup")
            .is_none()
    );
    let own = fb
        .store
        .own_channel("kepu_hls", "本站直播")
        .await
        .expect("own");
    assert_eq!(own.unit_id, None);
    assert_eq!(
        fb.store
            .own_channel("kepu_hls", "本站直播")
            .await
            .expect("again")
            .id,
        own.id
    );

    let chans = HashMap::from([(ch.id, ch.clone())]);
    let batch = [
        fig(ch.id, T, Kind::Viewers, 100, false),
        fig(ch.id, T + 20_000, Kind::Viewers, 180, false),
        fig(ch.id, T + 40_000, Kind::Viewers, 150, false),
        fig(ch.id, T, Kind::Likes, 1000, true),
        fig(ch.id, T + 10 * MIN, Kind::Likes, 1600, true),
    ];
    let r = fb.ingest(&batch, &chans).await.expect("ingest");
    assert_eq!((r.inserted, r.duplicates, r.corrected), (5, 0, 0));
    let r = fb.ingest(&batch, &chans).await.expect("replay");
    assert_eq!(
        (r.inserted, r.duplicates, r.corrected),
        (0, 5, 0),
        "a replay counts once"
    );
    assert_eq!(fb.store.count().await.expect("count"), 5);
    let r = fb
        .ingest(&[fig(ch.id, T + 40_000, Kind::Viewers, 160, false)], &chans)
        .await
        .expect("correction");
    assert_eq!(r.corrected, 1);

    let minutes = fb.store.minutes(T, T + 20 * MIN).await.expect("minutes");
    let v = minutes
        .iter()
        .find(|b| b.kind == "viewers" && b.minute_ms == T)
        .expect("a viewers bucket");
    assert_eq!(
        (v.n, v.value_sum, v.value_max, v.value_last, v.last_at_ms),
        (3, 440, 180, 160, T + 40_000),
        "recomputed after the correction"
    );
    assert_eq!(minutes.len(), 3, "{minutes:?}");

    // An airing of 10 minutes: likes 1000 → 1600 across it; viewers peak 180.
    let key = format!("a@{T}");
    asrun
        .record_start(&NewAiring {
            key: key.clone(),
            info: ItemInfo {
                item_id: "a".into(),
                work_id: None,
                unit_id: Some(unit.id),
                title: "科技馆探访".into(),
                source: "a.mp4".into(),
                planned_start_ms: Some(T),
                rundown_day: Some("2026-09-01".into()),
                rundown_version: Some(1),
                gain_mdb: None,
            },
            first_frame_ms: T,
        })
        .await
        .expect("start");
    asrun
        .record_end(&key, T + 10 * MIN, 15_000, "completed")
        .await
        .expect("end");
    // The rundown day it aired from: its item at 12:00 is in the section 探创新.
    let day: kepu_playout::rundown::Day = serde_json::from_value(serde_json::json!({
        "date": "2026-09-01", "edition": "2026", "time_zone": "Asia/Shanghai",
        "rate": {"num": 25, "den": 1},
        "start": "2026-08-31T16:00:00Z", "end": "2026-09-01T16:00:00Z",
        "items": [{"start": "2026-09-01T04:00:00Z", "frames": 15000, "kind": "work",
                   "title": "科技馆探访", "source": "a.mp4", "section": "探创新"}],
    }))
    .expect("a day");
    let saved = kepu_playout::rundown_db::DbDayStore::new(catalog.store().clone())
        .save_async(&day, "test", "known day", chrono::Utc::now())
        .await
        .expect("day saved");
    assert_eq!(saved.version, 1);
    let (a, channels) = fb
        .attribute(T - 60 * MIN, T + 60 * MIN, Some(unit.id), T + 60 * MIN)
        .await
        .expect("attribute");
    assert_eq!(
        channels.len(),
        1,
        "the organiser's channel is not the unit's"
    );
    assert_eq!(a.programmes.len(), 1);
    let p = &a.programmes[0].audience;
    assert_eq!((p.peak_viewers, p.interactions), (180, 600));
    assert_eq!(a.units[&unit.id].relays, 1);
    assert_eq!(a.sections["探创新"].airings, 1, "{:?}", a.sections);
    assert!(
        metrics
            .render()
            .contains("kepu_feedback_events_total{source=\"api\"} 6")
    );
    assert!(
        metrics
            .render()
            .contains("kepu_feedback_viewers{platform=\"bilibili\"}")
    );
}

#[tokio::test]
async fn feedback_store_on_sqlite() {
    let (_dir, catalog) = catalog_common::fresh(2026).await;
    exercise(catalog).await;
}

#[tokio::test]
async fn feedback_store_on_postgres() {
    let Some(catalog) = catalog_common::fresh_pg("kepu_fb").await else {
        return;
    };
    exercise(catalog).await;
}

/// A platform's own messages: a message id counts once, messages of the same instant add up,
/// and the minute bucket follows.
async fn native_steps(catalog: Catalog) {
    use kepu_playout::feedback::native::NativeEvent;
    let fb = Feedback::new(
        catalog.clone(),
        AsRunLog::new(catalog.store().clone()),
        Metrics::new().expect("metrics"),
        FeedbackOptions::default(),
    );
    let c = fb
        .store
        .create_channel(&NewChannel {
            unit_id: None,
            platform: "douyin".into(),
            account_name: "主办方抖音".into(),
            room_url: None,
            active: None,
        })
        .await
        .expect("channel")
        .channel;
    let ev = |id: &str, kind: Kind, at_ms: i64, value: i64| NativeEvent {
        msg_id: id.into(),
        kind,
        at_ms,
        value,
    };
    let first = [
        ev("l1", Kind::Likes, T, 3),
        ev("l2", Kind::Likes, T, 2),
        ev("c1", Kind::Comments, T + 1000, 1),
    ];
    let r = fb.ingest_native(&c, &first).await.expect("first");
    assert_eq!((r.counted, r.duplicates, r.figures), (3, 0, 2));
    // Delivered again with one more like at the same instant: only that one adds.
    let again = [
        ev("l1", Kind::Likes, T, 3),
        ev("l3", Kind::Likes, T, 4),
        ev("c1", Kind::Comments, T + 1000, 1),
    ];
    let r = fb.ingest_native(&c, &again).await.expect("again");
    assert_eq!((r.counted, r.duplicates, r.figures), (1, 2, 1));
    let figs = fb
        .store
        .figures(&[c.id], T - 1000, T + 5000, 100)
        .await
        .expect("figures");
    let got: Vec<(String, i64, i64, String)> = figs
        .iter()
        .map(|f| (f.kind.clone(), f.value, f.cumulative, f.source.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("likes".into(), 9, 0, "webhook".into()),
            ("comments".into(), 1, 0, "webhook".into()),
        ]
    );
    let buckets = fb.store.minutes(T, T + 60_000).await.expect("minutes");
    let likes = buckets
        .iter()
        .find(|b| b.channel_id == c.id && b.kind == "likes")
        .expect("likes bucket");
    assert_eq!(likes.value_sum, 9);
}

#[tokio::test]
async fn native_messages_on_sqlite() {
    let (_dir, catalog) = catalog_common::fresh(2026).await;
    native_steps(catalog).await;
}

#[tokio::test]
async fn native_messages_on_postgres() {
    let Some(catalog) = catalog_common::fresh_pg("kepu_fb_native").await else {
        return;
    };
    native_steps(catalog).await;
}
