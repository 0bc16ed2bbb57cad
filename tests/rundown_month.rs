//! The rundown over a whole month, as users will notice it: a generated catalog of a few
//! hundred works builds 30 exact days that pass validation, respect repeat rules and air
//! every selected work; a rebuild from Sep 16 with late works leaves Sep 1–15 and a locked
//! Sep 20 byte-identical; the exports read back (XMLTV against the DTD with xmllint, CSV with
//! Chinese through the csv crate); a hand-edited day fails validation naming each fault;
//! rehearsal reports per day.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, NaiveDate, Utc};
use kepu_playout::air::rehearsal::rehearse;
use kepu_playout::rundown::export::{
    CSV_HEADER, ListOptions, engine_day_file, parse_engine_day_file, programme_list, to_csv,
    to_json,
};
use kepu_playout::rundown::mix::minutes_text;
use kepu_playout::rundown::rehearse::{FsProbe, MediaCheck, MediaProbe};
use kepu_playout::rundown::store::{DayStore, MemStore};
use kepu_playout::rundown::validate::{ProblemKind, validate_day};
use kepu_playout::rundown::{
    BuildRequest, Built, Catalog, CompiledSchedule, Day, ItemKind, LiveFeed, ScheduleConfig, Work,
    build, demo, html, xmltv,
};

const DAY: u64 = 2_160_000;

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, day).expect("valid date")
}

fn config() -> CompiledSchedule {
    ScheduleConfig::load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schedules/editions/2026.toml")
            .as_path(),
    )
    .expect("shipped config is valid")
}

fn catalog() -> (Vec<Work>, Vec<LiveFeed>) {
    (demo::catalog(7, 320), demo::feeds())
}

/// The whole month from nothing: no stored days, no lock, built now.
fn build_fresh(cs: &CompiledSchedule, works: &[Work], feeds: &[LiveFeed]) -> Built {
    build_all(
        cs,
        works,
        feeds,
        &BTreeMap::new(),
        None,
        None,
        &BTreeSet::new(),
    )
}

fn build_all(
    cs: &CompiledSchedule,
    works: &[Work],
    feeds: &[LiveFeed],
    existing: &BTreeMap<NaiveDate, Day>,
    from: Option<NaiveDate>,
    now: Option<DateTime<Utc>>,
    locked: &BTreeSet<NaiveDate>,
) -> Built {
    build(
        cs,
        &BuildRequest {
            works,
            feeds,
            existing,
            from,
            now,
            locked,
        },
    )
}

fn fresh(cs: &CompiledSchedule) -> (Vec<Work>, Vec<LiveFeed>, Built) {
    let (works, feeds) = catalog();
    let built = build_fresh(cs, &works, &feeds);
    (works, feeds, built)
}

/// Every airing start of every work, across the given days.
fn airings(days: &BTreeMap<NaiveDate, Day>) -> BTreeMap<i64, Vec<DateTime<Utc>>> {
    let mut out: BTreeMap<i64, Vec<DateTime<Utc>>> = BTreeMap::new();
    for day in days.values() {
        for it in &day.items {
            if let (ItemKind::Work, Some(id)) = (it.kind, it.work_id) {
                out.entry(id).or_default().push(it.start);
            }
        }
    }
    out
}

fn assert_month_sound(
    cs: &CompiledSchedule,
    works: &[Work],
    feeds: &[LiveFeed],
    days: &BTreeMap<NaiveDate, Day>,
) {
    assert_eq!(days.len(), 30);
    let cat = Catalog::new(works, feeds);
    for (date, day) in days {
        let total: u64 = day.items.iter().map(|i| i.frames).sum();
        assert_eq!(total, DAY, "{date} sums to exactly 24 h");
        assert_eq!(day.frames(), DAY);
        let problems = validate_day(day, &cat, Some(cs));
        assert!(
            problems.is_empty(),
            "{date} validates: {:#?}",
            problems.iter().map(|p| &p.message).collect::<Vec<_>>()
        );
        assert!(day.items.iter().all(|i| i.kind != ItemKind::Work
            || i.frames == cat.works[&i.work_id.expect("id")].frames
            || i.cut));
    }
    let section_of: BTreeMap<i64, &str> = days
        .values()
        .flat_map(|d| &d.items)
        .filter_map(|i| i.work_id.map(|w| (w, i.section.as_str())))
        .collect();
    for (id, starts) in airings(days) {
        let sec = cs
            .sections
            .iter()
            .find(|s| s.name == section_of[&id])
            .expect("known section");
        assert!(
            starts.len() as u32 <= sec.max_airings,
            "work {id} airs {} times",
            starts.len()
        );
        let mut s = starts.clone();
        s.sort();
        for w in s.windows(2) {
            assert!(
                w[1] - w[0] >= chrono::Duration::hours(24),
                "work {id} repeats after {} (< 24 h)",
                w[1] - w[0]
            );
        }
    }
}

