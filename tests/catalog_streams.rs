//! The catalog records every stream of a file and judges what will air (issue 13): files made
//! here with ffmpeg (5.1 PCM in MOV, two audio tracks in MKV, 10-bit 4:2:2, interlaced
//! top-field-first, rotated, a video and an audio codec GStreamer here has no decoder for), probed by
//! the real GStreamer Discoverer, judged under the shipped 2026 edition, and stored: the
//! work view's file row carries every stream in words.

mod catalog_common;

use catalog_common::{edition, fresh};
use kepu_playout::catalog::model::Verdict;
use kepu_playout::catalog::probe::{ProbeOptions, ProbeReport, probe_blocking};
use kepu_playout::catalog::qc::judge;
use std::path::{Path, PathBuf};
use std::process::Command;

const PICTURE: &str = "testsrc2=s=640x360:r=25:d=1";
const SURROUND: &str = "aevalsrc='0.3*sin(2*PI*300*t)|0.3*sin(2*PI*400*t)|0.5*sin(2*PI*1000*t)|0.3*sin(2*PI*60*t)|0.3*sin(2*PI*700*t)|0.3*sin(2*PI*800*t)':c=5.1:s=48000:d=1";
const STEREO: &str = "sine=f=1000:r=48000:d=1,pan=stereo|c0=c0|c1=c0";
const MONO: &str = "sine=f=500:r=48000:d=1";

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-y", "-nostdin", "-v", "error"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn probe(p: &Path) -> ProbeReport {
    let opts = ProbeOptions {
        loudness: false,
        ..ProbeOptions::default()
    };
    let r = probe_blocking(s(p), &opts);
    assert!(r.error.is_none(), "{}: {r:#?}", p.display());
    r
}

/// The reasons of the verdict that concern how streams decode: the small test pictures also
/// fail the edition's resolution, bit-rate and sound rules, which are not what is judged here.
fn stream_reasons(r: &ProbeReport) -> (Verdict, Vec<String>) {
    let q = judge(r, &edition(2026).acceptance, None);
    let about: Vec<String> = q
        .reasons
        .iter()
        .filter(|x| x.contains("解码") || x.contains("音轨") || x.contains("音频编码"))
        .cloned()
        .collect();
    (q.verdict, about)
}

struct Files {
    _dir: tempfile::TempDir,
    s51_mov: PathBuf,
    two_tracks_mkv: PathBuf,
    ten_bit_422: PathBuf,
    interlaced: PathBuf,
    bff_mpeg2: PathBuf,
    rot180: PathBuf,
    unknown_video: PathBuf,
    unknown_audio: PathBuf,
}

fn make() -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().to_path_buf();
    let p = |n: &str| base.join(n);
    let f = Files {
        s51_mov: p("s51.mov"),
        two_tracks_mkv: p("two.mkv"),
        ten_bit_422: p("ten.mp4"),
        interlaced: p("tff.mp4"),
        bff_mpeg2: p("bff.ts"),
        rot180: p("rot180.mp4"),
        unknown_video: p("vc2.mkv"),
        unknown_audio: p("sonic.mkv"),
        _dir: dir,
    };
    let x264 = ["-c:v", "libx264", "-preset", "ultrafast"];
    // The recipe: 5.1 PCM in MOV (ProRes masters come like this).
    let mut a = vec!["-f", "lavfi", "-i", PICTURE, "-f", "lavfi", "-i", SURROUND];
    a.extend(x264);
    a.extend(["-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", s(&f.s51_mov)]);
    ffmpeg(&a);
    // Two audio tracks: stereo AAC, then a mono commentary.
    let mut a = vec![
        "-f", "lavfi", "-i", PICTURE, "-f", "lavfi", "-i", STEREO, "-f", "lavfi", "-i", MONO,
        "-map", "0:v", "-map", "1:a", "-map", "2:a",
    ];
    a.extend(x264);
    a.extend(["-pix_fmt", "yuv420p", "-c:a", "aac", s(&f.two_tracks_mkv)]);
    ffmpeg(&a);
    // 10-bit 4:2:2.
    let mut a = vec!["-f", "lavfi", "-i", PICTURE];
    a.extend(x264);
    a.extend(["-pix_fmt", "yuv422p10le", s(&f.ten_bit_422)]);
    ffmpeg(&a);
    // 576i, top field first.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=720x576:r=25:d=1",
        "-vf",
        "setfield=tff",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-flags",
        "+ildct+ilme",
        "-x264-params",
        "tff=1",
        s(&f.interlaced),
    ]);
    // 576i MPEG-2 in TS, bottom field first (tape-era masters).
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=720x576:r=25:d=1",
        "-vf",
        "setfield=bff",
        "-c:v",
        "mpeg2video",
        "-flags",
        "+ildct+ilme",
        "-top",
        "0",
        s(&f.bff_mpeg2),
    ]);
    // Stored upside down with a rotate=180 tag (the recipe, small).
    let plain = p("plain.mp4");
    let mut a = vec!["-f", "lavfi", "-i", PICTURE];
    a.extend(x264);
    a.extend(["-pix_fmt", "yuv420p", s(&plain)]);
    ffmpeg(&a);
    ffmpeg(&[
        "-i",
        s(&plain),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=180",
        s(&f.rot180),
    ]);
    // A picture in a codec no decoder here knows: VC-2 (SMPTE 2042, Dirac), with PCM sound;
    // and H.264 with sound in a codec none knows (Sonic).
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        PICTURE,
        "-f",
        "lavfi",
        "-i",
        STEREO,
        "-c:v",
        "vc2",
        "-c:a",
        "pcm_s16le",
        s(&f.unknown_video),
    ]);
    ffmpeg(&[
        "-i",
        s(&plain),
        "-f",
        "lavfi",
        "-i",
        "sine=f=1000:r=44100:d=1",
        "-c:v",
        "copy",
        "-c:a",
        "sonicls",
        "-strict",
        "-2",
        s(&f.unknown_audio),
    ]);
    f
}

