//! What a media file is: probed in-process with GStreamer's Discoverer (container, every
//! stream: picture size, orientation, bit depth, chroma subsampling, scan and field order;
//! every audio stream with its channels and layout; whether this machine's GStreamer can
//! decode each one; duration), then one pass over the file that demuxes the picture (never
//! decoding it) to read its length as the engine airs it and, when it has sound, decodes it
//! through an appsink to measure integrated loudness and true peak (EBU R128 / BS.1770 via
//! `ebur128`).
//! Every step is time-boxed; a file that is missing, empty, not media, truncated or
//! unreadable yields a report with `error` set, never a panic or a hang. Judging the report
//! against an edition is `qc`'s job, not this module's.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_pbutils as pbutils;
use gstreamer_pbutils::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Limits of one probe.
#[derive(Debug, Clone, Copy)]
pub struct ProbeOptions {
    /// Time box of the Discoverer pass.
    pub discover_timeout: Duration,
    /// Time box of the loudness pass: this base plus 1/20 of the media duration.
    pub loudness_timeout_base: Duration,
    /// Whether to measure loudness at all.
    pub loudness: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            discover_timeout: Duration::from_secs(20),
            loudness_timeout_base: Duration::from_secs(60),
            loudness: true,
        }
    }
}

/// The video stream of a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VideoStream {
    /// Codec description, e.g. "H.264 (High Profile)".
    pub codec: String,
    /// Coded width.
    pub width: u32,
    /// Coded height.
    pub height: u32,
    /// Clockwise rotation from the file's orientation tag, degrees (0, 90, 180, 270).
    pub rotation: u32,
    /// Width as displayed (after rotation).
    pub display_width: u32,
    /// Height as displayed (after rotation).
    pub display_height: u32,
    /// Frame rate numerator / denominator.
    pub frame_rate: (i32, i32),
    /// Bit rate the stream declares, if any.
    pub bit_rate_bps: Option<u64>,
    /// Bits per sample of the luma (8, 10, 12), when the stream says.
    #[serde(default)]
    pub bit_depth: Option<u32>,
    /// Chroma subsampling (`4:2:0`, `4:2:2`, `4:4:4`), when the stream says.
    #[serde(default)]
    pub chroma: Option<String>,
    /// Scan: `progressive`, `interlaced` or `mixed`.
    #[serde(default)]
    pub scan: Option<String>,
    /// Field order of an interlaced stream (`tff`, `bff`), when the stream says.
    #[serde(default)]
    pub field_order: Option<String>,
    /// The orientation tag mirrors the picture (`flip-rotate-*`).
    #[serde(default)]
    pub mirrored: bool,
    /// GStreamer on this machine has a decoder for it.
    #[serde(default = "yes")]
    pub decodable: bool,
}

fn yes() -> bool {
    true
}

/// One audio stream of a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AudioStream {
    /// Codec description.
    pub codec: String,
    /// Channels.
    pub channels: u32,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Channel layout: `mono`, `stereo`, `5.1`, `7.1` … from the channel positions; `N ch`
    /// when the stream gives none (read by channel count, as the engine then does).
    #[serde(default)]
    pub layout: Option<String>,
    /// Bits per sample (PCM), when the stream says.
    #[serde(default)]
    pub bit_depth: Option<u32>,
    /// Language tag, when the file has one.
    #[serde(default)]
    pub language: Option<String>,
    /// GStreamer on this machine has a decoder for it.
    #[serde(default = "yes")]
    pub decodable: bool,
}

/// Loudness of the decoded programme audio.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Loudness {
    /// Integrated loudness, LUFS; None for silence.
    pub integrated_lufs: Option<f64>,
    /// Highest true peak over the channels, dBTP; None for silence.
    pub true_peak_dbtp: Option<f64>,
    /// How much audio was decoded, ms.
    pub decoded_ms: i64,
}

/// Everything the probe learned about one file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ProbeReport {
    /// Path or URI probed.
    pub location: String,
    /// File size, bytes (local files).
    pub size_bytes: Option<u64>,
    /// Container: mp4, mov, avi, wmv, mkv, ts, flv, or the raw media type.
    pub container: Option<String>,
    /// Duration, ms, as the container says (its longest stream, edit lists included).
    pub duration_ms: Option<i64>,
    /// The picture's length, ms: from the demuxer's segment start to the end of the last
    /// picture, read from the demuxed (not decoded) stream with the container's edit list
    /// applied — what the engine airs (`playout::source::file` drops the segment's stop and
    /// ends the item with its last picture). `None` when there is no picture or it was not
    /// read; see [`ProbeReport::airtime_ms`].
    #[serde(default)]
    pub picture_ms: Option<i64>,
    /// The (first) video stream.
    pub video: Option<VideoStream>,
    /// The first audio stream (the one measured).
    pub audio: Option<AudioStream>,
    /// Every audio stream, in file order (the first is `audio`).
    #[serde(default)]
    pub audio_streams: Vec<AudioStream>,
    /// Video streams beyond the first (a second angle, a cover picture track), counted.
    #[serde(default)]
    pub extra_video_streams: u32,
    /// Overall bit rate = size × 8 / duration.
    pub bit_rate_bps: Option<u64>,
    /// Loudness, when measured.
    pub loudness: Option<Loudness>,
    /// Why the loudness pass failed (decode error, time-out).
    pub decode_error: Option<String>,
    /// Why the file could not be probed at all (Chinese).
    pub error: Option<String>,
    /// Time spent, ms.
    pub elapsed_ms: i64,
}

