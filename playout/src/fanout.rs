//! The fan-out: one encoded programme to every destination, none waiting for another.
//!
//! Owns: interleaving the video and audio packets in decoding order, attaching the current
//! stream headers, and offering each packet to every destination's bounded queue with
//! `try_send`. A full queue drops the packet for that destination only and marks it so the
//! destination resumes on the next key frame. Does not own: connections (`output`).

use crate::format::OutputProfile;
use crate::output::Stats;
use crate::packet::{Headers, Kind, Packet};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TrySendError;

/// One destination as the fan-out sees it.
pub struct Tap {
    pub tx: tokio::sync::mpsc::Sender<Packet>,
    pub stats: Arc<Stats>,
}

/// How long one stream may wait for the other before it is sent alone.
const INTERLEAVE_WAIT: Duration = Duration::from_millis(400);

/// Runs until the encoder's side of the channel closes.
pub fn run(rx: Receiver<Packet>, taps: Vec<Tap>, profile: OutputProfile) {
    let mut video: VecDeque<(Instant, Packet)> = VecDeque::new();
    let mut audio: VecDeque<(Instant, Packet)> = VecDeque::new();
    let mut avcc: Option<Bytes> = None;
    let mut asc: Option<Bytes> = None;
    let mut headers: Option<Arc<Headers>> = None;
    let mut closed = false;
    loop {
        if !closed {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(mut p) => {
                    // Learn the codec set-up as packets arrive, so the first key frame
                    // already has both streams' headers when it leaves.
                    if let Some(cd) = p.codec_data.take() {
                        let slot = match p.kind {
                            Kind::Video => &mut avcc,
                            Kind::Audio => &mut asc,
                        };
                        if slot.as_ref() != Some(&cd) {
                            *slot = Some(cd);
                            headers = None;
                        }
                    }
                    let q = match p.kind {
                        Kind::Video => &mut video,
                        Kind::Audio => &mut audio,
                    };
                    q.push_back((Instant::now(), p));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => closed = true,
            }
        }
        loop {
            let pick = match (video.front(), audio.front()) {
                (Some((_, v)), Some((_, a))) => Some(if v.dts <= a.dts {
                    Kind::Video
                } else {
                    Kind::Audio
                }),
                (Some((t, _)), None) if closed || t.elapsed() > INTERLEAVE_WAIT => {
                    Some(Kind::Video)
                }
                (None, Some((t, _))) if closed || t.elapsed() > INTERLEAVE_WAIT => {
                    Some(Kind::Audio)
                }
                _ => None,
            };
            let Some(kind) = pick else { break };
            if headers.is_none()
                && let (Some(v), Some(a)) = (&avcc, &asc)
            {
                headers = Some(Arc::new(Headers {
                    avcc: v.clone(),
                    asc: a.clone(),
                    width: profile.width,
                    height: profile.height,
                    fps_num: profile.rate.num,
                    fps_den: profile.rate.den,
                    sample_rate: profile.sample_rate,
                    channels: profile.channels,
                    video_kbps: profile.video_kbps,
                    audio_kbps: profile.audio_kbps,
                    keyframe_interval: profile.keyframe_interval,
                }));
            }
            // Nothing leaves before both streams' headers are known.
            let Some(h) = &headers else { break };
            let Some((_, mut p)) = (match kind {
                Kind::Video => video.pop_front(),
                Kind::Audio => audio.pop_front(),
            }) else {
                break;
            };
            p.headers = Some(h.clone());
            for tap in &taps {
                match tap.tx.try_send(p.clone()) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        tap.stats.dropped_packets.fetch_add(1, Ordering::Relaxed);
                        tap.stats.overflow.store(true, Ordering::SeqCst);
                    }
                    Err(TrySendError::Closed(_)) => {}
                }
            }
        }
        if closed && video.is_empty() && audio.is_empty() {
            return;
        }
    }
}