#[test]
fn a_month_builds_exact_fair_and_complete() {
    let cs = config();
    let (works, feeds, built) = fresh(&cs);
    assert_month_sound(&cs, &works, &feeds, &built.days);

    // Every selected (ready) work airs at least once; the unready are excluded, never aired.
    let aired = airings(&built.days);
    let ready: Vec<&Work> = works
        .iter()
        .filter(|w| w.ready.tech && w.ready.selected && w.ready.rights)
        .collect();
    assert!(
        ready.len() > 280 && ready.len() < works.len(),
        "catalog has some unready works"
    );
    for w in &ready {
        assert!(
            aired.contains_key(&w.id),
            "work {} «{}» never airs",
            w.id,
            w.title
        );
    }
    for w in works.iter().filter(|w| !w.ready.selected) {
        assert!(!aired.contains_key(&w.id), "unselected work {} airs", w.id);
    }
    assert!(built.report.unaired.is_empty());
    assert_eq!(built.report.excluded.len(), works.len() - ready.len());

    // Fair: within each section no unit has more than 10% of the airtime.
    let mut by: BTreeMap<(String, i64), u64> = BTreeMap::new();
    let mut sec_total: BTreeMap<String, u64> = BTreeMap::new();
    for it in built
        .days
        .values()
        .flat_map(|d| &d.items)
        .filter(|i| i.kind == ItemKind::Work)
    {
        *by.entry((it.section.clone(), it.unit_id.expect("unit")))
            .or_default() += it.frames;
        *sec_total.entry(it.section.clone()).or_default() += it.frames;
    }
    for ((sec, unit), f) in &by {
        if sec != "慢直播" {
            let share = *f as f64 / sec_total[sec] as f64;
            assert!(
                share < 0.10,
                "unit {unit} has {:.1}% of {sec}",
                share * 100.0
            );
        }
    }

    // Premieres spread over the month rather than all in the first days.
    let per_day = &built.report.premieres;
    let total: u32 = per_day.values().sum();
    let first_week: u32 = per_day.range(d(1)..=d(7)).map(|(_, n)| n).sum();
    let days_with = per_day.values().filter(|n| **n > 0).count();
    assert!(
        days_with >= 25,
        "premieres on {days_with} days: {per_day:?}"
    );
    assert!(
        f64::from(first_week) < 0.6 * f64::from(total),
        "first week {first_week} of {total}: {per_day:?}"
    );

    // Slow-live feeds are on air in their windows; the 20:00 slot holds premieres.
    let sep1 = &built.days[&d(1)];
    let live: Vec<_> = sep1
        .items
        .iter()
        .filter(|i| i.kind == ItemKind::Live)
        .collect();
    assert_eq!(live.len(), 2, "both feeds placed");
    assert!(live.iter().all(|i| i.pinned && i.section == "慢直播"));
    let slot: Vec<_> = sep1
        .items
        .iter()
        .filter(|i| i.block == "黄金时段首播" && i.kind == ItemKind::Work)
        .collect();
    assert!(
        !slot.is_empty() && slot.iter().all(|i| i.premiere),
        "prime-time slot airs premieres"
    );

    // Deterministic: the same inputs give the same bytes.
    let again = fresh(&cs).2;
    for (date, day) in &built.days {
        assert_eq!(
            day.to_canonical_json(),
            again.days[date].to_canonical_json(),
            "{date} differs between two builds"
        );
    }
}

