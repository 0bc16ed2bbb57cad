//! `kepu-playout play`: puts a day file on air through the engine.
//!
//! Owns: turning a `DayFile` into cues on the engine's timeline (sequential items from the
//! file's start, hard `at` starts, durations probed when the file gives none, items
//! already past joined at the right offset), printing what happens, and stopping cleanly
//! after `--for` or on a signal. Does not own: the rundown's rules (the scheduler) or
//! media (the engine).

use crate::config::ChannelConfig;
use crate::dayfile::DayFile;
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use playout::{Cue, Engine, Event, Timeline};
use std::time::Duration;

/// Cues for the engine, computed from the day file on `timeline`.
///
/// Items follow each other from `start` (or `now`); an `at` pins an item to its time.
/// `probe` answers an item's length (ms) when the file gives no duration; an item whose
/// length stays unknown is played to its end and the items after it follow it.
pub fn cues(
    day: &DayFile,
    timeline: &Timeline,
    now: DateTime<Utc>,
    probe: &mut dyn FnMut(&str) -> Result<u64, String>,
) -> (Vec<Cue>, Vec<String>) {
    let rate = timeline.rate;
    let mut warnings = Vec::new();
    let frame_of = |t: DateTime<Utc>| -> u64 {
        timeline.frame_at(t.timestamp_nanos_opt().unwrap_or(0).max(0) as u64)
    };
    // A file without a start begins a moment from now, so its first item is pre-rolled
    // and starts on its first frame.
    let lead = chrono::Duration::milliseconds(1500);
    let mut next: Option<u64> = Some(frame_of(day.start.unwrap_or(now + lead)));
    let mut out = Vec::new();
    for (i, item) in day.items.iter().enumerate() {
        let start = match item.at {
            Some(t) => Some(frame_of(t)),
            None => next,
        };
        let length_ms = match item.duration_ms {
            Some(d) => Some(d),
            None => match probe(&item.source) {
                Ok(total) => Some(total.saturating_sub(item.in_ms)),
                Err(e) => {
                    warnings.push(format!(
                        "{}:{}: {}: {e}; it gets no slot of its own",
                        day.path.display(),
                        item.line,
                        item.source
                    ));
                    None
                }
            },
        };
        let length = length_ms.map(|ms| rate.ns_to_frame_round(ms * 1_000_000));
        let id = format!("{}#{}", i + 1, item.line);
        out.push(Cue {
            title: item.title.clone().unwrap_or_else(|| {
                std::path::Path::new(&item.source)
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_else(|| item.source.clone())
            }),
            id,
            source: item.source.clone(),
            in_point_ns: item.in_ms * 1_000_000,
            length,
            start,
        });
        next = match (start, length) {
            (Some(s), Some(l)) => Some(s + l),
            _ => None,
        };
    }
    (out, warnings)
}

fn shanghai(unix_ns: u64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(unix_ns as i64)
        .with_timezone(&Shanghai)
        .format("%H:%M:%S%.3f")
        .to_string()
}

/// Runs the day until `for_secs` (if given) or a signal.
pub async fn run(config: ChannelConfig, day: DayFile, for_secs: Option<u64>) -> anyhow::Result<()> {
    let (engine, mut events) = Engine::start_with_events(config.engine_config())?;
    let timeline = engine.timeline();
    // Probing opens every file (up to 10 s each): off the runtime the engine's destinations
    // share.
    let (day, (cues, warnings)) = tokio::task::spawn_blocking(move || {
        let mut probe = |src: &str| {
            playout::probe::duration_ns(&playout::cue::to_uri(src), Duration::from_secs(10))
                .map(|ns| ns / 1_000_000)
        };
        let planned = cues(&day, &timeline, Utc::now(), &mut probe);
        (day, planned)
    })
    .await
    .map_err(|e| anyhow::anyhow!("probing the day's media failed: {e}"))?;
    for w in &warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    let titles: std::collections::HashMap<String, String> = cues
        .iter()
        .map(|c| (c.id.clone(), c.title.clone()))
        .collect();
    engine.cue(cues)?;
    println!(
        "on air: {} item(s) from {} to {} destination(s)",
        day.items.len(),
        day.path.display(),
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
        Event::FallbackOn { id, reason, .. } => println!(
            "  ⚠ slate on air{}: {reason}",
            id.as_deref()
                .map(|i| format!(" for {}", title(i)))
                .unwrap_or_default()
        ),
        Event::FallbackOff { .. } => {}
        Event::DestinationUp { name } => println!("  ↑ {name} live"),
        Event::DestinationDown { name, reason } => println!("  ↓ {name} down: {reason}"),
        Event::ClockSync {
            dropped_total,
            repeated_total,
        } => tracing::info!(dropped_total, repeated_total, "clock sync"),
        Event::Stopped => {}
    }
}
