//! Live windows' recordings in the as-run: which airings a finished recording recorded.
//!
//! Owns the controller's short memory of recent airings (their as-run key, the locator they
//! played, first and last frame on the programme clock) and the rule that ties a finished
//! recording ([`crate::recording::Finished`]) to them, pure, so the controller only feeds
//! it and sends the [`Write::Recording`]s it returns. Does not own recording
//! (`playout::source::live::record`, `crate::recording`) or storing (`asrun`).
//!
//! Rule: a recording recorded an airing when both played the same locator (exactly as
//! cued) and their times overlap by more than a moment — a second, or half of the shorter
//! of the two when one is shorter than two seconds — so an airing that merely begins as the
//! recording's window ends (the next item of another recording, a clock a few ms apart) is
//! not named. A feed split into two items at midnight keeps one recording across the cut:
//! both airings name it. An airing still open counts as lasting until now.

use std::collections::VecDeque;

use crate::asrun::AiringRecording;
use crate::asrun::recorder::Write;
use crate::recording::Finished;

/// Airings remembered (the latest first out): hours of a busy day's items, far more than a
/// recording can take to finish after its airing.
const REMEMBERED: usize = 256;

/// Overlap (ms) above which a recording and an airing are the same window.
const OVERLAP_MS: i64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Aired {
    key: String,
    locator: String,
    first_ms: i64,
    /// Last frame, once it ended.
    last_ms: Option<i64>,
}

/// Recent airings, fed from the as-run writes as they are made.
#[derive(Debug, Default)]
pub struct RecentAirings {
    airings: VecDeque<Aired>,
}

impl RecentAirings {
    /// Notes the writes of one engine event: a start (of an item playing `locator_of` its
    /// item id, `None`: unknown, not remembered) or an end.
    pub fn note(&mut self, writes: &[Write], locator_of: impl Fn(&str) -> Option<String>) {
        for w in writes {
            match w {
                Write::Start(a) => {
                    let Some(locator) = locator_of(&a.info.item_id) else {
                        continue;
                    };
                    if self.airings.len() == REMEMBERED {
                        self.airings.pop_front();
                    }
                    self.airings.push_back(Aired {
                        key: a.key.clone(),
                        locator,
                        first_ms: a.first_frame_ms,
                        last_ms: None,
                    });
                }
                Write::End {
                    key, last_frame_ms, ..
                } => {
                    if let Some(a) = self.airings.iter_mut().rev().find(|a| &a.key == key) {
                        a.last_ms = Some(*last_frame_ms);
                    }
                }
                Write::Fallback { .. } | Write::Recording { .. } => {}
            }
        }
    }

    /// The writes naming `f` in the rows of the airings it recorded (none when it matches no
    /// airing remembered), in airing order.
    pub fn recorded(&self, f: &Finished) -> Vec<Write> {
        let rec = AiringRecording {
            name: f.name.clone(),
            segments: i64::from(f.segments),
            bytes: i64::try_from(f.bytes).unwrap_or(i64::MAX),
        };
        let rec_len = f.end_ms - f.start_ms;
        self.airings
            .iter()
            .filter(|a| a.locator == f.locator)
            .filter(|a| {
                let last = a.last_ms.unwrap_or(i64::MAX);
                let overlap = last.min(f.end_ms) - a.first_ms.max(f.start_ms);
                let shorter = rec_len.min(last.saturating_sub(a.first_ms));
                overlap > OVERLAP_MS.min(shorter / 2)
            })
            .map(|a| Write::Recording {
                key: a.key.clone(),
                recording: rec.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asrun::NewAiring;
    use crate::asrun::recorder::{ItemInfo, airing_key};

    fn start(item: &str, first_ms: i64) -> Write {
        Write::Start(NewAiring {
            key: airing_key(item, first_ms),
            info: ItemInfo {
                item_id: item.into(),
                ..ItemInfo::default()
            },
            first_frame_ms: first_ms,
        })
    }

    fn end(item: &str, first_ms: i64, last_ms: i64) -> Write {
        Write::End {
            key: airing_key(item, first_ms),
            last_frame_ms: last_ms,
            frames: 0,
            reason: "complete".into(),
        }
    }

    fn finished(locator: &str, start_ms: i64, end_ms: i64) -> Finished {
        Finished {
            name: "feed3-20260901T120000Z".into(),
            locator: locator.into(),
            start_ms,
            end_ms,
            segments: 3,
            bytes: 9_000_000,
        }
    }

    fn keys(w: &[Write]) -> Vec<&str> {
        w.iter()
            .map(|w| match w {
                Write::Recording { key, recording } => {
                    assert_eq!(recording.name, "feed3-20260901T120000Z");
                    assert_eq!((recording.segments, recording.bytes), (3, 9_000_000));
                    key.as_str()
                }
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_recording_names_the_airings_of_its_feed_in_its_window_and_no_other() {
        let locators = |id: &str| match id {
            "cam1" | "cam1-next-day" | "cam1-evening" => Some("rtsp://u:secret@cam/1".to_string()),
            "cam2" => Some("srt://cam2:9000".to_string()),
            "clip" => Some("/media/a.mp4".to_string()),
            _ => None,
        };
        let mut r = RecentAirings::default();
        let writes = [
            // 12:00:00–12:01:00 cam1, split at 12:00:40 into two items (one connection);
            // cam2 beside it never (another locator); a clip after; cam1 again in the
            // evening with a recording of its own.
            start("cam1", 100_000),
            end("cam1", 100_000, 139_960),
            start("cam1-next-day", 140_000),
            end("cam1-next-day", 140_000, 159_960),
            start("clip", 160_000),
            end("clip", 160_000, 170_000),
            start("cam1-evening", 160_030),
            start("cam2", 170_000),
            start("unknown", 171_000),
        ];
        r.note(&writes, locators);
        // The recording ends a few ms after the cut and the evening's airing begins then.
        let f = finished("rtsp://u:secret@cam/1", 100_012, 160_050);
        assert_eq!(
            keys(&r.recorded(&f)),
            [
                airing_key("cam1", 100_000),
                airing_key("cam1-next-day", 140_000)
            ]
        );
        // The evening's airing still open: its recording names it.
        let evening = finished("rtsp://u:secret@cam/1", 160_040, 190_000);
        assert_eq!(
            keys(&r.recorded(&evening)),
            [airing_key("cam1-evening", 160_030)]
        );
        // A recording of a locator no airing played: nothing.
        assert!(
            r.recorded(&finished("srt://other:1", 100_000, 200_000))
                .is_empty()
        );
        // A window shorter than a second still finds its airing.
        let mut short = RecentAirings::default();
        short.note(&[start("cam1", 5_000), end("cam1", 5_000, 5_560)], locators);
        assert_eq!(
            keys(&short.recorded(&finished("rtsp://u:secret@cam/1", 5_010, 5_600))),
            [airing_key("cam1", 5_000)]
        );
    }

    #[test]
    fn only_the_latest_airings_are_remembered() {
        let mut r = RecentAirings::default();
        let writes: Vec<Write> = (0..REMEMBERED as i64 + 10)
            .map(|i| start("cam", i * 10_000))
            .collect();
        r.note(&writes, |_| Some("rtsp://cam/1".into()));
        assert_eq!(r.airings.len(), REMEMBERED);
        assert_eq!(r.airings[0].first_ms, 100_000);
    }
}
