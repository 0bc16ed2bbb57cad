//! Shared helpers of the rundown database tests: a catalog seeded through the catalog's own
//! functions (units, works, files with probe results, reviews, rights), slow-live feeds, and
//! instants written as RFC 3339 ([`t`]).
#![allow(dead_code)]

use std::collections::BTreeMap;

use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::model::{Decision, NewUnit, NewWork, ProductionStatus};
use kepu_playout::catalog::probe::{AudioStream, Loudness, ProbeReport, VideoStream};
use kepu_playout::catalog::workflow::NewReview;
use kepu_playout::rundown::demo;
use kepu_playout::rundown_db::source::{NewFeed, add_feed};

pub fn probe(ms: i64) -> ProbeReport {
    ProbeReport {
        location: "x.mp4".into(),
        size_bytes: Some(67_500_000),
        container: Some("mp4".into()),
        duration_ms: Some(ms),
        video: Some(VideoStream {
            codec: "H.264".into(),
            width: 1920,
            height: 1080,
            rotation: 0,
            display_width: 1920,
            display_height: 1080,
            frame_rate: (25, 1),
            bit_rate_bps: None,
            bit_depth: Some(8),
            chroma: Some("4:2:0".into()),
            scan: Some("progressive".into()),
            field_order: None,
            mirrored: false,
            decodable: true,
        }),
        audio: Some(AudioStream {
            codec: "AAC".into(),
            channels: 2,
            sample_rate: 48_000,
            layout: Some("stereo".into()),
            bit_depth: None,
            language: None,
            decodable: true,
        }),
        bit_rate_bps: Some(9_000_000),
        loudness: Some(Loudness {
            integrated_lufs: Some(-24.0),
            true_peak_dbtp: Some(-6.0),
            decoded_ms: ms,
        }),
        ..Default::default()
    }
}

/// Enters generated works through the catalog: unit, work, file, probe result, review
/// (入选 unless the generator marked it unselected) and rights. Returns the catalog ids.
pub async fn seed(
    c: &Catalog,
    works: &[kepu_playout::rundown::Work],
    submitted_on: &str,
) -> Vec<i64> {
    let mut units: BTreeMap<String, i64> = c
        .units()
        .await
        .expect("units")
        .into_iter()
        .map(|u| (u.name, u.id))
        .collect();
    let mut ids = Vec::new();
    for w in works {
        let unit_id = match units.get(&w.unit) {
            Some(id) => *id,
            None => {
                let u = c
                    .create_unit(&NewUnit {
                        name: w.unit.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("unit");
                units.insert(w.unit.clone(), u.id);
                u.id
            }
        };
        let ms = (w.frames * 40) as i64;
        let new = NewWork {
            unit_id,
            title: w.title.clone(),
            categories: w.categories.clone(),
            declared_duration_ms: Some(ms),
            copyright_holder: Some(w.copyright_holder.clone()),
            summary: Some("简介".into()),
            production_status: ProductionStatus::Finished,
            due_date: None,
            ai_generated: false,
            has_subtitles: true,
            submitted_on: Some(submitted_on.into()),
        };
        let id = c.create_work(&new, "seed").await.expect("work").id;
        let f = c.attach_file(id, &w.source).await.expect("file");
        c.record_probe(f.id, &probe(ms)).await.expect("probe");
        if w.ready.selected {
            c.add_review(
                id,
                &NewReview {
                    reviewer: "评审".into(),
                    subtitles: Some(true),
                    no_logo: Some(true),
                    no_ads: Some(true),
                    ai_label: Some(true),
                    science: Some(true),
                    decision: Some(Decision::Selected),
                    reason: Some("内容扎实".into()),
                },
            )
            .await
            .expect("review");
        }
        c.confirm_rights(id, "版权审核员").await.expect("rights");
        ids.push(id);
    }
    ids
}

pub async fn seed_feeds(c: &Catalog) {
    for f in demo::feeds() {
        let unit = c
            .create_unit(&NewUnit {
                name: f.unit.clone(),
                ..Default::default()
            })
            .await
            .expect("feed unit");
        add_feed(
            c,
            &NewFeed {
                title: f.title,
                url: f.url,
                unit_id: unit.id,
                copyright_holder: None,
                window: f.window,
            },
        )
        .await
        .expect("feed");
    }
}

/// An RFC 3339 instant (`2026-09-01T20:00:00+08:00`) in UTC.
pub fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&chrono::Utc)
}
