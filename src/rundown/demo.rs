//! A deterministic demo catalog: works and slow-live feeds with realistic durations, for
//! tests, benchmarks and trying the CLI without the catalog. Not used on air.

use chrono::NaiveDate;

use super::builder::mix;
use super::{FeedWindow, LiveFeed, Readiness, Work};

const PLACES: &[&str] = &[
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
];
const KINDS: &[&str] = &[
    "科协",
    "科技馆",
    "科普教育基地",
    "自然博物馆",
    "天文馆",
    "地质学会",
    "气象局",
    "农业科学院",
];
const SUBJECTS: &[&str] = &[
    "深海探秘",
    "天宫课堂",
    "极地科考",
    "地下实验室",
    "量子通信",
    "北斗导航",
    "大飞机",
    "高铁之心",
    "杂交水稻",
    "中国天眼",
    "月球背面",
    "火星车",
    "可控核聚变",
    "暗物质粒子",
    "青藏高原",
    "珊瑚礁",
    "大熊猫",
    "候鸟迁徙",
    "人工智能",
    "脑科学",
];
const FORMS: &[&str] = &[
    "走进", "探访", "揭秘", "对话", "解读", "漫游", "追问", "看见",
];

/// `n` works (ids from 1), about 4% slow-live (category 8, 3–5 h), the rest 3–60 min;
/// about one in 30 is not ready (a missing check), for the validation paths.
pub fn catalog(seed: u64, n: usize) -> Vec<Work> {
    works(seed, 1, n, None)
}

/// `n` works with ids from `first_id`, optionally late (`premiere_after`).
pub fn works(seed: u64, first_id: i64, n: usize, premiere_after: Option<NaiveDate>) -> Vec<Work> {
    let units = (n / 3).clamp(5, 400) as u64;
    (0..n as i64)
        .map(|i| {
            let id = first_id + i;
            let h = |k: u64| mix(seed.wrapping_add(k), id as u64);
            let slow = h(1) % 25 == 0;
            let cat: u8 = if slow {
                8
            } else {
                [1, 2, 3, 4, 5, 6, 7, 9][(h(2) % 8) as usize]
            };
            let secs = if slow {
                3 * 3600 + h(3) % (2 * 3600)
            } else {
                180 + h(3) % (57 * 60)
            };
            let unit_id = (h(4) % units) as i64 + 1;
            let place = PLACES[unit_id as usize % PLACES.len()];
            let kind = KINDS[unit_id as usize / PLACES.len() % KINDS.len()];
            let unit = format!(
                "{place}{kind}{}",
                if unit_id as usize >= PLACES.len() * KINDS.len() {
                    format!("（{unit_id}）")
                } else {
                    String::new()
                }
            );
            let subject = SUBJECTS[(h(5) % SUBJECTS.len() as u64) as usize];
            let form = FORMS[(h(6) % FORMS.len() as u64) as usize];
            let title = if slow {
                format!("慢直播·{subject}（第{id}期）")
            } else {
                format!("{form}{subject}·{id}")
            };
            let broken = h(7) % 30 == 0;
            Work {
                id,
                title,
                unit: unit.clone(),
                unit_id,
                copyright_holder: unit,
                categories: if h(8) % 5 == 0 && !slow {
                    vec![cat, 9]
                } else {
                    vec![cat]
                },
                frames: secs * 25,
                ms: None,
                source: format!("/media/works/{id:05}.mp4"),
                premiere_after,
                ready: Readiness {
                    tech: true,
                    selected: !broken,
                    rights: true,
                },
                blocked: Vec::new(),
            }
        })
        .collect()
}

/// Two slow-live feeds: star watching at night and a wildlife camera in the evening.
pub fn feeds() -> Vec<LiveFeed> {
    vec![
        LiveFeed {
            id: 9001,
            title: "兴隆观测站·星空慢直播".into(),
            url: "rtsp://cams.example.invalid/xinglong".into(),
            unit: "中国科学院国家天文台".into(),
            unit_id: 9001,
            copyright_holder: "中国科学院国家天文台".into(),
            window: FeedWindow::Daily {
                start: "00:00".into(),
                end: "03:00".into(),
            },
        },
        LiveFeed {
            id: 9002,
            title: "青海湖·湟鱼洄游慢直播".into(),
            url: "srt://cams.example.invalid:9000?streamid=qinghai".into(),
            unit: "青海省科协".into(),
            unit_id: 9002,
            copyright_holder: "青海省科协".into(),
            window: FeedWindow::Daily {
                start: "22:00".into(),
                end: "23:30".into(),
            },
        },
    ]
}

/// The realistic 2026 catalog of issue 14: `n` ready works (ids from 1) of 15–60 min in
/// categories 1–7 and 9 (the 2026 form has no slow-live category, so no slow-live files),
/// about three works a unit.
pub fn catalog_2026(seed: u64, n: usize) -> Vec<Work> {
    let mut out = works(seed, 1, n, None);
    for w in &mut out {
        let h = |k: u64| mix(seed.wrapping_add(k), w.id as u64);
        let cat = [1, 2, 3, 4, 5, 6, 7, 9][(h(12) % 8) as usize];
        w.categories = vec![cat];
        w.frames = (15 * 60 + h(13) % (45 * 60 + 1)) * 25;
        w.ready = Readiness {
            tech: true,
            selected: true,
            rights: true,
        };
        if w.title.starts_with("慢直播") {
            w.title = format!("探访{}", w.title.trim_start_matches("慢直播·"));
        }
    }
    out
}

/// The one slow-live feed of the 2026 catalog: live every night 01:00–04:00.
pub fn night_feed() -> LiveFeed {
    LiveFeed {
        id: 9101,
        title: "兴隆观测站·星空慢直播".into(),
        url: "rtsp://cams.example.invalid/xinglong".into(),
        unit: "中国科学院国家天文台".into(),
        unit_id: 9101,
        copyright_holder: "中国科学院国家天文台".into(),
        window: FeedWindow::Daily {
            start: "01:00".into(),
            end: "04:00".into(),
        },
    }
}
