//! RTSP cameras through `retina`: DESCRIBE / SETUP / PLAY, then access units as Annex B
//! (parameter sets on every key frame) into `appsrc ! decodebin`.
//!
//! Owns: one RTSP session per connection attempt, on a small tokio runtime that lives as
//! long as the source (retina's teardown tasks run on it), with every step time-boxed;
//! credentials and retina's policies from the settings (never from the URL); skipping to
//! the first key frame. Does not own: decoding and conforming (`pipeline`), retrying
//! (`supervisor`).
//!
//! Sound: a camera's AAC (`mpeg4-generic`) is taken as ADTS into a second appsrc; any other
//! audio codec (G.711, L16 …) is not set up and the camera gets silence, as does a camera
//! without sound. Sound and picture are each timed from their own first frame (no RTCP
//! sender-report alignment).

use super::pipeline::Front;
use super::settings::{LiveSettings, RtspTransport};
use super::supervisor::{Connector, Ctx};
use futures_util::StreamExt;
use gstreamer as gst;
use retina::client::{
    Credentials, PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions, Transport,
};
use retina::codec::{CodecItem, FrameFormat};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Connects to one RTSP URL.
pub(crate) struct RtspConnector {
    url: url::Url,
    group: Arc<SessionGroup>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RtspConnector {
    /// Fails when the URL is not a valid `rtsp://` URL or carries credentials.
    pub fn new(uri: &str, group: Arc<SessionGroup>) -> Result<RtspConnector, String> {
        let url = url::Url::parse(uri).map_err(|e| format!("not a valid RTSP URL: {e}"))?;
        if url.scheme() != "rtsp" {
            return Err(format!("not an rtsp:// URL (scheme {})", url.scheme()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "credentials inside an RTSP URL are refused: put them in the feed's settings"
                    .into(),
            );
        }
        Ok(RtspConnector {
            url,
            group,
            runtime: None,
        })
    }
}

fn options(s: &LiveSettings, group: Arc<SessionGroup>) -> Result<SessionOptions, String> {
    let r = &s.rtsp;
    let creds = r.username.as_ref().map(|u| Credentials {
        username: u.clone(),
        password: r.password.clone().unwrap_or_default(),
    });
    let mut o = SessionOptions::default()
        .creds(creds)
        .session_group(group)
        .user_agent("kepu-playout".into());
    if let Some(t) = &r.teardown {
        o = o.teardown(t.parse().map_err(|e| format!("teardown policy: {e}"))?);
    }
    if let Some(t) = &r.session_id {
        o = o.session_id(t.parse().map_err(|e| format!("session id policy: {e}"))?);
    }
    Ok(o)
}

fn play_options(s: &LiveSettings) -> Result<PlayOptions, String> {
    let mut p = PlayOptions::default();
    if let Some(t) = &s.rtsp.initial_timestamp {
        p = p.initial_timestamp(
            t.parse()
                .map_err(|e| format!("initial timestamp policy: {e}"))?,
        );
    }
    if let Some(t) = &s.rtsp.unknown_rtcp_ssrc {
        p = p.unknown_rtcp_ssrc(
            t.parse()
                .map_err(|e| format!("unknown RTCP SSRC policy: {e}"))?,
        );
    }
    Ok(p)
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what} took longer than {} ms", limit.as_millis())),
    }
}

