//! Loudness on air: the gain the air plan gives each item, from the loudness the catalog
//! measured and the edition's target.
//!
//! Owns: the policy (target, true-peak ceiling, bounds of the correction) and turning an
//! item's measured integrated loudness into the engine cue's `gain_mdb`/`ceiling_mdb`.
//! Does not own: measuring (the catalog's probe, ITU-R BS.1770 via ffmpeg `ebur128`),
//! applying the gain and limiting peaks (the engine's `playout::level`).
//!
//! The target is the edition's `acceptance.loudness_target_lufs` (GY/T 282-2014: −24 LUFS;
//! an EBU R128 edition sets −23) and the ceiling its `acceptance.true_peak_max_dbtp`. An
//! item never measured (a slate, a live feed, a file not in the catalog) plays at its own
//! level. A correction is bounded ([`MAX_BOOST_MDB`], [`MAX_CUT_MDB`]): a near-silent file
//! is not raised by 40 dB into noise.

use std::collections::HashMap;

use crate::edition::Edition;

use super::plan::Planned;

/// Largest boost, milli-dB (+20 dB).
pub const MAX_BOOST_MDB: i32 = 20_000;
/// Largest cut, milli-dB (−30 dB).
pub const MAX_CUT_MDB: i32 = -30_000;

/// What items are brought to on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoudnessPolicy {
    /// Integrated loudness target, milli-LUFS (−24 000 for GY/T 282-2014).
    pub target_mlufs: i32,
    /// True-peak ceiling, milli-dBTP (e.g. −1 000).
    pub ceiling_mdbtp: i32,
}

impl LoudnessPolicy {
    /// The edition's target and ceiling.
    pub fn of_edition(e: &Edition) -> Self {
        let a = &e.acceptance;
        Self {
            target_mlufs: (a.loudness_target_lufs * 1000.0).round() as i32,
            ceiling_mdbtp: (a.true_peak_max_dbtp * 1000.0).round() as i32,
        }
    }

    /// The gain, milli-dB, that brings an item measured at `measured_lufs` to the target:
    /// 0 when unmeasured (or silent: no finite measure), bounded otherwise.
    pub fn gain_mdb(&self, measured_lufs: Option<f64>) -> i32 {
        match measured_lufs {
            Some(m) if m.is_finite() && m > -70.0 => {
                let measured = (m * 1000.0).round() as i64;
                (i64::from(self.target_mlufs) - measured)
                    .clamp(i64::from(MAX_CUT_MDB), i64::from(MAX_BOOST_MDB)) as i32
            }
            _ => 0,
        }
    }
}

/// Sets each planned item's gain and ceiling from `measured` (integrated LUFS by source
/// location, as the catalog stored it). Items whose source was never measured keep gain 0
/// but are still limited under the ceiling.
pub fn apply(planned: &mut [Planned], measured: &HashMap<String, f64>, policy: &LoudnessPolicy) {
    for p in planned {
        if p.cue.is_slate() {
            continue;
        }
        let m = measured.get(&p.cue.source).copied();
        p.cue.gain_mdb = policy.gain_mdb(m);
        p.cue.ceiling_mdb = Some(policy.ceiling_mdbtp);
        p.info.gain_mdb = m.map(|_| p.cue.gain_mdb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GYT: LoudnessPolicy = LoudnessPolicy {
        target_mlufs: -24_000,
        ceiling_mdbtp: -1_000,
    };

    #[test]
    fn loud_and_quiet_items_are_brought_to_the_target() {
        assert_eq!(GYT.gain_mdb(Some(-14.0)), -10_000);
        assert_eq!(GYT.gain_mdb(Some(-34.0)), 10_000);
        assert_eq!(GYT.gain_mdb(Some(-24.0)), 0);
        assert_eq!(GYT.gain_mdb(Some(-23.37)), -630);
    }

    #[test]
    fn unmeasured_silent_and_extreme_items_are_bounded() {
        assert_eq!(GYT.gain_mdb(None), 0);
        assert_eq!(GYT.gain_mdb(Some(f64::NEG_INFINITY)), 0);
        assert_eq!(GYT.gain_mdb(Some(-80.0)), 0);
        assert_eq!(GYT.gain_mdb(Some(-60.0)), MAX_BOOST_MDB);
        assert_eq!(GYT.gain_mdb(Some(20.0)), MAX_CUT_MDB);
    }

    #[test]
    fn an_r128_edition_targets_minus_23() {
        let r128 = LoudnessPolicy {
            target_mlufs: -23_000,
            ..GYT
        };
        assert_eq!(r128.gain_mdb(Some(-14.0)), -9_000);
    }
}
