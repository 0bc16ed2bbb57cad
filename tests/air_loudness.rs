//! What the catalog measured, on air. Loudness: files probed into a fresh catalog, their
//! integrated loudness read back by the location a rundown item plays, and the air plan's
//! gain derived from it against the edition's target (GY/T 282-2014, −24 LUFS). Length:
//! files whose sound runs longer or shorter than their picture probed for real, planned
//! from the catalog and played by the engine to a real receiver — each item its picture's
//! length, the next on its frame, never the slate.

mod catalog_common;
mod serve_common;

use std::collections::HashMap;

use catalog_common::fresh;
use kepu_playout::air::loudness::LoudnessPolicy;
use kepu_playout::catalog::model::{NewUnit, NewWork, ProductionStatus};
use kepu_playout::catalog::probe::{Loudness, ProbeReport};
use kepu_playout::rundown_db::DbDayStore;

fn measured(lufs: Option<f64>) -> ProbeReport {
    ProbeReport {
        location: "x.mp4".into(),
        container: Some("mp4".into()),
        duration_ms: Some(60_000),
        loudness: Some(Loudness {
            integrated_lufs: lufs,
            true_peak_dbtp: Some(-3.0),
            decoded_ms: 60_000,
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogs_measure_becomes_the_items_gain() {
    let (_dir, c) = fresh(2026).await;
    let unit = c
        .create_unit(&NewUnit {
            name: "中国科学技术馆".into(),
            ..Default::default()
        })
        .await
        .expect("unit");
    let work = c
        .create_work(
            &NewWork {
                unit_id: unit.id,
                title: "深海探秘".into(),
                categories: vec![3],
                declared_duration_ms: Some(60_000),
                copyright_holder: Some("中国科学技术馆".into()),
                summary: Some("简介".into()),
                production_status: ProductionStatus::Finished,
                due_date: None,
                ai_generated: false,
                has_subtitles: true,
                submitted_on: Some("2026-07-01".into()),
            },
            "test",
        )
        .await
        .expect("work")
        .id;
    // Re-probed: the last measure counts. A silent file has none.
    let loud = c.attach_file(work, "/media/loud.mp4").await.expect("file");
    c.record_probe(loud.id, &measured(Some(-20.0)))
        .await
        .expect("probe");
    c.record_probe(loud.id, &measured(Some(-14.3)))
        .await
        .expect("probe");
    let silent = c
        .attach_file(work, "/media/silent.mp4")
        .await
        .expect("file");
    c.record_probe(silent.id, &measured(None))
        .await
        .expect("probe");

    let days = DbDayStore::new(c.store().clone());
    let sources = [
        "/media/loud.mp4".to_string(),
        "/media/silent.mp4".to_string(),
        "/media/unknown.mp4".to_string(),
    ];
    let m = days.measured_loudness_async(&sources).await.expect("read");
    assert_eq!(m, HashMap::from([("/media/loud.mp4".to_string(), -14.3)]));

    let policy = LoudnessPolicy::of_edition(c.edition());
    assert_eq!(policy.target_mlufs, -24_000, "GY/T 282-2014");
    assert_eq!(policy.gain_mdb(m.get("/media/loud.mp4").copied()), -9_700);
    assert_eq!(policy.gain_mdb(m.get("/media/unknown.mp4").copied()), 0);
}

/// A solid `colour` picture of `video_s` seconds and a `tone` Hz sine of `audio_s` seconds
/// (ffmpeg, H.264 + AAC), as a field's file with its sound longer or shorter than its
/// picture.
fn av_file(
    dir: &std::path::Path,
    name: &str,
    colour: testkit::palette::Colour,
    video_s: f64,
    audio_s: f64,
    tone: u32,
) -> std::path::PathBuf {
    let out = dir.join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "color=c={}:s=320x180:r=25:d={video_s}",
            colour.ffmpeg_hex()
        ))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=f={tone}:r=48000:d={audio_s}"))
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:a", "aac", "-b:a", "96k"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made {name}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_file_airs_for_its_pictures_length_from_the_catalog_to_the_receiver() {
    use kepu_playout::air::plan::{DayInView, plan};
    use kepu_playout::catalog::probe::ProbeOptions;
    use kepu_playout::rundown::time::day_bounds;
    use playout::{EndReason, Event, FallbackReason};
    use testkit::palette::{self, Colour};

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // (file, colour, picture s, sound s): the sound 1 s longer than the picture (MP4, the
    // container says 3 s), 1 s shorter (Matroska), an MPEG-TS whose container runs past
    // its picture by the sound's last AAC frame, then a plain clip.
    let files: [(&str, Colour, f64, f64, u64); 4] = [
        ("longer-sound.mp4", palette::BLUE, 2.0, 3.0, 50),
        ("shorter-sound.mkv", palette::GREEN, 3.0, 2.0, 75),
        ("clip.ts", palette::YELLOW, 2.0, 2.0, 50),
        ("after.mp4", palette::RED, 1.0, 1.0, 25),
    ];
    let works: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, (name, colour, v, a, _))| {
            let path = av_file(d, name, *colour, *v, *a, 400 + 200 * i as u32);
            // The work as the field declares it: the container's length.
            serve_common::work(name, &path, (v.max(*a) * 25.0) as u64)
        })
        .collect();
    // The edition's acceptance, opened to these small test files' size, bit rate and
    // containers (what is judged here is their length, not their picture).
    let mut edition = (*catalog_common::edition(2026)).clone();
    let a = &mut edition.acceptance;
    (a.min_width, a.min_height) = (320, 180);
    (a.reject_below_bps, a.warn_below_bps) = (0, 0);
    a.containers.extend(["mkv".to_string(), "ts".to_string()]);
    let db_dir = tempfile::tempdir().expect("tempdir");
    let store =
        kepu_playout::store::Store::open(db_dir.path().join("catalog.db").to_str().expect("utf-8"))
            .await
            .expect("store");
    let c = kepu_playout::catalog::Catalog::new(store, std::sync::Arc::new(edition));
    let ids = serve_common::rundown_common::seed(&c, &works, "2026-07-01").await;
    // Probed for real: the catalog's length is the picture's.
    for (id, (name, _, v, a, frames)) in ids.iter().zip(&files) {
        let f = c.files_of(*id).await.expect("files").remove(0);
        let (report, qc) = c
            .probe_file(f.id, ProbeOptions::default())
            .await
            .expect("probed");
        eprintln!(
            "{name}: container {:?} ms, picture {:?} ms, {:?} {:?}",
            report.duration_ms, report.picture_ms, qc.verdict, qc.reasons
        );
        // Within a frame of its pictures (Matroska starts the picture after the AAC
        // priming, 21 ms into the segment: the engine shows the first picture from the
        // segment's start, and the rundown rounds down).
        let ms = report.picture_ms.expect("the picture's length read");
        let want = *frames as i64 * 40;
        assert!(
            (want..want + 40).contains(&ms),
            "{name}: the picture's length {ms} ms, want {want} ms"
        );
        assert_ne!(qc.verdict.as_str(), "fail", "{name}: {:?}", qc.reasons);
        if a > v {
            assert!(
                qc.reasons
                    .iter()
                    .any(|r| r.contains("画面结束后的声音不播出")),
                "{name}: the acceptance says the sound past the picture does not air: {:?}",
                qc.reasons
            );
        }
    }
    let rate = serve_common::RATE;
    let catalog_works = kepu_playout::rundown_db::source::works(&c, rate)
        .await
        .expect("works");
    let planned_works: Vec<_> = ids
        .iter()
        .map(|id| {
            catalog_works
                .iter()
                .find(|w| w.id == *id)
                .expect("the work in the catalog")
                .clone()
        })
        .collect();
    for (w, (name, ..)) in planned_works.iter().zip(&files) {
        assert!(
            w.ready.tech && w.ready.selected && w.ready.rights,
            "{name} ready"
        );
    }
    assert_eq!(
        planned_works.iter().map(|w| w.frames).collect::<Vec<_>>(),
        files.iter().map(|f| f.4).collect::<Vec<_>>(),
        "the rundown's frames are the pictures'"
    );

    // A day from its midnight: these items back to back, planned onto the engine's timeline.
    let date = "2026-09-01".parse().expect("date");
    let (midnight, _) = day_bounds(chrono_tz::Asia::Shanghai, date);
    let day = serve_common::day_with(
        date,
        midnight,
        planned_works.iter().map(serve_common::item_of).collect(),
    );
    let total: u64 = files.iter().map(|f| f.4).sum();

    let mut rx = testkit::FfmpegRtmpListener::start().expect("ffmpeg listener");
    let cfg = playout::EngineConfig::new(
        playout::OutputProfile::small(),
        vec![playout::DestinationConfig::new("rx", rx.url())],
    );
    let (engine, mut events) = playout::Engine::start_with_events(cfg).expect("engine starts");
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    let f0 = engine.timeline().frame_at(now_ns + 2_500_000_000);
    let first = i64::try_from(f0).expect("frame");
    let planned = plan(
        &[DayInView {
            day: &day,
            version: 1,
        }],
        |_| first,
        f0,
        f0,
        f0 + total,
    );
    assert_eq!(planned.len(), files.len(), "{planned:?}");
    let last = planned.last().expect("items").cue.id.clone();
    engine
        .cue(planned.iter().map(|p| p.cue.clone()).collect())
        .expect("cued");
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) => {
                let done = matches!(&e, Event::ItemEnded { id, .. } if *id == last);
                seen.push(e);
                if done {
                    break;
                }
            }
            _ => panic!("the last item did not end: {seen:?}"),
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_millis(400), events.recv()).await;
    engine.stop().await;
    rx.wait_finished(std::time::Duration::from_secs(10))
        .expect("receiver finished");

    for p in &planned {
        let started = seen.iter().find_map(|e| match e {
            Event::ItemStarted { id, frame, .. } if *id == p.cue.id => Some(*frame),
            _ => None,
        });
        assert_eq!(
            started,
            Some(u64::try_from(p.start_frame).expect("frame")),
            "{} starts on its planned frame: {seen:?}",
            p.info.title
        );
        let ended = seen.iter().find_map(|e| match e {
            Event::ItemEnded { id, reason, .. } if *id == p.cue.id => Some(*reason),
            _ => None,
        });
        assert_eq!(
            ended,
            Some(EndReason::Complete),
            "{} ends complete, not failed: {seen:?}",
            p.info.title
        );
    }
    // A source a frame late on a loaded machine is not the fault judged; one that ends
    // early, fails or is missing is.
    let faults: Vec<_> = seen
        .iter()
        .filter(|e| {
            matches!(e, Event::FallbackOn { id: Some(_), reason, .. }
                if !matches!(reason, FallbackReason::Stalled | FallbackReason::CatchingUp | FallbackReason::NotReady))
        })
        .collect();
    assert!(faults.is_empty(), "no item fell back: {faults:?}");

    // At the receiver: each colour for exactly its picture's frames, back to back.
    let rec = rx.recording_path().expect("recording");
    let colours = testkit::probe::frame_colours(&rec).expect("colours");
    let runs = testkit::probe::colour_runs(&colours, &palette::ALL);
    let text = testkit::probe::describe_colour_runs(&runs, &palette::ALL);
    eprintln!("recording: {text}");
    let idx = |c: Colour| palette::ALL.iter().position(|p| *p == c);
    let start = runs
        .iter()
        .position(|r| r.colour == idx(files[0].1))
        .unwrap_or_else(|| panic!("no {} in the recording: {text}", files[0].1.name));
    let got: Vec<_> = runs[start..]
        .iter()
        .take(files.len())
        .map(|r| (r.colour, r.frames))
        .collect();
    let want: Vec<_> = files.iter().map(|f| (idx(f.1), f.4 as usize)).collect();
    assert_eq!(
        got, want,
        "every item its picture's frames, no slate between: {text}"
    );
}
