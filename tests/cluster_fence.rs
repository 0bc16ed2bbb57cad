//! Epoch fencing on a real PostgreSQL with the real daemons: the leader of the pair, paused
//! (SIGSTOP) with a certificate pass and a 数据反馈 poller write in flight, sleeps past its
//! lease; the other node takes over with a higher epoch, issues the certificate and polls.
//! The paused node, resumed (SIGCONT), finishes its writes — and the database refuses them:
//! no certificate twice, no poller figure stored under the old epoch.
//!
//! The writes are held in flight by the fault drill `KEPU_DRILL_JOB_HOLD_MS` (with
//! `[air] fault_drills`): the job takes its epoch and reads, then waits before writing.
//! The stats URL is a small HTTP server on loopback whose count grows with every request,
//! so a late write could not pass for a repeat of another.

mod cluster_common;
mod serve_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cluster_common::*;
use kepu_playout::rundown::Work;
use serve_common::*;
use testkit::NginxRtmp;
use testkit::palette;

/// How long the drill holds a write in flight on the leader.
const HOLD_MS: u64 = 8000;

fn signal(d: &Daemon, sig: &str) {
    let st = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(d.child.id().to_string())
        .status()
        .expect("kill");
    assert!(st.success(), "kill -{sig}");
}

/// Lines of `d`'s log containing `what`.
fn count_in_log(d: &Daemon, what: &str) -> usize {
    d.log_text().matches(what).count()
}

