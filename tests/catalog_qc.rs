//! Technical acceptance on real files generated here with ffmpeg (an independent producer):
//! each file gets the right verdict and reason under the shipped editions, and loudness is
//! checked against a tone of known level and against `ffmpeg -af ebur128` as the judge.

mod catalog_common;

use catalog_common::edition;
use kepu_playout::catalog::model::Verdict;
use kepu_playout::catalog::probe::{ProbeOptions, ProbeReport, measure_loudness, probe};
use kepu_playout::catalog::qc::{QcResult, judge};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const VIDEO: &str = "testsrc2=s={S}:r=25:d=2,noise=alls=30:allf=t";
// 1 kHz sine at −24 dBFS in both channels ≈ −24 LUFS (K-weighting adds ~+0.7 dB at 1 kHz,
// the stereo sum +3 dB, the sine's RMS −3 dB, the BS.1770 offset −0.691 dB).
const TONE_24: &str = "aevalsrc=0.0631*sin(2*PI*1000*t):s=48000:c=stereo:d=2";

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-y", "-v", "error"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn x264(size: &str, rate: &str, out: &Path, audio: bool) {
    // A quarter-second VBV buffer: with a 2 s clip, a larger (initially full) buffer lets
    // x264 overshoot the rate by up to ~45 %, and a 6.5 Mbit/s file would measure 8+.
    let kbps: u64 = match rate.strip_suffix('M') {
        Some(m) => m.parse::<u64>().expect("rate") * 1000,
        None => rate.trim_end_matches('k').parse().expect("rate"),
    };
    let bufsize = format!("{}k", kbps / 4);
    let v = VIDEO.replace("{S}", size);
    let o = out.to_str().expect("utf-8");
    let mut a: Vec<&str> = vec!["-f", "lavfi", "-i", &v];
    if audio {
        a.extend([
            "-f",
            "lavfi",
            "-i",
            TONE_24,
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
        ]);
    }
    a.extend([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-b:v",
        rate,
        "-minrate",
        rate,
        "-maxrate",
        rate,
        "-bufsize",
        &bufsize,
        "-x264-params",
        "nal-hrd=cbr",
        o,
    ]);
    ffmpeg(&a);
}

/// All fixtures, generated once per test binary into Cargo's target tmp dir.
fn fixtures() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    // nextest runs every test in its own process: each generates into its own folder and
    // renames it into place when complete, so no test ever reads a half-written file.
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let done = base.join("catalog_qc");
        if done.join(".complete").exists() {
            return done;
        }
        let dir = base.join(format!("catalog_qc.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = |n: &str| dir.join(n);
        x264("1920x1080", "9M", &p("good.mp4"), true);
        x264("1920x1080", "6500k", &p("six.mp4"), true);
        x264("1280x720", "9M", &p("hd720.mp4"), true);
        x264("1080x1920", "9M", &p("portrait.mp4"), true);
        x264("1920x1080", "3M", &p("low3m.mp4"), true);
        x264("1920x1080", "9M", &p("silent.mp4"), false);
        x264("1920x1080", "9M", &p("good.mov"), true);
        // A phone video: landscape pixels with a 90° display rotation = portrait on screen.
        let (good, rotated) = (p("good.mp4"), p("rotated.mp4"));
        ffmpeg(&[
            "-i",
            good.to_str().expect("utf-8"),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            rotated.to_str().expect("utf-8"),
        ]);
        let v = VIDEO.replace("{S}", "1920x1080");
        let (avi, wmv) = (p("good.avi"), p("good.wmv"));
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &v,
            "-f",
            "lavfi",
            "-i",
            TONE_24,
            "-c:v",
            "mpeg4",
            "-b:v",
            "9M",
            "-c:a",
            "pcm_s16le",
            "-shortest",
            avi.to_str().expect("utf-8"),
        ]);
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &v,
            "-f",
            "lavfi",
            "-i",
            TONE_24,
            "-c:v",
            "wmv2",
            "-b:v",
            "9M",
            "-c:a",
            "wmav2",
            "-shortest",
            wmv.to_str().expect("utf-8"),
        ]);
        std::fs::write(
            p("text.mp4"),
            "这不是视频，只是改了扩展名的文本文件。\n".repeat(50),
        )
        .expect("write");
        std::fs::write(p("empty.mp4"), b"").expect("write");
        let good = std::fs::read(p("good.mp4")).expect("read");
        std::fs::write(p("truncated.mp4"), &good[..good.len() / 2]).expect("write");
        // A 10 s stereo 1 kHz tone at −20 dBFS for the loudness check.
        let tone = p("tone.wav");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=0.1*sin(2*PI*1000*t):s=48000:c=stereo:d=10",
            "-c:a",
            "pcm_s16le",
            tone.to_str().expect("utf-8"),
        ]);
        std::fs::write(dir.join(".complete"), b"").expect("mark complete");
        // A folder without the mark is a leftover of an interrupted run: clear it.
        if done.exists() && !done.join(".complete").exists() {
            let _ = std::fs::remove_dir_all(&done);
        }
        match std::fs::rename(&dir, &done) {
            Ok(()) => done,
            // Another process finished first (or an old incomplete folder is in the way):
            // use theirs when complete, else our own.
            Err(_) if done.join(".complete").exists() => {
                let _ = std::fs::remove_dir_all(&dir);
                done
            }
            Err(_) => dir,
        }
    })
}

