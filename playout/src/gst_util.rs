//! Small GStreamer helpers shared by every pipeline the engine builds.
//!
//! Owns: the house format's raw caps and how a pipeline error is described (message plus
//! the element path that raised it). Does not own: any pipeline.

use crate::format::OutputProfile;
use gstreamer as gst;
use gstreamer::prelude::*;

/// Raw video at the house format: I420, house size and rate, square pixels.
pub fn raw_video_caps(p: &OutputProfile) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", "I420")
        .field("width", p.width as i32)
        .field("height", p.height as i32)
        .field(
            "framerate",
            gst::Fraction::new(p.rate.num as i32, p.rate.den as i32),
        )
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build()
}

/// Raw audio at the house format: interleaved S16, house rate and channels.
pub fn raw_audio_caps(p: &OutputProfile) -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", p.sample_rate as i32)
        .field("channels", p.channels as i32)
        .build()
}

/// An error message with the path of the element that raised it.
pub fn describe_error(err: &gst::message::Error) -> String {
    let path = err
        .src()
        .map(|s| s.path_string().to_string())
        .unwrap_or_else(|| "?".into());
    format!("{} ({path})", err.error())
}

/// The first error waiting on a pipeline's bus, if any.
pub fn bus_error(p: &gst::Pipeline) -> Option<String> {
    let msg = p.bus()?.pop_filtered(&[gst::MessageType::Error])?;
    match msg.view() {
        gst::MessageView::Error(e) => Some(describe_error(e)),
        _ => None,
    }
}

/// Sets `pipeline` to `Null` on a thread of its own named `name`: a teardown may wait for a
/// socket or a file, and must never hold up the caller (an async runtime, a drop).
pub fn tear_down_off_thread(pipeline: &gst::Pipeline, name: &str) {
    let p = pipeline.clone();
    let _ = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = p.set_state(gst::State::Null);
        });
}

/// Sets `pipeline` to `Playing` off the async runtime (the change may block, e.g. in
/// libsrt's connect), waiting at most `limit`; `true` when it succeeded in time.
pub async fn start_playing(pipeline: &gst::Pipeline, limit: std::time::Duration) -> bool {
    let p = pipeline.clone();
    let started = tokio::time::timeout(
        limit,
        tokio::task::spawn_blocking(move || p.set_state(gst::State::Playing)),
    )
    .await;
    matches!(started, Ok(Ok(Ok(_))))
}
