//! Why a destination is not sending, as types: a URL that cannot be used, a platform that
//! cannot be reached, one that refuses the stream, one that stops answering, or our own
//! writer failing.
//!
//! Owns: [`UrlError`] (what is wrong with a destination URL, found once when it is parsed),
//! [`DestinationError`] (why a session ended) and [`FailureKind`], the short class of a
//! failure that travels with [`crate::Event::DestinationDown`] and the destination's status,
//! so the daemon can tell an operator "the platform refused the stream key" apart from "the
//! network dropped" without reading English text. Every message is free of secrets by
//! construction except where a peer's own words are quoted; the reconnect loop scrubs the
//! whole text with the URL's secrets before it is logged or shown.
//! Does not own: retrying (`output::run_destination`) or the operator's wording (the daemon).

use serde::Serialize;

/// What is wrong with a destination URL (`rtmp://`, `rtmps://`, `srt://`, `hls:`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The scheme is none of the destinations' (`http://…`).
    #[error("the URL must start with rtmp://, rtmps://, srt:// or hls:")]
    Scheme,
    /// `rtmp://host` with nothing after the host.
    #[error("the URL has no application and stream key (rtmp://host/app/key)")]
    NoPath,
    /// `rtmp://host/app` with no key.
    #[error("the URL has no stream key (rtmp://host/app/key)")]
    NoKey,
    /// An empty application or key (`rtmp://host//key`).
    #[error("the URL needs both an application and a stream key")]
    EmptyAppOrKey,
    /// No host (`rtmp://:1935/app/key`).
    #[error("the URL has no host")]
    NoHost,
    /// The port is not a number from 0 to 65535.
    #[error("the port {0:?} is not a number")]
    Port(String),
    /// `hls://dir` (two slashes): the directory would be read as a host.
    #[error("expected hls:///absolute/dir (three slashes) or hls:/absolute/dir")]
    HlsSlashes,
    /// An HLS directory that is relative, or `/` itself.
    #[error("the HLS directory must be an absolute path other than /")]
    HlsDir,
}

/// The class of a destination failure: what an operator should look at.
///
/// Serialised in snake case (`"refused"`) in the status and the engine's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The URL in the configuration cannot be used: fix the configuration.
    Url,
    /// The platform's address could not be reached (refused, unreachable, DNS, timed out).
    Connect,
    /// TLS could not be set up (certificate, CA file, server name).
    Tls,
    /// The platform refused the connection or the stream key, or stopped the stream.
    Refused,
    /// The platform stopped answering or taking data within the time-box.
    Timeout,
    /// An established connection was lost (reset, closed, acknowledgements stopped).
    Lost,
    /// The peer spoke the protocol wrongly (or we could not frame what we send).
    Protocol,
    /// Our own writer failed (GStreamer pipeline, local HLS directory).
    Local,
    /// Not a fault: the stream's codec headers changed and the session starts again.
    Restart,
}

impl FailureKind {
    /// Every kind, in declaration order (`ALL[k as usize] == k`).
    pub const ALL: [FailureKind; 9] = [
        FailureKind::Url,
        FailureKind::Connect,
        FailureKind::Tls,
        FailureKind::Refused,
        FailureKind::Timeout,
        FailureKind::Lost,
        FailureKind::Protocol,
        FailureKind::Local,
        FailureKind::Restart,
    ];

    /// The kind's name as serialised (`"refused"`), for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Url => "url",
            FailureKind::Connect => "connect",
            FailureKind::Tls => "tls",
            FailureKind::Refused => "refused",
            FailureKind::Timeout => "timeout",
            FailureKind::Lost => "lost",
            FailureKind::Protocol => "protocol",
            FailureKind::Local => "local",
            FailureKind::Restart => "restart",
        }
    }
}

