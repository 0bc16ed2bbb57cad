//! What the daemon hands the engine: cued items on the output timeline.
//!
//! Owns: the `Cue` type (an item with its source, in-point, length and start frame) and
//! source locators. Does not own: when items are cued (the daemon's on-air controller) or how
//! a source is opened (`source`).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The source of a cue that plays the engine's slate as a scheduled item (programme, not
/// a fallback: no `FallbackOn` event), with silence, for the cue's length.
pub const SLATE_SOURCE: &str = "slate:";

/// One item to play.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cue {
    /// Caller's identifier, echoed in events and status.
    pub id: String,
    /// Human title for status and logs.
    pub title: String,
    /// A local path or a URI (`file://`, `http(s)://`, `rtsp://`, `rtmp://`, `srt://` …).
    pub source: String,
    /// Where to start inside the source, in nanoseconds of source time.
    pub in_point_ns: u64,
    /// How many output frames the item plays; `None` plays the source to its end.
    pub length: Option<u64>,
    /// Absolute output frame of the first frame; `None` follows the previous item.
    /// A start that is already past when the item is cued joins the item at the right
    /// offset into it.
    pub start: Option<u64>,
    /// Loudness correction of the item's sound, milli-dB (0: as it is): the edition's
    /// target less the item's measured integrated loudness, set by the daemon's air plan.
    #[serde(default)]
    pub gain_mdb: i32,
    /// The edition's true-peak ceiling, milli-dBTP: the item's peaks are limited under it
    /// (see [`crate::level`]). `None`: no limiter.
    #[serde(default)]
    pub ceiling_mdb: Option<i32>,
    /// For a live source (never measured before air): the loudness target, milli-LUFS, of
    /// its slow automatic gain (see [`crate::level::Leveller::live`]). `None`: no such gain.
    #[serde(default)]
    pub live_target_mlufs: Option<i32>,
    /// A recorded clip (path or file URI) that fills the item's fallbacks instead of the
    /// slate: opened when the item is pre-rolled, played from its start once the held last
    /// frame has run out, looped frame-exactly with its sound, and left on the source's
    /// first frame when it delivers again. A backup that cannot be opened gives the slate.
    #[serde(default)]
    pub backup: Option<String>,
    /// Loudness correction of the backup's sound, milli-dB (like `gain_mdb`, from the air
    /// plan's measure of the clip; 0: as it is). Limited under `ceiling_mdb` too.
    #[serde(default)]
    pub backup_gain_mdb: i32,
}

impl Cue {
    /// A cue that follows the previous item and plays `source` to its end.
    pub fn follow(id: impl Into<String>, source: impl Into<String>) -> Cue {
        let id = id.into();
        Cue {
            title: id.clone(),
            id,
            source: source.into(),
            in_point_ns: 0,
            length: None,
            start: None,
            gain_mdb: 0,
            ceiling_mdb: None,
            live_target_mlufs: None,
            backup: None,
            backup_gain_mdb: 0,
        }
    }

    /// Names the clip that fills this item's fallbacks instead of the slate (see
    /// [`Cue::backup`]).
    pub fn with_backup(mut self, source: impl Into<String>) -> Cue {
        self.backup = Some(source.into());
        self
    }

    pub fn with_length(mut self, frames: u64) -> Cue {
        self.length = Some(frames);
        self
    }

    pub fn at(mut self, frame: u64) -> Cue {
        self.start = Some(frame);
        self
    }

    /// Sets the loudness correction (milli-dB) and the peak ceiling (milli-dBTP).
    pub fn with_gain_mdb(mut self, gain_mdb: i32, ceiling_mdb: Option<i32>) -> Cue {
        self.gain_mdb = gain_mdb;
        self.ceiling_mdb = ceiling_mdb;
        self
    }

    pub fn with_in_point_ns(mut self, ns: u64) -> Cue {
        self.in_point_ns = ns;
        self
    }

    /// Whether this cue plays the engine's slate (see [`SLATE_SOURCE`]).
    pub fn is_slate(&self) -> bool {
        self.source == SLATE_SOURCE
    }

    /// The source as a URI GStreamer understands (plain paths become `file://` URIs).
    pub fn uri(&self) -> String {
        to_uri(&self.source)
    }
}

/// Turns a path or URI into a URI. Relative paths are made absolute against the current
/// directory.
pub fn to_uri(source: &str) -> String {
    if source.contains("://") {
        return source.to_string();
    }
    let path = Path::new(source);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    gstreamer::glib::filename_to_uri(&abs, None)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file://{}", abs.display()))
}
