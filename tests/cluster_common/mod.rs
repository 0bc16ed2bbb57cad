//! Harness of the production-pair tests: a fresh database on the test PostgreSQL
//! (`KEPU_TEST_POSTGRES_URL`, started by `./run.sh test`/`faults`), seeded through the
//! catalog's own functions with works whose files are real coloured clips, an operator
//! token, and the channel config of one node (`[node]`, its own receiver, the shared
//! database and programme clock).
#![allow(dead_code)]

pub mod fault;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    let Ok(admin) = std::env::var("KEPU_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KEPU_TEST_POSTGRES_URL is not set in CI: ./run.sh test starts a PostgreSQL server"
        );
        eprintln!("KEPU_TEST_POSTGRES_URL not set: PostgreSQL pair test skipped");
        return None;
    };
    Some(pg_world_on(&admin, dir, prefix, works).await)
}

/// [`pg_world`] on the server of `admin` (a URL whose user may create databases).
pub async fn pg_world_on(
    admin: &str,
    dir: tempfile::TempDir,
    prefix: &str,
    works: Vec<Work>,
) -> PgWorld {
    use sqlx::Connection;
    let admin = admin.to_string();
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
    PgWorld {
        dir,
        url,
        catalog,
        operator,
        works,
    }
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

/// A PostgreSQL server of the test's own (initdb in a temp dir, a free port), which the
/// test may stop and start again — the database going away. Run as the `postgres` user when
/// the test runs as root.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_root: bool,
}

impl TestPostgres {
    /// Starts a server; `None` (said so) where PostgreSQL is not installed, outside CI.
    pub fn start() -> Option<TestPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").is_file())
            .max();
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed in CI: ./run.sh installs it"
            );
            eprintln!("PostgreSQL not installed: fault test skipped");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("kepu-faults-pg.")
            .tempdir()
            .expect("tempdir");
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_root {
            let st = Command::new("chown")
                .args(["postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(st.success(), "chown postgres");
        }
        let port = testkit::ports::free_tcp_port().expect("port");
        let pg = TestPostgres {
            dir,
            bin,
            port,
            as_root,
        };
        let data = pg.dir.path().join("data");
        let st = pg
            .cmd("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust"])
            .stdout(Stdio::null())
            .status()
            .expect("initdb");
        assert!(st.success(), "initdb");
        pg.start_again();
        Some(pg)
    }

    fn cmd(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// The URL of its `postgres` database (the user may create databases).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast: connections are cut).
    pub fn stop(&self) {
        let st = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl stop");
        assert!(st.success(), "pg_ctl stop");
    }

    /// Starts it (again), waiting until it accepts connections.
    pub fn start_again(&self) {
        let st = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "30", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.path().display()
            ))
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(st.success(), "pg_ctl start");
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Starts `kepu-playout serve` with its output on `out` (a file, or `/dev/full` for a log
/// disk that is full) and waits until its API answers.
pub fn start_node(
    cfg: &Path,
    addr: SocketAddr,
    out: &Path,
    log_level: &str,
) -> crate::serve_common::Daemon {
    start_node_env(cfg, addr, out, log_level, &[])
}

/// [`start_node`] with extra environment variables.
pub fn start_node_env(
    cfg: &Path,
    addr: SocketAddr,
    out: &Path,
    log_level: &str,
    env: &[(&str, &str)],
) -> crate::serve_common::Daemon {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("log file");
    let err = file.try_clone().expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
        .arg("serve")
        .arg("--config")
        .arg(cfg)
        .env("KEPU_LOG", log_level)
        .envs(env.iter().copied())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("serve starts");
    let mut d = crate::serve_common::Daemon {
        child,
        addr,
        log: out.to_path_buf(),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(Some(st)) = d.child.try_wait() {
            panic!(
                "serve exited early ({st}):
{}",
                d.log_text()
            );
        }
        if testkit::http::request(addr, "GET", "/healthz", None, None)
            .is_ok_and(|r| r.status == 200)
        {
            return d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not become healthy:
{}",
            d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A section of the fault report (`target/faults/NAME.md`): lines as the fault runs; the
/// verdict is "survived" only when [`Report::survived`] is called (after every check), else
/// the file says the fault was not survived.
pub struct Report {
    path: PathBuf,
    title: String,
    lines: Vec<String>,
    done: bool,
}

impl Report {
    /// A report section `name` (file name) titled `title`.
    pub fn new(name: &str, title: &str) -> Report {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/faults");
        std::fs::create_dir_all(&dir).expect("target/faults");
        Report {
            path: dir.join(format!("{name}.md")),
            title: title.into(),
            lines: Vec::new(),
            done: false,
        }
    }

    /// Adds a line (also printed).
    pub fn line(&mut self, s: impl Into<String>) {
        let s = s.into();
        eprintln!("{s}");
        self.lines.push(s);
        self.write();
    }

    /// Every check passed.
    pub fn survived(mut self) {
        self.done = true;
        self.write();
    }

    fn write(&self) {
        let verdict = if self.done {
            "**survived**"
        } else {
            "**NOT survived** (a check failed or the run was cut short)"
        };
        let mut text = format!(
            "## {}

Verdict: {verdict}

",
            self.title
        );
        for l in &self.lines {
            text.push_str("- ");
            text.push_str(l);
            text.push('\n');
        }
        text.push('\n');
        let _ = std::fs::write(&self.path, text);
    }
}

/// A GET with `token` that may wait up to `limit` for its answer (a request held across a
/// paused node; the test client's own limit is 20 s): the status and the body's text.
pub fn slow_get(
    addr: SocketAddr,
    path: &str,
    token: &str,
    limit: std::time::Duration,
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, limit).expect("connect");
    s.set_read_timeout(Some(limit)).expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer from {addr}{path}: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// Waits until `f` holds, polling every 50 ms; fails naming `what` after `limit`. Returns
/// how long it took.
pub fn wait_for(
    what: &str,
    limit: std::time::Duration,
    mut f: impl FnMut() -> bool,
) -> std::time::Duration {
    let t = std::time::Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.elapsed()
}
