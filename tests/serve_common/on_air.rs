//! The benchmarks' programme on air (`serve_bench`, `feedback_air_bench`): three coloured
//! clips as works in a rundown of 2026-09-15 from 10:00 Beijing, the real daemon on air to a
//! real nginx-rtmp receiver 2 s into it, the engine's own counters, and at the end the
//! receiver's recording as packets (to judge its continuity).

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use testkit::probe::Packets;
use testkit::{NginxRtmp, palette, probe};

use super::{
    Daemon, World, clip, day_with, item_of, offset_for, sleep_until_programme, work, write_config,
};

/// The programme's start, 2026-09-15 10:00 Beijing.
pub fn bench_t0() -> DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-09-15T10:00:00+08:00")
        .expect("t0")
        .with_timezone(&Utc)
}

/// A world whose works are three clips of `frames` frames (red, green, blue; tones 500,
/// 800, 1100 Hz), aired one after another from [`bench_t0`] in the stored rundown.
pub async fn three_clip_world(dir: tempfile::TempDir, frames: u32) -> World {
    let colours = [palette::RED, palette::GREEN, palette::BLUE];
    let works: Vec<_> = colours
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = clip(dir.path(), *c, 500.0 + 300.0 * i as f64, frames);
            work(&format!("作品{i}"), &p, u64::from(frames))
        })
        .collect();
    let world = World::new(dir, works).await;
    let day = day_with(
        "2026-09-15".parse().expect("date"),
        bench_t0(),
        world.works.iter().map(item_of).collect(),
    );
    world.save(&day).await;
    world
}

/// The real `kepu-playout serve` on air to a local nginx-rtmp receiver.
pub struct OnAir {
    /// The receiver (records what it gets).
    pub rx: NginxRtmp,
    /// The daemon.
    pub daemon: Daemon,
    /// Its API.
    pub addr: SocketAddr,
    /// Programme clock minus wall clock, ms.
    pub offset_ms: i64,
}

impl OnAir {
    /// Starts the receiver and the daemon over `world` and returns 2 s into the programme.
    pub fn start(world: &World) -> OnAir {
        let rx = NginxRtmp::start().expect("nginx");
        let offset_ms = offset_for(bench_t0(), Duration::from_secs(8));
        let (cfg, addr) = write_config(world, &rx.url(), offset_ms);
        let daemon = Daemon::start(&cfg, addr, world.dir.path().join("serve.log"));
        sleep_until_programme(bench_t0() + chrono::Duration::seconds(2), offset_ms);
        OnAir {
            rx,
            daemon,
            addr,
            offset_ms,
        }
    }

    /// The programme clock now, UTC ms.
    pub fn programme_now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.offset_ms
    }

    /// Stops the daemon (which must exit cleanly) and the receiver; the recording's packets.
    pub fn finish(mut self) -> Packets {
        let st = self.daemon.terminate();
        assert!(st.success(), "{}", self.daemon.log_text());
        self.rx.wait_idle(Duration::from_secs(15)).expect("idle");
        self.rx.stop().expect("stop");
        let rec = self.rx.recording_path().expect("recording");
        probe::packets(&rec).expect("packets")
    }
}

/// The engine's counters as `GET /api/v1/air` shows them.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineCounters {
    /// Frames dropped since it started.
    pub dropped: u64,
    /// Frames repeated since it started.
    pub repeated: u64,
    /// Its worst lateness since it started, ns.
    pub max_lateness_ns: u64,
    /// The frame it is at.
    pub frame: u64,
}

/// The engine's counters now, read as `token`.
pub fn engine_counters(d: &Daemon, token: &str) -> EngineCounters {
    let air = d.get("/api/v1/air", token).json();
    let e = &air["engine"];
    let n = |k: &str| e[k].as_u64().unwrap_or(0);
    EngineCounters {
        dropped: n("frames_dropped"),
        repeated: n("frames_repeated"),
        max_lateness_ns: n("max_lateness_ns"),
        frame: n("frame"),
    }
}
