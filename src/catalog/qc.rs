//! Technical acceptance: judges a [`ProbeReport`] against an edition's [`Acceptance`] rules
//! and a category's minimum duration, giving pass / warn / fail with reasons in Chinese.
//! Pure: no I/O, so every rule is unit-tested here. Probing is `probe`; storing is `workflow`.

use super::model::Verdict;
use super::probe::ProbeReport;
use crate::edition::Acceptance;
use serde::{Deserialize, Serialize};

/// The verdict on one file and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QcResult {
    /// pass / warn / fail.
    pub verdict: Verdict,
    /// Every reason, failures first (Chinese).
    pub reasons: Vec<String>,
}

fn mbit(bps: u64) -> String {
    format!("{}.{} Mbit/s", bps / 1_000_000, bps % 1_000_000 / 100_000)
}

pub use crate::timecode::hms;

/// How much longer than its picture a file's container may run before the acceptance says
/// the sound beyond the picture will not air (an MPEG-TS or an AAC tail runs a frame or two
/// past the picture: nothing a viewer would miss).
pub const SOUND_BEYOND_PICTURE_MS: i64 = 1000;

/// Judges one probed file.
pub fn judge(r: &ProbeReport, a: &Acceptance, min_duration_ms: Option<i64>) -> QcResult {
    let mut fail = Vec::new();
    let mut warn = Vec::new();
    if let Some(e) = &r.error {
        fail.push(format!("无法通过技术检测：{e}"));
        return QcResult {
            verdict: Verdict::Fail,
            reasons: fail,
        };
    }
    match &r.container {
        Some(c) if a.containers.iter().any(|x| x == c) => {}
        Some(c) => fail.push(format!(
            "封装格式 {} 不在本届允许范围（{}）",
            c.to_uppercase(),
            a.containers
                .iter()
                .map(|c| c.to_uppercase())
                .collect::<Vec<_>>()
                .join("、")
        )),
        None => fail.push("无法识别封装格式".into()),
    }
    match &r.video {
        None => fail.push("没有视频画面".into()),
        Some(v) if !v.decodable => fail.push(format!(
            "视频编码「{}」本机无法解码，播出只会是垫片：请转为 H.264 等常见编码后重新提交",
            v.codec
        )),
        Some(v) => {
            let (w, h) = (v.display_width, v.display_height);
            if a.landscape_required && h > w {
                fail.push(format!("竖屏视频（{w}×{h}），须提供横屏原片"));
            }
            // Compare the long and short sides so that a portrait file gets one clear reason.
            let (long, short) = (w.max(h), w.min(h));
            if long < a.min_width || short < a.min_height {
                fail.push(format!(
                    "分辨率 {w}×{h} 低于 {}×{}",
                    a.min_width, a.min_height
                ));
            }
        }
    }
    match r.bit_rate_bps {
        Some(b) if b < a.reject_below_bps => {
            fail.push(format!(
                "码率 {} 低于下限 {}",
                mbit(b),
                mbit(a.reject_below_bps)
            ));
        }
        Some(b) if b < a.warn_below_bps => {
            warn.push(format!(
                "码率 {} 低于建议的 {}",
                mbit(b),
                mbit(a.warn_below_bps)
            ));
        }
        Some(_) => {}
        None => warn.push("无法计算码率".into()),
    }
    if let Some(size) = r.size_bytes.filter(|s| *s > a.max_size_bytes) {
        fail.push(format!(
            "文件大小 {:.2} GB 超过上限 {:.2} GB",
            size as f64 / 1_073_741_824.0,
            a.max_size_bytes as f64 / 1_073_741_824.0
        ));
    }
    if r.audio.is_none() && a.audio_required {
        fail.push("没有音频（须有完整声音）".into());
    }
    // Every audio stream is recorded; the first one that decodes is what airs.
    let undecodable: Vec<&str> = r
        .audio_streams
        .iter()
        .filter(|s| !s.decodable)
        .map(|s| s.codec.as_str())
        .collect();
    let any_audio = !r.audio_streams.is_empty();
    if any_audio && undecodable.len() == r.audio_streams.len() {
        fail.push(format!(
            "音频编码「{}」本机无法解码，播出将没有声音：请转为 AAC 或 PCM 后重新提交",
            undecodable.join("、")
        ));
    } else if r.audio_streams.first().is_some_and(|s| !s.decodable) {
        warn.push(format!(
            "第 1 条音轨（{}）本机无法解码，播出将使用下一条可解码的音轨",
            undecodable.first().copied().unwrap_or_default()
        ));
    }
    if let (Some(min), Some(d)) = (min_duration_ms, r.airtime_ms())
        && d < min
    {
        fail.push(format!("时长 {} 短于该类别最低要求 {}", hms(d), hms(min)));
    }
    // The item airs for its picture's length: sound that runs on is not aired.
    if let (Some(p), Some(d)) = (r.picture_ms, r.duration_ms)
        && d - p >= SOUND_BEYOND_PICTURE_MS
    {
        warn.push(format!(
            "文件时长 {} 长于画面 {}：按画面时长播出，画面结束后的声音不播出",
            crate::timecode::hms_millis(d),
            crate::timecode::hms_millis(p)
        ));
    }
    if let Some(e) = &r.decode_error {
        fail.push(format!("音频无法完整解码（文件可能不完整或损坏）：{e}"));
    }
    if let Some(l) = &r.loudness {
        match l.integrated_lufs {
            None => warn.push("音频为静音，无法测得响度".into()),
            Some(v) if (v - a.loudness_target_lufs).abs() > a.loudness_tolerance_lu => {
                // What the air plan will do (air::loudness): the gain to the target, bounded.
                let gain = a.loudness_target_lufs - v;
                let max_boost = f64::from(crate::air::loudness::MAX_BOOST_MDB) / 1000.0;
                let max_cut = f64::from(crate::air::loudness::MAX_CUT_MDB) / 1000.0;
                let on_air = if gain > max_boost || gain < max_cut {
                    format!(
                        "播出时最多校正 {:+.1} dB，仍达不到目标：请在交付前按目标响度重新处理",
                        gain.clamp(max_cut, max_boost)
                    )
                } else {
                    format!(
                        "播出时将自动增益 {gain:+.1} dB 校正到目标响度，并将真峰值限制在 {:.1} dBTP 以下",
                        a.true_peak_max_dbtp
                    )
                };
                warn.push(format!(
                    "响度 {v:.1} LUFS 偏离目标 {:.1} LUFS 超过 {:.1} LU（{on_air}）",
                    a.loudness_target_lufs, a.loudness_tolerance_lu
                ))
            }
            Some(_) => {}
        }
        if let Some(tp) = l.true_peak_dbtp.filter(|tp| *tp > a.true_peak_max_dbtp) {
            warn.push(format!(
                "真峰值 {tp:.1} dBTP 高于 {:.1} dBTP",
                a.true_peak_max_dbtp
            ));
        }
        if let Some(d) = r.duration_ms {
            let slack = (d / 20).max(2000);
            if l.decoded_ms + slack < d {
                warn.push(format!(
                    "音频只解码出 {}，短于文件时长 {}",
                    hms(l.decoded_ms),
                    hms(d)
                ));
            }
        }
    }
    let verdict = if !fail.is_empty() {
        Verdict::Fail
    } else if !warn.is_empty() {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    fail.extend(warn);
    QcResult {
        verdict,
        reasons: fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::probe::{AudioStream, Loudness, VideoStream};

    fn acceptance() -> Acceptance {
        let path = format!(
            "{}/schedules/editions/2026.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        crate::edition::Edition::load(std::path::Path::new(&path))
            .expect("edition")
            .acceptance
    }

    fn good() -> ProbeReport {
        ProbeReport {
            location: "a.mp4".into(),
            size_bytes: Some(9_000_000 * 60 / 8),
            container: Some("mp4".into()),
            duration_ms: Some(60_000),
            video: Some(VideoStream {
                codec: "H.264".into(),
                width: 1920,
                height: 1080,
                rotation: 0,
                display_width: 1920,
                display_height: 1080,
                frame_rate: (25, 1),
                bit_rate_bps: None,
                bit_depth: Some(8),
                chroma: Some("4:2:0".into()),
                scan: Some("progressive".into()),
                field_order: None,
                mirrored: false,
                decodable: true,
            }),
            audio: Some(AudioStream {
                codec: "AAC".into(),
                channels: 2,
                sample_rate: 48000,
                layout: Some("stereo".into()),
                bit_depth: None,
                language: None,
                decodable: true,
            }),
            bit_rate_bps: Some(9_000_000),
            loudness: Some(Loudness {
                integrated_lufs: Some(-24.0),
                true_peak_dbtp: Some(-3.0),
                decoded_ms: 60_000,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn rules_give_the_right_verdicts() {
        let a = acceptance();
        assert_eq!(judge(&good(), &a, None).verdict, Verdict::Pass);
        let r = ProbeReport {
            bit_rate_bps: Some(6_000_000),
            ..good()
        };
        let q = judge(&r, &a, None);
        assert_eq!(q.verdict, Verdict::Warn);
        assert!(q.reasons[0].contains("6.0 Mbit/s"), "{q:?}");
        let r = ProbeReport {
            size_bytes: Some(5 << 30),
            ..good()
        };
        assert!(judge(&r, &a, None).reasons[0].contains("超过上限"));
        let q = judge(&good(), &a, Some(15 * 60_000));
        assert_eq!(q.verdict, Verdict::Fail);
        assert!(q.reasons[0].contains("00:15:00"), "{q:?}");
        let mut r = good();
        if let Some(v) = r.video.as_mut() {
            v.rotation = 90;
            v.display_width = 1080;
            v.display_height = 1920;
        }
        let q = judge(&r, &a, None);
        assert_eq!(
            q.reasons,
            vec!["竖屏视频（1080×1920），须提供横屏原片".to_string()]
        );
        let r = ProbeReport {
            loudness: Some(Loudness {
                integrated_lufs: Some(-14.0),
                true_peak_dbtp: Some(-0.5),
                decoded_ms: 60_000,
            }),
            ..good()
        };
        let q = judge(&r, &a, None);
        assert_eq!(q.verdict, Verdict::Warn);
        assert_eq!(q.reasons.len(), 2, "{q:?}");
        // The verdict says what happens on air: the correction and the peak limit.
        assert!(
            q.reasons[0].contains("播出时将自动增益 -10.0 dB")
                && q.reasons[0].contains(&format!("{:.1} dBTP", a.true_peak_max_dbtp)),
            "{q:?}"
        );
        let r = ProbeReport {
            loudness: Some(Loudness {
                integrated_lufs: Some(-60.0),
                true_peak_dbtp: Some(-40.0),
                decoded_ms: 60_000,
            }),
            ..good()
        };
        let q = judge(&r, &a, None);
        assert!(q.reasons[0].contains("仍达不到目标"), "{q:?}");
    }

    #[test]
    fn the_length_is_the_pictures_and_sound_beyond_it_is_named() {
        let a = acceptance();
        // An MPEG-TS a frame longer than its picture: nothing to say.
        let ts = ProbeReport {
            picture_ms: Some(59_960),
            ..good()
        };
        assert_eq!(judge(&ts, &a, None).verdict, Verdict::Pass);
        // Sound 2 s past the picture: aired for the picture's length, and said so.
        let long = ProbeReport {
            picture_ms: Some(58_000),
            ..good()
        };
        let q = judge(&long, &a, None);
        assert_eq!(q.verdict, Verdict::Warn, "{q:?}");
        assert!(
            q.reasons[0].contains("长于画面 00:00:58.000：按画面时长播出"),
            "{q:?}"
        );
        // The category minimum is judged on what airs.
        let q = judge(&long, &a, Some(59_000));
        assert_eq!(q.verdict, Verdict::Fail, "{q:?}");
    }

    #[test]
    fn what_cannot_be_decoded_here_fails_and_what_the_engine_conforms_does_not() {
        let a = acceptance();
        let mut r = good();
        if let Some(v) = r.video.as_mut() {
            v.decodable = false;
            v.codec = "Apple ProRes RAW".into();
        }
        let q = judge(&r, &a, None);
        assert_eq!(q.verdict, Verdict::Fail);
        assert!(
            q.reasons[0].contains("视频编码「Apple ProRes RAW」本机无法解码"),
            "{q:?}"
        );

        let pcm51 = AudioStream {
            codec: "Uncompressed 16-bit PCM audio".into(),
            channels: 6,
            sample_rate: 48_000,
            layout: Some("5.1".into()),
            bit_depth: Some(16),
            language: None,
            decodable: true,
        };
        let undecodable = AudioStream {
            codec: "DTS-HD".into(),
            decodable: false,
            ..pcm51.clone()
        };
        // Multichannel PCM, rotation, interlace: recorded, conformed on air, not failed.
        let mut r = good();
        r.audio_streams = vec![pcm51.clone()];
        r.audio = Some(pcm51.clone());
        if let Some(v) = r.video.as_mut() {
            v.rotation = 180;
            v.scan = Some("interlaced".into());
            v.field_order = Some("tff".into());
        }
        assert_eq!(judge(&r, &a, None).verdict, Verdict::Pass);
        // No audio stream that decodes: fail; the first one only: a warning.
        r.audio_streams = vec![undecodable.clone()];
        let q = judge(&r, &a, None);
        assert_eq!(q.verdict, Verdict::Fail);
        assert!(
            q.reasons[0].contains("音频编码「DTS-HD」本机无法解码"),
            "{q:?}"
        );
        r.audio_streams = vec![undecodable, pcm51];
        let q = judge(&r, &a, None);
        assert_eq!(q.verdict, Verdict::Warn, "{q:?}");
        assert!(q.reasons[0].contains("第 1 条音轨"), "{q:?}");
    }
}
