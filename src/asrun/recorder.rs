//! Turns the engine's events into as-run writes, without I/O: the daemon tells the recorder
//! what it cued ([`ItemInfo`]: title, work, unit, source, rundown day and version), feeds it
//! every [`playout::Event`], and applies the [`Write`]s it returns to the [`super::AsRunLog`]
//! in order. Fallback intervals are closed when the fallback ends or when the item ends.
//!
//! Frame instants come from the engine: `ItemStarted`/`ItemEnded` carry wall time; fallback
//! frames are placed on the item's own frame clock (start wall time + frames × frame length).

use super::{AiringRecording, Fallback, NewAiring};
use playout::{EndReason, Event, Rate};
use std::collections::HashMap;

/// What the daemon knows about a cued item (the engine only knows its id).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ItemInfo {
    /// The engine's item id.
    pub item_id: String,
    /// The catalog work, if the item is one.
    pub work_id: Option<i64>,
    /// The submitting unit, if known.
    pub unit_id: Option<i64>,
    /// 节目名称.
    pub title: String,
    /// The source actually cued (file path or feed name; never a URL with a key).
    pub source: String,
    /// Planned start, UTC ms.
    pub planned_start_ms: Option<i64>,
    /// The rundown day it came from ('YYYY-MM-DD').
    pub rundown_day: Option<String>,
    /// The rundown version it came from.
    pub rundown_version: Option<i64>,
    /// Loudness correction applied on air, milli-dB (`None`: none, the item unmeasured).
    pub gain_mdb: Option<i32>,
}

/// One write to the as-run log, to be applied in order (serialized as one record of the
/// local journal, [`super::journal`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Write {
    /// A new airing: its first frame left the switcher.
    Start(NewAiring),
    /// A fallback interval inside the airing `key`.
    Fallback {
        /// The airing.
        key: String,
        /// The interval.
        interval: Fallback,
    },
    /// The airing `key` ended.
    End {
        /// The airing.
        key: String,
        /// Instant of its last frame, UTC ms.
        last_frame_ms: i64,
        /// Frames it played.
        frames: i64,
        /// Why it ended (`complete`, `cut`, `skipped`, `failed`, `missed`, `shutdown`).
        reason: String,
    },
    /// The recording of the live airing `key` is finished (written after its end; the
    /// daemon matches recordings to airings, see `air::controller`).
    Recording {
        /// The airing.
        key: String,
        /// Where the recording is and what it holds.
        recording: AiringRecording,
    },
}

struct OnAir {
    key: String,
    item_id: String,
    start_frame: u64,
    start_wall_ns: u64,
    fallback: Option<(i64, String)>,
}

/// The pure event → row translator. One per engine.
pub struct AsRunRecorder {
    rate: Rate,
    cued: HashMap<String, ItemInfo>,
    on_air: Option<OnAir>,
}

/// A fallback interval's reason as the as-run log says it: what filled the air — 「垫片」
/// (the slate) or 「备播素材」 (the feed's backup clip) — then why, as the engine reported it.
pub fn fallback_reason(fill: playout::Fill, reason: &playout::FallbackReason) -> String {
    format!("{}：{reason}", fill.label_zh())
}

/// The stable key of an airing: item id and first-frame instant.
pub fn airing_key(item_id: &str, first_frame_ms: i64) -> String {
    format!("{item_id}@{first_frame_ms}")
}

/// Name of an end reason as stored.
pub fn reason_name(r: EndReason) -> &'static str {
    match r {
        EndReason::Complete => "complete",
        EndReason::Cut => "cut",
        EndReason::Skipped => "skipped",
        EndReason::Failed => "failed",
        EndReason::Missed => "missed",
        EndReason::Shutdown => "shutdown",
        EndReason::EngineFailed => "engine_failed",
    }
}

fn ns_to_ms(ns: u64) -> i64 {
    i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)
}

