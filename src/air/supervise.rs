//! Engine supervision, without I/O: reads the engine's vital signs ([`HealthSnapshot`]) at
//! a steady pace and says whether frames still flow. The controller acts on the verdict
//! (alarm, in-process restart, systemd's watchdog); this module only decides.
//!
//! Frames flow while both the clock thread ticks frames and the encoder produces packets.
//! A dead clock thread or an encoder that reported an error is a stall at once; counters
//! that stop advancing are a stall after [`STALL_AFTER_NS`]. A fresh engine has
//! [`START_GRACE_NS`] to produce its first packet (starting the encoder on a busy machine
//! takes a while).

use playout::HealthSnapshot;

/// Counters that have not advanced for this long mean the engine has stalled (ns). Below
/// the 1 s the operator is promised, above a loaded machine's longest scheduling hiccup.
pub const STALL_AFTER_NS: u64 = 700_000_000;
/// How long a new engine may take to produce its first packet (ns).
pub const START_GRACE_NS: u64 = 10_000_000_000;

/// What the supervisor concludes from one reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Frames are flowing.
    Flowing,
    /// A new engine has not produced its first packet yet (within its grace).
    Starting,
    /// No frames are going out; why, in Chinese, for the alarm.
    Stalled(String),
}

/// Watches one engine's counters over time.
#[derive(Debug, Clone)]
pub struct StallDetector {
    started_ns: u64,
    last: HealthSnapshot,
    frames_moved_ns: u64,
    packets_moved_ns: u64,
}

impl StallDetector {
    /// A detector for an engine started at `now_ns` (any monotonic nanosecond count).
    pub fn new(now_ns: u64) -> Self {
        Self {
            started_ns: now_ns,
            last: HealthSnapshot::default(),
            frames_moved_ns: now_ns,
            packets_moved_ns: now_ns,
        }
    }

    /// The verdict for the counters `h` read at `now_ns`.
    pub fn observe(&mut self, h: &HealthSnapshot, now_ns: u64) -> Verdict {
        if h.frames_ticked > self.last.frames_ticked {
            self.frames_moved_ns = now_ns;
        }
        if h.packets_encoded > self.last.packets_encoded {
            self.packets_moved_ns = now_ns;
        }
        let first_packet_seen = h.packets_encoded > 0;
        self.last = h.clone();
        if !h.clock_running {
            return Verdict::Stalled("播出时钟线程已停止，不再出帧".into());
        }
        if let Some(e) = &h.encoder_error {
            return Verdict::Stalled(format!("编码器故障：{e}"));
        }
        let since = |t: u64| now_ns.saturating_sub(t);
        if !first_packet_seen {
            if since(self.started_ns) < START_GRACE_NS {
                return Verdict::Starting;
            }
            return Verdict::Stalled(format!(
                "播出引擎启动 {} 秒后仍未编码出任何画面",
                START_GRACE_NS / 1_000_000_000
            ));
        }
        if since(self.frames_moved_ns) > STALL_AFTER_NS {
            return Verdict::Stalled(format!(
                "{} 毫秒没有新的输出帧",
                since(self.frames_moved_ns) / 1_000_000
            ));
        }
        if since(self.packets_moved_ns) > STALL_AFTER_NS {
            return Verdict::Stalled(format!(
                "{} 毫秒编码器没有输出",
                since(self.packets_moved_ns) / 1_000_000
            ));
        }
        Verdict::Flowing
    }

    /// The last instant (same clock as `observe`) at which both counters were seen moving:
    /// where frames stopped going out.
    pub fn last_flowing_ns(&self) -> u64 {
        self.frames_moved_ns.min(self.packets_moved_ns)
    }
}

/// systemd's watchdog (`WatchdogSec=` in the unit): `WATCHDOG=1` is sent only while frames
/// flow, at half the interval systemd expects, so a process whose engine is dead and not
/// restarted is killed and restarted by systemd.
#[derive(Debug, Clone)]
pub struct Watchdog {
    every_ns: u64,
    last_ns: Option<u64>,
}

impl Watchdog {
    /// From the environment systemd sets (`WATCHDOG_USEC`, and `WATCHDOG_PID` naming this
    /// process when present — libsystemd's `sd_watchdog_enabled` rule); `None` when the
    /// watchdog is off.
    pub fn from_env() -> Option<Self> {
        Self::from_vars(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        )
    }

