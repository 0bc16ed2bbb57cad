//! What a certificate (活动参与证明) says: the [`Certificate`] payload stored with each issued
//! code, built from a catalog work, its unit and its as-run airings; the public view of it;
//! and the Asia/Shanghai wording of dates and time ranges. Pure: no I/O.

use super::code::{self, Attested, SECRET_LEN};
use crate::asrun::Airing;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};

/// The end reason of an airing that never went on air (its time had passed).
pub const MISSED: &str = "missed";

/// One airing as certified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedAiring {
    /// First frame, UTC ms.
    pub first_frame_ms: i64,
    /// Last frame, UTC ms (unknown when the process died during the airing).
    pub last_frame_ms: Option<i64>,
    /// 播出日期 in Beijing time, e.g. 2026年9月20日.
    pub date: String,
    /// 播出时段 in Beijing time, e.g. 23:59:50—00:00:10（次日）.
    pub time_range: String,
}

/// The stored payload of an issued certificate: everything printed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The verification code (16 characters of [`code::ALPHABET`]).
    pub code: String,
    /// The catalog work.
    pub work_id: i64,
    /// Its submitting unit.
    pub unit_id: i64,
    /// 作品名称.
    pub title: String,
    /// 报送单位.
    pub unit_name: String,
    /// 版权方 (when declared).
    pub copyright_holder: Option<String>,
    /// The edition, e.g. 2026年「科普之光」全国科普月大型网络展播.
    pub edition: String,
    /// Every airing, in order.
    pub airings: Vec<CertifiedAiring>,
    /// Issued, UTC ms.
    pub issued_at_ms: i64,
    /// 发证日期 in Beijing time, e.g. 2026年9月21日.
    pub issued_on: String,
}

/// What a certificate is about, before it has a code.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The catalog work.
    pub work_id: i64,
    /// Its submitting unit.
    pub unit_id: i64,
    /// 作品名称.
    pub title: String,
    /// 报送单位.
    pub unit_name: String,
    /// 版权方.
    pub copyright_holder: Option<String>,
    /// The edition's full name.
    pub edition: String,
}

/// Whether an as-run row counts as the work having aired: it ended, and not as `missed`
/// (an airing still on air counts once it ends).
pub fn counts(a: &Airing) -> bool {
    a.end_reason.as_deref().is_some_and(|r| r != MISSED)
}

impl Certificate {
    /// The certificate of `draft` for its airings (the rows that [`counts`]), issued at
    /// `issued_at_ms` under `secret`; `None` when no airing counts.
    pub fn issue(
        draft: Draft,
        airings: &[Airing],
        secret: &[u8; SECRET_LEN],
        issued_at_ms: i64,
    ) -> Option<Self> {
        let mut rows: Vec<&Airing> = airings.iter().filter(|a| counts(a)).collect();
        if rows.is_empty() {
            return None;
        }
        rows.sort_by_key(|a| (a.first_frame_ms, a.id));
        let airings: Vec<CertifiedAiring> = rows
            .iter()
            .map(|a| CertifiedAiring {
                first_frame_ms: a.first_frame_ms,
                last_frame_ms: a.last_frame_ms,
                date: date_of(a.first_frame_ms),
                time_range: time_range(a.first_frame_ms, a.last_frame_ms),
            })
            .collect();
        let mut c = Self {
            code: String::new(),
            work_id: draft.work_id,
            unit_id: draft.unit_id,
            title: draft.title,
            unit_name: draft.unit_name,
            copyright_holder: draft.copyright_holder,
            edition: draft.edition,
            airings,
            issued_at_ms,
            issued_on: date_of(issued_at_ms),
        };
        c.code = c.expected_code(secret);
        Some(c)
    }

    /// The facts the code attests.
    pub fn attested(&self) -> Attested<'_> {
        Attested {
            work_id: self.work_id,
            unit_id: self.unit_id,
            title: &self.title,
            first_frames_ms: self.airings.iter().map(|a| a.first_frame_ms).collect(),
        }
    }

    /// The code these facts must have under `secret`.
    pub fn expected_code(&self, secret: &[u8; SECRET_LEN]) -> String {
        code::derive(secret, &self.attested())
    }

    /// Whether the stored code is the one its facts give under `secret`.
    pub fn checks_out(&self, secret: &[u8; SECRET_LEN]) -> bool {
        code::same(&self.code, &self.expected_code(secret))
    }

    /// The path of the public verification page.
    pub fn verify_path(&self) -> String {
        format!("/verify/{}", self.code)
    }

    /// What anyone holding the code may see: the certificate's own wording, no ids.
    pub fn public(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": true,
            "code": self.code,
            "edition": self.edition,
            "title": self.title,
            "unit": self.unit_name,
            "copyright_holder": self.copyright_holder,
            "airings": self.airings.iter().map(|a| serde_json::json!({
                "date": a.date,
                "time_range": a.time_range,
            })).collect::<Vec<_>>(),
            "issued_on": self.issued_on,
        })
    }
}

fn shanghai(ms: i64) -> Option<DateTime<chrono_tz::Tz>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.with_timezone(&Shanghai))
}

/// `2026年9月20日` (Beijing time).
pub fn date_of(ms: i64) -> String {
    shanghai(ms)
        .map(|t| t.format("%Y年%-m月%-d日").to_string())
        .unwrap_or_else(|| "—".into())
}

/// `20:00:00—20:10:00` (Beijing time); `（次日）` when it ends on a later day, `起` alone when
/// the end is unknown.
pub fn time_range(first_ms: i64, last_ms: Option<i64>) -> String {
    let Some(from) = shanghai(first_ms) else {
        return "—".into();
    };
    let start = from.format("%H:%M:%S");
    match last_ms.and_then(shanghai) {
        Some(to) if to.date_naive() > from.date_naive() => {
            format!("{start}—{}（次日）", to.format("%H:%M:%S"))
        }
        Some(to) => format!("{start}—{}", to.format("%H:%M:%S")),
        None => format!("{start} 起"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_times_are_beijing() {
        // 2026-09-20 15:59:50 UTC = 23:59:50 in Beijing; ends 20 s later, after midnight.
        let t = 1_789_919_990_000;
        assert_eq!(date_of(t), "2026年9月20日");
        assert_eq!(time_range(t, Some(t + 5_000)), "23:59:50—23:59:55");
        assert_eq!(time_range(t, Some(t + 20_000)), "23:59:50—00:00:10（次日）");
        assert_eq!(time_range(t, None), "23:59:50 起");
    }
}
