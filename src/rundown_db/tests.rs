//! `DbDayStore` on a fresh SQLite file through the real migrations, used through the
//! synchronous `DayStore` trait as the file CLI and the builder see it.

use chrono::{DateTime, NaiveDate, Utc};

use super::DbDayStore;
use crate::rundown::store::{DayStore, Lock, StoreError};
use crate::rundown::{Day, DayItem, FrameRate, ItemKind, time::day_bounds};
use crate::store::Store;

fn day(date: NaiveDate, title: &str) -> Day {
    let tz = chrono_tz::Asia::Shanghai;
    let (start, end) = day_bounds(tz, date);
    let rate = FrameRate::default();
    Day {
        date,
        edition: "2026".into(),
        time_zone: "Asia/Shanghai".into(),
        rate,
        start,
        end,
        items: vec![DayItem {
            start,
            frames: rate.frames_between(start, end).max(0) as u64,
            in_frames: 0,
            kind: ItemKind::Slate,
            work_id: None,
            feed_id: None,
            title: title.into(),
            source: "slate.png".into(),
            section: "等待".into(),
            block: String::new(),
            unit: String::new(),
            unit_id: None,
            copyright_holder: String::new(),
            categories: Vec::new(),
            premiere: false,
            pinned: false,
            cut: false,
        }],
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

#[test]
fn versions_locks_and_restore_through_the_trait() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.db");
    let store = rt
        .block_on(Store::open(path.to_str().expect("utf-8")))
        .expect("fresh store migrates");
    let mut s = rt.block_on(async { DbDayStore::new(store) });
    let d = NaiveDate::from_ymd_opt(2026, 9, 3).expect("date");

    assert!(s.load(d, None).expect("load").is_none());
    let v1 = s
        .save(
            &day(d, "甲"),
            "builder",
            "自动编排",
            at("2026-08-20T01:00:00Z"),
        )
        .expect("save v1");
    assert_eq!(v1.version, 1);
    // Unchanged bytes: no new version, the old meta comes back.
    let again = s
        .save(&day(d, "甲"), "someone", "再存", at("2026-08-21T01:00:00Z"))
        .expect("save same");
    assert_eq!(again, v1);
    let v2 = s
        .save(&day(d, "乙"), "张三", "换片", at("2026-08-22T01:00:00Z"))
        .expect("save v2");
    assert_eq!(v2.version, 2);
    let metas = s.versions(d).expect("versions");
    assert_eq!(metas.len(), 2);
    assert_eq!(metas[1].author, "张三");
    assert_eq!(metas[1].reason, "换片");
    assert_eq!(metas[1].at, at("2026-08-22T01:00:00Z"));

    let v3 = s
        .restore(d, 1, "李四", at("2026-08-23T01:00:00Z"))
        .expect("restore");
    assert_eq!(v3.version, 3);
    let (_, back) = s.load(d, None).expect("load").expect("current");
    assert_eq!(back.to_canonical_json(), day(d, "甲").to_canonical_json());
    assert!(matches!(
        s.restore(d, 9, "李四", at("2026-08-23T01:00:00Z")),
        Err(StoreError::NotFound {
            version: Some(9),
            ..
        })
    ));

    let lock = Lock {
        by: "值班长".into(),
        at: at("2026-08-24T01:00:00Z"),
        reason: "国庆特别节目".into(),
    };
    s.set_lock(d, Some(lock.clone())).expect("lock");
    assert_eq!(s.lock(d).expect("lock read"), Some(lock));
    s.set_lock(d, None).expect("unlock");
    assert_eq!(s.lock(d).expect("lock read"), None);
    assert_eq!(s.dates().expect("dates"), vec![d]);
    assert_eq!(s.latest_days().expect("latest").len(), 1);
}
