//! Harness of the daemon tests: the real `kepu-playout serve` process over a SQLite file
//! seeded through the catalog's own functions (works whose files are real coloured clips),
//! days stored at chosen programme times, a rehearsal clock that puts "now" where the test
//! wants it, and a real nginx-rtmp receiver.
#![allow(dead_code)]

#[path = "../rundown_common/mod.rs"]
pub mod rundown_common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use kepu_playout::auth::{Accounts, NewUser, Role};
use kepu_playout::catalog::Catalog;
use kepu_playout::edition::Edition;
use kepu_playout::rundown::time::day_bounds;
use kepu_playout::rundown::{Day, DayItem, FrameRate, ItemKind, Readiness, Work};
use kepu_playout::rundown_db::DbDayStore;
use kepu_playout::store::Store;
use testkit::clips::Clip;
use testkit::palette::Colour;

pub const RATE: FrameRate = FrameRate { num: 25, den: 1 };

/// A clip of `frames` frames in `colour` with a tone, small and quick to make.
pub fn clip(dir: &Path, colour: Colour, tone: f64, frames: u32) -> PathBuf {
    Clip::new(colour, tone)
        .size(320, 180)
        .frames(frames)
        .generate(dir)
        .expect("clip")
}

/// The test's world: a directory, the database, accounts and seeded works.
pub struct World {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub catalog: Catalog,
    pub operator: String,
    pub partner: String,
    /// An administrator (fault drills).
    pub admin: String,
    /// Seeded works with their catalog ids.
    pub works: Vec<Work>,
}

pub fn edition() -> Arc<Edition> {
    Arc::new(Edition::parse(kepu_playout::serve::BUILTIN_EDITION, "built-in").expect("edition"))
}

/// A work of the catalog for a clip (category 2 feeds 悦科普).
pub fn work(title: &str, source: &Path, frames: u64) -> Work {
    Work {
        id: 0,
        title: title.into(),
        unit: "测试科技馆".into(),
        unit_id: 0,
        copyright_holder: "测试科技馆".into(),
        categories: vec![2],
        frames,
        ms: None,
        source: source.display().to_string(),
        premiere_after: None,
        blocked: Vec::new(),
        ready: Readiness {
            tech: true,
            selected: true,
            rights: true,
        },
    }
}

impl World {
    /// A fresh database with an operator and a partner token, and `works` in the catalog.
    pub async fn new(dir: tempfile::TempDir, works: Vec<Work>) -> World {
        let db = dir.path().join("kepu.db");
        let store = Store::open(&db.display().to_string()).await.expect("store");
        let catalog = Catalog::new(store.clone(), edition());
        let ids = rundown_common::seed(&catalog, &works, "2026-07-01").await;
        let works: Vec<Work> = works
            .into_iter()
            .zip(ids)
            .map(|(mut w, id)| {
                w.id = id;
                w
            })
            .collect();
        // The partner account belongs to the first work's unit; each work keeps its own.
        let units = catalog.units().await.expect("units");
        let unit_id = works
            .first()
            .and_then(|w| units.iter().find(|u| u.name == w.unit))
            .unwrap_or(&units[0])
            .id;
        let works: Vec<Work> = works
            .into_iter()
            .map(|mut w| {
                w.unit_id = units
                    .iter()
                    .find(|u| u.name == w.unit)
                    .map_or(unit_id, |u| u.id);
                w
            })
            .collect();
        let accounts = Accounts::new(store.clone());
        let mut tokens = Vec::new();
        for (name, role, unit) in [
            ("op", Role::Operator, None),
            ("unit", Role::Partner, Some(unit_id)),
            ("root", Role::Admin, None),
        ] {
            let u = accounts
                .create_user(&NewUser {
                    username: name.into(),
                    role,
                    unit_id: unit,
                    password: "correct horse battery".into(),
                })
                .await
                .expect("user");
            tokens.push(
                accounts
                    .issue_token(u.id, "test")
                    .await
                    .expect("token")
                    .token,
            );
        }
        World {
            dir,
            db,
            catalog,
            operator: tokens[0].clone(),
            partner: tokens[1].clone(),
            admin: tokens[2].clone(),
            works,
        }
    }

    pub fn days(&self) -> DbDayStore {
        DbDayStore::new(self.catalog.store().clone())
    }

    /// Stores `day` as a new version.
    pub async fn save(&self, day: &Day) {
        self.days()
            .save_async(day, "test", "test day", Utc::now())
            .await
            .expect("save day");
    }
}

/// An item of `w` (its whole length).
pub fn item_of(w: &Work) -> DayItem {
    DayItem {
        start: DateTime::<Utc>::MIN_UTC,
        frames: w.frames,
        in_frames: 0,
        kind: ItemKind::Work,
        work_id: Some(w.id),
        feed_id: None,
        title: w.title.clone(),
        source: w.source.clone(),
        section: "悦科普".into(),
        block: "测试".into(),
        unit: w.unit.clone(),
        unit_id: Some(w.unit_id),
        copyright_holder: w.copyright_holder.clone(),
        categories: w.categories.clone(),
        premiere: false,
        pinned: false,
        cut: false,
    }
}