#[test]
fn a_leader_paused_past_its_lease_cannot_write_when_it_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let works = vec![
        work("red0", &clip(dir.path(), palette::RED, 440.0, 125), 125),
        work("green1", &clip(dir.path(), palette::GREEN, 660.0, 125), 125),
    ];
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(w) = rt.block_on(pg_world(dir, "kepu_fence", works)) else {
        return;
    };
    let store = w.catalog.store().clone();
    // The day: the two works from t0, which comes 15 s after the nodes start.
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-09-01T20:00:00+08:00")
        .expect("instant")
        .with_timezone(&Utc);
    let offset = offset_for(t0, Duration::from_secs(15));
    let day = day_with(
        "2026-09-01".parse().expect("date"),
        t0,
        w.works.iter().map(item_of).collect(),
    );
    let days = kepu_playout::rundown_db::DbDayStore::new(store.clone());
    rt.block_on(days.save_async(&day, "test", "fence day", Utc::now()))
        .expect("save day");
    // A relay channel and the platform's stats URL: a count that grows with every read.
    let channel = rt
        .block_on(
            kepu_playout::feedback::repo::FeedbackStore::new(store.clone()).create_channel(
                &kepu_playout::feedback::repo::NewChannel {
                    unit_id: None,
                    platform: "bilibili".into(),
                    account_name: "科普之光B站".into(),
                    room_url: None,
                    active: Some(true),
                },
            ),
        )
        .expect("channel")
        .channel
        .id;
    let reads = Arc::new(AtomicI64::new(100));
    let stats_port = {
        let reads = reads.clone();
        let app = axum::Router::new().route(
            "/stats",
            axum::routing::get(move || {
                let n = reads.fetch_add(1, Ordering::SeqCst);
                async move { axum::Json(serde_json::json!({"data": {"online": n}})) }
            }),
        );
        let l = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        rt.spawn(async move { axum::serve(l, app).await });
        port
    };
    let extra = format!(
        "fault_drills = true\n\n[[feedback.poller]]\nname = \"bili\"\nchannel = {channel}\n\
         url = \"http://127.0.0.1:{stats_port}/stats\"\nevery_s = 5\n\
         fields = {{ viewers = \"/data/online\" }}\n"
    );
    let mut rx_a = NginxRtmp::start().expect("nginx");
    let mut rx_b = NginxRtmp::start().expect("nginx");
    let (ca, aa) = node_config(&w, "main", "main", &rx_a.url(), offset);
    let (cb, ab) = node_config(&w, "backup", "backup", &rx_b.url(), offset);
    for c in [&ca, &cb] {
        let mut text = std::fs::read_to_string(c).expect("config");
        text.push_str(&extra);
        std::fs::write(c, text).expect("config");
    }
    let level = "kepu_playout=info,playout=warn";
    let hold = HOLD_MS.to_string();
    let mut a = start_node_env(
        &ca,
        aa,
        &log_of(&w, "main"),
        level,
        &[("KEPU_DRILL_JOB_HOLD_MS", hold.as_str())],
    );
    wait_for("the main leads", Duration::from_secs(20), || {
        a.get("/healthz", "").json()["leader"] == true
    });
    let mut b = start_node(&cb, ab, &log_of(&w, "backup"), level);

    let lease = || {
        rt.block_on(
            sqlx::query_as::<_, (String, i64)>(
                "SELECT holder, epoch FROM node_leases WHERE job = 'jobs'",
            )
            .fetch_one(store.pool()),
        )
        .expect("lease row")
    };
    let (holder, e1) = lease();
    assert_eq!(holder, "main");
    let count = |sql: &str, e: i64| -> i64 {
        rt.block_on(
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .bind(e)
                .fetch_one(store.pool()),
        )
        .expect("count")
    };

    // The first item ends at t0+5 s: the main's certificate pass takes its epoch, reads,
    // and holds. Pause the main while that pass and a poller write are both in flight.
    let cert_hold = "drill: the certificate job holds";
    let poll_hold = "drill: the poller holds";
    // The poller holds HOLD_MS of every HOLD_MS + 5 s: the log is watched throughout, so the
    // start of each of its holds is known (±50 ms).
    let mut polls = 0;
    let mut poll_seen: Option<Instant> = None;
    let mut watch_polls = |a: &Daemon| {
        let n = count_in_log(a, poll_hold);
        if n > polls {
            polls = n;
            poll_seen = Some(Instant::now());
        }
        poll_seen
    };
    wait_for(
        "the main's certificate pass in flight",
        Duration::from_secs(40),
        || {
            watch_polls(&a);
            count_in_log(&a, cert_hold) >= 1
        },
    );
    let cert_seen = Instant::now();
    // An operator asks the main for the first work's certificate meanwhile: the request
    // takes the main's epoch, reads, and holds its write too (the same drill).
    let asked = {
        let (addr, token) = (a.addr, w.operator.clone());
        let path = format!("/api/v1/certificates?work={}", w.works[0].id);
        std::thread::spawn(move || slow_get(addr, &path, &token, Duration::from_secs(120)))
    };
    wait_for(
        "a poller write in flight on the main",
        Duration::from_secs(7),
        || watch_polls(&a).is_some_and(|t| t.elapsed() < Duration::from_millis(HOLD_MS - 2000)),
    );
    // The request began holding meanwhile (it started after the pass: it is held as long).
    wait_for(
        "the operator's certificate request in flight on the main",
        Duration::from_secs(5),
        || count_in_log(&a, "drill: a certificate request holds") >= 1,
    );
    assert!(
        cert_seen.elapsed() < Duration::from_millis(HOLD_MS - 1000),
        "the certificate pass and the request are still held"
    );
    signal(&a, "STOP");
    let figures_e1 = count(
        "SELECT COUNT(*) FROM feedback_events WHERE lease_epoch = $1",
        e1,
    );
    let certs_e1 = count(
        "SELECT COUNT(*) FROM certificates WHERE lease_epoch = $1",
        e1,
    );
    eprintln!("main paused: epoch {e1}, its figures {figures_e1}, its certificates {certs_e1}");
    assert_eq!(certs_e1, 0, "the main's certificate pass was held");

    // The backup takes over once the lease has expired by the database's clock.
    let took = wait_for("the backup leads", Duration::from_secs(20), || {
        b.get("/healthz", "").json()["leader"] == true
    });
    let (holder, e2) = lease();
    assert_eq!(holder, "backup");
    assert!(e2 > e1, "a new epoch: {e1} → {e2}");
    wait_for(
        "the backup issued the certificate and polled",
        Duration::from_secs(15),
        || {
            count(
                "SELECT COUNT(*) FROM certificates WHERE lease_epoch = $1",
                e2,
            ) >= 1
                && count(
                    "SELECT COUNT(*) FROM feedback_events WHERE lease_epoch = $1",
                    e2,
                ) >= 1
        },
    );
    eprintln!(
        "backup led {} ms after the pause with epoch {e2}",
        took.as_millis()
    );

    // Resumed: both held writes go to the database with the old epoch and are refused.
    let refused = "once-only write refused: the lease has moved on";
    signal(&a, "CONT");
    wait_for(
        "the main's three late writes refused",
        Duration::from_secs(15),
        || count_in_log(&a, refused) >= 3,
    );
    // The operator's request is answered: refused, naming the node that leads now.
    let (status, body) = asked.join().expect("request thread");
    eprintln!("the resumed main's answer to the request in flight: {status} {body}");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("「backup」"), "the leader named: {body}");
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM feedback_events WHERE lease_epoch = $1",
            e1
        ),
        figures_e1,
        "no poller figure stored under the old epoch after the takeover"
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM certificates WHERE lease_epoch = $1",
            e1
        ),
        0,
        "no certificate of the old epoch"
    );
    let red = w.works[0].id;
    let per_work: i64 = rt
        .block_on(
            sqlx::query_scalar("SELECT COUNT(*) FROM certificates WHERE work_id = $1")
                .bind(red)
                .fetch_one(store.pool()),
        )
        .expect("count");
    assert_eq!(per_work, 1, "the first work's certificate issued once");
    // Asked again, the main (no longer leading) answers with the backup's certificate.
    let again = a.get(&format!("/api/v1/certificates?work={red}"), &w.operator);
    assert_eq!(again.status, 200, "{}", again.body);
    let issued: String = rt
        .block_on(
            sqlx::query_scalar("SELECT code FROM certificates WHERE work_id = $1")
                .bind(red)
                .fetch_one(store.pool()),
        )
        .expect("code");
    assert_eq!(again.json()[0]["code"], issued.as_str(), "{}", again.body);
    assert!(
        !a.get("/healthz", "").json()["leader"]
            .as_bool()
            .unwrap_or(true),
        "the resumed node knows it no longer leads"
    );
    for (d, who) in [(&mut a, "main"), (&mut b, "backup")] {
        let st = d.terminate();
        assert!(st.success(), "{who} clean stop: {st}\n{}", d.log_text());
    }
    let _ = rx_a.stop();
    let _ = rx_b.stop();
}

