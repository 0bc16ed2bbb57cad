//! The channel config: one TOML file plus `KEPU_*` environment overrides, validated at
//! start with errors that name the file, line and field.
//!
//! Owns: the channel's name, output profile, slate, destinations and reconnect policy, and
//! turning them into the engine's config. Does not own: the rundown (`dayfile`) or the
//! edition rules (`edition`).
//!
//! Overrides (so stream keys need not sit in files):
//! - `KEPU_DESTINATION_<NAME>_URL` replaces the URL of the destination called NAME
//!   (upper-cased, every other character than A–Z and 0–9 as `_`);
//! - `KEPU_CHANNEL_NAME`, `KEPU_OUTPUT_PRESET`, `KEPU_OUTPUT_VIDEO_KBPS`,
//!   `KEPU_OUTPUT_WIDTH`, `KEPU_OUTPUT_HEIGHT`.

use playout::{DestinationConfig, EngineConfig, OutputProfile, Preset, Rate, RetryPolicy};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

pub mod node;

/// A config error, already phrased for the person who wrote the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The channel.
    #[serde(default)]
    channel: RawChannel,
    /// The programme's output profile.
    #[serde(default)]
    output: RawOutput,
    /// The picture shown when nothing else can be.
    #[serde(default)]
    slate: RawSlate,
    /// Reconnect policy for every destination.
    #[serde(default)]
    retry: RawRetry,
    /// Where the programme is pushed.
    #[serde(default, rename = "destination")]
    destinations: Vec<RawDestination>,
    /// The daemon (`serve`): HTTP listener, database, edition.
    #[serde(default)]
    server: RawServer,
    /// The on-air controller.
    #[serde(default)]
    air: RawAir,
    /// The RTMP ingest partners push to (`listen = "0.0.0.0:1935"`); absent: no ingest.
    #[serde(default)]
    ingest: Option<playout::source::live::ingest::IngestSettings>,
    /// Settings of every live source without its own (`[live]`: jitter, hold, timeouts…).
    #[serde(default)]
    live: Option<playout::source::live::LiveSettings>,
    /// Settings of one live source by its locator (`[[live_source]] url = …` with
    /// `[live_source.settings]`: credentials of an RTSP camera, its policies, timeouts).
    #[serde(default, rename = "live_source")]
    live_sources: Vec<RawLiveSource>,
    /// 数据反馈: the public stream and its viewer count.
    #[serde(default)]
    feedback: RawFeedback,
    /// This node of the production pair.
    #[serde(default)]
    node: node::RawNode,
    /// Recording of live windows (回放); absent: not recorded.
    #[serde(default)]
    recording: Option<RawRecording>,
}

