//! A decoded source: `uridecodebin` conformed to the house format, pulled through appsinks.
//!
//! Owns: one GStreamer pipeline per item (decode → convert → letterbox/pillarbox scale →
//! rate → appsink for video; convert → resample → appsink for audio), its pre-roll and
//! in-point seek on a loader thread, and its bus. Does not own: timing (the switcher
//! restamps every frame) or what happens when it fails (the switcher falls back).
//!
//! The appsinks are bounded, so a pre-rolled source decodes a few frames ahead and then
//! waits: the next item costs memory, not CPU, until its slot.

use super::conform::{self, DualMono};
use super::{Source, SourceState, VideoPull};
use crate::format::OutputProfile;
use crate::gst_util::describe_error;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long opening (pre-roll and seek) may take before the source counts as failed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);

struct Shared {
    state: Mutex<SourceState>,
    /// uridecodebin exposed an audio stream.
    has_audio: AtomicBool,
    /// All streams are known (no-more-pads).
    pads_done: AtomicBool,
    /// Decoded audio pads, linked at no-more-pads.
    audio_pads: Mutex<Vec<gst::Pad>>,
    stop: AtomicBool,
    /// Running time of the source's first decoded picture, before videorate (which
    /// back-fills the first frame to the segment start); `u64::MAX` until known.
    first_picture_ns: AtomicU64,
}

impl Shared {
    fn set(&self, s: SourceState) {
        if let Ok(mut st) = self.state.lock() {
            // A failure is final; later transitions never hide it.
            if !matches!(*st, SourceState::Failed(_)) {
                *st = s;
            }
        }
    }
    fn get(&self) -> SourceState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| SourceState::Failed("state lock poisoned".into()))
    }
}

pub struct DecodedSource {
    uri: String,
    shared: Arc<Shared>,
    pipeline: Option<gst::Pipeline>,
    video: Option<gst_app::AppSink>,
    audio: Option<gst_app::AppSink>,
    /// Audio pulled from the sink but not yet handed out.
    audio_pending: Vec<u8>,
    video_eos: bool,
    audio_eos: bool,
    loader: Option<std::thread::JoinHandle<()>>,
    /// Running time of the first video frame: the item's time zero.
    video_start_ns: Option<u64>,
    /// The first audio has been aligned to the first video frame.
    audio_aligned: bool,
    /// Audio bytes still to discard (audio that began before the picture).
    audio_skip: usize,
    bytes_per_sample: usize,
    sample_rate: u64,
}

impl DecodedSource {
    /// Starts opening `uri` on a loader thread; returns at once.
    pub fn open(uri: &str, in_point_ns: u64, profile: &OutputProfile) -> DecodedSource {
        let shared = Arc::new(Shared {
            state: Mutex::new(SourceState::Opening),
            has_audio: AtomicBool::new(false),
            pads_done: AtomicBool::new(false),
            audio_pads: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            first_picture_ns: AtomicU64::new(u64::MAX),
        });
        let mut src = DecodedSource {
            uri: uri.to_string(),
            shared: shared.clone(),
            pipeline: None,
            video: None,
            audio: None,
            audio_pending: Vec::new(),
            video_eos: false,
            audio_eos: false,
            loader: None,
            video_start_ns: None,
            audio_aligned: false,
            audio_skip: 0,
            bytes_per_sample: profile.audio_bytes_per_sample(),
            sample_rate: profile.sample_rate as u64,
        };
        match build(uri, profile, &shared) {
            Ok((pipeline, video, audio)) => {
                let p = pipeline.clone();
                let sh = shared.clone();
                let uri = uri.to_string();
                let loader = std::thread::Builder::new()
                    .name("source-loader".into())
                    .spawn(move || load_and_watch(p, sh, in_point_ns, &uri));
                match loader {
                    Ok(h) => src.loader = Some(h),
                    Err(e) => shared.set(SourceState::Failed(format!("cannot start loader: {e}"))),
                }
                src.pipeline = Some(pipeline);
                src.video = Some(video);
                src.audio = Some(audio);
            }
            Err(e) => shared.set(SourceState::Failed(e)),
        }
        src
    }
}

