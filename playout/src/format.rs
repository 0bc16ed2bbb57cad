//! The house format and the integer arithmetic of the output timeline.
//!
//! Owns: frame rate as a rational, frame ↔ nanosecond ↔ sample conversions (all integer,
//! never floating seconds), and the output profile (resolution, audio rate, encoder
//! settings). Does not own: any clock or any I/O.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Nanoseconds per second.
pub const NS: u64 = 1_000_000_000;

/// A frame rate `num/den` frames per second (25/1 for China's broadcast standard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub num: u32,
    pub den: u32,
}

impl Rate {
    pub const PAL: Rate = Rate { num: 25, den: 1 };

    pub fn new(num: u32, den: u32) -> Option<Rate> {
        (num > 0 && den > 0).then_some(Rate { num, den })
    }

    /// Presentation time of frame `n`, in nanoseconds, rounded down.
    pub fn frame_to_ns(self, n: u64) -> u64 {
        ((n as u128 * NS as u128 * self.den as u128) / self.num as u128) as u64
    }

    /// The shortest span of whole frames that is a whole number of nanoseconds: 40 ms at
    /// 25 fps, 100.1 ms (3 frames) at 30000/1001. Frames placed on multiples of it from the
    /// Unix epoch fall exactly on every day's frame grid.
    pub fn grid_ns(self) -> u64 {
        fn gcd(a: u128, b: u128) -> u128 {
            if b == 0 { a } else { gcd(b, a % b) }
        }
        let num = u128::from(self.num.max(1));
        let scaled_den = NS as u128 * u128::from(self.den.max(1));
        let frames = num / gcd(num, scaled_den);
        (frames * scaled_den / num) as u64
    }

    /// The frame that is on screen at `ns` (rounded down).
    pub fn ns_to_frame(self, ns: u64) -> u64 {
        ((ns as u128 * self.num as u128) / (NS as u128 * self.den as u128)) as u64
    }

    /// The frame nearest to `ns`.
    pub fn ns_to_frame_round(self, ns: u64) -> u64 {
        let denom = NS as u128 * self.den as u128;
        ((ns as u128 * self.num as u128 + denom / 2) / denom) as u64
    }

    /// Length of one frame in nanoseconds, rounded down (for bounds, not for timestamps).
    pub fn frame_ns(self) -> u64 {
        self.frame_to_ns(1)
    }

    /// Audio samples (per channel) that precede frame `n` at `sample_rate`.
    pub fn samples_before(self, n: u64, sample_rate: u32) -> u64 {
        ((n as u128 * sample_rate as u128 * self.den as u128) / self.num as u128) as u64
    }

    /// Audio samples (per channel) that belong to frame `n`: exactly 1920 at 25 fps / 48 kHz;
    /// for rates like 30000/1001 the count varies from frame to frame and never drifts.
    pub fn samples_in_frame(self, n: u64, sample_rate: u32) -> usize {
        (self.samples_before(n + 1, sample_rate) - self.samples_before(n, sample_rate)) as usize
    }

    /// Frames per `seconds`, rounded down.
    pub fn frames_in_secs(self, seconds: u64) -> u64 {
        seconds * self.num as u64 / self.den as u64
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// x264 speed presets, fastest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Ultrafast,
    Superfast,
    Veryfast,
    Faster,
    Fast,
    Medium,
}

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Ultrafast => "ultrafast",
            Preset::Superfast => "superfast",
            Preset::Veryfast => "veryfast",
            Preset::Faster => "faster",
            Preset::Fast => "fast",
            Preset::Medium => "medium",
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "ultrafast" => Preset::Ultrafast,
            "superfast" => Preset::Superfast,
            "veryfast" => Preset::Veryfast,
            "faster" => Preset::Faster,
            "fast" => Preset::Fast,
            "medium" => Preset::Medium,
            other => {
                return Err(format!(
                    "unknown x264 preset {other:?} (ultrafast, superfast, veryfast, faster, fast, medium)"
                ));
            }
        })
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The programme's output profile: what every source is conformed to and how it is encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputProfile {
    pub width: u32,
    pub height: u32,
    pub rate: Rate,
    pub sample_rate: u32,
    pub channels: u32,
    /// Video bit rate in kbit/s.
    pub video_kbps: u32,
    /// Audio bit rate in kbit/s.
    pub audio_kbps: u32,
    pub preset: Preset,
    /// Key-frame interval in frames.
    pub keyframe_interval: u32,
    /// What a file with two mono audio tracks airs (config `output.dual_mono`).
    pub dual_mono: crate::source::conform::DualMono,
}

impl Default for OutputProfile {
    fn default() -> Self {
        OutputProfile {
            width: 1920,
            height: 1080,
            rate: Rate::PAL,
            sample_rate: 48_000,
            channels: 2,
            video_kbps: 6_000,
            audio_kbps: 128,
            preset: Preset::Veryfast,
            keyframe_interval: 50,
            dual_mono: crate::source::conform::DualMono::default(),
        }
    }
}

