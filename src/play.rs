//! `kepu-playout play`: puts a day file on air through the engine.
//!
//! Owns: reading a `DayFile` as a run of rundown items (sequential items from the file's
//! start, hard `at` starts, lengths probed when the file gives none, whole frames with the
//! remainder carried), printing what happens, and stopping cleanly after `--for` or on a
//! signal. The items become engine cues through the on-air controller's planner
//! ([`crate::air::plan::plan`]), the one interpretation of a schedule that `serve` and
//! `rundown rehearse` also use (items already past are joined at the right offset there).
//! Does not own: the rundown's rules (the scheduler) or media (the engine).

use crate::air::plan::{self, DayInView};
use crate::config::ChannelConfig;
use crate::dayfile::DayFile;
use crate::rundown::time::nearest_frame;
use crate::rundown::{Day, DayItem, FrameRate, ItemKind};
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use playout::{Cue, Engine, Event, Timeline};
use std::time::Duration;

/// A file without a start begins this long after "now", so its first item is pre-rolled and
/// starts on its first frame.
const START_LEAD_MS: i64 = 1500;

/// The day file as one run of rundown items at `rate`, and warnings for the person.
///
/// Items follow each other from the file's `start` (or `now` + 1.5 s); an `at` pins an item
/// to its time and cuts the item before it there. Lengths are the file's `duration`, or
/// `probe(source)` (total ms) minus the in-point. Boundaries fall on the frame nearest the
/// exact running time from the last pinned start, so a run of items whose lengths are not
/// whole frames (ten 1.1 s clips at 25 fps: 28, 27, 28 … frames) takes the sum of its lengths
/// to within half a frame. An item whose length stays unknown gets no slot (a warning names
/// its file:line). The returned day spans the first item's start to the last item's end; its
/// `date` is the Shanghai date of its start.
pub fn day_of(
    file: &DayFile,
    rate: FrameRate,
    now: DateTime<Utc>,
    probe: &mut dyn FnMut(&str) -> Result<u64, String>,
) -> (Day, Vec<String>) {
    let mut warnings = Vec::new();
    let day_start = file
        .start
        .unwrap_or(now + chrono::Duration::milliseconds(START_LEAD_MS));
    // Frames from `origin` to `origin + ms`, rounded to the nearest frame: item boundaries
    // there carry the remainder (as `rundown::time::carried_frames` does for the builder).
    let frames_at = |ms: u64| nearest_frame(rate, u128::from(ms));
    // The run in progress: its origin, and the exact ms elapsed in it.
    let mut origin = day_start;
    let mut elapsed_ms: u64 = 0;
    let mut items: Vec<DayItem> = Vec::new();
    for item in &file.items {
        if let Some(at) = item.at {
            origin = at;
            elapsed_ms = 0;
            // A pinned start cuts the item on air before it.
            if let Some(prev) = items.last_mut() {
                let keep = rate.frames_between(prev.start, at).max(0) as u64;
                if keep < prev.frames {
                    prev.frames = keep;
                    prev.cut = true;
                }
            }
        }
        let length_ms = match item.duration_ms {
            Some(d) => d,
            None => match probe(&item.source) {
                Ok(total) => total.saturating_sub(item.in_ms),
                Err(e) => {
                    warnings.push(format!(
                        "{}:{}: {}: {e}; it gets no slot of its own (give it a duration)",
                        file.path.display(),
                        item.line,
                        item.source
                    ));
                    continue;
                }
            },
        };
        let first = frames_at(elapsed_ms);
        elapsed_ms = elapsed_ms.saturating_add(length_ms);
        let frames = frames_at(elapsed_ms) - first;
        items.push(DayItem {
            start: rate.add(origin, first),
            frames,
            in_frames: frames_at(item.in_ms),
            kind: ItemKind::Event,
            work_id: None,
            feed_id: None,
            title: item.title.clone().unwrap_or_else(|| {
                std::path::Path::new(&item.source)
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_else(|| item.source.clone())
            }),
            source: item.source.clone(),
            section: String::new(),
            block: String::new(),
            unit: String::new(),
            unit_id: None,
            copyright_holder: String::new(),
            categories: Vec::new(),
            premiere: false,
            pinned: item.at.is_some(),
            cut: false,
        });
    }
    let end = items.iter().map(|i| i.end(rate)).max().unwrap_or(day_start);
    let day = Day {
        date: day_start.with_timezone(&Shanghai).date_naive(),
        edition: "play".into(),
        time_zone: "Asia/Shanghai".into(),
        rate,
        start: day_start,
        end,
        items,
    };
    (day, warnings)
}