/// `[recording]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecording {
    /// Directory of the recordings (relative to the config file).
    dir: Spanned<String>,
    /// Most disk the recordings may use: bytes, or "200 GiB" (default 200 GiB).
    quota: Option<Spanned<toml::Value>>,
    /// Segment length: seconds, or "10 min" (default 10 min; 10 s to 1 h).
    segment: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeedback {
    /// Serve the HLS rendition publicly at /live/ and /watch (default true; needs the preview).
    public_hls: Option<Spanned<bool>>,
    /// A viewer session ends after this many seconds without a request (default 30, 5–300).
    viewer_idle_s: Option<Spanned<u64>>,
    /// How often the viewer count is stored as a figure, in seconds (default 10, 1–300).
    sample_s: Option<Spanned<u64>>,
    /// Pollers of JSON stats URLs.
    #[serde(default)]
    poller: Vec<RawPoller>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLiveSource {
    /// The locator exactly as the rundown plays it (`rtsp://…`, `srt://…`, `ingest://FEED`).
    url: String,
    /// Its settings.
    #[serde(default)]
    settings: playout::source::live::LiveSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoller {
    /// A short unique name (status, metrics).
    name: Spanned<String>,
    /// The relay channel's id its figures belong to.
    channel: Spanned<i64>,
    /// The stats URL (http:// or https://).
    url: Spanned<String>,
    /// Seconds between reads (default 60, 5–3600).
    every_s: Option<Spanned<u64>>,
    /// Figure kind → JSON pointer, e.g. `viewers = "/data/online"`.
    fields: Spanned<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    /// `host:port` of the HTTP API and dashboard (default 127.0.0.1:8080).
    listen: Option<Spanned<String>>,
    /// SQLite file or `postgres://` URL (default `kepu.db` next to the working directory).
    database: Option<Spanned<String>>,
    /// Edition file (default: the built-in 2026 edition).
    edition: Option<Spanned<String>>,
    /// Where the dashboard's HLS preview is written (default `preview`, next to the config).
    preview_dir: Option<Spanned<String>>,
    /// Write the HLS preview at all (default true).
    preview: Option<Spanned<bool>>,
    /// Where uploaded videos are kept (default `uploads`, next to the config).
    upload_dir: Option<Spanned<String>>,
    /// Most bytes one unit may upload, in GiB (default 200).
    unit_quota_gib: Option<Spanned<u64>>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR networks).
    trusted_proxies: Option<Spanned<Vec<String>>>,
    /// The node's own state (the as-run journal, the rundown last read; default `state`,
    /// next to the config, or in systemd's `$STATE_DIRECTORY`).
    state_dir: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAir {
    /// How far ahead the engine is cued, in minutes (default 10, 1–120).
    lookahead_minutes: Option<Spanned<u64>>,
    /// Earliest an edit takes effect after it is made, in ms (default 1000, 200–10000).
    edit_lead_ms: Option<Spanned<u64>>,
    /// Rehearsal: the channel runs as if the wall clock read this many ms later (default 0).
    clock_offset_ms: Option<Spanned<i64>>,
    /// Restart a stalled engine in-process (default true); when false, only systemd's
    /// watchdog (which stops hearing `WATCHDOG=1`) restarts the process.
    restart_engine: Option<bool>,
    /// Allow fault drills through `POST /api/v1/air/fault` (admins only; default false).
    fault_drills: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    /// Shown on the slate and in the dashboard.
    #[serde(default = "default_channel_name")]
    name: String,
}

impl Default for RawChannel {
    fn default() -> Self {
        RawChannel {
            name: default_channel_name(),
        }
    }
}

fn default_channel_name() -> String {
    "科普之光 · 全国科普月".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    /// Width in pixels (default 1920).
    width: Option<Spanned<u32>>,
    /// Height in pixels (default 1080).
    height: Option<Spanned<u32>>,
    /// Frame rate, "25" or "30000/1001" (default 25).
    fps: Option<Spanned<toml::Value>>,
    /// Audio sample rate (default 48000).
    sample_rate: Option<Spanned<u32>>,
    /// Audio channels (default 2).
    channels: Option<Spanned<u32>>,
    /// Video bit rate in kbit/s (default 6000).
    video_kbps: Option<Spanned<u32>>,
    /// Audio bit rate in kbit/s (default 128).
    audio_kbps: Option<Spanned<u32>>,
    /// x264 preset (default veryfast).
    preset: Option<Spanned<String>>,
    /// Seconds between key frames (default 2).
    keyframe_seconds: Option<Spanned<u32>>,
    /// Files with two mono audio tracks: "split" (track 1 left, track 2 right; default)
    /// or "first" (track 1 on both sides).
    dual_mono: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlate {
    /// An image or clip; default: the generated 「节目即将开始」 card.
    file: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    /// First reconnect delay in milliseconds (default 250, at most 500).
    first_ms: Option<Spanned<u64>>,
    /// Longest reconnect delay in milliseconds (default 1500, at most 5000).
    cap_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    /// A short unique name (used in status, metrics and the env override).
    name: Spanned<String>,
    /// rtmp://, rtmps:// or srt:// URL; may be left out when the env override gives it.
    url: Option<Spanned<String>>,
    /// Extra CA certificates (PEM file) to trust for this destination's RTMPS.
    tls_ca: Option<Spanned<String>>,
}

/// The validated channel config.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    pub path: PathBuf,
    pub channel_name: String,
    pub profile: OutputProfile,
    pub slate_file: Option<PathBuf>,
    pub retry: RetryPolicy,
    pub destinations: Vec<DestinationConfig>,
    pub server: ServerConfig,
    pub air: AirConfig,
    /// The RTMP ingest, when configured (`[ingest]`).
    pub ingest: Option<playout::source::live::ingest::IngestSettings>,
    /// How live sources are opened (`[live]`, `[[live_source]]`); the ingest's hub is added
    /// by `serve`.
    pub live: playout::source::live::LiveOptions,
    /// 数据反馈: the public stream and how its viewers are counted.
    pub feedback: crate::feedback::FeedbackOptions,
    /// This node of the production pair (`[node]`).
    pub node: node::NodeConfig,
    /// Recording of live windows (`[recording]`), when configured.
    pub recording: Option<crate::recording::RecordingConfig>,
}

/// Where the daemon listens and keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// HTTP listen address.
    pub listen: std::net::SocketAddr,
    /// SQLite path or PostgreSQL URL (may hold a password: print with `store::redact`).
    pub database: String,
    /// Edition file; `None` is the built-in 2026 edition.
    pub edition: Option<PathBuf>,
    /// The HLS preview's directory (absolute), `None` when the preview is off.
    pub preview_dir: Option<PathBuf>,
    /// Where uploaded videos are kept (absolute; `[server] upload_dir`, default `uploads`
    /// next to the config or in systemd's `$STATE_DIRECTORY`).
    pub upload_dir: PathBuf,
    /// Most bytes one unit may upload (`[server] unit_quota_gib`, default 200 GiB).
    pub unit_quota_bytes: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client for the rate limits and the
    /// login audit (`[server] trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]`; default none:
    /// the TCP peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The node's own state, kept across restarts and database outages (absolute;
    /// `[server] state_dir`, default `state` next to the config or in systemd's
    /// `$STATE_DIRECTORY`): the as-run journal and the rundown last read.
    pub state_dir: PathBuf,
}

/// The on-air controller's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AirConfig {
    /// How far ahead the engine is cued.
    pub lookahead: Duration,
    /// Earliest an edit takes effect after it is made.
    pub edit_lead: Duration,
    /// Rehearsal offset: programme time = wall time + this (ms).
    pub clock_offset_ms: i64,
    /// Restart a stalled engine in-process.
    pub restart_engine: bool,
    /// Fault drills allowed through the API.
    pub fault_drills: bool,
}

