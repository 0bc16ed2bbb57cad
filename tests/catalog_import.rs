//! Import of the collection form on fresh databases through the real migrations: CSV in
//! UTF-8, UTF-8 with BOM, GBK and GB18030, and XLSX; precise row errors; idempotent re-import;
//! the 200-character summary limit; the shipped demo file.

mod catalog_common;

use catalog_common::{fresh, xlsx};
use kepu_playout::catalog::import::ImportReport;

const HEADER: &str = "报送单位,联系人,职务/职称,联系电话,电子邮箱,上级主管单位,主管单位所属类型,作品名称,视频类别（可多选）,时长,版权方,视频内容简介,报送视频状态,AI生成内容,中文字幕,报送日期,视频文件,线索名称,报送线索简介";

fn rows() -> Vec<Vec<String>> {
    let ok200 = "科".repeat(200);
    let bad201 = "普".repeat(201);
    let r = |cells: &[&str]| cells.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        r(&HEADER.split(',').collect::<Vec<_>>()),
        // row 2: a finished work with a file
        r(&[
            "中国科学院深海科学与工程研究所",
            "张明",
            "研究员",
            "0898-88380000",
            "zhangming@idsse.ac.cn",
            "中国科学院",
            "纲要办成员单位",
            "深海勇士号下潜记",
            "大国重器类科普视频；国家重点实验室类科普视频",
            "00:32:10",
            "中国科学院深海科学与工程研究所",
            "跟随深海勇士号载人潜水器下潜南海，时长32分钟，版权方中国科学院深海所。",
            "成品视频",
            "否",
            "是",
            "2026-07-01",
            "/data/kepu/deep-dive.mp4",
            "",
            "",
        ]),
        // row 3: another unit, duration in Chinese
        r(&[
            "重庆市科学技术协会",
            "邹小龙",
            "科普部部长",
            "023-63003153",
            "zou@cqast.cn",
            "中国科协",
            "地方科协",
            "重庆科技馆探访",
            "2",
            "45分钟",
            "重庆科技馆",
            "走进重庆科技馆的展厅与实验室。",
            "成品视频",
            "否",
            "是",
            "2026-07-10",
            "",
            "",
            "",
        ]),
        // row 4: a lead only
        r(&[
            "中国天文学会",
            "李华",
            "秘书长",
            "010-68597000",
            "cas@bao.ac.cn",
            "中国科协",
            "全国学会",
            "",
            "8",
            "",
            "",
            "",
            "",
            "",
            "",
            "2026-07-05",
            "",
            "青海冷湖星空慢直播",
            "科普价值：中国最佳天文台址；可拍摄：银河、流星、望远镜阵列",
        ]),
        // row 5: two mistakes
        r(&[
            "中国科学院深海科学与工程研究所",
            "张明",
            "",
            "",
            "",
            "",
            "",
            "深海热液",
            "纪录片",
            "30",
            "",
            "",
            "成品视频",
            "否",
            "是",
            "2026-07-01",
            "",
            "",
            "",
        ]),
        // row 6: summary of 201 characters
        r(&[
            "中国天文学会",
            "",
            "",
            "",
            "",
            "",
            "",
            "星空之下",
            "6",
            "20分钟",
            "",
            &bad201,
            "成品视频",
            "否",
            "是",
            "2026-07-02",
            "",
            "",
            "",
        ]),
        // row 7: 200 characters, a highlight submitted after its deadline (late, not refused)
        r(&[
            "重庆市科学技术协会",
            "",
            "",
            "",
            "",
            "",
            "",
            "重庆科普月精彩回顾",
            "1",
            "00:31:00",
            "重庆市科协",
            &ok200,
            "科普月精剪视频",
            "否",
            "是",
            "2026-09-20",
            "",
            "",
            "",
        ]),
        // row 8: a new unit with a bad e-mail: nothing of it may be written
        r(&[
            "某某科技馆",
            "王五",
            "",
            "",
            "wangwu.example.com",
            "",
            "",
            "科技馆一日",
            "2",
            "30分钟",
            "",
            "",
            "成品视频",
            "否",
            "是",
            "2026-07-01",
            "",
            "",
            "",
        ]),
    ]
}

fn csv_text(rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r).expect("csv row");
    }
    String::from_utf8(w.into_inner().expect("csv")).expect("utf-8")
}

async fn counts(c: &kepu_playout::catalog::Catalog) -> (i64, i64, i64, i64) {
    let pool = c.store().pool();
    let n = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .expect("count")
    };
    (
        n("SELECT COUNT(*) FROM units").await,
        n("SELECT COUNT(*) FROM works").await,
        n("SELECT COUNT(*) FROM leads").await,
        n("SELECT COUNT(*) FROM media_files").await,
    )
}

fn check_first_import(r: &ImportReport) {
    check_first_import_at(r, 0);
}

