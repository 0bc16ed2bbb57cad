//! Conforming a decoded file to the house format: what a stream needs beyond decode,
//! scale and resample, decided from the stream itself.
//!
//! Owns: the stereo downmix matrix for any channel layout (ITU-R BS.775-3 table 2: centre
//! and surrounds at −3 dB, LFE dropped), the dual-mono policy, and the display orientation
//! a QuickTime/MP4 track header asks for (rotations and mirrors). Does not own: the
//! pipeline those decisions go into (`file`).
//!
//! Everything here is pure except [`orientation_of_file`], which reads a few box headers
//! of a local file (never the media data).

use gstreamer_audio::AudioChannelPosition as Pos;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// −3 dB as an amplitude factor (1/√2), the BS.775 coefficient for centre and surrounds.
pub const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// What a file with two or more mono audio tracks (and no other audio) airs.
///
/// Camera and NLE masters (ProRes MOV, MXF) often carry a stereo mix as discrete mono
/// tracks, track 1 left and track 2 right: [`DualMono::Split`], the default. A file whose
/// second track is something else (another language, an isolated microphone) airs right
/// with [`DualMono::First`]: track 1 on both sides at its own level. Config key
/// `output.dual_mono` (`"split"` or `"first"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DualMono {
    /// Track 1 left, track 2 right; further tracks are not aired.
    #[default]
    Split,
    /// Track 1 on both sides; further tracks are not aired.
    First,
}

impl std::str::FromStr for DualMono {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "split" => Ok(DualMono::Split),
            "first" => Ok(DualMono::First),
            other => Err(format!(
                "unknown dual-mono policy {other:?} (split: track 1 left, track 2 right; first: track 1 on both sides)"
            )),
        }
    }
}

/// The gains `(to left, to right)` of one input channel in the stereo downmix.
fn stereo_gains(p: Pos) -> (f32, f32) {
    use Pos::*;
    match p {
        Mono => (1.0, 1.0),
        FrontLeft => (1.0, 0.0),
        FrontRight => (0.0, 1.0),
        FrontCenter => (MINUS_3DB, MINUS_3DB),
        Lfe1 | Lfe2 => (0.0, 0.0),
        // Surrounds (BS.775: Ls, Rs at −3 dB), wides and heights the same way.
        RearLeft | SideLeft | SurroundLeft | WideLeft | FrontLeftOfCenter | TopFrontLeft
        | TopRearLeft | TopSideLeft | TopSurroundLeft | BottomFrontLeft => (MINUS_3DB, 0.0),
        RearRight | SideRight | SurroundRight | WideRight | FrontRightOfCenter | TopFrontRight
        | TopRearRight | TopSideRight | TopSurroundRight | BottomFrontRight => (0.0, MINUS_3DB),
        // A single rear/top centre feeds both surrounds at −3 dB, each then at −3 dB.
        RearCenter | TopCenter | TopFrontCenter | TopRearCenter | BottomFrontCenter => (0.5, 0.5),
        _ => (0.0, 0.0),
    }
}

/// The positions of a stream's channels: from its channel mask, or — when the caps carry
/// none or an empty one (PCM in MOV is decoded unpositioned) — the usual order for that
/// many channels (SMPTE/ffmpeg: FL FR FC LFE BL BR SL SR). `None` beyond 8 channels with no
/// mask: only the first two are aired, as left and right.
pub fn positions(channels: u32, mask: Option<u64>) -> Option<Vec<Pos>> {
    let n = channels as usize;
    if n == 0 || n > 64 {
        return None;
    }
    let mask = match mask {
        Some(m) if m != 0 && m.count_ones() == channels => m,
        _ if n == 1 => return Some(vec![Pos::Mono]),
        _ => {
            let m = Pos::fallback_mask(channels);
            if m == 0 {
                return None;
            }
            m
        }
    };
    let mut out = vec![Pos::Invalid; n];
    Pos::positions_from_mask(mask, &mut out).ok()?;
    Some(out)
}

