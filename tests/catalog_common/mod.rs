//! Shared helpers of the catalog tests: a fresh database through the real migrations, the
//! shipped edition configs, and a minimal XLSX writer (inline strings) for import tests.
#![allow(dead_code)]

use kepu_playout::catalog::Catalog;
use kepu_playout::edition::Edition;
use kepu_playout::store::Store;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A catalog on a fresh PostgreSQL database (named `{prefix}_{pid}_{µs}`), migrated through
/// the real migrations, on the server `KEPU_TEST_POSTGRES_URL` names. `None` (the caller
/// returns) only outside CI: `./run.sh test`, and so CI, always starts a server, and there a
/// missing one is a failure, never a silent skip.
pub async fn fresh_pg(prefix: &str) -> Option<Catalog> {
    use sqlx::Connection;
    let Ok(admin) = std::env::var("KEPU_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KEPU_TEST_POSTGRES_URL is not set in CI: ./run.sh test starts a PostgreSQL server"
        );
        eprintln!("KEPU_TEST_POSTGRES_URL not set: PostgreSQL test skipped");
        return None;
    };
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("admin connection");
    // The name is a fixed prefix and digits: safe to splice.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let store = Store::open(&format!("{base}/{name}"))
        .await
        .expect("migrates on PostgreSQL");
    assert_eq!(store.backend(), kepu_playout::store::Backend::Postgres);
    Some(Catalog::new(store, edition(2026)))
}

/// A shipped edition config.
pub fn edition(year: u32) -> Arc<Edition> {
    let path = format!(
        "{}/schedules/editions/{year}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Arc::new(Edition::load(Path::new(&path)).expect("shipped edition loads"))
}

/// A catalog over a fresh SQLite file in a temporary directory (kept alive by the guard).
pub async fn fresh(year: u32) -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("catalog.db");
    let store = Store::open(db.to_str().expect("utf-8 path"))
        .await
        .expect("fresh store migrates");
    (dir, Catalog::new(store, edition(year)))
}

fn col_name(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, char::from(b'A' + (i % 26) as u8));
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes a one-sheet XLSX. A cell given as `=123` is stored as a number.
pub fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, v) in row.iter().enumerate() {
            let reference = format!("{}{}", col_name(c), r + 1);
            if let Some(n) = v.strip_prefix('=') {
                sheet.push_str(&format!(r#"<c r="{reference}"><v>{n}</v></c>"#));
            } else if !v.is_empty() {
                sheet.push_str(&format!(
                    r#"<c r="{reference}" t="inlineStr"><is><t>{}</t></is></c>"#,
                    esc(v)
                ));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="信息采集表" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string(),
        ),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in parts {
        zw.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        zw.write_all(body.as_bytes()).expect("zip write");
    }
    zw.finish().expect("zip finish").into_inner()
}