#[test]
fn rebuild_from_sep16_with_late_works_keeps_past_and_locked_days_byte_identical() {
    let cs = config();
    let (mut works, feeds, first) = fresh(&cs);
    let mut store = MemStore::default();
    let t0: DateTime<Utc> = "2026-08-31T08:00:00Z".parse().expect("time");
    for day in first.days.values() {
        store.save(day, "builder", "首次编排", t0).expect("save");
    }
    // Late works (月度精剪) arrive on Sep 15 for airing from Sep 16; an operator locks Sep 20.
    let late = demo::works(99, 10_001, 24, Some(d(16)));
    works.extend(late.iter().cloned());
    let locked: BTreeSet<NaiveDate> = [d(20)].into();
    let now: DateTime<Utc> = "2026-09-15T10:00:00+08:00".parse().expect("time");
    let existing = store.latest_days().expect("load");
    let second = build_all(
        &cs,
        &works,
        &feeds,
        &existing,
        Some(d(16)),
        Some(now),
        &locked,
    );

    for day in 1..=15 {
        assert_eq!(
            first.days[&d(day)].to_canonical_json(),
            second.days[&d(day)].to_canonical_json(),
            "Sep {day} changed"
        );
    }
    assert_eq!(
        first.days[&d(20)].to_canonical_json().as_bytes(),
        second.days[&d(20)].to_canonical_json().as_bytes(),
        "locked Sep 20 changed"
    );
    let changed = (16..=30)
        .filter(|&x| x != 20 && first.days[&d(x)] != second.days[&d(x)])
        .count();
    assert!(
        changed >= 10,
        "late works reshape the remaining days ({changed} changed)"
    );

    // Late works air on or after Sep 16 (never on the locked day), every one of the ready ones.
    let aired = airings(&second.days);
    for w in late.iter().filter(|w| w.ready.selected) {
        let starts = aired
            .get(&w.id)
            .unwrap_or_else(|| panic!("late work {} never airs", w.id));
        assert!(
            starts
                .iter()
                .all(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).date_naive() >= d(16))
        );
    }
    assert!(
        second.days[&d(20)]
            .items
            .iter()
            .all(|i| i.work_id.is_none_or(|id| id < 10_001))
    );
    assert_month_sound(&cs, &works, &feeds, &second.days);
    assert!(
        second.report.unaired.is_empty(),
        "{:?}",
        second.report.unaired
    );

    // Saving the rebuild makes new versions only of days that changed.
    let t1: DateTime<Utc> = "2026-09-15T03:00:00Z".parse().expect("time");
    for day in second.days.values() {
        store
            .save(day, "builder", "补充月度精剪作品", t1)
            .expect("save");
    }
    for day in 1..=15 {
        assert_eq!(
            store.versions(d(day)).expect("versions").len(),
            1,
            "Sep {day} has one version"
        );
    }
    assert_eq!(store.versions(d(20)).expect("versions").len(), 1);
    let v = store.versions(d(17)).expect("versions");
    assert_eq!(v.len(), 2);
    assert_eq!(v[1].reason, "补充月度精剪作品");
    let old = store.load(d(17), Some(1)).expect("load").expect("v1").1;
    let new = store.load(d(17), None).expect("load").expect("v2").1;
    assert!(!kepu_playout::rundown::diff::diff_days(&old, &new).is_empty());
}

