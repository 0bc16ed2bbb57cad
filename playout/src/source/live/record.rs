//! Recording a live source while it is on air: the feed's own compressed streams (H.264 /
//! H.265 and AAC as they arrive, never re-encoded) remuxed into MPEG-TS segments in a
//! directory the daemon names per window.
//!
//! Owns: the per-source recording ([`Recording`]: on air / off air, the segment numbering
//! that continues across reconnects, the manifest `recording.json`), the per-connection tap
//! (buffers seen on the parsed compressed pads of a connection's pipeline, from the last key
//! frame before going on air) and the recorder pipeline of one connection (`appsrc` →
//! parser → `splitmuxsink` with `mpegtsmux`). Does not own: where recordings go and how long
//! they are kept (the daemon's [`RecordPlanner`]), decoding (`pipeline`).
//!
//! Rules:
//! * Recording starts when the switcher first asks the source for its state as the current
//!   item (the item is on air) and stops when the source is dropped (the item left the air).
//!   The first recorded picture is the key frame nearest the moment on air (the last one
//!   before it, kept, or the next one): the recording's length is the window's within half
//!   a group of pictures.
//! * A reconnect within the window continues the same recording: the new connection writes
//!   the next segment numbers into the same directory.
//! * The recorder runs in a pipeline of its own, fed by copies of buffer references: a full
//!   disk or a write error stops the recording (logged, reported to the planner, written in
//!   the manifest) and never touches the programme.
//! * Timestamps in the segments are the connection's own, from 0 at the first recorded key
//!   frame; every connection's segments start at 0 (ffmpeg's concat demuxer joins them).

use super::status::{RecordingStatus, StatusCell};
use crate::gst_util::describe_error;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The manifest's file name inside a recording's directory.
pub const MANIFEST: &str = "recording.json";

/// Most compressed data kept from the last key frame while waiting to go on air.
const PRE_BUFFER_BYTES: usize = 32 * 1024 * 1024;

/// How long (ns of the stream) a new connection's recording waits for its sound.
const AUDIO_WAIT_NS: u64 = 1_500_000_000;

/// How long finishing a connection's segment (EOS through the muxer) may take.
const FINISH_LIMIT: Duration = Duration::from_secs(2);

/// Where and how a live source going on air is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordPlan {
    /// The window's directory (created if missing); segments are `seg-00000.ts`, ….
    pub dir: PathBuf,
    /// Target length of a segment (split on the first key frame after it).
    pub segment: Duration,
}

/// Decides where live sources are recorded, and hears how each recording ended.
///
/// Called from the engine's threads: both methods must return quickly.
pub trait RecordPlanner: Send + Sync + Debug {
    /// Where to record `locator` (exactly as cued) going on air at `at`; `None`: not
    /// recorded.
    fn plan(&self, locator: &str, at: SystemTime) -> Option<RecordPlan>;
    /// A recording ended: normally (the item left the air) or because it failed
    /// (`manifest.error`).
    fn ended(&self, dir: &Path, manifest: &Manifest);
}

/// `recording.json`: what a recording directory holds. Written when the recording starts,
/// after every new segment and when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The source's locator, secrets masked.
    pub source: String,
    /// When the item went on air (Unix ms).
    pub started_unix_ms: i64,
    /// When it left the air (Unix ms); `None` while recording (or after a crash).
    pub ended_unix_ms: Option<i64>,
    /// Segments opened (file names, in order).
    pub segments: Vec<String>,
    /// Connections the recording spans (1 + reconnects that delivered while on air).
    pub connections: u32,
    /// Why the recording stopped early (a full disk, a write error), if it did.
    pub error: Option<String>,
}

impl Manifest {
    /// Reads `dir/recording.json`.
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let p = dir.join(MANIFEST);
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not a manifest: {e}", p.display()))
    }

    fn write(&self, dir: &Path) -> Result<(), String> {
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(MANIFEST))
            .map_err(|e| format!("cannot write the manifest in {}: {e}", dir.display()))
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug)]
enum Phase {
    /// Not on air yet.
    Waiting,
    /// On air and recording into `plan.dir`.
    Active {
        plan: RecordPlan,
        manifest: Manifest,
    },
    /// On air, not recording (no plan, or the recording failed), or off air.
    Done,
}

