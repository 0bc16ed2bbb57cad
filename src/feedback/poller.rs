//! Pollers: workers that read a platform's (or a bridge's) JSON stats URL every so often,
//! pick figures out of it with a configured field mapping (JSON pointers such as
//! `/data/online`), and store them as figures of source `poller` on one relay channel.
//!
//! A poller is a worker like a source: `run` loops over `run_once` with a capped back-off
//! (its interval, doubled after each failure, at most 5 minutes), every fetch time-boxed
//! (connect, TLS, answer: 10 s in all; bodies at most 1 MiB), a panic caught and counted as
//! a failure, and its status (running / retrying and why, last success, figures stored)
//! published for the API and `/metrics`. Settings (`PollerConfig`) stay apart from the
//! runtime state (`PollerStatus`). [`extract`] is pure.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::Feedback;
use super::model::{Figure, Kind, Source};

/// Longest wait between two attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Time-box of one fetch (connect, TLS, request, answer).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read.
pub const MAX_BODY: usize = 1024 * 1024;

/// One poller's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerConfig {
    /// A short unique name (status, metrics).
    pub name: String,
    /// The relay channel its figures belong to.
    pub channel_id: i64,
    /// The stats URL (http or https). Never logged with its query (it may hold a key).
    pub url: String,
    /// How often to read it.
    pub every: Duration,
    /// Which figure sits where: kind → JSON pointer (`/data/online`).
    pub fields: BTreeMap<Kind, String>,
}

/// What a poller is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollerState {
    /// Not tried yet.
    Starting,
    /// The last read worked.
    Running,
    /// The last read failed; waiting to try again.
    Retrying,
}

/// A poller's published status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollerStatus {
    /// Its name.
    pub name: String,
    /// Its channel.
    pub channel_id: i64,
    /// The URL without its query.
    pub url: String,
    /// What it is doing.
    pub state: PollerState,
    /// Why the last read failed (None after a success).
    pub last_error: Option<String>,
    /// When a read last worked, UTC ms.
    pub last_ok_ms: Option<i64>,
    /// Failures since the last success.
    pub failures: u32,
    /// Figures stored so far.
    pub figures: u64,
}

/// The statuses of every poller, shared with the API.
pub type Statuses = Arc<Mutex<BTreeMap<String, PollerStatus>>>;

/// Why a read failed, by meaning.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PollError {
    /// The URL is unusable.
    #[error("地址无效：{0}")]
    Url(String),
    /// The server could not be reached or did not answer in time.
    #[error("无法读取：{0}")]
    Unreachable(String),
    /// It answered, but not 200 with JSON.
    #[error("应答无效：{0}")]
    Answer(String),
    /// The JSON lacks a mapped field, or it is not a count.
    #[error("字段 {pointer}：{reason}")]
    Field {
        /// The JSON pointer.
        pointer: String,
        /// What is wrong.
        reason: String,
    },
    /// Storing failed.
    #[error("写入失败：{0}")]
    Store(String),
}

/// Picks the mapped figures out of `json`: every pointer must lead to a whole number ≥ 0
/// (or a string of one, as some platforms send).
pub fn extract(
    json: &serde_json::Value,
    fields: &BTreeMap<Kind, String>,
) -> Result<Vec<(Kind, i64)>, PollError> {
    let mut out = Vec::new();
    for (kind, pointer) in fields {
        let v = json.pointer(pointer).ok_or_else(|| PollError::Field {
            pointer: pointer.clone(),
            reason: "应答中没有此字段".into(),
        })?;
        let n = match v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (0..=super::model::MAX_VALUE).contains(&n) => out.push((*kind, n)),
            _ => {
                return Err(PollError::Field {
                    pointer: pointer.clone(),
                    reason: format!("{v} 不是 0 至 10¹² 的整数"),
                });
            }
        }
    }
    Ok(out)
}

/// The URL as it may be shown: scheme, host, port and path, no query.
pub fn shown_url(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or("").to_string()
}

