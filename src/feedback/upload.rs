//! Uploads of figures from a platform's back-office export, CSV (UTF-8, UTF-8 with BOM,
//! GBK/GB18030) or XLSX, and the downloadable Chinese templates of that sheet.
//!
//! The sheet is wide, as platforms export it: one row per instant, one column per figure
//! (`时间`, `在线人数`, `观看人次`, `点赞`, `评论`, `分享`, `话题阅读`, `话题讨论`, optional
//! `渠道编号` and `口径` = 累计/增量). Times are Beijing time; values may be written
//! `12,345` or `1.2万`. Every problem is reported with its row as a spreadsheet shows it
//! (header = row 1) and its column header, like the catalog import; a file with any bad row
//! is refused as a whole, so nothing is half-written. Pure: bytes in, figures or row errors
//! out (XLSX parsing is blocking: callers run it on a blocking thread).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use super::model::{FigureIn, Kind, MAX_BATCH};
use crate::catalog::import::RowError;
use crate::store::{Error, Result};

/// A column of the upload sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Channel,
    Time,
    Mode,
    Figure(Kind),
}

/// Accepted headers per column (compared without spaces, case or a parenthesised remark).
fn aliases(c: Col) -> &'static [&'static str] {
    match c {
        Col::Channel => &["渠道编号", "渠道", "channel_id", "channel"],
        Col::Time => &["时间", "统计时间", "时刻", "日期时间", "time", "at"],
        Col::Mode => &["口径", "mode"],
        Col::Figure(Kind::Viewers) => &["在线人数", "同时在线", "实时在线", "viewers"],
        Col::Figure(Kind::Views) => &["观看人次", "观看人数", "累计观看", "views"],
        Col::Figure(Kind::Likes) => &["点赞", "点赞数", "likes"],
        Col::Figure(Kind::Comments) => &["评论", "评论数", "弹幕", "comments"],
        Col::Figure(Kind::Shares) => &["分享", "分享数", "转发", "转发数", "shares"],
        Col::Figure(Kind::TopicReads) => &["话题阅读", "阅读量", "话题阅读量", "topic_reads"],
        Col::Figure(Kind::TopicDiscussions) => {
            &["话题讨论", "讨论量", "话题讨论量", "topic_discussions"]
        }
    }
}

fn all_cols() -> Vec<Col> {
    let mut v = vec![Col::Channel, Col::Time, Col::Mode];
    v.extend(Kind::ALL.map(Col::Figure));
    v
}

fn norm_header(h: &str) -> String {
    let h = h.trim_start_matches('\u{feff}');
    let h = h.split(['（', '(']).next().unwrap_or(h);
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a parsed upload holds.
#[derive(Debug, Clone)]
pub struct ParsedUpload {
    /// Detected encoding or format.
    pub encoding: String,
    /// Data rows read (blank rows not counted).
    pub rows: usize,
    /// The figures, `source` still to be set by the caller.
    pub figures: Vec<FigureIn>,
}

/// A value as platforms write it: `12345`, `12,345`, `1.2万`, `3亿`.
pub fn parse_count(s: &str) -> std::result::Result<i64, String> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，' && !c.is_whitespace())
        .collect();
    let (num, mult) = if let Some(n) = t.strip_suffix('万') {
        (n, 10_000i64)
    } else if let Some(n) = t.strip_suffix('亿') {
        (n, 100_000_000i64)
    } else {
        (t.as_str(), 1)
    };
    if num.starts_with('-') {
        return Err(format!("「{s}」不能为负数"));
    }
    if let Ok(v) = num.parse::<i64>() {
        return v.checked_mul(mult).ok_or_else(|| format!("「{s}」太大"));
    }
    // Decimals only as a platform's rounding of 万/亿 (1.2万), or an Excel number like 12.0.
    match num.split_once('.') {
        Some((i, f))
            if !i.is_empty()
                && i.bytes().all(|b| b.is_ascii_digit())
                && f.bytes().all(|b| b.is_ascii_digit())
                && f.len() <= 8 =>
        {
            let frac_scale = 10i64.pow(u32::try_from(f.len()).unwrap_or(0));
            let whole: i64 = i.parse().map_err(|_| format!("「{s}」太大"))?;
            let frac: i64 = if f.is_empty() {
                0
            } else {
                f.parse().unwrap_or(0)
            };
            let scaled = whole
                .checked_mul(mult)
                .and_then(|w| w.checked_add(frac * mult / frac_scale))
                .ok_or_else(|| format!("「{s}」太大"))?;
            if mult == 1 && frac != 0 {
                return Err(format!("「{s}」不是整数"));
            }
            Ok(scaled)
        }
        _ => Err(format!("「{s}」不是数字（可写 12345、12,345 或 1.2万）")),
    }
}