/// The stereo downmix of a stream with `channels` channels and `mask` (as its caps say):
/// one row per output side, one column per input channel, for `audioconvert`'s
/// `mix-matrix`. `None` when no matrix is needed (mono to both sides at full level,
/// stereo as it is). Coefficients are not normalised: a full-scale centre comes out at
/// −3 dB on each side as in ffmpeg's `-ac 2`; the on-air limiter catches the rare overload.
pub fn downmix_matrix(channels: u32, mask: Option<u64>) -> Option<[Vec<f32>; 2]> {
    if channels <= 1 {
        return None;
    }
    let pos = positions(channels, mask);
    if channels == 2
        && pos
            .as_deref()
            .is_none_or(|p| p == [Pos::FrontLeft, Pos::FrontRight])
    {
        return None;
    }
    let gains: Vec<(f32, f32)> = match pos {
        Some(p) => p.into_iter().map(stereo_gains).collect(),
        None => (0..channels)
            .map(|i| match i {
                0 => (1.0, 0.0),
                1 => (0.0, 1.0),
                _ => (0.0, 0.0),
            })
            .collect(),
    };
    Some([
        gains.iter().map(|g| g.0).collect(),
        gains.iter().map(|g| g.1).collect(),
    ])
}

/// How a picture must be turned to display upright, from a track header's matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Orientation {
    Identity,
    /// Rotate 90° clockwise.
    Rotate90,
    Rotate180,
    /// Rotate 90° counter-clockwise.
    Rotate270,
    /// Mirror left–right.
    FlipHorizontal,
    /// Mirror top–bottom.
    FlipVertical,
    /// Transpose across the upper-left/lower-right diagonal (mirror, then rotate 90°).
    Transpose,
    /// Transpose across the upper-right/lower-left diagonal.
    AntiTranspose,
}

impl Orientation {
    /// The `videoflip` `video-direction` nick that applies it; `None` for identity.
    pub fn videoflip_direction(self) -> Option<&'static str> {
        Some(match self {
            Orientation::Identity => return None,
            Orientation::Rotate90 => "90r",
            Orientation::Rotate180 => "180",
            Orientation::Rotate270 => "90l",
            Orientation::FlipHorizontal => "horiz",
            Orientation::FlipVertical => "vert",
            Orientation::Transpose => "ul-lr",
            Orientation::AntiTranspose => "ur-ll",
        })
    }

    /// From the `a b c d` of a QuickTime display matrix (16.16 fixed point): a point
    /// `(x, y)` displays at `(a·x + c·y, b·x + d·y)` (ISO/IEC 14496-12 §8.3.2). `None` for a
    /// matrix that is not a quarter turn or mirror (a scale or shear the engine ignores).
    pub fn from_matrix(a: i32, b: i32, c: i32, d: i32) -> Option<Orientation> {
        let unit = |v: i32| match v {
            0x0001_0000 => Some(1),
            -0x0001_0000 => Some(-1),
            0 => Some(0),
            _ => None,
        };
        Some(match (unit(a)?, unit(b)?, unit(c)?, unit(d)?) {
            (1, 0, 0, 1) => Orientation::Identity,
            (0, 1, -1, 0) => Orientation::Rotate90,
            (-1, 0, 0, -1) => Orientation::Rotate180,
            (0, -1, 1, 0) => Orientation::Rotate270,
            (-1, 0, 0, 1) => Orientation::FlipHorizontal,
            (1, 0, 0, -1) => Orientation::FlipVertical,
            (0, 1, 1, 0) => Orientation::Transpose,
            (0, -1, -1, 0) => Orientation::AntiTranspose,
            _ => return None,
        })
    }
}

/// Boxes read at most while looking for the video track header (a malformed file ends the
/// search, never loops).
const MAX_BOXES: usize = 4096;

