//! The HLS rendition's playlist, kept across sessions and daemon restarts (issue 13, fault 8).
//!
//! Owns the pure half of the HLS writer: the state beside the playlist
//! (`live.m3u8.state`, JSON: the constant target duration, the next segment index, the
//! discontinuity sequence and the segments on disk), the playlist text, the segment names, and
//! which files to delete. The rules (RFC 8216):
//! - a segment's index is its media sequence number, counted on across sessions and restarts,
//!   so `EXT-X-MEDIA-SEQUENCE` only grows and a name is not reused within
//!   [`NAME_WRAP`] segments (names are `segNNNNN.ts`, the index modulo 100 000: the shape the
//!   dashboard preview and `/watch` serve; at 2 s a segment that is 55 hours);
//! - the first segment of a session that follows earlier ones carries
//!   `#EXT-X-DISCONTINUITY` (its timestamps start again), and `EXT-X-DISCONTINUITY-SEQUENCE`
//!   counts those that have left the listed window;
//! - `EXT-X-TARGETDURATION` is fixed when the state is created and kept (raised only if the
//!   house key-frame interval grows, with a warning from the writer);
//! - the playlist never gets `#EXT-X-ENDLIST`: a restart or a stop of the daemon is not the
//!   end of the channel, and players keep polling through it;
//! - segments beyond [`MAX_FILES`] are deleted oldest first, after the playlist that no longer
//!   lists them is written.
//!
//! Files are written whole (a temporary name, then a rename), so a reader or a crash never
//! sees half a playlist or half a state.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The playlist's file name inside the directory.
pub const PLAYLIST: &str = "live.m3u8";
/// The state's file name inside the directory (not served).
pub const STATE: &str = "live.m3u8.state";
/// Segments listed in the playlist.
pub const PLAYLIST_LENGTH: usize = 6;
/// Segments kept on disk; older ones are deleted.
pub const MAX_FILES: usize = 10;
/// Segment names repeat after this many segments (`seg00000.ts` … `seg99999.ts`).
pub const NAME_WRAP: u64 = 100_000;
/// Version of the state format.
const STATE_VERSION: u32 = 1;

/// The file name of segment `index`: `segNNNNN.ts` (the index modulo [`NAME_WRAP`]).
pub fn segment_name(index: u64) -> String {
    format!("seg{:05}.ts", index % NAME_WRAP)
}

/// Whether a file name is one this destination writes: the playlist, a segment
/// (`segNNNNN.ts`, five or more digits), the state, or one of their temporary files.
pub fn is_ours(name: &str) -> bool {
    let base = name.strip_suffix(".tmp").unwrap_or(name);
    if base == PLAYLIST || base == STATE {
        return true;
    }
    name.strip_prefix("seg")
        .and_then(|r| r.strip_suffix(".ts"))
        .is_some_and(|n| n.len() >= 5 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Target duration (whole seconds) for a key-frame interval of `gop` frames at `num/den` fps:
/// a segment is cut at the first key frame at least half an interval after its start
/// ([`split_after_ns`]), and key frames are never more than an interval apart (the encoder's
/// `key-int-max`; scene cuts only add some), so a segment lasts under 1.5 intervals. The
/// target is that bound rounded up (50 frames at 25 fps: 3 s).
pub fn target_duration(gop: u32, num: u32, den: u32) -> u32 {
    let n = 3 * u64::from(gop.max(1)) * u64::from(den.max(1));
    let d = 2 * u64::from(num.max(1));
    n.div_ceil(d).clamp(1, 60) as u32
}

/// Where the segmenter cuts: the first key frame at least this many nanoseconds into a
/// segment (half the key-frame interval).
pub fn split_after_ns(gop: u32, num: u32, den: u32) -> u64 {
    u64::from(gop.max(1)) * u64::from(den.max(1)) * 1_000_000_000 / (2 * u64::from(num.max(1)))
}

/// One segment on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Its media sequence number (its name is [`segment_name`] of it).
    pub index: u64,
    /// Its duration, milliseconds.
    pub duration_ms: u64,
    /// It follows a discontinuity (the first segment of a session after earlier ones).
    pub discontinuity: bool,
}

/// The rendition's state: what the playlist lists and what comes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistState {
    /// Format version.
    pub version: u32,
    /// `EXT-X-TARGETDURATION`, whole seconds: fixed for the life of the playlist.
    pub target_duration: u32,
    /// `EXT-X-DISCONTINUITY-SEQUENCE`: discontinuities that have left the listed window.
    pub discontinuity_sequence: u64,
    /// The index of the next segment.
    pub next_index: u64,
    /// The segments on disk, oldest first (the last [`PLAYLIST_LENGTH`] are listed).
    pub segments: Vec<Segment>,
}