/// rustls with the Mozilla roots compiled in and the system's (as the engine's RTMPS).
fn tls_config() -> Result<Arc<tokio_rustls::rustls::ClientConfig>, String> {
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|e| format!("TLS 设置失败：{e}"))
}

async fn send<T>(io: T, uri: &axum::http::Uri, host: &str) -> Result<Vec<u8>, PollError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use http_body_util::BodyExt;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| PollError::Unreachable(e.to_string()))?;
    let conn = tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = axum::http::Request::get(path)
        .header(axum::http::header::HOST, host)
        .header(axum::http::header::ACCEPT, "application/json")
        .header(
            axum::http::header::USER_AGENT,
            "kepu-playout feedback poller",
        )
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| PollError::Url(e.to_string()))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| PollError::Unreachable(e.to_string()))?;
    if resp.status() != axum::http::StatusCode::OK {
        conn.abort();
        return Err(PollError::Answer(format!(
            "HTTP {}",
            resp.status().as_u16()
        )));
    }
    let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| PollError::Answer(format!("应答体无法读取或超过 1 MiB：{e}")))?
        .to_bytes();
    conn.abort();
    Ok(body.to_vec())
}

/// Reads `url` (http or https) once, time-boxed by [`FETCH_TIMEOUT`].
pub async fn fetch(
    url: &str,
    tls: Result<Arc<tokio_rustls::rustls::ClientConfig>, String>,
) -> Result<Vec<u8>, PollError> {
    let uri: axum::http::Uri = url.parse().map_err(|_| PollError::Url(shown_url(url)))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(PollError::Url(format!(
                "{}（只支持 http 和 https）",
                shown_url(url)
            )));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| PollError::Url(shown_url(url)))?
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
    let work = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| PollError::Unreachable(format!("{host}:{port}：{e}")))?;
        if https {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| PollError::Url(format!("{host} 不是有效的 TLS 服务器名")))?;
            let tls = tokio_rustls::TlsConnector::from(tls.map_err(PollError::Unreachable)?)
                .connect(name, tcp)
                .await
                .map_err(|e| PollError::Unreachable(format!("TLS：{e}")))?;
            send(tls, &uri, &authority).await
        } else {
            send(tcp, &uri, &authority).await
        }
    };
    tokio::time::timeout(FETCH_TIMEOUT, work)
        .await
        .map_err(|_| PollError::Unreachable(format!("{} 秒内没有应答", FETCH_TIMEOUT.as_secs())))?
}

/// One poller at work.
pub struct Poller {
    config: PollerConfig,
    feedback: Feedback,
    statuses: Statuses,
    tls: Result<Arc<tokio_rustls::rustls::ClientConfig>, String>,
    now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl Poller {
    /// A poller of `config` storing through `feedback`; `now_ms` is the programme clock.
    pub fn new(
        config: PollerConfig,
        feedback: Feedback,
        now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    ) -> Self {
        let statuses = feedback.poller_statuses();
        statuses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                config.name.clone(),
                PollerStatus {
                    name: config.name.clone(),
                    channel_id: config.channel_id,
                    url: shown_url(&config.url),
                    state: PollerState::Starting,
                    last_error: None,
                    last_ok_ms: None,
                    failures: 0,
                    figures: 0,
                },
            );
        Self {
            config,
            feedback,
            statuses,
            tls: tls_config(),
            now_ms,
        }
    }