/// The recording of one live source (one item on air), shared by its connections.
#[derive(Debug)]
pub(crate) struct Recording {
    planner: Arc<dyn RecordPlanner>,
    /// Where the recording's state is shown (the source's status).
    status: Arc<StatusCell>,
    /// The locator as cued (what the planner is asked about).
    locator: String,
    /// The locator masked (for the manifest and logs).
    masked: String,
    on_air: AtomicBool,
    /// The item left the air.
    off: AtomicBool,
    phase: Mutex<Phase>,
    /// The next segment's number.
    next_segment: AtomicU32,
}

impl Recording {
    pub fn new(
        planner: Arc<dyn RecordPlanner>,
        status: Arc<StatusCell>,
        locator: &str,
        masked: &str,
    ) -> Arc<Recording> {
        Arc::new(Recording {
            planner,
            status,
            locator: locator.to_string(),
            masked: masked.to_string(),
            on_air: AtomicBool::new(false),
            off: AtomicBool::new(false),
            phase: Mutex::new(Phase::Waiting),
            next_segment: AtomicU32::new(0),
        })
    }

    /// The item is on air (the switcher calls `Source::on_air` as it starts the item, and
    /// again when the next item of the same feed takes the source over; acts once).
    pub fn on_air(&self) {
        if self.on_air.swap(true, Ordering::SeqCst) {
            return;
        }
        let now = SystemTime::now();
        let Ok(mut phase) = self.phase.lock() else {
            return;
        };
        if !matches!(*phase, Phase::Waiting) {
            return;
        }
        *phase = match self.planner.plan(&self.locator, now) {
            None => Phase::Done,
            Some(plan) => {
                let manifest = Manifest {
                    source: self.masked.clone(),
                    started_unix_ms: unix_ms(now),
                    ended_unix_ms: None,
                    segments: Vec::new(),
                    connections: 0,
                    error: None,
                };
                match std::fs::create_dir_all(&plan.dir)
                    .map_err(|e| format!("cannot create {}: {e}", plan.dir.display()))
                    .and_then(|_| manifest.write(&plan.dir))
                {
                    Ok(()) => {
                        tracing::info!(source = %self.masked, dir = %plan.dir.display(),
                            "recording the live window");
                        self.publish(&plan.dir, &manifest);
                        Phase::Active { plan, manifest }
                    }
                    Err(e) => {
                        tracing::error!(source = %self.masked, reason = %e,
                            "the live window cannot be recorded");
                        let mut m = manifest;
                        m.ended_unix_ms = Some(unix_ms(now));
                        m.error = Some(e);
                        self.publish(&plan.dir, &m);
                        self.planner.ended(&plan.dir, &m);
                        Phase::Done
                    }
                }
            }
        };
    }

    fn publish(&self, dir: &Path, m: &Manifest) {
        self.status.set_recording(RecordingStatus {
            dir: dir.display().to_string(),
            segments: m.segments.len() as u32,
            error: m.error.clone(),
        });
    }

    fn is_active(&self) -> bool {
        self.phase
            .lock()
            .map(|p| matches!(*p, Phase::Active { .. }))
            .unwrap_or(false)
    }

    fn is_done(&self) -> bool {
        self.phase
            .lock()
            .map(|p| matches!(*p, Phase::Done))
            .unwrap_or(true)
    }

    fn plan(&self) -> Option<RecordPlan> {
        match &*self.phase.lock().ok()? {
            Phase::Active { plan, .. } => Some(plan.clone()),
            _ => None,
        }
    }

    fn update(&self, f: impl FnOnce(&mut Manifest)) {
        if let Ok(mut p) = self.phase.lock()
            && let Phase::Active { plan, manifest } = &mut *p
        {
            f(manifest);
            if let Err(e) = manifest.write(&plan.dir) {
                tracing::warn!(reason = %e, "recording manifest not updated");
            }
            self.publish(&plan.dir, manifest);
        }
    }

