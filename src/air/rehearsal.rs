//! Rehearsal through the controller that airs: the days are stored in a private in-memory
//! database, the on-air controller plans and cues them exactly as `serve` does, the
//! simulated engine ([`playout::sim::SimEngine`]: the real switcher and ticker, stand-in
//! sources that know what the media probe found) plays them on a simulated clock, and the
//! report is read off the as-run log that run wrote: dead air, cut items, missing or
//! unverified media, live windows without a source, airtime by section, category and unit
//! ([`crate::rundown::rehearse::Rehearsal`]). A day rehearses in about a second.
//!
//! Also returns every cue the engine was handed, with its start as a programme instant —
//! the list `serve` hands its engine for the same stored days.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::controller::simulate::Simulation;
use super::plan::engine_source;
use super::{AirSettings, CueView};
use crate::asrun::{Airing, AsRunLog, AsRunQuery};
use crate::rundown::rehearse::{
    Incident, MediaCheck, MediaProbe, Rehearsal, RehearsalDay, account as account_airtime,
};
use crate::rundown::time::{fmt_frames_short, wall};
use crate::rundown::{CompiledSchedule, Day, ItemKind};
use crate::rundown_db::DbDayStore;
use crate::store::Store;

/// Why a rehearsal could not run.
#[derive(Debug, thiserror::Error)]
pub enum RehearsalError {
    /// The private database could not be made.
    #[error("排练数据库无法创建：{0}")]
    Store(String),
    /// The simulated engine could not start.
    #[error("模拟播出引擎无法启动：{0}")]
    Engine(String),
}