impl ProbeReport {
    /// How long the file airs, ms: its picture's length when it has a picture that was read
    /// ([`ProbeReport::picture_ms`]), else the container's duration. Audio longer than the
    /// picture is cut at the last picture, shorter audio is padded with silence, so this is
    /// the length the air plan schedules (issue 13).
    pub fn airtime_ms(&self) -> Option<i64> {
        self.picture_ms.or(self.duration_ms)
    }

    /// Every stream in words, for the work view: `视频 H.264 1920×1080 25 fps 8 bit 4:2:0
    /// 逐行；音轨 1 AAC 2 声道 stereo 48 kHz`, with rotation, mirroring, field order and
    /// what cannot be decoded here. `None` when the file had no stream.
    pub fn streams_summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(v) = &self.video {
            let mut p = format!("视频 {} {}×{}", v.codec, v.width, v.height);
            let (n, d) = v.frame_rate;
            if n > 0 && d > 0 {
                if n % d == 0 {
                    p.push_str(&format!(" {} fps", n / d));
                } else {
                    p.push_str(&format!(" {:.3} fps", f64::from(n) / f64::from(d)));
                }
            }
            if let Some(b) = v.bit_depth {
                p.push_str(&format!(" {b} bit"));
            }
            if let Some(c) = &v.chroma {
                p.push_str(&format!(" {c}"));
            }
            match (v.scan.as_deref(), v.field_order.as_deref()) {
                (Some("progressive"), _) => p.push_str(" 逐行"),
                (Some(_), Some("tff")) => p.push_str(" 隔行（顶场优先）"),
                (Some(_), Some("bff")) => p.push_str(" 隔行（底场优先）"),
                (Some(_), _) => p.push_str(" 隔行"),
                (None, _) => {}
            }
            if v.rotation != 0 {
                p.push_str(&format!(" 旋转 {}°", v.rotation));
            }
            if v.mirrored {
                p.push_str(" 镜像");
            }
            if !v.decodable {
                p.push_str("（本机无法解码）");
            }
            parts.push(p);
        }
        if self.extra_video_streams > 0 {
            parts.push(format!(
                "另有 {} 路视频（不播出）",
                self.extra_video_streams
            ));
        }
        for (i, a) in self.audio_streams.iter().enumerate() {
            let mut p = format!("音轨 {} {} {} 声道", i + 1, a.codec, a.channels);
            match a.layout.as_deref() {
                Some(l) if l.ends_with(" ch") => p.push_str("（未标明布局）"),
                Some(l) => p.push_str(&format!(" {l}")),
                None => {}
            }
            if a.sample_rate > 0 {
                p.push_str(&format!(" {} kHz", f64::from(a.sample_rate) / 1000.0));
            }
            if let Some(b) = a.bit_depth {
                p.push_str(&format!(" {b} bit"));
            }
            if let Some(l) = &a.language {
                p.push_str(&format!(" [{l}]"));
            }
            if !a.decodable {
                p.push_str("（本机无法解码）");
            }
            parts.push(p);
        }
        (!parts.is_empty()).then(|| parts.join("；"))
    }
}

fn init() -> Result<(), String> {
    gst::init().map_err(|e| format!("GStreamer 初始化失败：{e}"))
}

fn uri_of(location: &str) -> Result<(String, Option<PathBuf>), String> {
    if location.contains("://") {
        return Ok((location.to_string(), None));
    }
    let path = std::path::absolute(Path::new(location)).map_err(|e| format!("路径无效：{e}"))?;
    let uri = gst::glib::filename_to_uri(&path, None).map_err(|e| format!("路径无效：{e}"))?;
    Ok((uri.to_string(), Some(path)))
}

/// Maps the top-level caps to a container name.
fn container_name(caps: &gst::CapsRef, path: Option<&Path>) -> String {
    let Some(s) = caps.structure(0) else {
        return "unknown".into();
    };
    let ext = path
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match s.name().as_str() {
        "video/quicktime" => match s.get::<&str>("variant").ok() {
            Some("apple") => "mov".into(),
            Some(_) => "mp4".into(),
            None if ext == "mov" => "mov".into(),
            None => "mp4".into(),
        },
        "video/x-msvideo" => "avi".into(),
        "video/x-ms-asf" => "wmv".into(),
        "video/x-matroska" | "video/webm" => "mkv".into(),
        "video/mpegts" => "ts".into(),
        "video/x-flv" => "flv".into(),
        other => other.to_string(),
    }
}

/// Clockwise rotation (0, 90, 180, 270) and mirroring from an image-orientation tag.
fn orientation_of(tags: Option<gst::TagList>) -> Option<(u32, bool)> {
    let tags = tags?;
    let v = tags.get::<gst::tags::ImageOrientation>()?;
    Some(match v.get() {
        "rotate-90" => (90, false),
        "rotate-180" => (180, false),
        "rotate-270" => (270, false),
        "flip-rotate-0" => (0, true),
        "flip-rotate-90" => (90, true),
        "flip-rotate-180" => (180, true),
        "flip-rotate-270" => (270, true),
        _ => (0, false),
    })
}