impl AsRunRecorder {
    /// A recorder for an engine running at `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            cued: HashMap::new(),
            on_air: None,
        }
    }

    /// Registers what the daemon cued, before the engine may start it.
    pub fn cue(&mut self, info: ItemInfo) {
        self.cued.insert(info.item_id.clone(), info);
    }

    /// Forgets a cue that was withdrawn before it aired.
    pub fn uncue(&mut self, item_id: &str) {
        self.cued.remove(item_id);
    }

    /// The airing on air now, if any.
    pub fn on_air_key(&self) -> Option<&str> {
        self.on_air.as_ref().map(|o| o.key.as_str())
    }

    fn frame_ms(&self, o: &OnAir, frame: u64) -> i64 {
        let n = frame.saturating_sub(o.start_frame);
        ns_to_ms(o.start_wall_ns.saturating_add(self.rate.frame_to_ns(n)))
    }

    /// The engine that played the airing on air died: the airing ends at `wall_ns` (the
    /// last instant frames were seen leaving the encoder) with reason `engine_failed`. The
    /// restarted engine starts the item again as a new airing; the gap between the two is
    /// the outage, on the record.
    pub fn engine_lost(&mut self, wall_ns: u64) -> Vec<Write> {
        let Some(o) = &self.on_air else {
            return Vec::new();
        };
        let frames = self
            .rate
            .ns_to_frame_round(wall_ns.saturating_sub(o.start_wall_ns));
        let end = Event::ItemEnded {
            id: o.item_id.clone(),
            frame: o.start_frame + frames,
            wall_ns: o.start_wall_ns + self.rate.frame_to_ns(frames),
            frames,
            reason: EndReason::EngineFailed,
        };
        // The item stays cued: the new engine plays the rest of it.
        let info = self.cued.get(&o.item_id).cloned();
        let out = self.on_event(&end);
        if let Some(info) = info {
            self.cued.insert(info.item_id.clone(), info);
        }
        out
    }

    /// Consumes one engine event; returns what to write (often nothing).
    pub fn on_event(&mut self, event: &Event) -> Vec<Write> {
        let mut out = Vec::new();
        match event {
            Event::ItemStarted {
                id, frame, wall_ns, ..
            } => {
                // An item still open (no ItemEnded seen) is closed where the new one starts.
                if let Some(prev) = self.on_air.take() {
                    let fake_end = Event::ItemEnded {
                        id: prev.item_id.clone(),
                        frame: *frame,
                        wall_ns: *wall_ns,
                        frames: frame.saturating_sub(prev.start_frame),
                        reason: EndReason::Cut,
                    };
                    self.on_air = Some(prev);
                    out.extend(self.on_event(&fake_end));
                }
                let info = self.cued.get(id).cloned().unwrap_or_else(|| ItemInfo {
                    item_id: id.clone(),
                    title: id.clone(),
                    source: "未知".into(),
                    ..ItemInfo::default()
                });
                let first_frame_ms = ns_to_ms(*wall_ns);
                let key = airing_key(id, first_frame_ms);
                out.push(Write::Start(NewAiring {
                    key: key.clone(),
                    info,
                    first_frame_ms,
                }));
                self.on_air = Some(OnAir {
                    key,
                    item_id: id.clone(),
                    start_frame: *frame,
                    start_wall_ns: *wall_ns,
                    fallback: None,
                });
            }
            Event::ItemEnded {
                id,
                frame,
                wall_ns,
                frames,
                reason,
            } => {
                let Some(mut o) = self.on_air.take() else {
                    return out;
                };
                if &o.item_id != id {
                    self.on_air = Some(o);
                    return out;
                }
                let end_ms = self.frame_ms(&o, *frame);
                if let Some((from_ms, why)) = o.fallback.take() {
                    out.push(Write::Fallback {
                        key: o.key.clone(),
                        interval: Fallback {
                            from_ms,
                            to_ms: end_ms,
                            reason: why,
                        },
                    });
                }
                let start_ms = ns_to_ms(o.start_wall_ns);
                let last_frame_ms = if *frames == 0 {
                    start_ms
                } else {
                    ns_to_ms(wall_ns.saturating_sub(self.rate.frame_to_ns(1))).max(start_ms)
                };
                out.push(Write::End {
                    key: o.key,
                    last_frame_ms,
                    frames: i64::try_from(*frames).unwrap_or(i64::MAX),
                    reason: reason_name(*reason).into(),
                });
                self.cued.remove(id);
            }
            Event::FallbackOn {
                id,
                frame,
                reason,
                fill,
            } => {
                if let Some(o) = &self.on_air
                    && id.as_ref().is_none_or(|i| i == &o.item_id)
                {
                    let at = self.frame_ms(o, *frame);
                    let why = fallback_reason(*fill, reason);
                    // What fills the air changed (a backup clip gave way to the slate, or
                    // came ready after it): the interval so far is closed, a new one opens.
                    if let Some((from_ms, open_why)) = &o.fallback {
                        if *open_why == why {
                            return out;
                        }
                        out.push(Write::Fallback {
                            key: o.key.clone(),
                            interval: Fallback {
                                from_ms: *from_ms,
                                to_ms: at,
                                reason: open_why.clone(),
                            },
                        });
                    }
                    if let Some(o) = self.on_air.as_mut() {
                        o.fallback = Some((at, why));
                    }
                }
            }
            Event::FallbackOff { id, frame } => {
                if let Some(o) = &self.on_air
                    && id.as_ref().is_none_or(|i| i == &o.item_id)
                    && let Some((from_ms, why)) = o.fallback.clone()
                {
                    let to_ms = self.frame_ms(o, *frame);
                    out.push(Write::Fallback {
                        key: o.key.clone(),
                        interval: Fallback {
                            from_ms,
                            to_ms,
                            reason: why,
                        },
                    });
                    if let Some(o) = self.on_air.as_mut() {
                        o.fallback = None;
                    }
                }
            }
            Event::DestinationUp { .. }
            | Event::DestinationDown { .. }
            | Event::ClockSync { .. }
            | Event::Stopped => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_790_000_000_000_000_000; // ns

    fn info(id: &str) -> ItemInfo {
        ItemInfo {
            item_id: id.into(),
            work_id: Some(3),
            unit_id: Some(2),
            title: "深海探秘".into(),
            source: "/media/a.mp4".into(),
            planned_start_ms: Some(1_790_000_000_000),
            rundown_day: Some("2026-09-21".into()),
            rundown_version: Some(4),
            gain_mdb: None,
        }
    }

    #[test]
    fn an_item_with_a_fallback_becomes_one_row() {
        let mut r = AsRunRecorder::new(Rate::PAL);
        r.cue(info("a"));
        let w = r.on_event(&Event::ItemStarted {
            id: "a".into(),
            frame: 100,
            wall_ns: T0,
            offset_frames: 0,
        });
        let key = airing_key("a", 1_790_000_000_000);
        assert!(matches!(&w[..], [Write::Start(n)] if n.key == key && n.info.title == "深海探秘"));
        // Fallback from frame 125 (1 s in) to 150 (2 s in).
        assert!(
            r.on_event(&Event::FallbackOn {
                id: Some("a".into()),
                frame: 125,
                reason: playout::FallbackReason::Failed("源文件读取失败".into()),
                fill: playout::Fill::Slate,
            })
            .is_empty()
        );
        let w = r.on_event(&Event::FallbackOff {
            id: Some("a".into()),
            frame: 150,
        });
        assert_eq!(
            w,
            vec![Write::Fallback {
                key: key.clone(),
                interval: Fallback {
                    from_ms: 1_790_000_001_000,
                    to_ms: 1_790_000_002_000,
                    reason: "垫片：source failed: 源文件读取失败".into()
                }
            }]
        );
        // Ends after 250 frames (10 s): last frame 40 ms before the end instant.
        let w = r.on_event(&Event::ItemEnded {
            id: "a".into(),
            frame: 350,
            wall_ns: T0 + 10_000_000_000,
            frames: 250,
            reason: EndReason::Complete,
        });
        assert_eq!(
            w,
            vec![Write::End {
                key,
                last_frame_ms: 1_790_000_009_960,
                frames: 250,
                reason: "complete".into()
            }]
        );
        assert!(r.on_air_key().is_none());
    }

    #[test]
    fn an_open_fallback_closes_with_the_item_and_unknown_items_still_log() {
        let mut r = AsRunRecorder::new(Rate::PAL);
        r.on_event(&Event::ItemStarted {
            id: "x".into(),
            frame: 0,
            wall_ns: T0,
            offset_frames: 0,
        });
        r.on_event(&Event::FallbackOn {
            id: None,
            frame: 25,
            reason: playout::FallbackReason::NothingScheduled,
            fill: playout::Fill::Slate,
        });
        let w = r.on_event(&Event::ItemEnded {
            id: "x".into(),
            frame: 50,
            wall_ns: T0 + 2_000_000_000,
            frames: 50,
            reason: EndReason::Failed,
        });
        assert_eq!(w.len(), 2);
        assert!(
            matches!(&w[0], Write::Fallback { interval, .. } if interval.to_ms == 1_790_000_002_000)
        );
        assert!(matches!(&w[1], Write::End { reason, .. } if reason == "failed"));
    }

    #[test]
    fn a_backup_that_gives_way_to_the_slate_is_two_intervals_that_say_which() {
        let mut r = AsRunRecorder::new(Rate::PAL);
        r.cue(info("cam"));
        r.on_event(&Event::ItemStarted {
            id: "cam".into(),
            frame: 0,
            wall_ns: T0,
            offset_frames: 0,
        });
        let on = |frame, fill| Event::FallbackOn {
            id: Some("cam".into()),
            frame,
            reason: playout::FallbackReason::Stalled,
            fill,
        };
        assert!(r.on_event(&on(50, playout::Fill::Backup)).is_empty());
        // The same fill announced again changes nothing.
        assert!(r.on_event(&on(60, playout::Fill::Backup)).is_empty());
        let key = airing_key("cam", 1_790_000_000_000);
        assert_eq!(
            r.on_event(&on(100, playout::Fill::Slate)),
            vec![Write::Fallback {
                key: key.clone(),
                interval: Fallback {
                    from_ms: 1_790_000_002_000,
                    to_ms: 1_790_000_004_000,
                    reason: "备播素材：source stalled".into()
                }
            }]
        );
        let w = r.on_event(&Event::FallbackOff {
            id: Some("cam".into()),
            frame: 125,
        });
        assert_eq!(
            w,
            vec![Write::Fallback {
                key,
                interval: Fallback {
                    from_ms: 1_790_000_004_000,
                    to_ms: 1_790_000_005_000,
                    reason: "垫片：source stalled".into()
                }
            }]
        );
    }

    #[test]
    fn a_start_without_an_end_closes_the_previous_airing() {
        let mut r = AsRunRecorder::new(Rate::PAL);
        r.on_event(&Event::ItemStarted {
            id: "a".into(),
            frame: 0,
            wall_ns: T0,
            offset_frames: 0,
        });
        let w = r.on_event(&Event::ItemStarted {
            id: "b".into(),
            frame: 25,
            wall_ns: T0 + 1_000_000_000,
            offset_frames: 0,
        });
        assert!(matches!(
            &w[..],
            [Write::End { frames: 25, .. }, Write::Start(_)]
        ));
        // A stray end for an item not on air writes nothing.
        assert!(
            r.on_event(&Event::ItemEnded {
                id: "a".into(),
                frame: 30,
                wall_ns: T0,
                frames: 1,
                reason: EndReason::Cut
            })
            .is_empty()
        );
    }
}
