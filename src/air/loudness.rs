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
//! item never measured (a file not in the catalog) plays at its own level; a live feed
//! gets the engine's slow, bounded automatic gain; the slate is left alone. A correction is bounded ([`MAX_BOOST_MDB`], [`MAX_CUT_MDB`]): a near-silent file
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
/// but are still limited under the ceiling; live items get the engine's slow automatic
/// gain towards the target instead (bounded ±10 dB, 1 dB/s: `playout::level`).
pub fn apply(planned: &mut [Planned], measured: &HashMap<String, f64>, policy: &LoudnessPolicy) {
    for p in planned {
        if p.cue.is_slate() {
            continue;
        }
        p.cue.ceiling_mdb = Some(policy.ceiling_mdbtp);
        // A backup clip is a file: brought to the target like one.
        if let Some(b) = &p.cue.backup {
            p.cue.backup_gain_mdb = policy.gain_mdb(measured.get(b).copied());
        }
        if p.live {
            // A live feed is never measured before air: the engine's slow, bounded gain.
            p.cue.live_target_mlufs = Some(policy.target_mlufs);
            continue;
        }
        let m = measured.get(&p.cue.source).copied();
        p.cue.gain_mdb = policy.gain_mdb(m);
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

    fn planned(source: &str) -> Planned {
        Planned {
            cue: playout::Cue::follow(source, source).with_length(25),
            info: crate::asrun::recorder::ItemInfo::default(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).expect("date"),
            index: 0,
            start_frame: 0,
            end_frame: 25,
            live: false,
        }
    }

    #[test]
    fn the_plan_carries_gain_and_ceiling_to_the_cue_and_the_as_run() {
        let mut p = vec![
            planned("/media/loud.mp4"),
            planned("/media/unknown.mp4"),
            planned(playout::cue::SLATE_SOURCE),
        ];
        let measured = HashMap::from([("/media/loud.mp4".to_string(), -14.2)]);
        apply(&mut p, &measured, &GYT);
        assert_eq!(p[0].cue.gain_mdb, -9_800);
        assert_eq!(p[0].cue.ceiling_mdb, Some(-1_000));
        assert_eq!(p[0].info.gain_mdb, Some(-9_800));
        // Unmeasured: no gain, still limited; the as-run says none was applied.
        assert_eq!(p[1].cue.gain_mdb, 0);
        assert_eq!(p[1].cue.ceiling_mdb, Some(-1_000));
        assert_eq!(p[1].info.gain_mdb, None);
        // The slate is the engine's own card.
        assert_eq!(p[2].cue.ceiling_mdb, None);
    }

    #[test]
    fn a_live_items_backup_clip_is_brought_to_the_target_like_a_file() {
        let mut cam = planned("rtsp://cam/telescope");
        cam.live = true;
        cam.cue = cam.cue.with_backup("/media/星空延时.mp4");
        let mut p = vec![cam];
        let measured = HashMap::from([("/media/星空延时.mp4".to_string(), -30.0)]);
        apply(&mut p, &measured, &GYT);
        assert_eq!(p[0].cue.backup_gain_mdb, 6_000);
        assert_eq!(p[0].cue.live_target_mlufs, Some(-24_000));
        assert_eq!(p[0].cue.ceiling_mdb, Some(-1_000));
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
