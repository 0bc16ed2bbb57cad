//! The live source side of an ingest feed: waits for a publisher, then turns its FLV tag
//! bodies back into an FLV byte stream for `appsrc ! decodebin` (flvdemux, parsers,
//! decoders).
//!
//! Owns: framing tags as FLV, rebasing RTMP timestamps to the start of the subscription
//! with wrapping 32-bit arithmetic (the 24-bit field wraps at 4 h 39 m and extended
//! timestamps carry on; the programme never sees these times anyway). Does not own: the
//! protocol (`session`), retrying (`supervisor`).

use super::{IngestHub, Item};
use crate::source::live::pipeline::Front;
use crate::source::live::supervisor::{Connector, Ctx};
use gstreamer as gst;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

pub(crate) struct IngestConnector {
    hub: IngestHub,
    feed: String,
}

impl IngestConnector {
    /// Plays `feed` of `hub`.
    pub fn new(hub: IngestHub, feed: &str) -> Self {
        IngestConnector {
            hub,
            feed: feed.to_string(),
        }
    }
}

/// The FLV file header (audio and video present) and the first "previous tag size".
pub(crate) fn flv_header() -> Vec<u8> {
    vec![b'F', b'L', b'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0]
}

/// One FLV tag (header, body, trailing size) with timestamp `ts` (ms, 32 bits).
pub(crate) fn flv_tag(video: bool, ts: u32, body: &[u8]) -> Vec<u8> {
    let len = body.len().min(0x00ff_ffff) as u32;
    let mut t = Vec::with_capacity(15 + body.len());
    t.push(if video { 9 } else { 8 });
    t.extend_from_slice(&len.to_be_bytes()[1..]);
    t.extend_from_slice(&ts.to_be_bytes()[1..]);
    t.push((ts >> 24) as u8);
    t.extend_from_slice(&[0, 0, 0]);
    t.extend_from_slice(&body[..len as usize]);
    t.extend_from_slice(&(len + 11).to_be_bytes());
    t
}

impl Connector for IngestConnector {
    fn run_once(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        let rx = self.hub.subscribe(&self.feed);
        // Waiting for a publisher is the normal state of a feed: no time limit.
        loop {
            if ctx.stopping() {
                return Ok(());
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Item::Start) => break,
                Ok(Item::Refused(why)) => ctx.shared.status.error(&why),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err("the ingest stopped".into()),
            }
        }
        let caps = gst::Caps::builder("video/x-flv").build();
        let branch = ctx.install(Front::AppSrc { caps, audio: None })?;
        let Some(src) = branch.appsrc.clone() else {
            return Err("the live pipeline has no appsrc".into());
        };
        let push = |bytes: Vec<u8>| {
            src.push_buffer(gst::Buffer::from_mut_slice(bytes))
                .map(|_| ())
                .map_err(|e| format!("the decoder refused the feed's data: {e:?}"))
        };
        push(flv_header())?;
        let mut base: Option<u32> = None;
        loop {
            if ctx.stopping() {
                return Ok(());
            }
            ctx.check(&branch, false)?;
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Item::Tag { video, ts, data }) => {
                    ctx.shared.status.bytes(data.len());
                    let b = *base.get_or_insert(ts);
                    push(flv_tag(video, ts.wrapping_sub(b), &data))?;
                }
                Ok(Item::End(why)) => return Err(format!("the publisher left: {why}")),
                Ok(Item::Refused(why)) => {
                    ctx.shared.status.error(&why);
                    return Err(why);
                }
                Ok(Item::Start) => return Err("a new publisher took over".into()),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err("the ingest stopped".into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flv_tags_carry_the_full_32_bit_timestamp() {
        let t = flv_tag(true, 0x0123_4567, &[1, 2, 3]);
        assert_eq!(t[0], 9);
        assert_eq!(&t[1..4], &[0, 0, 3]);
        // 24 low bits, then the extension byte.
        assert_eq!(&t[4..8], &[0x23, 0x45, 0x67, 0x01]);
        assert_eq!(&t[11..14], &[1, 2, 3]);
        assert_eq!(&t[14..], &14u32.to_be_bytes());
        // Rebasing across the 32-bit wrap stays small and increasing.
        let first = u32::MAX - 10;
        assert_eq!(5u32.wrapping_sub(first), 16);
    }
}