/// The engine cues of `day` on `timeline` from `now` on, through the controller's planner.
pub fn cues(day: &Day, timeline: &Timeline, now: DateTime<Utc>) -> Vec<Cue> {
    let origin =
        DateTime::from_timestamp_nanos(i64::try_from(timeline.origin_unix_ns).unwrap_or(0));
    let first = i64::try_from(timeline.first_frame).unwrap_or(0);
    let rate = day.rate;
    let now_ns = u64::try_from(now.timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0);
    plan::plan(
        &[DayInView { day, version: 0 }],
        |t| first + rate.frames_between(origin, t),
        timeline.first_frame,
        timeline.frame_at(now_ns),
        u64::MAX,
    )
    .into_iter()
    .map(|p| p.cue)
    .collect()
}

fn shanghai(unix_ns: u64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(unix_ns as i64)
        .with_timezone(&Shanghai)
        .format("%H:%M:%S%.3f")
        .to_string()
}

/// Runs the day until `for_secs` (if given) or a signal.
pub async fn run(
    config: ChannelConfig,
    file: DayFile,
    for_secs: Option<u64>,
) -> anyhow::Result<()> {
    let (engine, mut events) = Engine::start_with_events(config.engine_config())?;
    let timeline = engine.timeline();
    // Probing opens every file (up to 10 s each): off the runtime the engine's destinations
    // share.
    let rate = FrameRate {
        num: timeline.rate.num,
        den: timeline.rate.den,
    };
    let (file, (day, warnings)) = tokio::task::spawn_blocking(move || {
        let mut probe = |src: &str| {
            playout::probe::duration_ns(&playout::cue::to_uri(src), Duration::from_secs(10))
                .map(|ns| ns / 1_000_000)
        };
        let planned = day_of(&file, rate, Utc::now(), &mut probe);
        (file, planned)
    })
    .await
    .map_err(|e| anyhow::anyhow!("probing the day's media failed: {e}"))?;
    for w in &warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    let cues = cues(&day, &timeline, Utc::now());
    let titles: std::collections::HashMap<String, String> = cues
        .iter()
        .map(|c| (c.id.clone(), c.title.clone()))
        .collect();
    engine.cue(cues)?;
    println!(
        "on air: {} item(s) from {} to {} destination(s)",
        day.items.len(),
        file.path.display(),
        config.destinations.len()
    );
    for d in &config.destinations {
        println!("  → {} {}", d.name, playout::output::mask::mask_url(&d.url));
    }
    let stop_at = for_secs.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    loop {
        let sleep = async {
            match stop_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => break,
            _ = crate::signal::shutdown() => {
                println!("stopping (signal)");
                break;
            }
            ev = events.recv() => match ev {
                Some(e) => print_event(&e, &titles),
                None => break,
            }
        }
    }
    let status = engine.status().await.ok();
    // An orderly stop is bounded; a second signal during it exits at once.
    tokio::select! {
        _ = engine.stop() => {}
        _ = crate::signal::shutdown() => {
            eprintln!("second signal: exiting now");
            std::process::exit(130);
        }
    }
    if let Some(s) = status {
        println!(
            "stopped at frame {}: {} frame(s) dropped, {} repeated, max lateness {} ms",
            s.frame,
            s.frames_dropped,
            s.frames_repeated,
            s.max_lateness_ns / 1_000_000
        );
    }
    Ok(())
}