    /// The recording failed: it stops for the rest of the window.
    fn fail(&self, why: &str) {
        let Ok(mut p) = self.phase.lock() else {
            return;
        };
        if let Phase::Active { plan, manifest } = &mut *p {
            manifest.error = Some(why.to_string());
            manifest.ended_unix_ms = Some(unix_ms(SystemTime::now()));
            let _ = manifest.write(&plan.dir);
            tracing::error!(source = %self.masked, dir = %plan.dir.display(), reason = %why,
                "recording of the live window stopped (the programme is not affected)");
            self.publish(&plan.dir, manifest);
            self.planner.ended(&plan.dir, manifest);
            *p = Phase::Done;
        }
    }

    /// The item left the air: nothing more is recorded (the last connection's segment is
    /// finished by `close`).
    pub fn off_air(&self) {
        self.on_air.store(true, Ordering::SeqCst);
        self.off.store(true, Ordering::SeqCst);
        if let Ok(mut p) = self.phase.lock()
            && let Phase::Active { manifest, .. } = &mut *p
            && manifest.ended_unix_ms.is_none()
        {
            manifest.ended_unix_ms = Some(unix_ms(SystemTime::now()));
        }
    }

    /// The source closed (after its last connection finished): the manifest is final.
    pub fn close(&self) {
        let Ok(mut p) = self.phase.lock() else {
            return;
        };
        if let Phase::Active { plan, manifest } = &mut *p {
            if manifest.ended_unix_ms.is_none() {
                manifest.ended_unix_ms = Some(unix_ms(SystemTime::now()));
            }
            if let Err(e) = manifest.write(&plan.dir) {
                manifest.error = Some(e);
            }
            tracing::info!(source = %self.masked, dir = %plan.dir.display(),
                segments = manifest.segments.len(), "recording of the live window finished");
            self.planner.ended(&plan.dir, manifest);
        }
        *p = Phase::Done;
    }
}

/// What a tapped pad carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Video,
    Audio,
}

/// The caps at which a connection's decodebin stops so that the compressed stream can be
/// tapped: parsed H.264 / H.265, framed MPEG audio.
pub(crate) fn is_tap_point(caps: &gst::CapsRef) -> Option<Stream> {
    let s = caps.structure(0)?;
    let flag = |f: &str| s.get::<bool>(f).unwrap_or(false);
    match s.name().as_str() {
        "video/x-h264" | "video/x-h265" if flag("parsed") => Some(Stream::Video),
        "audio/mpeg" if flag("framed") || flag("parsed") => Some(Stream::Audio),
        _ => None,
    }
}

#[derive(Default)]
struct TapInner {
    video_caps: Option<gst::Caps>,
    audio_caps: Option<gst::Caps>,
    /// Buffers (with running times) since the last video key frame, before going on air.
    pre: Vec<(Stream, u64, gst::Buffer)>,
    pre_bytes: usize,
    pipe: Option<Pipe>,
    /// Running time of the first recorded key frame.
    base: Option<u64>,
    /// Nothing more from this connection (finished or failed).
    closed: bool,
    /// The stream time of the first buffer seen on air.
    on_air_at: Option<u64>,
    /// The recording's first key frame is chosen (the one before going on air, or the
    /// next, whichever is nearer).
    chosen: bool,
}

/// The tap of one connection: what its compressed pads carry, into a recorder pipeline.
pub(crate) struct Tap {
    rec: Arc<Recording>,
    inner: Mutex<TapInner>,
}

impl Tap {
    pub fn new(rec: Arc<Recording>) -> Arc<Tap> {
        Arc::new(Tap {
            rec,
            inner: Mutex::new(TapInner::default()),
        })
    }

