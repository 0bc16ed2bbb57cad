//! Live sources: RTSP cameras (retina), SRT/RTMP/HLS/HTTP-FLV pulls (GStreamer) and feeds
//! pushed into our RTMP ingest (rml_rtmp) — each one thread that owns its connection,
//! reconnects by itself with capped back-off, and never seeks.
//!
//! Owns: telling a live locator from a file ([`classify`]), the [`LiveOpener`] that opens
//! live locators as live sources (and everything else as files), and the registry the
//! engine's status lists them from. Does not own: which source is on air, the hold and the
//! slate (`switcher`), or the timing of the programme (the output clock).
//!
//! Locators:
//! * `rtsp://host/path` — retina; credentials and policies come from the settings;
//! * `srt://host:port` (caller) and `srt://:port?mode=listener` (listener);
//! * `rtmp://…`, `rtmps://…` — pulled with GStreamer;
//! * `http(s)://….m3u8` (HLS) and `http(s)://….flv` (HTTP-FLV); any other HTTP URL is a file
//!   unless written `live+http(s)://…` (a live HTTP origin, e.g. MPEG-TS);
//! * `ingest://FEED` — the feed a partner pushes into our RTMP ingest.

pub mod ingest;
mod pipeline;
pub mod pull;
pub mod record;
mod rtsp;
pub mod settings;
mod source;
pub mod status;
mod supervisor;

pub use pull::PullKind;
pub use record::{Manifest, RecordPlan, RecordPlanner};
pub use settings::{LiveSettings, RtspSettings, RtspTransport};
pub use source::LiveSource;
pub use status::{LiveRegistry, LiveState, LiveStatus, RecordingStatus};

use crate::format::OutputProfile;
use crate::source::{DecodebinOpener, Opener, Source, SourceState, VideoPull};
use retina::client::SessionGroup;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What kind of live source a locator names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveKind {
    Rtsp,
    Pull(PullKind),
    /// A feed of the RTMP ingest, by its id.
    Ingest(String),
}

impl LiveKind {
    /// The short name used in status and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            LiveKind::Rtsp => "rtsp",
            LiveKind::Pull(k) => k.name(),
            LiveKind::Ingest(_) => "ingest",
        }
    }
}

/// The `url` a live source's [`LiveStatus`] carries for a cued source (path or URL): the
/// URI it opens, its secrets masked. `None` when the source is not live.
pub fn status_url(source: &str) -> Option<String> {
    let (_, uri) = classify(&crate::cue::to_uri(source))?;
    let secrets = crate::output::mask::secrets_of(&uri);
    Some(crate::output::mask::scrub(&uri, &secrets))
}

/// Whether `uri` names a live source, and which; `None` for files (and file-like URLs).
/// Also returns the URI to open (`live+http://` loses its prefix).
pub fn classify(uri: &str) -> Option<(LiveKind, String)> {
    let lower = uri.to_ascii_lowercase();
    let path_ends = |ext: &str| {
        let path = lower.split(['?', '#']).next().unwrap_or("");
        path.ends_with(ext)
    };
    if let Some(rest) = lower.strip_prefix("live+")
        && (rest.starts_with("http://") || rest.starts_with("https://"))
    {
        let inner = uri[5..].to_string();
        let kind = if path_ends(".m3u8") {
            PullKind::Hls
        } else if path_ends(".flv") {
            PullKind::HttpFlv
        } else {
            PullKind::Http
        };
        return Some((LiveKind::Pull(kind), inner));
    }
    if lower.starts_with("rtsp://") {
        return Some((LiveKind::Rtsp, uri.to_string()));
    }
    if lower.starts_with("srt://") {
        let listener = uri
            .split_once('?')
            .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "mode=listener"));
        let k = if listener {
            PullKind::SrtListener
        } else {
            PullKind::SrtCaller
        };
        return Some((LiveKind::Pull(k), uri.to_string()));
    }
    if lower.starts_with("rtmp://") || lower.starts_with("rtmps://") {
        return Some((LiveKind::Pull(PullKind::Rtmp), uri.to_string()));
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        if path_ends(".m3u8") {
            return Some((LiveKind::Pull(PullKind::Hls), uri.to_string()));
        }
        if path_ends(".flv") {
            return Some((LiveKind::Pull(PullKind::HttpFlv), uri.to_string()));
        }
        return None;
    }
    if let Some(feed) = uri.strip_prefix("ingest://") {
        return Some((
            LiveKind::Ingest(feed.trim_end_matches('/').to_string()),
            uri.to_string(),
        ));
    }
    None
}

/// How the engine opens live sources.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    /// Settings of every live source without settings of its own.
    pub defaults: LiveSettings,
    /// Settings per locator (exactly as cued): credentials, policies, timeouts.
    pub feeds: HashMap<String, LiveSettings>,
    /// The RTMP ingest whose feeds `ingest://FEED` names.
    pub ingest: Option<ingest::IngestHub>,
    /// Records live sources while they are on air (see [`record`]), when set.
    pub recorder: Option<Arc<dyn RecordPlanner>>,
}

/// Opens live locators as live sources and everything else as decoded files.
pub struct LiveOpener {
    files: DecodebinOpener,
    options: LiveOptions,
    registry: LiveRegistry,
    /// Retina session groups by name (cameras sharing a group wait out each other's
    /// stale sessions).
    groups: Mutex<HashMap<String, Arc<SessionGroup>>>,
}