/// Whether this machine's GStreamer can decode a stream of these caps (raw streams need no
/// decoder; otherwise a decoder of at least marginal rank, as `decodebin` picks them).
pub fn decodable(caps: &gst::CapsRef) -> bool {
    let Some(s) = caps.structure(0) else {
        return false;
    };
    if matches!(s.name().as_str(), "video/x-raw" | "audio/x-raw") {
        return true;
    }
    let decoders = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER,
        gst::Rank::MARGINAL,
    );
    decoders.iter().any(|f| f.can_sink_any_caps(caps))
}

/// A channel layout's name from its GStreamer channel mask (`mono`, `stereo`, `5.1` …: main
/// channels and low-frequency channels), or `N ch` when the stream gives no positions.
pub fn layout_name(channels: u32, mask: u64) -> String {
    const FRONT_LEFT: u64 = 1 << 0;
    const FRONT_RIGHT: u64 = 1 << 1;
    const FRONT_CENTER: u64 = 1 << 2;
    const LFE: u64 = (1 << 3) | (1 << 9);
    match (channels, mask) {
        (1, 0) | (1, FRONT_CENTER) => "mono".into(),
        (2, m) if m == FRONT_LEFT | FRONT_RIGHT => "stereo".into(),
        (n, 0) => format!("{n} ch"),
        (n, m) => {
            let lfe = (m & LFE).count_ones();
            format!("{}.{lfe}", n.saturating_sub(lfe))
        }
    }
}

/// Bit depth and chroma subsampling from a video stream's caps: parsed H.264/H.265 carry
/// `bit-depth-luma` and `chroma-format`; raw video its pixel format (the usual ones).
fn depth_and_chroma(s: &gst::StructureRef) -> (Option<u32>, Option<String>) {
    if s.name() == "video/x-raw" {
        let f = s.get::<&str>("format").unwrap_or_default();
        let depth = if f.contains("_12") {
            12
        } else if f.contains("_10") || f == "v210" {
            10
        } else {
            8
        };
        let chroma = match f.split('_').next().unwrap_or_default() {
            "I420" | "YV12" | "NV12" | "NV21" | "P010" | "P012" | "P016" => "4:2:0",
            "Y42B" | "I422" | "UYVY" | "YUY2" | "YVYU" | "NV16" | "v210" | "P210" => "4:2:2",
            "Y444" | "AYUV" | "VUYA" | "Y410" | "RGB" | "BGR" | "RGBA" | "BGRA" | "ARGB"
            | "ABGR" | "RGBx" | "BGRx" | "xRGB" | "xBGR" | "GBR" => "4:4:4",
            "Y41B" => "4:1:1",
            "GRAY8" | "GRAY16" => "4:0:0",
            _ => return (Some(depth), None),
        };
        return (Some(depth), Some(chroma.to_string()));
    }
    let depth = s.get::<u32>("bit-depth-luma").ok();
    let chroma = s.get::<&str>("chroma-format").ok().map(str::to_string);
    (depth, chroma)
}

/// Probes one file synchronously (call from a blocking thread). Never panics on bad input.
pub fn probe_blocking(location: &str, opts: &ProbeOptions) -> ProbeReport {
    let started = Instant::now();
    let mut r = ProbeReport {
        location: location.to_string(),
        ..Default::default()
    };
    if let Err(e) = discover(location, opts, &mut r) {
        r.error = Some(e);
        r.elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        return r;
    }
    // The field order of an interlaced picture, and the bit depth and chroma of a codec
    // whose stream header does not carry them (MPEG-2, ProRes …), are in the decoded frames.
    if let Some(v) = r.video.as_mut()
        && v.decodable
        && ((v.scan.as_deref() != Some("progressive") && v.field_order.is_none())
            || v.bit_depth.is_none()
            || v.chroma.is_none())
    {
        match decode_picture(location, opts.discover_timeout) {
            Ok(d) => {
                if v.scan.as_deref() != Some("progressive") {
                    v.scan = Some(d.scan.to_string());
                    v.field_order = d.field_order.map(str::to_string);
                }
                v.bit_depth = v.bit_depth.or(d.bit_depth);
                v.chroma = v.chroma.take().or(d.chroma);
            }
            Err(e) => tracing::debug!(location, "decoded picture not read: {e}"),
        }
    }
    let media_ms = u64::try_from(r.duration_ms.unwrap_or(0)).unwrap_or(0);
    let limit = opts.loudness_timeout_base + Duration::from_millis(media_ms / 20);
    if opts.loudness && r.audio.is_some() {
        // One pass reads the sound's loudness and the picture's length together.
        match demux_pass(location, limit, true) {
            Ok(p) => {
                r.loudness = p.loudness;
                r.picture_ms = p.picture_ms;
            }
            Err(e) => r.decode_error = Some(e),
        }
    }
    if r.picture_ms.is_none() && r.video.is_some() {
        match demux_pass(location, limit, false) {
            Ok(p) => r.picture_ms = p.picture_ms,
            Err(e) => tracing::debug!(location, "picture length not read: {e}"),
        }
    }
    // A container that does not say its duration (a short MPEG-TS): the bit rate over the
    // picture's length.
    if r.bit_rate_bps.is_none()
        && let (Some(size), Some(ms)) = (r.size_bytes, r.picture_ms.filter(|d| *d > 0))
    {
        r.bit_rate_bps = u64::try_from(ms).ok().map(|ms| size * 8 * 1000 / ms);
    }
    r.elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    r
}

