//! The feedback report (数据反馈汇总表) in the shape the organisers hand in: a summary, the
//! units' ranking on the measured criteria (relays, audience, interactions, reporting
//! complete), every programme with its figures, and the relay channels — as XLSX (four
//! sheets, each table closed by a 合计 row) and as CSV (the programmes table, UTF-8 with a
//! BOM so Excel shows the Chinese). Pure: data in, bytes out; XLSX writing is blocking.

use std::collections::HashMap;

use chrono::TimeZone;
use serde::Serialize;

use super::attribution::{Attribution, UnitFigures};
use super::model::{Kind, platform_label};
use super::repo::Channel;
use crate::store::{Error, Result};

/// One unit's line of the ranking.
#[derive(Debug, Clone, Serialize)]
pub struct RankedUnit {
    /// Place (1 = first).
    pub rank: usize,
    /// Unit id.
    pub unit_id: i64,
    /// 单位名称.
    pub name: String,
    /// The figures.
    #[serde(flatten)]
    pub figures: UnitFigures,
    /// Reporting complete, per mille (1000 = every channel reported every broadcast day).
    pub reporting_permille: i64,
}

/// Ranks units: by their relay channels' interactions, then their relays' peak viewers,
/// then the interactions while their works were on air, then the number of relays.
pub fn ranking(a: &Attribution, names: &HashMap<i64, String>) -> Vec<RankedUnit> {
    let mut v: Vec<&UnitFigures> = a.units.values().collect();
    v.sort_by_key(|u| {
        std::cmp::Reverse((
            u.relay_audience.interactions,
            u.relay_audience.peak_viewers,
            u.works.interactions,
            u.relays,
        ))
    });
    v.into_iter()
        .enumerate()
        .map(|(i, u)| RankedUnit {
            rank: i + 1,
            unit_id: u.unit_id,
            name: names
                .get(&u.unit_id)
                .cloned()
                .unwrap_or_else(|| format!("单位 {}", u.unit_id)),
            figures: u.clone(),
            reporting_permille: (u.reports_made * 1000)
                .checked_div(u.reports_expected)
                .and_then(|v| i64::try_from(v).ok())
                .unwrap_or(0),
        })
        .collect()
}