fn make(factory: &str, name: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| format!("GStreamer element {factory} is not installed"))
}

type Built = (gst::Pipeline, gst_app::AppSink, gst_app::AppSink);

fn build(uri: &str, profile: &OutputProfile, shared: &Arc<Shared>) -> Result<Built, String> {
    let pipeline = gst::Pipeline::with_name("source");
    let dec = gst::ElementFactory::make("uridecodebin")
        .name("dec")
        .property("uri", uri)
        .build()
        .map_err(|_| "GStreamer element uridecodebin is not installed".to_string())?;

    // An MP4 whose edit list shifts a track (AAC priming): the demuxer is told the movie
    // runs long enough to deliver the track's last packets (`conform::movie_duration_fix`).
    if let Ok((path, _)) = gst::glib::filename_from_uri(uri)
        && let Some(fix) = conform::install_movie_duration_fix(&dec, &path)
    {
        tracing::debug!(?fix, uri, "movie duration raised to the edits' end");
    }

    let vcaps = crate::gst_util::raw_video_caps(profile);
    let acaps = crate::gst_util::raw_audio_caps(profile);

    // Decoded frames are large (3 MB at 1080p): the demuxer's interleaving slack lives in
    // decodebin's multiqueue on compressed data; here half a second decouples the branches.
    let vq = make("queue", "vqueue")?;
    vq.set_property("max-size-buffers", 0u32);
    vq.set_property("max-size-bytes", 0u32);
    vq.set_property("max-size-time", gst::ClockTime::SECOND.nseconds() / 2);
    let vconv = make("videoconvert", "vconv")?;
    // Display orientation: turned as the track header says (every quarter turn and mirror),
    // or — for containers the header is not read from — as the demuxer's orientation tag
    // says (`videoflip` passes the picture through untouched when it says nothing).
    let orientation = gst::glib::filename_from_uri(uri)
        .ok()
        .and_then(|(path, _)| conform::orientation_of_file(&path));
    let vflip = match orientation {
        Some(conform::Orientation::Identity) => None,
        Some(o) => {
            let f = make("videoflip", "vflip")?;
            f.set_property_from_str(
                "video-direction",
                o.videoflip_direction().unwrap_or("identity"),
            );
            tracing::debug!(?o, uri, "picture turned upright");
            Some(f)
        }
        None => {
            let f = make("videoflip", "vflip")?;
            f.set_property_from_str("video-direction", "auto");
            Some(f)
        }
    };
    let vscale = make("videoscale", "vscale")?;
    // Letterbox / pillarbox: keep the picture's aspect ratio, never stretch.
    vscale.set_property("add-borders", true);
    let vrate = make("videorate", "vrate")?;
    if let Some(pad) = vrate.static_pad("sink") {
        let sh = shared.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if sh.first_picture_ns.load(Ordering::Relaxed) == u64::MAX
                && let Some(pts) = info.buffer().and_then(|b| b.pts())
                && let Some(seg) = pad.sticky_event::<gst::event::Segment>(0)
                && let Some(seg) = seg.segment().downcast_ref::<gst::ClockTime>()
                && let Some(rt) = seg.to_running_time(pts)
            {
                sh.first_picture_ns.store(rt.nseconds(), Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    }
    // A demuxer's segment may stop at the container's duration (an MP4 edit list, a file
    // cut short): videorate would fill up to it with copies of the last picture, which
    // air as if they were the file's. The item's length is its picture's: the stop goes,
    // and the switcher's hold (counted) covers what the file lacks.
    if let Some(pad) = vrate.static_pad("sink") {
        pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, |_, info| {
            if let Some(gst::PadProbeData::Event(ev)) = &info.data
                && let gst::EventView::Segment(seg) = ev.view()
                && let Some(seg) = seg.segment().downcast_ref::<gst::ClockTime>()
                && seg.stop().is_some()
            {
                let mut open = seg.clone();
                open.set_stop(gst::ClockTime::NONE);
                let seqnum = ev.seqnum();
                let new = gst::event::Segment::builder(&open).seqnum(seqnum).build();
                info.data = Some(gst::PadProbeData::Event(new));
            }
            gst::PadProbeReturn::Ok
        });
    }
    let vfilter = make("capsfilter", "vcaps")?;
    vfilter.set_property("caps", &vcaps);
    let vsink = gst_app::AppSink::builder()
        .name("video")
        .sync(false)
        .max_buffers(6)
        .drop(false)
        .build();

    let aq = make("queue", "aqueue")?;
    aq.set_property("max-size-buffers", 0u32);
    aq.set_property("max-size-bytes", 0u32);
    aq.set_property("max-size-time", gst::ClockTime::SECOND.nseconds());
    let aconv = make("audioconvert", "aconv")?;
    let ares = make("audioresample", "ares")?;
    let afilter = make("capsfilter", "acaps")?;
    afilter.set_property("caps", &acaps);
    // The audio sink does not hold up pre-roll: a file without sound (whose audio branch
    // only ever sees an EOS, which a flushing seek clears) must still open and seek.
    let asink = gst_app::AppSink::builder()
        .name("audio")
        .sync(false)
        .max_buffers(64)
        .drop(false)
        .async_(false)
        .build();

    pipeline
        .add_many([
            &dec,
            &vq,
            &vconv,
            &vscale,
            &vrate,
            &vfilter,
            vsink.upcast_ref(),
            &aq,
            &aconv,
            &ares,
            &afilter,
            asink.upcast_ref(),
        ])
        .map_err(|e| format!("cannot assemble the source pipeline: {e}"))?;
    let mut vchain: Vec<&gst::Element> = vec![&vq, &vconv];
    if let Some(f) = &vflip {
        pipeline
            .add(f)
            .map_err(|e| format!("cannot assemble the source pipeline: {e}"))?;
        vchain.push(f);
    }
    vchain.extend([&vscale, &vrate, &vfilter, vsink.upcast_ref()]);
    gst::Element::link_many(vchain).map_err(|e| format!("cannot link the video branch: {e}"))?;
    gst::Element::link_many([&aq, &aconv, &ares, &afilter, asink.upcast_ref()])
        .map_err(|e| format!("cannot link the audio branch: {e}"))?;

    let vq_weak = vq.downgrade();
    let pipe_weak = pipeline.downgrade();
    let sh = shared.clone();
    dec.connect_pad_added(move |_, pad| {
        let Some(caps) = pad.current_caps().or_else(|| Some(pad.query_caps(None))) else {
            return;
        };
        let Some(s) = caps.structure(0) else {
            return;
        };
        let name = s.name().to_string();
        let Some(pipe) = pipe_weak.upgrade() else {
            return;
        };
        if name.starts_with("audio/") {
            // Audio is linked once every stream is known (no-more-pads): what airs depends
            // on how many tracks there are (dual mono).
            if let Ok(mut pads) = sh.audio_pads.lock() {
                pads.push(pad.clone());
            }
            return;
        }
        if name.starts_with("video/")
            && let Some(vq) = vq_weak.upgrade()
            && let Some(sink) = vq.static_pad("sink")
            && !sink.is_linked()
        {
            // Deinterlace only a stream that says it is interlaced (field order from its
            // caps and buffer flags; one output frame per field, which videorate thins).
            let interlaced = s
                .get::<&str>("interlace-mode")
                .is_ok_and(|m| m != "progressive");
            let linked = if interlaced {
                link_through(&pipe, pad, "deinterlace", &sink, |d| {
                    d.set_property_from_str("mode", "auto");
                    d.set_property_from_str("fields", "all");
                })
            } else {
                pad.link(&sink).is_ok()
            };
            if linked {
                return;
            }
        }
        // A second video stream or a subtitle: drain it so it never blocks the demuxer.
        drain(&pipe, pad);
    });
    let sh = shared.clone();
    let aq_weak = aq.downgrade();
    let aconv_weak = aconv.downgrade();
    let pipe_weak = pipeline.downgrade();
    let dual_mono = profile.dual_mono;
    dec.connect_no_more_pads(move |_| {
        let pads = sh
            .audio_pads
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        if let (Some(pipe), Some(aq), Some(aconv)) =
            (pipe_weak.upgrade(), aq_weak.upgrade(), aconv_weak.upgrade())
            && let Some(sink) = aq.static_pad("sink")
            && link_audio(&pipe, &pads, &aconv, &sink, dual_mono)
        {
            sh.has_audio.store(true, Ordering::SeqCst);
        } else if let Some(pipe) = pipe_weak.upgrade() {
            for p in &pads {
                drain(&pipe, p);
            }
        }
        sh.pads_done.store(true, Ordering::SeqCst);
        // No audio stream: feed the audio branch an EOS so the pipeline can preroll.
        if !sh.has_audio.load(Ordering::SeqCst)
            && let Some(pad) = aq_weak.upgrade().and_then(|q| q.static_pad("sink"))
        {
            let _ = pad.send_event(gst::event::StreamStart::new("no-audio"));
            let seg = gst::FormattedSegment::<gst::ClockTime>::new();
            let _ = pad.send_event(gst::event::Segment::new(&seg));
            let _ = pad.send_event(gst::event::Eos::new());
        }
    });
    Ok((pipeline, vsink, asink))
}

/// Links `pad` through a new `factory` element (configured by `setup`) into `sink`.
fn link_through(
    pipe: &gst::Pipeline,
    pad: &gst::Pad,
    factory: &str,
    sink: &gst::Pad,
    setup: impl FnOnce(&gst::Element),
) -> bool {
    let Ok(el) = gst::ElementFactory::make(factory).build() else {
        tracing::warn!("GStreamer element {factory} is not installed: the stream airs unconverted");
        return pad.link(sink).is_ok();
    };
    setup(&el);
    let (Some(el_sink), Some(el_src)) = (el.static_pad("sink"), el.static_pad("src")) else {
        return false;
    };
    if pipe.add(&el).is_err() {
        return false;
    }
    let ok = el_src.link(sink).is_ok() && pad.link(&el_sink).is_ok();
    let _ = el.sync_state_with_parent();
    ok
}

/// Sends a stream nobody airs into a fakesink so it never blocks the demuxer.
fn drain(pipe: &gst::Pipeline, pad: &gst::Pad) {
    if let Ok(fake) = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .property("async", false)
        .build()
        && pipe.add(&fake).is_ok()
    {
        let _ = fake.sync_state_with_parent();
        if let Some(s) = fake.static_pad("sink") {
            let _ = pad.link(&s);
        }
    }
}

/// The channel count and mask of a raw audio pad (mask `None` when the caps carry none).
fn audio_layout(pad: &gst::Pad) -> Option<(u32, Option<u64>)> {
    let caps = pad.current_caps()?;
    let s = caps.structure(0)?;
    let channels = s.get::<i32>("channels").ok()?;
    let mask = s.get::<gst::Bitmask>("channel-mask").ok().map(|m| m.0);
    Some((u32::try_from(channels).ok()?, mask))
}

/// Sets `audioconvert`'s mix matrix (rows: outputs, columns: inputs).
fn set_mix_matrix(aconv: &gst::Element, rows: &[Vec<f32>]) {
    let rows: Vec<gst::glib::SendValue> = rows
        .iter()
        .map(|r| gst::Array::new(r.iter().copied()).to_send_value())
        .collect();
    aconv.set_property("mix-matrix", gst::Array::from_values(rows));
}

/// Links the file's audio into the audio branch, conformed to stereo: one track through
/// the BS.775 downmix its layout needs, or two mono tracks as `policy` says. Tracks not
/// aired are drained. False when nothing was linked.
fn link_audio(
    pipe: &gst::Pipeline,
    pads: &[gst::Pad],
    aconv: &gst::Element,
    sink: &gst::Pad,
    policy: DualMono,
) -> bool {
    let Some(first) = pads.first() else {
        return false;
    };
    let layouts: Vec<_> = pads.iter().map(audio_layout).collect();
    let all_mono = layouts.len() >= 2 && layouts.iter().all(|l| matches!(l, Some((1, _))));
    if all_mono && policy == DualMono::Split {
        let inter = gst::ElementFactory::make("audiointerleave").build();
        if let Ok(inter) = inter
            && pipe.add(&inter).is_ok()
        {
            let _ = inter.sync_state_with_parent();
            let ok = inter
                .static_pad("src")
                .is_some_and(|src| src.link(sink).is_ok())
                && pads.iter().take(2).all(|p| {
                    inter
                        .request_pad_simple("sink_%u")
                        .is_some_and(|s| p.link(&s).is_ok())
                });
            for p in pads.iter().skip(2) {
                drain(pipe, p);
            }
            tracing::debug!(
                tracks = pads.len(),
                "dual mono: track 1 left, track 2 right"
            );
            return ok;
        }
    }
    if let Some((channels, mask)) = layouts[0]
        && let Some(m) = conform::downmix_matrix(channels, mask)
    {
        tracing::debug!(channels, ?mask, "audio downmixed to stereo (ITU-R BS.775)");
        set_mix_matrix(aconv, &m);
    }
    for p in pads.iter().skip(1) {
        drain(pipe, p);
    }
    first.link(sink).is_ok()
}

/// Pre-rolls, seeks to the in-point, plays, then watches the bus until stopped.
fn load_and_watch(pipeline: gst::Pipeline, shared: Arc<Shared>, in_point_ns: u64, uri: &str) {
    let Some(bus) = pipeline.bus() else {
        shared.set(SourceState::Failed("pipeline has no bus".into()));
        return;
    };
    let fail = |why: String| {
        shared.set(SourceState::Failed(why));
    };
    if pipeline.set_state(gst::State::Paused).is_err() {
        fail(first_error(&bus).unwrap_or_else(|| format!("cannot open {uri}")));
        return;
    }
    if let Err(e) = wait_async_done(&bus, &shared) {
        fail(e);
        return;
    }
    if in_point_ns > 0 {
        // Seek through the video branch: the demuxer repositions every stream, and a file
        // without sound has an audio branch linked to nothing that would refuse the seek.
        let target = pipeline
            .by_name("video")
            .unwrap_or_else(|| pipeline.clone().upcast());
        let seek = target.seek_simple(
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
            gst::ClockTime::from_nseconds(in_point_ns),
        );
        if seek.is_err() {
            fail(format!(
                "cannot seek to the in-point {} ms",
                in_point_ns / 1_000_000
            ));
            return;
        }
        if let Err(e) = wait_async_done(&bus, &shared) {
            fail(e);
            return;
        }
    }
    if pipeline.set_state(gst::State::Playing).is_err() {
        fail(first_error(&bus).unwrap_or_else(|| "cannot start playing".into()));
        return;
    }
    shared.set(SourceState::Ready);
    while !shared.stop.load(Ordering::SeqCst) {
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
            continue;
        };
        if let gst::MessageView::Error(err) = msg.view() {
            fail(describe_error(err));
            return;
        }
    }
}

