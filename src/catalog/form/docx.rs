//! Reads the tables of a Word `.docx` (the notice's attachment is a Word table) into rows of
//! cell texts. A `.docx` is a ZIP holding WordprocessingML (ECMA-376 part 1 §17); only
//! `word/document.xml` is read, with `zip` and `quick-xml` (both already built for the
//! spreadsheet reader; the docx crates on crates.io write documents well but read them
//! poorly). This module knows nothing of the form's fields: that is [`super::parse`].
//!
//! What a cell's text is: the visible text of its paragraphs (`w:t`), one line per paragraph,
//! line breaks kept, tabs as spaces. Deleted text of tracked changes (`w:delText`) is not
//! text: a unit that deleted the options it did not choose with change tracking on has
//! deleted them. Symbols inserted from the Wingdings fonts (`w:sym`, Word's Insert → Symbol
//! for ☑ and □) are mapped to their Unicode characters. Content-control checkboxes
//! (`w14:checkbox`) show their glyph as ordinary text (☒/☐), which is read as is.
//! Paragraphs outside any table become one-cell rows, so "报送单位：…" written as body text
//! is still seen.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::io::Read;

/// Largest `word/document.xml` read (a form is a few hundred kB; guards against ZIP bombs).
const MAX_DOCUMENT_XML: u64 = 32 * 1024 * 1024;

/// Rows of cell texts, tables in document order.
pub type Rows = Vec<Vec<String>>;

/// Reads every table row of a `.docx`. Errors are Chinese and say what is wrong with the file.
pub fn read_docx(bytes: &[u8]) -> Result<Rows, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("不是有效的 Word（.docx）文件：{e}"))?;
    let mut part = zip
        .by_name("word/document.xml")
        .map_err(|_| "不是 Word（.docx）文件：缺少 word/document.xml".to_string())?;
    let mut xml = String::new();
    (&mut part)
        .take(MAX_DOCUMENT_XML + 1)
        .read_to_string(&mut xml)
        .map_err(|e| format!("Word 文件内容损坏：{e}"))?;
    if xml.len() as u64 > MAX_DOCUMENT_XML {
        return Err("Word 文件正文超过 32 MB，不像信息采集表".into());
    }
    parse_document_xml(&xml)
}

/// Whether the ZIP `bytes` is a Word document (has `word/document.xml`).
pub fn is_docx(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map(|z| z.index_for_name("word/document.xml").is_some())
        .unwrap_or(false)
}

