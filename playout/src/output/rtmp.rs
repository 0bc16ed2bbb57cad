//! RTMP and RTMPS push, on rml_rtmp's client session (the protocol) and a tokio socket
//! (the I/O).
//!
//! Owns: parsing `rtmp(s)://host[:port]/app/key`, the handshake, connect and publish, and
//! sending the programme as FLV-framed messages with absolute programme timestamps
//! (extended timestamps past 2^24 ms come from rml_rtmp's chunk serializer). Every step is
//! time-boxed. Does not own: reconnecting (`output::run_destination`).

use super::error::{DestinationError, UrlError};
use super::{KeyGate, Meter, SessionCtx, SessionEnd, flv};
use crate::packet::{Headers, Kind, Packet};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
    PublishRequestType, StreamMetadata,
};
use rml_rtmp::time::RtmpTimestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The parts of an RTMP URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtmpUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub app: String,
    pub key: String,
    pub tc_url: String,
}

impl RtmpUrl {
    /// Parses `rtmp(s)://host[:port]/app/key` (the key is everything after the last `/`,
    /// query included; the default port is 1935, or 443 for `rtmps`).
    ///
    /// # Errors
    /// [`UrlError`] naming what is missing or malformed (never quoting the key).
    pub fn parse(url: &str) -> Result<RtmpUrl, UrlError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("rtmp://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("rtmps://") {
            (true, r)
        } else {
            return Err(UrlError::Scheme);
        };
        let (authority, path) = rest.split_once('/').ok_or(UrlError::NoPath)?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| UrlError::Port(p.to_string()))?,
            ),
            None => (authority.to_string(), if tls { 443 } else { 1935 }),
        };
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let (app, key) = path.rsplit_once('/').ok_or(UrlError::NoKey)?;
        if app.is_empty() || key.is_empty() {
            return Err(UrlError::EmptyAppOrKey);
        }
        let scheme = if tls { "rtmps" } else { "rtmp" };
        Ok(RtmpUrl {
            tls,
            tc_url: format!("{scheme}://{authority}/{app}"),
            host,
            port,
            app: app.to_string(),
            key: key.to_string(),
        })
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn connect(
    url: &RtmpUrl,
    io_timeout: Duration,
    extra_ca: Option<&std::path::Path>,
) -> Result<Box<dyn Io>, DestinationError> {
    let peer = || format!("{}:{}", url.host, url.port);
    let tcp = timeout(
        io_timeout,
        TcpStream::connect((url.host.as_str(), url.port)),
    )
    .await
    .map_err(|_| DestinationError::Connect {
        peer: peer(),
        cause: None,
    })?
    .map_err(|e| DestinationError::Connect {
        peer: peer(),
        cause: Some(e),
    })?;
    let _ = tcp.set_nodelay(true);
    if url.tls {
        let tls = super::tls::connect(&url.host, tcp, io_timeout, extra_ca)
            .await
            .map_err(DestinationError::Tls)?;
        Ok(Box::new(tls))
    } else {
        Ok(Box::new(tcp))
    }
}

struct Conn {
    io: Box<dyn Io>,
    session: ClientSession,
    buf: Vec<u8>,
    io_timeout: Duration,
    sent: usize,
}