fn opts() -> ProbeOptions {
    // Generous limits: the test machine is shared and loaded.
    ProbeOptions {
        discover_timeout: Duration::from_secs(60),
        loudness_timeout_base: Duration::from_secs(120),
        loudness: true,
    }
}

async fn check(name: &str, year: u32) -> (ProbeReport, QcResult) {
    let path = fixtures().join(name);
    let r = probe(path.to_string_lossy().into_owned(), opts()).await;
    let q = judge(&r, &edition(year).acceptance, None);
    (r, q)
}

fn assert_reason(q: &QcResult, verdict: Verdict, needle: &str, r: &ProbeReport) {
    assert_eq!(q.verdict, verdict, "{q:?}\n{r:#?}");
    assert!(
        q.reasons.iter().any(|x| x.contains(needle)),
        "want 「{needle}」 in {q:?}\n{r:#?}"
    );
}

#[tokio::test]
async fn compliant_1080p_mp4_passes_and_is_measured() {
    let (r, q) = check("good.mp4", 2026).await;
    assert_eq!(
        q,
        QcResult {
            verdict: Verdict::Pass,
            reasons: vec![]
        },
        "{r:#?}"
    );
    assert_eq!(r.container.as_deref(), Some("mp4"));
    let v = r.video.as_ref().expect("video");
    assert_eq!((v.width, v.height, v.frame_rate), (1920, 1080, (25, 1)));
    assert!(r.bit_rate_bps.expect("bit rate") >= 8_000_000, "{r:#?}");
    assert!(
        (1900..=2100).contains(&r.duration_ms.expect("duration")),
        "{r:#?}"
    );
    let l = r.loudness.as_ref().expect("loudness");
    let lufs = l.integrated_lufs.expect("not silent");
    let judge = ffmpeg_ebur128(&fixtures().join("good.mp4"));
    assert!((lufs - judge).abs() <= 0.5, "ours {lufs} vs ffmpeg {judge}");
    assert!((lufs + 24.0).abs() <= 0.5, "{lufs}");
    assert!(l.true_peak_dbtp.expect("peak") < -20.0, "{l:?}");
}

#[tokio::test]
async fn bit_rate_between_5_and_8_warns() {
    let (r, q) = check("six.mp4", 2026).await;
    assert_reason(&q, Verdict::Warn, "低于建议的 8.0 Mbit/s", &r);
}

#[tokio::test]
async fn hd720_fails_on_resolution() {
    let (r, q) = check("hd720.mp4", 2026).await;
    assert_reason(&q, Verdict::Fail, "分辨率 1280×720 低于 1920×1080", &r);
}

#[tokio::test]
async fn portrait_fails_as_portrait() {
    let (r, q) = check("portrait.mp4", 2026).await;
    assert_reason(&q, Verdict::Fail, "竖屏视频（1080×1920）", &r);
    assert_eq!(q.reasons.len(), 1, "one clear reason: {q:?}");
}