impl Default for AirConfig {
    fn default() -> Self {
        AirConfig {
            lookahead: Duration::from_secs(600),
            edit_lead: Duration::from_millis(1000),
            clock_offset_ms: 0,
            restart_engine: true,
            fault_drills: false,
        }
    }
}

/// The environment variable that overrides destination `name`'s URL.
pub fn destination_env_var(name: &str) -> String {
    let up: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("KEPU_DESTINATION_{up}_URL")
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl ChannelConfig {
    pub fn load(path: &Path) -> Result<ChannelConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read the config: {e}", path.display())))?;
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("KEPU_") || k == "STATE_DIRECTORY")
            .collect();
        Self::parse(path, &text, &env)
    }

    /// Parses `text` (the contents of `path`) with the given `KEPU_*` environment.
    pub fn parse(
        path: &Path,
        text: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<ChannelConfig, ConfigError> {
        let file = path.display().to_string();
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            ConfigError(format!("{file}:{line}: {}", e.message()))
        })?;
        let at = |span: std::ops::Range<usize>, field: &str, msg: String| {
            ConfigError(format!(
                "{file}:{}: {field}: {msg}",
                line_of(text, span.start)
            ))
        };

        let mut profile = OutputProfile::default();
        let o = &raw.output;
        if let Some(v) = &o.width {
            profile.width = *v.get_ref();
        }
        if let Some(v) = &o.height {
            profile.height = *v.get_ref();
        }
        if let Some(v) = &o.fps {
            // `fps = 25` as every TOML user writes it, or a string `"30000/1001"`.
            let text = match v.get_ref() {
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // The NTSC-family rates as people write them (29.97) mean their exact fractions.
            let text = match text.trim() {
                "23.976" | "23.98" => "24000/1001".to_string(),
                "29.97" => "30000/1001".to_string(),
                "59.94" => "60000/1001".to_string(),
                t => t.strip_suffix(".0").unwrap_or(t).to_string(),
            };
            profile.rate = parse_rate(&text).ok_or_else(|| {
                at(
                    v.span(),
                    "output.fps",
                    format!("{text:?} is not a frame rate like 25, \"25\" or \"30000/1001\""),
                )
            })?;
        }
        if let Some(v) = &o.sample_rate {
            profile.sample_rate = *v.get_ref();
        }
        if let Some(v) = &o.channels {
            profile.channels = *v.get_ref();
        }
        if let Some(v) = &o.video_kbps {
            profile.video_kbps = *v.get_ref();
        }
        if let Some(v) = &o.audio_kbps {
            profile.audio_kbps = *v.get_ref();
        }
        if let Some(v) = &o.preset {
            profile.preset = v
                .get_ref()
                .parse::<Preset>()
                .map_err(|e| at(v.span(), "output.preset", e))?;
        }
        if let Some(v) = &o.dual_mono {
            profile.dual_mono = v
                .get_ref()
                .parse()
                .map_err(|e| at(v.span(), "output.dual_mono", e))?;
        }
        let keyframe_seconds = o
            .keyframe_seconds
            .as_ref()
            .map(|v| *v.get_ref())
            .unwrap_or(2);
        // Environment overrides.
        let env_err =
            |k: &str, v: &str, what: &str| ConfigError(format!("environment {k}={v:?}: {what}"));
        if let Some(v) = env.get("KEPU_OUTPUT_PRESET") {
            profile.preset = v
                .parse::<Preset>()
                .map_err(|e| env_err("KEPU_OUTPUT_PRESET", v, &e))?;
        }
        for (k, slot) in [
            ("KEPU_OUTPUT_VIDEO_KBPS", &mut profile.video_kbps),
            ("KEPU_OUTPUT_WIDTH", &mut profile.width),
            ("KEPU_OUTPUT_HEIGHT", &mut profile.height),
        ] {
            if let Some(v) = env.get(k) {
                *slot = v.parse().map_err(|_| env_err(k, v, "not a whole number"))?;
            }
        }
        if keyframe_seconds == 0 || keyframe_seconds > 10 {
            let span = o
                .keyframe_seconds
                .as_ref()
                .map(|v| v.span())
                .unwrap_or(0..0);
            return Err(at(
                span,
                "output.keyframe_seconds",
                "must be between 1 and 10".into(),
            ));
        }
        profile.keyframe_interval = (profile.rate.frames_in_secs(keyframe_seconds as u64)) as u32;
        profile.validate().map_err(|e| {
            // Point at the key to fix (the environment may have set it: then no line).
            let span = match e.field() {
                "width" => o.width.as_ref().map(|v| v.span()),
                "height" => o.height.as_ref().map(|v| v.span()),
                "fps" => o.fps.as_ref().map(|v| v.span()),
                "sample_rate" => o.sample_rate.as_ref().map(|v| v.span()),
                "channels" => o.channels.as_ref().map(|v| v.span()),
                "video_kbps" => o.video_kbps.as_ref().map(|v| v.span()),
                "audio_kbps" => o.audio_kbps.as_ref().map(|v| v.span()),
                "keyframe_seconds" => o.keyframe_seconds.as_ref().map(|v| v.span()),
                _ => None,
            };
            at(
                span.unwrap_or(0..0),
                &format!("output.{}", e.field()),
                e.to_string(),
            )
        })?;

        let first_ms = raw
            .retry
            .first_ms
            .as_ref()
            .map(|v| *v.get_ref())
            .unwrap_or(250);
        let cap_ms = raw
            .retry
            .cap_ms
            .as_ref()
            .map(|v| *v.get_ref())
            .unwrap_or(1500);
        if !(10..=500).contains(&first_ms) {
            let span = raw
                .retry
                .first_ms
                .as_ref()
                .map(|v| v.span())
                .unwrap_or(0..0);
            return Err(at(
                span,
                "retry.first_ms",
                "must be between 10 and 500".into(),
            ));
        }
        if cap_ms < first_ms || cap_ms > 5000 {
            let span = raw.retry.cap_ms.as_ref().map(|v| v.span()).unwrap_or(0..0);
            return Err(at(
                span,
                "retry.cap_ms",
                format!("must be between first_ms ({first_ms}) and 5000"),
            ));
        }
        let retry = RetryPolicy {
            first: Duration::from_millis(first_ms),
            cap: Duration::from_millis(cap_ms),
            ..RetryPolicy::default()
        };

        let mut destinations = Vec::new();
        for d in &raw.destinations {
            let name = d.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(at(
                    d.name.span(),
                    "destination.name",
                    "must not be empty".into(),
                ));
            }
            if destinations
                .iter()
                .any(|x: &DestinationConfig| x.name == name)
            {
                return Err(at(
                    d.name.span(),
                    "destination.name",
                    format!("{name:?} is used twice"),
                ));
            }
            let var = destination_env_var(&name);
            let url = match (env.get(&var), &d.url) {
                (Some(v), _) => v.clone(),
                (None, Some(u)) => u.get_ref().clone(),
                (None, None) => {
                    return Err(at(
                        d.name.span(),
                        "destination.url",
                        format!("destination {name:?} has no url (set url or {var})"),
                    ));
                }
            };
            let valid = playout::output::DestinationKind::parse(&url);
            if let Err(e) = valid {
                let span = d.url.as_ref().map(|u| u.span()).unwrap_or(d.name.span());
                return Err(at(
                    span,
                    "destination.url",
                    format!("{}: {e}", playout::output::mask::mask_url(&url)),
                ));
            }
            let tls_ca = match &d.tls_ca {
                Some(f) => {
                    let p = path.parent().unwrap_or(Path::new(".")).join(f.get_ref());
                    if !p.is_file() {
                        return Err(at(
                            f.span(),
                            "destination.tls_ca",
                            format!("{} does not exist", p.display()),
                        ));
                    }
                    Some(p)
                }
                None => None,
            };
            destinations.push(DestinationConfig { name, url, tls_ca });
        }

        let base = path.parent().unwrap_or(Path::new("."));
        let slate_file = match &raw.slate.file {
            Some(f) => {
                let p = base.join(f.get_ref());
                if !p.is_file() {
                    return Err(at(
                        f.span(),
                        "slate.file",
                        format!("{} does not exist", p.display()),
                    ));
                }
                Some(p)
            }
            None => None,
        };
        let server = parse_server(&raw.server, base, env, &at)?;
        let air = parse_air(&raw.air, &at)?;
        if let Some(i) = &raw.ingest {
            i.validate()
                .map_err(|e| ConfigError(format!("{}: [ingest]: {e}", path.display())))?;
        }
        let mut live = playout::source::live::LiveOptions::default();
        if let Some(d) = raw.live {
            d.validate()
                .map_err(|e| ConfigError(format!("{}: [live]: {e}", path.display())))?;
            live.defaults = d;
        }
        for (i, l) in raw.live_sources.into_iter().enumerate() {
            l.settings.validate().map_err(|e| {
                ConfigError(format!(
                    "{}: [[live_source]] #{}: {e}",
                    path.display(),
                    i + 1
                ))
            })?;
            if live.feeds.insert(l.url, l.settings).is_some() {
                return Err(ConfigError(format!(
                    "{}: [[live_source]] #{}: this url is configured twice",
                    path.display(),
                    i + 1
                )));
            }
        }
        let feedback = parse_feedback(&raw.feedback, &at)?;
        let node = node::parse_node(&raw.node, env, &at)?;
        let recording = match &raw.recording {
            Some(r) => Some(parse_recording(r, base, &at)?),
            None => None,
        };
        let channel_name = env
            .get("KEPU_CHANNEL_NAME")
            .cloned()
            .unwrap_or(raw.channel.name);
        Ok(ChannelConfig {
            path: path.to_path_buf(),
            channel_name,
            profile,
            slate_file,
            retry,
            destinations,
            server,
            air,
            ingest: raw.ingest,
            live,
            feedback,
            node,
            recording,
        })
    }

    pub fn engine_config(&self) -> EngineConfig {
        let mut c = EngineConfig::new(self.profile.clone(), self.destinations.clone());
        c.channel_name = self.channel_name.clone();
        c.retry = self.retry;
        c.live = self.live.clone();
        if let Some(f) = &self.slate_file {
            c.slate = playout::SlateSource::File(f.display().to_string());
        }
        c
    }
}

