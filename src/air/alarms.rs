//! Alarms an operator must see and acknowledge: the slate on air instead of the programme
//! (fallback), a destination lost, a slow-live window whose source is not delivering, the
//! engine stalled (and restarted), the engine's events read too slowly. Raised
//! and cleared from the engine's events; an alarm stays listed after it clears until someone
//! acknowledges it (who and when are kept). In memory: alarms are about the live state of
//! this process; what aired and why is in the as-run log.

use chrono::{DateTime, Utc};
use playout::Event;
use playout::output::FailureKind;
use serde::Serialize;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// The slate (or a held frame) is on air instead of the item.
    Fallback,
    /// A destination is down.
    DestinationLost,
    /// A slow-live item is on air but its source is not delivering.
    LiveNotDelivering,
    /// The engine stopped producing frames (clock, encoder or pipeline): dead air until it
    /// is restarted.
    EngineStalled,
    /// The engine's events are read too slowly: as-run evidence is waiting in memory.
    EventsBacklog,
    /// The as-run journal went over its limit while the database was away: the oldest
    /// airings' writes were dropped.
    AsrunJournalFull,
    /// A live window's recording stopped (a full disk, a write error); the programme is not
    /// affected.
    RecordingFailed,
}

/// One alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    /// Id (for acknowledging).
    pub id: u64,
    /// Kind.
    pub kind: AlarmKind,
    /// What it is about (item id, destination name).
    pub subject: String,
    /// Chinese message for the operator.
    pub message: String,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// When the condition ended (`None`: still active).
    pub cleared_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acked_by: Option<String>,
    /// When.
    pub acked_at: Option<DateTime<Utc>>,
}

/// The operator's message for a destination that went down: what failed and what to check.
/// `reason` is the engine's English detail (secrets already masked), kept in brackets for
/// whoever reads the logs next.
fn destination_down_zh(name: &str, kind: FailureKind, reason: &str) -> String {
    match kind {
        FailureKind::Refused => {
            format!("推流目标「{name}」拒绝推流（{reason}）：请核对推流码，并确认平台直播间已开启")
        }
        FailureKind::Connect => {
            format!("连不上推流目标「{name}」（{reason}）：请检查网络和推流地址，正在重连")
        }
        FailureKind::Tls => {
            format!("推流目标「{name}」TLS 握手失败（{reason}）：请检查证书和 tls_ca 设置")
        }
        FailureKind::Timeout => format!("推流目标「{name}」无响应（{reason}），正在重连"),
        FailureKind::Lost => format!("推流目标「{name}」连接中断（{reason}），正在重连"),
        FailureKind::Protocol => format!("推流目标「{name}」协议出错（{reason}），正在重连"),
        FailureKind::Local => {
            format!("推流目标「{name}」本地写出失败（{reason}）：请检查磁盘和目录权限")
        }
        FailureKind::Url => format!("推流目标「{name}」的地址无效（{reason}）：请修改配置"),
        FailureKind::Restart => format!("推流目标「{name}」重新建立连接（{reason}）"),
    }
}

/// How many alarms are kept.
const KEEP: usize = 200;

/// The alarm board.
#[derive(Debug, Default, Clone)]
pub struct Alarms {
    next: u64,
    list: Vec<Alarm>,
    version: u64,
    /// Since when the engine has had nothing to play (raised after [`IDLE_GRACE_MS`]: the
    /// engine's first frames come before its first cue).
    idle_since: Option<DateTime<Utc>>,
}

/// How long "nothing scheduled" must last before it is an alarm.
pub const IDLE_GRACE_MS: i64 = 2000;

/// What the board needs to know about an item id.
#[derive(Debug, Clone)]
pub struct ItemView {
    /// Title.
    pub title: String,
    /// A slow-live item.
    pub live: bool,
}

impl Alarms {
    /// Changes each time the board changes (for live updates).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Newest first.
    pub fn list(&self) -> Vec<Alarm> {
        self.list.iter().rev().cloned().collect()
    }

    /// Active or unacknowledged alarms.
    pub fn open(&self) -> usize {
        self.list
            .iter()
            .filter(|a| a.cleared_at.is_none() || a.acked_by.is_none())
            .count()
    }

    /// Raises an alarm unless the same one (kind and subject) is active already.
    pub fn raise(&mut self, kind: AlarmKind, subject: &str, message: String, now: DateTime<Utc>) {
        if self
            .list
            .iter()
            .any(|a| a.kind == kind && a.subject == subject && a.cleared_at.is_none())
        {
            return;
        }
        self.push(kind, subject, message, now);
    }