/// "YYYY-MM-DD HH:MM:SS" in Beijing time.
pub fn beijing(ms: i64) -> String {
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn count(c: &super::attribution::Counts, k: Kind) -> i64 {
    c.get(&k).copied().unwrap_or(0)
}

/// The programme table's header.
pub const PROGRAMME_HEADER: [&str; 12] = [
    "播出日",
    "开始（北京时间）",
    "结束（北京时间）",
    "节目名称",
    "报送单位",
    "在线峰值",
    "平均在线",
    "点赞",
    "评论",
    "分享",
    "互动量",
    "观看人次",
];

/// The programme table: one row per airing, then 合计.
fn programme_rows(a: &Attribution, names: &HashMap<i64, String>) -> Vec<Vec<Cell>> {
    let mut rows: Vec<Vec<Cell>> = a
        .programmes
        .iter()
        .map(|p| {
            let c = &p.audience.counts;
            vec![
                Cell::Text(p.air_day.clone()),
                Cell::Text(beijing(p.start_ms)),
                Cell::Text(beijing(p.end_ms)),
                Cell::Text(p.title.clone()),
                Cell::Text(
                    p.unit_id
                        .and_then(|u| names.get(&u).cloned())
                        .unwrap_or_default(),
                ),
                Cell::Num(p.audience.peak_viewers),
                Cell::Num(p.audience.avg_viewers),
                Cell::Num(count(c, Kind::Likes)),
                Cell::Num(count(c, Kind::Comments)),
                Cell::Num(count(c, Kind::Shares)),
                Cell::Num(p.audience.interactions),
                Cell::Num(count(c, Kind::Views)),
            ]
        })
        .collect();
    let sum = |col: usize| -> i64 {
        rows.iter()
            .map(|r| match r.get(col) {
                Some(Cell::Num(n)) => *n,
                _ => 0,
            })
            .sum()
    };
    let peak = rows
        .iter()
        .map(|r| match r.get(5) {
            Some(Cell::Num(n)) => *n,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let total = vec![
        Cell::Text("合计".into()),
        Cell::Text(String::new()),
        Cell::Text(String::new()),
        Cell::Text(format!("{} 次播出", rows.len())),
        Cell::Text(String::new()),
        Cell::Num(peak),
        Cell::Text(String::new()),
        Cell::Num(sum(7)),
        Cell::Num(sum(8)),
        Cell::Num(sum(9)),
        Cell::Num(sum(10)),
        Cell::Num(sum(11)),
    ];
    rows.push(total);
    rows
}

/// The units table's header.
pub const UNIT_HEADER: [&str; 12] = [
    "排名",
    "报送单位",
    "转播渠道数",
    "作品播出次数",
    "作品播出时长（分钟）",
    "作品播出时在线峰值",
    "作品播出时互动量",
    "渠道在线峰值",
    "渠道互动量",
    "渠道观看人次",
    "话题阅读",
    "数据报送完整度",
];

fn unit_rows(ranked: &[RankedUnit]) -> Vec<Vec<Cell>> {
    let mut rows: Vec<Vec<Cell>> = ranked
        .iter()
        .map(|u| {
            let f = &u.figures;
            vec![
                Cell::Num(i64::try_from(u.rank).unwrap_or(0)),
                Cell::Text(u.name.clone()),
                Cell::Num(i64::try_from(f.relays).unwrap_or(0)),
                Cell::Num(i64::try_from(f.works.airings).unwrap_or(0)),
                Cell::Num(f.works.aired_ms / 60_000),
                Cell::Num(f.works.peak_viewers),
                Cell::Num(f.works.interactions),
                Cell::Num(f.relay_audience.peak_viewers),
                Cell::Num(f.relay_audience.interactions),
                Cell::Num(count(&f.relay_audience.counts, Kind::Views)),
                Cell::Num(count(&f.relay_audience.counts, Kind::TopicReads)),
                Cell::Text(format!(
                    "{}/{}（{}%）",
                    f.reports_made,
                    f.reports_expected,
                    u.reporting_permille / 10
                )),
            ]
        })
        .collect();
    let sum = |col: usize| -> i64 {
        rows.iter()
            .map(|r| match r.get(col) {
                Some(Cell::Num(n)) => *n,
                _ => 0,
            })
            .sum()
    };
    let total = vec![
        Cell::Text("合计".into()),
        Cell::Text(format!("{} 个单位", rows.len())),
        Cell::Num(sum(2)),
        Cell::Num(sum(3)),
        Cell::Num(sum(4)),
        Cell::Text(String::new()),
        Cell::Num(sum(6)),
        Cell::Text(String::new()),
        Cell::Num(sum(8)),
        Cell::Num(sum(9)),
        Cell::Num(sum(10)),
        Cell::Text(String::new()),
    ];
    rows.push(total);
    rows
}

/// A cell of a report table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Text(String),
    Num(i64),
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Num(n) => n.to_string(),
        }
    }
}

/// The programmes table as CSV (UTF-8 with BOM), closed by a 合计 row.
pub fn programmes_csv(a: &Attribution, names: &HashMap<i64, String>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let fail = |e: csv::Error| Error::Unavailable(format!("无法生成 CSV：{e}"));
    w.write_record(PROGRAMME_HEADER).map_err(fail)?;
    for r in programme_rows(a, names) {
        w.write_record(r.iter().map(Cell::csv)).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::Unavailable(format!("无法生成 CSV：{e}")))
}

/// What the XLSX report covers.
#[derive(Debug, Clone)]
pub struct ReportMeta {
    /// Period start, UTC ms.
    pub from_ms: i64,
    /// Period end, UTC ms.
    pub to_ms: i64,
    /// Who it is for (a unit's name, or 全部单位).
    pub scope: String,
}