/// Why a destination's session ended. `Display` is the English detail kept in the status
/// (scrubbed of the URL's secrets by the reconnect loop); [`DestinationError::kind`] is its
/// class.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The URL cannot be used.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// `host:port` could not be connected to in time (`cause` is `None` for a timeout).
    #[error("{}", connect_text(.peer, .cause.as_ref()))]
    Connect {
        /// `host:port`.
        peer: String,
        /// The socket's error; `None` when the time-box ran out.
        cause: Option<std::io::Error>,
    },
    /// TLS set-up or handshake failed; the text says which and why.
    #[error("{0}")]
    Tls(String),
    /// The platform refused `what` (`the connection`, `the stream key`) or stopped the
    /// stream; `code` is its own answer (an RTMP status code or description).
    #[error("the platform refused {what}: {code}")]
    Refused {
        /// What was refused.
        what: &'static str,
        /// The platform's words.
        code: String,
    },
    /// The platform did not answer or take data within the time-box while `doing`.
    #[error("the platform did not answer in time ({doing})")]
    Timeout {
        /// The step (`the RTMP handshake`, `sending`).
        doing: &'static str,
    },
    /// The connection was lost while `doing`; `cause` is the socket's error, `None` when
    /// the peer closed it.
    #[error("{}", lost_text(.doing, .cause.as_ref()))]
    Lost {
        /// The step.
        doing: &'static str,
        /// The socket's error, or `None` for an orderly close by the peer.
        cause: Option<std::io::Error>,
    },
    /// An SRT listener stopped acknowledging or taking data for `secs` seconds.
    #[error("the SRT listener stopped {what} for {secs} s")]
    Stalled {
        /// `acknowledging` or `taking data`.
        what: &'static str,
        /// How long, s.
        secs: u64,
    },
    /// The RTMP exchange failed (`step`: `handshake`, `connect`, `send` …).
    #[error("RTMP {step}: {detail}")]
    Protocol {
        /// The step.
        step: &'static str,
        /// rml_rtmp's error.
        detail: String,
    },
    /// Our own writer failed: a GStreamer pipeline or the local HLS directory.
    #[error("{0}")]
    Local(String),
    /// The programme's codec headers changed; the session starts again with the new ones.
    #[error("the stream headers changed; restarting the {0} session")]
    HeadersChanged(&'static str),
}

fn connect_text(peer: &str, cause: Option<&std::io::Error>) -> String {
    match cause {
        Some(e) => format!("cannot connect to {peer}: {e}"),
        None => format!("connecting to {peer} timed out"),
    }
}

fn lost_text(doing: &str, cause: Option<&std::io::Error>) -> String {
    match cause {
        Some(e) => format!("connection lost {doing}: {e}"),
        None => format!("the platform closed the connection {doing}"),
    }
}

impl DestinationError {
    /// The class of this failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            DestinationError::Url(_) => FailureKind::Url,
            DestinationError::Connect { .. } => FailureKind::Connect,
            DestinationError::Tls(_) => FailureKind::Tls,
            DestinationError::Refused { .. } => FailureKind::Refused,
            DestinationError::Timeout { .. } => FailureKind::Timeout,
            DestinationError::Lost { .. } | DestinationError::Stalled { .. } => FailureKind::Lost,
            DestinationError::Protocol { .. } => FailureKind::Protocol,
            DestinationError::Local(_) => FailureKind::Local,
            DestinationError::HeadersChanged(_) => FailureKind::Restart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_kind_and_a_plain_text() {
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let cases: Vec<(DestinationError, FailureKind, &str)> = vec![
            (UrlError::NoKey.into(), FailureKind::Url, "no stream key"),
            (
                DestinationError::Connect {
                    peer: "a:1935".into(),
                    cause: Some(io()),
                },
                FailureKind::Connect,
                "cannot connect to a:1935: ",
            ),
            (
                DestinationError::Connect {
                    peer: "a:1935".into(),
                    cause: None,
                },
                FailureKind::Connect,
                "connecting to a:1935 timed out",
            ),
            (
                DestinationError::Refused {
                    what: "the stream key",
                    code: "NetStream.Publish.BadName".into(),
                },
                FailureKind::Refused,
                "the platform refused the stream key: NetStream.Publish.BadName",
            ),
            (
                DestinationError::Lost {
                    doing: "while sending",
                    cause: None,
                },
                FailureKind::Lost,
                "the platform closed the connection while sending",
            ),
            (
                DestinationError::Stalled {
                    what: "acknowledging",
                    secs: 4,
                },
                FailureKind::Lost,
                "stopped acknowledging for 4 s",
            ),
            (
                DestinationError::HeadersChanged("SRT"),
                FailureKind::Restart,
                "restarting the SRT session",
            ),
        ];
        for (e, kind, text) in cases {
            assert_eq!(e.kind(), kind, "{e}");
            assert!(e.to_string().contains(text), "{e} lacks {text:?}");
        }
        assert_eq!(FailureKind::Refused.as_str(), "refused");
        for (i, k) in FailureKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k:?}");
        }
        assert_eq!(
            serde_json::to_string(&FailureKind::Timeout).expect("json"),
            "\"timeout\""
        );
    }
}
