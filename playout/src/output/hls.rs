//! HLS preview: the programme written as a live playlist (`live.m3u8`) of MPEG-TS segments
//! (`seg00000.ts` …) into a local directory, for the dashboard preview and the public
//! `/watch` player (hls.js).
//!
//! Owns: parsing `hls:///abs/dir` (or `hls:/abs/dir`), preparing the directory (created if
//! missing; our own files the previous run's state does not keep removed), and one GStreamer
//! pipeline per session fed from the destination's queue: the encoded H.264 and AAC packets
//! go through two appsrcs, `h264parse` (byte-stream with SPS/PPS before every key frame, so
//! each segment decodes on its own) and `aacparse`, into `splitmuxsink` with one
//! `mpegtsmux` kept across segments, which cuts a segment at the first key frame half a
//! key-frame interval after the last cut. No second encode. Each closed segment is added to
//! the playlist state ([`super::hls_playlist`]): the playlist continues across sessions and
//! daemon restarts (media sequence and names go on, `#EXT-X-DISCONTINUITY` at the join, the
//! target duration kept, never `#EXT-X-ENDLIST`), old segments deleted in order. The
//! destination is Live once the first segment is closed; bytes count the TS written. A
//! pipeline error (directory gone, disk full), a writer that falls behind or stops closing
//! segments ends the session with an error and `output::run_destination` retries.

use super::error::{DestinationError, UrlError};
use super::feed::{Feed, count_bytes};
use super::hls_playlist::{self, PlaylistState};
use super::{KeyGate, Meter, SessionCtx, SessionEnd};
use crate::gst_util::{describe_error, start_playing, tear_down_off_thread};
use crate::packet::Headers;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use super::hls_playlist::{MAX_FILES, PLAYLIST, PLAYLIST_LENGTH};
/// Bytes an appsrc may hold before the writer counts as fallen behind (~20 s at 6 Mbit/s).
const MAX_QUEUED_VIDEO: u64 = 16_000_000;
const MAX_QUEUED_AUDIO: u64 = 1_000_000;

/// The directory of an `hls:///abs/dir` or `hls:/abs/dir` URL.
///
/// # Errors
/// [`UrlError::Scheme`] when it is not `hls:`, [`UrlError::HlsSlashes`] for `hls://dir`,
/// [`UrlError::HlsDir`] for a relative directory or `/`.
pub fn parse_dir(url: &str) -> Result<PathBuf, UrlError> {
    let rest = url.strip_prefix("hls:").ok_or(UrlError::Scheme)?;
    let path = match rest.strip_prefix("//") {
        // hls:///abs/dir: an empty authority, then the absolute path.
        Some(after) if after.starts_with('/') => after,
        Some(_) => return Err(UrlError::HlsSlashes),
        None => rest,
    };
    let p = Path::new(path);
    if !p.is_absolute() || path.len() < 2 {
        return Err(UrlError::HlsDir);
    }
    Ok(p.to_path_buf())
}

/// Target duration and the segmenter's cut threshold for the stream's key-frame interval.
fn timing(h: &Headers) -> (u32, u64) {
    let (gop, num, den) = (h.keyframe_interval, h.fps_num, h.fps_den);
    (
        hls_playlist::target_duration(gop, num, den),
        hls_playlist::split_after_ns(gop, num, den),
    )
}

/// Creates the directory if missing, reads the previous run's state (a state that cannot be
/// read is reported and a new playlist started) and removes our own files it does not keep
/// (segments of a crashed session, temporary files, an old playlist without a state). Other
/// files are left alone. Returns the state to continue and what to warn about.
fn prepare_dir(dir: &Path, target: u32) -> Result<(PlaylistState, Vec<String>), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the HLS directory {}: {e}", dir.display()))?;
    let mut warnings = Vec::new();
    let loaded = PlaylistState::load(dir).unwrap_or_else(|e| {
        warnings.push(format!("{e}; starting a new playlist"));
        None
    });
    let had_state = loaded.is_some();
    let (state, raised) = PlaylistState::resume(loaded, target);
    if raised {
        warnings.push(format!(
            "the key-frame interval grew: the playlist's target duration is now {} s",
            state.target_duration
        ));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the HLS directory {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let keep =
            state.keeps(name) || (had_state && (name == hls_playlist::STATE || name == PLAYLIST));
        if hls_playlist::is_ours(name) && !keep {
            std::fs::remove_file(entry.path())
                .map_err(|e| format!("cannot remove stale {}: {e}", entry.path().display()))?;
        }
    }
    Ok((state, warnings))
}

struct Pipe {
    pipeline: gst::Pipeline,
    feed: Feed,
    /// TS bytes the muxer produced (what goes into the segment files).
    written: Arc<AtomicU64>,
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // Off the runtime: a teardown may wait for a file being written.
        tear_down_off_thread(&self.pipeline, "hls-teardown");
    }
}