    /// Like [`Alarms::raise`], but an alarm already active takes the new message (the cause
    /// of a destination that keeps failing may change: first the network, then the key).
    pub fn raise_or_update(
        &mut self,
        kind: AlarmKind,
        subject: &str,
        message: String,
        now: DateTime<Utc>,
    ) {
        let active = self
            .list
            .iter_mut()
            .find(|a| a.kind == kind && a.subject == subject && a.cleared_at.is_none());
        match active {
            Some(a) if a.message == message => {}
            Some(a) => {
                a.message = message;
                self.version += 1;
            }
            None => self.push(kind, subject, message, now),
        }
    }

    fn push(&mut self, kind: AlarmKind, subject: &str, message: String, now: DateTime<Utc>) {
        self.next += 1;
        tracing::warn!(kind = ?kind, subject, message = %message, "alarm");
        self.list.push(Alarm {
            id: self.next,
            kind,
            subject: subject.into(),
            message,
            raised_at: now,
            cleared_at: None,
            acked_by: None,
            acked_at: None,
        });
        if self.list.len() > KEEP {
            let drop = self.list.len() - KEEP;
            self.list.drain(..drop);
        }
        self.version += 1;
    }

    /// Clears the active alarms of `kinds` about `subject` (`None`: any subject).
    pub fn clear(&mut self, kinds: &[AlarmKind], subject: Option<&str>, now: DateTime<Utc>) {
        let mut changed = false;
        for a in &mut self.list {
            if a.cleared_at.is_none()
                && kinds.contains(&a.kind)
                && subject.is_none_or(|s| s == a.subject)
            {
                a.cleared_at = Some(now);
                changed = true;
            }
        }
        if changed {
            self.version += 1;
        }
    }

