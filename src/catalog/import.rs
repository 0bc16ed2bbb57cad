//! Import of the collection form (信息采集表) from CSV or XLSX: decoding (UTF-8, UTF-8 with
//! BOM, UTF-16 with BOM, GBK/GB18030), header matching (Chinese or English names), row
//! validation with precise Chinese messages, and writing. The header row is found within the
//! first rows of the sheet ([`split_at_header`]): Chinese forms carry a title row above it.
//!
//! Transaction policy: **one transaction per row**. A row is fully validated before anything
//! is written; its unit, work, file and lead are then written together or not at all. A bad
//! row is reported (row number as Excel shows it: a title row above the header counts) and
//! skipped; the good rows of the same file are kept. Re-importing the same file is idempotent: records are
//! matched by (unit, edition, title) / (unit, edition, lead name) and a content hash, so an
//! unchanged row writes nothing and an edited row updates in place.

use super::Catalog;
use super::fields::*;
use super::model::*;
use super::repo::{self, NewLead, Outcome, WorkContext};
use crate::store::{Error, Result, now_ms};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// One problem in one row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowError {
    /// Row number as a spreadsheet shows it (the sheet's first row = 1).
    pub row: usize,
    /// Column header as written in the file.
    pub column: String,
    /// Why, in Chinese.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "第 {} 行「{}」列：{}",
            self.row, self.column, self.reason
        )
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    /// File name.
    pub file: String,
    /// Detected encoding or format (UTF-8, UTF-8 BOM, GB18030, XLSX, …).
    pub encoding: String,
    /// Data rows seen (blank rows not counted).
    pub rows: usize,
    /// Rows that created a record.
    pub inserted: usize,
    /// Rows that changed an existing record.
    pub updated: usize,
    /// Rows identical to what was stored.
    pub unchanged: usize,
    /// Rows refused (see `errors`).
    pub failed: usize,
    /// Every problem found.
    pub errors: Vec<RowError>,
    /// Rows flagged as submitted after the deadline.
    pub late_rows: Vec<usize>,
    /// Headers that matched no known column (ignored).
    pub ignored_columns: Vec<String>,
    /// Works imported that cannot air in the edition's window as they stand, each with why
    /// (Chinese): submitted too late for the window, no video file.
    pub cannot_air: Vec<WorkNote>,
}

/// A work of an import row, and why it cannot air in the window as it stands.
#[derive(Debug, Clone, Serialize)]
pub struct WorkNote {
    /// 1-based row in the file (the header is row 1).
    pub row: usize,
    /// 作品名称.
    pub title: String,
    /// Why, in Chinese.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for WorkNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "第 {} 行《{}》：{}",
            self.row,
            self.title,
            self.reasons.join("；")
        )
    }
}

/// A column of the form; `aliases` are compared after [`norm_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Unit,
    ContactName,
    ContactTitle,
    ContactPhone,
    ContactEmail,
    SupervisorName,
    SupervisorType,
    Title,
    Categories,
    Duration,
    Copyright,
    Summary,
    Status,
    DueDate,
    Ai,
    Subtitles,
    File,
    SubmittedOn,
    LeadName,
    LeadDescription,
}

const COLUMNS: &[(Col, &[&str])] = &[
    (Col::Unit, &["报送单位", "单位", "unit"]),
    (Col::ContactName, &["联系人", "contact", "contact_name"]),
    (
        Col::ContactTitle,
        &["职务/职称", "职务", "职称", "contact_title"],
    ),
    (
        Col::ContactPhone,
        &["联系电话", "电话", "phone", "contact_phone"],
    ),
    (
        Col::ContactEmail,
        &["电子邮箱", "邮箱", "email", "contact_email"],
    ),
    (
        Col::SupervisorName,
        &[
            "上级主管单位",
            "主管单位名称",
            "supervisor",
            "supervisor_name",
        ],
    ),
    (
        Col::SupervisorType,
        &["主管单位所属类型", "上级主管单位类型", "supervisor_type"],
    ),
    (Col::Title, &["作品名称", "视频标题", "title"]),
    (Col::Categories, &["视频类别", "categories", "category"]),
    (Col::Duration, &["时长", "视频时长", "duration"]),
    (Col::Copyright, &["版权方", "copyright_holder", "copyright"]),
    (Col::Summary, &["视频内容简介", "内容简介", "summary"]),
    (
        Col::Status,
        &["报送视频状态", "视频状态", "status", "production_status"],
    ),
    (Col::DueDate, &["预计完成日期", "due_date"]),
    (
        Col::Ai,
        &["ai生成内容", "含ai生成内容", "ai", "ai_generated"],
    ),
    (
        Col::Subtitles,
        &[
            "中文字幕",
            "中文简体字幕",
            "字幕",
            "subtitles",
            "has_subtitles",
        ],
    ),
    (Col::File, &["视频文件", "文件", "file", "location"]),
    (Col::SubmittedOn, &["报送日期", "submitted_on"]),
    (Col::LeadName, &["线索名称", "lead_name"]),
    (
        Col::LeadDescription,
        &["报送线索简介", "线索简介", "lead_description"],
    ),
];

