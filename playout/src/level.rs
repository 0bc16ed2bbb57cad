//! Loudness on air: an item's gain and the peak limiter behind it.
//!
//! Owns: applying a cue's loudness correction (a fixed gain in milli-dB the daemon derives
//! from the item's measured integrated loudness and the edition's target — GY/T 282-2014
//! −24 LUFS by default, EBU R128 −23) to the item's S16 interleaved sound, and keeping its
//! peaks under the edition's ceiling. Does not own: measuring loudness (the catalog does,
//! before air) or choosing the target (the edition).
//!
//! A live source has no measure before air: it gets a slow, bounded automatic gain towards
//! the target instead ([`Leveller::live`]).
//!
//! The limiter is a sample-peak limiter with instant attack and a 200 ms release, set
//! [`TRUE_PEAK_MARGIN_MDB`] under the true-peak ceiling: the margin covers inter-sample
//! peaks (ITU-R BS.1770-4 annex 2: ≤ 0.5 dB at 48 kHz for full-band sound) and the house
//! AAC encoder's overshoot on transients (measured: a limited 1 ms burst held at −2 dBFS
//! came out at −1.0 dBTP after the encoder, so 2 dB). Material the gain does not push near
//! the ceiling passes untouched in level.

/// How far under the true-peak ceiling sample peaks are held, milli-dB.
pub const TRUE_PEAK_MARGIN_MDB: i32 = 2000;

/// Release time of the limiter, in samples per channel at 48 kHz (200 ms).
const RELEASE_MS: u32 = 200;

/// A linear amplitude factor from milli-dB.
pub fn factor_of_mdb(mdb: i32) -> f32 {
    10f32.powf(mdb as f32 / 20_000.0)
}

/// A live source's slow automatic gain: its loudness is estimated continuously (the
/// channels' mean square over a 3 s exponential window, −0.691 dB as in BS.1770, without
/// the K-weighting filter) and the gain moves towards the target at most
/// [`AGC_SLEW_DB_PER_S`], never beyond ±[`AGC_MAX_DB`]; below −60 (silence, a pause) the
/// gain holds. Slow enough to leave speech dynamics alone, bounded so a faulty feed is not
/// pumped into noise.
#[derive(Clone, Debug)]
struct Agc {
    target_db: f32,
    /// Current gain, dB.
    gain_db: f32,
    /// Exponentially averaged sum over channels of the mean square.
    mean_square: f32,
    /// Per-sample weight of the average.
    alpha: f32,
    /// Largest gain change per sample, dB.
    slew: f32,
}

/// How far a live source's automatic gain may go either way, dB.
pub const AGC_MAX_DB: f32 = 10.0;
/// How fast it may move, dB per second.
pub const AGC_SLEW_DB_PER_S: f32 = 1.0;

impl Agc {
    fn new(target_mlufs: i32, sample_rate: u32) -> Self {
        let sr = sample_rate.max(1) as f32;
        let target_db = target_mlufs as f32 / 1000.0;
        Agc {
            target_db,
            gain_db: 0.0,
            // The estimate starts at the target (no correction) and converges to the feed.
            mean_square: 10f32.powf((target_db + 0.691) / 10.0),
            alpha: 1.0 / (3.0 * sr),
            slew: AGC_SLEW_DB_PER_S / sr,
        }
    }

    /// Updates from one multichannel sample (before gain) and returns the gain factor.
    fn step(&mut self, sum_sq: f32) -> f32 {
        self.mean_square += (sum_sq - self.mean_square) * self.alpha;
        let loudness = -0.691 + 10.0 * self.mean_square.max(1e-12).log10();
        if loudness > -60.0 {
            let want = (self.target_db - loudness).clamp(-AGC_MAX_DB, AGC_MAX_DB);
            let step = (want - self.gain_db).clamp(-self.slew, self.slew);
            self.gain_db += step;
        }
        10f32.powf(self.gain_db / 20.0)
    }
}

/// Gain and limiter state of one item's sound.
#[derive(Clone, Debug)]
pub struct Leveller {
    /// A live source's automatic gain (`None`: the fixed `gain`).
    agc: Option<Agc>,
    gain: f32,
    /// Highest sample magnitude allowed (full scale 1.0); `None`: no limiter.
    ceiling: Option<f32>,
    /// Current gain reduction of the limiter (1.0: none).
    reduction: f32,
    /// Per-sample recovery factor of the reduction towards 1.0.
    release: f32,
    channels: usize,
}

impl Leveller {
    /// `gain_mdb` applied to every sample; peaks held under `ceiling_mdb` (dBTP, milli-dB)
    /// less the margin when given. `sample_rate` and `channels` describe the interleaved
    /// S16 sound it will be given.
    pub fn new(gain_mdb: i32, ceiling_mdb: Option<i32>, sample_rate: u32, channels: u32) -> Self {
        let release_samples = (sample_rate.max(1) as f32) * RELEASE_MS as f32 / 1000.0;
        Leveller {
            agc: None,
            gain: factor_of_mdb(gain_mdb),
            ceiling: ceiling_mdb.map(|c| factor_of_mdb(c - TRUE_PEAK_MARGIN_MDB).min(1.0)),
            reduction: 1.0,
            // Recovers ~63 % of the reduction (in dB terms, roughly) per release time.
            release: (1.0 / release_samples).min(1.0),
            channels: channels.max(1) as usize,
        }
    }

