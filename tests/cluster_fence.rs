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

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
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
    wait_for(
        "a poller write in flight on the main",
        Duration::from_secs(7),
        || watch_polls(&a).is_some_and(|t| t.elapsed() < Duration::from_millis(HOLD_MS - 2000)),
    );
    assert!(
        cert_seen.elapsed() < Duration::from_millis(HOLD_MS - 1000),
        "the certificate pass is still held"
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
        "the main's two late writes refused",
        Duration::from_secs(15),
        || count_in_log(&a, refused) >= 2,
    );
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