/// [`check_first_import`] of a sheet whose header is `off` rows below the top (a title row,
/// notes): every row is named by its real sheet row.
fn check_first_import_at(r: &ImportReport, off: usize) {
    assert_eq!(r.rows, 7, "{r:#?}");
    assert_eq!(
        (r.inserted, r.updated, r.unchanged, r.failed),
        (4, 0, 0, 3),
        "{r:#?}"
    );
    let has = |row: usize, col: &str, needle: &str| {
        r.errors
            .iter()
            .any(|e| e.row == row + off && e.column == col && e.reason.contains(needle))
    };
    assert!(has(5, "视频类别（可多选）", "纪录片"), "{:#?}", r.errors);
    assert!(has(5, "时长", "缺少单位"), "{:#?}", r.errors);
    assert!(has(6, "视频内容简介", "201 字"), "{:#?}", r.errors);
    assert!(has(8, "电子邮箱", "wangwu.example.com"), "{:#?}", r.errors);
    assert_eq!(r.errors.len(), 4, "{:#?}", r.errors);
    assert_eq!(r.late_rows, vec![7 + off]);
    let first = format!("第 {} 行「", 5 + off);
    assert!(
        r.errors[0].to_string().starts_with(&first),
        "{}",
        r.errors[0]
    );
}

async fn import_twice(name: &str, bytes: Vec<u8>, encoding: &str) {
    let (_dir, cat) = fresh(2026).await;
    let r = cat
        .import_bytes(name, bytes.clone(), "test")
        .await
        .expect("import runs");
    assert_eq!(r.encoding, encoding);
    check_first_import(&r);
    // units: 深海所, 重庆科协, 天文学会 (not 某某科技馆: its only row was refused)
    assert_eq!(counts(&cat).await, (3, 3, 1, 1));
    let again = cat
        .import_bytes(name, bytes, "test")
        .await
        .expect("re-import runs");
    assert_eq!(
        (again.inserted, again.updated, again.unchanged, again.failed),
        (0, 0, 4, 3),
        "{again:#?}"
    );
    assert_eq!(counts(&cat).await, (3, 3, 1, 1), "re-import adds nothing");
    let works = cat.works(None).await.expect("list");
    let deep = works
        .iter()
        .find(|w| w.title == "深海勇士号下潜记")
        .expect("imported");
    assert_eq!(deep.categories, vec![3, 4]);
    assert_eq!(deep.declared_duration_ms, Some(1_930_000));
    assert!(!deep.late);
    let late = works
        .iter()
        .find(|w| w.title == "重庆科普月精彩回顾")
        .expect("imported");
    assert!(late.late, "flagged late, still imported");
    assert_eq!(
        late.summary.as_deref().map(|s| s.chars().count()),
        Some(200)
    );
}

#[tokio::test]
async fn csv_utf8() {
    import_twice("form.csv", csv_text(&rows()).into_bytes(), "UTF-8").await;
}

#[tokio::test]
async fn csv_utf8_bom() {
    let mut b = vec![0xEF, 0xBB, 0xBF];
    b.extend(csv_text(&rows()).into_bytes());
    import_twice("form.csv", b, "UTF-8 BOM").await;
}

#[tokio::test]
async fn csv_gbk_and_gb18030() {
    let text = csv_text(&rows());
    for enc in [encoding_rs::GBK, encoding_rs::GB18030] {
        let (bytes, _, unmappable) = enc.encode(&text);
        assert!(!unmappable, "test text fits {}", enc.name());
        import_twice("form.csv", bytes.into_owned(), "GB18030").await;
    }
}

#[tokio::test]
async fn xlsx_with_numeric_cells() {
    let mut rows = rows();
    rows[1][3] = "=13800138000".into(); // a phone number typed as a number
    import_twice("form.xlsx", xlsx(&rows), "XLSX").await;
}

#[tokio::test]
async fn english_headers_and_an_edited_row() {
    let (_dir, cat) = fresh(2026).await;
    let csv1 = "unit,title,categories,duration,summary,status,submitted_on\n\
                中国科技馆,天宫课堂回顾,3,1h,第一版简介,finished,2026-07-01\n";
    let r = cat
        .import_bytes("en.csv", csv1.as_bytes().to_vec(), "t")
        .await
        .expect("import");
    assert_eq!((r.inserted, r.failed), (1, 0), "{r:#?}");
    let csv2 = csv1.replace("第一版简介", "第二版简介");
    let r = cat
        .import_bytes("en.csv", csv2.into_bytes(), "t")
        .await
        .expect("import");
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 1, 0), "{r:#?}");
    let w = cat.works(None).await.expect("list");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].summary.as_deref(), Some("第二版简介"));
    assert_eq!(w[0].declared_duration_ms, Some(3_600_000));
}

