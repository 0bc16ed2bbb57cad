//! Loudness on air from the catalog's measure: files probed into a fresh catalog, their
//! integrated loudness read back by the location a rundown item plays, and the air plan's
//! gain derived from it against the edition's target (GY/T 282-2014, −24 LUFS).

mod catalog_common;

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