type At<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError + 'a;

fn parse_server(
    raw: &RawServer,
    base: &Path,
    env: &BTreeMap<String, String>,
    at: &At<'_>,
) -> Result<ServerConfig, ConfigError> {
    let listen_text = match (env.get("KEPU_LISTEN"), &raw.listen) {
        (Some(v), _) => v.clone(),
        (None, Some(v)) => v.get_ref().clone(),
        (None, None) => "127.0.0.1:8080".into(),
    };
    let listen = listen_text.trim().parse().map_err(|_| {
        let span = raw.listen.as_ref().map(|v| v.span()).unwrap_or(0..0);
        at(
            span,
            "server.listen",
            format!("{listen_text:?} is not an address like \"127.0.0.1:8080\""),
        )
    })?;
    // A SQLite file named in the config (or the default `kepu.db`) lives beside the config
    // file, wherever the command is run from; URLs and the environment's value are as given.
    let beside = |p: &str| -> String {
        let is_url = p.contains("://") || p.starts_with("sqlite:") || p.contains(":memory:");
        if is_url || Path::new(p).is_absolute() {
            p.to_string()
        } else {
            base.join(p).display().to_string()
        }
    };
    let database = match (env.get("KEPU_DATABASE_URL"), &raw.database) {
        (Some(v), _) => v.clone(),
        (None, Some(v)) if !v.get_ref().trim().is_empty() => beside(v.get_ref().trim()),
        (None, Some(v)) => return Err(at(v.span(), "server.database", "must not be empty".into())),
        (None, None) => beside("kepu.db"),
    };
    let edition = match &raw.edition {
        Some(f) => {
            let p = base.join(f.get_ref());
            if !p.is_file() {
                return Err(at(
                    f.span(),
                    "server.edition",
                    format!("{} does not exist", p.display()),
                ));
            }
            Some(p)
        }
        None => None,
    };
    let preview_on = raw.preview.as_ref().is_none_or(|v| *v.get_ref());
    // Where the daemon writes by default: next to the config, or under systemd
    // (`StateDirectory=`) inside the unit's state directory, the config's own directory being
    // read-only there. A path given in the config is taken relative to the config.
    let systemd_state = env
        .get("STATE_DIRECTORY")
        .and_then(|d| d.split(':').next())
        .filter(|d| !d.is_empty())
        .map(Path::new);
    let writable = |given: Option<&Spanned<String>>, default: &str| {
        let p = match given {
            Some(v) => base.join(v.get_ref()),
            None => systemd_state.map_or_else(|| base.join(default), |d| d.join(default)),
        };
        if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
        }
    };
    let preview_dir = preview_on.then(|| writable(raw.preview_dir.as_ref(), "preview"));
    let upload_dir = writable(raw.upload_dir.as_ref(), "uploads");
    let state_dir = writable(raw.state_dir.as_ref(), "state");
    let unit_quota_bytes = match &raw.unit_quota_gib {
        Some(v) if !(1..=100_000).contains(v.get_ref()) => {
            return Err(at(
                v.span(),
                "server.unit_quota_gib",
                "must be 1–100000 (GiB)".into(),
            ));
        }
        Some(v) => *v.get_ref() << 30,
        None => 200 << 30,
    };
    let mut trusted_proxies = Vec::new();
    if let Some(v) = &raw.trusted_proxies {
        for entry in v.get_ref() {
            let net = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match net {
                Ok(n) => trusted_proxies.push(n),
                Err(_) => {
                    return Err(at(
                        v.span(),
                        "server.trusted_proxies",
                        format!(
                            "`{entry}` is not an address or a network (e.g. 127.0.0.1 or 10.0.0.0/8)"
                        ),
                    ));
                }
            }
        }
    }
    Ok(ServerConfig {
        listen,
        database,
        edition,
        preview_dir,
        upload_dir,
        unit_quota_bytes,
        trusted_proxies,
        state_dir,
    })
}