fn discover(location: &str, opts: &ProbeOptions, r: &mut ProbeReport) -> Result<(), String> {
    let (uri, path) = uri_of(location)?;
    if let Some(p) = &path {
        let meta = std::fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "文件不存在".to_string(),
            _ => format!("无法读取文件：{e}"),
        })?;
        if !meta.is_file() {
            return Err("不是普通文件".into());
        }
        r.size_bytes = Some(meta.len());
        if meta.len() == 0 {
            return Err("文件为空（0 字节）".into());
        }
    }
    init()?;
    let timeout = gst::ClockTime::from_nseconds(
        u64::try_from(opts.discover_timeout.as_nanos()).unwrap_or(u64::MAX),
    );
    let disc = pbutils::Discoverer::new(timeout).map_err(|e| format!("无法创建探测器：{e}"))?;
    let info = disc
        .discover_uri(&uri)
        .map_err(|e| format!("无法识别为音视频文件（{e}）"))?;
    match info.result() {
        pbutils::DiscovererResult::Ok => {}
        // A stream without a decoder here: its streams are still listed, each judged
        // decodable or not below.
        pbutils::DiscovererResult::MissingPlugins if !info.stream_list().is_empty() => {}
        pbutils::DiscovererResult::Timeout => return Err("探测超时".into()),
        pbutils::DiscovererResult::MissingPlugins => {
            return Err("缺少解码插件，无法识别此格式".into());
        }
        other => return Err(format!("无法识别为音视频文件（{other:?}）")),
    }
    if let Some(caps) = info.stream_info().and_then(|s| s.caps()) {
        r.container = Some(container_name(&caps, path.as_deref()));
    }
    r.duration_ms = info
        .duration()
        .map(|d| i64::try_from(d.mseconds()).unwrap_or(i64::MAX));
    let videos: Vec<_> = info
        .video_streams()
        .into_iter()
        .filter(|v| !v.is_image())
        .collect();
    r.extra_video_streams = u32::try_from(videos.len().saturating_sub(1)).unwrap_or(u32::MAX);
    if let Some(v) = videos.first() {
        let caps = v.caps();
        let codec = caps
            .as_ref()
            .map(|c| pbutils::pb_utils_get_codec_description(c).to_string())
            .unwrap_or_default();
        // The orientation tag may sit on the stream or on the whole file.
        let (rotation, mirrored) = orientation_of(v.tags())
            .or_else(|| orientation_of(info.stream_info().and_then(|s| s.tags())))
            .unwrap_or((0, false));
        let (w, h) = (v.width(), v.height());
        let (dw, dh) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
        let fr = v.framerate();
        let st = caps.as_ref().and_then(|c| c.structure(0));
        let (bit_depth, chroma) = st.map(depth_and_chroma).unwrap_or((None, None));
        let mode = st.and_then(|s| s.get::<&str>("interlace-mode").ok());
        let scan = match mode {
            Some("mixed") => "mixed",
            Some("progressive") | None if !v.is_interlaced() => "progressive",
            _ => "interlaced",
        };
        let field_order = st
            .and_then(|s| s.get::<&str>("field-order").ok())
            .and_then(|f| match f {
                "top-field-first" => Some("tff".to_string()),
                "bottom-field-first" => Some("bff".to_string()),
                _ => None,
            })
            .filter(|_| scan != "progressive");
        r.video = Some(VideoStream {
            codec,
            width: w,
            height: h,
            rotation,
            display_width: dw,
            display_height: dh,
            frame_rate: (fr.numer(), fr.denom()),
            bit_rate_bps: Some(u64::from(v.bitrate())).filter(|b| *b > 0),
            bit_depth,
            chroma,
            scan: Some(scan.to_string()),
            field_order,
            mirrored,
            decodable: caps.as_ref().is_some_and(|c| decodable(c)),
        });
    }
    for a in info.audio_streams() {
        let caps = a.caps();
        let codec = caps
            .as_ref()
            .map(|c| pbutils::pb_utils_get_codec_description(c).to_string())
            .unwrap_or_default();
        let st = caps.as_ref().and_then(|c| c.structure(0));
        // Bits per sample mean something for PCM only (a decoder's output depth is not the
        // file's).
        let bit_depth = st
            .filter(|s| s.name() == "audio/x-raw")
            .and_then(|s| s.get::<&str>("format").ok())
            .map(gstreamer_audio::AudioFormat::from_string)
            .map(|f| gstreamer_audio::AudioFormatInfo::from_format(f).depth())
            .filter(|d| *d > 0);
        let mask = st
            .and_then(|s| s.get::<gst::Bitmask>("channel-mask").ok())
            .map(|m| m.0)
            .unwrap_or_else(|| a.channel_mask());
        r.audio_streams.push(AudioStream {
            codec,
            channels: a.channels(),
            sample_rate: a.sample_rate(),
            layout: Some(layout_name(a.channels(), mask)),
            bit_depth,
            language: a
                .language()
                .map(|l| l.to_string())
                .filter(|l| !l.is_empty() && l != "und"),
            decodable: caps.as_ref().is_some_and(|c| decodable(c)),
        });
    }
    r.audio = r.audio_streams.first().cloned();
    if let (Some(size), Some(ms)) = (r.size_bytes, r.duration_ms.filter(|d| *d > 0)) {
        r.bit_rate_bps = u64::try_from(ms).ok().map(|ms| size * 8 * 1000 / ms);
    }
    if r.video.is_none() && r.audio.is_none() {
        return Err("没有可识别的音视频流".into());
    }
    Ok(())
}