/// What is wrong with an [`OutputProfile`]; the text names the value and the allowed range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Width or height odd or under 16 pixels.
    #[error("output size {width}x{height}: width and height must be even and at least 16")]
    Size {
        /// Pixels.
        width: u32,
        /// Pixels.
        height: u32,
    },
    /// A frame rate of zero or over 120 fps.
    #[error("frame rate {0}: must be between 1 and 120")]
    Rate(Rate),
    /// Not 32, 44.1 or 48 kHz.
    #[error("audio sample rate {0}: must be 32000, 44100 or 48000")]
    SampleRate(u32),
    /// Not mono or stereo.
    #[error("audio channels {0}: must be 1 or 2")]
    Channels(u32),
    /// kbit/s outside 100–50 000.
    #[error("video bit rate {0} kbit/s: must be between 100 and 50000")]
    VideoKbps(u32),
    /// kbit/s outside 32–512.
    #[error("audio bit rate {0} kbit/s: must be between 32 and 512")]
    AudioKbps(u32),
    /// Frames between key frames outside 1–1000.
    #[error("key-frame interval {0} frames: must be between 1 and 1000")]
    KeyframeInterval(u32),
}

impl ProfileError {
    /// The `[output]` key to fix (`width`, `fps`, `audio_kbps` …).
    pub fn field(&self) -> &'static str {
        match self {
            ProfileError::Size { width, .. } if *width < 16 || !width.is_multiple_of(2) => "width",
            ProfileError::Size { .. } => "height",
            ProfileError::Rate(_) => "fps",
            ProfileError::SampleRate(_) => "sample_rate",
            ProfileError::Channels(_) => "channels",
            ProfileError::VideoKbps(_) => "video_kbps",
            ProfileError::AudioKbps(_) => "audio_kbps",
            ProfileError::KeyframeInterval(_) => "keyframe_seconds",
        }
    }
}

impl OutputProfile {
    /// A small profile for tests and previews: 640×360, 25 fps, ultrafast.
    pub fn small() -> Self {
        OutputProfile {
            width: 640,
            height: 360,
            video_kbps: 800,
            audio_kbps: 96,
            preset: Preset::Ultrafast,
            ..OutputProfile::default()
        }
    }

    /// Checks the profile.
    ///
    /// # Errors
    /// The first [`ProfileError`] found; [`ProfileError::field`] names the `[output]` key.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let size_ok = |v: u32| v >= 16 && v.is_multiple_of(2);
        if !size_ok(self.width) || !size_ok(self.height) {
            return Err(ProfileError::Size {
                width: self.width,
                height: self.height,
            });
        }
        if self.rate.num == 0 || self.rate.den == 0 || self.rate.num / self.rate.den > 120 {
            return Err(ProfileError::Rate(self.rate));
        }
        if ![32_000, 44_100, 48_000].contains(&self.sample_rate) {
            return Err(ProfileError::SampleRate(self.sample_rate));
        }
        if !(1..=2).contains(&self.channels) {
            return Err(ProfileError::Channels(self.channels));
        }
        if !(100..=50_000).contains(&self.video_kbps) {
            return Err(ProfileError::VideoKbps(self.video_kbps));
        }
        if !(32..=512).contains(&self.audio_kbps) {
            return Err(ProfileError::AudioKbps(self.audio_kbps));
        }
        if self.keyframe_interval == 0 || self.keyframe_interval > 1000 {
            return Err(ProfileError::KeyframeInterval(self.keyframe_interval));
        }
        Ok(())
    }

    /// Bytes per interleaved S16 audio sample frame.
    pub fn audio_bytes_per_sample(&self) -> usize {
        2 * self.channels as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pal_frames_are_40ms_and_1920_samples() {
        let r = Rate::PAL;
        assert_eq!(r.frame_to_ns(1), 40_000_000);
        assert_eq!(r.frame_to_ns(2_160_000), 86_400 * NS);
        assert_eq!(r.samples_in_frame(0, 48_000), 1920);
        assert_eq!(r.samples_in_frame(123_456_789, 48_000), 1920);
    }

    #[test]
    fn ntsc_audio_never_drifts() {
        let r = Rate::new(30_000, 1001).expect("valid");
        let total: usize = (0..30_000).map(|n| r.samples_in_frame(n, 48_000)).sum();
        // 30000 frames at 29.97 fps = 1001 s = 48,048,000 samples exactly.
        assert_eq!(total, 48_048_000);
        let sizes: std::collections::BTreeSet<usize> =
            (0..5).map(|n| r.samples_in_frame(n, 48_000)).collect();
        assert!(sizes.iter().all(|s| *s == 1601 || *s == 1602), "{sizes:?}");
    }

    #[test]
    fn a_month_of_frames_fits_and_round_trips() {
        let r = Rate::PAL;
        let month = 30 * 2_160_000u64;
        assert_eq!(r.ns_to_frame(r.frame_to_ns(month)), month);
        assert_eq!(
            r.ns_to_frame_round(r.frame_to_ns(month) + 19_000_000),
            month
        );
        assert_eq!(
            r.ns_to_frame_round(r.frame_to_ns(month) + 21_000_000),
            month + 1
        );
    }

    #[test]
    fn profile_validation_names_the_field() {
        let p = OutputProfile {
            width: 641,
            ..OutputProfile::small()
        };
        let e = p.validate().expect_err("must be refused");
        assert!(e.to_string().contains("641x360"), "{e}");
        assert_eq!(e.field(), "width");
        let e = OutputProfile {
            height: 8,
            ..OutputProfile::small()
        }
        .validate()
        .expect_err("must be refused");
        assert_eq!(e.field(), "height");
        let e = OutputProfile {
            audio_kbps: 600,
            ..OutputProfile::small()
        }
        .validate()
        .expect_err("must be refused");
        assert_eq!((e, e.field()), (ProfileError::AudioKbps(600), "audio_kbps"));
        assert!(OutputProfile::default().validate().is_ok());
    }
}