async fn session(url: &url::Url, group: Arc<SessionGroup>, ctx: &mut Ctx) -> Result<(), String> {
    let s = ctx.settings.clone();
    let limit = s.connect_timeout();
    // Old live555 cameras keep a stale session sending on a dead connection: wait it out.
    let stale = group.stale_sessions();
    let _ = tokio::time::timeout(limit, group.await_stale_sessions(&stale)).await;
    let mut session = timed(
        "RTSP DESCRIBE",
        limit,
        Session::describe(url.clone(), options(&s, group)?),
    )
    .await?;
    let found: Vec<String> = session
        .streams()
        .iter()
        .map(|st| format!("{}/{}", st.media(), st.encoding_name()))
        .collect();
    let (index, codec) = session
        .streams()
        .iter()
        .enumerate()
        .find_map(|(i, st)| match (st.media(), st.encoding_name()) {
            ("video", "h264") => Some((i, "video/x-h264")),
            ("video", "h265") => Some((i, "video/x-h265")),
            _ => None,
        })
        .ok_or_else(|| {
            format!(
                "the camera offers no H.264 or H.265 video (it offers: {})",
                found.join(", ")
            )
        })?;
    let transport = match s.rtsp.transport {
        RtspTransport::Tcp => Transport::Tcp(Default::default()),
        RtspTransport::Udp => Transport::Udp(Default::default()),
    };
    timed(
        "RTSP SETUP",
        limit,
        session.setup(
            index,
            SetupOptions::default()
                .transport(transport)
                .frame_format(FrameFormat::SIMPLE),
        ),
    )
    .await?;
    let audio_index = session
        .streams()
        .iter()
        .position(|st| st.media() == "audio" && st.encoding_name() == "mpeg4-generic");
    if let Some(ai) = audio_index {
        timed(
            "RTSP SETUP (audio)",
            limit,
            session.setup(
                ai,
                SetupOptions::default()
                    .transport(match s.rtsp.transport {
                        RtspTransport::Tcp => Transport::Tcp(Default::default()),
                        RtspTransport::Udp => Transport::Udp(Default::default()),
                    })
                    .frame_format(FrameFormat::SIMPLE),
            ),
        )
        .await?;
    }
    let playing = timed("RTSP PLAY", limit, session.play(play_options(&s)?)).await?;
    let mut demuxed = playing
        .demuxed()
        .map_err(|e| format!("cannot depacketize the camera's stream: {e}"))?;

    let caps = gst::Caps::builder(codec)
        .field("stream-format", "byte-stream")
        .field("alignment", "au")
        .build();
    let audio_caps = audio_index.map(|_| {
        gst::Caps::builder("audio/mpeg")
            .field("mpegversion", 4i32)
            .field("stream-format", "adts")
            .build()
    });
    let branch = ctx.install(Front::AppSrc {
        caps,
        audio: audio_caps,
    })?;
    let Some(appsrc) = branch.appsrc.clone() else {
        return Err("the live pipeline has no appsrc".into());
    };
    let audio_src = branch.audio_src.clone();
    let mut audio_base: Option<i64> = None;
    let mut base: Option<(i64, u32)> = None;
    let mut last_pts: Option<u64> = None;
    let mut keyed = false;
    let connected = Instant::now();
    let mut last_au = Instant::now();
    loop {
        if ctx.stopping() {
            return Ok(());
        }
        ctx.check(&branch, false)?;
        let item = match tokio::time::timeout(Duration::from_millis(200), demuxed.next()).await {
            Err(_) => {
                // No access unit at all (a camera that went silent without closing): the
                // frame timeout applies from the last one, the connect timeout before any.
                let (limit, since) = if keyed {
                    (s.frame_timeout(), last_au.elapsed())
                } else {
                    (s.connect_timeout(), connected.elapsed())
                };
                if since > limit {
                    return Err(format!(
                        "no frame from the camera for {} ms",
                        since.as_millis()
                    ));
                }
                continue;
            }
            Ok(None) => return Err("the camera closed the session".into()),
            Ok(Some(Err(e))) => return Err(format!("RTSP: {e}")),
            Ok(Some(Ok(item))) => item,
        };
        let frame = match item {
            CodecItem::VideoFrame(f) => f,
            CodecItem::AudioFrame(a) if keyed => {
                // Sound from the first picture on, timed from its own first frame.
                if let Some(src) = &audio_src {
                    let ts = a.timestamp();
                    let rate = i128::from(ts.clock_rate().get().max(1));
                    let b = *audio_base.get_or_insert(ts.elapsed());
                    let pts = (i128::from(ts.elapsed().saturating_sub(b).max(0)) * 1_000_000_000
                        / rate) as u64;
                    ctx.shared.status.bytes(a.data().len());
                    let mut buf = gst::Buffer::from_slice(a.data().to_vec());
                    if let Some(bm) = buf.get_mut() {
                        bm.set_pts(gst::ClockTime::from_nseconds(pts));
                    }
                    src.push_buffer(buf)
                        .map_err(|e| format!("the decoder refused the camera's sound: {e:?}"))?;
                }
                continue;
            }
            _ => continue,
        };
        if !keyed && !frame.is_random_access_point() {
            continue;
        }
        keyed = true;
        last_au = Instant::now();
        let ts = frame.timestamp();
        let rate = ts.clock_rate().get();
        let (b, _) = *base.get_or_insert((ts.elapsed(), rate));
        // Source time inside this pipeline only (for the rate conversion); never copied to
        // the programme. Kept strictly increasing whatever the camera's clock does.
        let mut pts = (i128::from(ts.elapsed().saturating_sub(b).max(0)) * 1_000_000_000
            / i128::from(rate.max(1))) as u64;
        if let Some(lp) = last_pts
            && pts <= lp
        {
            pts = lp + 1;
        }
        last_pts = Some(pts);
        let key = frame.is_random_access_point();
        let data = frame.into_data();
        ctx.shared.status.bytes(data.len());
        let mut buf = gst::Buffer::from_mut_slice(data);
        if let Some(bm) = buf.get_mut() {
            bm.set_pts(gst::ClockTime::from_nseconds(pts));
            if !key {
                bm.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        appsrc
            .push_buffer(buf)
            .map_err(|e| format!("the decoder refused the camera's data: {e:?}"))?;
    }
}

impl Connector for RtspConnector {
    fn run_once(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        if self.runtime.is_none() {
            self.runtime = Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the RTSP runtime: {e}"))?,
            );
        }
        let Some(rt) = &self.runtime else {
            return Err("no RTSP runtime".into());
        };
        let url = self.url.clone();
        let group = self.group.clone();
        let shared = ctx.shared.clone();
        // A source closed while DESCRIBE hangs on a dead camera ends at once, not after
        // the connect timeout.
        rt.block_on(async move {
            tokio::select! {
                r = session(&url, group, ctx) => r,
                _ = async {
                    while !shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                } => Ok(()),
            }
        })
    }

    fn close(&mut self) {
        if let Some(rt) = self.runtime.take() {
            let group = self.group.clone();
            let _ = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(1), group.await_teardown()).await
            });
            rt.shutdown_timeout(Duration::from_millis(200));
        }
    }
}
