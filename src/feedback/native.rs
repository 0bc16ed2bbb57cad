//! The platforms' own push payloads, as the webhook receives them besides our
//! `{"figures": […]}`: Bilibili's open-platform live events (互动玩法: the messages its
//! long connection delivers, forwarded as they are by a bridge) and Douyin's live-interaction
//! callbacks (直播小玩法 数据推送: a JSON array per call, the message type in the
//! `x-msg-type` header). Pure: bytes (and that header) in, events or the field at fault out.
//!
//! The mapping (shapes from the platforms' documentation as summarised in
//! `NOTES-live-and-feedback.md`; neither platform gives an online count, so viewers never
//! come from here):
//!
//! | platform | message | our kind | value |
//! |---|---|---|---|
//! | bilibili | `LIVE_OPEN_PLATFORM_DM` (弹幕) | comments | 1 |
//! | bilibili | `LIVE_OPEN_PLATFORM_LIKE` | likes | `data.like_count` |
//! | bilibili | `LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER` (进入直播间) | views | 1 |
//! | bilibili | `LIVE_OPEN_PLATFORM_SEND_GIFT`, `…_SUPER_CHAT`, `…_GUARD`, others | — (ignored, listed) | |
//! | douyin | `live_comment` | comments | 1 |
//! | douyin | `live_like` | likes | `like_num` (a number or a string of one) |
//! | douyin | `live_gift`, `live_fansclub`, others | — (ignored, listed) | |
//!
//! Gifts are not 互动量 in the notices (likes, comments, shares), so they are not stored.
//! Every event is an increment at its instant (`timestamp`: seconds, or milliseconds when it
//! is larger than 10¹¹), identified by the platform's `msg_id` (Bilibili's entry has none: its
//! `open_id` and instant stand for it): a message delivered twice counts once.

use serde_json::Value;

use super::model::{Kind, MAX_FUTURE_MS, MIN_AT_MS};

/// Seconds below this, milliseconds above (10¹¹ s is the year 5138; 10¹¹ ms is 1973).
const MS_ABOVE: i64 = 100_000_000_000;
/// The largest count one message may carry.
const MAX_COUNT: i64 = 1_000_000;
/// Most messages in one call.
pub const MAX_MESSAGES: usize = 10_000;

/// Which platform's shape a payload has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// Bilibili open platform: `{"cmd", "data"}` or an array of them.
    Bilibili,
    /// Douyin live data push: an array of messages, the type in `x-msg-type`.
    Douyin,
}

impl Native {
    /// The native shape a channel's platform pushes, if it has one.
    pub fn of_platform(platform: &str) -> Option<Self> {
        match platform {
            "bilibili" => Some(Self::Bilibili),
            "douyin" => Some(Self::Douyin),
            _ => None,
        }
    }
}

/// One counted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeEvent {
    /// The platform's message id (deduplication key).
    pub msg_id: String,
    /// What it counts as.
    pub kind: Kind,
    /// Its instant, UTC ms.
    pub at_ms: i64,
    /// How many (likes in one message may be several).
    pub value: i64,
}

/// A payload read: the counted events and the message types left out (with how many).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NativeBatch {
    /// Events to count.
    pub events: Vec<NativeEvent>,
    /// Message types not stored, e.g. `("LIVE_OPEN_PLATFORM_SEND_GIFT", 2)`.
    pub ignored: Vec<(String, usize)>,
}

impl NativeBatch {
    fn ignore(&mut self, what: &str) {
        match self.ignored.iter_mut().find(|(w, _)| w == what) {
            Some((_, n)) => *n += 1,
            None => self.ignored.push((what.to_string(), 1)),
        }
    }
}

