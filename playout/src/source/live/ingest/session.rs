//! One RTMP ingest connection as a sans-IO state machine: bytes in, bytes to send and
//! publish events out. No sockets, no clock: the caller (`server`) owns both, so the
//! handshake and chunk parsing can be unit-tested and fuzzed.
//!
//! Owns: the handshake (rml_rtmp), the server session (rml_rtmp), and the guards a
//! hostile client meets: a byte budget before a publish is accepted, a cap on the chunk
//! size a client may announce, only H.264 video and AAC audio, and a parser panic turned
//! into an error. Does not own: key checking (the caller decides on `Publish`), time
//! limits (`server`).

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};

/// Limits of one connection.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes a client may send before its publish request is accepted (handshake, connect,
    /// publish: a few KiB in practice).
    pub pre_publish_bytes: usize,
    /// Largest chunk size a client may announce.
    pub max_chunk_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            pre_publish_bytes: 64 * 1024,
            max_chunk_size: 1 << 20,
        }
    }
}

/// Why a connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("RTMP handshake failed: {0}")]
    Handshake(String),
    #[error("RTMP protocol error: {0}")]
    Protocol(String),
    #[error("sent {0} bytes without publishing (limit reached)")]
    TooMuchBeforePublish(usize),
    #[error("announced a chunk size of {0} bytes (limit {1})")]
    ChunkSize(u32, u32),
    #[error("{0}")]
    Unsupported(String),
    #[error("the RTMP parser failed on malformed input")]
    ParserPanicked,
}

/// What happened on the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Bytes to send to the client, in order.
    Send(Vec<u8>),
    /// The client asks to publish on `app` with `key`: answer with `accept` or `reject`.
    Publish {
        request_id: u32,
        app: String,
        key: String,
    },
    /// An FLV video tag body (H.264), with its RTMP timestamp (32-bit ms, wrapping).
    Video { timestamp: u32, data: Bytes },
    /// An FLV audio tag body (AAC).
    Audio { timestamp: u32, data: Bytes },
    /// The client stopped publishing.
    Finished,
}

enum Stage {
    Handshake(Box<Handshake>),
    Session(Box<ServerSession>),
}

/// One connection's protocol state.
pub struct IngestSession {
    stage: Stage,
    limits: Limits,
    received: usize,
    publishing: bool,
}

fn run_guarded<T>(f: impl FnOnce() -> T) -> Result<T, SessionError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| SessionError::ParserPanicked)
}

/// FLV video codec ids (low nibble of the first byte); bit 7 set is Enhanced RTMP.
fn check_video(data: &[u8]) -> Result<(), SessionError> {
    let Some(&b) = data.first() else {
        return Ok(());
    };
    if b & 0x80 != 0 {
        return Err(SessionError::Unsupported(
            "Enhanced RTMP video (HEVC/AV1/VP9) is not supported: push H.264 over RTMP, or H.265 over SRT"
                .into(),
        ));
    }
    let codec = b & 0x0f;
    if codec != 7 {
        return Err(SessionError::Unsupported(format!(
            "video codec id {codec} is not supported: push H.264 (codec id 7)"
        )));
    }
    Ok(())
}

fn check_audio(data: &[u8]) -> Result<(), SessionError> {
    let Some(&b) = data.first() else {
        return Ok(());
    };
    let codec = b >> 4;
    if codec != 10 {
        return Err(SessionError::Unsupported(format!(
            "audio format {codec} is not supported: push AAC (format 10)"
        )));
    }
    Ok(())
}

impl IngestSession {
    /// A connection that has sent nothing yet (handshake first).
    pub fn new(limits: Limits) -> Self {
        IngestSession {
            stage: Stage::Handshake(Box::new(Handshake::new(PeerType::Server))),
            limits,
            received: 0,
            publishing: false,
        }
    }

    /// Whether a publish request has been accepted.
    pub fn publishing(&self) -> bool {
        self.publishing
    }

