//! A known as-run (two ten-minute airings of two units' works) and known figures (viewer
//! samples that expire, a running total read off-boundary, a counter reset, increments at a
//! boundary) give known numbers, worked out by hand in the comments.

use super::*;

/// 2026-09-01 12:00 in Beijing.
const T: i64 = 1_788_235_200_000;
const MIN: i64 = 60_000;

fn pt(channel_id: i64, at: i64, kind: Kind, value: i64, cumulative: bool) -> Point {
    Point {
        channel_id,
        at_ms: T + at,
        kind,
        value,
        cumulative,
    }
}

fn world() -> Attribution {
    let airings = [
        AiringIn {
            id: 1,
            work_id: Some(100),
            unit_id: Some(10),
            title: "深海".into(),
            start_ms: T,
            end_ms: T + 10 * MIN,
            section: Some("探创新".into()),
        },
        AiringIn {
            id: 2,
            work_id: Some(200),
            unit_id: Some(20),
            title: "院士".into(),
            start_ms: T + 10 * MIN,
            end_ms: T + 20 * MIN,
            section: Some("向未来".into()),
        },
    ];
    let works = [
        WorkIn {
            id: 100,
            unit_id: 10,
            title: "深海".into(),
            categories: vec!["大国重器".into()],
        },
        WorkIn {
            id: 200,
            unit_id: 20,
            title: "院士".into(),
            categories: vec!["大国重器".into(), "院士报告".into()],
        },
    ];
    let channels = [
        ChannelIn {
            id: 1,
            unit_id: Some(10),
            platform: "bilibili".into(),
        },
        ChannelIn {
            id: 2,
            unit_id: Some(20),
            platform: "douyin".into(),
        },
        // Unit 20's second account never reports.
        ChannelIn {
            id: 3,
            unit_id: Some(20),
            platform: "weibo".into(),
        },
    ];
    let points = [
        // Viewers: channel 1 every 5 minutes; channel 2 twice (each expires after 5 min).
        pt(1, 0, Kind::Viewers, 100, false),
        pt(1, 5 * MIN, Kind::Viewers, 300, false),
        pt(1, 10 * MIN, Kind::Viewers, 200, false),
        pt(1, 15 * MIN, Kind::Viewers, 100, false),
        pt(2, 0, Kind::Viewers, 50, false),
        pt(2, 10 * MIN, Kind::Viewers, 150, false),
        // Likes on channel 1: a running total read 1 min before, 5 and 15 min after T.
        pt(1, -MIN, Kind::Likes, 1000, true),
        pt(1, 5 * MIN, Kind::Likes, 1300, true),
        pt(1, 15 * MIN, Kind::Likes, 1900, true),
        // Comments on channel 2, one webhook each (the last exactly at the end: not counted).
        pt(2, 100_000, Kind::Comments, 5, false),
        pt(2, 700_000, Kind::Comments, 7, false),
        pt(2, 20 * MIN, Kind::Comments, 9, false),
        // Shares on channel 2: a running total that resets at 13:20 (a new room).
        pt(2, 0, Kind::Shares, 10, true),
        pt(2, 10 * MIN, Kind::Shares, 40, true),
        pt(2, 800_000, Kind::Shares, 5, true),
    ];
    attribute(&airings, &works, &channels, &points, T, T + 20 * MIN)
}

