//! The one encode of the programme: raw frames in, H.264 and AAC packets out.
//!
//! Owns: the encoder pipeline (appsrc → x264 → h264parse(avc) → appsink; appsrc → AAC →
//! aacparse(raw) → appsink), lateness measurement at the encoder's sink pad against the
//! wall clock, and turning encoded buffers into `Packet`s. Does not own: who receives the
//! packets (`fanout`).
//!
//! The AAC encoder runs with `aac-ms=false`: gst-libav maps ffmpeg's M/S option (auto by
//! default in ffmpeg) to a boolean whose default *forces* M/S coding on every band, which
//! smears uncorrelated left and right into each other (a left-only tone came out 4 dB down
//! with the other side 8 dB under it, at 96 and 256 kbit/s alike); with M/S off the sides
//! stay > 90 dB apart.

use crate::format::OutputProfile;
use crate::packet::{Kind, Packet};
use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

/// Why the encoder could not start or take a frame.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EncodeError {
    /// The pipeline could not be built (a missing GStreamer plugin, usually).
    #[error("cannot build the encoder (is x264enc/avenc_aac installed?): {0}")]
    Build(String),
    /// The pipeline lacks one of its named elements (a programming error in its description).
    #[error("encoder has no {0}")]
    MissingElement(&'static str),
    /// The pipeline refused to go to PLAYING.
    #[error("cannot start the encoder")]
    Start,
    /// An input refused a buffer: the encoder's pipeline has stopped or failed.
    #[error("{input} encoder refused a frame: {flow}")]
    Refused {
        /// `video` or `audio`.
        input: &'static str,
        /// GStreamer's flow error.
        flow: String,
    },
}

/// Lateness of frames reaching the encoder, against the timeline's wall-clock deadlines.
#[derive(Default)]
pub struct Lateness {
    pub max_ns: AtomicU64,
    /// Frames that reached the encoder more than one frame late.
    pub late_frames: AtomicU64,
    pub frames: AtomicU64,
}

/// Maps timeline timestamps to monotonic deadlines: frame pts `origin_pts` is due at
/// `origin`.
#[derive(Clone, Copy)]
pub struct Deadlines {
    pub origin: Instant,
    pub origin_pts: u64,
}

impl Deadlines {
    pub fn due(&self, pts: u64) -> Instant {
        self.origin + Duration::from_nanos(pts.saturating_sub(self.origin_pts))
    }
}

pub struct Encoder {
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
}