impl LiveOpener {
    /// An opener with `options`, registering every live source it opens in `registry`.
    pub fn new(options: LiveOptions, registry: LiveRegistry) -> Self {
        LiveOpener {
            files: DecodebinOpener,
            options,
            registry,
            groups: Mutex::new(HashMap::new()),
        }
    }

    fn group(&self, name: &str) -> Arc<SessionGroup> {
        match self.groups.lock() {
            Ok(mut g) => g
                .entry(name.to_string())
                .or_insert_with(|| Arc::new(SessionGroup::default().named(name.to_string())))
                .clone(),
            Err(_) => Arc::new(SessionGroup::default().named(name.to_string())),
        }
    }

    /// Opens a live source for `uri` of kind `kind`.
    pub fn open_live(
        &self,
        original: &str,
        kind: LiveKind,
        uri: &str,
        profile: &OutputProfile,
    ) -> Box<dyn Source> {
        let settings = self
            .options
            .feeds
            .get(original)
            .cloned()
            .unwrap_or_else(|| self.options.defaults.clone());
        let cell = status::StatusCell::new(
            uri.to_string(),
            kind.name(),
            Duration::from_millis(settings.hold_ms.max(200)),
        );
        self.registry.register(&cell);
        if let Err(e) = settings.validate() {
            return Box::new(Broken::new(cell, e));
        }
        let connector: Result<Box<dyn supervisor::Connector>, String> = match &kind {
            LiveKind::Rtsp => {
                let name = settings
                    .rtsp
                    .session_group
                    .clone()
                    .unwrap_or_else(|| uri.to_string());
                rtsp::RtspConnector::new(uri, self.group(&name))
                    .map(|c| Box::new(c) as Box<dyn supervisor::Connector>)
            }
            LiveKind::Pull(k) => Ok(Box::new(pull::PullConnector::new(uri, *k))),
            LiveKind::Ingest(feed) => match &self.options.ingest {
                Some(hub) => Ok(Box::new(ingest::IngestConnector::new(hub.clone(), feed))),
                None => Err(format!("no RTMP ingest is configured for feed {feed}")),
            },
        };
        let connector = match connector {
            Ok(c) => c,
            Err(e) => return Box::new(Broken::new(cell, e)),
        };
        let recording = self.options.recorder.as_ref().map(|p| {
            record::Recording::new(p.clone(), cell.clone(), original, &cell.snapshot().url)
        });
        let shared = supervisor::Shared::new(cell.clone(), recording);
        let src = LiveSource::new(
            shared.clone(),
            settings.clone(),
            profile.sample_rate as usize * profile.audio_bytes_per_sample(),
            profile.audio_bytes_per_sample(),
        );
        if let Err(e) = supervisor::spawn(shared, settings, profile.clone(), connector) {
            return Box::new(Broken::new(cell, e));
        }
        Box::new(src)
    }
}

impl Opener for LiveOpener {
    fn open(&self, uri: &str, in_point_ns: u64, profile: &OutputProfile) -> Box<dyn Source> {
        match classify(uri) {
            // A live stream cannot seek: the in-point is ignored.
            Some((kind, inner)) => self.open_live(uri, kind, &inner, profile),
            None => self.files.open(uri, in_point_ns, profile),
        }
    }
}

/// A live source that cannot even start (bad settings, an RTSP URL with credentials): it
/// fails with the reason, shown in its status too.
struct Broken {
    /// Keeps the failure listed in the engine's status while the item is open.
    _cell: Arc<status::StatusCell>,
    why: String,
}

impl Broken {
    fn new(cell: Arc<status::StatusCell>, why: String) -> Self {
        tracing::error!(source = %cell.snapshot().url, reason = %why, "live source cannot start");
        cell.retrying(&why, 1, Duration::ZERO);
        Broken { _cell: cell, why }
    }
}

impl Source for Broken {
    fn state(&self) -> SourceState {
        SourceState::Failed(self.why.clone())
    }
    fn pull_video(&mut self, _wait: Duration) -> VideoPull {
        VideoPull::NotYet
    }
    fn pull_audio(&mut self, _out: &mut Vec<u8>, _bytes: usize, _wait: Duration) -> bool {
        false
    }
    fn live_hold(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_locators_are_told_from_files() {
        let k = |u: &str| classify(u).map(|(k, _)| k);
        assert_eq!(k("rtsp://cam/stream1"), Some(LiveKind::Rtsp));
        assert_eq!(
            k("srt://1.2.3.4:9000"),
            Some(LiveKind::Pull(PullKind::SrtCaller))
        );
        assert_eq!(
            k("srt://:9000?latency=200&mode=listener"),
            Some(LiveKind::Pull(PullKind::SrtListener))
        );
        assert_eq!(k("rtmp://h/live/key"), Some(LiveKind::Pull(PullKind::Rtmp)));
        assert_eq!(
            k("http://h/a/index.m3u8?x=1"),
            Some(LiveKind::Pull(PullKind::Hls))
        );
        assert_eq!(
            k("https://h/live/s.flv"),
            Some(LiveKind::Pull(PullKind::HttpFlv))
        );
        assert_eq!(k("http://h/clip.mp4"), None);
        assert_eq!(k("file:///media/clip.mp4"), None);
        assert_eq!(
            k("ingest://telescope"),
            Some(LiveKind::Ingest("telescope".into()))
        );
        let (kind, inner) = classify("live+http://origin/ts").expect("live");
        assert_eq!(kind, LiveKind::Pull(PullKind::Http));
        assert_eq!(inner, "http://origin/ts");
    }
}