/// The Unicode character of a `w:sym` (font, hex code), for the box and tick glyphs units
/// insert from Word's symbol dialog; `None` for anything else.
fn symbol_char(font: &str, code: &str) -> Option<char> {
    let code = u32::from_str_radix(code.trim(), 16).ok()?;
    // Word writes private-use codes (F000 + the font's byte).
    let byte = if code >= 0xF000 { code - 0xF000 } else { code };
    let f = font.to_ascii_lowercase();
    match (f.as_str(), byte) {
        ("wingdings", 0xFE) | ("wingdings 2", 0x52) => Some('☑'),
        ("wingdings", 0xFD) | ("wingdings 2", 0x54) | ("wingdings 2", 0x53) => Some('☒'),
        ("wingdings", 0xA8) | ("wingdings", 0x6F) | ("wingdings 2", 0xA3) => Some('□'),
        ("wingdings", 0xFC) | ("wingdings 2", 0x50) => Some('✓'),
        ("wingdings", 0x6E) | ("wingdings 2", 0xA2) => Some('■'),
        ("symbol", 0xD6) => Some('√'),
        _ => None,
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .map(|a| a.value.into_owned())
}

#[derive(Default)]
struct State {
    rows: Rows,
    /// Depth of `w:tbl` nesting; a nested table's text goes into the outer cell.
    tbl_depth: usize,
    row: Option<Vec<String>>,
    cell: Option<String>,
    /// Text of a paragraph outside any table.
    body_par: Option<String>,
    in_text: bool,
}

impl State {
    fn push_str(&mut self, s: &str) {
        if let Some(c) = self.cell.as_mut() {
            c.push_str(s);
        } else if let Some(p) = self.body_par.as_mut() {
            p.push_str(s);
        }
    }
}

/// Parses `word/document.xml` (its text) into rows; see the module header for what counts.
pub fn parse_document_xml(xml: &str) -> Result<Rows, String> {
    let mut r = Reader::from_str(xml);
    let mut st = State::default();
    loop {
        let ev = r.read_event().map_err(|e| {
            format!(
                "Word 文件内容无法解析（第 {} 字节）：{e}",
                r.buffer_position()
            )
        })?;
        match ev {
            Event::Start(e) => match e.local_name().as_ref() {
                "tbl" => st.tbl_depth += 1,
                "tr" if st.tbl_depth == 1 => st.row = Some(Vec::new()),
                "tc" if st.tbl_depth == 1 => st.cell = Some(String::new()),
                "p" if st.tbl_depth == 0 => st.body_par = Some(String::new()),
                "t" => st.in_text = true,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "br" | "cr" => st.push_str("\n"),
                "tab" => st.push_str(" "),
                "sym" => {
                    let font = attr(&e, "w:font").unwrap_or_default();
                    let code = attr(&e, "w:char").unwrap_or_default();
                    if let Some(c) = symbol_char(&font, &code) {
                        st.push_str(&c.to_string());
                    }
                }
                // An empty cell written as <w:tc/> still takes its place in the row.
                "tc" if st.tbl_depth == 1 => {
                    if let Some(row) = st.row.as_mut() {
                        row.push(String::new());
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "t" => st.in_text = false,
                "p" => {
                    if st.cell.is_some() {
                        st.push_str("\n");
                    } else if st.tbl_depth == 0
                        && let Some(p) = st.body_par.take()
                        && !p.trim().is_empty()
                    {
                        st.rows.push(vec![p]);
                    }
                }
                "tc" if st.tbl_depth == 1 => {
                    if let (Some(row), Some(cell)) = (st.row.as_mut(), st.cell.take()) {
                        row.push(tidy(&cell));
                    }
                }
                "tr" if st.tbl_depth == 1 => {
                    if let Some(row) = st.row.take() {
                        st.rows.push(row);
                    }
                }
                "tbl" => {
                    st.tbl_depth = st.tbl_depth.saturating_sub(1);
                    if st.tbl_depth > 0 {
                        st.push_str("\n");
                    }
                }
                _ => {}
            },
            Event::Text(t) if st.in_text => st.push_str(&t.xml10_content()),
            Event::GeneralRef(g) if st.in_text => {
                let c = match g.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match g.as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    st.push_str(&c.to_string());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(st.rows)
}

/// A cell's text with its trailing blank lines and each line's trailing spaces removed.
fn tidy(cell: &str) -> String {
    let lines: Vec<&str> = cell.lines().map(str::trim_end).collect();
    lines.join("\n").trim_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    #[test]
    fn cells_paragraphs_symbols_and_deletions() {
        let xml = format!(
            r#"<w:document {W}><w:body>
            <w:p><w:r><w:t>附件</w:t></w:r></w:p>
            <w:tbl><w:tr>
              <w:tc><w:p><w:r><w:t>报送单位</w:t></w:r></w:p></w:tc>
              <w:tc><w:p><w:r><w:t xml:space="preserve">中国 &amp; 科协 </w:t></w:r></w:p></w:tc>
            </w:tr><w:tr>
              <w:tc><w:p><w:r><w:t>视频类别</w:t></w:r></w:p></w:tc>
              <w:tc>
                <w:p><w:r><w:sym w:font="Wingdings 2" w:char="F052"/><w:t>大国重器类科普视频</w:t></w:r></w:p>
                <w:p><w:del><w:r><w:delText>□其他</w:delText></w:r></w:del></w:p>
                <w:p><w:r><w:t>□慢直播</w:t></w:r></w:p>
              </w:tc>
              <w:tc/>
            </w:tr></w:tbl></w:body></w:document>"#
        );
        let rows = parse_document_xml(&xml).expect("parses");
        assert_eq!(rows[0], vec!["附件".to_string()]);
        assert_eq!(rows[1], vec!["报送单位", "中国 & 科协"]);
        assert_eq!(
            rows[2],
            vec!["视频类别", "☑大国重器类科普视频\n\n□慢直播", ""]
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = read_docx(b"PK\x03\x04 not really").expect_err("refused");
        assert!(err.contains("Word"), "{err}");
    }
}
