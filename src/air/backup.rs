//! Live feeds' backup clips in the air plan: each live item's cue names its feed's backup
//! (the file the engine loops instead of the slate while the feed is down).
//!
//! Owns: putting a feed's backup file into the cues of that feed's items. Does not own:
//! where the backups are stored or which file a work's backup resolves to
//! (`rundown_db::backup`), nor playing them (the engine's switcher).

use std::collections::HashMap;

use crate::rundown::{Day, ItemKind};

use super::plan::Planned;

/// Sets `cue.backup` of every planned live item whose feed (by id) has a backup file in
/// `backups`; `days` are the days `planned` came from (matched by date and item index).
/// Items without a feed id, or whose feed has none, keep the slate.
pub fn apply(planned: &mut [Planned], days: &[(u32, Day)], backups: &HashMap<i64, String>) {
    if backups.is_empty() {
        return;
    }
    for p in planned.iter_mut().filter(|p| p.live) {
        let feed = days
            .iter()
            .find(|(_, d)| d.date == p.date)
            .and_then(|(_, d)| d.items.get(p.index))
            .filter(|i| i.kind == ItemKind::Live)
            .and_then(|i| i.feed_id);
        p.cue.backup = feed.and_then(|f| backups.get(&f)).cloned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::air::plan::{DayInView, plan};
    use crate::rundown::time::day_bounds;
    use crate::rundown::{DayItem, FrameRate};
    use chrono::{DateTime, NaiveDate, Utc};

    fn item(kind: ItemKind, source: &str, feed_id: Option<i64>, frames: u64) -> DayItem {
        DayItem {
            start: DateTime::<Utc>::MIN_UTC,
            frames,
            in_frames: 0,
            kind,
            work_id: (kind == ItemKind::Work).then_some(9),
            feed_id,
            title: source.into(),
            source: source.into(),
            section: "慢直播".into(),
            block: String::new(),
            unit: String::new(),
            unit_id: Some(7),
            copyright_holder: String::new(),
            categories: Vec::new(),
            premiere: false,
            pinned: false,
            cut: false,
        }
    }

    #[test]
    fn a_feeds_backup_reaches_the_cues_of_its_items_only() {
        let date: NaiveDate = "2026-09-05".parse().expect("date");
        let (start, end) = day_bounds(chrono_tz::Asia::Shanghai, date);
        let rate = FrameRate::default();
        let mut items = vec![
            item(ItemKind::Live, "rtsp://cam/telescope", Some(3), 1000),
            item(ItemKind::Work, "/m/a.mp4", None, 1000),
            item(ItemKind::Live, "ingest://partner", Some(4), 1000),
        ];
        for (i, it) in items.iter_mut().enumerate() {
            it.start = rate.add(start, i as u64 * 1000);
        }
        let day = Day {
            date,
            edition: "2026".into(),
            time_zone: "Asia/Shanghai".into(),
            rate,
            start,
            end,
            items,
        };
        let days = vec![(2, day)];
        let mut planned = plan(
            &[DayInView {
                day: &days[0].1,
                version: 2,
            }],
            |_| 0,
            0,
            0,
            10_000,
        );
        assert_eq!(planned.len(), 3);
        let backups = HashMap::from([(3, "/media/星空延时.mp4".to_string())]);
        apply(&mut planned, &days, &backups);
        let by_source: Vec<(&str, Option<&str>)> = planned
            .iter()
            .map(|p| (p.cue.source.as_str(), p.cue.backup.as_deref()))
            .collect();
        assert_eq!(
            by_source,
            vec![
                ("rtsp://cam/telescope", Some("/media/星空延时.mp4")),
                ("/m/a.mp4", None),
                ("ingest://partner", None),
            ]
        );
    }
}
