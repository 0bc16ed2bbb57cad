//! Conforming a decoded file to the house format: what a stream needs beyond decode,
//! scale and resample, decided from the stream itself.
//!
//! Owns: the stereo downmix matrix for any channel layout (ITU-R BS.775-3 table 2: centre
//! and surrounds at −3 dB, LFE dropped), the dual-mono policy, and the display orientation
//! a QuickTime/MP4 track header asks for (rotations and mirrors). Does not own: the
//! pipeline those decisions go into (`file`).
//!
//! Also owns the MP4 movie-duration fix that lets `qtdemux` deliver a track's last packets
//! when an edit list shifts it ([`movie_duration_fix`]).
//!
//! Everything here is pure except [`orientation_of_file`] and [`movie_duration_fix`], which
//! read a few box headers of a local file (never the media data), and
//! [`install_movie_duration_fix`], which patches the header as a pipeline reads it.

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

/// Where a QuickTime/MP4 file's movie duration (`moov/mvhd`) must be raised for GStreamer's
/// `qtdemux` to deliver every packet its edit lists keep, and to what.
///
/// `qtdemux` (1.22) ends a stream once a packet's *media* time reaches the movie's duration,
/// while an edit list that starts a track at media time `m > 0` keeps that track's packets
/// up to `m` past the movie's end: the AAC encoder's priming (ffmpeg writes `m` = 1024
/// samples) thus costs the last AAC packet, up to 21 ms of sound before every cut. Raising
/// the duration to the latest edit's end plus its media start lets those packets through;
/// each stream is still cut exactly at its own edit's end (the demuxer's segment stop,
/// which the decoders clip to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MovieDurationFix {
    /// File offset of the `mvhd` duration field.
    pub offset: u64,
    /// Its width in bytes (4 for a version 0 `mvhd`, 8 for version 1).
    pub width: u8,
    /// The duration it should say, in the movie's time scale.
    pub duration: u64,
}

impl MovieDurationFix {
    /// Rewrites the duration field where `data`, read from file offset `at`, holds any of
    /// its bytes. Returns whether it changed anything.
    pub fn patch(&self, at: u64, data: &mut [u8]) -> bool {
        let bytes = self.duration.to_be_bytes();
        let field = &bytes[8 - self.width as usize..];
        let mut changed = false;
        for (i, b) in field.iter().enumerate() {
            let pos = self.offset + i as u64;
            if let Some(k) = pos.checked_sub(at).and_then(|k| usize::try_from(k).ok())
                && let Some(slot) = data.get_mut(k)
            {
                changed |= *slot != *b;
                *slot = *b;
            }
        }
        changed
    }
}

/// The [`MovieDurationFix`] a local QuickTime/MP4-family file needs, or `None` when none
/// of its tracks' edits outruns the movie's duration (no edit list, edits from media time
/// 0, not that family, unreadable).
pub fn movie_duration_fix(path: &Path) -> Option<MovieDurationFix> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut budget = MAX_BOXES;
    let moov = find_box(&mut f, 0, len, *b"moov", &mut budget)?;
    let (mvhd, mvhd_end) = find_box(&mut f, moov.0, moov.1, *b"mvhd", &mut budget)?;
    let version = read_be(&mut f, mvhd, 1)?;
    let (scale_at, dur_at, width) = if version == 1 {
        (mvhd + 20, mvhd + 24, 8u8)
    } else {
        (mvhd + 12, mvhd + 16, 4u8)
    };
    if dur_at + u64::from(width) > mvhd_end {
        return None;
    }
    let movie_scale = read_be(&mut f, scale_at, 4)?;
    let duration = read_be(&mut f, dur_at, width)?;
    if movie_scale == 0 {
        return None;
    }
    let mut needed = duration;
    let mut at = moov.0;
    while at < moov.1 {
        let (kind, start, end) = read_header(&mut f, at, moov.1)?;
        budget = budget.checked_sub(1)?;
        if &kind == b"trak"
            && let Some(e) = track_edits_end(&mut f, start, end, movie_scale, &mut budget)
        {
            needed = needed.max(e);
        }
        at = end;
    }
    (needed > duration).then_some(MovieDurationFix {
        offset: dur_at,
        width,
        duration: if width == 4 {
            needed.min(u64::from(u32::MAX))
        } else {
            needed
        },
    })
}

