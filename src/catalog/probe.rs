//! What a media file is: probed in-process with GStreamer's Discoverer (container, streams,
//! picture size and orientation, duration) and, when it has sound, decoded once through an
//! appsink to measure integrated loudness and true peak (EBU R128 / BS.1770 via `ebur128`).
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
}

/// The first audio stream of a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AudioStream {
    /// Codec description.
    pub codec: String,
    /// Channels.
    pub channels: u32,
    /// Sample rate, Hz.
    pub sample_rate: u32,
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
    /// Duration, ms.
    pub duration_ms: Option<i64>,
    /// The (first) video stream.
    pub video: Option<VideoStream>,
    /// The first audio stream.
    pub audio: Option<AudioStream>,
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

fn rotation_of(tags: Option<gst::TagList>) -> u32 {
    let Some(tags) = tags else { return 0 };
    let Some(v) = tags.get::<gst::tags::ImageOrientation>() else {
        return 0;
    };
    match v.get() {
        "rotate-90" | "flip-rotate-90" => 90,
        "rotate-180" | "flip-rotate-180" => 180,
        "rotate-270" | "flip-rotate-270" => 270,
        _ => 0,
    }
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
    } else if opts.loudness && r.audio.is_some() {
        let media_ms = u64::try_from(r.duration_ms.unwrap_or(0)).unwrap_or(0);
        let limit = opts.loudness_timeout_base + Duration::from_millis(media_ms / 20);
        match measure_loudness(location, limit) {
            Ok(l) => r.loudness = Some(l),
            Err(e) => r.decode_error = Some(e),
        }
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
    if let Some(v) = info.video_streams().into_iter().find(|v| !v.is_image()) {
        let codec = v
            .caps()
            .map(|c| pbutils::pb_utils_get_codec_description(&c).to_string())
            .unwrap_or_default();
        // The orientation tag may sit on the stream or on the whole file.
        let rotation = match rotation_of(v.tags()) {
            0 => rotation_of(info.stream_info().and_then(|s| s.tags())),
            r => r,
        };
        let (w, h) = (v.width(), v.height());
        let (dw, dh) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
        let fr = v.framerate();
        r.video = Some(VideoStream {
            codec,
            width: w,
            height: h,
            rotation,
            display_width: dw,
            display_height: dh,
            frame_rate: (fr.numer(), fr.denom()),
            bit_rate_bps: Some(u64::from(v.bitrate())).filter(|b| *b > 0),
        });
    }
    if let Some(a) = info.audio_streams().into_iter().next() {
        let codec = a
            .caps()
            .map(|c| pbutils::pb_utils_get_codec_description(&c).to_string())
            .unwrap_or_default();
        r.audio = Some(AudioStream {
            codec,
            channels: a.channels(),
            sample_rate: a.sample_rate(),
        });
    }
    if let (Some(size), Some(ms)) = (r.size_bytes, r.duration_ms.filter(|d| *d > 0)) {
        r.bit_rate_bps = u64::try_from(ms).ok().map(|ms| size * 8 * 1000 / ms);
    }
    if r.video.is_none() && r.audio.is_none() {
        return Err("没有可识别的音视频流".into());
    }
    Ok(())
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
    init()?;
    let (uri, _) = uri_of(location)?;
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
    let conv = make("audioconvert")?;
    let caps = gstreamer_audio::AudioCapsBuilder::new_interleaved()
        .format(gstreamer_audio::AUDIO_FORMAT_F32)
        .build();
    let sink = gst_app::AppSink::builder().caps(&caps).sync(false).build();
    pipeline
        .add_many([&src, &conv, sink.upcast_ref()])
        .map_err(|e| format!("无法组建解码管线：{e}"))?;
    conv.link(&sink)
        .map_err(|e| format!("无法组建解码管线：{e}"))?;

    // Stop decodebin at elementary video so that only audio is decoded.
    src.connect("autoplug-continue", false, |args| {
        let go = args
            .get(2)
            .and_then(|v| v.get::<gst::Caps>().ok())
            .is_none_or(|c| {
                let name = c
                    .structure(0)
                    .map(|s| s.name().to_string())
                    .unwrap_or_default();
                !(name.starts_with("video/") || name.starts_with("image/")) || is_container(&c)
            });
        Some(go.to_value())
    });
    let conv_weak = conv.downgrade();
    let pipe_weak = pipeline.downgrade();
    src.connect_pad_added(move |_, pad| {
        let (Some(conv), Some(pipe)) = (conv_weak.upgrade(), pipe_weak.upgrade()) else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_audio = caps
            .structure(0)
            .is_some_and(|s| s.name().starts_with("audio/x-raw"));
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
    Ok(Loudness {
        integrated_lufs,
        true_peak_dbtp,
        decoded_ms,
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