/// A Beijing wall time (`2026-09-01 20:00[:00]`, `2026/9/1 20:00`, ISO `T`) as UTC ms.
pub fn parse_beijing(s: &str) -> std::result::Result<i64, String> {
    let t = s.trim().replace('/', "-").replace('T', " ");
    let naive = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(&t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(&t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .ok_or_else(|| format!("「{s}」不是北京时间（如 2026-09-01 20:00）"))?;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&naive)
        .single()
        .map(|d| d.timestamp_millis())
        .ok_or_else(|| format!("「{s}」不是有效时间"))
}

/// A cell of an XLSX sheet as text; date-times as `YYYY-MM-DD HH:MM:SS` (to the second).
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let ms = (dt.as_f64() * 86_400_000.0).round() as i64;
            let base = NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or_default();
            (base + chrono::Duration::milliseconds(ms))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The columns found in a header row (first match wins).
fn match_header(header: &[String]) -> HashMap<Col, (usize, String)> {
    let mut index: HashMap<Col, (usize, String)> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let key = norm_header(h);
        if key.is_empty() {
            continue;
        }
        if let Some(c) = all_cols()
            .into_iter()
            .find(|c| aliases(*c).iter().any(|a| norm_header(a) == key))
        {
            index
                .entry(c)
                .or_insert((i, h.trim().trim_start_matches('\u{feff}').to_string()));
        }
    }
    index
}