/// The message of a refusal (503, `Unavailable`); fails on anything else.
fn refused<T: std::fmt::Debug>(r: kepu_playout::store::Result<T>, who: &str) -> String {
    match r {
        Err(kepu_playout::store::Error::Unavailable(m)) => m,
        other => panic!("{who}: expected a refusal, got {other:?}"),
    }
}

/// Seeds one ended airing of `work` on node `node`, `first_ms` for 5 s.
async fn aired(
    store: &kepu_playout::store::Store,
    node: &str,
    key: &str,
    work: &Work,
    first_ms: i64,
) {
    use kepu_playout::asrun::recorder::ItemInfo;
    use kepu_playout::asrun::{AsRunLog, NewAiring};
    let log = AsRunLog::new(store.clone()).for_node(node);
    let a = NewAiring {
        key: key.into(),
        info: ItemInfo {
            item_id: key.into(),
            work_id: Some(work.id),
            unit_id: Some(work.unit_id),
            title: work.title.clone(),
            source: format!("/media/{key}.mp4"),
            planned_start_ms: Some(first_ms),
            rundown_day: Some(kepu_playout::asrun::air_day_of(first_ms)),
            rundown_version: Some(1),
            gain_mdb: None,
        },
        first_frame_ms: first_ms,
    };
    log.record_start(&a).await.expect("start");
    log.record_end(key, first_ms + 5000, 125, "complete")
        .await
        .expect("end");
}