#[test]
fn exports_read_back() {
    let cs = config();
    let (_, _, built) = fresh(&cs);
    let days: Vec<&Day> = built.days.values().collect();
    let opts = ListOptions::default();

    // CSV: BOM, the published columns, Chinese intact through a spreadsheet reader.
    let csv_bytes = to_csv(&days, opts);
    assert_eq!(&csv_bytes[..3], &[0xEF, 0xBB, 0xBF], "UTF-8 BOM for Excel");
    let mut r = csv::Reader::from_reader(&csv_bytes[3..]);
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, CSV_HEADER);
    let rows: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>().expect("rows");
    let list = programme_list(&days, opts);
    assert_eq!(rows.len(), list.len());
    let first_work = days[0]
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Work)
        .expect("a work");
    let row = rows
        .iter()
        .find(|r| &r[4] == first_work.title.as_str())
        .expect("title round-trips in Chinese");
    assert_eq!(&row[0], "2026-09-01");
    assert_eq!(&row[6], first_work.copyright_holder.as_str());
    assert_eq!(&row[7], first_work.unit.as_str());
    assert!(
        rows.iter()
            .all(|r| ["寻初心", "悦科普", "探创新", "向未来", "慢直播"].contains(&&r[3]))
    );
    assert!(rows.iter().all(|r| r[5].len() == 8 && r[1].len() == 8));

    // JSON parses back to the same list.
    let json: serde_json::Value = serde_json::from_str(&to_json(&days, opts)).expect("json");
    assert_eq!(json["entries"].as_array().map(Vec::len), Some(list.len()));

    // XMLTV validates against the DTD, and a broken document does not.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xmltv.dtd"),
        dir.path().join("xmltv.dtd"),
    )
    .expect("copy dtd");
    let doc = xmltv::to_xmltv(&days, &cs.config.channel_id, &cs.config.channel_name, opts);
    assert!(
        doc.contains("start=\"20260901000000 +0800\""),
        "Shanghai offset on times"
    );
    assert!(doc.contains("<title lang=\"zh\">"));
    std::fs::write(dir.path().join("month.xml"), &doc).expect("write");
    let broken = doc.replacen("<title lang=\"zh\">", "<bogus/><title lang=\"zh\">", 1);
    std::fs::write(dir.path().join("broken.xml"), broken).expect("write");
    assert!(
        xmllint(dir.path(), "month.xml"),
        "XMLTV validates against the DTD"
    );
    assert!(!xmllint(dir.path(), "broken.xml"), "the DTD check can fail");
    // And against the official DTD as Debian ships it (xmltv-util), which `./run.sh test`
    // extracts and names in KEPU_XMLTV_DTD.
    match std::env::var_os("KEPU_XMLTV_DTD") {
        Some(official) => {
            std::fs::copy(&official, dir.path().join("xmltv.dtd")).expect("copy official dtd");
            assert!(
                xmllint(dir.path(), "month.xml"),
                "XMLTV validates against the official DTD"
            );
            assert!(!xmllint(dir.path(), "broken.xml"));
        }
        None => assert!(
            std::env::var_os("CI").is_none(),
            "KEPU_XMLTV_DTD is not set in CI: ./run.sh test provides the official DTD"
        ),
    }

    // HTML: Chinese, the notice's columns, escaped text.
    let page = html::to_html(&days[..1], "「科普之光」全国科普月大型网络展播", opts);
    assert!(page.contains("<html lang=\"zh-CN\">") && page.contains("<meta charset=\"utf-8\">"));
    for col in ["时间", "版块", "节目名称", "时长", "版权方"] {
        assert!(page.contains(&format!("<th>{col}</th>")), "column {col}");
    }
    assert!(page.contains("2026年9月1日 星期二"));
    assert!(page.contains(&first_work.title));
    let mut odd = days[0].clone();
    odd.items[1].title = "<script>&".into();
    assert!(html::to_html(&[&odd], "x", opts).contains("&lt;script&gt;&amp;"));

    // Engine day file: start, a duration on every item summing to the day, `at` on block starts.
    let text = engine_day_file(days[0]);
    let f = parse_engine_day_file(&text).expect("engine file parses");
    assert_eq!(f.start.as_deref(), Some("2026-09-01T00:00:00"));
    assert_eq!(f.item.len(), days[0].items.len());
    let frames: u64 = f
        .item
        .iter()
        .map(|i| {
            kepu_playout::rundown::export::engine_frames(
                cs.rate,
                i.duration.as_deref().expect("duration"),
            )
            .expect("exact")
        })
        .sum();
    assert_eq!(frames, DAY);
    let ats: Vec<&str> = f.item.iter().filter_map(|i| i.at.as_deref()).collect();
    for t in [
        "2026-09-01T00:00:00",
        "2026-09-01T06:00:00",
        "2026-09-01T08:00:00",
        "2026-09-01T20:00:00",
        "2026-09-01T21:00:00",
        "2026-09-01T22:00:00",
    ] {
        assert!(ats.contains(&t), "pinned {t}: {ats:?}");
    }
    assert!(f.item.iter().all(|i| {
        i.duration
            .as_deref()
            .is_some_and(|d| d.len() == 12 && &d[8..9] == ".")
    }));
}

fn xmllint(dir: &Path, file: &str) -> bool {
    let out = Command::new("xmllint")
        .current_dir(dir)
        .args(["--noout", "--dtdvalid", "xmltv.dtd", file])
        .output();
    match out {
        Ok(o) => {
            if !o.status.success() {
                eprintln!("xmllint {file}: {}", String::from_utf8_lossy(&o.stderr));
            }
            o.status.success()
        }
        Err(e) => {
            panic!("xmllint is needed for the XMLTV check (apt-get install libxml2-utils): {e}")
        }
    }
}

