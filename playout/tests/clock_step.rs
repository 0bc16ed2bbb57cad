//! The wall clock steps (NTP) while on air: the programme follows wall time, the output
//! timestamps stay continuous. A +2 s step drops 50 programme frames so the next cut lands
//! on its wall-clock instant; a −2 s step repeats the output frame 50 times while the
//! programme waits. Judged at a real nginx-rtmp receiver by ffmpeg.

mod common;

use common::*;
use playout::engine::WallClock;
use playout::{EngineConfig, Event, OutputProfile};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testkit::clips::Clip;
use testkit::{NginxRtmp, palette, probe};

/// The system clock plus an offset a test can step.
#[derive(Debug, Default)]
struct SteppedClock {
    offset_ns: AtomicI64,
}

impl WallClock for SteppedClock {
    fn unix_ns(&self) -> u64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as i64;
        (sys + self.offset_ns.load(Ordering::Relaxed)) as u64
    }
}

fn started_wall(run: &Run, id: &str) -> Option<u64> {
    run.seen.iter().find_map(|(_, e)| match e {
        Event::ItemStarted { id: i, wall_ns, .. } if i == id => Some(*wall_ns),
        _ => None,
    })
}

fn ended_wall(run: &Run, id: &str) -> Option<u64> {
    run.seen.iter().find_map(|(_, e)| match e {
        Event::ItemEnded { id: i, wall_ns, .. } if i == id => Some(*wall_ns),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_step_is_absorbed_the_programme_stays_on_wall_time_and_the_output_continuous()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let blue = clip(Clip::new(palette::BLUE, 700.0).frames(400), dir.path());
    let red = clip(Clip::new(palette::RED, 1300.0).frames(260), dir.path());
    let mut nginx = NginxRtmp::start().expect("nginx");
    let wall = Arc::new(SteppedClock::default());
    let mut cfg = EngineConfig::new(
        OutputProfile::small(),
        destinations(&[("nginx", nginx.url())]),
    );
    cfg.wall_clock = Some(wall.clone());
    let started = std::time::Instant::now();
    let (engine, events) = playout::Engine::start_with_events(cfg).expect("engine starts");
    let mut run = Run {
        engine,
        events,
        seen: Vec::new(),
        started,
    };
    let timeline = run.engine.timeline();
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine
        .cue(vec![
            cue("blue", &blue, 375).at(first),
            cue("red", &red, 250),
        ])
        .expect("cued");
    let blue_on = run.until(
        Duration::from_secs(10),
        |e| matches!(e, Event::ItemStarted { id, .. } if id == "blue"),
    );
    assert!(blue_on.await.is_some(), "{:?}", run.seen);

    // 5 s into blue the wall clock jumps 2 s ahead.
    run.until(Duration::from_secs(5), |_| false).await;
    wall.offset_ns.store(2_000_000_000, Ordering::Relaxed);
    run.until(Duration::from_secs(1), |_| false).await;
    let st = run.engine.status().await.expect("status");
    assert!(
        (49..=51).contains(&st.frames_dropped),
        "dropped {} programme frames for a +2 s step",
        st.frames_dropped
    );
    // Red starts on its wall-clock instant (the stepped clock), not 2 s late.
    let red_on = run
        .until(
            Duration::from_secs(12),
            |e| matches!(e, Event::ItemStarted { id, .. } if id == "red"),
        )
        .await;
    assert!(red_on.is_some(), "{:?}", run.seen);
    let red_at = started_wall(&run, "red").expect("red started");
    let planned = timeline.unix_ns_of(first + 375);
    let off_ms = (red_at as i64 - planned as i64) / 1_000_000;
    eprintln!("red started {off_ms} ms from its wall-clock slot");
    assert!(off_ms.abs() <= 80, "red {off_ms} ms from its slot");

    // 3 s into red the wall clock steps back to where it was.
    run.until(Duration::from_secs(3), |_| false).await;
    wall.offset_ns.store(0, Ordering::Relaxed);
    let red_off = run
        .until(
            Duration::from_secs(15),
            |e| matches!(e, Event::ItemEnded { id, .. } if id == "red"),
        )
        .await;
    assert!(red_off.is_some(), "{:?}", run.seen);
    let st = run.engine.status().await.expect("status");
    assert!(
        (49..=51).contains(&st.frames_repeated),
        "repeated {} frames for a −2 s step",
        st.frames_repeated
    );
    let red_end = ended_wall(&run, "red").expect("red ended");
    let planned_end = timeline.unix_ns_of(first + 375 + 250);
    let end_ms = (red_end as i64 - planned_end as i64) / 1_000_000;
    eprintln!("red ended {end_ms} ms from its wall-clock slot");
    assert!(end_ms.abs() <= 80, "red ended {end_ms} ms from its slot");
    run.until(Duration::from_secs(1), |_| false).await;
    run.engine.stop().await;
    nginx.wait_idle(Duration::from_secs(10)).expect("idle");
    nginx.stop().expect("stop");

    // At the receiver: continuous timestamps; blue lost the 50 frames the clock skipped,
    // red shows 50 more (its frame held while the programme waited).
    let rec = nginx.recording_path().expect("recording");
    assert_continuous("clock step", &rec);
    let frames = probe::frame_colours(&rec).expect("colours");
    let pal = [palette::BLUE, palette::RED];
    let runs = probe::colour_runs(&frames, &pal);
    let text = probe::describe_colour_runs(&runs, &pal);
    eprintln!("recording: {text}");
    let len = |c: usize| {
        runs.iter()
            .filter(|r| r.colour == Some(c))
            .map(|r| r.frames)
            .sum::<usize>()
    };
    assert!((323..=327).contains(&len(0)), "blue: {text}");
    assert!((298..=302).contains(&len(1)), "red: {text}");
}
