//! One connection's GStreamer pipeline: a front (a URI through `uridecodebin`, or an
//! `appsrc` of compressed data through `decodebin`) → decode → conform (convert,
//! letterbox/pillarbox scale, rate, house caps) → bounded, leaky appsinks.
//!
//! Owns: building and tearing down the pipeline of one connection, counting the bytes and
//! decoded pictures it sees, and the moment of its first picture (for the jitter buffer).
//! Does not own: the connection itself (`rtsp`, `pull`, `ingest`) or what the switcher
//! pulls (`source`).
//!
//! The appsinks drop their oldest buffers when nobody pulls: a live source pre-rolled
//! before its slot keeps only its latest frames, and the queue behind the programme never
//! grows beyond the jitter buffer.

use super::record::{Stream, Tap};
use super::status::StatusCell;
use crate::format::OutputProfile;
use crate::gst_util::describe_error;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Where the compressed stream comes from.
pub(crate) enum Front {
    /// Anything `uridecodebin` opens (SRT, RTMP, HLS, HTTP-FLV …). `sync` paces the sinks to
    /// the pipeline clock (for sources that deliver faster than real time, like HLS).
    Uri { uri: String, sync: bool },
    /// Compressed data pushed by our own code (RTSP access units, ingest FLV), with caps;
    /// optionally a second, audio-only input (an RTSP camera's AAC as ADTS).
    AppSrc {
        caps: gst::Caps,
        audio: Option<gst::Caps>,
    },
}

/// A built pipeline of one connection. Dropping it stops the pipeline.
pub(crate) struct Branch {
    pub pipeline: gst::Pipeline,
    pub video: gst_app::AppSink,
    pub audio: gst_app::AppSink,
    pub appsrc: Option<gst_app::AppSrc>,
    /// The second, audio-only input, when there is one.
    pub audio_src: Option<gst_app::AppSrc>,
    /// An audio stream was linked.
    pub has_audio: Arc<AtomicBool>,
    /// When the first picture was decoded.
    pub first_frame: Arc<OnceLock<Instant>>,
    created: Instant,
    /// Nanoseconds after `created` of the latest decoded picture; `u64::MAX` before any.
    last_frame_ns: Arc<AtomicU64>,
    /// Numbered per source: tells the consumer a new connection started.
    pub generation: u64,
    /// The recording tap of this connection, when the source is recorded.
    tap: Option<Arc<Tap>>,
}

impl Branch {
    /// Time since the latest decoded picture (or since the pipeline was built, before any).
    pub fn since_last_frame(&self) -> (bool, Duration) {
        let ns = self.last_frame_ns.load(Ordering::Relaxed);
        let now = self.created.elapsed();
        if ns == u64::MAX {
            (false, now)
        } else {
            (true, now.saturating_sub(Duration::from_nanos(ns)))
        }
    }

    /// The first error or end of stream waiting on the bus, if any.
    pub fn bus_problem(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos]) {
            match msg.view() {
                gst::MessageView::Error(e) => return Some(describe_error(e)),
                gst::MessageView::Eos(_) => return Some("the stream ended".into()),
                _ => {}
            }
        }
        None
    }
}

impl Branch {
    /// Finishes this connection's part of the recording (its last segment), if any.
    /// Blocks up to a couple of seconds: call it from the connection thread.
    pub fn finish_recording(&self) {
        if let Some(t) = &self.tap {
            t.finish();
        }
    }
}

