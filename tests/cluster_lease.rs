//! The jobs' lease on a real PostgreSQL: of two nodes exactly one leads; a leader cut off
//! from the database (its connection through a proxy the test drops) stops acting as leader
//! before the other takes over with a higher epoch — never two leaders at once — and on its
//! return it does not take the lease back.

mod catalog_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kepu_playout::cluster::Leader;
use kepu_playout::cluster::lease::{LeaseSettings, spawn};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy to the database that can be cut (existing connections dropped, new ones
/// refused) and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cut_rx) = tokio::sync::watch::channel(0u64);
        let up2 = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = l.accept().await else {
                    continue;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut_rx = cut_rx.clone();
                tokio::spawn(async move {
                    let Ok(mut out) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Proxy { port, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn settings(holder: &str) -> LeaseSettings {
    LeaseSettings {
        job: "jobs".into(),
        holder: holder.into(),
        ttl: Duration::from_millis(1500),
        timeout: Duration::from_millis(300),
    }
}

/// Waits (bounded) until `f` holds, sampling that two leaders never coexist.
async fn until(a: &Leader, b: &Leader, what: &str, f: impl Fn(bool, bool) -> bool) -> Duration {
    let t = Instant::now();
    loop {
        let (x, y) = (a.is_leader(), b.is_leader());
        assert!(!(x && y), "two leaders at once ({what})");
        if f(x, y) {
            return t.elapsed();
        }
        assert!(t.elapsed() < Duration::from_secs(15), "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_steps_down_before_the_other_takes_over() {
    let Some(_catalog) = catalog_common::fresh_pg("kepu_lease").await else {
        return;
    };
    let admin = std::env::var("KEPU_TEST_POSTGRES_URL").expect("url");
    // The database fresh_pg made is the newest kepu_lease_* one; the lease table lives there.
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_string();
    let db: String = {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin).await.expect("admin");
        sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE datname LIKE 'kepu_lease_%' \
             ORDER BY oid DESC LIMIT 1",
        )
        .fetch_one(&mut c)
        .await
        .expect("database")
    };
    let hostport = base
        .rsplit_once('@')
        .map(|(_, h)| h.to_string())
        .expect("host:port in the URL");
    let proxy = Proxy::start(hostport.clone()).await;
    let via_proxy = format!(
        "{}@127.0.0.1:{}/{db}",
        base.rsplit_once('@').expect("@").0,
        proxy.port
    );
    let direct = format!("{base}/{db}");

    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let (a, _) = spawn(via_proxy, settings("node-a"), stop.clone());
    let t = Instant::now();
    while !a.is_leader() {
        assert!(t.elapsed() < Duration::from_secs(15), "a never led");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (b, _) = spawn(direct.clone(), settings("node-b"), stop.clone());
    // b waits: a holds the lock and the row.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    until(&a, &b, "a still leads", |x, y| x && !y).await;
    let e1 = a.epoch().expect("a's epoch");

    proxy.cut();
    let cut_at = Instant::now();
    let stepped_down = until(&a, &b, "a steps down", |x, _| !x).await;
    until(&a, &b, "b takes over", |_, y| y).await;
    eprintln!(
        "cut off: a stepped down after {} ms, b led after {} ms",
        stepped_down.as_millis(),
        cut_at.elapsed().as_millis()
    );
    assert!(
        stepped_down <= Duration::from_millis(1500),
        "{stepped_down:?}"
    );
    let e2 = b.epoch().expect("b's epoch");
    assert!(e2 > e1, "a new holder has a higher epoch: {e1} → {e2}");

    // a returns: b keeps the lease.
    proxy.restore();
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(3000) {
        assert!(!a.is_leader(), "a took the lease back");
        assert!(b.is_leader(), "b lost the lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(b.epoch(), Some(e2));
}
