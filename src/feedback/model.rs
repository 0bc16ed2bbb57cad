//! The vocabulary of 数据反馈: what a figure is ([`Kind`]), how it counts ([`cumulative`]
//! readings versus samples), where it came from ([`Source`]), and the validation of one
//! incoming figure ([`FigureIn::check`]) with Chinese reasons naming the field. Pure: no I/O.
//!
//! [`cumulative`]: Figure::cumulative

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The largest value a figure may carry (10¹²: a month of topic reads fits many times over).
pub const MAX_VALUE: i64 = 1_000_000_000_000;
/// The earliest instant a figure may have: 2024-01-01T00:00:00Z.
pub const MIN_AT_MS: i64 = 1_704_067_200_000;
/// How far in the future (by the server's clock) a figure's instant may be: 10 minutes.
pub const MAX_FUTURE_MS: i64 = 10 * 60 * 1000;
/// Most figures in one request or one uploaded file.
pub const MAX_BATCH: usize = 50_000;

/// What a figure measures.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 在线人数: concurrent viewers at an instant (a sample).
    Viewers,
    /// 观看人次: views counted by the platform (usually a running total).
    Views,
    /// 点赞.
    Likes,
    /// 评论 (danmaku included).
    Comments,
    /// 分享 / 转发.
    Shares,
    /// 话题阅读 (Weibo topic reads).
    TopicReads,
    /// 话题讨论 (Weibo topic discussions).
    TopicDiscussions,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 7] = [
        Self::Viewers,
        Self::Views,
        Self::Likes,
        Self::Comments,
        Self::Shares,
        Self::TopicReads,
        Self::TopicDiscussions,
    ];

    /// The name stored and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewers => "viewers",
            Self::Views => "views",
            Self::Likes => "likes",
            Self::Comments => "comments",
            Self::Shares => "shares",
            Self::TopicReads => "topic_reads",
            Self::TopicDiscussions => "topic_discussions",
        }
    }

    /// The Chinese name (template headers, reports).
    pub fn label(self) -> &'static str {
        match self {
            Self::Viewers => "在线人数",
            Self::Views => "观看人次",
            Self::Likes => "点赞",
            Self::Comments => "评论",
            Self::Shares => "分享",
            Self::TopicReads => "话题阅读",
            Self::TopicDiscussions => "话题讨论",
        }
    }

    /// Whether this kind is an interaction (互动量: likes, comments, shares).
    pub fn is_interaction(self) -> bool {
        matches!(self, Self::Likes | Self::Comments | Self::Shares)
    }

    /// How a figure of this kind counts when the sender does not say: viewers are samples,
    /// everything else a running total read off a platform's back office.
    pub fn default_cumulative(self) -> bool {
        self != Self::Viewers
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == t || k.label() == t)
            .ok_or_else(|| {
                format!(
                    "不认识的指标「{t}」（可选 {}）",
                    Self::ALL.map(Kind::as_str).join("、")
                )
            })
    }
}

/// Where a figure came from; kept with every figure so merged figures stay honest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Sent through `POST /api/v1/feedback/figures` by a program.
    Api,
    /// Pushed by a platform (or a relay's bridge) to the channel's webhook.
    Webhook,
    /// A row of an uploaded platform export (CSV/XLSX).
    Upload,
    /// Typed in by a person (the dashboard's form).
    Manual,
    /// Read by a poller from a stats URL.
    Poller,
    /// Counted by the daemon itself: sessions of the public HLS stream.
    Hls,
}

impl Source {
    /// The name stored and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Webhook => "webhook",
            Self::Upload => "upload",
            Self::Manual => "manual",
            Self::Poller => "poller",
            Self::Hls => "hls",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One figure as a sender gives it (REST batch, webhook, a parsed upload row).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FigureIn {
    /// 渠道编号 The relay channel.
    pub channel_id: i64,
    /// 时刻（UTC 毫秒）The instant the figure applies to, UTC ms.
    pub at_ms: i64,
    /// 指标 What it measures.
    pub kind: Kind,
    /// 数值 The value (0 … 10¹²).
    pub value: i64,
    /// 累计值（true）或时点/增量值（false）；缺省：在线人数为时点值，其余为累计值
    /// A running total (true) or a sample / increment (false); default by kind.
    #[serde(default)]
    pub cumulative: Option<bool>,
    /// 数据截至时刻（平台报表的统计时刻，UTC 毫秒）When the platform computed it, if it says.
    #[serde(default)]
    pub as_of_ms: Option<i64>,
}

/// A validated figure, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    /// The relay channel.
    pub channel_id: i64,
    /// The instant, UTC ms.
    pub at_ms: i64,
    /// What it measures.
    pub kind: Kind,
    /// The value.
    pub value: i64,
    /// A running total (else a sample or an increment).
    pub cumulative: bool,
    /// Where it came from.
    pub source: Source,
    /// When the platform computed it.
    pub as_of_ms: Option<i64>,
}

