//! Loudness on air: an item's gain and the peak limiter behind it.
//!
//! Owns: applying a cue's loudness correction (a fixed gain in milli-dB the daemon derives
//! from the item's measured integrated loudness and the edition's target — GY/T 282-2014
//! −24 LUFS by default, EBU R128 −23) to the item's S16 interleaved sound, and keeping its
//! peaks under the edition's ceiling. Does not own: measuring loudness (the catalog does,
//! before air) or choosing the target (the edition).
//!
//! The limiter is a sample-peak limiter with instant attack and a 200 ms release, set
//! [`TRUE_PEAK_MARGIN_MDB`] under the true-peak ceiling: inter-sample peaks of programme
//! sound at 48 kHz stay within that margin of the sample peaks (ITU-R BS.1770-4 annex 2
//! puts the 4× oversampled estimate's under-read at ≤ 0.5 dB at 48 kHz for a full-band
//! signal). Material the gain does not push near the ceiling passes bit-exact in level.

/// How far under the true-peak ceiling sample peaks are held, milli-dB.
pub const TRUE_PEAK_MARGIN_MDB: i32 = 1000;

/// Release time of the limiter, in samples per channel at 48 kHz (200 ms).
const RELEASE_MS: u32 = 200;

/// A linear amplitude factor from milli-dB.
pub fn factor_of_mdb(mdb: i32) -> f32 {
    10f32.powf(mdb as f32 / 20_000.0)
}

/// Gain and limiter state of one item's sound.
#[derive(Clone, Debug)]
pub struct Leveller {
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
            gain: factor_of_mdb(gain_mdb),
            ceiling: ceiling_mdb.map(|c| factor_of_mdb(c - TRUE_PEAK_MARGIN_MDB).min(1.0)),
            reduction: 1.0,
            // Recovers ~63 % of the reduction (in dB terms, roughly) per release time.
            release: (1.0 / release_samples).min(1.0),
            channels: channels.max(1) as usize,
        }
    }

    /// Whether it changes nothing (no gain, no limiter): the sound is passed as it is.
    pub fn is_neutral(&self) -> bool {
        self.gain == 1.0 && self.ceiling.is_none()
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
            for (c, v) in vals.iter_mut().enumerate().take(n) {
                let s = i16::from_le_bytes([frame[2 * c], frame[2 * c + 1]]);
                *v = s as f32 / 32768.0 * self.gain;
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
        let limit = factor_of_mdb(-2_000);
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

    #[test]
    fn attenuation_never_needs_the_limiter() {
        let mut b = tone(0.9, 4800);
        Leveller::new(-10_000, Some(-1_000), 48_000, 2).process(&mut b);
        let p = peak(&b);
        assert!((p - 0.9 * 0.316).abs() < 0.01, "peak {p}");
    }
}
