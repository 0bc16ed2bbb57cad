//! The fault suite's set-up and judges (`tests/cluster_faults.rs`), so each fault states
//! only what differs: a PostgreSQL of the fault's own ([`super::TestPostgres`], which the
//! fault may stop), works for the six item colours and white (5 s each), a day of `n` items
//! from [`t0`] cycling the colours, and nodes of the pair ([`Node`]), each with its own
//! nginx-rtmp receiver, started on the programme clock that puts t0 ten seconds after the
//! set-up. Judged with ffmpeg at the receivers ([`runs`], [`discontinuities`]) and in the
//! database ([`asrun_rows`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kepu_playout::rundown::DayItem;
use testkit::palette::{self, Colour};
use testkit::{NginxRtmp, probe};

use super::{PgWorld, TestPostgres, log_of, node_config, pg_world_on, start_node_env};
use crate::serve_common::{Daemon, clip, day_with, item_of, offset_for, work};

/// The colours the judges tell apart.
pub const PALETTE: [Colour; 8] = palette::ALL;

/// Item colours in turn (white is kept for inserted items).
pub const CYCLE: [Colour; 6] = [
    palette::RED,
    palette::GREEN,
    palette::BLUE,
    palette::YELLOW,
    palette::MAGENTA,
    palette::CYAN,
];

/// The log level of the nodes unless a fault says otherwise.
pub const LEVEL: &str = "kepu_playout=info,playout=warn";

/// The colour's index in [`PALETTE`].
pub fn ci(c: Colour) -> Option<usize> {
    PALETTE.iter().position(|p| *p == c)
}

/// The first item's start: 2026-09-01 20:00 Beijing time.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T20:00:00+08:00")
        .expect("instant")
        .with_timezone(&Utc)
}

/// `ms` after [`t0`].
pub fn at(ms: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::milliseconds(ms)
}

/// The world of a fault: its own PostgreSQL, the works, the day saved, and the programme
/// clock's offset (t0 comes 10 s after [`setup`] returns).
pub struct Setup {
    pub pg: TestPostgres,
    pub world: PgWorld,
    pub rt: tokio::runtime::Runtime,
    /// The nodes' `[air] clock_offset_ms`.
    pub offset: i64,
}

/// A fault's world with a day of `n` items (database `PREFIX_…`); `None` where PostgreSQL
/// is not installed (outside CI).
pub fn setup(prefix: &str, n: usize) -> Option<Setup> {
    let pg = TestPostgres::start()?;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut colours = CYCLE.to_vec();
    colours.push(palette::WHITE);
    let works: Vec<_> = colours
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = clip(dir.path(), *c, 400.0 + 200.0 * i as f64, 125);
            work(&format!("{}{i}", c.name), &path, 125)
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(pg_world_on(&pg.url(), dir, prefix, works));
    let items = (0..n).map(|i| item_of(&world.works[i % 6])).collect();
    let s = Setup {
        pg,
        world,
        rt,
        offset: 0,
    };
    s.save_day(items);
    Some(Setup {
        offset: offset_for(t0(), Duration::from_secs(10)),
        ..s
    })
}

/// A node of the pair as a fault runs it: its receiver, config, API address and log.
pub struct Node {
    pub name: String,
    pub rx: NginxRtmp,
    pub cfg: PathBuf,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Setup {
    /// Node `name` (its role the same: `main` or `backup`) with a receiver of its own and
    /// its config written; not started.
    pub fn node(&self, name: &str) -> Node {
        let rx = NginxRtmp::start().expect("nginx");
        let (cfg, addr) = node_config(&self.world, name, name, &rx.url(), self.offset);
        Node {
            name: name.into(),
            rx,
            cfg,
            addr,
            log: log_of(&self.world, name),
        }
    }

    /// Saves the fault's day (2026-09-01) with `items` from t0, as a new version: the
    /// nodes running re-read it.
    pub fn save_day(&self, items: Vec<DayItem>) {
        let day = day_with("2026-09-01".parse().expect("date"), t0(), items);
        let days = kepu_playout::rundown_db::DbDayStore::new(self.world.catalog.store().clone());
        self.rt
            .block_on(days.save_async(&day, "test", "fault day", Utc::now()))
            .expect("save day");
    }

    /// `ms` after t0 by the programme clock, waited for.
    pub fn until(&self, ms: i64) {
        crate::serve_common::sleep_until_programme(at(ms), self.offset);
    }
}

impl Node {
    /// Appends `lines` to its config: bare keys land in `[air]` (the last section written),
    /// or a section of their own.
    pub fn append_config(&self, lines: &str) -> &Self {
        let mut text = std::fs::read_to_string(&self.cfg).expect("config");
        text.push_str(lines);
        std::fs::write(&self.cfg, text).expect("config");
        self
    }