impl Drop for Branch {
    fn drop(&mut self) {
        for src in [&self.appsrc, &self.audio_src].into_iter().flatten() {
            let _ = src.end_of_stream();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| format!("GStreamer element {factory} is not installed"))
}

/// A decoder must not show the grey smear of a stream joined between key frames: the
/// picture returns on the first key frame.
fn no_corrupt_output(bin: &gst::Element) {
    if let Some(bin) = bin.downcast_ref::<gst::Bin>() {
        bin.connect_deep_element_added(|_, _, el| {
            let is_libav = el.factory().is_some_and(|f| f.name().starts_with("avdec_"));
            if is_libav && el.find_property("output-corrupt").is_some() {
                el.set_property("output-corrupt", false);
            }
        });
    }
}

/// Builds the pipeline of one connection and sets it playing.
pub(crate) fn build(
    front: Front,
    profile: &OutputProfile,
    jitter: Duration,
    status: &Arc<StatusCell>,
    generation: u64,
    tap: Option<Arc<Tap>>,
) -> Result<Branch, String> {
    let pipeline = gst::Pipeline::with_name("live-source");
    let has_audio = Arc::new(AtomicBool::new(false));
    let first_frame = Arc::new(OnceLock::new());
    let created = Instant::now();
    let last_frame_ns = Arc::new(AtomicU64::new(u64::MAX));

    let appsrc_of = |caps: &gst::Caps| {
        let src = gst_app::AppSrc::builder()
            .caps(caps)
            .format(gst::Format::Time)
            .is_live(true)
            .do_timestamp(false)
            .block(false)
            .max_bytes(16 * 1024 * 1024)
            .build();
        // Bounded: under overload the oldest compressed data goes, never our memory.
        if src.find_property("leaky-type").is_some() {
            src.set_property_from_str("leaky-type", "downstream");
        }
        src
    };
    let (decs, appsrc, audio_src, sync) = match front {
        Front::Uri { uri, sync } => {
            let dec = gst::ElementFactory::make("uridecodebin")
                .property("uri", uri.as_str())
                .build()
                .map_err(|_| "GStreamer element uridecodebin is not installed".to_string())?;
            // Count the bytes the source element delivers.
            let st = status.clone();
            dec.connect("source-setup", false, move |args| {
                if let Some(src) = args.get(1).and_then(|v| v.get::<gst::Element>().ok())
                    && let Some(pad) = src.static_pad("src")
                {
                    let st = st.clone();
                    pad.add_probe(
                        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
                        move |_, info| {
                            match &info.data {
                                Some(gst::PadProbeData::Buffer(b)) => st.bytes(b.size()),
                                Some(gst::PadProbeData::BufferList(l)) => {
                                    st.bytes(l.calculate_size())
                                }
                                _ => {}
                            }
                            gst::PadProbeReturn::Ok
                        },
                    );
                }
                None
            });
            pipeline
                .add(&dec)
                .map_err(|e| format!("cannot assemble the live pipeline: {e}"))?;
            (vec![dec], None, None, sync)
        }
        Front::AppSrc { caps, audio } => {
            let src = appsrc_of(&caps);
            let dec = make("decodebin")?;
            pipeline
                .add_many([src.upcast_ref(), &dec])
                .map_err(|e| format!("cannot assemble the live pipeline: {e}"))?;
            src.link(&dec)
                .map_err(|e| format!("cannot link appsrc to decodebin: {e}"))?;
            let mut decs = vec![dec];
            let audio_src = match audio {
                Some(acaps) => {
                    let asrc = appsrc_of(&acaps);
                    let adec = make("decodebin")?;
                    pipeline
                        .add_many([asrc.upcast_ref(), &adec])
                        .map_err(|e| format!("cannot assemble the live pipeline: {e}"))?;
                    asrc.link(&adec)
                        .map_err(|e| format!("cannot link the audio appsrc: {e}"))?;
                    decs.push(adec);
                    Some(asrc)
                }
                None => None,
            };
            (decs, Some(src), audio_src, false)
        }
    };
    for dec in &decs {
        no_corrupt_output(dec);
    }

    let frames = profile.rate.ns_to_frame_round(jitter.as_nanos() as u64) as u32;
    let vq = make("queue")?;
    let vconv = make("videoconvert")?;
    let vscale = make("videoscale")?;
    vscale.set_property("add-borders", true);
    let vrate = make("videorate")?;
    let vfilter = make("capsfilter")?;
    vfilter.set_property("caps", crate::gst_util::raw_video_caps(profile));
    let video = gst_app::AppSink::builder()
        .sync(sync)
        .max_buffers(frames + 3)
        .drop(true)
        .async_(false)
        .build();
    let aq = make("queue")?;
    let aconv = make("audioconvert")?;
    let ares = make("audioresample")?;
    let afilter = make("capsfilter")?;
    afilter.set_property("caps", crate::gst_util::raw_audio_caps(profile));
    let audio = gst_app::AppSink::builder()
        .sync(sync)
        .max_buffers(64)
        .drop(true)
        .async_(false)
        .build();
    pipeline
        .add_many([
            &vq,
            &vconv,
            &vscale,
            &vrate,
            &vfilter,
            video.upcast_ref(),
            &aq,
            &aconv,
            &ares,
            &afilter,
            audio.upcast_ref(),
        ])
        .map_err(|e| format!("cannot assemble the live pipeline: {e}"))?;
    gst::Element::link_many([&vq, &vconv, &vscale, &vrate, &vfilter, video.upcast_ref()])
        .map_err(|e| format!("cannot link the video branch: {e}"))?;
    gst::Element::link_many([&aq, &aconv, &ares, &afilter, audio.upcast_ref()])
        .map_err(|e| format!("cannot link the audio branch: {e}"))?;

    // Every decoded picture (at the source's own rate) is counted and dated.
    if let Some(pad) = vq.static_pad("sink") {
        let st = status.clone();
        let ff = first_frame.clone();
        let lf = last_frame_ns.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            st.frame();
            let _ = ff.set(Instant::now());
            lf.store(created.elapsed().as_nanos() as u64, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    }

    // The dashboard's still: a reference to a conformed picture, at most one a second, also
    // while the source is pre-rolled and not yet pulled.
    if let Some(pad) = video.static_pad("sink") {
        let st = status.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                st.offer_still(b);
            }
            gst::PadProbeReturn::Ok
        });
    }

    let links = Links {
        vq: vq.downgrade(),
        aq: aq.downgrade(),
        pipeline: pipeline.downgrade(),
        has_audio: has_audio.clone(),
        tap: tap.clone(),
    };
    for dec in &decs {
        if tap.is_some() {
            // Stop at the parsed compressed streams: they are tapped for the recording,
            // then decoded by a decodebin of their own.
            dec.connect("autoplug-continue", false, |args| {
                let stop = args
                    .get(2)
                    .and_then(|v| v.get::<gst::Caps>().ok())
                    .is_some_and(|c| super::record::is_tap_point(&c).is_some());
                Some((!stop).to_value())
            });
        }
        links.connect(dec);
    }
    let branch = Branch {
        pipeline,
        video,
        audio,
        appsrc,
        audio_src,
        has_audio,
        first_frame,
        created,
        last_frame_ns,
        generation,
        tap,
    };
    branch
        .pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| {
            branch
                .bus_problem()
                .unwrap_or_else(|| "the live pipeline cannot start".into())
        })?;
    Ok(branch)
}

