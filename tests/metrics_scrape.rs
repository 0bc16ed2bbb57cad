//! Metrics: a hand-built engine status shows up in the Prometheus text, destinations labelled
//! by their config names, never their URLs or stream keys; `/metrics` answers without
//! credentials.

mod auth_common;

use auth_common::{call, world};
use axum::http::StatusCode;
use kepu_playout::metrics::Metrics;
use playout::event::{DestinationStatus, OnAirStatus};
use playout::source::live::{LiveState, LiveStatus};
use playout::{DestinationState, Status};

fn status(dropped: u64, reconnects: u64) -> Status {
    Status {
        frame: 1000,
        on_air: Some(OnAirStatus {
            id: "a".into(),
            title: "深海探秘".into(),
            started_frame: 250,
            position: 750,
            length: Some(2500),
            fallback: true,
        }),
        queued: 3,
        frames_dropped: dropped,
        frames_repeated: 2,
        max_lateness_ns: 40_000_000,
        destinations: vec![DestinationStatus {
            name: "bilibili".into(),
            url: "rtmp://live-push.bilivideo.com/live-bvc/?streamname=live_SECRETKEY123".into(),
            state: DestinationState::Live,
            bytes: 123_456,
            bitrate: 4_500_000,
            reconnects,
            dropped_packets: 0,
            last_error: Some("rtmp://x/app/SECRETKEY123 refused".into()),
            last_error_kind: Some(playout::output::FailureKind::Refused),
            failures: [
                (
                    playout::output::FailureKind::Connect,
                    reconnects.saturating_sub(1),
                ),
                (playout::output::FailureKind::Refused, 1),
            ]
            .into_iter()
            .collect(),
        }],
        live: vec![LiveStatus {
            url: "rtmp://pull.example/live/SEC****".into(),
            kind: "rtmp".into(),
            state: LiveState::Live,
            bitrate: 2_000_000,
            frame_rate_milli: 25_000,
            last_frame_age_ms: Some(40),
            reconnects,
            last_error: None,
            recording: None,
        }],
    }
}

#[test]
fn status_becomes_series_without_secrets() {
    let m = Metrics::new().expect("metrics");
    m.update_from_status(&status(5, 1));
    m.update_from_status(&status(7, 2));
    m.asrun_row_written();
    let text = m.render();
    for line in [
        "kepu_on_air_position_frames 750",
        "kepu_fallback_active 1",
        "kepu_destination_up{destination=\"bilibili\"} 1",
        "kepu_destination_bitrate_bps{destination=\"bilibili\"} 4500000",
        "kepu_destination_reconnects_total{destination=\"bilibili\"} 2",
        "kepu_destination_failures_total{destination=\"bilibili\",kind=\"connect\"} 1",
        "kepu_destination_failures_total{destination=\"bilibili\",kind=\"refused\"} 1",
        "kepu_frames_dropped_total 7",
        "kepu_frames_repeated_total 2",
        "kepu_max_lateness_seconds 0.04",
        "kepu_asrun_rows_total 1",
        "kepu_live_source_up{kind=\"rtmp\",source=\"pull.example/live/SEC****\"} 1",
        "kepu_live_source_bitrate_bps{kind=\"rtmp\",source=\"pull.example/live/SEC****\"} 2000000",
        "kepu_live_source_reconnects{kind=\"rtmp\",source=\"pull.example/live/SEC****\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
    assert!(
        !text.contains("SECRETKEY") && !text.contains("rtmp://"),
        "{text}"
    );
    // A second registry is independent (no global state).
    assert!(
        !Metrics::new()
            .expect("metrics")
            .render()
            .contains("kepu_frames_dropped_total 7")
    );
}

#[tokio::test]
async fn metrics_are_scraped_over_http() {
    let w = world().await;
    w.metrics.update_from_status(&status(0, 0));
    let (s, body, h) = call(&w.app, "GET", "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = String::from_utf8(body).expect("utf-8");
    assert!(text.contains("kepu_on_air_position_frames 750"), "{text}");
    assert!(!text.contains("SECRETKEY"));
}
