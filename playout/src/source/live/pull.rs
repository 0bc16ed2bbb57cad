//! Pulls through GStreamer's own protocol elements: SRT (caller or listener), RTMP, HLS and
//! HTTP-FLV, each opened by `uridecodebin`.
//!
//! Owns: one pipeline per connection attempt and watching it (bus errors, end of stream,
//! the connect and frame timeouts). Does not own: retrying (`supervisor`), decoding and
//! conforming (`pipeline`).

use super::pipeline::Front;
use super::supervisor::{Connector, Ctx};
use std::time::Duration;

/// Which protocol a pull URL speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullKind {
    SrtCaller,
    SrtListener,
    Rtmp,
    Hls,
    HttpFlv,
    /// Any other live HTTP stream (`live+http://…`, e.g. MPEG-TS from an origin).
    Http,
}

impl PullKind {
    /// The short name used in status and metrics.
    pub fn name(self) -> &'static str {
        match self {
            PullKind::SrtCaller | PullKind::SrtListener => "srt",
            PullKind::Rtmp => "rtmp",
            PullKind::Hls => "hls",
            PullKind::HttpFlv => "http-flv",
            PullKind::Http => "http",
        }
    }
}

pub(crate) struct PullConnector {
    uri: String,
    kind: PullKind,
}

impl PullConnector {
    /// Pulls `uri`, which speaks `kind`.
    pub fn new(uri: &str, kind: PullKind) -> Self {
        PullConnector {
            uri: uri.to_string(),
            kind,
        }
    }
}

impl Connector for PullConnector {
    fn run_once(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        // HLS is fetched faster than real time: its sinks are paced by the pipeline clock.
        let sync = self.kind == PullKind::Hls;
        let branch = ctx.install(Front::Uri {
            uri: self.uri.clone(),
            sync,
        })?;
        // A listener waits for its caller as long as it takes.
        let waits = self.kind == PullKind::SrtListener;
        loop {
            if ctx.stopping() {
                return Ok(());
            }
            ctx.check(&branch, waits)?;
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
