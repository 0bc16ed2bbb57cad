//! HLS preview: the programme written as a live playlist (`live.m3u8`) of MPEG-TS segments
//! (`seg00000.ts` …) into a local directory, for a browser preview with hls.js.
//!
//! Owns: parsing `hls:///abs/dir` (or `hls:/abs/dir`), preparing the directory (created if
//! missing; our own stale playlist and segments removed), and one GStreamer pipeline per
//! session fed from the destination's queue: the encoded H.264 and AAC packets go through
//! two appsrcs, `h264parse` (byte-stream with SPS/PPS before every key frame, so each
//! segment decodes on its own) and `aacparse`, into `hlssink2`, which muxes TS itself
//! (splitmuxsink + mpegtsmux), cuts a segment at the first key frame after the target
//! duration, rewrites the playlist and deletes segments beyond `max-files`. No second
//! encode. The destination is Live once the first segment is closed; bytes count the TS
//! written. A pipeline error (directory gone, disk full), a writer that falls behind or
//! stops closing segments ends the session with an error and `output::run_destination`
//! retries; every session starts a fresh playlist (segment numbers and media sequence
//! start again at 0).

use super::feed::{Feed, count_bytes};
use super::{KeyGate, Meter, SessionCtx, SessionEnd};
use crate::gst_util::describe_error;
use crate::packet::Headers;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The playlist's file name inside the directory.
pub const PLAYLIST: &str = "live.m3u8";
/// Segments listed in the playlist.
pub const PLAYLIST_LENGTH: u32 = 6;
/// Segments kept on disk; older ones are deleted.
pub const MAX_FILES: u32 = 10;
/// Bytes an appsrc may hold before the writer counts as fallen behind (~20 s at 6 Mbit/s).
const MAX_QUEUED_VIDEO: u64 = 16_000_000;
const MAX_QUEUED_AUDIO: u64 = 1_000_000;

/// The directory of an `hls:///abs/dir` or `hls:/abs/dir` URL.
pub fn parse_dir(url: &str) -> Result<PathBuf, String> {
    let rest = url
        .strip_prefix("hls:")
        .ok_or_else(|| format!("{url}: not an hls: URL"))?;
    let path = match rest.strip_prefix("//") {
        // hls:///abs/dir: an empty authority, then the absolute path.
        Some(after) if after.starts_with('/') => after,
        Some(_) => {
            return Err(format!(
                "{url}: expected hls:///absolute/dir (three slashes) or hls:/absolute/dir"
            ));
        }
        None => rest,
    };
    let p = Path::new(path);
    if !p.is_absolute() || path.len() < 2 {
        return Err(format!(
            "{url}: the HLS directory must be an absolute path other than /"
        ));
    }
    Ok(p.to_path_buf())
}

/// Target segment duration in whole seconds: the key-frame interval, rounded up.
fn target_duration(h: &Headers) -> u32 {
    let num = u64::from(h.keyframe_interval.max(1)) * u64::from(h.fps_den.max(1));
    let den = u64::from(h.fps_num.max(1));
    num.div_ceil(den).clamp(1, 60) as u32
}