/// Reads an upload. `channel` is the channel of a sheet without a `渠道编号` column.
/// Either every row is good (the figures) or the row errors, all of them.
pub fn parse(
    name: &str,
    bytes: Vec<u8>,
    channel: Option<i64>,
) -> Result<std::result::Result<ParsedUpload, Vec<RowError>>> {
    // The catalog import's reader (GBK/UTF-8 CSV with its delimiter sniffed, XLSX/XLS),
    // with date-time cells kept to the second.
    let (table, encoding) = crate::catalog::import::read_table_with(bytes, cell_text)?;
    if table
        .iter()
        .all(|(_, c)| c.iter().all(|c| c.trim().is_empty()))
    {
        return Err(Error::invalid("file", format!("{name} 是空文件")));
    }
    // The header is the first of the top rows with a time column and a figure column (a
    // title row may sit above it).
    let is_header = |h: &[String]| {
        let index = match_header(h);
        index.contains_key(&Col::Time)
            && Kind::ALL
                .iter()
                .any(|k| index.contains_key(&Col::Figure(*k)))
    };
    let Some(((_, header), body)) = crate::catalog::import::split_at_header(&table, is_header)
    else {
        return Err(Error::invalid(
            "file",
            format!(
                "{name} 前 {} 行中找不到表头：至少需要「时间」列和一个指标列（在线人数、观看人次、点赞、评论、分享、话题阅读、话题讨论）",
                crate::catalog::import::HEADER_SEARCH_ROWS
            ),
        ));
    };
    let index = match_header(header);
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| index.contains_key(&Col::Figure(*k)))
        .collect();
    if !index.contains_key(&Col::Channel) && channel.is_none() {
        return Err(Error::invalid(
            "channel",
            format!("{name} 没有「渠道编号」列：请在上传时指定渠道（?channel=编号）"),
        ));
    }
    let get = |cells: &[String], c: Col| -> String {
        index
            .get(&c)
            .and_then(|(i, _)| cells.get(*i))
            .map_or(String::new(), |s| s.trim().to_string())
    };
    let header_of = |c: Col| index.get(&c).map_or(String::new(), |(_, h)| h.clone());
    let mut errors = Vec::new();
    let mut figures = Vec::new();
    let mut rows = 0;
    for (row, cells) in body {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let mut err = |c: Col, reason: String| {
            errors.push(RowError {
                row: *row,
                column: header_of(c),
                reason,
            });
        };
        let channel_id = match get(cells, Col::Channel) {
            s if s.is_empty() => match channel {
                Some(c) => Some(c),
                None => {
                    err(Col::Channel, "渠道编号不能为空".into());
                    None
                }
            },
            s => match s.parse::<i64>() {
                Ok(v) if v > 0 => Some(v),
                _ => {
                    err(Col::Channel, format!("「{s}」不是渠道编号（正整数）"));
                    None
                }
            },
        };
        let at_ms = match get(cells, Col::Time) {
            s if s.is_empty() => {
                err(Col::Time, "时间不能为空".into());
                None
            }
            s => parse_beijing(&s).map_err(|r| err(Col::Time, r)).ok(),
        };
        let cumulative = match get(cells, Col::Mode).as_str() {
            "" => None,
            "累计" | "cumulative" => Some(true),
            "增量" | "时点" | "increment" | "sample" => Some(false),
            other => {
                err(Col::Mode, format!("「{other}」应填 累计 或 增量"));
                None
            }
        };
        let mut row_figures = Vec::new();
        for k in &kinds {
            let s = get(cells, Col::Figure(*k));
            if s.is_empty() || s == "-" || s == "—" {
                continue;
            }
            match parse_count(&s) {
                Ok(v) => row_figures.push((*k, v)),
                Err(r) => err(Col::Figure(*k), r),
            }
        }
        if let (Some(channel_id), Some(at_ms)) = (channel_id, at_ms) {
            for (kind, value) in row_figures {
                figures.push((
                    *row,
                    FigureIn {
                        channel_id,
                        at_ms,
                        kind,
                        value,
                        cumulative: if kind == Kind::Viewers {
                            Some(false)
                        } else {
                            cumulative
                        },
                        as_of_ms: None,
                    },
                ));
            }
        }
    }
    if figures.len() > MAX_BATCH {
        return Err(Error::invalid(
            "file",
            format!(
                "{name} 含 {} 个数据，一次至多 {MAX_BATCH} 个：请分文件上传",
                figures.len()
            ),
        ));
    }
    // Range checks of the model, reported under this file's rows and column names.
    let now = crate::store::now_ms();
    for (row, f) in &figures {
        if let Err(errs) = f.check(super::model::Source::Upload, now) {
            for (field, reason) in errs {
                let column = match field.as_str() {
                    "value" => header_of(Col::Figure(f.kind)),
                    "at_ms" => header_of(Col::Time),
                    "channel_id" => header_of(Col::Channel),
                    other => other.to_string(),
                };
                errors.push(RowError {
                    row: *row,
                    column,
                    reason,
                });
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        errors.dedup();
        return Ok(Err(errors));
    }
    Ok(Ok(ParsedUpload {
        encoding,
        rows,
        figures: figures.into_iter().map(|(_, f)| f).collect(),
    }))
}

/// The template's header row.
pub const TEMPLATE_HEADER: [&str; 10] = [
    "渠道编号",
    "时间（北京时间）",
    "在线人数",
    "观看人次",
    "点赞",
    "评论",
    "分享",
    "话题阅读",
    "话题讨论",
    "口径（累计/增量）",
];

/// The template's example row for channel `channel`.
fn template_example(channel: i64) -> [String; 10] {
    [
        channel.to_string(),
        "2026-09-01 20:00".into(),
        "1200".into(),
        "35000".into(),
        "1.2万".into(),
        "860".into(),
        "300".into(),
        String::new(),
        String::new(),
        "累计".into(),
    ]
}

/// The CSV template: UTF-8 with a BOM (Excel opens it right), or GBK when `gbk`.
pub fn template_csv(channel: i64, gbk: bool) -> Vec<u8> {
    let mut text = TEMPLATE_HEADER.join(",");
    text.push_str("\r\n");
    text.push_str(&template_example(channel).join(","));
    text.push_str("\r\n");
    if gbk {
        encoding_rs::GBK.encode(&text).0.into_owned()
    } else {
        let mut v = vec![0xEF, 0xBB, 0xBF];
        v.extend_from_slice(text.as_bytes());
        v
    }
}

/// The XLSX template (blocking: call it on a blocking thread).
pub fn template_xlsx(channel: i64) -> Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = wb.add_worksheet();
    let fail = |e: rust_xlsxwriter::XlsxError| Error::Unavailable(format!("无法生成模板：{e}"));
    ws.set_name("数据反馈").map_err(fail)?;
    for (c, h) in TEMPLATE_HEADER.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(0);
        ws.write_string_with_format(0, c, *h, &bold).map_err(fail)?;
        ws.set_column_width(c, 14).map_err(fail)?;
    }
    for (c, v) in template_example(channel).iter().enumerate() {
        ws.write_string(1, u16::try_from(c).unwrap_or(0), v)
            .map_err(fail)?;
    }
    let notes = wb.add_worksheet();
    notes.set_name("填写说明").map_err(fail)?;
    for (r, line) in [
        "每行一个时刻；时间为北京时间，如 2026-09-01 20:00。",
        "在线人数为该时刻的同时在线人数；其余指标默认为平台后台的累计值（口径填“增量”表示该时刻新增）。",
        "数值可写 12345、12,345 或 1.2万；不填表示没有该数据。",
        "同一渠道、同一时刻、同一指标重复上传只计一次；数值不同时以最后一次为准。",
    ]
    .iter()
    .enumerate()
    {
        notes
            .write_string(u32::try_from(r).unwrap_or(0), 0, *line)
            .map_err(fail)?;
    }
    wb.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_as_platforms_write_them() {
        assert_eq!(parse_count("12,345"), Ok(12_345));
        assert_eq!(parse_count("1.2万"), Ok(12_000));
        assert_eq!(parse_count("3亿"), Ok(300_000_000));
        assert_eq!(parse_count("7.0"), Ok(7));
        assert!(parse_count("7.5").is_err());
        assert!(parse_count("很多").is_err_and(|e| e.contains("很多")));
    }

    #[test]
    fn beijing_times() {
        // 2026-09-01 12:00 Beijing = 04:00 UTC.
        assert_eq!(parse_beijing("2026-09-01 12:00"), Ok(1_788_235_200_000));
        assert_eq!(parse_beijing("2026/9/1 12:00:00"), Ok(1_788_235_200_000));
        assert!(parse_beijing("9月1日").is_err());
    }

    #[test]
    fn the_gbk_template_reads_back_and_bad_rows_are_named() {
        let t = template_csv(7, true);
        let p = parse("t.csv", t, None).expect("readable").expect("valid");
        assert_eq!(p.encoding, "GB18030");
        assert_eq!(p.rows, 1);
        // 在线人数, 观看人次, 点赞, 评论, 分享 (the topic columns are blank).
        assert_eq!(p.figures.len(), 5);
        assert!(p.figures.iter().all(|f| f.channel_id == 7));
        let likes = p.figures.iter().find(|f| f.kind == Kind::Likes);
        assert_eq!(likes.map(|f| f.value), Some(12_000));
        let bad = "时间,点赞,评论\n2026-09-01 20:00,abc,5\n2026-13-01 20:00,1,-4\n";
        let e = parse("bad.csv", bad.as_bytes().to_vec(), Some(3))
            .expect("readable")
            .expect_err("refused");
        let shown: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert_eq!(e.len(), 3, "{shown:?}");
        assert!(shown[0].starts_with("第 2 行「点赞」列"), "{shown:?}");
        assert!(shown[1].starts_with("第 3 行「时间」列"), "{shown:?}");
        assert!(shown[2].starts_with("第 3 行「评论」列"), "{shown:?}");
    }
}
