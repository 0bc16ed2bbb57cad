//! A live source's settings: what to connect to and how, kept apart from its runtime state
//! (`status`). Serde-friendly, so the daemon can store them per feed.
//!
//! Owns: the settings types, their defaults and their validation. Does not own: connecting
//! (`rtsp`, `pull`, `ingest`) or supervision (`supervisor`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How a live source connects and how it behaves when the feed misbehaves.
///
/// Times are integer milliseconds. Every external operation of a live source is bounded by
/// one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveSettings {
    /// Frames are held back this long after a (re)connection before the source counts as
    /// ready, and the queue behind it stays about this deep: absorbs network hiccups.
    pub jitter_ms: u64,
    /// On a stall, the programme holds the last frame this long, then shows the slate.
    pub hold_ms: u64,
    /// Connecting (TCP connect, RTSP DESCRIBE/SETUP/PLAY, the first frame) may take this long.
    pub connect_timeout_ms: u64,
    /// No frame for this long on an established connection: the connection is dropped and
    /// opened again.
    pub frame_timeout_ms: u64,
    /// Back-off between attempts: starts here and doubles …
    pub retry_initial_ms: u64,
    /// … up to this cap.
    pub retry_max_ms: u64,
    /// RTSP specifics (ignored by other kinds).
    pub rtsp: RtspSettings,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            jitter_ms: 500,
            hold_ms: 1000,
            connect_timeout_ms: 5000,
            frame_timeout_ms: 3000,
            retry_initial_ms: 250,
            retry_max_ms: 1000,
            rtsp: RtspSettings::default(),
        }
    }
}

impl LiveSettings {
    /// Checks the settings; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let bounded = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("live.{name} must be {lo}..={hi} ms, got {v}"))
            }
        };
        bounded("jitter_ms", self.jitter_ms, 0, 10_000)?;
        bounded("hold_ms", self.hold_ms, 0, 60_000)?;
        bounded("connect_timeout_ms", self.connect_timeout_ms, 100, 120_000)?;
        bounded("frame_timeout_ms", self.frame_timeout_ms, 100, 120_000)?;
        bounded("retry_initial_ms", self.retry_initial_ms, 10, 60_000)?;
        bounded(
            "retry_max_ms",
            self.retry_max_ms,
            self.retry_initial_ms,
            300_000,
        )?;
        self.rtsp.validate()
    }

    pub(crate) fn jitter(&self) -> Duration {
        Duration::from_millis(self.jitter_ms)
    }
    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub(crate) fn frame_timeout(&self) -> Duration {
        Duration::from_millis(self.frame_timeout_ms)
    }

    /// The pause before attempt `attempt` (1-based: the first retry waits `retry_initial`).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        let ms = self
            .retry_initial_ms
            .saturating_mul(1u64 << shift)
            .min(self.retry_max_ms);
        Duration::from_millis(ms)
    }
}

/// RTSP transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RtspTransport {
    /// RTP interleaved on the RTSP TCP connection: the robust default.
    #[default]
    Tcp,
    /// RTP over UDP (retina: no reorder buffer; for a clean LAN only).
    Udp,
}

/// RTSP credentials and retina's camera-quirk policies, as the strings retina's `FromStr`
/// accepts (`teardown`: auto/never/always; `initial_timestamp`: default/require/ignore/
/// permissive; `unknown_rtcp_ssrc`: default/abort-session/drop-packets/process-packets;
/// `session_id`: default/require-match/use-first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RtspSettings {
    pub transport: RtspTransport,
    /// User name for digest/basic authentication (never in the URL: retina refuses it).
    pub username: Option<String>,
    /// Password; never logged or shown.
    pub password: Option<String>,
    /// Name of the retina session group (stale sessions of old live555 cameras are waited
    /// out per group); `None` uses one group per source.
    pub session_group: Option<String>,
    pub teardown: Option<String>,
    pub initial_timestamp: Option<String>,
    pub unknown_rtcp_ssrc: Option<String>,
    pub session_id: Option<String>,
}

impl RtspSettings {
    fn validate(&self) -> Result<(), String> {
        use retina::client::{
            InitialTimestampPolicy, SessionIdPolicy, TeardownPolicy, UnknownRtcpSsrcPolicy,
        };
        fn check<T: std::str::FromStr>(name: &str, v: &Option<String>) -> Result<(), String>
        where
            T::Err: std::fmt::Display,
        {
            match v {
                Some(s) => s
                    .parse::<T>()
                    .map(|_| ())
                    .map_err(|e| format!("live.rtsp.{name}: {e}")),
                None => Ok(()),
            }
        }
        check::<TeardownPolicy>("teardown", &self.teardown)?;
        check::<InitialTimestampPolicy>("initial_timestamp", &self.initial_timestamp)?;
        check::<UnknownRtcpSsrcPolicy>("unknown_rtcp_ssrc", &self.unknown_rtcp_ssrc)?;
        check::<SessionIdPolicy>("session_id", &self.session_id)?;
        if self.password.is_some() && self.username.is_none() {
            return Err("live.rtsp.password is set without live.rtsp.username".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let s = LiveSettings::default();
        let ms: Vec<u128> = (1..=6).map(|a| s.backoff(a).as_millis()).collect();
        assert_eq!(ms, vec![250, 500, 1000, 1000, 1000, 1000]);
        assert_eq!(s.backoff(u32::MAX).as_millis(), 1000);
    }

    #[test]
    fn bad_policies_and_bounds_are_refused_with_the_field_name() {
        let mut s = LiveSettings::default();
        assert!(s.validate().is_ok());
        s.rtsp.teardown = Some("sometimes".into());
        assert!(
            s.validate()
                .expect_err("refused")
                .contains("live.rtsp.teardown")
        );
        let s = LiveSettings {
            retry_max_ms: 10,
            ..LiveSettings::default()
        };
        assert!(s.validate().expect_err("refused").contains("retry_max_ms"));
        let s: LiveSettings = serde_json::from_str(
            r#"{"jitter_ms": 200, "rtsp": {"transport": "udp", "username": "u"}}"#,
        )
        .expect("parses");
        assert_eq!(s.jitter_ms, 200);
        assert_eq!(s.hold_ms, 1000);
        assert_eq!(s.rtsp.transport, RtspTransport::Udp);
        assert!(serde_json::from_str::<LiveSettings>(r#"{"jitter": 1}"#).is_err());
    }
}