    /// Reads once and stores what it found; returns how many figures were new or corrected.
    pub async fn run_once(&self, fence: &crate::cluster::fence::Fence) -> Result<usize, PollError> {
        let body = fetch(&self.config.url, self.tls.clone()).await?;
        let json: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| PollError::Answer(format!("不是 JSON：{e}")))?;
        let values = extract(&json, &self.config.fields)?;
        let step = i64::try_from(self.config.every.as_millis())
            .unwrap_or(60_000)
            .max(1);
        let at = (self.now_ms)().div_euclid(step) * step;
        let figures: Vec<Figure> = values
            .into_iter()
            .map(|(kind, value)| Figure {
                channel_id: self.config.channel_id,
                at_ms: at,
                kind,
                value,
                cumulative: kind.default_cumulative(),
                source: Source::Poller,
                as_of_ms: None,
            })
            .collect();
        let channel = self
            .feedback
            .store
            .channel(self.config.channel_id)
            .await
            .map_err(|e| PollError::Store(e.to_string()))?;
        let chans = std::collections::HashMap::from([(channel.id, channel)]);
        let hold = self.feedback.options().drill_hold;
        if !hold.is_zero() {
            tracing::warn!(poller = %self.config.name, epoch = ?fence.epoch(), hold_ms = hold.as_millis() as u64, "drill: the poller holds its figures before writing");
            tokio::time::sleep(hold).await;
        }
        // Fenced: a node that lost the lease meanwhile (paused, cut off) writes nothing.
        let r = tokio::time::timeout(
            Duration::from_secs(5) + hold,
            self.feedback.ingest_fenced(&figures, &chans, fence),
        )
        .await
        .map_err(|_| PollError::Store("数据库 5 秒内未应答".into()))?
        .map_err(|e| PollError::Store(e.to_string()))?;
        Ok(r.inserted + r.corrected)
    }

    fn publish(&self, result: &Result<usize, PollError>) {
        let mut all = self
            .statuses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(s) = all.get_mut(&self.config.name) else {
            return;
        };
        match result {
            Ok(n) => {
                s.state = PollerState::Running;
                s.last_error = None;
                s.last_ok_ms = Some(crate::store::now_ms());
                s.failures = 0;
                s.figures += *n as u64;
            }
            Err(e) => {
                s.state = PollerState::Retrying;
                s.last_error = Some(e.to_string());
                s.failures = s.failures.saturating_add(1);
            }
        }
        self.feedback
            .metrics_poller_up(&self.config.name, result.is_ok());
    }

    /// Polls until `stop` fires (only while this node holds the jobs' lease, see
    /// [`crate::cluster::Leader`]): the interval after a success, a doubling back-off (capped
    /// at [`MAX_BACKOFF`]) after failures; a panic inside one read counts as a failure.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let me = Arc::new(self);
        let mut delay = me.config.every;
        loop {
            // A once-only job: on the production pair only the lease holder reads.
            let Some(fence) = me.feedback.options().leader.fence() else {
                tokio::select! {
                    _ = tokio::time::sleep(me.config.every.min(Duration::from_secs(2))) => continue,
                    _ = stop.changed() => return,
                }
            };
            let one = {
                let me = me.clone();
                tokio::spawn(async move { me.run_once(&fence).await })
            };
            let result = tokio::select! {
                r = one => r.unwrap_or_else(|e| Err(PollError::Unreachable(format!("读取任务异常退出：{e}")))),
                _ = stop.changed() => return,
            };
            match &result {
                Ok(_) => delay = me.config.every,
                Err(e) => {
                    tracing::warn!(poller = %me.config.name, url = %shown_url(&me.config.url), error = %e, "poller read failed");
                    delay = (delay * 2).min(MAX_BACKOFF).max(me.config.every);
                }
            }
            me.publish(&result);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_picked_by_pointer_and_named_when_wrong() {
        let json =
            serde_json::json!({"data": {"online": 321, "like": "4000", "bad": -1, "f": 1.5}});
        let mut fields = BTreeMap::from([
            (Kind::Viewers, "/data/online".to_string()),
            (Kind::Likes, "/data/like".to_string()),
        ]);
        assert_eq!(
            extract(&json, &fields),
            Ok(vec![(Kind::Viewers, 321), (Kind::Likes, 4000)])
        );
        fields.insert(Kind::Shares, "/data/share".into());
        assert_eq!(
            extract(&json, &fields).map_err(|e| e.to_string()),
            Err("字段 /data/share：应答中没有此字段".into())
        );
        fields.insert(Kind::Shares, "/data/bad".into());
        assert!(extract(&json, &fields).is_err_and(|e| e.to_string().contains("-1")));
        fields.insert(Kind::Shares, "/data/f".into());
        assert!(extract(&json, &fields).is_err());
        assert_eq!(shown_url("https://x.cn/s?key=secret"), "https://x.cn/s");
    }
}