/// What [`PlaylistState::push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Segments to delete now (oldest first), after the new playlist is written.
    pub delete: Vec<String>,
    /// The segment lasts longer than the target duration allows (rounded): the writer warns.
    pub over_target: bool,
}

impl PlaylistState {
    /// A new, empty playlist with this target duration.
    pub fn fresh(target_duration: u32) -> Self {
        PlaylistState {
            version: STATE_VERSION,
            target_duration: target_duration.max(1),
            discontinuity_sequence: 0,
            next_index: 0,
            segments: Vec::new(),
        }
    }

    /// Reads the state from `dir`. `Ok(None)` when there is none; an error (with the file's
    /// path) when it cannot be read or is not a state of this version.
    pub fn load(dir: &Path) -> Result<Option<Self>, String> {
        let path = dir.join(STATE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let s: PlaylistState = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not an HLS state: {e}", path.display()))?;
        if s.version != STATE_VERSION {
            return Err(format!(
                "{}: state version {} (expected {STATE_VERSION})",
                path.display(),
                s.version
            ));
        }
        Ok(Some(s))
    }

    /// Writes the state into `dir` (whole: a temporary file, then a rename).
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string(self).map_err(|e| format!("HLS state: {e}"))?;
        write_whole(&dir.join(STATE), text.as_bytes())
    }

    /// The state a new session continues from: `loaded` (the previous run's) or a fresh one.
    /// The target duration stays the loaded one unless `needed` is longer (the house
    /// key-frame interval grew), in which case it is raised and `true` is returned.
    pub fn resume(loaded: Option<Self>, needed: u32) -> (Self, bool) {
        match loaded {
            None => (Self::fresh(needed), false),
            Some(mut s) => {
                let raised = needed > s.target_duration;
                s.target_duration = s.target_duration.max(needed);
                (s, raised)
            }
        }
    }

    /// Adds the segment a session just closed. `first_of_session` marks the first segment of
    /// a session: it follows a discontinuity when any segment came before it. Returns the
    /// files to delete once the playlist is written.
    pub fn push(&mut self, duration_ms: u64, first_of_session: bool) -> Pushed {
        let index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        self.segments.push(Segment {
            index,
            duration_ms,
            discontinuity: first_of_session && index > 0,
        });
        // The segment that just left the listed window takes its discontinuity with it.
        if let Some(left) = self
            .segments
            .len()
            .checked_sub(PLAYLIST_LENGTH + 1)
            .and_then(|i| self.segments.get(i))
            && left.discontinuity
        {
            self.discontinuity_sequence += 1;
        }
        let mut delete = Vec::new();
        while self.segments.len() > MAX_FILES {
            let old = self.segments.remove(0);
            delete.push(segment_name(old.index));
        }
        // EXTINF rounded to the nearest second must not exceed the target (RFC 8216 4.3.3.1).
        let over_target = (duration_ms + 500) / 1000 > u64::from(self.target_duration);
        Pushed {
            delete,
            over_target,
        }
    }

    /// The segments the playlist lists (the newest [`PLAYLIST_LENGTH`]).
    pub fn listed(&self) -> &[Segment] {
        let from = self.segments.len().saturating_sub(PLAYLIST_LENGTH);
        &self.segments[from..]
    }

    /// The playlist text (no `#EXT-X-ENDLIST`, ever).
    pub fn render(&self) -> String {
        let listed = self.listed();
        let first = listed.first().map_or(self.next_index, |s| s.index);
        let mut out = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n\
             #EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
            self.target_duration, self.discontinuity_sequence
        );
        for s in listed {
            if s.discontinuity {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            out.push_str(&format!(
                "#EXTINF:{}.{:03},\n{}\n",
                s.duration_ms / 1000,
                s.duration_ms % 1000,
                segment_name(s.index)
            ));
        }
        out
    }

    /// Writes the playlist into `dir` (whole).
    pub fn write_playlist(&self, dir: &Path) -> Result<(), String> {
        write_whole(&dir.join(PLAYLIST), self.render().as_bytes())
    }