/// The pipeline of one session: segments named from `first_index` on, cut at the first key
/// frame `split_ns` into a segment.
fn build(dir: &Path, split_ns: u64, first_index: u64, h: &Headers) -> Result<Pipe, String> {
    // splitmuxsink takes parsed streams; mpegtsmux wants byte-stream H.264 and adds ADTS to
    // raw AAC itself.
    let desc = "appsrc name=v format=time is-live=false block=false \
                ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
                ! queue name=vq \
                appsrc name=a format=time is-live=false block=false \
                ! aacparse ! queue name=aq";
    let pipeline = gst::parse::launch(desc)
        .map_err(|e| format!("cannot build the HLS pipeline: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "HLS pipeline is not a pipeline".to_string())?;
    // The segmenter's muxer must be set before its pads are requested.
    let mux = gst::ElementFactory::make("mpegtsmux")
        .build()
        .map_err(|e| format!("cannot create mpegtsmux (gst-plugins-bad): {e}"))?;
    let hls = gst::ElementFactory::make("splitmuxsink")
        .name("hls")
        .property("muxer", &mux)
        .property("max-size-time", split_ns)
        .property("send-keyframe-requests", false)
        .property("max-files", 0u32)
        .property("reset-muxer", false)
        .build()
        .map_err(|e| format!("cannot create splitmuxsink (gst-plugins-good): {e}"))?;
    pipeline
        .add(&hls)
        .map_err(|e| format!("cannot build the HLS pipeline: {e}"))?;
    for (queue, pad) in [("vq", "video"), ("aq", "audio_%u")] {
        let q = pipeline
            .by_name(queue)
            .ok_or_else(|| format!("HLS pipeline has no {queue}"))?;
        let sink = hls
            .request_pad_simple(pad)
            .ok_or_else(|| format!("splitmuxsink gave no {pad} pad"))?;
        let src = q
            .static_pad("src")
            .ok_or_else(|| format!("{queue} has no src pad"))?;
        src.link(&sink)
            .map_err(|e| format!("cannot link {queue} to the segmenter: {e:?}"))?;
    }
    let seg_dir = dir.to_path_buf();
    if seg_dir.to_str().is_none() {
        return Err(format!("{} is not UTF-8", dir.display()));
    }
    hls.connect("format-location", false, move |args| {
        let id = args.get(1).and_then(|v| v.get::<u32>().ok()).unwrap_or(0);
        let name = hls_playlist::segment_name(first_index.saturating_add(u64::from(id)));
        let path = seg_dir.join(name);
        Some(path.to_str().unwrap_or_default().to_value())
    });
    let feed = Feed::new(&pipeline, h, "HLS")?;
    // The muxer is kept across segments: count what it writes.
    let written = Arc::new(AtomicU64::new(0));
    match mux.static_pad("src") {
        Some(pad) => count_bytes(&pad, written.clone()),
        None => {
            tracing::debug!("HLS: muxer has no src pad; counting the bytes going in");
            for pad in hls.sink_pads() {
                count_bytes(&pad, written.clone());
            }
        }
    }
    Ok(Pipe {
        pipeline,
        feed,
        written,
    })
}

/// The playlist side of a session: the state, and the segment being written.
struct Recorder {
    dir: PathBuf,
    name: String,
    state: PlaylistState,
    /// Running time the segment being written opened at.
    opened_at: Option<u64>,
    /// Segments this session closed.
    closed: u64,
}

impl Recorder {
    /// A segment closed at running time `at`: into the state, the playlist rewritten, the
    /// segments beyond the window deleted (oldest first).
    fn closed(&mut self, at: u64) -> Result<(), String> {
        let from = self.opened_at.take().unwrap_or(at);
        let duration_ms = at.saturating_sub(from) / 1_000_000;
        let pushed = self.state.push(duration_ms, self.closed == 0);
        self.closed += 1;
        if pushed.over_target {
            tracing::warn!(
                destination = %self.name,
                duration_ms,
                target_s = self.state.target_duration,
                "HLS: a segment is longer than the playlist's target duration"
            );
        }
        self.state.save(&self.dir)?;
        self.state.write_playlist(&self.dir)?;
        for name in pushed.delete {
            if let Err(e) = std::fs::remove_file(self.dir.join(&name))
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(format!("cannot delete old segment {name}: {e}"));
            }
        }
        Ok(())
    }
}

/// Empties the bus into `rec`: the first error, else whether the end of stream came and how
/// many segments were closed since last time. (Nothing else reads this bus, so every message
/// is popped or it would pile up.)
fn poll_bus(pipe: &Pipe, rec: &mut Recorder) -> Result<(u32, bool), String> {
    let Some(bus) = pipe.pipeline.bus() else {
        return Ok((0, false));
    };
    let mut closed = 0;
    let mut eos = false;
    while let Some(msg) = bus.pop() {
        match msg.view() {
            gst::MessageView::Error(e) => return Err(describe_error(e)),
            gst::MessageView::Eos(_) => eos = true,
            gst::MessageView::Element(e) => {
                let Some(s) = e.structure() else { continue };
                let at = s.get::<u64>("running-time").unwrap_or(0);
                match s.name().as_str() {
                    "splitmuxsink-fragment-opened" => rec.opened_at = Some(at),
                    "splitmuxsink-fragment-closed" => {
                        rec.closed(at)?;
                        closed += 1;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok((closed, eos))
}

/// Ends the session's stream and waits (3 s at most) for the last segment to close, so it is
/// listed; the playlist stays open (no end-list: a stop is not the end of the channel).
async fn finish(pipe: &Pipe, rec: &mut Recorder) {
    let _ = pipe.feed.video.end_of_stream();
    let _ = pipe.feed.audio.end_of_stream();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        match poll_bus(pipe, rec) {
            Ok((_, false)) => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok((_, true)) => return,
            Err(e) => {
                tracing::debug!(destination = %rec.name, "HLS: at the end: {e}");
                return;
            }
        }
    }
}

/// One HLS session: continues the directory's playlist.
pub async fn run_session(mut ctx: SessionCtx<'_>) -> Result<SessionEnd, DestinationError> {
    use DestinationError::Local;
    let dir = parse_dir(&ctx.cfg.url)?;
    let Some((headers, pending)) = ctx.wait_for_headers().await else {
        return Ok(SessionEnd::Finished);
    };
    let (target, split_ns) = timing(&headers);
    let d2 = dir.clone();
    let (state, warnings) = tokio::task::spawn_blocking(move || prepare_dir(&d2, target))
        .await
        .map_err(|e| Local(format!("preparing the HLS directory failed: {e}")))?
        .map_err(Local)?;
    for w in warnings {
        tracing::warn!(destination = %ctx.cfg.name, "HLS: {w}");
    }
    tracing::debug!(
        destination = %ctx.cfg.name,
        dir = %dir.display(),
        target = state.target_duration,
        next = state.next_index,
        "HLS: starting"
    );
    let pipe = build(&dir, split_ns, state.next_index, &headers).map_err(Local)?;
    let mut rec = Recorder {
        dir: dir.clone(),
        name: ctx.cfg.name.clone(),
        state,
        opened_at: None,
        closed: 0,
    };
    if !start_playing(&pipe.pipeline, ctx.policy.io_timeout).await {
        return Err(Local(
            poll_bus(&pipe, &mut rec)
                .err()
                .unwrap_or_else(|| "cannot start the HLS pipeline".to_string()),
        ));
    }
    let mut pending = pending;
    let mut live = false;
    let mut meter = Meter::new();
    let mut counted = 0u64;
    let mut gate = KeyGate::new(false);
    let mut check = tokio::time::interval(Duration::from_millis(200));
    // A segment closes every 1–1.5 key-frame intervals; none for several means the writer
    // is stuck.
    let stall_limit = Duration::from_secs(u64::from(rec.state.target_duration) * 3 + 4);
    let mut last_segment = tokio::time::Instant::now();
    loop {
        pipe.feed
            .send_admitted(&mut pending, &headers, &mut gate, &mut ctx)?;
        tokio::select! {
            p = ctx.rx.recv() => match p {
                Some(p) => {
                    ctx.gop.push(p.clone());
                    pending.push(p);
                }
                None => {
                    finish(&pipe, &mut rec).await;
                    return Ok(SessionEnd::Finished);
                }
            },
            _ = check.tick() => {
                let (closed, _) = poll_bus(&pipe, &mut rec).map_err(Local)?;
                if closed > 0 {
                    last_segment = tokio::time::Instant::now();
                    if !live {
                        live = true;
                        ctx.up();
                    }
                } else if last_segment.elapsed() > stall_limit {
                    return Err(Local(format!(
                        "no HLS segment written for {} s",
                        stall_limit.as_secs()
                    )));
                }
                if pipe.feed.video.current_level_bytes() > MAX_QUEUED_VIDEO
                    || pipe.feed.audio.current_level_bytes() > MAX_QUEUED_AUDIO
                {
                    return Err(Local("the HLS writer fell behind".into()));
                }
                let total = pipe.written.load(Ordering::Relaxed);
                meter.add(ctx.stats, (total - counted) as usize);
                counted = total;
            }
            _ = ctx.shutdown.changed() => {
                while let Ok(p) = ctx.rx.try_recv() {
                    let _ = pipe.feed.push(&p);
                }
                finish(&pipe, &mut rec).await;
                return Ok(SessionEnd::Finished);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_dir("hls:///srv/preview").expect("three slashes"),
            PathBuf::from("/srv/preview")
        );
        assert_eq!(
            parse_dir("hls:/srv/preview").expect("one slash"),
            PathBuf::from("/srv/preview")
        );
        assert!(parse_dir("hls://srv/preview").is_err());
        assert!(parse_dir("hls:relative/dir").is_err());
        assert!(parse_dir("hls:///").is_err());
        assert!(parse_dir("rtmp://h/live/k").is_err());
    }
}
