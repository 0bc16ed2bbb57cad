//! The as-run log as CSV for people (Excel opens it): UTF-8 with a BOM, Chinese headers,
//! times in Beijing time. Pure: airings and unit names in, bytes out.

use super::Airing;
use chrono::{TimeZone, Utc};
use std::collections::HashMap;

/// Column headers, in order.
pub const HEADERS: [&str; 9] = [
    "节目名称",
    "报送单位",
    "开始时间",
    "结束时间",
    "时长",
    "来源",
    "结束原因",
    "垫片",
    "录像",
];

fn beijing(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => String::new(),
    }
}

/// `HH:MM:SS` rounded to the nearest second.
fn hms(ms: i64) -> String {
    crate::timecode::hms(ms.max(0) + 500)
}

fn time_of_day(ms: i64) -> String {
    beijing(ms).get(11..).unwrap_or_default().to_string()
}

/// The Chinese name of a stored end reason.
pub fn reason_zh(r: Option<&str>) -> &'static str {
    match r {
        None => "未结束",
        Some("complete") => "正常结束",
        Some("cut") => "被后续节目切断",
        Some("skipped") => "操作员跳过",
        Some("failed") => "信号源故障",
        Some("missed") => "错过播出时间",
        Some("shutdown") => "停机",
        Some("interrupted") => "进程中断",
        Some("engine_failed") => "播出引擎故障（已自动重启）",
        Some(_) => "其他",
    }
}

/// A live airing's recording as the 录像 column says it: the window's directory name, its
/// segments and bytes (`feed3-20260901T120000Z（3 段，12345678 字节）`); empty when none.
pub fn recording_cell(a: &Airing) -> String {
    a.recording
        .as_ref()
        .map(|r| format!("{}（{} 段，{} 字节）", r.name, r.segments, r.bytes))
        .unwrap_or_default()
}

/// The CSV bytes for `airings`; `units` maps unit ids to names.
pub fn to_csv(airings: &[Airing], units: &HashMap<i64, String>) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::Writer::from_writer(&mut out);
        let mut rows: Vec<Vec<String>> = vec![HEADERS.iter().map(|h| h.to_string()).collect()];
        for a in airings {
            let unit = a
                .unit_id
                .map(|u| {
                    units
                        .get(&u)
                        .cloned()
                        .unwrap_or_else(|| format!("单位 {u}"))
                })
                .unwrap_or_default();
            let fallbacks = a
                .fallbacks
                .iter()
                .map(|f| {
                    format!(
                        "{}–{} {}",
                        time_of_day(f.from_ms),
                        time_of_day(f.to_ms),
                        f.reason
                    )
                })
                .collect::<Vec<_>>()
                .join("；");
            rows.push(vec![
                a.title.clone(),
                unit,
                beijing(a.first_frame_ms),
                a.last_frame_ms.map(beijing).unwrap_or_default(),
                a.last_frame_ms
                    .map(|l| hms(l - a.first_frame_ms))
                    .unwrap_or_default(),
                a.source.clone(),
                reason_zh(a.end_reason.as_deref()).to_string(),
                fallbacks,
                recording_cell(a),
            ]);
        }
        for r in rows {
            if let Err(e) = w.write_record(&r) {
                // Writing to a Vec cannot fail short of memory; keep going, but say so.
                tracing::error!(error = %e, "as-run CSV row not written");
            }
        }
        if let Err(e) = w.flush() {
            tracing::error!(error = %e, "as-run CSV not flushed");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asrun::{AiringRecording, Fallback};

    #[test]
    fn csv_has_bom_chinese_headers_and_beijing_times() {
        let a = Airing {
            id: 1,
            airing_key: "a@1".into(),
            item_id: "a".into(),
            work_id: Some(3),
            unit_id: Some(2),
            title: "深海, 探秘".into(),
            source: "/media/a.mp4".into(),
            planned_start_ms: None,
            first_frame_ms: 1_789_921_800_000,
            last_frame_ms: Some(1_789_921_800_000 + 89_960),
            frames: Some(2250),
            end_reason: Some("complete".into()),
            fallbacks: vec![Fallback {
                from_ms: 1_789_921_801_000,
                to_ms: 1_789_921_802_000,
                reason: "源文件读取失败".into(),
            }],
            node: String::new(),
            rundown_day: None,
            rundown_version: None,
            air_day: "2026-09-21".into(),
            gain_mdb: None,
            recording: None,
        };
        let live = Airing {
            id: 2,
            title: "望远镜直播".into(),
            source: "ingest://scope-1".into(),
            fallbacks: Vec::new(),
            recording: Some(AiringRecording {
                name: "feed3-20260920T163130Z".into(),
                segments: 3,
                bytes: 12_345_678,
            }),
            ..a.clone()
        };
        let units = HashMap::from([(2, "深海所".to_string())]);
        let bytes = to_csv(&[a, live], &units);
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("节目名称,报送单位,开始时间,结束时间,时长,来源,结束原因,垫片,录像")
        );
        assert_eq!(
            lines.next(),
            Some(
                "\"深海, 探秘\",深海所,2026-09-21 00:30:00,2026-09-21 00:31:29,00:01:30,/media/a.mp4,正常结束,00:30:01–00:30:02 源文件读取失败,"
            )
        );
        assert_eq!(
            lines.next(),
            Some(
                "望远镜直播,深海所,2026-09-21 00:30:00,2026-09-21 00:31:29,00:01:30,ingest://scope-1,正常结束,,feed3-20260920T163130Z（3 段，12345678 字节）"
            )
        );
    }
}