/// Frames decoded to read the scan and field order.
const SCAN_FRAMES: usize = 12;

/// What the first decoded frames of a picture say.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedPicture {
    /// `progressive`, `interlaced` or `mixed`.
    pub scan: &'static str,
    /// `tff` or `bff` for an interlaced picture.
    pub field_order: Option<&'static str>,
    /// Bits per luma sample of the decoded frames.
    pub bit_depth: Option<u32>,
    /// Chroma subsampling of the decoded frames (`4:2:0` …).
    pub chroma: Option<String>,
}

/// Reads the first decoded frames of the picture: scan (`progressive`, `interlaced`, `mixed`)
/// and field order (`tff`, `bff`) from the decoder's caps (`interlace-mode`, `field-order`)
/// or, for a stream whose frames say it themselves (MPEG-2 `mixed`), the frames' interlaced
/// and top-field-first flags (the majority of the interlaced frames); bit depth and chroma
/// from the decoded format. Time-boxed by `limit`.
pub fn decode_picture(location: &str, limit: Duration) -> Result<DecodedPicture, String> {
    use gstreamer_video::prelude::*;
    init()?;
    let (uri, _) = uri_of(location)?;
    let started = Instant::now();
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("uridecodebin")
        .property("uri", &uri)
        .build()
        .map_err(|e| format!("缺少 GStreamer 元件 uridecodebin：{e}"))?;
    let sink = gst_app::AppSink::builder()
        .sync(false)
        .max_buffers(SCAN_FRAMES as u32)
        .build();
    pipeline
        .add_many([&src, sink.upcast_ref()])
        .map_err(|e| format!("无法组建解码管线：{e}"))?;
    let sink_weak = sink.downgrade();
    let pipe_weak = pipeline.downgrade();
    src.connect_pad_added(move |_, pad| {
        let (Some(sink), Some(pipe)) = (sink_weak.upgrade(), pipe_weak.upgrade()) else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let video = caps.structure(0).is_some_and(|s| s.name() == "video/x-raw");
        if video && let Some(sp) = sink.static_pad("sink").filter(|p| !p.is_linked()) {
            let _ = pad.link(&sp);
            return;
        }
        if let Ok(fake) = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
            && pipe.add(&fake).is_ok()
        {
            let _ = fake.sync_state_with_parent();
            if let Some(sp) = fake.static_pad("sink") {
                let _ = pad.link(&sp);
            }
        }
    });
    let result = (|| {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| "无法开始解码".to_string())?;
        let mut mode: Option<String> = None;
        let mut format: Option<(u32, Option<String>)> = None;
        let mut order: Option<String> = None;
        let (mut interlaced, mut tff, mut seen) = (0usize, 0usize, 0usize);
        while seen < SCAN_FRAMES {
            let left = limit
                .checked_sub(started.elapsed())
                .ok_or_else(|| "解码超时".to_string())?;
            let wait =
                gst::ClockTime::from_mseconds(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
            let Some(sample) = sink.try_pull_sample(wait) else {
                break;
            };
            seen += 1;
            if let Some(st) = sample.caps().and_then(|c| c.structure(0)) {
                mode = st.get::<&str>("interlace-mode").ok().map(str::to_string);
                order = st.get::<&str>("field-order").ok().map(str::to_string);
            }
            // The frame's flags (from the caps, or the buffer for a mixed stream).
            let info = sample
                .caps()
                .and_then(|c| gstreamer_video::VideoInfo::from_caps(c).ok());
            if let Some(i) = &info {
                let f = i.format_info();
                let chroma = match (f.w_sub().get(1), f.h_sub().get(1)) {
                    _ if f.is_gray() => Some("4:0:0"),
                    _ if !f.is_yuv() => Some("4:4:4"),
                    (Some(1), Some(1)) => Some("4:2:0"),
                    (Some(1), Some(0)) => Some("4:2:2"),
                    (Some(0), Some(0)) => Some("4:4:4"),
                    (Some(2), Some(0)) => Some("4:1:1"),
                    _ => None,
                };
                format = Some((
                    f.depth().first().copied().unwrap_or(8),
                    chroma.map(str::to_string),
                ));
            }
            if let (Some(b), Some(info)) = (sample.buffer(), info)
                && let Ok(frame) =
                    gstreamer_video::VideoFrameRef::from_buffer_ref_readable(b, &info)
                && frame.is_interlaced()
            {
                interlaced += 1;
                if frame.is_tff() {
                    tff += 1;
                }
            }
        }
        if seen == 0 {
            return Err("没有解码出画面".to_string());
        }
        let scan = match mode.as_deref() {
            Some("mixed") => "mixed",
            Some("progressive") | None if interlaced == 0 => "progressive",
            _ => "interlaced",
        };
        let field = match order.as_deref() {
            Some("top-field-first") => Some("tff"),
            Some("bottom-field-first") => Some("bff"),
            _ if interlaced > 0 && tff * 2 > interlaced => Some("tff"),
            _ if interlaced > 0 => Some("bff"),
            _ => None,
        };
        Ok(DecodedPicture {
            scan,
            field_order: field.filter(|_| scan != "progressive"),
            bit_depth: format.as_ref().map(|f| f.0),
            chroma: format.and_then(|f| f.1),
        })
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Element factories that are containers: decoding continues through them.
fn is_container(caps: &gst::CapsRef) -> bool {
    caps.structure(0).is_some_and(|s| {
        matches!(
            s.name().as_str(),
            "video/quicktime"
                | "video/x-msvideo"
                | "video/x-ms-asf"
                | "video/x-matroska"
                | "video/webm"
                | "video/mpegts"
                | "video/x-flv"
                | "application/x-id3"
                | "application/x-apetag"
        ) || s.get::<bool>("systemstream").unwrap_or(false)
    })
}

struct Meter {
    ebu: Option<ebur128::EbuR128>,
    frames: u64,
    rate: u32,
    error: Option<String>,
}

/// Decodes the first audio stream and measures it. Video is demuxed but not decoded.
pub fn measure_loudness(location: &str, limit: Duration) -> Result<Loudness, String> {
    demux_pass(location, limit, true)?
        .loudness
        .ok_or_else(|| "没有解码出音频".to_string())
}

/// What one pass over a file read.
struct Pass {
    /// The first audio stream's loudness (when asked for).
    loudness: Option<Loudness>,
    /// The first picture's length, ms ([`ProbeReport::picture_ms`]).
    picture_ms: Option<i64>,
}

/// Where the demuxed picture ends, in running time (the demuxer's segment applied: an edit
/// list's start and stop, a stream's offset).
#[derive(Debug, Default)]
struct PictureSpan {
    /// Largest running time of a picture's end (pts + duration, clipped to the segment).
    end_ns: Option<u64>,
    /// Largest running time of a picture's start whose duration is not known.
    last_start_ns: Option<u64>,
    /// The frame's duration from the caps' frame rate, or the smallest step between
    /// pictures seen, for pictures that carry no duration (MPEG-TS).
    step_ns: Option<u64>,
    prev_pts: Option<u64>,
}

impl PictureSpan {
    fn add(&mut self, seg: &gst::FormattedSegment<gst::ClockTime>, pts: u64, dur: Option<u64>) {
        if let Some(prev) = self.prev_pts
            && prev != pts
        {
            let step = prev.abs_diff(pts);
            self.step_ns = Some(self.step_ns.map_or(step, |s| s.min(step)));
        }
        self.prev_pts = Some(pts);
        let clip = |t: u64| {
            let t = gst::ClockTime::from_nseconds(t);
            let t = seg.stop().map_or(t, |stop| t.min(stop));
            seg.to_running_time(t).map(gst::ClockTime::nseconds)
        };
        match dur {
            Some(d) => {
                if let Some(end) = clip(pts.saturating_add(d)) {
                    self.end_ns = self.end_ns.max(Some(end));
                }
            }
            None => {
                if let Some(start) = clip(pts) {
                    self.last_start_ns = self.last_start_ns.max(Some(start));
                }
            }
        }
    }

    /// The picture's length, ms; `None` when no picture was seen.
    fn length_ms(&self) -> Option<i64> {
        let open_end = self
            .last_start_ns
            .map(|s| s.saturating_add(self.step_ns.unwrap_or(0)));
        let end = self.end_ns.max(open_end)?;
        i64::try_from(end / 1_000_000).ok().filter(|ms| *ms > 0)
    }
}

/// Counts the pictures of a demuxed video pad into `span`.
fn watch_picture(pad: &gst::Pad, span: Arc<Mutex<PictureSpan>>) {
    let frame_ns = |caps: Option<gst::Caps>| {
        let f = caps?.structure(0)?.get::<gst::Fraction>("framerate").ok()?;
        (f.numer() > 0 && f.denom() > 0).then(|| {
            u64::try_from(1_000_000_000i64 * i64::from(f.denom()) / i64::from(f.numer()))
                .unwrap_or(0)
        })
    };
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if let Some(buf) = info.buffer()
            && let Some(pts) = buf.pts()
            && let Some(seg) = pad.sticky_event::<gst::event::Segment>(0)
            && let Some(seg) = seg.segment().downcast_ref::<gst::ClockTime>()
            && let Ok(mut s) = span.lock()
        {
            let dur = buf
                .duration()
                .map(gst::ClockTime::nseconds)
                .or_else(|| frame_ns(pad.current_caps()));
            s.add(seg, pts.nseconds(), dur);
        }
        gst::PadProbeReturn::Ok
    });
}

/// One pass over a file: the picture demuxed (not decoded) and its length read; with
/// `loudness`, the first audio stream decoded and measured. Time-boxed by `limit`.
fn demux_pass(location: &str, limit: Duration, loudness: bool) -> Result<Pass, String> {
    init()?;
    let (uri, path) = uri_of(location)?;
    let started = Instant::now();
    let make = |f: &str| {
        gst::ElementFactory::make(f)
            .build()
            .map_err(|e| format!("缺少 GStreamer 元件 {f}：{e}"))
    };
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("uridecodebin")
        .property("uri", &uri)
        .build()
        .map_err(|e| format!("缺少 GStreamer 元件 uridecodebin：{e}"))?;
    // Read the file as the engine plays it: an MP4 whose edit list shifts a track gets its
    // last packets (playout's qtdemux movie-duration fix).
    if let Some(p) = &path {
        playout::source::conform::install_movie_duration_fix(&src, p);
    }
    let conv = make("audioconvert")?;
    let caps = gstreamer_audio::AudioCapsBuilder::new_interleaved()
        .format(gstreamer_audio::AUDIO_FORMAT_F32)
        .build();
    let sink = gst_app::AppSink::builder().caps(&caps).sync(false).build();
    pipeline
        .add(&src)
        .map_err(|e| format!("无法组建解码管线：{e}"))?;
    if loudness {
        pipeline
            .add_many([&conv, sink.upcast_ref()])
            .map_err(|e| format!("无法组建解码管线：{e}"))?;
        conv.link(&sink)
            .map_err(|e| format!("无法组建解码管线：{e}"))?;
    }

    // Stop decodebin at elementary video (and, without `loudness`, audio) so that only
    // what is measured is decoded.
    src.connect("autoplug-continue", false, move |args| {
        let go = args
            .get(2)
            .and_then(|v| v.get::<gst::Caps>().ok())
            .is_none_or(|c| {
                let name = c
                    .structure(0)
                    .map(|s| s.name().to_string())
                    .unwrap_or_default();
                let elementary = name.starts_with("video/")
                    || name.starts_with("image/")
                    || (!loudness && name.starts_with("audio/"));
                !elementary || is_container(&c)
            });
        Some(go.to_value())
    });
    let span = Arc::new(Mutex::new(PictureSpan::default()));
    let picture_watched = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let conv_weak = conv.downgrade();
    let pipe_weak = pipeline.downgrade();
    let span2 = span.clone();
    src.connect_pad_added(move |_, pad| {
        let (Some(conv), Some(pipe)) = (conv_weak.upgrade(), pipe_weak.upgrade()) else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let name = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        // The first picture is the one the engine airs.
        if name.starts_with("video/")
            && !picture_watched.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            watch_picture(pad, span2.clone());
        }
        let is_audio = loudness && name.starts_with("audio/x-raw");
        let sinkpad = conv.static_pad("sink");
        if is_audio && let Some(sp) = sinkpad.filter(|p| !p.is_linked()) {
            let _ = pad.link(&sp);
            return;
        }
        // Anything else (encoded video, extra audio) is drained.
        if let Ok(fake) = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
            && pipe.add(&fake).is_ok()
        {
            let _ = fake.sync_state_with_parent();
            if let Some(sp) = fake.static_pad("sink") {
                let _ = pad.link(&sp);
            }
        }
    });

    let meter = Arc::new(Mutex::new(Meter {
        ebu: None,
        frames: 0,
        rate: 0,
        error: None,
    }));
    let m2 = meter.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let mut m = m2.lock().map_err(|_| gst::FlowError::Error)?;
                if m.ebu.is_none() {
                    let info = sample
                        .caps()
                        .and_then(|c| gstreamer_audio::AudioInfo::from_caps(c).ok())
                        .ok_or(gst::FlowError::NotNegotiated)?;
                    match ebur128::EbuR128::new(
                        info.channels(),
                        info.rate(),
                        ebur128::Mode::I | ebur128::Mode::TRUE_PEAK,
                    ) {
                        Ok(e) => {
                            m.ebu = Some(e);
                            m.rate = info.rate();
                        }
                        Err(e) => {
                            m.error = Some(format!("{e:?}"));
                            return Err(gst::FlowError::Error);
                        }
                    }
                }
                let buf = sample.buffer().ok_or(gst::FlowError::Error)?;
                let map = buf.map_readable().map_err(|_| gst::FlowError::Error)?;
                let samples: Vec<f32> = map
                    .as_slice()
                    .chunks_exact(4)
                    .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let Meter { ebu, frames, .. } = &mut *m;
                if let Some(e) = ebu.as_mut() {
                    let ch = e.channels() as usize;
                    if e.add_frames_f32(&samples).is_err() {
                        return Err(gst::FlowError::Error);
                    }
                    *frames += (samples.len() / ch.max(1)) as u64;
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    let result = run_until_eos(&pipeline, started, limit);
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    let picture_ms = span.lock().ok().and_then(|s| s.length_ms());
    if !loudness {
        return Ok(Pass {
            loudness: None,
            picture_ms,
        });
    }
    let m = meter.lock().map_err(|_| "响度测量内部错误".to_string())?;
    if let Some(e) = &m.error {
        return Err(format!("响度测量失败：{e}"));
    }
    let Some(ebu) = &m.ebu else {
        return Err("没有解码出音频".into());
    };
    let finite = |v: f64| v.is_finite().then_some(v);
    let integrated_lufs = ebu.loudness_global().ok().and_then(finite);
    let peak = (0..ebu.channels())
        .filter_map(|c| ebu.true_peak(c).ok())
        .fold(0.0_f64, f64::max);
    let true_peak_dbtp = (peak > 0.0).then(|| 20.0 * peak.log10());
    let decoded_ms = i64::try_from(m.frames * 1000 / u64::from(m.rate.max(1))).unwrap_or(i64::MAX);
    Ok(Pass {
        loudness: Some(Loudness {
            integrated_lufs,
            true_peak_dbtp,
            decoded_ms,
        }),
        picture_ms,
    })
}

fn run_until_eos(
    pipeline: &gst::Pipeline,
    started: Instant,
    limit: Duration,
) -> Result<(), String> {
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| "无法开始解码（文件可能损坏）".to_string())?;
    let bus = pipeline.bus().ok_or("解码管线没有消息总线")?;
    loop {
        let left = limit
            .checked_sub(started.elapsed())
            .ok_or_else(|| format!("解码超时（超过 {} 秒），文件可能损坏", limit.as_secs()))?;
        let wait =
            gst::ClockTime::from_mseconds(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
        let Some(msg) =
            bus.timed_pop_filtered(wait, &[gst::MessageType::Eos, gst::MessageType::Error])
        else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(..) => return Ok(()),
            gst::MessageView::Error(e) => {
                let from = e
                    .src()
                    .map(|s| s.path_string().to_string())
                    .unwrap_or_default();
                return Err(format!("解码出错（{from}）：{}", e.error()));
            }
            _ => {}
        }
    }
}