fn parse_air(raw: &RawAir, at: &At<'_>) -> Result<AirConfig, ConfigError> {
    let mut c = AirConfig::default();
    if let Some(v) = &raw.lookahead_minutes {
        let m = *v.get_ref();
        if !(1..=120).contains(&m) {
            return Err(at(
                v.span(),
                "air.lookahead_minutes",
                "must be between 1 and 120".into(),
            ));
        }
        c.lookahead = Duration::from_secs(m * 60);
    }
    if let Some(v) = &raw.edit_lead_ms {
        let ms = *v.get_ref();
        if !(200..=10_000).contains(&ms) {
            return Err(at(
                v.span(),
                "air.edit_lead_ms",
                "must be between 200 and 10000".into(),
            ));
        }
        c.edit_lead = Duration::from_millis(ms);
    }
    if let Some(v) = &raw.clock_offset_ms {
        let ms = *v.get_ref();
        // Ten years either way is plenty for a rehearsal.
        if ms.unsigned_abs() > 10 * 366 * 86_400_000 {
            return Err(at(
                v.span(),
                "air.clock_offset_ms",
                "must be within ten years".into(),
            ));
        }
        c.clock_offset_ms = ms;
    }
    if let Some(v) = raw.restart_engine {
        c.restart_engine = v;
    }
    if let Some(v) = raw.fault_drills {
        c.fault_drills = v;
    }
    Ok(c)
}