/// Installs the [`MovieDurationFix`] local file `path` needs on `uridecodebin` (or any bin
/// with a `source-setup` signal): its source's bytes are patched as the demuxer reads them,
/// the file itself is never written. Returns the fix, or `None` when none was needed.
pub fn install_movie_duration_fix(
    uridecodebin: &gstreamer::Element,
    path: &Path,
) -> Option<MovieDurationFix> {
    use gstreamer::prelude::*;
    let fix = movie_duration_fix(path)?;
    uridecodebin.connect("source-setup", false, move |args| {
        let source = args.get(1)?.get::<gstreamer::Element>().ok()?;
        let pad = source.static_pad("src")?;
        pad.add_probe(gstreamer::PadProbeType::BUFFER, move |_, info| {
            let requested = info.offset;
            if let Some(gstreamer::PadProbeData::Buffer(buf)) = info.data.as_mut() {
                let at = match buf.offset() {
                    u64::MAX => requested,
                    o => o,
                };
                let size = buf.size() as u64;
                let field_end = fix.offset + u64::from(fix.width);
                if at != u64::MAX
                    && at < field_end
                    && at.saturating_add(size) > fix.offset
                    && let Ok(mut map) = buf.make_mut().map_writable()
                {
                    fix.patch(at, map.as_mut_slice());
                }
            }
            gstreamer::PadProbeReturn::Ok
        });
        None
    });
    Some(fix)
}

/// A big-endian unsigned number of `width` bytes (1, 4 or 8) at `at`.
fn read_be<F: Read + Seek>(f: &mut F, at: u64, width: u8) -> Option<u64> {
    f.seek(SeekFrom::Start(at)).ok()?;
    let mut b = [0u8; 8];
    let w = usize::from(width).min(8);
    f.read_exact(&mut b[8 - w..]).ok()?;
    Some(u64::from_be_bytes(b))
}

