//! Feeding the fan-out's encoded packets into a GStreamer pipeline of a destination (SRT,
//! HLS): the pipeline's two appsrcs named `v` (H.264, AVC/AU) and `a` (raw AAC) get caps
//! from the stream [`Headers`], then every packet with its PTS/DTS and key flag; at the end
//! both get end-of-stream and the pipeline a bounded moment to flush. Also the byte counter
//! a destination puts on a pad.
//!
//! Owns nothing of a destination's own elements or bus policy.

use super::{DestinationError, KeyGate, SessionCtx};
use crate::packet::{Headers, Kind, Packet};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The two appsrcs of a destination pipeline.
pub struct Feed {
    pub video: gst_app::AppSrc,
    pub audio: gst_app::AppSrc,
    /// Names the pipeline in errors ("SRT", "HLS").
    what: &'static str,
}

impl Feed {
    /// Finds `v` and `a` in `pipeline` and gives them the caps of `h`.
    pub fn new(pipeline: &gst::Pipeline, h: &Headers, what: &'static str) -> Result<Feed, String> {
        let appsrc = |n: &str| {
            pipeline
                .by_name(n)
                .ok_or_else(|| format!("{what} pipeline has no {n}"))?
                .downcast::<gst_app::AppSrc>()
                .map_err(|_| format!("{n} in the {what} pipeline is not an appsrc"))
        };
        let video = appsrc("v")?;
        let audio = appsrc("a")?;
        video.set_caps(Some(
            &gst::Caps::builder("video/x-h264")
                .field("stream-format", "avc")
                .field("alignment", "au")
                .field("codec_data", gst::Buffer::from_slice(h.avcc.to_vec()))
                .field("width", h.width as i32)
                .field("height", h.height as i32)
                .field(
                    "framerate",
                    gst::Fraction::new(h.fps_num as i32, h.fps_den as i32),
                )
                .build(),
        ));
        audio.set_caps(Some(
            &gst::Caps::builder("audio/mpeg")
                .field("mpegversion", 4i32)
                .field("stream-format", "raw")
                .field("codec_data", gst::Buffer::from_slice(h.asc.to_vec()))
                .field("rate", h.sample_rate as i32)
                .field("channels", h.channels as i32)
                .build(),
        ));
        Ok(Feed { video, audio, what })
    }

    /// Sends the packets of `pending` (drained) that `gate` admits. A packet whose codec
    /// headers are not `headers` (the encoder started again with another configuration)
    /// ends the session with [`DestinationError::HeadersChanged`], so the next one builds its
    /// pipeline for them; a push that fails is [`DestinationError::Local`].
    pub fn send_admitted(
        &self,
        pending: &mut Vec<Packet>,
        headers: &Arc<Headers>,
        gate: &mut KeyGate,
        ctx: &mut SessionCtx<'_>,
    ) -> Result<(), DestinationError> {
        for p in pending.drain(..) {
            if !gate.admit(&p, ctx.stats, ctx.gop) {
                continue;
            }
            if p.headers.as_ref().is_some_and(|h| !Arc::ptr_eq(h, headers)) {
                return Err(DestinationError::HeadersChanged(self.what));
            }
            self.push(&p).map_err(DestinationError::Local)?;
        }
        Ok(())
    }

    /// Pushes one packet (never blocks: the appsrcs are `block=false`).
    pub fn push(&self, p: &Packet) -> Result<(), String> {
        let mut buf = gst::Buffer::from_slice(p.data.clone());
        if let Some(b) = buf.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(p.pts));
            b.set_dts(gst::ClockTime::from_nseconds(p.dts));
            if !p.key {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        let src = match p.kind {
            Kind::Video => &self.video,
            Kind::Audio => &self.audio,
        };
        src.push_buffer(buf)
            .map(|_| ())
            .map_err(|e| format!("the {} pipeline stopped: {e:?}", self.what))
    }

    /// Ends both streams and waits (at most 3 s) for `pipeline` to flush to its sink.
    pub async fn finish(&self, pipeline: &gst::Pipeline) {
        let _ = self.video.end_of_stream();
        let _ = self.audio.end_of_stream();
        if let Some(bus) = pipeline.bus() {
            let _ = tokio::task::spawn_blocking(move || {
                bus.timed_pop_filtered(
                    gst::ClockTime::from_seconds(3),
                    &[gst::MessageType::Eos, gst::MessageType::Error],
                )
            })
            .await;
        }
    }
}

/// Adds the bytes of every buffer that passes `pad` to `counter`.
pub fn count_bytes(pad: &gst::Pad, counter: Arc<AtomicU64>) {
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |_, info| {
            let n = match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => b.size(),
                Some(gst::PadProbeData::BufferList(l)) => l.calculate_size(),
                _ => 0,
            };
            counter.fetch_add(n as u64, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
}