    /// Taps `pad` (a parsed compressed stream of kind `kind`).
    pub fn attach(self: &Arc<Self>, pad: &gst::Pad, kind: Stream) {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        if let Ok(mut i) = self.inner.lock() {
            match kind {
                Stream::Video => i.video_caps = Some(caps),
                Stream::Audio => i.audio_caps = Some(caps),
            }
        }
        let tap = self.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let Some(buf) = info.buffer() {
                let seg = pad.sticky_event::<gst::event::Segment>(0);
                let rt = buf.dts_or_pts().and_then(|t| {
                    seg.as_ref()
                        .and_then(|s| s.segment().downcast_ref::<gst::ClockTime>())
                        .and_then(|s| s.to_running_time(t))
                });
                if let Some(rt) = rt {
                    tap.buffer(kind, rt.nseconds(), buf);
                }
            }
            gst::PadProbeReturn::Ok
        });
        // Caps may be renegotiated (e.g. parameter sets known only later).
        let tap = self.clone();
        pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            if let Some(gst::PadProbeData::Event(e)) = &info.data
                && let gst::EventView::Caps(c) = e.view()
                && let Ok(mut i) = tap.inner.lock()
                && i.pipe.is_none()
            {
                match kind {
                    Stream::Video => i.video_caps = Some(c.caps_owned()),
                    Stream::Audio => i.audio_caps = Some(c.caps_owned()),
                }
            }
            gst::PadProbeReturn::Ok
        });
    }

    fn buffer(&self, kind: Stream, rt: u64, buf: &gst::Buffer) {
        let Ok(mut i) = self.inner.lock() else {
            return;
        };
        if i.closed || self.rec.off.load(Ordering::SeqCst) {
            return;
        }
        // On air and not recorded (no plan, or the recording failed): nothing to keep.
        if i.pipe.is_none() && self.rec.on_air.load(Ordering::SeqCst) && self.rec.is_done() {
            i.closed = true;
            i.pre.clear();
            return;
        }
        let key = kind == Stream::Video && !buf.flags().contains(gst::BufferFlags::DELTA_UNIT);
        if i.pipe.is_none() {
            let active = self.rec.is_active();
            // The stream time this connection was (first seen) on air at.
            let on_air_at = match (active, i.on_air_at) {
                (true, None) => {
                    i.on_air_at = Some(rt);
                    Some(rt)
                }
                (_, t) => t,
            };
            // Not on air yet: keep the current group of pictures. On air: the recording
            // starts at the key frame nearest the moment it went on air — the one kept, or
            // the next one if that is nearer — and then keeps everything (while waiting for
            // the sound to show up).
            if key {
                let kept = i.pre.first().map(|(_, k, _)| *k);
                let restart = match (on_air_at, kept) {
                    (_, None) | (None, _) => true,
                    (Some(at), Some(k)) if !i.chosen => {
                        i.chosen = true;
                        k < at && rt.saturating_sub(at) < at - k
                    }
                    _ => false,
                };
                if restart {
                    i.pre.clear();
                    i.pre_bytes = 0;
                }
            }
            if kind == Stream::Audio && i.pre.is_empty() {
                return;
            }
            if kind == Stream::Video && i.pre.is_empty() && !key {
                return;
            }
            if i.pre_bytes + buf.size() > PRE_BUFFER_BYTES {
                i.pre.clear();
                i.pre_bytes = 0;
                return;
            }
            i.pre_bytes += buf.size();
            i.pre.push((kind, rt, buf.clone()));
            if !active {
                return;
            }
            // The key frame kept precedes the moment on air: wait for the next one to see
            // which is nearer.
            if !i.chosen
                && i.pre
                    .first()
                    .is_some_and(|(_, k, _)| on_air_at.is_some_and(|a| *k < a))
            {
                return;
            }
            // A connection's sound is linked a moment after its picture: wait for it up to
            // AUDIO_WAIT of pictures (a feed without sound is recorded without).
            let first = i.pre.first().map(|(_, t, _)| *t).unwrap_or(rt);
            if i.audio_caps.is_none() && rt.saturating_sub(first) < AUDIO_WAIT_NS {
                return;
            }
            // On air: start from the key frame kept.
            let Some(plan) = self.rec.plan() else {
                return;
            };
            let Some(vcaps) = i.video_caps.clone() else {
                return;
            };
            let acaps = i.audio_caps.clone();
            match Pipe::start(&plan, &vcaps, acaps.as_ref(), &self.rec) {
                Ok(p) => {
                    self.rec.update(|m| m.connections += 1);
                    i.pipe = Some(p);
                }
                Err(e) => {
                    i.closed = true;
                    i.pre.clear();
                    drop(i);
                    self.rec.fail(&e);
                    return;
                }
            }
            let pre = std::mem::take(&mut i.pre);
            i.pre_bytes = 0;
            let base = pre.first().map(|(_, t, _)| *t).unwrap_or(rt);
            i.base = Some(base);
            for (k, t, b) in pre {
                if let Err(e) = Self::push(&mut i, k, t, b) {
                    drop(i);
                    self.fail_connection(e);
                    return;
                }
            }
            return;
        }
        if !self.rec.is_active() {
            // Failed elsewhere, or off air: nothing more.
            return;
        }
        if let Err(e) = Self::push(&mut i, kind, rt, buf.clone()) {
            drop(i);
            self.fail_connection(e);
        }
    }

    fn push(i: &mut TapInner, kind: Stream, rt: u64, buf: gst::Buffer) -> Result<(), String> {
        let Some(base) = i.base else {
            return Ok(());
        };
        let Some(pipe) = &i.pipe else {
            return Ok(());
        };
        if let Some(e) = pipe.problem() {
            return Err(e);
        }
        if rt < base {
            return Ok(());
        }
        let src = match kind {
            Stream::Video => &pipe.video,
            Stream::Audio => match &pipe.audio {
                Some(a) => a,
                None => return Ok(()),
            },
        };
        let mut buf = buf;
        {
            let b = buf.make_mut();
            // Each time moves by the same offset as the buffer's running time: from 0 at
            // the first recorded key frame, PTS − DTS kept.
            let off = rt.saturating_sub(base);
            let pts = b.pts();
            let dts = b.dts();
            let own = b.dts_or_pts().map(|t| t.nseconds()).unwrap_or(0);
            let adj = |t: Option<gst::ClockTime>| {
                t.map(|t| gst::ClockTime::from_nseconds((t.nseconds() + off).saturating_sub(own)))
            };
            b.set_pts(adj(pts));
            b.set_dts(adj(dts));
        }
        src.push_buffer(buf)
            .map(|_| ())
            .map_err(|e| format!("the recorder refused data: {e:?}"))
    }

    fn fail_connection(&self, why: String) {
        if let Ok(mut i) = self.inner.lock() {
            i.closed = true;
            if let Some(p) = i.pipe.take() {
                p.abort();
            }
        }
        self.rec.fail(&why);
    }

    /// The connection ended (or the item left the air): its last segment is finished.
    pub fn finish(&self) {
        let pipe = match self.inner.lock() {
            Ok(mut i) => {
                i.closed = true;
                i.pre.clear();
                i.pipe.take()
            }
            Err(_) => None,
        };
        if let Some(p) = pipe
            && let Err(e) = p.finish()
        {
            self.rec.fail(&e);
        }
    }
}