#[test]
fn a_hand_edited_day_with_overlap_gap_and_unapproved_work_fails_naming_all_three() {
    let cs = config();
    let (works, feeds, built) = fresh(&cs);
    let cat = Catalog::new(&works, &feeds);
    let unapproved = works
        .iter()
        .find(|w| !w.ready.selected)
        .expect("an unselected work");
    // Edit as an operator would: the JSON text.
    let mut v: serde_json::Value =
        serde_json::from_str(&built.days[&d(3)].to_canonical_json()).expect("json");
    let items = v["items"].as_array_mut().expect("items");
    let i = items
        .iter()
        .position(|x| {
            x["kind"] == "work" && x["start"].as_str().is_some_and(|s| s > "2026-09-03T02:00")
        })
        .expect("a daytime work");
    // Start item i two minutes early: it overlaps the one before and leaves a gap after it.
    let start: DateTime<Utc> = items[i]["start"]
        .as_str()
        .expect("start")
        .parse()
        .expect("time");
    items[i]["start"] = serde_json::json!(start - chrono::Duration::minutes(2));
    // Swap a later work for one that was not selected.
    let j = items
        .iter()
        .rposition(|x| x["kind"] == "work")
        .expect("a work");
    items[j]["work_id"] = serde_json::json!(unapproved.id);
    items[j]["title"] = serde_json::json!(unapproved.title);
    items[j]["frames"] = serde_json::json!(
        unapproved
            .frames
            .min(items[j]["frames"].as_u64().expect("frames"))
    );
    let edited: Day = serde_json::from_value(v).expect("still a day");

    let problems = validate_day(&edited, &cat, Some(&cs));
    let kinds: BTreeSet<ProblemKind> = problems.iter().map(|p| p.kind).collect();
    for k in [
        ProblemKind::Overlap,
        ProblemKind::Gap,
        ProblemKind::NotSelected,
    ] {
        assert!(kinds.contains(&k), "{k:?} reported: {:#?}", problems);
    }
    let msg = |k| {
        problems
            .iter()
            .find(|p| p.kind == k)
            .map(|p| p.message.clone())
            .expect("present")
    };
    let sh = (start - chrono::Duration::minutes(2))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert!(
        msg(ProblemKind::Overlap).starts_with(&sh)
            && msg(ProblemKind::Overlap).contains("重叠")
            && msg(ProblemKind::Overlap).contains("00:02:00"),
        "{}",
        msg(ProblemKind::Overlap)
    );
    assert!(
        msg(ProblemKind::Gap).contains("空档") && msg(ProblemKind::Gap).contains("00:02:00"),
        "{}",
        msg(ProblemKind::Gap)
    );
    assert!(
        msg(ProblemKind::NotSelected).contains("未入选")
            && msg(ProblemKind::NotSelected).contains(&unapproved.title),
        "{}",
        msg(ProblemKind::NotSelected)
    );
    assert!(msg(ProblemKind::Gap).starts_with("2026-09-03 "));

    // A slow-live feed without a source is named too.
    let mut no_src = built.days[&d(3)].clone();
    let k = no_src
        .items
        .iter()
        .position(|x| x.kind == ItemKind::Live)
        .expect("a live item");
    no_src.items[k].source.clear();
    let p = validate_day(&no_src, &cat, Some(&cs));
    assert!(
        p.iter()
            .any(|x| x.kind == ProblemKind::NoSource && x.message.contains("慢直播时段无信号源")),
        "{p:#?}"
    );
}

struct Probe {
    missing: String,
}

impl MediaProbe for Probe {
    fn probe(&self, source: &str) -> MediaCheck {
        if source == self.missing {
            MediaCheck::Missing
        } else if source.contains("://") {
            MediaCheck::Unverified("直播信号".into())
        } else {
            MediaCheck::Present { frames: None }
        }
    }
}

#[test]
fn rehearsal_of_the_month_reports_per_day() {
    let cs = config();
    let (_, _, built) = fresh(&cs);
    let mut days: Vec<Day> = built.days.values().cloned().collect();
    // A work of Sep 5 that does not air on Sep 1 (whose rehearsal must stay clean).
    let missing = days[4]
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Work && days[0].items.iter().all(|x| x.source != i.source))
        .expect("work")
        .source
        .clone();
    // Sep 2: leave a hole of 10 minutes by shortening one item.
    let k = days[1]
        .items
        .iter()
        .position(|i| i.kind == ItemKind::Work && !i.pinned && i.frames > 20_000)
        .expect("work");
    days[1].items[k].frames -= 15_000;
    // Through the controller that airs, on a simulated clock.
    let t0 = std::time::Instant::now();
    let (r, cues) = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(rehearse(
            &days,
            &Probe {
                missing: missing.clone(),
            },
            Some(&cs),
        ))
        .expect("rehearsal");
    eprintln!(
        "30 days rehearsed through the controller in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(r.days.len(), 30);
    let items: usize = days.iter().map(|d| d.items.len()).sum();
    assert_eq!(cues.len(), items, "every item of the month was cued once");
    assert!(r.days[0].clean(), "{:#?}", r.days[0]);
    assert_eq!(
        r.days[0].unverified.len(),
        2,
        "two live feeds are unverified URLs"
    );
    assert_eq!(r.days[1].gaps.len(), 1);
    assert_eq!(r.days[1].gaps[0].frames, 15_000);
    assert!(r.days[1].gaps[0].wall.starts_with("2026-09-02 "));
    assert!(
        r.days
            .iter()
            .any(|d| d.missing.iter().any(|m| m.message.contains(&missing)))
    );
    for d in &r.days {
        let programme: u64 = d.by_section.values().sum();
        assert_eq!(
            programme + d.filler_frames + d.slate_frames + d.dead_air_frames,
            DAY,
            "{} airtime adds up",
            d.date
        );
        assert_eq!(d.by_unit.values().sum::<u64>(), programme);
        assert!(
            d.by_section.contains_key("慢直播") && d.by_section.len() == 5,
            "{:?}",
            d.by_section
        );
    }
}