    /// For a live source: the slow automatic gain towards `target_mlufs` (milli-LUFS),
    /// then the limiter under `ceiling_mdb` when given.
    pub fn live(
        target_mlufs: i32,
        ceiling_mdb: Option<i32>,
        sample_rate: u32,
        channels: u32,
    ) -> Self {
        Leveller {
            agc: Some(Agc::new(target_mlufs, sample_rate)),
            ..Leveller::new(0, ceiling_mdb, sample_rate, channels)
        }
    }

    /// The live automatic gain now, milli-dB (`None` for a fixed gain).
    pub fn agc_gain_mdb(&self) -> Option<i32> {
        self.agc
            .as_ref()
            .map(|a| (a.gain_db * 1000.0).round() as i32)
    }

    /// Whether it changes nothing (no gain, no limiter): the sound is passed as it is.
    pub fn is_neutral(&self) -> bool {
        self.gain == 1.0 && self.ceiling.is_none() && self.agc.is_none()
    }

    /// Applies gain and limiter in place to S16LE interleaved `bytes`.
    pub fn process(&mut self, bytes: &mut [u8]) {
        if self.is_neutral() {
            return;
        }
        let frame_bytes = 2 * self.channels;
        for frame in bytes.chunks_exact_mut(frame_bytes) {
            let mut peak = 0f32;
            let mut vals = [0f32; 8];
            let n = self.channels.min(8);
            let mut sum_sq = 0f32;
            for (c, v) in vals.iter_mut().enumerate().take(n) {
                let s = i16::from_le_bytes([frame[2 * c], frame[2 * c + 1]]);
                *v = s as f32 / 32768.0;
                sum_sq += *v * *v;
            }
            let gain = match self.agc.as_mut() {
                Some(a) => a.step(sum_sq),
                None => self.gain,
            };
            for v in vals.iter_mut().take(n) {
                *v *= gain;
                peak = peak.max(v.abs());
            }
            if let Some(ceil) = self.ceiling {
                // Release towards no reduction, attack at once to what this sample needs.
                self.reduction += (1.0 - self.reduction) * self.release;
                if peak * self.reduction > ceil {
                    self.reduction = ceil / peak;
                }
            }
            let g = self.reduction;
            for (c, v) in vals.iter().enumerate().take(n) {
                let out = (v * g * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                frame[2 * c..2 * c + 2].copy_from_slice(&out.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amp: f32, n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                let s = (amp * 32767.0 * (i as f32 * 0.13).sin()) as i16;
                [s.to_le_bytes(), s.to_le_bytes()].concat()
            })
            .collect()
    }

    fn peak(b: &[u8]) -> f32 {
        b.chunks_exact(2)
            .map(|c| (i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn gain_moves_the_level_by_its_db() {
        let mut b = tone(0.1, 4800);
        Leveller::new(10_000, Some(-1_000), 48_000, 2).process(&mut b);
        let p = peak(&b);
        assert!((p - 0.316).abs() < 0.01, "peak {p}");
    }

    #[test]
    fn peaks_stay_under_the_ceiling_less_the_margin() {
        let mut b = tone(0.5, 48_000);
        Leveller::new(12_000, Some(-1_000), 48_000, 2).process(&mut b);
        let limit = factor_of_mdb(-1_000 - TRUE_PEAK_MARGIN_MDB);
        assert!(peak(&b) <= limit + 1.0 / 32768.0, "peak {}", peak(&b));
    }

    #[test]
    fn neutral_passes_bytes_untouched() {
        let orig = tone(0.9, 1000);
        let mut b = orig.clone();
        let mut l = Leveller::new(0, None, 48_000, 2);
        assert!(l.is_neutral());
        l.process(&mut b);
        assert_eq!(b, orig);
    }

    /// A stereo sine of amplitude `amp`, `secs` long, at 48 kHz.
    fn long_tone(amp: f32, secs: usize) -> Vec<u8> {
        tone(amp, 48_000 * secs)
    }

    #[test]
    fn a_live_source_is_moved_slowly_and_boundedly_towards_the_target() {
        // A −6 dBFS sine is about −6.7 "LUFS" here; target −24: wants −17, bounded to −10.
        let mut l = Leveller::live(-24_000, Some(-1_000), 48_000, 2);
        let mut b = long_tone(0.5, 1);
        l.process(&mut b);
        let after_1s = l.agc_gain_mdb().expect("agc");
        assert!(
            (-1_010..=-500).contains(&after_1s),
            "down, at 1 dB/s at most: {after_1s} mdB after 1 s"
        );
        for _ in 0..20 {
            let mut b = long_tone(0.5, 1);
            l.process(&mut b);
        }
        assert_eq!(l.agc_gain_mdb(), Some(-10_000), "bounded at −10 dB");
        // Silence holds the gain.
        let mut z = vec![0u8; 48_000 * 4];
        l.process(&mut z);
        assert_eq!(l.agc_gain_mdb(), Some(-10_000));
    }

    #[test]
    fn attenuation_never_needs_the_limiter() {
        let mut b = tone(0.9, 4800);
        Leveller::new(-10_000, Some(-1_000), 48_000, 2).process(&mut b);
        let p = peak(&b);
        assert!((p - 0.9 * 0.316).abs() < 0.01, "peak {p}");
    }
}
