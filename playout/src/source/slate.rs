//! The slate: what is on air when nothing else can be.
//!
//! Owns: rendering the slate once at start-up into a house-format frame — either the
//! generated card (「节目即将开始」 and the channel name on a dark field, rendered with Pango
//! and a CJK font) or the first frame of an image or clip from config. Does not own: when
//! the slate is shown (the switcher). The slate's audio is silence.

use crate::format::OutputProfile;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::time::Duration;

/// Fonts tried in order for the card; the first installed one with CJK glyphs wins.
pub const CARD_FONTS: &str = "Noto Sans CJK SC, WenQuanYi Zen Hei, Source Han Sans SC, Sans";

/// The text of the generated card.
pub const CARD_TEXT: &str = "节目即将开始";

/// Renders the generated card for `channel`.
pub fn render_card(profile: &OutputProfile, channel: &str) -> Result<gst::Buffer, String> {
    let size = (profile.height / 14).max(8);
    let text = format!("{CARD_TEXT}\n{}", escape_markup(channel));
    let desc = format!(
        "videotestsrc pattern=solid-color foreground-color=0xff14284b num-buffers=1 \
         ! video/x-raw,width={w},height={h},pixel-aspect-ratio=1/1 \
         ! textoverlay name=text valignment=center halignment=center line-alignment=center \
           shaded-background=false \
         ! videoconvert ! video/x-raw,format=I420,width={w},height={h} ! appsink name=out sync=false",
        w = profile.width,
        h = profile.height
    );
    render_first_frame(&desc, |pipeline| {
        if let Some(t) = pipeline.by_name("text") {
            t.set_property("text", text.as_str());
            // Pango sizes in points; at textoverlay's 72 dpi a point is a pixel.
            t.set_property("font-desc", format!("{CARD_FONTS} {size}px"));
        }
    })
}

/// Renders the first frame of an image or clip, letterboxed to the house format.
pub fn render_file(profile: &OutputProfile, uri: &str) -> Result<gst::Buffer, String> {
    let desc = format!(
        "uridecodebin name=dec ! videoconvert ! videoscale add-borders=true \
         ! video/x-raw,format=I420,width={w},height={h},pixel-aspect-ratio=1/1 \
         ! appsink name=out sync=false max-buffers=1",
        w = profile.width,
        h = profile.height
    );
    render_first_frame(&desc, |pipeline| {
        if let Some(d) = pipeline.by_name("dec") {
            d.set_property("uri", uri);
        }
    })
}

fn render_first_frame(
    desc: &str,
    configure: impl FnOnce(&gst::Pipeline),
) -> Result<gst::Buffer, String> {
    let pipeline = gst::parse::launch(desc)
        .map_err(|e| format!("cannot build the slate pipeline: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "slate pipeline is not a pipeline".to_string())?;
    configure(&pipeline);
    let sink = pipeline
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or("slate pipeline has no appsink")?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| "cannot start the slate pipeline".to_string())?;
    let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(10));
    let err = pipeline.bus().and_then(|b| {
        b.pop_filtered(&[gst::MessageType::Error])
            .map(|m| match m.view() {
                gst::MessageView::Error(e) => e.error().to_string(),
                _ => String::new(),
            })
    });
    let _ = pipeline.set_state(gst::State::Null);
    let sample = sample.ok_or_else(|| {
        format!(
            "the slate produced no picture{}",
            err.map(|e| format!(": {e}")).unwrap_or_default()
        )
    })?;
    let buf = sample.buffer_owned().ok_or("slate sample has no buffer")?;
    // Detach from the pipeline's buffer pool so the frame lives forever on its own.
    let map = buf
        .map_readable()
        .map_err(|_| "cannot read the slate".to_string())?;
    Ok(gst::Buffer::from_slice(map.as_slice().to_vec()))
}

fn escape_markup(s: &str) -> String {
    // textoverlay parses Pango markup only when use-markup is set; keep plain text plain.
    s.replace('\n', " ")
}

/// A frame of silence, `samples` per channel.
pub fn silence(profile: &OutputProfile, samples: usize) -> Vec<u8> {
    vec![0u8; samples * profile.audio_bytes_per_sample()]
}

/// How long the slate may take to render before start-up fails.
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(10);