/// The realistic 2026 catalog of issue 14: 255 ready works of 15–60 min in categories 1–7
/// and 9, no slow-live files, one slow-live feed every night 01:00–04:00.
fn catalog_2026() -> (Vec<Work>, Vec<LiveFeed>) {
    (demo::catalog_2026(14, 255), vec![demo::night_feed()])
}

fn minutes(frames: u64) -> u64 {
    frames / (25 * 60)
}

#[test]
fn the_2026_catalog_without_slow_live_files_airs_works_not_the_slate() {
    let cs = config();
    let (works, feeds) = catalog_2026();
    assert_eq!(works.len(), 255);
    assert!(works.iter().all(|w| {
        let c = w.categories[0];
        (1..=9).contains(&c) && c != 8 && (15 * 60 * 25..=60 * 60 * 25).contains(&w.frames)
    }));
    let t0 = std::time::Instant::now();
    let built = build_fresh(&cs, &works, &feeds);
    eprintln!("built 30 days from 255 works in {:?}", t0.elapsed());
    // Exact days, validation clean, no work twice within 24 h, at most max_airings.
    assert_month_sound(&cs, &works, &feeds, &built.days);
    let mut report = String::new();
    for (date, m) in &built.report.mix {
        report.push_str(&format!(
            "{date}: slate {} min, filler {} min, premieres {} min, replays {} min, live {} min\n",
            minutes(m.total.slate_frames),
            minutes(m.total.filler_frames),
            minutes(m.total.premiere_frames),
            minutes(m.total.replay_frames),
            minutes(m.total.live_frames),
        ));
    }
    eprint!("{report}");
    // The longest slate of any one block, in seconds, and the day it falls on.
    let (worst_day, worst_block) = built
        .report
        .mix
        .iter()
        .flat_map(|(date, m)| m.blocks.iter().map(move |b| (*date, b)))
        .max_by_key(|(_, b)| b.mix.slate_frames)
        .expect("blocks");
    let day_most = built
        .report
        .mix
        .values()
        .map(|m| m.total.slate_frames)
        .max()
        .unwrap_or(0);
    eprintln!(
        "slate: most in a day {} s, most in a block {} s ({worst_day} {}), month {} s",
        day_most / 25,
        worst_block.mix.slate_frames / 25,
        worst_block.block,
        built
            .report
            .mix
            .values()
            .map(|m| m.total.slate_frames)
            .sum::<u64>()
            / 25
    );
    eprintln!("premieres per day: {:?}", built.report.premieres);
    for w in &built.report.warnings {
        eprintln!("{w}");
    }
    // The ends of the blocks are packed (two works looked ahead): with 255 works on offer no
    // day carries more than 6 minutes of the slate card, no block more than 3 and the month
    // at most 30 (built: 261 s, 102 s and 1,207 s; before the packing: 24, 21 and 236 min).
    let mut month = 0;
    for (date, m) in &built.report.mix {
        assert_eq!(m.total.total(), DAY, "{date} report sums to 24 h");
        assert!(
            m.total.slate_frames <= 6 * 60 * 25,
            "{date} carries {} s of slate:\n{report}",
            m.total.slate_frames / 25
        );
        for b in &m.blocks {
            assert!(
                b.mix.slate_frames <= 3 * 60 * 25,
                "{date} {} carries {} s of slate",
                b.block,
                b.mix.slate_frames / 25
            );
        }
        month += m.total.slate_frames;
    }
    assert!(
        month <= 30 * 60 * 25,
        "the month carries {} s of slate",
        month / 25
    );
    // Same seed, same month.
    let again = build_fresh(&cs, &works, &feeds);
    for (date, day) in &built.days {
        assert_eq!(
            day.to_canonical_json(),
            again.days[date].to_canonical_json(),
            "{date} built twice differs"
        );
    }
    for id in &built.report.unaired {
        let w = works
            .iter()
            .find(|w| w.id == *id)
            .expect("work of the catalog");
        eprintln!(
            "unaired {id} cat {:?} min {}",
            w.categories,
            minutes(w.frames)
        );
    }
    assert!(
        built.report.unaired.is_empty(),
        "every work airs: {:?}",
        built.report.unaired
    );
}