    /// Raises "nothing scheduled" once it has lasted [`IDLE_GRACE_MS`]; call about once a
    /// second.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        if let Some(since) = self.idle_since
            && (now - since).num_milliseconds() >= IDLE_GRACE_MS
        {
            self.raise(
                AlarmKind::Fallback,
                "",
                "没有安排节目，等待画面在播".into(),
                now,
            );
        }
    }

    /// Acknowledges alarm `id`; `None` when there is no such alarm.
    pub fn ack(&mut self, id: u64, by: &str, now: DateTime<Utc>) -> Option<Alarm> {
        let a = self.list.iter_mut().find(|a| a.id == id)?;
        if a.acked_by.is_none() {
            a.acked_by = Some(by.to_string());
            a.acked_at = Some(now);
            self.version += 1;
        }
        Some(a.clone())
    }

    /// Raises and clears from one engine event. `item` tells what an item id is.
    pub fn on_event(
        &mut self,
        ev: &Event,
        item: impl Fn(&str) -> Option<ItemView>,
        now: DateTime<Utc>,
    ) {
        match ev {
            Event::FallbackOn {
                id, reason, fill, ..
            } => match id.as_deref() {
                Some(id) => {
                    let v = item(id);
                    let title = v.as_ref().map_or(id.to_string(), |v| v.title.clone());
                    if v.is_some_and(|v| v.live) {
                        self.raise(
                            AlarmKind::LiveNotDelivering,
                            id,
                            match fill {
                                playout::Fill::Backup => {
                                    format!("慢直播「{title}」信号中断，备播素材在播：{reason}")
                                }
                                playout::Fill::Slate => {
                                    format!("慢直播「{title}」信号中断，等待画面在播：{reason}")
                                }
                            },
                            now,
                        );
                    } else {
                        self.raise(
                            AlarmKind::Fallback,
                            id,
                            format!("「{title}」无法播出，等待画面在播：{reason}"),
                            now,
                        );
                    }
                }
                None => {
                    self.idle_since.get_or_insert(now);
                }
            },
            Event::FallbackOff { .. } => {
                self.idle_since = None;
                self.clear(
                    &[AlarmKind::Fallback, AlarmKind::LiveNotDelivering],
                    None,
                    now,
                )
            }
            Event::ItemStarted { .. } => {
                self.idle_since = None;
                // A new item on air: a fallback of the previous one is over, and "nothing
                // scheduled" too.
                self.clear(
                    &[AlarmKind::Fallback, AlarmKind::LiveNotDelivering],
                    None,
                    now,
                );
            }
            Event::DestinationDown { kind, .. } if *kind == FailureKind::Restart => {}
            Event::DestinationDown { name, reason, kind } => self.raise_or_update(
                AlarmKind::DestinationLost,
                name,
                destination_down_zh(name, *kind, reason),
                now,
            ),
            Event::DestinationUp { name } => {
                self.clear(&[AlarmKind::DestinationLost], Some(name), now)
            }
            Event::ItemEnded { .. } | Event::ClockSync { .. } | Event::Stopped => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_788_192_000 + s, 0).expect("instant")
    }

    #[test]
    fn a_live_feed_down_on_its_backup_is_an_alarm_that_says_so_until_it_is_back() {
        let mut a = Alarms::default();
        let live = |_: &str| {
            Some(ItemView {
                title: "星空望远镜".into(),
                live: true,
            })
        };
        a.on_event(
            &Event::FallbackOn {
                id: Some("f3".into()),
                frame: 10,
                reason: playout::FallbackReason::Stalled,
                fill: playout::Fill::Backup,
            },
            live,
            t(0),
        );
        let list = a.list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].kind, AlarmKind::LiveNotDelivering);
        assert!(
            list[0].message.contains("「星空望远镜」") && list[0].message.contains("备播素材在播"),
            "{}",
            list[0].message
        );
        a.on_event(
            &Event::FallbackOff {
                id: Some("f3".into()),
                frame: 60,
            },
            live,
            t(2),
        );
        assert_eq!(
            a.list()[0].cleared_at,
            Some(t(2)),
            "over once the feed is back"
        );
    }

    #[test]
    fn alarms_raise_once_clear_and_stay_until_acknowledged() {
        let mut a = Alarms::default();
        let live = |id: &str| {
            Some(ItemView {
                title: format!("标题{id}"),
                live: id == "f1",
            })
        };
        let down = Event::DestinationDown {
            name: "bili".into(),
            reason: "connection refused".into(),
            kind: FailureKind::Connect,
        };
        a.on_event(&down, live, t(0));
        a.on_event(&down, live, t(1));
        assert_eq!(a.list().len(), 1, "raised once while active");
        a.on_event(
            &Event::FallbackOn {
                id: Some("f1".into()),
                frame: 10,
                reason: playout::FallbackReason::Stalled,
                fill: playout::Fill::Slate,
            },
            live,
            t(2),
        );
        let list = a.list();
        assert_eq!(list[0].kind, AlarmKind::LiveNotDelivering);
        assert!(list[0].message.contains("标题f1"), "{}", list[0].message);
        a.on_event(
            &Event::DestinationUp {
                name: "bili".into(),
            },
            live,
            t(3),
        );
        let bili = a
            .list()
            .into_iter()
            .find(|x| x.subject == "bili")
            .expect("kept");
        assert_eq!(bili.cleared_at, Some(t(3)));
        assert_eq!(a.open(), 2, "cleared but not acknowledged still counts");
        let v = a.version();
        let acked = a.ack(bili.id, "值班员", t(4)).expect("ack");
        assert_eq!(acked.acked_by.as_deref(), Some("值班员"));
        assert!(a.version() > v);
        assert_eq!(a.open(), 1);
        assert!(a.ack(999, "x", t(5)).is_none());
    }

    #[test]
    fn a_destination_alarm_says_what_failed_and_follows_the_cause() {
        let mut a = Alarms::default();
        let none = |_: &str| None;
        let down = |kind, reason: &str| Event::DestinationDown {
            name: "抖音".into(),
            reason: reason.into(),
            kind,
        };
        // A restart for new codec headers is not a fault.
        a.on_event(
            &down(FailureKind::Restart, "the stream headers changed"),
            none,
            t(0),
        );
        assert!(a.list().is_empty(), "{:?}", a.list());
        a.on_event(
            &down(FailureKind::Connect, "connecting to h:1935 timed out"),
            none,
            t(1),
        );
        let first = a.list()[0].clone();
        assert!(
            first.message.contains("连不上推流目标「抖音」") && first.message.contains("h:1935"),
            "{}",
            first.message
        );
        let v = a.version();
        a.on_event(
            &down(
                FailureKind::Refused,
                "the platform refused the stream key: NetStream.Publish.BadName",
            ),
            none,
            t(2),
        );
        let list = a.list();
        assert_eq!(list.len(), 1, "one alarm for the destination: {list:?}");
        assert_eq!(list[0].id, first.id);
        assert_eq!(list[0].raised_at, t(1), "raised when it first failed");
        assert!(
            list[0].message.contains("拒绝推流") && list[0].message.contains("推流码"),
            "now the key: {}",
            list[0].message
        );
        assert!(a.version() > v, "the board changed");
    }

    #[test]
    fn nothing_scheduled_is_an_alarm_only_when_it_lasts() {
        let mut a = Alarms::default();
        let none = |_: &str| None;
        let idle = Event::FallbackOn {
            id: None,
            frame: 0,
            reason: playout::FallbackReason::NothingScheduled,
            fill: playout::Fill::Slate,
        };
        // Start-up: the first frames precede the first cue, which starts an item at once.
        a.on_event(&idle, none, t(0));
        a.tick(t(1));
        a.on_event(
            &Event::ItemStarted {
                id: "x".into(),
                frame: 30,
                wall_ns: 0,
                offset_frames: 0,
            },
            none,
            t(1),
        );
        a.tick(t(5));
        assert!(a.list().is_empty(), "{:?}", a.list());
        // A real gap in the rundown.
        a.on_event(&idle, none, t(10));
        a.tick(t(11));
        assert!(a.list().is_empty());
        a.tick(t(12));
        assert_eq!(a.list().len(), 1);
        assert!(a.list()[0].message.contains("没有安排节目"));
    }
}