fn wait_async_done(bus: &gst::Bus, shared: &Shared) -> Result<(), String> {
    let deadline = Instant::now() + OPEN_TIMEOUT;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Err("stopped while opening".into());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(format!(
                "opening took longer than {} s",
                OPEN_TIMEOUT.as_secs()
            ));
        }
        let wait = (deadline - now).min(Duration::from_millis(100));
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(wait.as_nanos() as u64)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::AsyncDone(_) => return Ok(()),
            gst::MessageView::Error(err) => return Err(describe_error(err)),
            _ => {}
        }
    }
}

fn first_error(bus: &gst::Bus) -> Option<String> {
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_mseconds(500),
        &[gst::MessageType::Error],
    )?;
    match msg.view() {
        gst::MessageView::Error(err) => Some(describe_error(err)),
        _ => None,
    }
}

/// The running time of a sample's buffer.
fn running_time(sample: &gst::Sample) -> Option<u64> {
    let pts = sample.buffer()?.pts()?;
    let seg = sample
        .segment()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned())?;
    seg.to_running_time(pts).map(|t| t.nseconds())
}

impl DecodedSource {
    /// Sound and picture start together: audio that begins after the first frame is
    /// preceded by silence, audio that begins before it is cut (containers like ASF start
    /// their audio tens of milliseconds late).
    fn align_audio(&mut self, first: &gst::Sample) {
        self.audio_aligned = true;
        let (Some(v), Some(a)) = (self.video_start_ns, running_time(first)) else {
            return;
        };
        let samples = |ns: u64| (ns as u128 * self.sample_rate as u128 / 1_000_000_000) as usize;
        // Never more than a second either way: beyond that the stream is broken, not late.
        if a > v {
            let n = samples((a - v).min(1_000_000_000));
            self.audio_pending
                .extend(std::iter::repeat_n(0u8, n * self.bytes_per_sample));
        } else {
            self.audio_skip = samples((v - a).min(1_000_000_000)) * self.bytes_per_sample;
        }
    }
}