/// The recorder pipeline of one connection.
struct Pipe {
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: Option<gst_app::AppSrc>,
}

impl Pipe {
    fn start(
        plan: &RecordPlan,
        vcaps: &gst::Caps,
        acaps: Option<&gst::Caps>,
        rec: &Arc<Recording>,
    ) -> Result<Pipe, String> {
        let make = |f: &str| {
            gst::ElementFactory::make(f)
                .build()
                .map_err(|_| format!("GStreamer element {f} is not installed"))
        };
        let pipeline = gst::Pipeline::with_name("live-recorder");
        let appsrc = |caps: &gst::Caps| {
            let s = gst_app::AppSrc::builder()
                .caps(caps)
                .format(gst::Format::Time)
                .is_live(true)
                .do_timestamp(false)
                .block(false)
                .max_bytes(64 * 1024 * 1024)
                .build();
            if s.find_property("leaky-type").is_some() {
                s.set_property_from_str("leaky-type", "downstream");
            }
            s
        };
        let vname = vcaps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let vparse = make(if vname == "video/x-h265" {
            "h265parse"
        } else {
            "h264parse"
        })?;
        vparse.set_property("config-interval", -1i32);
        let mux = make("mpegtsmux")?;
        let sink = gst::ElementFactory::make("filesink")
            .property("sync", false)
            .property("async", false)
            .build()
            .map_err(|_| "GStreamer element filesink is not installed".to_string())?;
        let split = make("splitmuxsink")?;
        split.set_property("muxer", &mux);
        split.set_property("sink", &sink);
        let ns = plan.segment.as_nanos().min(u128::from(u64::MAX)) as u64;
        split.set_property("max-size-time", ns);
        let dir = plan.dir.clone();
        let rec2 = rec.clone();
        split.connect("format-location", false, move |_| {
            let n = rec2.next_segment.fetch_add(1, Ordering::SeqCst);
            let name = format!("seg-{n:05}.ts");
            rec2.update(|m| m.segments.push(name.clone()));
            Some(dir.join(name).display().to_string().to_value())
        });
        let video = appsrc(vcaps);
        pipeline
            .add_many([video.upcast_ref(), &vparse, &split])
            .map_err(|e| format!("cannot assemble the recorder: {e}"))?;
        video
            .link(&vparse)
            .map_err(|e| format!("cannot link the recorder: {e}"))?;
        let vpad = split
            .request_pad_simple("video")
            .ok_or("the recorder has no video input")?;
        vparse
            .static_pad("src")
            .ok_or("the parser has no output")?
            .link(&vpad)
            .map_err(|e| format!("cannot link the recorder's video: {e:?}"))?;
        let audio = match acaps {
            Some(acaps) => {
                let a = appsrc(acaps);
                let aparse = make("aacparse")?;
                pipeline
                    .add_many([a.upcast_ref(), &aparse])
                    .map_err(|e| format!("cannot assemble the recorder: {e}"))?;
                a.link(&aparse)
                    .map_err(|e| format!("cannot link the recorder's audio: {e}"))?;
                let apad = split
                    .request_pad_simple("audio_%u")
                    .ok_or("the recorder has no audio input")?;
                aparse
                    .static_pad("src")
                    .ok_or("the parser has no output")?
                    .link(&apad)
                    .map_err(|e| format!("cannot link the recorder's audio: {e:?}"))?;
                Some(a)
            }
            None => None,
        };
        let p = Pipe {
            pipeline,
            video,
            audio,
        };
        p.pipeline.set_state(gst::State::Playing).map_err(|_| {
            p.problem()
                .unwrap_or_else(|| "the recorder cannot start".into())
        })?;
        Ok(p)
    }