fn parse_recording(
    raw: &RawRecording,
    base: &Path,
    at: &At<'_>,
) -> Result<crate::recording::RecordingConfig, ConfigError> {
    let dir_text = raw.dir.get_ref().trim();
    if dir_text.is_empty() {
        return Err(at(
            raw.dir.span(),
            "recording.dir",
            "must not be empty".into(),
        ));
    }
    let p = base.join(dir_text);
    let dir = if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    };
    let text = |v: &toml::Value| match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let quota_bytes = match &raw.quota {
        Some(v) => crate::recording::parse_size(&text(v.get_ref()))
            .map_err(|e| at(v.span(), "recording.quota", e))?,
        None => crate::recording::DEFAULT_QUOTA,
    };
    let segment = match &raw.segment {
        Some(v) => {
            let d = crate::recording::parse_duration(&text(v.get_ref()))
                .map_err(|e| at(v.span(), "recording.segment", e))?;
            if !(Duration::from_secs(10)..=Duration::from_secs(3600)).contains(&d) {
                return Err(at(
                    v.span(),
                    "recording.segment",
                    "must be between 10 s and 1 h".into(),
                ));
            }
            d
        }
        None => crate::recording::DEFAULT_SEGMENT,
    };
    Ok(crate::recording::RecordingConfig {
        dir,
        quota_bytes,
        segment,
    })
}