/// The feedback report as XLSX: 汇总, 单位排名, 节目, 分类统计 (categories, sections, days),
/// 转播渠道 (blocking).
pub fn xlsx(
    a: &Attribution,
    names: &HashMap<i64, String>,
    channels: &[Channel],
    meta: &ReportMeta,
) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
    let fail = |e: XlsxError| Error::Unavailable(format!("无法生成报表：{e}"));
    let bold = Format::new().set_bold();
    let table = |ws: &mut Worksheet, header: &[&str], rows: &[Vec<Cell>]| -> Result<()> {
        for (c, h) in header.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(0);
            ws.write_string_with_format(0, c, *h, &bold).map_err(fail)?;
            ws.set_column_width(c, 14).map_err(fail)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).unwrap_or(0);
                match cell {
                    Cell::Text(s) if s.is_empty() => {}
                    Cell::Text(s) => {
                        ws.write_string(r, c, s).map_err(fail)?;
                    }
                    #[allow(clippy::cast_precision_loss)]
                    Cell::Num(n) => {
                        ws.write_number(r, c, *n as f64).map_err(fail)?;
                    }
                }
            }
        }
        Ok(())
    };
    let mut wb = Workbook::new();
    let ranked = ranking(a, names);
    {
        let ws = wb.add_worksheet();
        ws.set_name("汇总").map_err(fail)?;
        let t = &a.total;
        let rows = vec![
            vec![Cell::Text("范围".into()), Cell::Text(meta.scope.clone())],
            vec![
                Cell::Text("统计区间（北京时间）".into()),
                Cell::Text(format!(
                    "{} 至 {}",
                    beijing(meta.from_ms),
                    beijing(meta.to_ms)
                )),
            ],
            vec![
                Cell::Text("播出次数".into()),
                Cell::Num(i64::try_from(a.programmes.len()).unwrap_or(0)),
            ],
            vec![Cell::Text("在线峰值".into()), Cell::Num(t.peak_viewers)],
            vec![Cell::Text("平均在线".into()), Cell::Num(t.avg_viewers)],
            vec![Cell::Text("互动量".into()), Cell::Num(t.interactions)],
            vec![
                Cell::Text("点赞".into()),
                Cell::Num(count(&t.counts, Kind::Likes)),
            ],
            vec![
                Cell::Text("评论".into()),
                Cell::Num(count(&t.counts, Kind::Comments)),
            ],
            vec![
                Cell::Text("分享".into()),
                Cell::Num(count(&t.counts, Kind::Shares)),
            ],
            vec![
                Cell::Text("观看人次".into()),
                Cell::Num(count(&t.counts, Kind::Views)),
            ],
            vec![
                Cell::Text("话题阅读".into()),
                Cell::Num(count(&t.counts, Kind::TopicReads)),
            ],
            vec![
                Cell::Text("话题讨论".into()),
                Cell::Num(count(&t.counts, Kind::TopicDiscussions)),
            ],
        ];
        table(ws, &["项目", "数值"], &rows)?;
        ws.set_column_width(0, 22).map_err(fail)?;
        ws.set_column_width(1, 44).map_err(fail)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("单位排名").map_err(fail)?;
        table(ws, &UNIT_HEADER, &unit_rows(&ranked))?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("节目").map_err(fail)?;
        table(ws, &PROGRAMME_HEADER, &programme_rows(a, names))?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("分类统计").map_err(fail)?;
        let mut rows = Vec::new();
        for (what, groups) in [
            ("类别", &a.categories),
            ("版块", &a.sections),
            ("播出日", &a.days),
        ] {
            for (name, g) in groups {
                rows.push(vec![
                    Cell::Text(what.into()),
                    Cell::Text(name.clone()),
                    Cell::Num(i64::try_from(g.airings).unwrap_or(0)),
                    Cell::Num(g.aired_ms / 60_000),
                    Cell::Num(g.peak_viewers),
                    Cell::Num(g.avg_viewers),
                    Cell::Num(g.interactions),
                ]);
            }
        }
        table(
            ws,
            &[
                "分类",
                "名称",
                "播出次数",
                "播出时长（分钟）",
                "在线峰值",
                "平均在线",
                "互动量",
            ],
            &rows,
        )?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("转播渠道").map_err(fail)?;
        let rows: Vec<Vec<Cell>> = channels
            .iter()
            .map(|c| {
                vec![
                    Cell::Num(c.id),
                    Cell::Text(
                        c.unit_id
                            .and_then(|u| names.get(&u).cloned())
                            .unwrap_or_else(|| "主办方".into()),
                    ),
                    Cell::Text(platform_label(&c.platform).to_string()),
                    Cell::Text(c.account_name.clone()),
                    Cell::Text(c.room_url.clone().unwrap_or_default()),
                ]
            })
            .collect();
        table(
            ws,
            &["渠道编号", "单位", "平台", "账号名称", "直播间地址"],
            &rows,
        )?;
    }
    wb.save_to_buffer().map_err(fail)
}