fn slate(frames: u64) -> DayItem {
    DayItem {
        kind: ItemKind::Slate,
        work_id: None,
        unit_id: None,
        title: "等待画面".into(),
        source: "slate.png".into(),
        section: "悦科普".into(),
        ..item_of(&work("slate", Path::new("slate.png"), frames))
    }
}

/// Day `date` with the slate until `from`, then `items` back to back, then the slate until
/// midnight (either slate is left out when it would be empty).
pub fn day_with(date: NaiveDate, from: DateTime<Utc>, items: Vec<DayItem>) -> Day {
    let (start, end) = day_bounds(chrono_tz::Asia::Shanghai, date);
    let mut out = Vec::new();
    let mut at = RATE.frames_between(start, from).max(0) as u64;
    if at > 0 {
        let mut s = slate(at);
        s.start = start;
        out.push(s);
    }
    for mut it in items {
        it.start = RATE.add(start, at);
        at += it.frames;
        out.push(it);
    }
    let total = RATE.frames_between(start, end) as u64;
    if at < total {
        let mut s = slate(total - at);
        s.start = RATE.add(start, at);
        out.push(s);
    }
    Day {
        date,
        edition: "2026".into(),
        time_zone: "Asia/Shanghai".into(),
        rate: RATE,
        start,
        end,
        items: out,
    }
}

/// The channel config: a small, cheap output to one RTMP receiver, the API on a free port,
/// and a rehearsal clock `offset_ms` from the wall clock.
pub fn write_config(w: &World, rtmp_url: &str, offset_ms: i64) -> (PathBuf, SocketAddr) {
    let port = testkit::ports::free_tcp_port().expect("port");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let cfg = w.dir.path().join("channel.toml");
    let text = format!(
        "[output]\nwidth = 320\nheight = 180\nvideo_kbps = 400\npreset = \"ultrafast\"\nkeyframe_seconds = 1\n\n\
         [[destination]]\nname = \"rx\"\nurl = \"{rtmp_url}\"\n\n\
         [server]\nlisten = \"{addr}\"\ndatabase = \"{}\"\n\n\
         [air]\nlookahead_minutes = 2\nedit_lead_ms = 1000\nclock_offset_ms = {offset_ms}\n",
        w.db.display()
    );
    std::fs::write(&cfg, text).expect("config");
    (cfg, addr)
}

/// The programme-clock offset that puts programme time `at` at `lead` from now.
pub fn offset_for(at: DateTime<Utc>, lead: Duration) -> i64 {
    let wall_then = Utc::now() + chrono::Duration::from_std(lead).expect("lead");
    (at - wall_then).num_milliseconds()
}

/// The running daemon.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `kepu-playout serve` and waits until its API answers.
    pub fn start(cfg: &Path, addr: SocketAddr, log: PathBuf) -> Daemon {
        Self::start_with_env(cfg, addr, log, &[])
    }

    /// `start` with extra environment variables.
    pub fn start_with_env(
        cfg: &Path,
        addr: SocketAddr,
        log: PathBuf,
        env: &[(&str, &str)],
    ) -> Daemon {
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
            .arg("serve")
            .arg("--config")
            .arg(cfg)
            .envs(env.iter().copied())
            .env("KEPU_LOG", "kepu_playout=info,playout=warn")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("serve starts");
        let mut d = Daemon { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("serve exited early ({st}):\n{}", d.log_text());
            }
            if testkit::http::request(addr, "GET", "/metrics", None, None)
                .is_ok_and(|r| r.status == 200)
            {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not answer:\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str, token: &str) -> testkit::http::Response {
        testkit::http::request(self.addr, "GET", path, Some(token), None).expect("GET")
    }

    pub fn post(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> testkit::http::Response {
        testkit::http::json(self.addr, "POST", path, Some(token), &body).expect("POST")
    }

    /// SIGTERM, then waits (bounded) for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// kill -9.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (bounded) until programme time reaches `t` under the daemon's offset.
pub fn sleep_until_programme(t: DateTime<Utc>, offset_ms: i64) {
    let wall = t - chrono::Duration::milliseconds(offset_ms);
    let left = (wall - Utc::now()).to_std().unwrap_or_default();
    assert!(
        left < Duration::from_secs(300),
        "waiting too long: {left:?}"
    );
    std::thread::sleep(left);
}

/// A 20 s clip whose grey level tells the second it is at: luma 16 + 10·s.
pub fn seconds_clip(dir: &std::path::Path) -> std::path::PathBuf {
    let out = dir.join("seconds.mp4");
    let st = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("color=c=black:s=320x180:r=25:d=20,format=yuv420p,geq=lum='16+10*floor(T)':cb=128:cr=128")
        .args(["-f", "lavfi", "-i", "sine=frequency=700:sample_rate=48000:duration=20"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-shortest"])
        .arg(&out)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "seconds clip");
    out
}

/// The second a frame of the seconds clip shows (limited-range grey back to its level).
pub fn second_of(rgb: [u8; 3]) -> i64 {
    let level = f64::from(rgb[1]) * 219.0 / 255.0;
    (level / 10.0).round() as i64
}

/// The benchmarks' programme on air and the engine's counters.
pub mod on_air;