/// Header comparison key: no spaces or BOM, lower case, without a parenthesised remark such
/// as （可多选）.
fn norm_header(h: &str) -> String {
    let h = h.trim_start_matches('\u{feff}');
    let h = h.split(['（', '(']).next().unwrap_or(h);
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Decodes CSV bytes: BOM first (UTF-8/UTF-16), then strict UTF-8, else GB18030 (a superset
/// of GBK, which Chinese Excel writes). Returns the text and the encoding's name.
pub fn decode_text(bytes: &[u8]) -> (String, &'static str) {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        let name = if enc == encoding_rs::UTF_8 {
            "UTF-8 BOM"
        } else {
            enc.name()
        };
        return (text.into_owned(), name);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), "UTF-8"),
        Err(_) => {
            let (text, _, _) = encoding_rs::GB18030.decode(bytes);
            (text.into_owned(), "GB18030")
        }
    }
}

/// One row of a table: `(row number as the sheet shows it, cells)`.
pub type Row = (usize, Vec<String>);

/// A table of strings, row by row (the header is found by [`split_at_header`]).
pub type Table = Vec<Row>;

/// Rows from the top of a sheet searched for the header row: a title row
/// (`2026年科普之光展播作品信息采集表`), notes and blank rows may come before it.
pub const HEADER_SEARCH_ROWS: usize = 10;

