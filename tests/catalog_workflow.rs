//! The review workflow on a fresh database: a work is scheduled only when it passed the
//! technical check, was selected and has its rights confirmation; each missing condition is
//! named. State changes are kept as history; late submissions are flagged, not refused.

mod catalog_common;

use catalog_common::fresh;
use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::model::{
    Decision, NewUnit, NewWork, ProductionStatus, Verdict, WorkState,
};
use kepu_playout::catalog::probe::{AudioStream, Loudness, ProbeReport, VideoStream};
use kepu_playout::catalog::workflow::NewReview;
use kepu_playout::store::Error;

fn report(width: u32, height: u32) -> ProbeReport {
    ProbeReport {
        location: "x.mp4".into(),
        size_bytes: Some(67_500_000),
        container: Some("mp4".into()),
        duration_ms: Some(60_000),
        video: Some(VideoStream {
            codec: "H.264".into(),
            width,
            height,
            rotation: 0,
            display_width: width,
            display_height: height,
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
            decoded_ms: 60_000,
        }),
        ..Default::default()
    }
}

async fn new_work(c: &Catalog, title: &str) -> i64 {
    let unit = match c.units().await.expect("units").into_iter().next() {
        Some(u) => u,
        None => c
            .create_unit(&NewUnit {
                name: "中国科学技术馆".into(),
                ..Default::default()
            })
            .await
            .expect("unit"),
    };
    let w = NewWork {
        unit_id: unit.id,
        title: title.into(),
        categories: vec![3],
        declared_duration_ms: Some(60_000),
        copyright_holder: Some("中国科学技术馆".into()),
        summary: Some("简介".into()),
        production_status: ProductionStatus::Finished,
        due_date: None,
        ai_generated: false,
        has_subtitles: true,
        submitted_on: Some("2026-07-01".into()),
    };
    c.create_work(&w, "test").await.expect("work").id
}

fn select(reviewer: &str) -> NewReview {
    NewReview {
        reviewer: reviewer.into(),
        subtitles: Some(true),
        no_logo: Some(true),
        no_ads: Some(true),
        ai_label: Some(true),
        science: Some(true),
        decision: Some(Decision::Selected),
        reason: Some("内容扎实".into()),
    }
}