/// The latest movie time (movie time scale) a track's edits need the movie to run to for
/// `qtdemux` to deliver all they keep: each edit's end plus its media start. `None` for a
/// track without an edit list.
fn track_edits_end<F: Read + Seek>(
    f: &mut F,
    start: u64,
    end: u64,
    movie_scale: u64,
    budget: &mut usize,
) -> Option<u64> {
    let edts = find_box(f, start, end, *b"edts", budget)?;
    let (elst, elst_end) = find_box(f, edts.0, edts.1, *b"elst", budget)?;
    let mdia = find_box(f, start, end, *b"mdia", budget)?;
    let (mdhd, _) = find_box(f, mdia.0, mdia.1, *b"mdhd", budget)?;
    let media_scale = if read_be(f, mdhd, 1)? == 1 {
        read_be(f, mdhd + 20, 4)?
    } else {
        read_be(f, mdhd + 12, 4)?
    };
    if media_scale == 0 {
        return None;
    }
    let version = read_be(f, elst, 1)?;
    let count = read_be(f, elst + 4, 4)?;
    let (entry, width) = if version == 1 { (20, 8u8) } else { (12, 4u8) };
    let mut time = 0u64;
    let mut latest = None;
    for i in 0..count.min(1024) {
        let at = elst + 8 + i * entry;
        if at + entry > elst_end {
            break;
        }
        let dur = read_be(f, at, width)?;
        let raw = read_be(f, at + u64::from(width), width)?;
        // media_time is signed: −1 marks an empty edit (a gap in the track).
        let media_time = if width == 4 {
            i64::from(raw as u32 as i32)
        } else {
            raw as i64
        };
        if media_time > 0 {
            // The media start in movie units, rounded up.
            let shift =
                (media_time as u128 * u128::from(movie_scale)).div_ceil(u128::from(media_scale));
            let e = u128::from(time) + u128::from(dur) + shift;
            latest = latest.max(Some(u64::try_from(e).unwrap_or(u64::MAX)));
        }
        time = time.saturating_add(dur);
    }
    latest
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

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    /// A `moov` with a 1000/1000 s movie and one track at `media_scale` whose edit starts at
    /// `media_time` (none when `None`).
    fn movie(media_scale: u32, media_time: Option<i32>) -> Vec<u8> {
        let mut mvhd = vec![0u8; 4 + 4 + 4];
        mvhd.extend_from_slice(&1000u32.to_be_bytes());
        mvhd.extend_from_slice(&1000u32.to_be_bytes());
        mvhd.extend_from_slice(&[0u8; 80]);
        let mut mdhd = vec![0u8; 12];
        mdhd.extend_from_slice(&media_scale.to_be_bytes());
        mdhd.extend_from_slice(&49_024u32.to_be_bytes());
        mdhd.extend_from_slice(&[0u8; 4]);
        let mut trak = Vec::new();
        if let Some(m) = media_time {
            let mut elst = vec![0u8; 4];
            elst.extend_from_slice(&1u32.to_be_bytes());
            elst.extend_from_slice(&1000u32.to_be_bytes());
            elst.extend_from_slice(&m.to_be_bytes());
            elst.extend_from_slice(&0x0001_0000u32.to_be_bytes());
            trak.extend(boxed(b"edts", &boxed(b"elst", &elst)));
        }
        trak.extend(boxed(b"mdia", &boxed(b"mdhd", &mdhd)));
        let mut moov = boxed(b"mvhd", &mvhd);
        moov.extend(boxed(b"trak", &trak));
        let mut file = boxed(b"ftyp", b"isom\0\0\0\0");
        file.extend(boxed(b"moov", &moov));
        file
    }

    fn fix_of(bytes: &[u8]) -> Option<MovieDurationFix> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.mp4");
        std::fs::write(&p, bytes).expect("written");
        movie_duration_fix(&p)
    }

    #[test]
    fn a_shifted_edit_raises_the_movie_duration_by_its_media_start() {
        // AAC priming: 1024 samples at 48 kHz = 21.33 ms, rounded up to 22 movie units.
        let file = movie(48_000, Some(1024));
        let fix = fix_of(&file).expect("a fix");
        assert_eq!(fix.duration, 1022);
        assert_eq!(fix.width, 4);
        let at = fix.offset as usize;
        assert_eq!(
            &file[at..at + 4],
            &1000u32.to_be_bytes(),
            "points at the duration"
        );
        // Patched as read, whatever the read's bounds.
        let mut whole = file.clone();
        assert!(fix.patch(0, &mut whole));
        assert_eq!(&whole[at..at + 4], &1022u32.to_be_bytes());
        let mut tail = file[at + 2..].to_vec();
        assert!(fix.patch(at as u64 + 2, &mut tail));
        assert_eq!(&tail[..2], &1022u32.to_be_bytes()[2..]);
        let mut before = file[..at].to_vec();
        assert!(
            !fix.patch(0, &mut before),
            "bytes before the field are left alone"
        );
        // No edit list, an edit from media time 0, an empty edit: nothing to fix.
        assert_eq!(fix_of(&movie(48_000, None)), None);
        assert_eq!(fix_of(&movie(48_000, Some(0))), None);
        assert_eq!(fix_of(&movie(48_000, Some(-1))), None);
        // Not a movie at all.
        assert_eq!(fix_of(b"not a movie"), None);
    }

    #[test]
    fn dual_mono_policy_parses() {
        assert_eq!("split".parse::<DualMono>(), Ok(DualMono::Split));
        assert_eq!("first".parse::<DualMono>(), Ok(DualMono::First));
        assert!("both".parse::<DualMono>().is_err());
    }
}