    /// Feeds bytes received from the client.
    pub fn input(&mut self, bytes: &[u8]) -> Result<Vec<Action>, SessionError> {
        if !self.publishing {
            self.received = self.received.saturating_add(bytes.len());
            if self.received > self.limits.pre_publish_bytes {
                return Err(SessionError::TooMuchBeforePublish(self.received));
            }
        }
        let mut out = Vec::new();
        let rest = match &mut self.stage {
            Stage::Handshake(hs) => {
                let r = run_guarded(|| hs.process_bytes(bytes))?
                    .map_err(|e| SessionError::Handshake(format!("{e:?}")))?;
                match r {
                    HandshakeProcessResult::InProgress { response_bytes } => {
                        if !response_bytes.is_empty() {
                            out.push(Action::Send(response_bytes));
                        }
                        return Ok(out);
                    }
                    HandshakeProcessResult::Completed {
                        response_bytes,
                        remaining_bytes,
                    } => {
                        if !response_bytes.is_empty() {
                            out.push(Action::Send(response_bytes));
                        }
                        let (session, results) =
                            run_guarded(|| ServerSession::new(ServerSessionConfig::new()))?
                                .map_err(|e| SessionError::Protocol(format!("{e:?}")))?;
                        self.stage = Stage::Session(Box::new(session));
                        self.results(results, &mut out)?;
                        remaining_bytes
                    }
                }
            }
            Stage::Session(_) => bytes.to_vec(),
        };
        if rest.is_empty() {
            return Ok(out);
        }
        let Stage::Session(s) = &mut self.stage else {
            return Ok(out);
        };
        let results = run_guarded(|| s.handle_input(&rest))?
            .map_err(|e| SessionError::Protocol(format!("{e:?}")))?;
        self.results(results, &mut out)?;
        Ok(out)
    }

    fn results(
        &mut self,
        results: Vec<ServerSessionResult>,
        out: &mut Vec<Action>,
    ) -> Result<(), SessionError> {
        for r in results {
            match r {
                ServerSessionResult::OutboundResponse(p) => out.push(Action::Send(p.bytes)),
                ServerSessionResult::RaisedEvent(e) => self.event(e, out)?,
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    fn event(&mut self, e: ServerSessionEvent, out: &mut Vec<Action>) -> Result<(), SessionError> {
        match e {
            ServerSessionEvent::ClientChunkSizeChanged { new_chunk_size }
                if new_chunk_size > self.limits.max_chunk_size =>
            {
                return Err(SessionError::ChunkSize(
                    new_chunk_size,
                    self.limits.max_chunk_size,
                ));
            }
            ServerSessionEvent::ConnectionRequested { request_id, .. } => {
                let Stage::Session(s) = &mut self.stage else {
                    return Ok(());
                };
                let results = run_guarded(|| s.accept_request(request_id))?
                    .map_err(|e| SessionError::Protocol(format!("{e:?}")))?;
                self.results(results, out)?;
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                app_name,
                stream_key,
                ..
            } => out.push(Action::Publish {
                request_id,
                app: app_name,
                key: stream_key,
            }),
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } if self.publishing => {
                check_video(&data)?;
                out.push(Action::Video {
                    timestamp: timestamp.value,
                    data,
                });
            }
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } if self.publishing => {
                check_audio(&data)?;
                out.push(Action::Audio {
                    timestamp: timestamp.value,
                    data,
                });
            }
            ServerSessionEvent::PublishStreamFinished { .. } if self.publishing => {
                self.publishing = false;
                out.push(Action::Finished);
            }
            _ => {}
        }
        Ok(())
    }

    /// Accepts the publish request: returns the bytes to send.
    pub fn accept(&mut self, request_id: u32) -> Result<Vec<Vec<u8>>, SessionError> {
        let Stage::Session(s) = &mut self.stage else {
            return Err(SessionError::Protocol(
                "publish before the handshake".into(),
            ));
        };
        let results = run_guarded(|| s.accept_request(request_id))?
            .map_err(|e| SessionError::Protocol(format!("{e:?}")))?;
        self.publishing = true;
        Ok(results
            .into_iter()
            .filter_map(|r| match r {
                ServerSessionResult::OutboundResponse(p) => Some(p.bytes),
                _ => None,
            })
            .collect())
    }

    /// Refuses the publish request with a status description: returns the bytes to send.
    pub fn reject(&mut self, request_id: u32, why: &str) -> Result<Vec<Vec<u8>>, SessionError> {
        let Stage::Session(s) = &mut self.stage else {
            return Err(SessionError::Protocol(
                "publish before the handshake".into(),
            ));
        };
        let results =
            run_guarded(|| s.reject_request(request_id, "NetStream.Publish.BadName", why))?
                .map_err(|e| SessionError::Protocol(format!("{e:?}")))?;
        Ok(results
            .into_iter()
            .filter_map(|r| match r {
                ServerSessionResult::OutboundResponse(p) => Some(p.bytes),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