    /// The rule behind [`Watchdog::from_env`]: pings at half the interval systemd expects.
    pub fn from_vars(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Self> {
        let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
        if let Some(p) = pid
            && p.trim().parse::<u32>().ok() != Some(me)
        {
            return None;
        }
        Some(Self::every(usec.saturating_mul(1000) / 2))
    }

    /// Pings at most every `every_ns`.
    pub fn every(every_ns: u64) -> Self {
        Self {
            every_ns: every_ns.max(1),
            last_ns: None,
        }
    }

    /// Whether to send `WATCHDOG=1` now, given the verdict; records the ping.
    pub fn due(&mut self, verdict: &Verdict, now_ns: u64) -> bool {
        if matches!(verdict, Verdict::Stalled(_)) {
            return false;
        }
        let due = self
            .last_ns
            .is_none_or(|t| now_ns.saturating_sub(t) >= self.every_ns);
        if due {
            self.last_ns = Some(now_ns);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn h(frames: u64, packets: u64) -> HealthSnapshot {
        HealthSnapshot {
            frames_ticked: frames,
            packets_encoded: packets,
            packets_lost_to_fanout: 0,
            clock_running: true,
            encoder_error: None,
        }
    }

    #[test]
    fn moving_counters_flow_and_frozen_ones_stall_within_a_second() {
        let mut d = StallDetector::new(0);
        assert_eq!(d.observe(&h(0, 0), 100 * MS), Verdict::Starting);
        let mut t = 200 * MS;
        let mut n = 5;
        while t <= 3_000 * MS {
            assert_eq!(d.observe(&h(n, 2 * n), t), Verdict::Flowing, "at {t}");
            t += 200 * MS;
            n += 5;
        }
        // The encoder stops producing; frames still tick.
        let frozen = 2 * n;
        let stop = t;
        let mut stalled_at = None;
        while t < stop + 2_000 * MS {
            if let Verdict::Stalled(why) = d.observe(&h(n, frozen), t) {
                assert!(why.contains("编码器"), "{why}");
                stalled_at = Some(t);
                break;
            }
            t += 200 * MS;
            n += 5;
        }
        let at = stalled_at.expect("a stall is seen");
        assert!(
            at - stop <= 1_000 * MS,
            "seen {} ms after",
            (at - stop) / MS
        );
        assert_eq!(
            d.last_flowing_ns(),
            stop,
            "the last reading with new packets"
        );
    }

    #[test]
    fn a_dead_clock_or_a_failed_encoder_is_a_stall_at_once() {
        let mut d = StallDetector::new(0);
        assert_eq!(d.observe(&h(10, 20), 200 * MS), Verdict::Flowing);
        let mut dead = h(15, 25);
        dead.clock_running = false;
        assert!(matches!(d.observe(&dead, 400 * MS), Verdict::Stalled(_)));
        let mut d = StallDetector::new(0);
        let mut failed = h(15, 25);
        failed.encoder_error = Some("not-negotiated".into());
        match d.observe(&failed, 200 * MS) {
            Verdict::Stalled(why) => assert!(why.contains("not-negotiated")),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn an_engine_that_never_starts_is_a_stall_after_its_grace() {
        let mut d = StallDetector::new(0);
        assert_eq!(
            d.observe(&h(100, 0), START_GRACE_NS - MS),
            Verdict::Starting
        );
        assert!(matches!(
            d.observe(&h(200, 0), START_GRACE_NS + MS),
            Verdict::Stalled(_)
        ));
    }

    #[test]
    fn the_watchdog_follows_systemds_variables() {
        assert!(Watchdog::from_vars(None, None, 7).is_none());
        assert!(Watchdog::from_vars(Some("0"), None, 7).is_none());
        assert!(Watchdog::from_vars(Some("x"), None, 7).is_none());
        assert!(
            Watchdog::from_vars(Some("2000000"), Some("8"), 7).is_none(),
            "another process's"
        );
        let w = Watchdog::from_vars(Some("2000000"), Some("7"), 7).expect("ours");
        assert_eq!(w.every_ns, 1_000_000_000, "half of WatchdogSec");
        assert!(Watchdog::from_vars(Some("2000000"), None, 7).is_some());
    }

    #[test]
    fn the_watchdog_is_fed_only_while_frames_flow() {
        let mut w = Watchdog::every(500 * MS);
        assert!(w.due(&Verdict::Starting, 0));
        assert!(!w.due(&Verdict::Flowing, 200 * MS));
        assert!(w.due(&Verdict::Flowing, 500 * MS));
        assert!(!w.due(&Verdict::Stalled("x".into()), 1_500 * MS));
        assert!(!w.due(&Verdict::Stalled("x".into()), 5_000 * MS));
        assert!(w.due(&Verdict::Flowing, 5_200 * MS));
    }
}