#[tokio::test]
async fn every_stream_is_recorded_and_what_cannot_air_fails() {
    let f = tokio::task::spawn_blocking(make).await.expect("fixtures");

    // 5.1 PCM in MOV: six channels recorded, read as 5.1; conformed on air, not failed.
    let r = probe(&f.s51_mov);
    eprintln!("s51.mov: {}", r.streams_summary().unwrap_or_default());
    assert_eq!(r.audio_streams.len(), 1, "{r:#?}");
    let a = &r.audio_streams[0];
    assert_eq!(a.channels, 6, "{a:#?}");
    assert!(
        matches!(a.layout.as_deref(), Some("5.1" | "6 ch")),
        "{a:#?}"
    );
    assert_eq!(a.bit_depth, Some(16), "{a:#?}");
    assert!(a.decodable, "{a:#?}");
    let (_, about) = stream_reasons(&r);
    assert!(
        about.is_empty(),
        "multichannel PCM is not a fault: {about:?}"
    );

    // Two tracks: both recorded with their channels; the first is the one measured.
    let r = probe(&f.two_tracks_mkv);
    eprintln!("two.mkv: {}", r.streams_summary().unwrap_or_default());
    let chans: Vec<u32> = r.audio_streams.iter().map(|a| a.channels).collect();
    assert_eq!(chans, [2, 1], "{r:#?}");
    assert_eq!(r.audio.as_ref().map(|a| a.channels), Some(2));
    assert_eq!(
        r.audio_streams[0].layout.as_deref(),
        Some("stereo"),
        "{r:#?}"
    );
    assert_eq!(r.audio_streams[1].layout.as_deref(), Some("mono"), "{r:#?}");

    // Bit depth and chroma subsampling of the picture.
    let r = probe(&f.ten_bit_422);
    let v = r.video.as_ref().expect("video");
    eprintln!("ten.mp4: {}", r.streams_summary().unwrap_or_default());
    assert_eq!(
        (v.bit_depth, v.chroma.as_deref()),
        (Some(10), Some("4:2:2")),
        "{v:#?}"
    );
    assert_eq!(v.scan.as_deref(), Some("progressive"), "{v:#?}");
    let r = probe(&f.rot180);
    let v = r.video.as_ref().expect("video");
    assert_eq!(
        (v.bit_depth, v.chroma.as_deref()),
        (Some(8), Some("4:2:0")),
        "{v:#?}"
    );

    // Interlaced: recorded with its field order (read from the decoded frames when the
    // stream header does not say), not failed.
    let r = probe(&f.interlaced);
    let v = r.video.as_ref().expect("video");
    eprintln!("tff.mp4: {}", r.streams_summary().unwrap_or_default());
    assert_ne!(v.scan.as_deref(), Some("progressive"), "{v:#?}");
    assert_eq!(v.field_order.as_deref(), Some("tff"), "{v:#?}");
    assert!(stream_reasons(&r).1.is_empty(), "{:?}", stream_reasons(&r));
    let r = probe(&f.bff_mpeg2);
    let v = r.video.as_ref().expect("video");
    eprintln!("bff.ts: {}", r.streams_summary().unwrap_or_default());
    assert_ne!(v.scan.as_deref(), Some("progressive"), "{v:#?}");
    assert_eq!(v.field_order.as_deref(), Some("bff"), "{v:#?}");
    // MPEG-2 headers carry no bit depth or chroma: read from the decoded frames.
    assert_eq!(
        (v.bit_depth, v.chroma.as_deref()),
        (Some(8), Some("4:2:0")),
        "{v:#?}"
    );
    assert!(r.streams_summary().unwrap_or_default().contains("底场优先"));
    // A progressive file stays progressive (nothing decoded for it).
    let r = probe(&f.rot180);
    assert_eq!(
        r.video.as_ref().and_then(|v| v.scan.as_deref()),
        Some("progressive")
    );

    // Rotation recorded, the display size turned.
    let r = probe(&f.rot180);
    let v = r.video.as_ref().expect("video");
    assert_eq!(v.rotation, 180, "{v:#?}");
    assert!(!v.mirrored);
    assert!(
        r.streams_summary()
            .unwrap_or_default()
            .contains("旋转 180°")
    );

    // A picture nothing here decodes: a fail, saying so in plain Chinese.
    let r = probe(&f.unknown_video);
    eprintln!("vc2.mkv: {}", r.streams_summary().unwrap_or_default());
    let v = r.video.as_ref().expect("the stream is listed");
    assert!(!v.decodable, "{v:#?}");
    let (verdict, about) = stream_reasons(&r);
    assert_eq!(verdict, Verdict::Fail);
    assert!(
        about
            .iter()
            .any(|x| x.contains("本机无法解码") && x.starts_with("视频编码")),
        "{about:?}"
    );
    assert!(
        r.audio_streams.first().is_some_and(|a| a.decodable),
        "{r:#?}"
    );

    // Sound nothing here decodes: a fail too.
    let r = probe(&f.unknown_audio);
    eprintln!("sonic.mkv: {}", r.streams_summary().unwrap_or_default());
    assert!(r.video.as_ref().is_some_and(|v| v.decodable), "{r:#?}");
    assert!(
        r.audio_streams.first().is_some_and(|a| !a.decodable),
        "{r:#?}"
    );
    let (verdict, about) = stream_reasons(&r);
    assert_eq!(verdict, Verdict::Fail);
    assert!(
        about
            .iter()
            .any(|x| x.starts_with("音频编码") && x.contains("本机无法解码")),
        "{about:?}"
    );

    // Stored: the work view's file row carries every stream in words.
    let (_dir, cat) = fresh(2026).await;
    let csv = format!(
        "报送单位,作品名称,视频类别,时长,视频内容简介,报送视频状态,报送日期,视频文件\n\
         测试科技馆,环绕声母版,2,1秒,五点一声道,成品视频,2026-07-01,{}\n",
        s(&f.two_tracks_mkv)
    );
    let rep = cat
        .import_bytes("form.csv", csv.into_bytes(), "t")
        .await
        .expect("import");
    assert_eq!(rep.inserted, 1, "{rep:#?}");
    let work = cat.works(None).await.expect("works")[0].id;
    let file = cat.files_of(work).await.expect("files")[0].id;
    cat.probe_file(
        file,
        ProbeOptions {
            loudness: false,
            ..ProbeOptions::default()
        },
    )
    .await
    .expect("probe recorded");
    let row = &cat.files_of(work).await.expect("files")[0];
    let words = row.streams.as_deref().unwrap_or_default();
    eprintln!("stored: {words}");
    assert!(
        words.contains("音轨 1") && words.contains("音轨 2") && words.contains("1 声道"),
        "{row:#?}"
    );
    let json: serde_json::Value =
        serde_json::from_str(row.probe_json.as_deref().unwrap_or("{}")).expect("probe json");
    assert_eq!(json["audio_streams"].as_array().map(Vec::len), Some(2));
}