/// One problem with one figure of a batch: which (0-based index in the batch, or the row of
/// a file as a spreadsheet shows it), which field, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureError {
    /// 0-based position in the request's `figures`, or the spreadsheet row (header = 1).
    pub row: usize,
    /// The field (API name) or the column header of a file.
    pub field: String,
    /// Why, in Chinese.
    pub reason: String,
}

impl fmt::Display for FigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "第 {} 条「{}」：{}", self.row, self.field, self.reason)
    }
}

impl FigureIn {
    /// Checks the ranges (value, instant, as-of) against `now_ms`; every problem is named.
    pub fn check(&self, source: Source, now_ms: i64) -> Result<Figure, Vec<(String, String)>> {
        let mut errs = Vec::new();
        if self.value < 0 || self.value > MAX_VALUE {
            errs.push((
                "value".to_string(),
                format!("数值 {} 超出范围（0 至 {MAX_VALUE}）", self.value),
            ));
        }
        let at_ok = |ms: i64| (MIN_AT_MS..=now_ms.saturating_add(MAX_FUTURE_MS)).contains(&ms);
        if !at_ok(self.at_ms) {
            errs.push((
                "at_ms".to_string(),
                format!(
                    "时刻 {} 不在 2024-01-01 至当前时间之后 10 分钟之间（UTC 毫秒）",
                    self.at_ms
                ),
            ));
        }
        if let Some(a) = self.as_of_ms
            && !at_ok(a)
        {
            errs.push((
                "as_of_ms".to_string(),
                format!("统计时刻 {a} 不在 2024-01-01 至当前时间之后 10 分钟之间"),
            ));
        }
        if self.channel_id <= 0 {
            errs.push(("channel_id".to_string(), "渠道编号须为正整数".to_string()));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Figure {
            channel_id: self.channel_id,
            at_ms: self.at_ms,
            kind: self.kind,
            value: self.value,
            cumulative: self
                .cumulative
                .unwrap_or_else(|| self.kind.default_cumulative()),
            source,
            as_of_ms: self.as_of_ms,
        })
    }
}

/// Known platforms (平台): stored as given, but these names are what the dashboard offers.
pub const PLATFORMS: [(&str, &str); 9] = [
    ("bilibili", "哔哩哔哩"),
    ("douyin", "抖音"),
    ("kuaishou", "快手"),
    ("weibo", "微博"),
    ("wechat_channels", "微信视频号"),
    ("cctv_video", "央视频"),
    ("kepu_app", "科普中国"),
    ("kepu_hls", "本站直播"),
    ("other", "其他"),
];

/// Whether `p` is a platform name the API accepts: a known one, or any short lower-case
/// ASCII word (a new platform needs no release).
pub fn platform_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 32
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The Chinese name of a platform (the name itself when unknown).
pub fn platform_label(p: &str) -> &str {
    PLATFORMS
        .iter()
        .find(|(k, _)| *k == p)
        .map_or(p, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(value: i64, at_ms: i64) -> FigureIn {
        FigureIn {
            channel_id: 1,
            at_ms,
            kind: Kind::Likes,
            value,
            cumulative: None,
            as_of_ms: None,
        }
    }

    #[test]
    fn ranges_are_checked_and_named() {
        let now = 1_790_000_000_000;
        let ok = fig(10, now).check(Source::Api, now).expect("valid");
        assert!(ok.cumulative, "likes default to a running total");
        let e = fig(-1, now).check(Source::Api, now).expect_err("negative");
        assert_eq!(e[0].0, "value");
        let e = fig(MAX_VALUE + 1, 0)
            .check(Source::Api, now)
            .expect_err("two faults");
        assert_eq!(
            e.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            ["value", "at_ms"]
        );
        let e = fig(1, now + MAX_FUTURE_MS + 1)
            .check(Source::Api, now)
            .expect_err("future");
        assert!(e[0].1.contains("10 分钟"), "{e:?}");
    }

    #[test]
    fn kinds_parse_by_name_or_label() {
        assert_eq!("在线人数".parse::<Kind>(), Ok(Kind::Viewers));
        assert_eq!("topic_reads".parse::<Kind>(), Ok(Kind::TopicReads));
        assert!(
            "online"
                .parse::<Kind>()
                .is_err_and(|e| e.contains("online"))
        );
        assert!(!Kind::Viewers.default_cumulative());
        assert!(platform_ok("bilibili") && platform_ok("new_site2"));
        assert!(!platform_ok("Bili Bili") && !platform_ok(""));
    }
}