fn print_event(e: &Event, titles: &std::collections::HashMap<String, String>) {
    let title = |id: &str| titles.get(id).cloned().unwrap_or_else(|| id.to_string());
    match e {
        Event::ItemStarted {
            id,
            frame,
            wall_ns,
            offset_frames,
        } => {
            let join = if *offset_frames > 0 {
                format!(" (joined {offset_frames} frames in)")
            } else {
                String::new()
            };
            println!(
                "{} ▶ {} [frame {frame}]{join}",
                shanghai(*wall_ns),
                title(id)
            );
        }
        Event::ItemEnded {
            id,
            wall_ns,
            frames,
            reason,
            ..
        } => println!(
            "{} ■ {} after {frames} frames ({reason:?})",
            shanghai(*wall_ns),
            title(id)
        ),
        Event::FallbackOn {
            id, reason, fill, ..
        } => println!(
            "  ⚠ {} on air{}: {reason}",
            match fill {
                playout::Fill::Slate => "slate",
                playout::Fill::Backup => "backup clip",
            },
            id.as_deref()
                .map(|i| format!(" for {}", title(i)))
                .unwrap_or_default()
        ),
        Event::FallbackOff { .. } => {}
        Event::DestinationUp { name } => println!("  ↑ {name} live"),
        Event::DestinationDown { name, reason, .. } => println!("  ↓ {name} down: {reason}"),
        Event::ClockSync {
            dropped_total,
            repeated_total,
        } => tracing::info!(dropped_total, repeated_total, "clock sync"),
        Event::Stopped => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dayfile::DayItem as FileItem;
    use chrono::TimeZone;

    fn file(items: Vec<FileItem>) -> DayFile {
        DayFile {
            path: "day.toml".into(),
            start: Some(Utc.with_ymd_and_hms(2027, 9, 1, 2, 0, 0).unwrap()),
            items,
        }
    }

    fn clip(line: usize, ms: Option<u64>, at: Option<DateTime<Utc>>) -> FileItem {
        FileItem {
            line,
            source: format!("/media/clip{line}.mp4"),
            title: None,
            in_ms: 0,
            duration_ms: ms,
            at,
        }
    }

    #[test]
    fn a_run_of_clips_carries_the_frame_remainder_and_a_pin_cuts_nothing_that_fits() {
        let start = Utc.with_ymd_and_hms(2027, 9, 1, 2, 0, 0).unwrap();
        let mut items: Vec<_> = (1..=10).map(|i| clip(i, Some(1100), None)).collect();
        // Pinned exactly where the ten 1.1 s clips end.
        items.push(clip(
            11,
            Some(2000),
            Some(start + chrono::Duration::seconds(11)),
        ));
        let mut probe = |_: &str| -> Result<u64, String> { Err("unused".into()) };
        let (day, warnings) = day_of(&file(items), FrameRate::default(), start, &mut probe);
        assert!(warnings.is_empty(), "{warnings:?}");
        let frames: Vec<u64> = day.items.iter().map(|i| i.frames).collect();
        // 27.5 frames each: 28, 27, 28 … and the run takes exactly 275 frames.
        assert_eq!(&frames[..10], &[28, 27, 28, 27, 28, 27, 28, 27, 28, 27]);
        assert_eq!(frames[..10].iter().sum::<u64>(), 275);
        assert!(day.items.iter().all(|i| !i.cut), "nothing that fits is cut");
        assert_eq!(day.items[10].start, start + chrono::Duration::seconds(11));
        assert_eq!(day.end, start + chrono::Duration::seconds(13));
    }

    #[test]
    fn a_pin_cuts_the_item_before_it_and_an_unknown_length_gets_a_warning_not_a_slot() {
        let start = Utc.with_ymd_and_hms(2027, 9, 1, 2, 0, 0).unwrap();
        let items = vec![
            clip(3, Some(10_000), None),
            clip(7, None, None),
            clip(11, Some(1000), Some(start + chrono::Duration::seconds(4))),
        ];
        let mut probe = |src: &str| -> Result<u64, String> { Err(format!("{src}: no such file")) };
        let (day, warnings) = day_of(&file(items), FrameRate::default(), start, &mut probe);
        assert_eq!(day.items.len(), 2);
        assert_eq!(day.items[0].frames, 100, "cut at the pinned start, 4 s in");
        assert!(day.items[0].cut);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("day.toml:7: /media/clip7.mp4"),
            "{warnings:?}"
        );
    }

    #[test]
    fn play_cues_come_from_the_controller_planner_and_join_an_item_in_progress() {
        let start = Utc.with_ymd_and_hms(2027, 9, 1, 2, 0, 0).unwrap();
        let items = vec![clip(3, Some(10_000), None), clip(7, Some(5000), None)];
        let mut probe = |_: &str| -> Result<u64, String> { Err("unused".into()) };
        let (day, _) = day_of(&file(items), FrameRate::default(), start, &mut probe);
        // The engine started 4 s into the first item.
        let origin = start + chrono::Duration::seconds(4);
        let timeline = Timeline {
            rate: playout::format::Rate::PAL,
            first_frame: 0,
            origin_unix_ns: u64::try_from(origin.timestamp_millis()).expect("after 1970")
                * 1_000_000,
        };
        let cues = cues(&day, &timeline, origin);
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].start, Some(0));
        assert_eq!(cues[0].length, Some(150), "the 6 s left of the first item");
        assert_eq!(cues[0].in_point_ns, 4_000_000_000);
        assert_eq!(cues[1].start, Some(150));
        assert_eq!(cues[1].length, Some(125));
    }
}