/// Probes on a blocking thread with an outer time box as a second line of defence.
pub async fn probe(location: String, opts: ProbeOptions) -> ProbeReport {
    let outer =
        opts.discover_timeout * 2 + opts.loudness_timeout_base * 4 + Duration::from_secs(600);
    let loc = location.clone();
    match tokio::time::timeout(
        outer,
        tokio::task::spawn_blocking(move || probe_blocking(&loc, &opts)),
    )
    .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => ProbeReport {
            location,
            error: Some(format!("探测线程异常：{e}")),
            ..Default::default()
        },
        Err(_) => ProbeReport {
            location,
            error: Some("探测超时".into()),
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_named_from_the_channel_positions() {
        const FL: u64 = 1;
        const FR: u64 = 1 << 1;
        const FC: u64 = 1 << 2;
        const LFE: u64 = 1 << 3;
        const RL: u64 = 1 << 4;
        const RR: u64 = 1 << 5;
        const SL: u64 = 1 << 10;
        const SR: u64 = 1 << 11;
        assert_eq!(layout_name(1, 0), "mono");
        assert_eq!(layout_name(1, FC), "mono");
        assert_eq!(layout_name(2, FL | FR), "stereo");
        assert_eq!(layout_name(3, FL | FR | FC), "3.0");
        assert_eq!(layout_name(3, FL | FR | LFE), "2.1");
        assert_eq!(layout_name(6, FL | FR | FC | LFE | RL | RR), "5.1");
        assert_eq!(
            layout_name(8, FL | FR | FC | LFE | RL | RR | SL | SR),
            "7.1"
        );
        // No positions (PCM in MOV without a channel layout atom): read by count.
        assert_eq!(layout_name(2, 0), "2 ch");
        assert_eq!(layout_name(6, 0), "6 ch");
    }

    #[test]
    fn the_summary_names_every_stream_and_what_does_not_decode() {
        let a = |codec: &str, channels: u32, layout: &str, decodable: bool| AudioStream {
            codec: codec.into(),
            channels,
            sample_rate: 48_000,
            layout: Some(layout.into()),
            bit_depth: None,
            language: None,
            decodable,
        };
        let r = ProbeReport {
            video: Some(VideoStream {
                codec: "H.264".into(),
                width: 1920,
                height: 1080,
                rotation: 90,
                display_width: 1080,
                display_height: 1920,
                frame_rate: (30000, 1001),
                bit_rate_bps: None,
                bit_depth: Some(10),
                chroma: Some("4:2:2".into()),
                scan: Some("interlaced".into()),
                field_order: Some("bff".into()),
                mirrored: true,
                decodable: true,
            }),
            audio_streams: vec![a("PCM", 6, "6 ch", true), a("DTS", 2, "stereo", false)],
            extra_video_streams: 1,
            ..Default::default()
        };
        assert_eq!(
            r.streams_summary().as_deref(),
            Some(
                "视频 H.264 1920×1080 29.970 fps 10 bit 4:2:2 隔行（底场优先） 旋转 90° 镜像；\
                 另有 1 路视频（不播出）；音轨 1 PCM 6 声道（未标明布局） 48 kHz；\
                 音轨 2 DTS 2 声道 stereo 48 kHz（本机无法解码）"
            )
        );
        assert_eq!(ProbeReport::default().streams_summary(), None);
    }
}