impl Encoder {
    pub fn start(
        profile: &OutputProfile,
        packets: SyncSender<Packet>,
        lateness: Arc<Lateness>,
        // Set by the engine once the encoder runs and the timeline's origin is fixed.
        deadlines: Arc<std::sync::OnceLock<Deadlines>>,
        // Packets produced and packets the fan-out could not take are counted here.
        health: Arc<crate::health::Health>,
    ) -> Result<Encoder, EncodeError> {
        let desc = format!(
            "appsrc name=vsrc format=time is-live=true do-timestamp=false block=false \
               max-bytes={vmax} \
             ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=1000000000 \
             ! x264enc name=venc bitrate={vk} speed-preset={preset} key-int-max={gop} \
               bframes=0 byte-stream=false aud=false sliced-threads=false threads=0 \
               vbv-buf-capacity=1000 \
             ! video/x-h264,profile={vprofile} \
             ! h264parse ! video/x-h264,stream-format=avc,alignment=au \
             ! appsink name=vsink sync=false max-buffers=0 \
             appsrc name=asrc format=time is-live=true do-timestamp=false block=false \
             ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=3000000000 \
             ! audioconvert ! avenc_aac bitrate={ab} aac-ms=false \
             ! aacparse ! audio/mpeg,mpegversion=4,stream-format=raw \
             ! appsink name=asink sync=false max-buffers=0",
            vmax = (profile.width * profile.height * 3 / 2) as u64 * 50,
            vk = profile.video_kbps,
            preset = profile.preset.as_str(),
            gop = profile.keyframe_interval,
            vprofile = if profile.preset == crate::format::Preset::Ultrafast {
                "constrained-baseline"
            } else {
                "high"
            },
            ab = profile.audio_kbps * 1000,
        );
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| EncodeError::Build(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| EncodeError::Build("not a pipeline".into()))?;
        let get_src = |name: &'static str| {
            pipeline
                .by_name(name)
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                .ok_or(EncodeError::MissingElement(name))
        };
        let video = get_src("vsrc")?;
        let audio = get_src("asrc")?;
        video.set_caps(Some(&crate::gst_util::raw_video_caps(profile)));
        audio.set_caps(Some(&crate::gst_util::raw_audio_caps(profile)));
        // Lateness is measured where the encoder takes the frame.
        if let Some(pad) = pipeline.by_name("venc").and_then(|e| e.static_pad("sink")) {
            let frame_ns = profile.rate.frame_ns();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(pts) = info.buffer().and_then(|b| b.pts())
                    && let Some(deadlines) = deadlines.get()
                {
                    let due = deadlines.due(pts.nseconds());
                    let late = Instant::now().saturating_duration_since(due).as_nanos() as u64;
                    lateness.max_ns.fetch_max(late, Ordering::Relaxed);
                    lateness.frames.fetch_add(1, Ordering::Relaxed);
                    if late > frame_ns {
                        lateness.late_frames.fetch_add(1, Ordering::Relaxed);
                    }
                }
                gst::PadProbeReturn::Ok
            });
        }
        // AAC starts with one frame of encoder priming that FLV and MPEG-TS cannot signal:
        // shift the audio back by it (as ffmpeg does) so sound and picture stay in sync.
        let priming_ns = 1024 * 1_000_000_000 / profile.sample_rate as u64;
        for (name, kind) in [("vsink", Kind::Video), ("asink", Kind::Audio)] {
            let sink = pipeline
                .by_name(name)
                .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
                .ok_or(EncodeError::MissingElement(name))?;
            let tx = packets.clone();
            let health = health.clone();
            sink.set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |sink| {
                        let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        let shift = if kind == Kind::Audio { priming_ns } else { 0 };
                        if let Some(p) = to_packet(&sample, kind, shift) {
                            health.packets_encoded.fetch_add(1, Ordering::Relaxed);
                            // The fan-out never blocks the encoder: a packet it cannot take
                            // (its queue full, or it is gone) is dropped and counted.
                            if tx.try_send(p).is_err() {
                                health
                                    .packets_lost_to_fanout
                                    .fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        }
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| EncodeError::Start)?;
        Ok(Encoder {
            pipeline,
            video,
            audio,
        })
    }

    /// Hands one frame (video and its audio) to the encoder; never blocks.
    pub fn push(&self, video: gst::Buffer, audio: gst::Buffer) -> Result<(), EncodeError> {
        self.video
            .push_buffer(video)
            .map_err(|e| EncodeError::Refused {
                input: "video",
                flow: format!("{e:?}"),
            })?;
        self.audio
            .push_buffer(audio)
            .map_err(|e| EncodeError::Refused {
                input: "audio",
                flow: format!("{e:?}"),
            })?;
        Ok(())
    }

    /// Frames waiting in front of the encoder.
    pub fn backlog_bytes(&self) -> u64 {
        self.video.current_level_bytes()
    }

    /// The first error on the encoder's bus, if any.
    pub fn error(&self) -> Option<String> {
        crate::gst_util::bus_error(&self.pipeline)
    }

    /// Tears the encoder down at once (a fault drill): later frames are refused.
    pub fn kill(&self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }

    /// Sends end-of-stream and waits (bounded) until everything encoded has come out.
    pub fn finish(self, timeout: Duration) {
        let _ = self.video.end_of_stream();
        let _ = self.audio.end_of_stream();
        if let Some(bus) = self.pipeline.bus() {
            let _ = bus.timed_pop_filtered(
                gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The packet, with its timestamps moved `shift_ns` earlier; `None` for one that would
/// fall before the timeline's start.
fn to_packet(sample: &gst::Sample, kind: Kind, shift_ns: u64) -> Option<Packet> {
    let buf = sample.buffer()?;
    let seg = sample
        .segment()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned());
    let running = |t: Option<gst::ClockTime>| -> Option<u64> {
        let t = t?;
        match &seg {
            Some(s) => s.to_running_time(t).map(|r| r.nseconds()),
            None => Some(t.nseconds()),
        }
    };
    let pts = running(buf.pts())?.checked_sub(shift_ns)?;
    let dts = running(buf.dts())
        .and_then(|d| d.checked_sub(shift_ns))
        .unwrap_or(pts);
    let codec_data = sample
        .caps()
        .and_then(|c| c.structure(0))
        .and_then(|s| s.get::<gst::Buffer>("codec_data").ok())
        .and_then(|b| {
            b.map_readable()
                .ok()
                .map(|m| Bytes::copy_from_slice(m.as_slice()))
        });
    let map = buf.map_readable().ok()?;
    Some(Packet {
        kind,
        pts,
        dts,
        key: kind == Kind::Audio || !buf.flags().contains(gst::BufferFlags::DELTA_UNIT),
        data: Bytes::copy_from_slice(map.as_slice()),
        codec_data,
        headers: None,
    })
}