#[test]
fn a_section_emptied_is_named_with_its_day_block_and_minutes_of_slate() {
    // The 2026 catalog without any 向未来 (category 7) work, and an edition whose 向未来 has
    // no way out: its blocks run dry every day, and the report must say so plainly.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schedules/editions/2026.toml"),
    )
    .expect("edition");
    let mut sc = ScheduleConfig::from_toml_str(&text, "2026.toml").expect("parses");
    let i = sc
        .section
        .iter()
        .position(|s| s.name == "向未来")
        .expect("向未来 section");
    sc.section[i].fallback.clear();
    let cs = sc.compile("2026.toml").expect("compiles");
    let (mut works, feeds) = catalog_2026();
    works.retain(|w| w.categories[0] != 7);
    let built = build_fresh(&cs, &works, &feeds);
    // Every day still exact; 向未来 18:00–20:00 and 21:00–22:00 (3 h) are slate.
    for (date, m) in &built.report.mix {
        assert_eq!(m.total.total(), DAY, "{date}");
        let b = m
            .blocks
            .iter()
            .find(|b| b.block == "向未来")
            .expect("向未来 block in the report");
        assert_eq!(
            b.mix.slate_frames + b.mix.filler_frames,
            3 * 3600 * 25,
            "{date} 向未来 is all filler and slate"
        );
        assert!(b.mix.slate_frames > 150 * 60 * 25, "{date}: {:?}", b.mix);
    }
    let w = built
        .report
        .warnings
        .iter()
        .find(|w| w.starts_with("2026-09-07 等待画面"))
        .unwrap_or_else(|| panic!("no slate warning for 09-07: {:#?}", built.report.warnings));
    let slate = built.report.mix[&d(7)]
        .blocks
        .iter()
        .find(|b| b.block == "向未来")
        .expect("向未来")
        .mix
        .slate_frames;
    assert!(w.contains("超过 10 分钟"), "{w}");
    let named = format!("向未来 {}", minutes_text(cs.rate, slate));
    assert!(w.contains(&named), "{w} names {named}");
    // The same figures in the JSON the CLI and the API print.
    let json = serde_json::to_value(&built.report).expect("report serialises");
    assert_eq!(
        json["mix"]["2026-09-07"]["slate_frames"].as_u64(),
        Some(built.report.mix[&d(7)].total.slate_frames)
    );
    assert!(
        json["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|x| x.as_str() == Some(w.as_str()))
    );
}

#[test]
fn a_fresh_install_airs_no_fallback_in_filler_slots() {
    // The built-in editions point filler and slate at nothing that a fresh install lacks.
    for edition in ["2026.toml", "2025.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schedules/editions")
            .join(edition);
        let text = std::fs::read_to_string(&path).expect("edition");
        let sc = ScheduleConfig::from_toml_str(&text, edition).expect("parses");
        let missing = sc.missing_filler(edition, &FsProbe);
        assert!(missing.is_empty(), "{edition}: {missing:#?}");
    }
    // Built from the 2026 catalog, every filler and slate item plays something that exists
    // (the engine's own slate card), so rehearsal finds no missing media in them.
    let cs = config();
    let (works, feeds) = catalog_2026();
    let built = build_fresh(&cs, &works, &feeds);
    let fill: Vec<_> = built
        .days
        .values()
        .flat_map(|d| &d.items)
        .filter(|i| matches!(i.kind, ItemKind::Filler | ItemKind::Slate))
        .collect();
    assert!(!fill.is_empty(), "the month has some slate to check");
    // The rundown's name for the engine's slate card is the engine's own.
    assert_eq!(
        kepu_playout::rundown::config::ENGINE_SLATE_SOURCE,
        playout::cue::SLATE_SOURCE
    );
    for it in fill {
        // What the on-air controller hands the engine for the item: the slate card (a
        // scheduled slate, not a fallback) or a file that exists.
        let opened = kepu_playout::air::plan::engine_source(it);
        assert!(
            opened == playout::cue::SLATE_SOURCE || Path::new(&opened).exists(),
            "{} {} would open {opened}, which a fresh install lacks",
            it.start,
            it.title
        );
        assert_ne!(FsProbe.probe(&it.source), MediaCheck::Missing);
    }
    // An edition that names clips not on disk is told so, by field.
    let bad = text_with_missing_clip();
    let sc = ScheduleConfig::from_toml_str(&bad, "bad.toml").expect("parses");
    let missing = sc.missing_filler("bad.toml", &FsProbe);
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert_eq!(missing[0].field, "filler.clips[0].source");
    assert!(
        missing[0]
            .to_string()
            .starts_with("bad.toml：字段 filler.clips[0].source：")
    );
}