fn parse_feedback(
    raw: &RawFeedback,
    at: &At<'_>,
) -> Result<crate::feedback::FeedbackOptions, ConfigError> {
    let mut c = crate::feedback::FeedbackOptions::default();
    if let Some(v) = &raw.public_hls {
        c.public_hls = *v.get_ref();
    }
    if let Some(v) = &raw.viewer_idle_s {
        let s = *v.get_ref();
        if !(5..=300).contains(&s) {
            return Err(at(
                v.span(),
                "feedback.viewer_idle_s",
                "must be between 5 and 300".into(),
            ));
        }
        c.sessions.idle = Duration::from_secs(s);
    }
    if let Some(v) = &raw.sample_s {
        let s = *v.get_ref();
        if !(1..=300).contains(&s) {
            return Err(at(
                v.span(),
                "feedback.sample_s",
                "must be between 1 and 300".into(),
            ));
        }
        c.sample_every = Duration::from_secs(s);
    }
    for (i, p) in raw.poller.iter().enumerate() {
        let field = |f: &str| format!("feedback.poller[{i}].{f}");
        let name = p.name.get_ref().trim();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(at(
                p.name.span(),
                &field("name"),
                "must be 1–64 letters, digits, '_' or '-'".into(),
            ));
        }
        if c.pollers.iter().any(|q| q.name == name) {
            return Err(at(
                p.name.span(),
                &field("name"),
                format!("{name:?} is used twice"),
            ));
        }
        if *p.channel.get_ref() <= 0 {
            return Err(at(
                p.channel.span(),
                &field("channel"),
                "must be a channel id".into(),
            ));
        }
        let url = p.url.get_ref().trim();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.parse::<axum::http::Uri>().is_err()
        {
            return Err(at(
                p.url.span(),
                &field("url"),
                format!(
                    "{:?} is not an http:// or https:// URL",
                    crate::feedback::poller::shown_url(url)
                ),
            ));
        }
        let every = match &p.every_s {
            None => Duration::from_secs(60),
            Some(v) if (5..=3600).contains(v.get_ref()) => Duration::from_secs(*v.get_ref()),
            Some(v) => {
                return Err(at(
                    v.span(),
                    &field("every_s"),
                    "must be between 5 and 3600".into(),
                ));
            }
        };
        let mut fields = BTreeMap::new();
        for (k, pointer) in p.fields.get_ref() {
            let kind = k
                .parse::<crate::feedback::model::Kind>()
                .map_err(|e| at(p.fields.span(), &field("fields"), e))?;
            if !pointer.starts_with('/') {
                return Err(at(
                    p.fields.span(),
                    &field("fields"),
                    format!(
                        "{k} = {pointer:?}: a JSON pointer starts with '/' (e.g. \"/data/online\")"
                    ),
                ));
            }
            fields.insert(kind, pointer.clone());
        }
        if fields.is_empty() {
            return Err(at(
                p.fields.span(),
                &field("fields"),
                "names no figure".into(),
            ));
        }
        c.pollers.push(crate::feedback::poller::PollerConfig {
            name: name.to_string(),
            channel_id: *p.channel.get_ref(),
            url: url.to_string(),
            every,
            fields,
        });
    }
    Ok(c)
}

fn parse_rate(s: &str) -> Option<Rate> {
    match s.split_once('/') {
        Some((n, d)) => Rate::new(n.trim().parse().ok()?, d.trim().parse().ok()?),
        None => Rate::new(s.trim().parse().ok()?, 1),
    }
}

#[cfg(test)]
mod tests;