/// The display orientation of a local QuickTime/MP4-family file's first video track
/// (`moov/trak/tkhd` matrix of the track whose `mdia/hdlr` is `vide`). `None` when the file
/// is not of that family, cannot be read, or says nothing usable: the caller then relies
/// on the demuxer's orientation tag (`videoflip video-direction=auto`). Reading the header
/// first lets the common upright MP4/MOV go without any flip element at all.
pub fn orientation_of_file(path: &Path) -> Option<Orientation> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut budget = MAX_BOXES;
    let moov = find_box(&mut f, 0, len, *b"moov", &mut budget)?;
    let mut at = moov.0;
    while at < moov.1 {
        let (kind, start, end) = read_header(&mut f, at, moov.1)?;
        budget = budget.checked_sub(1)?;
        if &kind == b"trak" && is_video_trak(&mut f, start, end, &mut budget) {
            return tkhd_orientation(&mut f, start, end, &mut budget);
        }
        at = end;
    }
    None
}

/// A box header at `at`: its type, where its payload starts and where it ends.
fn read_header<F: Read + Seek>(f: &mut F, at: u64, limit: u64) -> Option<([u8; 4], u64, u64)> {
    f.seek(SeekFrom::Start(at)).ok()?;
    let mut h = [0u8; 8];
    f.read_exact(&mut h).ok()?;
    let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
    let kind = [h[4], h[5], h[6], h[7]];
    let (start, size) = match size32 {
        1 => {
            let mut l = [0u8; 8];
            f.read_exact(&mut l).ok()?;
            (at + 16, u64::from_be_bytes(l))
        }
        0 => (at + 8, limit - at),
        s => (at + 8, s),
    };
    let end = at.checked_add(size)?;
    (size >= start - at && end <= limit).then_some((kind, start, end))
}

fn find_box<F: Read + Seek>(
    f: &mut F,
    from: u64,
    to: u64,
    want: [u8; 4],
    budget: &mut usize,
) -> Option<(u64, u64)> {
    let mut at = from;
    while at < to {
        *budget = budget.checked_sub(1)?;
        let (kind, start, end) = read_header(f, at, to)?;
        if kind == want {
            return Some((start, end));
        }
        at = end;
    }
    None
}

fn is_video_trak<F: Read + Seek>(f: &mut F, start: u64, end: u64, budget: &mut usize) -> bool {
    let Some(mdia) = find_box(f, start, end, *b"mdia", budget) else {
        return false;
    };
    let Some((hdlr, _)) = find_box(f, mdia.0, mdia.1, *b"hdlr", budget) else {
        return false;
    };
    // version/flags (4), pre_defined (4), handler_type (4).
    let mut b = [0u8; 12];
    f.seek(SeekFrom::Start(hdlr)).is_ok() && f.read_exact(&mut b).is_ok() && &b[8..12] == b"vide"
}