fn text_with_missing_clip() -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schedules/editions/2026.toml"),
    )
    .expect("edition");
    text.replace(
        "[schedule.repeat]",
        "[[schedule.filler.clips]]\nsource = \"/media/filler/nowhere-60s.mp4\"\ntitle = \"宣传片\"\nduration = \"00:01:00\"\n\n[schedule.repeat]",
    )
}

#[test]
fn premieres_spread_over_the_month_with_200_unaired_works() {
    // Sep 1–10 on air with the 2026 catalog, premiered as fast as it could (an edition
    // without `spread_premieres`), so by Sep 10 most of its works have aired. On Sep 10 late
    // works arrive, airable from Sep 11, bringing the unaired to exactly 200. Rebuilt from
    // Sep 11 with the shipped edition (`spread_premieres = true`), every day gets its share of
    // the 200: the busiest day has at most twice the quietest day's premieres, and none is
    // left unaired.
    let cs = config();
    let mut front = cs.config.clone();
    front.repeat.spread_premieres = false;
    let front = front.compile("2026.toml").expect("compiles");
    let (works, feeds) = catalog_2026();
    let first = build_fresh(&front, &works, &feeds);
    let aired_by_sep10: BTreeSet<i64> = first
        .days
        .range(..=d(10))
        .flat_map(|(_, day)| day.items.iter().filter_map(|i| i.work_id))
        .collect();
    let left = works.len() - aired_by_sep10.len();
    assert!(left < 100, "{left} of the first catalog unaired by Sep 10");
    let mut all = works.clone();
    let mut late = demo::catalog_2026(15, 200 - left);
    for (i, w) in late.iter_mut().enumerate() {
        w.id = 1001 + i as i64;
        w.source = format!("/media/works/{:05}.mp4", w.id);
        w.premiere_after = Some(d(11));
    }
    all.extend(late.iter().cloned());
    let now: DateTime<Utc> = "2026-09-10T12:00:00+08:00".parse().expect("now");
    let rebuilt = build_all(
        &cs,
        &all,
        &feeds,
        &first.days,
        None,
        Some(now),
        &BTreeSet::new(),
    );
    assert_month_sound(&cs, &all, &feeds, &rebuilt.days);
    let per_day: BTreeMap<NaiveDate, u32> = rebuilt
        .report
        .premieres
        .range(d(11)..)
        .map(|(d, n)| (*d, *n))
        .collect();
    assert_eq!(per_day.len(), 20);
    let busiest = per_day.values().max().copied().unwrap_or(0);
    let quietest = per_day.values().min().copied().unwrap_or(0);
    eprintln!("premieres per day from Sep 11: {per_day:?}");
    let unaired: Vec<_> = rebuilt
        .report
        .unaired
        .iter()
        .map(|id| {
            let w = all.iter().find(|w| w.id == *id).expect("work");
            (id, w.categories.clone(), minutes(w.frames))
        })
        .collect();
    assert_eq!(
        per_day.values().sum::<u32>(),
        200,
        "{per_day:?}, unaired {unaired:?}"
    );
    assert!(
        quietest > 0 && busiest <= 2 * quietest,
        "busiest {busiest}, quietest {quietest}: {per_day:?}"
    );
    for (date, m) in rebuilt.report.mix.range(d(11)..) {
        assert!(
            m.total.slate_frames <= 30 * 60 * 25,
            "{date}: {} min of slate",
            minutes(m.total.slate_frames)
        );
    }
}