/// A payload refused: the field at fault (`[2].data.msg_id`) and why, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeError {
    /// Where, as a path into the payload.
    pub field: String,
    /// Why.
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> NativeError {
    NativeError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Reads `body` as `shape`'s payload; `msg_type` is Douyin's `x-msg-type` header; `now_ms`
/// bounds the instants (2024-01-01 … now + 10 min, as every figure's).
pub fn parse(
    shape: Native,
    body: &[u8],
    msg_type: Option<&str>,
    now_ms: i64,
) -> Result<NativeBatch, NativeError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| err("body", format!("不是有效的 JSON：{e}")))?;
    let out = match shape {
        Native::Bilibili => bilibili(&v)?,
        Native::Douyin => douyin(&v, msg_type)?,
    };
    // Instants in range, the message named by its id.
    if let Some(e) = out
        .events
        .iter()
        .find(|e| e.at_ms < MIN_AT_MS || e.at_ms > now_ms + MAX_FUTURE_MS)
    {
        return Err(err(
            "timestamp",
            format!(
                "消息 {} 的时间戳 {} 超出范围（2024-01-01 至服务器时间后 10 分钟）",
                e.msg_id, e.at_ms
            ),
        ));
    }
    Ok(out)
}

/// The messages of a payload that is one message or an array of them.
fn messages(v: &Value) -> Result<Vec<(String, &Value)>, NativeError> {
    let list: Vec<(String, &Value)> = match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("[{i}]"), m))
            .collect(),
        Value::Object(_) => vec![(String::new(), v)],
        _ => return Err(err("body", "应为一条消息（对象）或消息数组")),
    };
    if list.is_empty() {
        return Err(err("body", "消息数组为空"));
    }
    if list.len() > MAX_MESSAGES {
        return Err(err(
            "body",
            format!("一次至多 {MAX_MESSAGES} 条消息，收到 {} 条", list.len()),
        ));
    }
    Ok(list)
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// A whole number, or a string of one.
fn integer(v: Option<&Value>, field: &str) -> Result<i64, NativeError> {
    match v {
        None | Some(Value::Null) => Err(err(field, "缺少此字段")),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| err(field, format!("「{n}」不是整数"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| err(field, format!("「{s}」不是整数"))),
        Some(other) => Err(err(field, format!("应为整数，收到 {other}"))),
    }
}

/// A non-empty string (ids may also come as numbers).
fn text(v: Option<&Value>, field: &str) -> Result<String, NativeError> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) => Err(err(field, "缺少此字段")),
        Some(_) => Err(err(field, "应为非空字符串")),
    }
}

/// The instant of `timestamp`: seconds, or milliseconds above 10¹¹.
fn instant(v: Option<&Value>, field: &str) -> Result<i64, NativeError> {
    let t = integer(v, field)?;
    if t <= 0 {
        return Err(err(field, format!("时间戳 {t} 无效")));
    }
    Ok(if t < MS_ABOVE { t * 1000 } else { t })
}

fn count(v: Option<&Value>, field: &str) -> Result<i64, NativeError> {
    let n = integer(v, field)?;
    if !(1..=MAX_COUNT).contains(&n) {
        return Err(err(field, format!("数量 {n} 超出范围（1 至 {MAX_COUNT}）")));
    }
    Ok(n)
}

/// Where a message's id comes from.
#[derive(Clone, Copy)]
enum IdFrom {
    /// Its `msg_id`.
    MsgId,
    /// Bilibili's room entry has none: `enter:{open_id}:{at_ms}` stands for it.
    Entry,
}

/// One counted message of `kind` from the object `m` holding its fields: the instant from
/// `timestamp`, the id as `id` says, and for likes the count from `likes_field` (1
/// otherwise); `field` names a field where the payload has it (`[1].data.like_count`).
fn event(
    m: &Value,
    field: impl Fn(&str) -> String,
    kind: Kind,
    id: IdFrom,
    likes_field: &str,
) -> Result<NativeEvent, NativeError> {
    let at_ms = instant(m.get("timestamp"), &field("timestamp"))?;
    let msg_id = match id {
        IdFrom::MsgId => text(m.get("msg_id"), &field("msg_id"))?,
        IdFrom::Entry => {
            let who = text(m.get("open_id"), &field("open_id"))?;
            format!("enter:{who}:{at_ms}")
        }
    };
    let value = if kind == Kind::Likes {
        count(m.get(likes_field), &field(likes_field))?
    } else {
        1
    };
    Ok(NativeEvent {
        msg_id,
        kind,
        at_ms,
        value,
    })
}