/// The CSV delimiter: of `,`, tab and `;`, the one a line among the first
/// [`HEADER_SEARCH_ROWS`] holds most of (a title line above the header holds none, or only
/// the commas Excel pads it with); `,` when none is found or on a tie.
fn sniff_delimiter(text: &str) -> u8 {
    let most = |d: char| {
        text.lines()
            .take(HEADER_SEARCH_ROWS)
            .map(|l| l.matches(d).count())
            .max()
            .unwrap_or(0)
    };
    let mut best = (b',', most(','));
    for d in [b'\t', b';'] {
        let n = most(char::from(d));
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// Splits `table` at its header row: the first of its first [`HEADER_SEARCH_ROWS`] rows for
/// which `is_header` holds. Returns the header's `(row number, cells)` and the rows after it
/// (their row numbers stay those of the sheet, so errors name the row a person sees); rows
/// above it (a title, notes) are skipped. `None` when no such row is found.
pub fn split_at_header(
    table: &Table,
    is_header: impl Fn(&[String]) -> bool,
) -> Option<(&Row, &[Row])> {
    let at = table
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|(_, cells)| is_header(cells))?;
    let (header, body) = table[at..].split_first()?;
    Some((header, body))
}

fn read_csv(text: &str) -> Result<Table> {
    let delim = sniff_delimiter(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .from_reader(text.as_bytes());
    // Rows are numbered as a spreadsheet shows them: a blank line (which the reader skips
    // without a record) still counts as a row. The reader reports where each record ends;
    // the line breaks right after it, before the next record, are the blank lines.
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut row = 0usize;
    let mut prev_end = 0usize;
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                // After a CR the reader may stop short of its LF: that LF ends the same line.
                let mut from = prev_end;
                if from > 0
                    && bytes.get(from - 1) == Some(&b'\r')
                    && bytes.get(from) == Some(&b'\n')
                {
                    from += 1;
                }
                let blank = bytes
                    .get(from..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .filter(|b| **b == b'\n')
                    .count();
                row += 1 + blank;
                prev_end = usize::try_from(rdr.position().byte()).unwrap_or(usize::MAX);
                out.push((row, rec.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                return Err(Error::invalid(
                    "file",
                    format!("第 {} 行 CSV 格式错误：{e}", row + 1),
                ));
            }
        }
    }
    Ok(out)
}

fn excel_cell(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(dt) => {
            let v = dt.as_f64();
            if v < 1.0 || dt.is_duration() {
                // A time of day / duration: milliseconds of the day fraction.
                let ms = (v * 86_400_000.0).round() as i64;
                format!(
                    "{:02}:{:02}:{:02}",
                    ms / 3_600_000,
                    ms / 60_000 % 60,
                    ms / 1000 % 60
                )
            } else {
                let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
                let days = v.floor() as i64;
                (base + chrono::Duration::days(days))
                    .format("%Y-%m-%d")
                    .to_string()
            }
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn read_excel(bytes: Vec<u8>, cell: fn(&calamine::Data) -> String) -> Result<Table> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| Error::invalid("file", format!("无法读取 Excel 文件：{e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| Error::invalid("file", "Excel 文件没有工作表"))?
        .map_err(|e| Error::invalid("file", format!("无法读取第一个工作表：{e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, r)| (first_row + i + 1, r.iter().map(cell).collect()))
        .collect())
}

/// Reads a CSV or spreadsheet (by content: ZIP or OLE magic means Excel) into a table, with
/// the encoding (or `XLSX`/`XLS`) it was read as. Date cells as the form's dates.
pub fn read_table(bytes: Vec<u8>) -> Result<(Table, String)> {
    read_table_with(bytes, excel_cell)
}

/// [`read_table`] with spreadsheet cells turned into text by `cell` (a figures upload keeps
/// the time of day of a date-time cell, the collection form only its date).
pub fn read_table_with(
    bytes: Vec<u8>,
    cell: fn(&calamine::Data) -> String,
) -> Result<(Table, String)> {
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let is_ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    if is_zip || is_ole {
        let kind = if is_zip { "XLSX" } else { "XLS" };
        return Ok((read_excel(bytes, cell)?, kind.to_string()));
    }
    let (text, enc) = decode_text(&bytes);
    Ok((read_csv(&text)?, enc.to_string()))
}

/// One valid row, ready to write.
struct ParsedRow {
    row: usize,
    unit: NewUnit,
    work: Option<NewWork>,
    file: Option<String>,
    lead: Option<NewLead>,
}

struct Columns {
    index: HashMap<Col, (usize, String)>,
}

impl Columns {
    fn get<'a>(&self, cells: &'a [String], c: Col) -> &'a str {
        self.index
            .get(&c)
            .and_then(|(i, _)| cells.get(*i))
            .map_or("", |s| s.trim())
    }
    fn header(&self, c: Col) -> String {
        self.index
            .get(&c)
            .map_or_else(|| format!("{c:?}"), |(_, h)| h.clone())
    }
    fn header_of_field(&self, field: &str) -> String {
        let c = match field {
            "name" => Col::Unit,
            "contact_email" => Col::ContactEmail,
            "contact_phone" => Col::ContactPhone,
            "title" => Col::Title,
            "categories" => Col::Categories,
            "declared_duration_ms" => Col::Duration,
            "summary" => Col::Summary,
            "due_date" => Col::DueDate,
            "submitted_on" => Col::SubmittedOn,
            _ => return field.to_string(),
        };
        self.header(c)
    }
}

fn parse_row(
    cols: &Columns,
    row: usize,
    cells: &[String],
    categories: &[crate::edition::CategoryRule],
) -> std::result::Result<ParsedRow, Vec<RowError>> {
    let mut errs = Vec::new();
    let mut err = |c: Col, reason: String| {
        errs.push(RowError {
            row,
            column: cols.header(c),
            reason,
        })
    };
    let get = |c: Col| cols.get(cells, c).to_string();
    let some = |c: Col| Some(get(c)).filter(|s| !s.is_empty());

    if get(Col::Unit).is_empty() {
        err(Col::Unit, "报送单位不能为空".into());
    }
    let supervisor_type = match some(Col::SupervisorType) {
        None => None,
        Some(s) => parse_supervisor_type(&s).or_else(|| {
            err(
                Col::SupervisorType,
                format!("「{s}」不是纲要办成员单位、全国学会、地方科协或其他"),
            );
            None
        }),
    };
    let unit = NewUnit {
        name: get(Col::Unit),
        supervisor_name: some(Col::SupervisorName),
        supervisor_type,
        contact_name: some(Col::ContactName),
        contact_title: some(Col::ContactTitle),
        contact_phone: some(Col::ContactPhone),
        contact_email: some(Col::ContactEmail),
    };
    let categories = match parse_categories(&get(Col::Categories), categories) {
        Ok(c) => c,
        Err(reason) => {
            err(Col::Categories, reason);
            Vec::new()
        }
    };
    let title = get(Col::Title);
    let lead_name = get(Col::LeadName);
    if title.is_empty() && lead_name.is_empty() {
        err(Col::Title, "作品名称与线索名称至少填写一项".into());
    }
    let mut work = None;
    if !title.is_empty() {
        let declared_duration_ms = match some(Col::Duration) {
            None => None,
            Some(d) => match parse_duration_ms(&d) {
                Ok(ms) => Some(ms),
                Err(reason) => {
                    err(Col::Duration, reason);
                    None
                }
            },
        };
        let production_status = match some(Col::Status) {
            None => ProductionStatus::Finished,
            Some(s) => parse_status(&s).unwrap_or_else(|| {
                err(
                    Col::Status,
                    format!("「{s}」不是成品视频、视频待自行制作或科普月精剪视频"),
                );
                ProductionStatus::Finished
            }),
        };
        let mut flag = |c: Col| {
            let v = get(c);
            parse_bool(&v).unwrap_or_else(|| {
                err(c, format!("「{v}」应填 是 或 否"));
                false
            })
        };
        let ai_generated = flag(Col::Ai);
        let has_subtitles = flag(Col::Subtitles);
        if categories.is_empty()
            && !errs
                .iter()
                .any(|e| e.column == cols.header(Col::Categories))
        {
            errs.push(RowError {
                row,
                column: cols.header(Col::Categories),
                reason: "至少选择一个视频类别".into(),
            });
        }
        work = Some(NewWork {
            unit_id: 0,
            title,
            categories: categories.clone(),
            declared_duration_ms,
            copyright_holder: some(Col::Copyright),
            summary: some(Col::Summary),
            production_status,
            due_date: some(Col::DueDate),
            ai_generated,
            has_subtitles,
            submitted_on: some(Col::SubmittedOn),
        });
    }
    // Field rules shared with the API, reported under this file's column names.
    if let Err(Error::Invalid { field, reason }) = unit.validate() {
        errs.push(RowError {
            row,
            column: cols.header_of_field(&field),
            reason,
        });
    }
    if let Some(w) = &work
        && !w.categories.is_empty()
        && let Err(Error::Invalid { field, reason }) = w.validate()
        && !errs
            .iter()
            .any(|e| e.column == cols.header_of_field(&field))
    {
        errs.push(RowError {
            row,
            column: cols.header_of_field(&field),
            reason,
        });
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let lead = (!lead_name.is_empty()).then(|| NewLead {
        unit_id: 0,
        name: lead_name,
        categories,
        description: some(Col::LeadDescription),
    });
    Ok(ParsedRow {
        row,
        unit,
        work,
        file: some(Col::File),
        lead,
    })
}

/// The form's columns found in a header row (first match wins), and the headers that match
/// none (ignored).
fn match_header(header: &[String]) -> (HashMap<Col, (usize, String)>, Vec<String>) {
    let mut index = HashMap::new();
    let mut ignored = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let key = norm_header(h);
        if key.is_empty() {
            continue;
        }
        match COLUMNS
            .iter()
            .find(|(_, aliases)| aliases.iter().any(|a| norm_header(a) == key))
        {
            Some((col, _)) => {
                index
                    .entry(*col)
                    .or_insert((i, h.trim().trim_start_matches('\u{feff}').to_string()));
            }
            None => ignored.push(h.trim().to_string()),
        }
    }
    (index, ignored)
}

/// The message for a unit's 信息采集表 sent to the one-row-per-work import.
fn form_hint(name: &str) -> String {
    format!(
        "{name} 是按通知样表逐项填写的信息采集表，不是每行一部作品的汇总表：请用 `catalog forms`（或 API /api/v1/forms/preview）预览并确认后导入"
    )
}

/// Records that a work or lead came from a one-row-per-work spreadsheet (unless it already
/// came from elsewhere): coordinators see each submission's source.
async fn mark_source(conn: &mut sqlx::AnyConnection, table: &str, id: i64) -> Result<()> {
    let sql = match table {
        "works" => "UPDATE works SET source = 'spreadsheet' WHERE id = $1 AND source IS NULL",
        _ => "UPDATE leads SET source = 'spreadsheet' WHERE id = $1 AND source IS NULL",
    };
    sqlx::query(sql).bind(id).execute(conn).await?;
    Ok(())
}

impl Catalog {
    /// Imports a collection-form file; `name` is used in messages and the import log.
    pub async fn import_bytes(
        &self,
        name: &str,
        bytes: Vec<u8>,
        actor: &str,
    ) -> Result<ImportReport> {
        if bytes.starts_with(b"PK\x03\x04") && super::form::docx::is_docx(&bytes) {
            return Err(Error::invalid("file", form_hint(name)));
        }
        // Hashing and parsing (XLSX unzip, GBK decoding) are CPU work: off the runtime the
        // engine's destinations share.
        let (sha, parsed) = tokio::task::spawn_blocking(move || {
            let sha: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (sha, read_table(bytes))
        })
        .await
        .map_err(|e| Error::Unavailable(format!("导入文件解析失败：{e}")))?;
        let (table, encoding) = parsed?;
        let mut report = ImportReport {
            file: name.to_string(),
            encoding,
            ..Default::default()
        };
        if table
            .iter()
            .all(|(_, c)| c.iter().all(|c| c.trim().is_empty()))
        {
            return Err(Error::invalid("file", format!("{name} 是空文件")));
        }
        // A unit's 信息采集表 (label–value rows) is not a one-row-per-work sheet.
        let rows: Vec<Vec<String>> = table.iter().map(|(_, c)| c.clone()).collect();
        if super::form::is_form_layout(&rows) {
            return Err(Error::invalid("file", form_hint(name)));
        }
        let Some(((_, header), body)) = split_at_header(&table, |h| {
            let (index, _) = match_header(h);
            index.contains_key(&Col::Unit)
                && (index.contains_key(&Col::Title) || index.contains_key(&Col::LeadName))
        }) else {
            return Err(Error::invalid(
                "file",
                format!(
                    "{name} 前 {HEADER_SEARCH_ROWS} 行中找不到表头：至少需要「报送单位」和「作品名称」（或「线索名称」）列"
                ),
            ));
        };
        let (index, ignored) = match_header(header);
        report.ignored_columns = ignored;
        let cols = Columns { index };
        let year = i64::from(self.edition.edition.year);
        for (row, cells) in body {
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            report.rows += 1;
            let parsed = match parse_row(&cols, *row, cells, &self.edition.categories) {
                Ok(p) => p,
                Err(errs) => {
                    report.failed += 1;
                    report.errors.extend(errs);
                    continue;
                }
            };
            match self.write_row(&parsed, year, actor).await {
                Ok((outcome, late)) => {
                    match outcome {
                        Outcome::Inserted => report.inserted += 1,
                        Outcome::Updated => report.updated += 1,
                        Outcome::Unchanged => report.unchanged += 1,
                    }
                    if late {
                        report.late_rows.push(parsed.row);
                    }
                    if let Some(note) = self.window_note(&parsed) {
                        report.cannot_air.push(note);
                    }
                }
                Err(e) => {
                    report.failed += 1;
                    report.errors.push(RowError {
                        row: parsed.row,
                        column: "-".into(),
                        reason: format!("写入失败：{e}"),
                    });
                }
            }
        }
        sqlx::query(
            "INSERT INTO imports (file_name, file_sha256, rows_total, inserted, updated, unchanged, failed, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(name)
        .bind(&sha)
        .bind(report.rows as i64)
        .bind(report.inserted as i64)
        .bind(report.updated as i64)
        .bind(report.unchanged as i64)
        .bind(report.failed as i64)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(report)
    }

    /// Writes one validated row in one transaction. Returns the combined outcome and lateness.
    async fn write_row(&self, p: &ParsedRow, year: i64, actor: &str) -> Result<(Outcome, bool)> {
        let mut tx = self.store.pool().begin().await?;
        let (unit_id, unit_outcome) = repo::unit_upsert(&mut tx, &p.unit).await?;
        let mut outcomes = vec![unit_outcome];
        let mut late = false;
        if let Some(w) = &p.work {
            let w = NewWork {
                unit_id,
                ..w.clone()
            };
            let (submitted_on, is_late) = self.submission_date(&w)?;
            late = is_late;
            let cx = WorkContext {
                edition_year: year,
                submitted_on: &submitted_on,
                late,
                actor,
            };
            let (work_id, o) = repo::work_upsert(&mut tx, &w, &cx).await?;
            mark_source(&mut tx, "works", work_id).await?;
            outcomes.push(o);
            if let Some(f) = &p.file {
                outcomes.push(repo::file_attach(&mut tx, work_id, f).await?.1);
            }
        }
        if let Some(l) = &p.lead {
            let l = NewLead {
                unit_id,
                ..l.clone()
            };
            let (lead_id, o) = repo::lead_upsert(&mut tx, &l, year, actor).await?;
            mark_source(&mut tx, "leads", lead_id).await?;
            outcomes.push(o);
        }
        tx.commit().await?;
        // The row's outcome is what happened to its work or lead; a unit update alone counts too.
        let main = &outcomes[1..];
        let outcome = if main.contains(&Outcome::Inserted) {
            Outcome::Inserted
        } else if outcomes.contains(&Outcome::Updated) {
            Outcome::Updated
        } else {
            Outcome::Unchanged
        };
        Ok((outcome, late))
    }

    /// Why the work of an imported row cannot air in the window as it stands, if it cannot:
    /// a submission so late that its first possible day (the day after) is past the window,
    /// or no video file.
    fn window_note(&self, p: &ParsedRow) -> Option<WorkNote> {
        let w = p.work.as_ref()?;
        let mut reasons = Vec::new();
        if let Ok((date, true)) = self.submission_date(w)
            && let Ok(d) = date.parse::<chrono::NaiveDate>()
        {
            let first = d + chrono::Duration::days(1);
            let end = self.edition.window_end();
            let why = if w.submitted_on.is_none() {
                "（表中无「报送日期」列或为空，按导入当天计）"
            } else {
                ""
            };
            if d > end {
                reasons.push(format!(
                    "报送日期 {date}{why} 晚于播出窗口最后一天 {end}（窗口 {} 至 {end}），本届无法播出",
                    self.edition.window_start()
                ));
            } else if first > end {
                reasons.push(format!(
                    "报送日期 {date}{why} 已逾期，最早 {first} 起可播（报送次日），已过播出窗口最后一天 {end}，本届无法播出"
                ));
            }
        }
        if p.file.is_none() {
            reasons.push(
                "未附视频文件（「视频文件」列为空）：补交并通过技术检测、遴选后方可播出".into(),
            );
        }
        (!reasons.is_empty()).then(|| WorkNote {
            row: p.row,
            title: w.title.clone(),
            reasons,
        })
    }

    /// Reads and imports a file from disk.
    pub async fn import_file(&self, path: &std::path::Path, actor: &str) -> Result<ImportReport> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| Error::invalid("file", format!("无法读取 {}：{e}", path.display())))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.import_bytes(&name, bytes, actor).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        let s = "报送单位,作品名称\n中国科学院,深海\n";
        assert_eq!(decode_text(s.as_bytes()), (s.to_string(), "UTF-8"));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(s.as_bytes());
        assert_eq!(decode_text(&bom), (s.to_string(), "UTF-8 BOM"));
        let (gbk, _, _) = encoding_rs::GBK.encode(s);
        assert_eq!(decode_text(&gbk), (s.to_string(), "GB18030"));
    }

    #[test]
    fn csv_rows_keep_their_sheet_numbers_across_blank_lines() {
        for eol in ["\n", "\r\n"] {
            let text = ["标题", "", "说明", "", "", "报送单位,作品名称", "甲,乙", ""].join(eol);
            let rows: Vec<usize> = read_csv(&text)
                .expect("csv")
                .into_iter()
                .map(|(r, _)| r)
                .collect();
            assert_eq!(rows, [1, 3, 6, 7], "{eol:?}");
        }
        let t: Table = vec![
            (1, vec!["2026年科普之光展播作品信息采集表".into()]),
            (2, vec!["报送单位".into(), "作品名称".into()]),
            (3, vec!["甲".into(), "乙".into()]),
        ];
        let (h, body) = split_at_header(&t, |c| c.len() == 2).expect("found");
        assert_eq!((h.0, body.len(), body[0].0), (2, 1, 3));
        assert_eq!(sniff_delimiter("标题\na\tb\tc\n"), b'\t');
        assert_eq!(sniff_delimiter("标题\n"), b',');
    }

    #[test]
    fn headers_match_with_remarks_and_spaces() {
        assert_eq!(norm_header("\u{feff}视频类别（可多选）"), "视频类别");
        assert_eq!(norm_header("联 系 人"), "联系人");
        assert_eq!(norm_header("Title "), "title");
    }
}