    fn problem(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        let msg = bus.pop_filtered(&[gst::MessageType::Error])?;
        match msg.view() {
            gst::MessageView::Error(e) => Some(describe_error(e)),
            _ => None,
        }
    }

    /// Ends the segment properly (EOS through the muxer), bounded by [`FINISH_LIMIT`].
    fn finish(self) -> Result<(), String> {
        let _ = self.video.end_of_stream();
        if let Some(a) = &self.audio {
            let _ = a.end_of_stream();
        }
        let mut result = Ok(());
        if let Some(bus) = self.pipeline.bus()
            && let Some(msg) = bus.timed_pop_filtered(
                gst::ClockTime::from_nseconds(FINISH_LIMIT.as_nanos() as u64),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            && let gst::MessageView::Error(e) = msg.view()
        {
            result = Err(describe_error(e));
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }

    fn abort(self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_streams_are_tap_points_and_raw_ones_not() {
        gst::init().expect("gst");
        let c = |s: &str| gst::Caps::from_str(s).expect("caps");
        use std::str::FromStr;
        assert_eq!(
            is_tap_point(&c("video/x-h264,parsed=true,stream-format=avc")),
            Some(Stream::Video)
        );
        assert_eq!(
            is_tap_point(&c("video/x-h264,stream-format=byte-stream")),
            None
        );
        assert_eq!(
            is_tap_point(&c("audio/mpeg,mpegversion=4,framed=true")),
            Some(Stream::Audio)
        );
        assert_eq!(is_tap_point(&c("video/x-raw")), None);
    }

    #[test]
    fn the_manifest_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = Manifest {
            source: "rtsp://cam/1".into(),
            started_unix_ms: 1,
            ended_unix_ms: Some(2),
            segments: vec!["seg-00000.ts".into()],
            connections: 1,
            error: None,
        };
        m.write(dir.path()).expect("write");
        assert_eq!(Manifest::read(dir.path()).expect("read"), m);
    }
}