    /// Whether `name` is a segment this state keeps.
    pub fn keeps(&self, name: &str) -> bool {
        self.segments.iter().any(|s| segment_name(s.index) == name)
    }
}

/// Writes `bytes` to `path` through `path.tmp` and a rename.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files() {
        assert_eq!(segment_name(0), "seg00000.ts");
        assert_eq!(segment_name(123_456), "seg23456.ts");
        for ours in [
            "live.m3u8",
            "live.m3u8.tmp",
            "live.m3u8.state",
            "live.m3u8.state.tmp",
            "seg00000.ts",
            "seg123456.ts",
        ] {
            assert!(is_ours(ours), "{ours}");
        }
        for other in ["seg1.ts", "index.html", "segabcde.ts", "keep.txt"] {
            assert!(!is_ours(other), "{other}");
        }
    }

    #[test]
    fn target_bounds_the_longest_segment() {
        // 50 frames at 25 fps: cut 1 s in at the earliest, the next key frame ≤ 2 s later.
        assert_eq!(target_duration(50, 25, 1), 3);
        assert_eq!(split_after_ns(50, 25, 1), 1_000_000_000);
        assert_eq!(target_duration(25, 25, 1), 2);
        assert_eq!(target_duration(60, 30000, 1001), 4);
    }

    #[test]
    fn a_restart_continues_the_sequence_with_a_discontinuity_and_the_same_target() {
        let dir = tempfile_dir();
        let (mut s, raised) = PlaylistState::resume(None, 3);
        assert!(!raised);
        for i in 0..4 {
            let p = s.push(2000, i == 0);
            assert!(p.delete.is_empty() && !p.over_target);
        }
        let first_run = s.render();
        assert!(
            first_run.contains("#EXT-X-MEDIA-SEQUENCE:0\n"),
            "{first_run}"
        );
        assert!(!first_run.contains("#EXT-X-DISCONTINUITY\n"), "{first_run}");
        s.save(dir.path()).expect("save");

        // The daemon restarts: the state is read back, the target kept even if the new
        // session would need less.
        let loaded = PlaylistState::load(dir.path()).expect("read");
        let (mut s, raised) = PlaylistState::resume(loaded, 2);
        assert!(!raised);
        s.push(1960, true);
        s.push(2000, false);
        let text = s.render();
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-DISCONTINUITY-SEQUENCE:0\n\
             #EXTINF:2.000,\nseg00000.ts\n#EXTINF:2.000,\nseg00001.ts\n#EXTINF:2.000,\nseg00002.ts\n\
             #EXTINF:2.000,\nseg00003.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1.960,\nseg00004.ts\n\
             #EXTINF:2.000,\nseg00005.ts\n"
        );
        assert!(!text.contains("ENDLIST"));

        // The window slides past the join: the discontinuity is counted, old files deleted
        // oldest first, the sequence keeps growing.
        let mut deleted = Vec::new();
        for _ in 0..8 {
            deleted.extend(s.push(2000, false).delete);
        }
        assert_eq!(
            deleted,
            ["seg00000.ts", "seg00001.ts", "seg00002.ts", "seg00003.ts"]
        );
        assert_eq!(s.segments.len(), MAX_FILES);
        let text = s.render();
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:8\n"), "{text}");
        assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), "{text}");
        assert!(!text.contains("#EXT-X-DISCONTINUITY\n"), "{text}");
        assert!(s.keeps("seg00004.ts") && !s.keeps("seg00003.ts"));
    }

    #[test]
    fn a_longer_key_frame_interval_raises_the_target_and_a_long_segment_is_flagged() {
        let (mut s, _) = PlaylistState::resume(None, 2);
        assert!(s.push(2600, true).over_target);
        assert!(!s.push(2400, false).over_target);
        let (s, raised) = PlaylistState::resume(Some(s), 3);
        assert!(raised);
        assert_eq!(s.target_duration, 3);
    }

    #[test]
    fn a_bad_state_is_an_error_naming_the_file() {
        let dir = tempfile_dir();
        assert_eq!(PlaylistState::load(dir.path()).expect("none"), None);
        std::fs::write(dir.path().join(STATE), "garbage").expect("write");
        let e = PlaylistState::load(dir.path()).expect_err("refused");
        assert!(e.contains("live.m3u8.state"), "{e}");
    }

    fn tempfile_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }
}