fn tkhd_orientation<F: Read + Seek>(
    f: &mut F,
    start: u64,
    end: u64,
    budget: &mut usize,
) -> Option<Orientation> {
    let (tkhd, tkhd_end) = find_box(f, start, end, *b"tkhd", budget)?;
    f.seek(SeekFrom::Start(tkhd)).ok()?;
    let mut v = [0u8; 1];
    f.read_exact(&mut v).ok()?;
    // Version 0: 3 flag bytes + 4×4 + 8 + 8 before the matrix; version 1: three fields are
    // 8 bytes instead of 4.
    let matrix_at = tkhd + if v[0] == 1 { 52 } else { 40 };
    if matrix_at + 36 > tkhd_end {
        return None;
    }
    f.seek(SeekFrom::Start(matrix_at)).ok()?;
    let mut m = [0u8; 36];
    f.read_exact(&mut m).ok()?;
    let at = |i: usize| i32::from_be_bytes([m[i * 4], m[i * 4 + 1], m[i * 4 + 2], m[i * 4 + 3]]);
    Orientation::from_matrix(at(0), at(1), at(3), at(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gstreamer::init().expect("GStreamer initialises");
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn mono_and_plain_stereo_need_no_matrix() {
        init();
        assert_eq!(downmix_matrix(1, None), None);
        assert_eq!(downmix_matrix(2, None), None);
        assert_eq!(downmix_matrix(2, Some(0x3)), None);
    }

    #[test]
    fn five_one_unpositioned_is_bs775() {
        init();
        // PCM in MOV: channels=6, channel-mask=0 → FL FR FC LFE BL BR.
        let [l, r] = downmix_matrix(6, Some(0)).expect("a matrix");
        let want_l = [1.0, 0.0, MINUS_3DB, 0.0, MINUS_3DB, 0.0];
        let want_r = [0.0, 1.0, MINUS_3DB, 0.0, 0.0, MINUS_3DB];
        assert!(l.iter().zip(want_l).all(|(a, b)| close(*a, b)), "{l:?}");
        assert!(r.iter().zip(want_r).all(|(a, b)| close(*a, b)), "{r:?}");
    }

    #[test]
    fn seven_one_drops_lfe_and_mixes_both_surround_pairs() {
        init();
        let [l, r] = downmix_matrix(8, None).expect("a matrix");
        assert_eq!(l.len(), 8);
        assert!(close(l[3], 0.0) && close(r[3], 0.0), "LFE dropped");
        let left_sum: f32 = l.iter().sum();
        let right_sum: f32 = r.iter().sum();
        assert!(close(left_sum, 1.0 + 3.0 * MINUS_3DB), "{l:?}");
        assert!(close(right_sum, 1.0 + 3.0 * MINUS_3DB), "{r:?}");
    }

    #[test]
    fn positioned_masks_are_honoured() {
        init();
        // 3.0: FL FR FC (mask 0x7) — the centre to both sides.
        let [l, r] = downmix_matrix(3, Some(0x7)).expect("a matrix");
        assert!(close(l[2], MINUS_3DB) && close(r[2], MINUS_3DB));
        // Stereo that is not FL/FR (e.g. two surrounds) still gets a matrix.
        assert!(downmix_matrix(2, Some(0x30)).is_some());
        // A mask whose bit count disagrees falls back to the usual order.
        assert!(downmix_matrix(6, Some(0x3)).is_some());
    }

    #[test]
    fn many_unpositioned_channels_air_the_first_two() {
        init();
        let [l, r] = downmix_matrix(16, None).expect("a matrix");
        assert_eq!(l[0], 1.0);
        assert_eq!(r[1], 1.0);
        assert_eq!(l.iter().sum::<f32>(), 1.0);
    }

    #[test]
    fn every_quarter_turn_and_mirror_is_read() {
        const U: i32 = 0x0001_0000;
        assert_eq!(
            Orientation::from_matrix(U, 0, 0, U),
            Some(Orientation::Identity)
        );
        assert_eq!(
            Orientation::from_matrix(0, U, -U, 0),
            Some(Orientation::Rotate90)
        );
        assert_eq!(
            Orientation::from_matrix(-U, 0, 0, -U),
            Some(Orientation::Rotate180)
        );
        assert_eq!(
            Orientation::from_matrix(0, -U, U, 0),
            Some(Orientation::Rotate270)
        );
        assert_eq!(
            Orientation::from_matrix(-U, 0, 0, U),
            Some(Orientation::FlipHorizontal)
        );
        assert_eq!(Orientation::from_matrix(U / 2, 0, 0, U), None);
    }

    #[test]
    fn dual_mono_policy_parses() {
        assert_eq!("split".parse::<DualMono>(), Ok(DualMono::Split));
        assert_eq!("first".parse::<DualMono>(), Ok(DualMono::First));
        assert!("both".parse::<DualMono>().is_err());
    }
}