impl Source for DecodedSource {
    fn state(&self) -> SourceState {
        self.shared.get()
    }

    fn pull_video(&mut self, wait: Duration) -> VideoPull {
        if self.video_eos {
            return VideoPull::Eos;
        }
        let Some(sink) = &self.video else {
            return VideoPull::Eos;
        };
        if self.shared.get() != SourceState::Ready {
            return VideoPull::NotYet;
        }
        match sink.try_pull_sample(gst::ClockTime::from_nseconds(wait.as_nanos() as u64)) {
            Some(sample) => match sample.buffer_owned() {
                Some(buf) => {
                    if self.video_start_ns.is_none() {
                        let first = self.shared.first_picture_ns.load(Ordering::Relaxed);
                        self.video_start_ns = if first == u64::MAX {
                            running_time(&sample)
                        } else {
                            Some(first)
                        };
                    }
                    VideoPull::Frame(buf)
                }
                None => VideoPull::NotYet,
            },
            None if sink.is_eos() => {
                self.video_eos = true;
                VideoPull::Eos
            }
            None => VideoPull::NotYet,
        }
    }

    fn pull_audio(&mut self, out: &mut Vec<u8>, bytes: usize, wait: Duration) -> bool {
        // A source with no audio stream has nothing to wait for: silence at once.
        if self.shared.pads_done.load(Ordering::SeqCst)
            && !self.shared.has_audio.load(Ordering::SeqCst)
        {
            return false;
        }
        let deadline = Instant::now() + wait;
        let mut need = bytes;
        loop {
            let take = need.min(self.audio_pending.len());
            out.extend(self.audio_pending.drain(..take));
            need -= take;
            if need == 0 {
                return true;
            }
            if self.audio_eos || self.shared.get() != SourceState::Ready {
                return !self.audio_eos;
            }
            let Some(sink) = &self.audio else {
                return false;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            match sink.try_pull_sample(gst::ClockTime::from_nseconds(left.as_nanos() as u64)) {
                Some(sample) => {
                    if !self.audio_aligned {
                        self.align_audio(&sample);
                    }
                    if let Some(map) = sample.buffer().and_then(|b| b.map_readable().ok()) {
                        let data = map.as_slice();
                        let skip = self.audio_skip.min(data.len());
                        self.audio_skip -= skip;
                        self.audio_pending.extend_from_slice(&data[skip..]);
                    }
                }
                None => {
                    if sink.is_eos() {
                        self.audio_eos = true;
                        return false;
                    }
                    return true;
                }
            }
        }
    }
}

impl Drop for DecodedSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(p) = &self.pipeline {
            let _ = p.set_state(gst::State::Null);
        }
        if let Some(h) = self.loader.take() {
            let _ = h.join();
        }
        tracing::debug!(uri = %self.uri, "source closed");
    }
}