#[tokio::test]
async fn missing_header_is_a_file_error() {
    let (_dir, cat) = fresh(2026).await;
    let err = cat
        .import_bytes("x.csv", "联系人,电话\n张三,123\n".as_bytes().to_vec(), "t")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("报送单位"), "{err}");
}

#[tokio::test]
async fn shipped_demo_file_imports_cleanly() {
    let (_dir, cat) = fresh(2026).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schedules/demo/submissions-2026.csv");
    let r = cat.import_file(&path, "demo").await.expect("demo imports");
    assert_eq!(r.failed, 0, "{:#?}", r.errors);
    assert!(r.inserted >= 8, "{r:#?}");
    assert!(r.ignored_columns.is_empty(), "{:?}", r.ignored_columns);
}

/// Not a fuzzer, but a cheap guard: random bytes, fake XLSX and junk rows under a real header
/// give an error or a report, never a panic or a half-written row.
#[tokio::test]
async fn garbage_never_panics() {
    let (_dir, cat) = fresh(2026).await;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let len = (next() % 600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| (next() & 0xff) as u8).collect();
        match round % 3 {
            0 => bytes
                .splice(0..0, b"PK\x03\x04".iter().copied())
                .for_each(drop),
            1 => bytes
                .splice(
                    0..0,
                    "报送单位,作品名称,视频类别,时长,视频内容简介\n".bytes(),
                )
                .for_each(drop),
            _ => {}
        }
        if let Ok(r) = cat.import_bytes("fuzz.csv", bytes, "fuzz").await {
            assert_eq!(
                r.rows,
                r.inserted + r.updated + r.unchanged + r.failed,
                "{r:#?}"
            );
        }
    }
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM works w LEFT JOIN units u ON u.id = w.unit_id WHERE u.id IS NULL",
    )
    .fetch_one(cat.store().pool())
    .await
    .expect("count");
    assert_eq!(orphans, 0);
}

/// The form's title as Chinese Excel forms carry it on row 1.
const TITLE: &str = "2026年科普之光展播作品信息采集表";

/// A GBK CSV saved from such a form: the title row (padded with commas by Excel, or alone),
/// a note row and a blank row above the header; rows are reported by their sheet rows.
#[tokio::test]
async fn csv_gbk_with_a_title_row_and_notes_above_the_header() {
    let width = rows()[0].len();
    let padded = format!("{TITLE}{}\n", ",".repeat(width - 1));
    let alone = format!("{TITLE}\n");
    for title in [padded, alone] {
        let text = format!(
            "{title}填表说明：带*为必填项，时长填写“时:分:秒”\n\n{}",
            csv_text(&rows())
        );
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
        assert!(!unmappable);
        let (_dir, cat) = fresh(2026).await;
        let r = cat
            .import_bytes("采集表.csv", bytes.into_owned(), "t")
            .await
            .expect("a title row does not refuse the form");
        assert_eq!(r.encoding, "GB18030");
        check_first_import_at(&r, 3);
        assert_eq!(counts(&cat).await, (3, 3, 1, 1));
        assert!(r.ignored_columns.is_empty(), "{:?}", r.ignored_columns);
    }
}

/// An XLSX made by openpyxl the way coordinators send it: the title merged across the top
/// row, a note on row 2, the header on row 3.
#[tokio::test]
async fn xlsx_from_openpyxl_with_a_merged_title_row() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("采集表.xlsx");
    let rows_json = serde_json::to_string(&rows()).expect("json");
    let script = r#"
import json, sys
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
rows = json.loads(sys.argv[2])
wb = Workbook()
ws = wb.active
ws.title = "作品信息"
ws["A1"] = sys.argv[3]
ws.merge_cells("A1:%s1" % get_column_letter(len(rows[0])))
ws["A2"] = "填表说明：带*为必填项"
for r, row in enumerate(rows, start=3):
    for c, v in enumerate(row, start=1):
        if v != "":
            ws.cell(row=r, column=c, value=v)
wb.save(sys.argv[1])
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg(&rows_json)
        .arg(TITLE)
        .output()
        .expect("python3 runs (python3-openpyxl, run.sh installs it)");
    assert!(
        out.status.success(),
        "openpyxl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_dir, cat) = fresh(2026).await;
    let r = cat.import_file(&path, "t").await.expect("imports");
    assert_eq!(r.encoding, "XLSX");
    check_first_import_at(&r, 2);
    assert_eq!(counts(&cat).await, (3, 3, 1, 1));
}

/// No header within the first rows: a file error naming how far it looked.
#[tokio::test]
async fn a_header_below_the_searched_rows_is_a_file_error() {
    let (_dir, cat) = fresh(2026).await;
    let text = format!("{TITLE}\n{}{}", "说明\n".repeat(12), csv_text(&rows()));
    let err = cat
        .import_bytes("x.csv", text.into_bytes(), "t")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("前 10 行中找不到表头"), "{err}");
}
