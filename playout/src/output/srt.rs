//! SRT push (caller mode), on GStreamer: the programme muxed to MPEG-TS by mpegtsmux and
//! sent by srtsink, in a pipeline of its own per session.
//!
//! Owns: building and tearing down that pipeline, feeding it from the destination's queue,
//! and watching its bus. A listener that is absent, goes away or stalls ends the session
//! with an error; `output::run_destination` reconnects. `streamid` and `passphrase` pass
//! through the URL's query (libsrt's URI options).

use super::error::DestinationError;
use super::feed::{Feed, count_bytes};
use super::{KeyGate, Meter, SessionCtx, SessionEnd};
use crate::gst_util::{bus_error, start_playing, tear_down_off_thread};
use crate::packet::{Headers, Packet};
use gstreamer as gst;
use gstreamer::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long the sent-bytes counter may stand still before the session is declared dead.
const STALL_LIMIT: Duration = Duration::from_secs(2);

struct Pipe {
    pipeline: gst::Pipeline,
    feed: Feed,
    sent: Arc<AtomicU64>,
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // Tearing down closes the SRT socket, which unblocks a stuck send: off the caller.
        tear_down_off_thread(&self.pipeline, "srt-teardown");
    }
}

fn build(url: &str, h: &Headers) -> Result<Pipe, String> {
    let desc = "appsrc name=v format=time is-live=false block=false max-bytes=20000000 \
                ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
                ! queue ! mux. \
                appsrc name=a format=time is-live=false block=false max-bytes=2000000 \
                ! aacparse ! queue ! mux. \
                mpegtsmux name=mux alignment=7 ! srtsink name=out sync=false wait-for-connection=false";
    let pipeline = gst::parse::launch(desc)
        .map_err(|e| format!("cannot build the SRT pipeline (is srtsink installed?): {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "SRT pipeline is not a pipeline".to_string())?;
    let by = |n: &str| {
        pipeline
            .by_name(n)
            .ok_or_else(|| format!("SRT pipeline has no {n}"))
    };
    let out = by("out")?;
    out.set_property("uri", url);
    let feed = Feed::new(&pipeline, h, "SRT")?;
    let sent = Arc::new(AtomicU64::new(0));
    if let Some(pad) = out.static_pad("sink") {
        count_bytes(&pad, sent.clone());
    }
    Ok(Pipe {
        pipeline,
        feed,
        sent,
    })
}

/// ACK packets received from the listener so far (srtsink's statistics).
fn acks_received(pipe: &Pipe) -> i64 {
    pipe.pipeline
        .by_name("out")
        .map(|o| o.property::<gst::Structure>("stats"))
        .and_then(|st| {
            st.get::<i32>("packet-ack-received")
                .map(i64::from)
                .or_else(|_| st.get::<i64>("packet-ack-received"))
                .ok()
        })
        .unwrap_or(0)
}

/// `host:port` of an `srt://` URL, for messages (never its query: it may hold the
/// passphrase).
fn peer_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or("?"),
                u.port().map_or_else(|| "?".to_string(), |p| p.to_string())
            )
        })
        .unwrap_or_else(|| "the SRT listener".to_string())
}

fn connect_failed(url: &str, why: Option<String>) -> DestinationError {
    DestinationError::Connect {
        peer: peer_of(url),
        cause: why.map(std::io::Error::other),
    }
}

/// One SRT session.
pub async fn run_session(mut ctx: SessionCtx<'_>) -> Result<SessionEnd, DestinationError> {
    use DestinationError::Local;
    let Some((headers, pending)) = ctx.wait_for_headers().await else {
        return Ok(SessionEnd::Finished);
    };
    tracing::debug!(destination = %ctx.cfg.name, "SRT: connecting");
    let pipe = build(&ctx.cfg.url, &headers).map_err(Local)?;
    // The state change may block in libsrt's connect: off the runtime, time-boxed.
    if !start_playing(
        &pipe.pipeline,
        ctx.policy.io_timeout + Duration::from_secs(1),
    )
    .await
    {
        return Err(connect_failed(&ctx.cfg.url, bus_error(&pipe.pipeline)));
    }
    for p in &pending {
        pipe.feed.push(p).map_err(Local)?;
    }
    // srtsink connects in the background: the destination is up only once the listener
    // acknowledges data.
    let connect_deadline =
        tokio::time::Instant::now() + ctx.policy.io_timeout.min(Duration::from_secs(3));
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    while acks_received(&pipe) == 0 {
        if let Some(e) = bus_error(&pipe.pipeline) {
            return Err(connect_failed(&ctx.cfg.url, Some(e)));
        }
        if tokio::time::Instant::now() > connect_deadline {
            return Err(connect_failed(&ctx.cfg.url, None));
        }
        tokio::select! {
            p = ctx.rx.recv() => match p {
                Some(p) => {
                    ctx.gop.push(p.clone());
                    pipe.feed.push(&p).map_err(Local)?;
                }
                None => return Ok(SessionEnd::Finished),
            },
            _ = poll.tick() => {}
            _ = ctx.shutdown.changed() => return Ok(SessionEnd::Finished),
        }
    }
    ctx.up();
    let mut pending: Vec<Packet> = Vec::new();
    let mut meter = Meter::new();
    let mut counted = 0u64;
    let mut gate = KeyGate::new(false);
    let mut check = tokio::time::interval(Duration::from_millis(200));
    // srtsink blocks in its send when the listener vanishes and posts nothing: a session
    // whose bytes stop moving while the programme flows is dead.
    let mut last_progress = tokio::time::Instant::now();
    let mut last_acks = acks_received(&pipe);
    let mut last_ack_at = tokio::time::Instant::now();
    loop {
        pipe.feed
            .send_admitted(&mut pending, &headers, &mut gate, &mut ctx)?;
        let total = pipe.sent.load(Ordering::Relaxed);
        if total != counted {
            last_progress = tokio::time::Instant::now();
        }
        meter.add(ctx.stats, (total - counted) as usize);
        counted = total;
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
                // The listener acknowledges what it receives; when its ACKs stop while we
                // send, it is gone (libsrt itself may not notice for a long time).
                let acks = acks_received(&pipe);
                if acks != last_acks {
                    last_acks = acks;
                    last_ack_at = tokio::time::Instant::now();
                } else if last_ack_at.elapsed() > STALL_LIMIT {
                    return Err(DestinationError::Stalled {
                        what: "acknowledging",
                        secs: STALL_LIMIT.as_secs(),
                    });
                }
                if let Some(e) = bus_error(&pipe.pipeline) {
                    return Err(DestinationError::Lost {
                        doing: "while sending",
                        cause: Some(std::io::Error::other(e)),
                    });
                }
                if last_progress.elapsed() > STALL_LIMIT {
                    return Err(DestinationError::Stalled {
                        what: "taking data",
                        secs: STALL_LIMIT.as_secs(),
                    });
                }
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
