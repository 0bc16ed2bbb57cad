//! The ingest's sockets: a tokio listener and one task per connection around the sans-IO
//! [`IngestSession`].
//!
//! Owns: accepting (at most `max_pending` connections that have not yet been accepted as
//! publishers — a flood of half-open connections is refused at once and never crowds out a
//! publisher already on air), the time limits (the whole handshake-to-publish exchange,
//! then silence while publishing, and every write), the key check and masked logging of
//! refused keys. Does not own: the protocol (`session`) or what happens to the media
//! (`IngestHub`).

use super::session::{Action, IngestSession, Limits, SessionError};
use super::{IngestHub, KeyCheck};
use crate::output::mask::mask;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// The ingest's settings (`[ingest]` in the channel config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSettings {
    /// Address to listen on, e.g. `0.0.0.0:1935`.
    pub listen: SocketAddr,
    /// The RTMP application publishers must use (`rtmp://HOST/live/KEY`).
    pub app: String,
    /// Connections not yet publishing that may be open at once; more are closed at once.
    pub max_pending: usize,
    /// Handshake, connect and publish must be done within this (ms).
    pub handshake_timeout_ms: u64,
    /// A publisher silent this long (ms) is disconnected.
    pub idle_timeout_ms: u64,
    /// Bytes a client may send before its publish is accepted.
    pub pre_publish_bytes: usize,
    /// Largest chunk size a client may announce (bytes).
    pub max_chunk_size: u32,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 1935)),
            app: "live".into(),
            max_pending: 64,
            handshake_timeout_ms: 5000,
            idle_timeout_ms: 10_000,
            pre_publish_bytes: 64 * 1024,
            max_chunk_size: 1 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot listen for RTMP on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid ingest setting: {0}")]
    Settings(String),
}

impl IngestSettings {
    /// Checks the settings; the message names the field.
    pub fn validate(&self) -> Result<(), IngestError> {
        if self.app.is_empty() || self.app.contains('/') {
            return Err(IngestError::Settings(format!(
                "ingest.app must be one path segment, got {:?}",
                self.app
            )));
        }
        if self.max_pending == 0 {
            return Err(IngestError::Settings(
                "ingest.max_pending must be ≥ 1".into(),
            ));
        }
        if !(100..=60_000).contains(&self.handshake_timeout_ms) {
            return Err(IngestError::Settings(
                "ingest.handshake_timeout_ms must be 100..=60000".into(),
            ));
        }
        if !(100..=600_000).contains(&self.idle_timeout_ms) {
            return Err(IngestError::Settings(
                "ingest.idle_timeout_ms must be 100..=600000".into(),
            ));
        }
        if !(128..=(1 << 24)).contains(&self.max_chunk_size) {
            return Err(IngestError::Settings(
                "ingest.max_chunk_size must be 128..=16777216".into(),
            ));
        }
        Ok(())
    }
}

/// A running ingest. Stops when dropped or on `stop()`.
pub struct Ingest {
    hub: IngestHub,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Ingest {
    /// Binds and starts accepting; call within a tokio runtime.
    pub async fn start(
        settings: IngestSettings,
        keys: Arc<dyn KeyCheck>,
    ) -> Result<Ingest, IngestError> {
        settings.validate()?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| IngestError::Listen {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| IngestError::Listen {
                addr: settings.listen,
                source,
            })?;
        let hub = IngestHub::default();
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, settings, keys, hub.clone(), rx));
        Ok(Ingest {
            hub,
            addr,
            shutdown,
            task: Some(task),
        })
    }

    /// The hub to give the engine (`LiveOptions::ingest`).
    pub fn hub(&self) -> IngestHub {
        self.hub.clone()
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and closes every connection.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    settings: IngestSettings,
    keys: Arc<dyn KeyCheck>,
    hub: IngestHub,
    mut shutdown: watch::Receiver<bool>,
) {
    let pending = Arc::new(Semaphore::new(settings.max_pending));
    let ids = AtomicU64::new(1);
    let settings = Arc::new(settings);
    let mut refused_full = 0u64;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (sock, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: pause instead of spinning.
                tracing::warn!(error = %e, "RTMP ingest: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            refused_full += 1;
            if refused_full.is_power_of_two() {
                tracing::warn!(
                    refused = refused_full,
                    limit = settings.max_pending,
                    "RTMP ingest: too many connections not publishing; closing new ones"
                );
            }
            drop(sock);
            continue;
        };
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let conn = Conn {
            id,
            peer,
            settings: settings.clone(),
            keys: keys.clone(),
            hub: hub.clone(),
            feed: None,
        };
        let sd = shutdown.clone();
        tokio::spawn(async move {
            conn.run(sock, permit, sd).await;
        });
    }
}

struct Conn {
    id: u64,
    peer: SocketAddr,
    settings: Arc<IngestSettings>,
    keys: Arc<dyn KeyCheck>,
    hub: IngestHub,
    /// The feed this connection publishes, once accepted.
    feed: Option<String>,
}

