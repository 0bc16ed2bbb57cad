//! The channel clock: programme time is wall time plus a fixed offset. The offset is zero on
//! air; a rehearsal (`[air] clock_offset_ms`) runs a September day at any other time, and a
//! restart with the same offset resumes exactly where the programme would be. Integer
//! nanoseconds throughout.

use chrono::{DateTime, Utc};
use playout::engine::{SystemWallClock, WallClock};
use std::sync::Arc;

/// Programme time = wall time + `offset_ns`. The wall clock is injected (the same one the
/// engine paces its programme by), so a test can step it.
#[derive(Clone)]
pub struct ChannelClock {
    offset_ns: i64,
    wall: Arc<dyn WallClock>,
}

impl std::fmt::Debug for ChannelClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelClock")
            .field("offset_ns", &self.offset_ns)
            .field("wall", &self.wall)
            .finish()
    }
}

impl Default for ChannelClock {
    fn default() -> Self {
        Self::with_offset_ms(0)
    }
}

impl ChannelClock {
    /// A clock `offset_ms` ahead of the system's wall clock (behind when negative).
    pub fn with_offset_ms(offset_ms: i64) -> Self {
        Self::on(Arc::new(SystemWallClock), offset_ms)
    }

    /// A clock `offset_ms` ahead of `wall`.
    pub fn on(wall: Arc<dyn WallClock>, offset_ms: i64) -> Self {
        Self {
            offset_ns: offset_ms.saturating_mul(1_000_000),
            wall,
        }
    }

    /// The wall clock under it.
    pub fn wall(&self) -> Arc<dyn WallClock> {
        self.wall.clone()
    }

    fn wall_now_ns(&self) -> i64 {
        i64::try_from(self.wall.unix_ns()).unwrap_or(i64::MAX)
    }

    /// The offset in ns.
    pub fn offset_ns(&self) -> i64 {
        self.offset_ns
    }

    /// Programme time now.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.wall_now_ns().saturating_add(self.offset_ns))
    }

    /// The wall instant (Unix ns) at which programme instant `t` happens.
    pub fn wall_ns_of(&self, t: DateTime<Utc>) -> u64 {
        let ns = t.timestamp_nanos_opt().unwrap_or(i64::MAX);
        u64::try_from(ns.saturating_sub(self.offset_ns)).unwrap_or(0)
    }

    /// The programme instant of wall instant `wall_ns` (Unix ns).
    pub fn programme_ns_of(&self, wall_ns: u64) -> u64 {
        let w = i64::try_from(wall_ns).unwrap_or(i64::MAX);
        u64::try_from(w.saturating_add(self.offset_ns)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programme_and_wall_time_convert_both_ways() {
        let c = ChannelClock::with_offset_ms(-3_600_000);
        let t = DateTime::from_timestamp(1_788_192_000, 0).expect("instant");
        let w = c.wall_ns_of(t);
        assert_eq!(w, 1_788_192_000_000_000_000 + 3_600_000_000_000);
        assert_eq!(c.programme_ns_of(w), 1_788_192_000_000_000_000);
        let lag = (Utc::now() - c.now()).num_milliseconds();
        assert!((3_599_000..=3_601_000).contains(&lag), "{lag}");
    }
}

/// The system wall clock plus a step that can be changed while on air: the clock-step drill
/// of the fault suite (`[air] fault_drills` with `KEPU_DRILL_CLOCK_STEP_FILE`), the
/// in-process equivalent of libfaketime. The engine sees the wall clock jump by the change
/// of step (ahead: it drops programme frames; back: it repeats frames) and keeps its output
/// continuous.
#[derive(Debug, Clone, Default)]
pub struct SteppedWallClock {
    step_ns: Arc<std::sync::atomic::AtomicI64>,
}

impl SteppedWallClock {
    /// Steps the clock to `ms` from the system clock (not cumulative).
    pub fn set_step_ms(&self, ms: i64) {
        self.step_ns.store(
            ms.saturating_mul(1_000_000),
            std::sync::atomic::Ordering::SeqCst,
        );
    }

    /// The step now, ms.
    pub fn step_ms(&self) -> i64 {
        self.step_ns.load(std::sync::atomic::Ordering::SeqCst) / 1_000_000
    }
}

impl WallClock for SteppedWallClock {
    fn unix_ns(&self) -> u64 {
        let now = i64::try_from(SystemWallClock.unix_ns()).unwrap_or(i64::MAX);
        u64::try_from(now.saturating_add(self.step_ns.load(std::sync::atomic::Ordering::SeqCst)))
            .unwrap_or(0)
    }
}