/// Rehearses `days` (in date order) through the controller and the simulated engine.
pub async fn rehearse(
    days: &[Day],
    probe: &dyn MediaProbe,
    schedule: Option<&CompiledSchedule>,
) -> Result<(Rehearsal, Vec<CueView>), RehearsalError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok((Rehearsal::default(), Vec::new()));
    };
    // A private database in memory, shared by the pool's connections, gone with them.
    let name = format!(
        "kepu-rehearsal-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    );
    let store = Store::open(&format!("sqlite:file:{name}?mode=memory&cache=shared"))
        .await
        .map_err(|e| RehearsalError::Store(e.to_string()))?;
    let store_days = DbDayStore::new(store.clone());
    for d in days {
        store_days
            .save_async(d, "rehearsal", "rehearsal", d.start)
            .await
            .map_err(|e| RehearsalError::Store(e.to_string()))?;
    }
    // What the media probe says of every source, by the URI the engine opens.
    let mut checks: HashMap<String, MediaCheck> = HashMap::new();
    let mut media: HashMap<String, Option<u64>> = HashMap::new();
    for d in days {
        for it in &d.items {
            let source = engine_source(it);
            if checks.contains_key(&it.source) || it.kind == ItemKind::Slate {
                continue;
            }
            let check = if it.source.trim().is_empty() {
                MediaCheck::Missing
            } else {
                probe.probe(&it.source)
            };
            let frames = match &check {
                MediaCheck::Present { frames: Some(f) } => Some(*f),
                MediaCheck::Present { frames: None } | MediaCheck::Unverified(_) => Some(u64::MAX),
                MediaCheck::Missing => None,
            };
            media.insert(playout::cue::to_uri(&source), frames);
            checks.insert(it.source.clone(), check);
        }
    }
    let media = Arc::new(move |uri: &str| media.get(uri).copied().unwrap_or(Some(u64::MAX)));
    let asrun = AsRunLog::new(store.clone());
    let settings = AirSettings {
        lookahead: Duration::from_secs(600),
        edit_lead: Duration::from_secs(1),
        poll: Duration::from_secs(300),
        db_timeout: Duration::from_secs(30),
        restart_engine: false,
        fault_drills: false,
        loudness: None,
    };
    let start = first.start - chrono::Duration::seconds(2);
    let mut sim = Simulation::start(
        store_days,
        asrun.clone(),
        first.rate,
        start,
        media,
        settings,
    )
    .map_err(|e| RehearsalError::Engine(e.to_string()))?
    // Nothing fails on purpose here: supervise once a second of programme.
    .with_slice(1_000_000_000)
    // Nobody reads the status of a rehearsal but its end.
    .with_status_every(60_000_000_000);
    sim.run_until(last.end + chrono::Duration::milliseconds(400))
        .await;
    let cues = sim
        .cues_seen()
        .into_iter()
        .map(|(c, start)| CueView {
            id: c.id,
            title: c.title,
            source: playout::output::mask::mask_url(&c.source),
            start,
            frames: c.length,
            in_point_ns: c.in_point_ns,
        })
        .collect();
    sim.finish().await;
    let mut rows: Vec<Airing> = Vec::new();
    for d in days {
        let q = AsRunQuery {
            day: Some(d.date.to_string()),
            ..AsRunQuery::default()
        };
        rows.extend(
            asrun
                .query(&q)
                .await
                .map_err(|e| RehearsalError::Store(e.to_string()))?,
        );
    }
    rows.sort_by_key(|r| r.first_frame_ms);
    let slow: Vec<&str> = schedule
        .map(|cs| {
            cs.sections
                .iter()
                .filter(|s| s.slow_live)
                .map(|s| s.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Rehearsal::default();
    for d in days {
        out.days.push(report_day(d, &rows, &checks, &slow));
    }
    Ok((out, cues))
}

/// The report of one day from the as-run rows of the rehearsal.
fn report_day(
    day: &Day,
    rows: &[Airing],
    checks: &HashMap<String, MediaCheck>,
    slow: &[&str],
) -> RehearsalDay {
    let tz = day.tz();
    let rate = day.rate;
    let frame_ms = rate.ns_of(1) / 1_000_000;
    let mut r = RehearsalDay {
        date: day.date.to_string(),
        ..Default::default()
    };
    let inc = |list: &mut Vec<Incident>, at: DateTime<Utc>, frames: u64, message: String| {
        list.push(Incident {
            at,
            wall: wall(tz, at),
            frames,
            message,
        });
    };
    let at_ms = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or(day.start);
    let frames_between = |a: i64, b: i64| rate.frames_between(at_ms(a), at_ms(b)).max(0) as u64;
    // Programme covered by airings, to find dead air between them.
    let mut cursor = day.start.timestamp_millis();
    for it in &day.items {
        let mine: Vec<&Airing> = rows
            .iter()
            .filter(|a| a.planned_start_ms == Some(it.start.timestamp_millis()))
            .collect();
        let live_window = it.kind == ItemKind::Live
            || slow.contains(&it.section.as_str()) && it.kind.is_programme();
        if it.kind != ItemKind::Slate {
            if it.source.trim().is_empty() {
                let what = if live_window {
                    "慢直播时段无信号源"
                } else {
                    "没有素材"
                };
                inc(
                    &mut r.no_source,
                    it.start,
                    it.frames,
                    format!("“{}”{what}", it.title),
                );
            } else {
                match checks.get(&it.source) {
                    Some(MediaCheck::Missing) => inc(
                        &mut r.missing,
                        it.start,
                        it.frames,
                        format!("“{}”素材不存在：{}", it.title, it.source),
                    ),
                    Some(MediaCheck::Unverified(why)) => inc(
                        &mut r.unverified,
                        it.start,
                        it.frames,
                        format!("“{}”未验证（{why}）：{}", it.title, it.source),
                    ),
                    Some(MediaCheck::Present { frames: Some(len) })
                        if *len < it.in_frames + it.frames =>
                    {
                        inc(
                            &mut r.missing,
                            it.start,
                            it.in_frames + it.frames - len,
                            format!(
                                "“{}”素材只有 {}，不足计划时长",
                                it.title,
                                fmt_frames_short(rate, *len)
                            ),
                        )
                    }
                    _ => {}
                }
            }
        }
        let Some(first) = mine.first() else {
            continue;
        };
        r.items += 1;
        if first.first_frame_ms > cursor {
            let f = frames_between(cursor, first.first_frame_ms);
            inc(
                &mut r.gaps,
                at_ms(cursor),
                f,
                format!(
                    "空档 {}：无节目直到“{}”",
                    fmt_frames_short(rate, f),
                    it.title
                ),
            );
            r.dead_air_frames += f;
        }
        let mut aired = 0u64;
        for a in &mine {
            let frames = u64::try_from(a.frames.unwrap_or(0)).unwrap_or(0);
            let mut fallback = 0u64;
            for fb in &a.fallbacks {
                let f = frames_between(fb.from_ms, fb.to_ms);
                fallback += f;
                inc(
                    &mut r.gaps,
                    at_ms(fb.from_ms),
                    f,
                    format!(
                        "“{}”无法播出或提前结束，空档 {}（{}）",
                        it.title,
                        fmt_frames_short(rate, f),
                        fb.reason
                    ),
                );
                r.dead_air_frames += f;
            }
            aired += frames.saturating_sub(fallback);
            if let Some(last) = a.last_frame_ms {
                cursor = cursor.max(last + frame_ms);
            }
            if a.end_reason.as_deref() == Some("cut") && frames < it.frames {
                inc(
                    &mut r.overlaps,
                    at_ms(a.last_frame_ms.unwrap_or(a.first_frame_ms) + frame_ms),
                    it.frames - frames,
                    format!(
                        "“{}”被硬切入截去 {}",
                        it.title,
                        fmt_frames_short(rate, it.frames - frames)
                    ),
                );
            }
        }
        account_airtime(&mut r, it, aired);
    }
    let end = day.end.timestamp_millis();
    if cursor < end {
        let f = frames_between(cursor, end);
        inc(
            &mut r.gaps,
            at_ms(cursor),
            f,
            format!("空档 {}：至午夜无节目", fmt_frames_short(rate, f)),
        );
        r.dead_air_frames += f;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rundown::DayItem;
    use crate::rundown::FrameRate;
    use crate::rundown::time::day_bounds;

    const RATE: FrameRate = FrameRate { num: 25, den: 1 };

    fn item(title: &str, source: &str, frames: u64, kind: ItemKind) -> DayItem {
        DayItem {
            start: DateTime::<Utc>::MIN_UTC,
            frames,
            in_frames: 0,
            kind,
            work_id: None,
            feed_id: None,
            title: title.into(),
            source: source.into(),
            section: "悦科普".into(),
            block: "测试".into(),
            unit: "测试科技馆".into(),
            unit_id: Some(1),
            copyright_holder: String::new(),
            categories: vec![2],
            premiere: false,
            pinned: false,
            cut: false,
        }
    }

    /// Answers from a fixed list; anything else is present with no known length.
    struct Probe;

    impl MediaProbe for Probe {
        fn probe(&self, source: &str) -> MediaCheck {
            match source {
                "/m/missing.mp4" => MediaCheck::Missing,
                "/m/short.mp4" => MediaCheck::Present {
                    frames: Some(50_000),
                },
                s if s.starts_with("rtsp://") => MediaCheck::Unverified("网络信号".into()),
                _ => MediaCheck::Present { frames: None },
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_day_rehearsed_through_the_controller_reports_missing_media_dead_air_and_its_cues() {
        let date = "2027-09-03".parse().expect("date");
        let (start, end) = day_bounds(chrono_tz::Asia::Shanghai, date);
        let total = RATE.frames_between(start, end) as u64;
        let mut items = vec![
            item("甲", "/m/a.mp4", 90_000, ItemKind::Work),
            item("缺", "/m/missing.mp4", 45_000, ItemKind::Work),
            item("短", "/m/short.mp4", 60_000, ItemKind::Work),
            item("星空", "rtsp://cam/live", 270_000, ItemKind::Live),
            item("无源", "", 9_000, ItemKind::Work),
        ];
        let used: u64 = items.iter().map(|i| i.frames).sum();
        items.push(item("节目即将开始", "", total - used, ItemKind::Slate));
        let mut at = 0;
        for it in &mut items {
            it.start = RATE.add(start, at);
            at += it.frames;
        }
        let day = Day {
            date,
            edition: "2026".into(),
            time_zone: "Asia/Shanghai".into(),
            rate: RATE,
            start,
            end,
            items,
        };
        let wall = std::time::Instant::now();
        let (r, cues) = rehearse(std::slice::from_ref(&day), &Probe, None)
            .await
            .expect("rehearsal");
        eprintln!(
            "one day through the controller in {:.1} s",
            wall.elapsed().as_secs_f64()
        );
        let new = &r.days[0];
        eprintln!("{new:#?}");
        assert_eq!(new.items, day.items.len(), "every item aired");
        assert_eq!(cues.len(), day.items.len(), "one cue per item");
        assert_eq!(
            cues[1].start,
            Some(day.items[1].start),
            "cues start where the rundown says"
        );
        let msgs = |v: &Vec<Incident>| v.iter().map(|i| i.message.clone()).collect::<Vec<_>>();
        assert_eq!(
            msgs(&new.missing),
            [
                "“缺”素材不存在：/m/missing.mp4",
                "“短”素材只有 00:33:20，不足计划时长"
            ]
        );
        assert_eq!(
            msgs(&new.unverified),
            ["“星空”未验证（网络信号）：rtsp://cam/live"]
        );
        // The scheduled slate plays the engine's slate card: it needs no source.
        assert_eq!(msgs(&new.no_source), ["“无源”没有素材"]);
        // Dead air: the missing file's whole slot, the short file's last 10,000 frames and
        // the empty source's slot — on air each begins with the last picture held for the
        // switcher's hold (0.5 s, 12 frames) before the slate, which the as-run logs as the
        // item's own frames.
        let hold = 12;
        let expected = 45_000 + 10_000 + 9_000;
        assert!(
            new.dead_air_frames <= expected && new.dead_air_frames + 3 * hold >= expected,
            "{} frames of dead air, expected {expected} less at most 3 holds",
            new.dead_air_frames
        );
        assert_eq!(new.slate_frames, day.items[5].frames);
        // Every frame of the day is accounted for once.
        let programme: u64 = new.by_section.values().sum();
        assert_eq!(
            programme + new.filler_frames + new.slate_frames + new.dead_air_frames,
            RATE.frames_between(day.start, day.end) as u64
        );
    }
}