async fn refused(c: &Catalog, id: i64) -> String {
    match c.set_work_state(id, WorkState::Scheduled, "排播员").await {
        Err(Error::Conflict(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn each_missing_condition_is_named_until_all_hold() {
    let (_d, c) = fresh(2026).await;
    let id = new_work(&c, "深海勇士号下潜记").await;
    let s = c.schedulable(id).await.expect("check");
    assert!(!s.schedulable);
    assert_eq!(s.reasons.len(), 3, "{s:?}");
    let m = refused(&c, id).await;
    assert!(
        m.contains("未提交视频文件") && m.contains("尚未遴选入选") && m.contains("确认单未登记"),
        "{m}"
    );

    let f = c.attach_file(id, "/media/deep.mp4").await.expect("attach");
    let qc = c
        .record_probe(f.id, &report(1920, 1080))
        .await
        .expect("probe stored");
    assert_eq!(qc.verdict, Verdict::Pass);
    assert_eq!(c.work(id).await.expect("work").state, "tech_review");
    let m = refused(&c, id).await;
    assert!(!m.contains("技术") && m.contains("尚未遴选入选"), "{m}");

    c.add_review(id, &select("审核员甲")).await.expect("review");
    assert_eq!(c.work(id).await.expect("work").state, "selected");
    let m = refused(&c, id).await;
    assert_eq!(m, "不能排播：版权、传播权和内容审核确认单未登记");

    assert!(c.playable_works().await.expect("playable").is_empty());
    c.confirm_rights(id, "审核员甲").await.expect("rights");
    assert!(c.schedulable(id).await.expect("check").schedulable);
    let playable = c.playable_works().await.expect("playable");
    assert_eq!(playable.len(), 1);
    assert_eq!(
        (
            playable[0].file_id,
            playable[0].duration_ms,
            playable[0].loudness_lufs
        ),
        (f.id, 60_000, Some(-24.0))
    );
    let w = c
        .set_work_state(id, WorkState::Scheduled, "排播员")
        .await
        .expect("scheduled");
    assert_eq!(w.state, "scheduled");
    let w = c
        .set_work_state(id, WorkState::Aired, "播出系统")
        .await
        .expect("aired");
    assert_eq!(w.state_label, "已播出");

    // Once scheduled or aired, the selection cannot be changed.
    let err = c
        .add_review(id, &select("审核员乙"))
        .await
        .expect_err("too late");
    assert!(matches!(err, Error::Conflict(_)), "{err}");

    let states: Vec<String> = c
        .history_of(id)
        .await
        .expect("history")
        .into_iter()
        .map(|h| h.to_state)
        .collect();
    assert_eq!(
        states,
        [
            "submitted",
            "tech_review",
            "selected",
            "rights_confirmed",
            "scheduled",
            "aired"
        ]
    );
}

#[tokio::test]
async fn failed_technical_check_blocks_with_its_reason() {
    let (_d, c) = fresh(2026).await;
    let id = new_work(&c, "走进重庆科技馆").await;
    let f = c.attach_file(id, "/media/cq.mp4").await.expect("attach");
    assert_eq!(
        c.record_probe(f.id, &report(1280, 720))
            .await
            .expect("stored")
            .verdict,
        Verdict::Fail
    );
    c.add_review(id, &select("审核员甲")).await.expect("review");
    c.confirm_rights(id, "审核员甲").await.expect("rights");
    let m = refused(&c, id).await;
    assert!(
        m.contains("技术审核未通过") && m.contains("1280×720"),
        "{m}"
    );
    // A corrected file makes it schedulable: the best file counts.
    let f2 = c
        .attach_file(id, "/media/cq-1080.mp4")
        .await
        .expect("attach");
    c.record_probe(f2.id, &report(1920, 1080))
        .await
        .expect("stored");
    c.set_work_state(id, WorkState::Scheduled, "排播员")
        .await
        .expect("now schedulable");
}

#[tokio::test]
async fn not_selected_needs_a_reason_and_blocks() {
    let (_d, c) = fresh(2026).await;
    let id = new_work(&c, "星空之下").await;
    let f = c.attach_file(id, "/media/sky.mp4").await.expect("attach");
    c.record_probe(f.id, &report(1920, 1080))
        .await
        .expect("stored");
    c.confirm_rights(id, "审核员甲").await.expect("rights");
    let no_reason = NewReview {
        reviewer: "审核员甲".into(),
        decision: Some(Decision::NotSelected),
        ..Default::default()
    };
    let err = c
        .add_review(id, &no_reason)
        .await
        .expect_err("reason required");
    assert!(
        matches!(err, Error::Invalid { ref field, .. } if field == "reason"),
        "{err}"
    );
    let with_reason = NewReview {
        reason: Some("与已入选作品题材重复".into()),
        ..no_reason
    };
    c.add_review(id, &with_reason).await.expect("review");
    let m = refused(&c, id).await;
    assert_eq!(m, "不能排播：遴选结果为未入选");
    // Airing needs scheduling first.
    let err = c
        .set_work_state(id, WorkState::Aired, "播出系统")
        .await
        .expect_err("not scheduled");
    assert!(matches!(err, Error::Conflict(_)), "{err}");
}

#[tokio::test]
async fn late_submission_is_flagged_not_refused() {
    let (_d, c) = fresh(2026).await;
    let unit = c
        .create_unit(&NewUnit {
            name: "浙江省科学技术协会".into(),
            ..Default::default()
        })
        .await
        .expect("unit");
    let mut w = NewWork {
        unit_id: unit.id,
        title: "之江实验室的一天".into(),
        categories: vec![4],
        declared_duration_ms: Some(1_080_000),
        copyright_holder: None,
        summary: None,
        production_status: ProductionStatus::ToBeProduced,
        due_date: Some("2026-08-15".into()),
        ai_generated: false,
        has_subtitles: true,
        submitted_on: Some("2026-08-16".into()),
    };
    let late = c.create_work(&w, "test").await.expect("accepted");
    assert!(late.late);
    w.title = "之江实验室的一夜".into();
    w.submitted_on = Some("2026-08-15".into());
    assert!(
        !c.create_work(&w, "test").await.expect("accepted").late,
        "the deadline day itself is on time"
    );
    let dup = c.create_work(&w, "test").await.expect_err("duplicate");
    assert!(matches!(dup, Error::Conflict(_)), "{dup}");
}

#[tokio::test]
async fn declared_length_that_disagrees_with_the_file_warns() {
    let (_d, c) = fresh(2026).await;
    let id = new_work(&c, "时长不符").await; // declared 60 s
    let f = c.attach_file(id, "/media/a.mp4").await.expect("attach");
    let mut r = report(1920, 1080);
    r.duration_ms = Some(95_000);
    r.size_bytes = Some(95 * 9_000_000 / 8);
    if let Some(l) = r.loudness.as_mut() {
        l.decoded_ms = 95_000;
    }
    let qc = c.record_probe(f.id, &r).await.expect("stored");
    assert_eq!(qc.verdict, Verdict::Warn, "{qc:?}");
    assert_eq!(
        qc.reasons,
        vec!["实际时长 00:01:35 与申报时长 00:01:00 不符".to_string()]
    );
}
