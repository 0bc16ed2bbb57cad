//! Harness of the production-pair tests: a fresh database on the test PostgreSQL
//! (`KEPU_TEST_POSTGRES_URL`, started by `./run.sh test`/`faults`), seeded through the
//! catalog's own functions with works whose files are real coloured clips, an operator
//! token, and the channel config of one node (`[node]`, its own receiver, the shared
//! database and programme clock).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use kepu_playout::auth::{Accounts, NewUser, Role};
use kepu_playout::catalog::Catalog;
use kepu_playout::rundown::Work;
use kepu_playout::store::Store;

use crate::serve_common::{edition, rundown_common};

/// The pair's world: a directory, the database URL, the catalog and an operator token.
pub struct PgWorld {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub catalog: Catalog,
    pub operator: String,
    pub works: Vec<Work>,
}

/// A fresh database on the test server with `works`; `None` (skipped, said so) without
/// `KEPU_TEST_POSTGRES_URL` outside CI.
pub async fn pg_world(dir: tempfile::TempDir, prefix: &str, works: Vec<Work>) -> Option<PgWorld> {
    use sqlx::Connection;
    let Ok(admin) = std::env::var("KEPU_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KEPU_TEST_POSTGRES_URL is not set in CI: ./run.sh test starts a PostgreSQL server"
        );
        eprintln!("KEPU_TEST_POSTGRES_URL not set: PostgreSQL pair test skipped");
        return None;
    };
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let store = Store::open(&url).await.expect("migrates on PostgreSQL");
    let catalog = Catalog::new(store.clone(), edition());
    let ids = rundown_common::seed(&catalog, &works, "2026-07-01").await;
    let units = catalog.units().await.expect("units");
    let works: Vec<Work> = works
        .into_iter()
        .zip(ids)
        .map(|(mut w, id)| {
            w.id = id;
            w.unit_id = units
                .iter()
                .find(|u| u.name == w.unit)
                .map_or(units[0].id, |u| u.id);
            w
        })
        .collect();
    let accounts = Accounts::new(store);
    let u = accounts
        .create_user(&NewUser {
            username: "op".into(),
            role: Role::Operator,
            unit_id: None,
            password: "correct horse battery".into(),
        })
        .await
        .expect("user");
    let operator = accounts
        .issue_token(u.id, "test")
        .await
        .expect("token")
        .token;
    Some(PgWorld {
        dir,
        url,
        catalog,
        operator,
        works,
    })
}

/// The config of node `name` (`role`) pushing to `rtmp_url`, on the world's database, with
/// the programme clock `offset_ms` from the wall clock; written in its own directory.
pub fn node_config(
    w: &PgWorld,
    name: &str,
    role: &str,
    rtmp_url: &str,
    offset_ms: i64,
) -> (PathBuf, SocketAddr) {
    let port = testkit::ports::free_tcp_port().expect("port");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let dir = w.dir.path().join(name);
    std::fs::create_dir_all(&dir).expect("node dir");
    let cfg = dir.join("channel.toml");
    let text = format!(
        "[node]\nname = \"{name}\"\nrole = \"{role}\"\n\n\
         [output]\nwidth = 320\nheight = 180\nvideo_kbps = 400\npreset = \"ultrafast\"\nkeyframe_seconds = 1\n\n\
         [[destination]]\nname = \"rx\"\nurl = \"{rtmp_url}\"\n\n\
         [server]\nlisten = \"{addr}\"\ndatabase = \"{}\"\npreview = false\n\n\
         [air]\nlookahead_minutes = 2\nedit_lead_ms = 1000\nclock_offset_ms = {offset_ms}\n",
        w.url
    );
    std::fs::write(&cfg, text).expect("config");
    (cfg, addr)
}

/// The log file of node `name`.
pub fn log_of(w: &PgWorld, name: &str) -> PathBuf {
    w.dir.path().join(name).join("serve.log")
}

/// Whether `path` exists (for messages).
pub fn exists(path: &Path) -> bool {
    path.exists()
}
