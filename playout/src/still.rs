//! Still pictures for people: one raw programme-format frame made into a small JPEG (the
//! dashboard's picture of a live source).
//!
//! Owns: the one-shot GStreamer pipeline (appsrc → videoscale → videoconvert → jpegenc →
//! appsink), time-boxed. Does not own: where the frame comes from (`source::live::status`)
//! or who serves the picture (the daemon's API).

use crate::format::OutputProfile;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::time::Duration;

/// Why a still could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StillError {
    /// The pipeline could not be built (a missing plugin: jpegenc is in gst-plugins-good).
    #[error("cannot build the still encoder (is jpegenc installed?): {0}")]
    Build(String),
    /// The encoder gave nothing within the time box.
    #[error("the still encoder gave no picture within {0} ms")]
    Timeout(u128),
}

/// Encodes `frame` (raw I420 at `profile`'s size) as a JPEG `width` pixels wide (height kept
/// in proportion, even; at most the frame's own width), quality 80. Blocks for at most
/// `timeout`: call it off the async runtime.
///
/// # Errors
/// [`StillError::Build`] when GStreamer lacks an element; [`StillError::Timeout`] when no
/// picture comes out in time.
pub fn jpeg(
    frame: &gst::Buffer,
    profile: &OutputProfile,
    width: u32,
    timeout: Duration,
) -> Result<Vec<u8>, StillError> {
    let w = width.clamp(16, profile.width.max(16)) & !1;
    let h = ((u64::from(w) * u64::from(profile.height) / u64::from(profile.width.max(1))) as u32)
        .max(2)
        & !1;
    let desc = format!(
        "appsrc name=src format=time ! videoscale ! videoconvert \
         ! video/x-raw,width={w},height={h} ! jpegenc quality=80 \
         ! appsink name=sink sync=false max-buffers=1"
    );
    let build = |e: String| StillError::Build(e);
    let pipeline = gst::parse::launch(&desc)
        .map_err(|e| build(e.to_string()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| build("not a pipeline".into()))?;
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or_else(|| build("no appsrc".into()))?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| build("no appsink".into()))?;
    src.set_caps(Some(&crate::gst_util::raw_video_caps(profile)));
    let result = (|| {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| build(e.to_string()))?;
        let mut buf = frame.copy();
        {
            let b = buf.make_mut();
            b.set_pts(gst::ClockTime::ZERO);
            b.set_dts(gst::ClockTime::NONE);
        }
        src.push_buffer(buf).map_err(|e| build(format!("{e:?}")))?;
        let _ = src.end_of_stream();
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64))
            .ok_or(StillError::Timeout(timeout.as_millis()))?;
        let buffer = sample
            .buffer()
            .ok_or(StillError::Timeout(timeout.as_millis()))?;
        let map = buffer.map_readable().map_err(|e| build(e.to_string()))?;
        Ok(map.as_slice().to_vec())
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grey_frame_becomes_a_small_jpeg() {
        gst::init().expect("gstreamer");
        let profile = OutputProfile::default();
        let (w, h) = (profile.width as usize, profile.height as usize);
        let mut bytes = vec![128u8; w * h * 3 / 2];
        bytes[..w * h].fill(200);
        let frame = gst::Buffer::from_mut_slice(bytes);
        let jpg = jpeg(&frame, &profile, 320, Duration::from_secs(10)).expect("a jpeg");
        assert_eq!(&jpg[..2], &[0xFF, 0xD8], "JPEG start of image");
        assert!(jpg.len() < 50_000, "a small picture: {} bytes", jpg.len());
    }
}