const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

async fn write(sock: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    match tokio::time::timeout(WRITE_TIMEOUT, sock.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("write failed: {e}")),
        Err(_) => Err("write stalled".into()),
    }
}

impl Conn {
    async fn run(
        mut self,
        mut sock: TcpStream,
        permit: tokio::sync::OwnedSemaphorePermit,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let _ = sock.set_nodelay(true);
        let mut permit = Some(permit);
        let limits = Limits {
            pre_publish_bytes: self.settings.pre_publish_bytes,
            max_chunk_size: self.settings.max_chunk_size,
        };
        let mut session = IngestSession::new(limits);
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.settings.handshake_timeout_ms);
        let idle = Duration::from_millis(self.settings.idle_timeout_ms);
        let mut buf = vec![0u8; 64 * 1024];
        let outcome: Result<(), String> = loop {
            let limit = if session.publishing() {
                tokio::time::Instant::now() + idle
            } else {
                deadline
            };
            let n = tokio::select! {
                r = tokio::time::timeout_at(limit, sock.read(&mut buf)) => r,
                _ = shutdown.changed() => break Ok(()),
            };
            let n = match n {
                Err(_) if session.publishing() => {
                    break Err(format!("no data for {} ms", idle.as_millis()));
                }
                Err(_) => break Err("handshake/publish not done in time".into()),
                Ok(Err(e)) => break Err(format!("read failed: {e}")),
                Ok(Ok(0)) => break Err("the publisher closed the connection".into()),
                Ok(Ok(n)) => n,
            };
            let actions = match session.input(&buf[..n]) {
                Ok(a) => a,
                Err(e) => {
                    if let (SessionError::Unsupported(why), Some(feed)) = (&e, &self.feed) {
                        tracing::warn!(feed = %feed, peer = %self.peer, reason = %why, "RTMP ingest: publisher refused");
                        self.hub.refuse(feed, why);
                    }
                    break Err(e.to_string());
                }
            };
            match self
                .act(&mut sock, &mut session, actions, &mut permit)
                .await
            {
                Ok(true) => {}
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let why = match &outcome {
            Ok(()) => "the publisher stopped".to_string(),
            Err(e) => e.clone(),
        };
        if let Some(feed) = &self.feed {
            self.hub.release(feed, self.id, &why);
            tracing::info!(feed = %feed, peer = %self.peer, reason = %why, "RTMP ingest: publisher left");
        } else {
            tracing::debug!(peer = %self.peer, reason = %why, "RTMP ingest: connection closed");
        }
    }

    /// Carries out the session's actions; `Ok(false)` ends the connection.
    async fn act(
        &mut self,
        sock: &mut TcpStream,
        session: &mut IngestSession,
        actions: Vec<Action>,
        permit: &mut Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<bool, String> {
        for a in actions {
            match a {
                Action::Send(b) => write(sock, &b).await?,
                Action::Publish {
                    request_id,
                    app,
                    key,
                } => {
                    let feed = if app == self.settings.app {
                        self.keys.check(&app, &key)
                    } else {
                        None
                    };
                    let Some(feed) = feed else {
                        // A hammered key must not flood the log: the first ten, then every
                        // power of two (the count says how many there were).
                        let n = self.hub.unknown_key();
                        if n <= 10 || n.is_power_of_two() {
                            tracing::warn!(
                                peer = %self.peer,
                                app = %app,
                                key = %mask(&key),
                                refused_total = n,
                                "RTMP ingest: unknown or revoked stream key refused"
                            );
                        }
                        for b in session
                            .reject(request_id, "unknown or revoked stream key")
                            .map_err(|e| e.to_string())?
                        {
                            write(sock, &b).await?;
                        }
                        return Ok(false);
                    };
                    if let Err(why) = self.hub.claim(&feed, self.id, &self.peer.to_string()) {
                        tracing::warn!(feed = %feed, peer = %self.peer, reason = %why, "RTMP ingest: publisher refused");
                        for b in session
                            .reject(request_id, &why)
                            .map_err(|e| e.to_string())?
                        {
                            write(sock, &b).await?;
                        }
                        return Ok(false);
                    }
                    tracing::info!(feed = %feed, peer = %self.peer, "RTMP ingest: publishing");
                    self.feed = Some(feed);
                    // A publisher no longer counts against the pending limit.
                    *permit = None;
                    for b in session.accept(request_id).map_err(|e| e.to_string())? {
                        write(sock, &b).await?;
                    }
                }
                Action::Video { timestamp, data } => {
                    if let Some(f) = &self.feed {
                        self.hub.media(f, self.id, true, timestamp, data);
                    }
                }
                Action::Audio { timestamp, data } => {
                    if let Some(f) = &self.feed {
                        self.hub.media(f, self.id, false, timestamp, data);
                    }
                }
                Action::Finished => return Ok(false),
            }
        }
        Ok(true)
    }
}