    /// Starts it at [`LEVEL`], its log in its file; waits until it answers.
    pub fn start(&self) -> Daemon {
        self.start_with(&self.log, LEVEL, &[])
    }

    /// Starts it with its output on `out`, at `level`, with `env` added.
    pub fn start_with(&self, out: &Path, level: &str, env: &[(&str, &str)]) -> Daemon {
        start_node_env(&self.cfg, self.addr, out, level, env)
    }

    /// Its receiver's recordings, one per publish, once the receiver is idle and stopped.
    pub fn recordings(&mut self) -> Vec<PathBuf> {
        self.rx
            .wait_idle(Duration::from_secs(15))
            .expect("receiver idle");
        self.rx.stop().expect("stop nginx");
        self.rx.recordings().expect("recordings")
    }

    /// Its receiver's only recording, once the receiver is idle and stopped.
    pub fn recording(&mut self) -> PathBuf {
        self.rx
            .wait_idle(Duration::from_secs(15))
            .expect("receiver idle");
        self.rx.stop().expect("stop nginx");
        self.rx.recording_path().expect("recording")
    }
}

/// The colour runs of a recording from its first item colour to its last (the slate reads
/// black), and the whole recording described.
pub fn runs(rec: &Path) -> (Vec<(Option<usize>, usize)>, String) {
    let frames = probe::frame_colours(rec).expect("colours");
    let runs = probe::colour_runs(&frames, &PALETTE);
    let text = probe::describe_colour_runs(&runs, &PALETTE);
    let start = runs
        .iter()
        .position(|r| r.colour.is_some() && r.colour != ci(palette::BLACK))
        .unwrap_or(runs.len());
    let end = runs
        .iter()
        .rposition(|r| r.colour.is_some() && r.colour != ci(palette::BLACK))
        .map_or(start, |e| e + 1);
    (
        runs[start..end.max(start)]
            .iter()
            .map(|r| (r.colour, r.frames))
            .collect(),
        text,
    )
}

/// Continuity violations of a recording (video frame steps, audio gaps), described.
pub fn discontinuities(rec: &Path) -> Vec<String> {
    let pk = probe::packets(rec).expect("packets");
    let mut out = Vec::new();
    let v = pk.video_steps_exact(25, 1, Duration::from_micros(1500));
    if !v.is_empty() {
        out.push(format!("video: {}", probe::describe_violations(&v)));
    }
    let a = pk.audio_continuity(Duration::from_millis(2));
    if !a.is_empty() {
        out.push(format!("audio: {}", probe::describe_violations(&a)));
    }
    out
}

/// Items `colours` whole (125 frames each).
pub fn whole(colours: &[Colour]) -> Vec<(Option<usize>, usize)> {
    colours.iter().map(|c| (ci(*c), 125)).collect()
}

/// An as-run row as the judges read it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Row {
    pub node: String,
    pub airing_key: String,
    pub title: String,
    pub first_frame_ms: i64,
    pub frames: Option<i64>,
    pub end_reason: Option<String>,
}

/// The works' as-run rows of both nodes, by node and first frame (the database back).
pub fn asrun_rows(s: &Setup) -> Vec<Row> {
    s.rt.block_on(async {
        let store = kepu_playout::store::Store::open(&s.world.url)
            .await
            .expect("database back");
        sqlx::query_as::<_, Row>(
            "SELECT node, airing_key, title, first_frame_ms, frames, end_reason FROM asrun \
             WHERE work_id IS NOT NULL ORDER BY node, first_frame_ms, id",
        )
        .fetch_all(store.pool())
        .await
        .expect("as-run rows")
    })
}

/// The rows of `node`.
pub fn of_node<'a>(rows: &'a [Row], node: &str) -> Vec<&'a Row> {
    rows.iter().filter(|r| r.node == node).collect()
}

/// Stops each node with SIGTERM, asserting a clean exit, and says so in the report.
pub fn stop_all(nodes: &mut [(&mut Daemon, &str)], report: &mut super::Report) {
    for (d, who) in nodes.iter_mut() {
        let st = d.terminate();
        assert!(st.success(), "{who} clean stop: {st}\n{}", d.log_text());
        report.line(format!("{who}: SIGTERM → clean exit ({st})"));
    }
}