impl Conn {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), DestinationError> {
        timeout(self.io_timeout, self.io.write_all(bytes))
            .await
            .map_err(|_| DestinationError::Timeout { doing: "sending" })?
            .map_err(|e| lost(SENDING, e))?;
        self.sent += bytes.len();
        Ok(())
    }

    /// Sends what the session wants sent and returns the events it raised.
    async fn handle(
        &mut self,
        results: Vec<ClientSessionResult>,
    ) -> Result<Vec<ClientSessionEvent>, DestinationError> {
        let mut events = Vec::new();
        for r in results {
            match r {
                ClientSessionResult::OutboundResponse(p) => self.write(&p.bytes).await?,
                ClientSessionResult::RaisedEvent(e) => events.push(e),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(events)
    }

    async fn read_events(&mut self) -> Result<Vec<ClientSessionEvent>, DestinationError> {
        let n = timeout(self.io_timeout, self.io.read(&mut self.buf))
            .await
            .map_err(|_| DestinationError::Timeout {
                doing: "connecting and publishing",
            })?
            .map_err(|e| lost(PUBLISHING, e))?;
        if n == 0 {
            return Err(closed(PUBLISHING));
        }
        let results = self
            .session
            .handle_input(&self.buf[..n])
            .map_err(|e| protocol("input", e))?;
        self.handle(results).await
    }

    /// Waits for `want`; a rejection or an unexpected status is an error.
    async fn expect(
        &mut self,
        what: &'static str,
        want: impl Fn(&ClientSessionEvent) -> bool,
    ) -> Result<(), DestinationError> {
        loop {
            for e in self.read_events().await? {
                if want(&e) {
                    return Ok(());
                }
                match e {
                    ClientSessionEvent::ConnectionRequestRejected { description } => {
                        return Err(DestinationError::Refused {
                            what: "the connection",
                            code: description,
                        });
                    }
                    ClientSessionEvent::UnhandleableOnStatusCode { code } => {
                        return Err(DestinationError::Refused { what, code });
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The step names in errors of an established connection.
const SENDING: &str = "while sending";
const PUBLISHING: &str = "while connecting and publishing";
const HANDSHAKE: &str = "during the handshake";

fn lost(doing: &'static str, e: std::io::Error) -> DestinationError {
    DestinationError::Lost {
        doing,
        cause: Some(e),
    }
}

fn closed(doing: &'static str) -> DestinationError {
    DestinationError::Lost { doing, cause: None }
}

fn protocol(step: &'static str, e: impl std::fmt::Display) -> DestinationError {
    DestinationError::Protocol {
        step,
        detail: e.to_string(),
    }
}

/// A platform that drops the connection in answer to the publish request (nginx-rtmp's
/// `on_publish` refusal, and the big platforms with a wrong or expired key) has refused the
/// stream key: say so, rather than "connection lost".
fn refused_at_publish(e: DestinationError) -> DestinationError {
    match e {
        DestinationError::Lost { cause, .. } => DestinationError::Refused {
            what: "the stream key",
            code: match cause {
                None => "it closed the connection in answer to the publish request".into(),
                Some(e) => {
                    format!("it dropped the connection in answer to the publish request ({e})")
                }
            },
        },
        other => other,
    }
}

/// Writes `bytes` within the time-box.
async fn write_boxed(
    io: &mut Box<dyn Io>,
    bytes: &[u8],
    io_timeout: Duration,
    doing: &'static str,
) -> Result<(), DestinationError> {
    timeout(io_timeout, io.write_all(bytes))
        .await
        .map_err(|_| DestinationError::Timeout {
            doing: "the RTMP handshake",
        })?
        .map_err(|e| lost(doing, e))
}

async fn handshake(
    io: &mut Box<dyn Io>,
    io_timeout: Duration,
) -> Result<Vec<u8>, DestinationError> {
    let mut hs = Handshake::new(PeerType::Client);
    let p0p1 = hs
        .generate_outbound_p0_and_p1()
        .map_err(|e| protocol("handshake", e))?;
    write_boxed(io, &p0p1, io_timeout, HANDSHAKE).await?;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = timeout(io_timeout, io.read(&mut buf))
            .await
            .map_err(|_| DestinationError::Timeout {
                doing: "the RTMP handshake",
            })?
            .map_err(|e| lost(HANDSHAKE, e))?;
        if n == 0 {
            return Err(closed(HANDSHAKE));
        }
        match hs
            .process_bytes(&buf[..n])
            .map_err(|e| protocol("handshake", e))?
        {
            HandshakeProcessResult::InProgress { response_bytes } => {
                if !response_bytes.is_empty() {
                    write_boxed(io, &response_bytes, io_timeout, HANDSHAKE).await?;
                }
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                if !response_bytes.is_empty() {
                    write_boxed(io, &response_bytes, io_timeout, HANDSHAKE).await?;
                }
                return Ok(remaining_bytes);
            }
        }
    }
}

/// One RTMP session: connect, publish, send until failure or shutdown.
pub async fn run_session(ctx: SessionCtx<'_>) -> Result<SessionEnd, DestinationError> {
    let url = RtmpUrl::parse(&ctx.cfg.url)?;
    let io_timeout = ctx.policy.io_timeout;
    let mut io = connect(&url, io_timeout, ctx.cfg.tls_ca.as_deref()).await?;
    let leftover = handshake(&mut io, io_timeout).await?;
    let mut config = ClientSessionConfig::new();
    config.tc_url = Some(url.tc_url.clone());
    config.flash_version = "FMLE/3.0 (compatible; kepu-playout)".into();
    let (session, initial) = ClientSession::new(config).map_err(|e| protocol("session", e))?;
    let mut conn = Conn {
        io,
        session,
        buf: vec![0u8; 64 * 1024],
        io_timeout,
        sent: 0,
    };
    conn.handle(initial).await?;
    let r = conn
        .session
        .request_connection(url.app.clone())
        .map_err(|e| protocol("connect", e))?;
    conn.handle(vec![r]).await?;
    if !leftover.is_empty() {
        let results = conn
            .session
            .handle_input(&leftover)
            .map_err(|e| protocol("input", e))?;
        conn.handle(results).await?;
    }
    conn.expect("the connection", |e| {
        matches!(e, ClientSessionEvent::ConnectionRequestAccepted)
    })
    .await?;
    let r = conn
        .session
        .request_publishing(url.key.clone(), PublishRequestType::Live)
        .map_err(|e| protocol("publish", e))?;
    conn.handle(vec![r]).await?;
    conn.expect("the stream key", |e| {
        matches!(e, ClientSessionEvent::PublishRequestAccepted)
    })
    .await
    .map_err(refused_at_publish)?;

    // Everything queued while connecting: keep only from the latest key frame.
    ctx.gop.drain(ctx.rx, ctx.stats);
    let mut pending = ctx.gop.snapshot();
    ctx.up();
    let mut meter = Meter::new();
    meter.add(ctx.stats, conn.sent);
    let mut sent_headers: Option<Arc<Headers>> = None;
    // With no cached GOP to start from, wait for a key frame.
    let mut gate = KeyGate::new(pending.is_empty());
    let mut first = true;
    loop {
        for p in pending.drain(..) {
            if !gate.admit(&p, ctx.stats, ctx.gop) {
                continue;
            }
            let before = conn.sent;
            if let Some(h) = &p.headers
                && sent_headers.as_ref().is_none_or(|s| !Arc::ptr_eq(s, h))
            {
                send_headers(&mut conn, h, &p, first).await?;
                first = false;
                sent_headers = Some(h.clone());
            }
            send_packet(&mut conn, &p).await?;
            meter.add(ctx.stats, conn.sent - before);
        }
        tokio::select! {
            p = ctx.rx.recv() => match p {
                Some(p) => {
                    // Keep the current GOP, so a reconnect starts at once with a picture.
                    ctx.gop.push(p.clone());
                    pending.push(p);
                }
                None => return Ok(SessionEnd::Finished),
            },
            r = conn.io.read(&mut conn.buf) => {
                let n = r.map_err(|e| lost(SENDING, e))?;
                if n == 0 {
                    return Err(closed(SENDING));
                }
                let results = conn.session.handle_input(&conn.buf[..n])
                    .map_err(|e| protocol("input", e))?;
                for e in conn.handle(results).await? {
                    if let ClientSessionEvent::UnhandleableOnStatusCode { code } = e
                        && (code.contains("Error") || code.contains("Failed") || code.contains("BadName"))
                    {
                        return Err(DestinationError::Refused { what: "the stream", code });
                    }
                }
            }
            _ = ctx.shutdown.changed() => {
                // Send what is still queued, then leave.
                while let Ok(p) = ctx.rx.try_recv() {
                    if gate.admit(&p, ctx.stats, ctx.gop) {
                        send_packet(&mut conn, &p).await?;
                    }
                }
                let _ = conn.io.shutdown().await;
                return Ok(SessionEnd::Finished);
            }
        }
    }
}

async fn send_headers(
    conn: &mut Conn,
    h: &Headers,
    at: &Packet,
    with_metadata: bool,
) -> Result<(), DestinationError> {
    let ts = RtmpTimestamp::new(flv::rtmp_ms(at.dts));
    if with_metadata {
        let meta = StreamMetadata {
            video_width: Some(h.width),
            video_height: Some(h.height),
            video_codec_id: Some(7),
            video_frame_rate: Some(h.fps_num as f32 / h.fps_den as f32),
            video_bitrate_kbps: Some(h.video_kbps),
            audio_codec_id: Some(10),
            audio_bitrate_kbps: Some(h.audio_kbps),
            audio_sample_rate: Some(h.sample_rate),
            audio_channels: Some(h.channels),
            audio_is_stereo: Some(h.channels == 2),
            encoder: Some("kepu-playout".into()),
        };
        let r = conn
            .session
            .publish_metadata(&meta)
            .map_err(|e| protocol("metadata", e))?;
        conn.handle(vec![r]).await?;
    }
    let v = conn
        .session
        .publish_video_data(flv::video_sequence_header(&h.avcc), ts, false)
        .map_err(|e| protocol("video header", e))?;
    let a = conn
        .session
        .publish_audio_data(flv::audio_sequence_header(&h.asc), ts, false)
        .map_err(|e| protocol("audio header", e))?;
    conn.handle(vec![v, a]).await?;
    Ok(())
}

async fn send_packet(conn: &mut Conn, p: &Packet) -> Result<(), DestinationError> {
    let r = match p.kind {
        Kind::Video => {
            let cts = flv::rtmp_ms(p.pts) as i64 - flv::rtmp_ms(p.dts) as i64;
            conn.session.publish_video_data(
                flv::video_frame(p.key, cts as i32, &p.data),
                RtmpTimestamp::new(flv::rtmp_ms(p.dts)),
                false,
            )
        }
        Kind::Audio => conn.session.publish_audio_data(
            flv::audio_frame(&p.data),
            RtmpTimestamp::new(flv::rtmp_ms(p.pts)),
            false,
        ),
    }
    .map_err(|e| protocol("send", e))?;
    conn.handle(vec![r]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = RtmpUrl::parse("rtmp://127.0.0.1:1935/live/abc").expect("valid");
        assert_eq!(
            (u.host.as_str(), u.port, u.app.as_str(), u.key.as_str()),
            ("127.0.0.1", 1935, "live", "abc")
        );
        assert_eq!(u.tc_url, "rtmp://127.0.0.1:1935/live");
        let u = RtmpUrl::parse("rtmps://push.example.com/app/inst/key?token=1").expect("valid");
        assert!(u.tls);
        assert_eq!(
            (u.port, u.app.as_str(), u.key.as_str()),
            (443, "app/inst", "key?token=1")
        );
        assert!(RtmpUrl::parse("rtmp://host/onlyapp").is_err());
        assert!(RtmpUrl::parse("http://host/a/b").is_err());
        assert_eq!(
            RtmpUrl::parse("rtmp://host:x/a/b"),
            Err(UrlError::Port("x".into()))
        );
        assert_eq!(
            RtmpUrl::parse("rtmp://host/a/"),
            Err(UrlError::EmptyAppOrKey)
        );
    }
}
