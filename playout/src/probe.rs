//! Asking a media file how long it is, time-boxed, before it is scheduled.
//!
//! Owns: duration probing with GStreamer's Discoverer. Does not own: technical acceptance
//! (the catalog judges files; this only answers "how long").

use gstreamer as gst;
use gstreamer_pbutils as pbutils;
use std::time::Duration;

/// The duration of `uri` in nanoseconds, or why it could not be read.
pub fn duration_ns(uri: &str, timeout: Duration) -> Result<u64, String> {
    gst::init().map_err(|e| format!("GStreamer: {e}"))?;
    let secs = timeout.as_secs().max(1);
    let disc = pbutils::Discoverer::new(gst::ClockTime::from_seconds(secs))
        .map_err(|e| format!("cannot start the media probe: {e}"))?;
    let info = disc
        .discover_uri(uri)
        .map_err(|e| format!("cannot read the media: {e}"))?;
    if info.video_streams().is_empty() {
        return Err("the file has no video stream".into());
    }
    info.duration()
        .map(|d| d.nseconds())
        .filter(|d| *d > 0)
        .ok_or_else(|| "the media has no known duration".into())
}