#[test]
fn each_programme_gets_its_peak_average_and_interactions() {
    let a = world();
    assert_eq!(a.programmes.len(), 2);
    let p1 = &a.programmes[0].audience;
    // 0–5 min: 100 + 50; 5–10 min: 300 (channel 2's sample has expired).
    assert_eq!(
        (p1.peak_viewers, p1.avg_viewers, p1.covered_ms),
        (300, 225, 10 * MIN)
    );
    // Likes: total 0 at T−1 min, 300 at T+5: at T it is 50; at T+10 (of 300→900 over
    // 10 min) 600: 550. Comments 5. Shares 10→40: 30.
    assert_eq!(p1.counts[&Kind::Likes], 550);
    assert_eq!(p1.counts[&Kind::Comments], 5);
    assert_eq!(p1.counts[&Kind::Shares], 30);
    assert_eq!(p1.interactions, 585);
    let p2 = &a.programmes[1].audience;
    // 10–15 min: 200 + 150; 15–20 min: 100 (channel 2 expired again).
    assert_eq!(
        (p2.peak_viewers, p2.avg_viewers, p2.covered_ms),
        (350, 225, 10 * MIN)
    );
    // Likes 600 → 900 (held after the last reading); comments 7 (the one at the end
    // belongs to what follows); shares 30 → 35 across the reset (5 after it).
    assert_eq!(p2.counts[&Kind::Likes], 300);
    assert_eq!(p2.counts[&Kind::Comments], 7);
    assert_eq!(p2.counts[&Kind::Shares], 5);
    assert_eq!(p2.interactions, 312);
    // Per platform: channel 1 alone peaks at 300 during the first airing.
    let b = &a.programmes[0].by_platform;
    assert_eq!(b["bilibili"].peak_viewers, 300);
    assert_eq!(b["douyin"].peak_viewers, 50);
    assert_eq!(b["weibo"].covered_ms, 0);
    assert_eq!(a.programmes[0].air_day, "2026-09-01");
}

#[test]
fn units_get_their_works_and_their_relays() {
    let a = world();
    let u10 = &a.units[&10];
    assert_eq!(
        (
            u10.works.airings,
            u10.works.peak_viewers,
            u10.works.interactions
        ),
        (1, 300, 585)
    );
    assert_eq!(u10.relays, 1);
    // Channel 1 alone over the period: peak 300; likes 50 → 900 = 850.
    assert_eq!(u10.relay_audience.peak_viewers, 300);
    assert_eq!(u10.relay_audience.interactions, 850);
    assert_eq!((u10.reports_expected, u10.reports_made), (1, 1));
    let u20 = &a.units[&20];
    assert_eq!(
        (
            u20.works.airings,
            u20.works.peak_viewers,
            u20.works.interactions
        ),
        (1, 350, 312)
    );
    // Channels 2 and 3: comments 5 + 7, shares 35; peak 150 (channel 2 alone).
    assert_eq!(u20.relays, 2);
    assert_eq!(u20.relay_audience.interactions, 47);
    assert_eq!(u20.relay_audience.peak_viewers, 150);
    assert_eq!(
        (u20.reports_expected, u20.reports_made),
        (2, 1),
        "the silent weibo account leaves the unit's reporting incomplete"
    );
}

#[test]
fn categories_days_and_total_add_up() {
    let a = world();
    let big = &a.categories["大国重器"];
    assert_eq!(
        (
            big.airings,
            big.peak_viewers,
            big.interactions,
            big.avg_viewers
        ),
        (2, 350, 897, 225)
    );
    assert_eq!(a.categories["院士报告"].interactions, 312);
    assert_eq!(
        (
            a.sections["探创新"].interactions,
            a.sections["向未来"].peak_viewers
        ),
        (585, 350)
    );
    let day = &a.days["2026-09-01"];
    assert_eq!(
        (day.airings, day.aired_ms, day.interactions),
        (2, 20 * MIN, 897)
    );
    assert_eq!(a.works[&200].peak_viewers, 350);
    // Over the period: likes 850 + comments 12 + shares 35.
    assert_eq!(a.total.interactions, 897);
    assert_eq!(a.total.peak_viewers, 350);
}

#[test]
fn nothing_is_attributed_outside_the_period_or_without_figures() {
    let a = attribute(
        &[AiringIn {
            id: 9,
            work_id: None,
            unit_id: None,
            title: "垫片".into(),
            start_ms: T,
            end_ms: T + MIN,
            section: None,
        }],
        &[],
        &[],
        &[],
        T + MIN,
        T + 2 * MIN,
    );
    assert!(a.programmes.is_empty());
    assert_eq!(a.total, Audience::default());
}