#[tokio::test]
async fn rotated_phone_video_counts_as_portrait() {
    let (r, q) = check("rotated.mp4", 2026).await;
    // ffmpeg's rotate=90 is counter-clockwise; GStreamer reports it clockwise as 270.
    assert_eq!(r.video.as_ref().map(|v| v.rotation), Some(270), "{r:#?}");
    assert_reason(&q, Verdict::Fail, "竖屏视频（1080×1920）", &r);
}

#[tokio::test]
async fn three_mbit_fails_on_bit_rate() {
    let (r, q) = check("low3m.mp4", 2026).await;
    assert_reason(&q, Verdict::Fail, "低于下限 5.0 Mbit/s", &r);
}

#[tokio::test]
async fn silent_file_fails() {
    let (r, q) = check("silent.mp4", 2026).await;
    assert_reason(&q, Verdict::Fail, "没有音频", &r);
}

#[tokio::test]
async fn mov_avi_wmv_pass_in_2026_and_fail_in_2025() {
    for (name, container) in [
        ("good.mov", "mov"),
        ("good.avi", "avi"),
        ("good.wmv", "wmv"),
    ] {
        let (r, q) = check(name, 2026).await;
        assert_eq!(r.container.as_deref(), Some(container), "{r:#?}");
        assert!(
            matches!(q.verdict, Verdict::Pass | Verdict::Warn),
            "{name}: {q:?}\n{r:#?}"
        );
        assert!(!q.reasons.iter().any(|x| x.contains("封装")), "{q:?}");
        let q25 = judge(&r, &edition(2025).acceptance, None);
        assert_reason(
            &q25,
            Verdict::Fail,
            &format!("封装格式 {}", container.to_uppercase()),
            &r,
        );
    }
}

#[tokio::test]
async fn text_renamed_mp4_fails_without_crashing() {
    let (r, q) = check("text.mp4", 2026).await;
    assert_reason(&q, Verdict::Fail, "无法识别", &r);
}

#[tokio::test]
async fn empty_file_fails() {
    let (r, q) = check("empty.mp4", 2026).await;
    assert_reason(&q, Verdict::Fail, "文件为空（0 字节）", &r);
}

#[tokio::test]
async fn truncated_mp4_fails() {
    let (r, q) = check("truncated.mp4", 2026).await;
    assert_eq!(q.verdict, Verdict::Fail, "{q:?}\n{r:#?}");
}

#[tokio::test]
async fn missing_file_fails() {
    let (r, q) = check("no-such-file.mp4", 2026).await;
    assert_reason(&q, Verdict::Fail, "文件不存在", &r);
}

#[tokio::test]
async fn category_minimum_applies_in_2025_only() {
    let (r, _) = check("good.mp4", 2025).await;
    let e25 = edition(2025);
    let q = judge(&r, &e25.acceptance, e25.min_duration_ms(&[4]));
    assert_reason(&q, Verdict::Fail, "短于该类别最低要求 00:15:00", &r);
    let e26 = edition(2026);
    assert_eq!(
        judge(&r, &e26.acceptance, e26.min_duration_ms(&[4])).verdict,
        Verdict::Pass
    );
}

/// Integrated loudness by ffmpeg's ebur128 filter (the independent judge).
fn ffmpeg_ebur128(path: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.rsplit("Summary:").next().expect("summary");
    summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("I:"))
        .and_then(|v| v.trim().trim_end_matches("LUFS").trim().parse().ok())
        .expect("I: … LUFS in ffmpeg's summary")
}

#[test]
fn tone_at_minus_20_dbfs_measures_minus_20_lufs() {
    let tone = fixtures().join("tone.wav");
    let l = measure_loudness(tone.to_str().expect("utf-8"), Duration::from_secs(120))
        .expect("measured");
    let ours = l.integrated_lufs.expect("not silent");
    let judge = ffmpeg_ebur128(&tone);
    assert!((ours - judge).abs() <= 0.5, "ours {ours} vs ffmpeg {judge}");
    assert!((ours + 20.0).abs() <= 0.5, "{ours}");
    let tp = l.true_peak_dbtp.expect("peak");
    assert!(
        (tp + 20.0).abs() <= 0.5,
        "true peak of a −20 dBFS sine: {tp}"
    );
    assert!((9_900..=10_100).contains(&l.decoded_ms), "{l:?}");
}
