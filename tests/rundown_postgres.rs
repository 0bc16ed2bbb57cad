//! The rundown's days on PostgreSQL: the 1001 migration, a build from a catalog seeded through
//! its own functions, unchanged days making no version, lock, rebuild and restore. Runs when
//! `KEPU_TEST_POSTGRES_URL` points at a server whose user may create databases (e.g.
//! `postgres://postgres@127.0.0.1:55433/postgres`); skipped otherwise, saying so.

mod catalog_common;
mod rundown_common;

use std::sync::Arc;

use catalog_common::fresh_pg;
use chrono::NaiveDate;
use kepu_playout::rundown::demo;
use kepu_playout::rundown::store::Lock;
use kepu_playout::rundown_db::{DbDayStore, ops};
use kepu_playout::store::Error;
use rundown_common::{seed, seed_feeds, t};

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, day).expect("valid date")
}

#[tokio::test]
async fn days_with_versions_on_postgres() {
    let Some(cat) = fresh_pg("kepu_rundown").await else {
        return;
    };
    seed(&cat, &demo::catalog(9, 60), "2026-07-01").await;
    seed_feeds(&cat).await;
    let days = DbDayStore::new(cat.store().clone());
    let cs = Arc::new(ops::schedule_of(cat.edition()).expect("schedule"));
    let now = t("2026-08-20T09:00:00+08:00");
    let first = ops::build(&cat, &days, cs.clone(), None, now, "编排员", "首次编排")
        .await
        .expect("build");
    assert_eq!(first.saved.len(), 30);
    for (date, day) in days.latest_days_async().await.expect("latest") {
        assert_eq!(day.frames(), 2_160_000, "{date}");
    }
    let again = ops::build(&cat, &days, cs.clone(), None, now, "编排员", "重跑")
        .await
        .expect("rebuild");
    assert!(again.saved.iter().all(|(_, v)| *v == 1));

    let lock = Lock {
        by: "值班长".into(),
        at: now,
        reason: String::new(),
    };
    ops::lock(&days, d(20), lock.clone()).await.expect("lock");
    assert!(matches!(
        ops::lock(&days, d(20), lock).await,
        Err(Error::Conflict(_))
    ));
    let kept = ops::current(&days, d(20)).await.expect("day 20").1;
    seed(&cat, &demo::works(13, 7001, 10, None), "2026-09-14").await;
    ops::build(
        &cat,
        &days,
        cs,
        Some(d(16)),
        t("2026-09-15T12:00:00+08:00"),
        "编排员",
        "晚到作品",
    )
    .await
    .expect("late rebuild");
    let now20 = ops::current(&days, d(20)).await.expect("day 20").1;
    assert_eq!(kept.to_canonical_json(), now20.to_canonical_json());
    let mut rebuilt = None;
    for day in 16..=30 {
        if ops::current(&days, d(day)).await.expect("day").0.version == 2 {
            rebuilt = Some(d(day));
            break;
        }
    }
    let rebuilt = rebuilt.expect("the late works changed at least one day from Sep 16");
    let v3 = ops::restore(&days, rebuilt, 1, "值班长", now)
        .await
        .expect("restore");
    assert_eq!(v3.version, 3);
    let (_, v1) = ops::version(&days, rebuilt, 1).await.expect("v1");
    let (_, cur) = ops::current(&days, rebuilt).await.expect("current");
    assert_eq!(cur.to_canonical_json(), v1.to_canonical_json());
    assert!(matches!(
        ops::restore(&days, d(17), 42, "值班长", now).await,
        Err(Error::NotFound { .. })
    ));
}

/// A feed's backup on PostgreSQL (migration 12001): a work resolves to its accepted file (the
/// most recently probed: a re-probed file added later wins), a path to itself, and a cleared
/// backup is gone — as the air plan's loader reads them.
#[tokio::test]
async fn a_feeds_backup_on_postgres() {
    use kepu_playout::rundown_db::backup::{FeedBackup, set_backup};
    let Some(cat) = fresh_pg("kepu_backup").await else {
        return;
    };
    seed(&cat, &demo::catalog(9, 60), "2026-07-01").await;
    seed_feeds(&cat).await;
    let feed = kepu_playout::rundown_db::source::feeds(&cat)
        .await
        .expect("feeds")[0]
        .id;
    let work = cat.works(None).await.expect("works")[0].id;
    sqlx::query(
        "INSERT INTO media_files (work_id, location, verdict, duration_ms, probed_at_ms, \
         created_at_ms) VALUES ($1, $2, 'pass', 90000, 4000000000000, 1)",
    )
    .bind(work)
    .bind("/srv/kepu/备播-pg.mp4")
    .execute(cat.store().pool())
    .await
    .expect("file row");
    let days = DbDayStore::new(cat.store().clone());
    let as_work = FeedBackup {
        work_id: Some(work),
        path: None,
    };
    set_backup(cat.store(), feed, Some(&as_work))
        .await
        .expect("set as a work");
    let read = days.feed_backups_async().await.expect("backups");
    assert_eq!(
        read.get(&feed).map(String::as_str),
        Some("/srv/kepu/备播-pg.mp4")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, b"x").expect("file");
    let as_path = FeedBackup {
        work_id: None,
        path: Some(clip.display().to_string()),
    };
    set_backup(cat.store(), feed, Some(&as_path))
        .await
        .expect("set as a path");
    let read = days.feed_backups_async().await.expect("backups");
    assert_eq!(read.get(&feed), as_path.path.as_ref());
    set_backup(cat.store(), feed, None).await.expect("cleared");
    assert!(days.feed_backups_async().await.expect("backups").is_empty());
}