/// Certificates asked for through the API on the pair (the `Certificates` the API uses, on
/// the real PostgreSQL and its lease row): a node that does not lead stores nothing and
/// names the leader; a node that believes it leads under an epoch that is no longer
/// current is refused by the database the same way; the leader's certificate carries its
/// epoch and is then what every node answers; with nobody leading nothing is issued.
#[test]
fn only_the_leader_issues_a_certificate_asked_for_through_the_api() {
    use kepu_playout::certificate::Certificates;
    use kepu_playout::cluster::Leader;
    use kepu_playout::cluster::lease::Held;

    let dir = tempfile::tempdir().expect("tempdir");
    let works = vec![
        work("red0", &clip(dir.path(), palette::RED, 440.0, 25), 25),
        work("green1", &clip(dir.path(), palette::GREEN, 660.0, 25), 25),
    ];
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let Some(w) = pg_world(dir, "kepu_certfence", works).await else {
            return;
        };
        let store = w.catalog.store().clone();
        // 2026-09-02 20:00 Beijing time.
        let first = 1_788_350_400_000;
        aired(&store, "main-bj", "red0", &w.works[0], first).await;
        aired(&store, "backup-sh", "red0", &w.works[0], first + 40).await;
        // The lease: held by main-bj at epoch 3 for another minute (the database's clock).
        sqlx::query(
            "INSERT INTO node_leases (job, holder, epoch, expires_at_ms) \
             VALUES ('jobs', 'main-bj', 3, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT + 60000)",
        )
        .execute(store.pool())
        .await
        .expect("lease row");
        let stored = |work: i64| {
            let store = store.clone();
            async move {
                sqlx::query_as::<_, (String, Option<i64>)>(
                    "SELECT code, lease_epoch FROM certificates WHERE work_id = $1",
                )
                .bind(work)
                .fetch_all(store.pool())
                .await
                .expect("certificates")
            }
        };
        let asrun = kepu_playout::asrun::AsRunLog::new(store.clone()).for_node("backup-sh");
        let under = |held: Option<Held>| {
            // The receiver keeps the value sent: the belief of a node, fixed for the test.
            let (_, rx) = tokio::sync::watch::channel(held);
            Certificates::new(w.catalog.clone(), asrun.clone())
                .issued_under(Leader::from_watch("jobs", rx), Duration::ZERO)
        };
        let valid = |epoch| {
            Some(Held {
                epoch,
                until: tokio::time::Instant::now() + Duration::from_secs(60),
            })
        };
        let red = w.works[0].id;

        // The backup does not lead: nothing stored, the leader named.
        let m = refused(under(None).for_work(red).await, "a node that does not lead");
        assert!(m.contains("「main-bj」") && m.contains("主控节点"), "{m}");
        assert!(stored(red).await.is_empty(), "a follower stored a certificate");

        // A node that still believes it leads at epoch 2: the database refuses its write.
        let m = refused(under(valid(2)).for_work(red).await, "a stale leader");
        assert!(m.contains("「main-bj」"), "{m}");
        assert!(stored(red).await.is_empty(), "a stale leader stored a certificate");

        // The leader issues, under its epoch; the airing of both nodes counts once.
        let c = under(valid(3))
            .for_work(red)
            .await
            .expect("the leader issues")
            .expect("a certificate");
        assert_eq!(c.airings.len(), 1, "both nodes' rows of one airing count once");
        assert_eq!(stored(red).await, vec![(c.code.clone(), Some(3))]);

        // Every node now answers with that certificate, writing nothing.
        let again = under(None)
            .for_work(red)
            .await
            .expect("a follower reads")
            .expect("the issued certificate");
        assert_eq!(again.code, c.code);
        assert_eq!(stored(red).await.len(), 1);

        // Nobody leads (the lease expired): nothing new is issued, and the answer says so.
        aired(&store, "backup-sh", "green1", &w.works[1], first + 3_600_000).await;
        sqlx::query("UPDATE node_leases SET expires_at_ms = 0")
            .execute(store.pool())
            .await
            .expect("expire");
        let green = w.works[1].id;
        let m = refused(under(None).for_work(green).await, "no leader");
        assert!(m.contains("没有主控节点"), "{m}");
        let m = refused(under(None).for_all(None).await, "no leader, the list");
        assert!(m.contains("没有主控节点"), "{m}");
        assert!(stored(green).await.is_empty());
    });
}