/// Whether a file name is one this destination writes (`live.m3u8`, `segNNNNN.ts`).
fn is_ours(name: &str) -> bool {
    if name == PLAYLIST {
        return true;
    }
    name.strip_prefix("seg")
        .and_then(|r| r.strip_suffix(".ts"))
        .is_some_and(|n| n.len() >= 5 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Creates the directory if missing and removes our own files from an earlier run (other
/// files are left alone).
fn prepare_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the HLS directory {}: {e}", dir.display()))?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the HLS directory {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(is_ours) {
            std::fs::remove_file(entry.path())
                .map_err(|e| format!("cannot remove stale {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
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
        let p = self.pipeline.clone();
        let _ = std::thread::Builder::new()
            .name("hls-teardown".into())
            .spawn(move || {
                let _ = p.set_state(gst::State::Null);
            });
    }
}

fn build(dir: &Path, target: u32, h: &Headers) -> Result<Pipe, String> {
    // hlssink2's request pads take parsed streams; mpegtsmux inside wants byte-stream
    // H.264 and adds ADTS to raw AAC itself.
    let desc = "appsrc name=v format=time is-live=false block=false \
                ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
                ! queue ! hls.video \
                appsrc name=a format=time is-live=false block=false \
                ! aacparse ! queue ! hls.audio \
                hlssink2 name=hls send-keyframe-requests=false";
    let pipeline = gst::parse::launch(desc)
        .map_err(|e| {
            format!(
                "cannot build the HLS pipeline (is hlssink2 from gst-plugins-good installed?): {e}"
            )
        })?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "HLS pipeline is not a pipeline".to_string())?;
    let by = |n: &str| {
        pipeline
            .by_name(n)
            .ok_or_else(|| format!("HLS pipeline has no {n}"))
    };
    let hls = by("hls")?;
    let path_str = |p: PathBuf| {
        p.to_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{} is not UTF-8", p.display()))
    };
    hls.set_property("location", path_str(dir.join("seg%05d.ts"))?);
    hls.set_property("playlist-location", path_str(dir.join(PLAYLIST))?);
    hls.set_property("target-duration", target);
    hls.set_property("playlist-length", PLAYLIST_LENGTH);
    hls.set_property("max-files", MAX_FILES);
    let feed = Feed::new(&pipeline, h, "HLS")?;
    // The muxer lives inside hlssink2's splitmuxsink and is kept across segments: count
    // what it writes. Without it, count what goes in.
    let written = Arc::new(AtomicU64::new(0));
    let muxer_src = hls
        .downcast_ref::<gst::Bin>()
        .and_then(|b| {
            b.iterate_elements().into_iter().flatten().find(|e| {
                e.factory()
                    .is_some_and(|f| f.name().as_str() == "splitmuxsink")
            })
        })
        .and_then(|s| s.property::<Option<gst::Element>>("muxer"))
        .and_then(|m| m.static_pad("src"));
    match muxer_src {
        Some(pad) => count_bytes(&pad, written.clone()),
        None => {
            tracing::debug!("HLS: muxer not found; counting the bytes going in");
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

/// Empties the bus: the first error, else how many segments were closed since last time.
/// (Nothing else reads this bus, so every message is popped or it would pile up.)
fn poll_bus(pipe: &Pipe) -> Result<u32, String> {
    let Some(bus) = pipe.pipeline.bus() else {
        return Ok(0);
    };
    let mut closed = 0;
    while let Some(msg) = bus.pop() {
        match msg.view() {
            gst::MessageView::Error(e) => return Err(describe_error(e)),
            gst::MessageView::Element(e)
                if e.structure()
                    .is_some_and(|s| s.name() == "splitmuxsink-fragment-closed") =>
            {
                closed += 1;
            }
            _ => {}
        }
    }
    Ok(closed)
}

/// One HLS session: a fresh playlist in the directory.
pub async fn run_session(ctx: SessionCtx<'_>) -> Result<SessionEnd, String> {
    let dir = parse_dir(&ctx.cfg.url)?;
    // The headers come with the packets: start from the cached GOP, or wait for a key frame.
    let (headers, pending) = loop {
        ctx.gop.drain(ctx.rx, ctx.stats);
        let cached = ctx.gop.snapshot();
        if let Some(h) = cached.first().and_then(|p| p.headers.clone()) {
            break (h, cached);
        }
        tokio::select! {
            p = ctx.rx.recv() => match p {
                Some(p) => ctx.gop.push(p),
                None => return Ok(SessionEnd::Finished),
            },
            _ = ctx.shutdown.changed() => return Ok(SessionEnd::Finished),
        }
    };
    let d2 = dir.clone();
    tokio::task::spawn_blocking(move || prepare_dir(&d2))
        .await
        .map_err(|e| format!("preparing the HLS directory failed: {e}"))??;
    let target = target_duration(&headers);
    tracing::debug!(destination = %ctx.cfg.name, dir = %dir.display(), target, "HLS: starting");
    let pipe = build(&dir, target, &headers)?;
    let p2 = pipe.pipeline.clone();
    let started = tokio::time::timeout(
        ctx.policy.io_timeout,
        tokio::task::spawn_blocking(move || p2.set_state(gst::State::Playing)),
    )
    .await;
    if !matches!(started, Ok(Ok(Ok(_)))) {
        return Err(poll_bus(&pipe)
            .err()
            .unwrap_or_else(|| "cannot start the HLS pipeline".to_string()));
    }
    let mut pending = pending;
    let mut live = false;
    let mut meter = Meter::new();
    let mut counted = 0u64;
    let mut gate = KeyGate::new(false);
    let mut check = tokio::time::interval(Duration::from_millis(200));
    // A segment closes every target duration; none for several means the writer is stuck.
    let stall_limit = Duration::from_secs(u64::from(target) * 3 + 4);
    let mut last_segment = tokio::time::Instant::now();
    loop {
        for p in pending.drain(..) {
            if !gate.admit(&p, ctx.stats, ctx.gop) {
                continue;
            }
            if p.headers
                .as_ref()
                .is_some_and(|h| !Arc::ptr_eq(h, &headers))
            {
                return Err("the stream headers changed; restarting the HLS playlist".into());
            }
            pipe.feed.push(&p)?;
        }
        tokio::select! {
            p = ctx.rx.recv() => match p {
                Some(p) => {
                    ctx.gop.push(p.clone());
                    pending.push(p);
                }
                None => {
                    pipe.feed.finish(&pipe.pipeline).await;
                    return Ok(SessionEnd::Finished);
                }
            },
            _ = check.tick() => {
                let closed = poll_bus(&pipe)?;
                if closed > 0 {
                    last_segment = tokio::time::Instant::now();
                    if !live {
                        live = true;
                        ctx.up();
                    }
                } else if last_segment.elapsed() > stall_limit {
                    return Err(format!(
                        "no HLS segment written for {} s",
                        stall_limit.as_secs()
                    ));
                }
                if pipe.feed.video.current_level_bytes() > MAX_QUEUED_VIDEO
                    || pipe.feed.audio.current_level_bytes() > MAX_QUEUED_AUDIO
                {
                    return Err("the HLS writer fell behind".into());
                }
                let total = pipe.written.load(Ordering::Relaxed);
                meter.add(ctx.stats, (total - counted) as usize);
                counted = total;
            }
            _ = ctx.shutdown.changed() => {
                while let Ok(p) = ctx.rx.try_recv() {
                    let _ = pipe.feed.push(&p);
                }
                pipe.feed.finish(&pipe.pipeline).await;
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

    #[test]
    fn our_files() {
        assert!(is_ours("live.m3u8"));
        assert!(is_ours("seg00000.ts"));
        assert!(is_ours("seg123456.ts"));
        assert!(!is_ours("seg1.ts"));
        assert!(!is_ours("index.html"));
        assert!(!is_ours("segabcde.ts"));
    }
}