/// Where a decodebin's pads go: raw video and audio into the conform branches, parsed
/// compressed streams (when recorded) into the tap and a decodebin of their own, anything
/// else drained.
#[derive(Clone)]
struct Links {
    vq: gst::glib::WeakRef<gst::Element>,
    aq: gst::glib::WeakRef<gst::Element>,
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    has_audio: Arc<AtomicBool>,
    tap: Option<Arc<Tap>>,
}

impl Links {
    fn connect(&self, dec: &gst::Element) {
        let links = self.clone();
        dec.connect_pad_added(move |_, pad| links.pad_added(pad));
    }

    fn pad_added(&self, pad: &gst::Pad) {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
            return;
        };
        if let Some(tap) = &self.tap
            && let Some(kind) = super::record::is_tap_point(&caps)
            && self.decode_tapped(pad, tap, kind).is_ok()
        {
            return;
        }
        let target = if name.starts_with("video/x-raw") {
            self.vq.upgrade()
        } else if name.starts_with("audio/x-raw") {
            self.aq.upgrade()
        } else {
            None
        };
        let linked = target
            .and_then(|q| q.static_pad("sink"))
            .filter(|s| !s.is_linked())
            .and_then(|sink| pad.link(&sink).ok());
        if linked.is_some() {
            if name.starts_with("audio/") {
                self.has_audio.store(true, Ordering::SeqCst);
            }
            return;
        }
        // A second stream, subtitles, data: drained so it never blocks the demuxer.
        if let Some(p) = self.pipeline.upgrade()
            && let Ok(fake) = gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .property("async", false)
                .build()
            && p.add(&fake).is_ok()
        {
            let _ = fake.sync_state_with_parent();
            if let Some(s) = fake.static_pad("sink") {
                let _ = pad.link(&s);
            }
        }
    }

    /// A parsed compressed stream: tapped for the recording, then decoded.
    fn decode_tapped(&self, pad: &gst::Pad, tap: &Arc<Tap>, kind: Stream) -> Result<(), ()> {
        let pipeline = self.pipeline.upgrade().ok_or(())?;
        let dec = gst::ElementFactory::make("decodebin")
            .build()
            .map_err(|_| ())?;
        no_corrupt_output(&dec);
        pipeline.add(&dec).map_err(|_| ())?;
        self.connect(&dec);
        dec.sync_state_with_parent().map_err(|_| ())?;
        let sink = dec.static_pad("sink").ok_or(())?;
        tap.attach(pad, kind);
        pad.link(&sink).map_err(|_| ())?;
        Ok(())
    }
}