fn bilibili(v: &Value) -> Result<NativeBatch, NativeError> {
    let mut out = NativeBatch::default();
    for (at, m) in messages(v)? {
        let cmd = match m.get("cmd") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            _ => return Err(err(join(&at, "cmd"), "缺少消息类型（cmd）")),
        };
        let kind = match cmd {
            "LIVE_OPEN_PLATFORM_DM" => Kind::Comments,
            "LIVE_OPEN_PLATFORM_LIKE" => Kind::Likes,
            "LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER" => Kind::Views,
            other => {
                out.ignore(other);
                continue;
            }
        };
        let data = match m.get("data") {
            Some(d @ Value::Object(_)) => d,
            _ => return Err(err(join(&at, "data"), "缺少消息内容（data 对象）")),
        };
        let id = if kind == Kind::Views {
            IdFrom::Entry
        } else {
            IdFrom::MsgId
        };
        let field = |f: &str| join(&at, &format!("data.{f}"));
        out.events.push(event(data, field, kind, id, "like_count")?);
    }
    Ok(out)
}

fn douyin(v: &Value, msg_type: Option<&str>) -> Result<NativeBatch, NativeError> {
    let Some(msg_type) = msg_type.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(err("x-msg-type", "缺少请求头 x-msg-type（消息类型）"));
    };
    let kind = match msg_type {
        "live_comment" => Some(Kind::Comments),
        "live_like" => Some(Kind::Likes),
        _ => None,
    };
    let list = messages(v)?;
    let mut out = NativeBatch::default();
    let Some(kind) = kind else {
        for _ in &list {
            out.ignore(msg_type);
        }
        return Ok(out);
    };
    for (at, m) in list {
        if !m.is_object() {
            return Err(err(at, "应为消息对象"));
        }
        let field = |f: &str| join(&at, f);
        out.events
            .push(event(m, field, kind, IdFrom::MsgId, "like_num")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-09-01 12:00 Beijing, as "now".
    const NOW: i64 = 1_788_235_300_000;

    /// Messages as Bilibili's open platform documents them (互动玩法 长连消息).
    const BILI: &str = r#"[
      {"cmd":"LIVE_OPEN_PLATFORM_DM","data":{"room_id":1,"uid":0,"open_id":"o-1","uname":"观众甲",
        "msg":"太酷了","msg_id":"dm-1","fans_medal_level":0,"fans_medal_name":"","guard_level":0,
        "timestamp":1788235200,"uface":"","emoji_img_url":"","dm_type":0}},
      {"cmd":"LIVE_OPEN_PLATFORM_LIKE","data":{"uname":"观众乙","uid":0,"open_id":"o-2","uface":"",
        "timestamp":1788235201,"room_id":1,"like_text":"为主播点赞了","like_count":3,
        "fans_medal_wearing_status":false,"fans_medal_name":"","fans_medal_level":0,"msg_id":"like-1"}},
      {"cmd":"LIVE_OPEN_PLATFORM_SEND_GIFT","data":{"room_id":1,"uid":0,"open_id":"o-3","uname":"丙",
        "gift_id":1,"gift_name":"辣条","gift_num":1,"price":100,"paid":true,"timestamp":1788235202,
        "msg_id":"gift-1"}},
      {"cmd":"LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER","data":{"room_id":1,"uface":"","uname":"丁",
        "open_id":"o-4","timestamp":1788235203}}
    ]"#;

    #[test]
    fn bilibili_messages_map_to_comments_likes_and_views_gifts_listed() {
        let b = parse(Native::Bilibili, BILI.as_bytes(), None, NOW).expect("parsed");
        let got: Vec<(Kind, i64, i64)> = b
            .events
            .iter()
            .map(|e| (e.kind, e.at_ms, e.value))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::Comments, 1_788_235_200_000, 1),
                (Kind::Likes, 1_788_235_201_000, 3),
                (Kind::Views, 1_788_235_203_000, 1),
            ]
        );
        assert_eq!(b.events[2].msg_id, "enter:o-4:1788235203000");
        assert_eq!(b.ignored, vec![("LIVE_OPEN_PLATFORM_SEND_GIFT".into(), 1)]);
        // One message alone (not in an array) is read too.
        let one =
            r#"{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{"msg_id":"x","timestamp":1788235200000}}"#;
        let b = parse(Native::Bilibili, one.as_bytes(), None, NOW).expect("one");
        assert_eq!(b.events[0].at_ms, 1_788_235_200_000, "milliseconds kept");
    }

    #[test]
    fn malformed_bilibili_messages_name_the_field() {
        let cases = [
            (r#"[{"data":{}}]"#, "[0].cmd"),
            (r#"[{"cmd":"LIVE_OPEN_PLATFORM_DM"}]"#, "[0].data"),
            (
                r#"[{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{"msg_id":"a","timestamp":1788235200}},
                   {"cmd":"LIVE_OPEN_PLATFORM_LIKE","data":{"msg_id":"b","timestamp":1788235200,"like_count":"很多"}}]"#,
                "[1].data.like_count",
            ),
            (
                r#"{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{"timestamp":1788235200}}"#,
                "data.msg_id",
            ),
            (
                r#"{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{"msg_id":"a","timestamp":"昨天"}}"#,
                "data.timestamp",
            ),
            ("42", "body"),
            (
                r#"{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{"msg_id":"old","timestamp":1500000000}}"#,
                "timestamp",
            ),
            ("{", "body"),
        ];
        for (body, field) in cases {
            let e = parse(Native::Bilibili, body.as_bytes(), None, NOW).expect_err(body);
            assert_eq!(e.field, field, "{body}: {e:?}");
            assert!(!e.reason.is_empty());
        }
    }

    /// Douyin's live data push (直播小玩法): an array per call, the type in x-msg-type.
    #[test]
    fn douyin_comments_and_likes_count_gifts_are_listed() {
        let comments = r#"[{"msg_id":"c-1","sec_openid":"s1","content":"学到了","avatar_url":"","nickname":"甲","timestamp":1788235200},
                           {"msg_id":"c-2","sec_openid":"s2","content":"好","avatar_url":"","nickname":"乙","timestamp":1788235200123}]"#;
        let b = parse(
            Native::Douyin,
            comments.as_bytes(),
            Some("live_comment"),
            NOW,
        )
        .expect("comments");
        assert_eq!(b.events.len(), 2);
        assert_eq!(b.events[1].at_ms, 1_788_235_200_123);
        let likes = r#"[{"msg_id":"l-1","sec_openid":"s1","like_num":"15","avatar_url":"","nickname":"甲","timestamp":1788235201}]"#;
        let b = parse(Native::Douyin, likes.as_bytes(), Some("live_like"), NOW).expect("likes");
        assert_eq!((b.events[0].kind, b.events[0].value), (Kind::Likes, 15));
        let gifts = r#"[{"msg_id":"g-1","sec_openid":"s1","sec_gift_id":"x","gift_num":1,"gift_value":10,"timestamp":1788235201}]"#;
        let b = parse(Native::Douyin, gifts.as_bytes(), Some("live_gift"), NOW).expect("gifts");
        assert!(b.events.is_empty());
        assert_eq!(b.ignored, vec![("live_gift".into(), 1)]);
        let e = parse(Native::Douyin, likes.as_bytes(), None, NOW).expect_err("no type");
        assert_eq!(e.field, "x-msg-type");
        let bad = r#"[{"msg_id":"l-1","like_num":0,"timestamp":1788235201}]"#;
        let e =
            parse(Native::Douyin, bad.as_bytes(), Some("live_like"), NOW).expect_err("zero likes");
        assert_eq!(e.field, "[0].like_num");
        let bad = r#"[{"like_num":2,"timestamp":1788235201}]"#;
        let e = parse(Native::Douyin, bad.as_bytes(), Some("live_like"), NOW).expect_err("no id");
        assert_eq!(e.field, "[0].msg_id");
    }
}
