//! Certificates (活动参与证明) in-process over the secured app, with as-run rows seeded through
//! `AsRunLog::record_start/record_end`: a work that aired gets one listing its airings in
//! Beijing time; its code checks out publicly without credentials; forged codes and altered
//! stored certificates do not; works that never aired (or only `missed`) get none; a partner
//! sees only its own unit's; the PDF is a real one-page PDF with the title and code in its
//! text; HTML escapes what submitters typed.

mod auth_common;

use auth_common::{World, call, json, pdftotext, world};
use axum::http::StatusCode;
use kepu_playout::asrun::recorder::ItemInfo;
use kepu_playout::asrun::{AsRunLog, NewAiring};
use kepu_playout::catalog::model::{NewWork, ProductionStatus};
use kepu_playout::certificate::Certificates;
use kepu_playout::certificate::code::{ALPHABET, CODE_LEN};
use serde_json::Value;

/// 2026-09-20 23:59:50 Beijing time (15:59:50 UTC).
const T0: i64 = 1_789_919_990_000;
/// 2026-09-21 20:00:00 Beijing time.
const T1: i64 = 1_789_992_000_000;
const EDITION: &str = "2026年「科普之光」全国科普月大型网络展播";

/// Seeds one airing of `work` (of `unit`) from `first_ms` for `dur_ms`, ended with `reason`
/// (`None`: still on air).
async fn air(
    w: &World,
    key: &str,
    work: i64,
    unit: i64,
    first_ms: i64,
    dur_ms: i64,
    reason: Option<&str>,
) {
    let a = NewAiring {
        key: key.into(),
        info: ItemInfo {
            item_id: key.into(),
            work_id: Some(work),
            unit_id: Some(unit),
            title: "节目".into(),
            source: format!("/media/{key}.mp4"),
            planned_start_ms: Some(first_ms),
            rundown_day: Some(kepu_playout::asrun::air_day_of(first_ms)),
            rundown_version: Some(1),
            gain_mdb: None,
        },
        first_frame_ms: first_ms,
    };
    w.asrun.record_start(&a).await.expect("start");
    if let Some(r) = reason {
        w.asrun
            .record_end(key, first_ms + dur_ms, dur_ms / 40, r)
            .await
            .expect("end");
    }
}

/// The list for `query` as `token`, expecting 200.
async fn list(w: &World, query: &str, token: &str) -> Vec<Value> {
    let (s, v) = json(
        &w.app,
        "GET",
        &format!("/api/v1/certificates{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().cloned().expect("a list")
}

fn code_of(v: &Value) -> String {
    v["code"].as_str().expect("code").to_string()
}

/// `code` with its character at `i` replaced by another one of the alphabet.
fn altered(code: &str, i: usize) -> String {
    let mut b = code.as_bytes().to_vec();
    b[i] = *ALPHABET
        .iter()
        .find(|c| **c != b[i])
        .expect("another character");
    String::from_utf8(b).expect("ascii")
}

async fn verified(w: &World, code: &str) -> (StatusCode, Value) {
    json(&w.app, "GET", &format!("/api/v1/verify/{code}"), None, None).await
}

async fn new_work(w: &World, unit: i64, title: &str) -> i64 {
    w.catalog
        .create_work(
            &NewWork {
                unit_id: unit,
                title: title.into(),
                categories: vec![3],
                declared_duration_ms: Some(600_000),
                copyright_holder: Some("某某科普工作室 & <合作方>".into()),
                summary: None,
                production_status: ProductionStatus::Finished,
                due_date: None,
                ai_generated: false,
                has_subtitles: false,
                submitted_on: Some("2026-07-01".into()),
            },
            "test",
        )
        .await
        .expect("work")
        .id
}

#[tokio::test]
async fn aired_work_gets_a_certificate_with_beijing_airings() {
    let w = world().await;
    let (work, unit) = (w.works[0], w.units[0]);
    air(&w, "a1", work, unit, T0, 20_000, Some("complete")).await;
    air(&w, "a2", work, unit, T1, 600_000, Some("cut")).await;
    air(
        &w,
        "a3",
        work,
        unit,
        T1 + 3_600_000,
        600_000,
        Some("missed"),
    )
    .await;

    let certs = list(&w, &format!("?work={work}"), &w.admin).await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    let c = &certs[0];
    assert_eq!(c["title"], "作品0");
    assert_eq!(c["unit_name"], "中国科学院深海科学与工程研究所");
    assert_eq!(c["copyright_holder"], "版权方");
    assert_eq!(c["edition"], EDITION);
    assert_eq!(c["airing_count"], 2, "the missed airing is not listed");
    assert_eq!(c["airings"][0]["date"], "2026年9月20日");
    assert_eq!(c["airings"][0]["time_range"], "23:59:50—00:00:10（次日）");
    assert_eq!(c["airings"][1]["date"], "2026年9月21日");
    assert_eq!(c["airings"][1]["time_range"], "20:00:00—20:10:00");
    assert!(
        c["issued_on"].as_str().is_some_and(|d| d.ends_with('日')),
        "{c}"
    );
    let code = code_of(c);
    assert_eq!(code.len(), CODE_LEN);
    assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
    assert_eq!(c["links"]["verify"], format!("/verify/{code}"));

    // Asking again issues nothing new; the unit filter and the full list agree.
    assert_eq!(
        code_of(&list(&w, &format!("?work={work}"), &w.operator).await[0]),
        code
    );
    assert_eq!(
        code_of(&list(&w, &format!("?unit={unit}"), &w.admin).await[0]),
        code
    );
    assert_eq!(list(&w, "", &w.admin).await.len(), 1);
    let (s, one) = json(
        &w.app,
        "GET",
        &format!("/api/v1/certificates/{code}"),
        Some(&w.admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["airings"], c["airings"]);

    // A new airing changes the code; the old one stays valid with what it certified.
    air(
        &w,
        "a4",
        work,
        unit,
        T1 + 86_400_000,
        600_000,
        Some("complete"),
    )
    .await;
    let newer = list(&w, &format!("?work={work}"), &w.admin).await;
    let new_code = code_of(&newer[0]);
    assert_ne!(new_code, code);
    assert_eq!(newer[0]["airing_count"], 3);
    let (s, old) = verified(&w, &code).await;
    assert_eq!(
        (s, old["airings"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    let (s, new) = verified(&w, &new_code).await;
    assert_eq!(
        (s, new["airings"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(3))
    );

    // One secret, created once; another instance over the same store checks the same codes.
    let secrets: Vec<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'certificate_secret'")
            .fetch_all(w.catalog.store().pool())
            .await
            .expect("settings");
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].len(), 64, "32 bytes as hex");
    let again = Certificates::new(w.catalog.clone(), w.asrun.clone());
    assert!(again.verify(&code).await.expect("verify").is_some());
}

#[tokio::test]
async fn codes_verify_publicly_without_credentials() {
    let w = world().await;
    air(
        &w,
        "a1",
        w.works[0],
        w.units[0],
        T0,
        20_000,
        Some("complete"),
    )
    .await;
    let code = code_of(&list(&w, "", &w.admin).await[0]);

    let (s, v) = verified(&w, &code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["code"], code.as_str());
    assert_eq!(v["title"], "作品0");
    assert_eq!(v["unit"], "中国科学院深海科学与工程研究所");
    assert_eq!(v["edition"], EDITION);
    assert_eq!(v["airings"][0]["date"], "2026年9月20日");
    assert_eq!(v["airings"][0]["time_range"], "23:59:50—00:00:10（次日）");
    // Nothing beyond the certificate: no ids.
    for key in ["work_id", "unit_id", "issued_at_ms", "links"] {
        assert!(v.get(key).is_none(), "{key} leaks: {v}");
    }
    // As people type it: lower case, in groups.
    let typed = format!("{}-{}", code[..8].to_lowercase(), &code[8..]);
    assert_eq!(verified(&w, &typed).await.0, StatusCode::OK);

    let (s, page, headers) = call(&w.app, "GET", &format!("/verify/{code}"), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let page = String::from_utf8(page).expect("utf-8");
    assert!(page.contains("活动参与证明有效"), "{page}");
    assert!(page.contains("作品0") && page.contains("中国科学院深海科学与工程研究所"));
    assert!(
        page.contains("2026年9月20日 23:59:50—00:00:10（次日）"),
        "{page}"
    );

    // The authenticated routes still want credentials.
    let (s, _) = json(&w.app, "GET", "/api/v1/certificates", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = json(
        &w.app,
        "GET",
        &format!("/api/v1/certificates/{code}"),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forged_codes_are_refused() {
    let w = world().await;
    air(
        &w,
        "a1",
        w.works[0],
        w.units[0],
        T0,
        20_000,
        Some("complete"),
    )
    .await;
    let code = code_of(&list(&w, "", &w.admin).await[0]);

    let mut forged: Vec<String> = [0, 7, CODE_LEN - 1]
        .iter()
        .map(|&i| altered(&code, i))
        .collect();
    forged.push("23456789ABCDEFGH".into());
    forged.push("ZZZZZZZZZZZZZZZZ".into());
    for f in &forged {
        let (s, v) = verified(&w, f).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{f}: {v}");
        assert_eq!(v["valid"], false);
        let (s, page, _) = call(&w.app, "GET", &format!("/verify/{f}"), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{f}");
        let page = String::from_utf8(page).expect("utf-8");
        assert!(
            page.contains("验证码无效") && !page.contains("作品0"),
            "{page}"
        );
        let (s, _) = json(
            &w.app,
            "GET",
            &format!("/api/v1/certificates/{f}"),
            Some(&w.admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{f}");
    }
    // Not even the shape of a code: refused, and the input is not echoed.
    let (s, page, _) = call(
        &w.app,
        "GET",
        "/verify/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&page).contains("<script>"));
    assert_eq!(verified(&w, "0OIl").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tampered_stored_certificate_fails_the_hmac_recheck() {
    let w = world().await;
    air(
        &w,
        "a1",
        w.works[0],
        w.units[0],
        T0,
        20_000,
        Some("complete"),
    )
    .await;
    let code = code_of(&list(&w, "", &w.admin).await[0]);
    let pool = w.catalog.store().pool();
    let original: String =
        sqlx::query_scalar("SELECT payload_json FROM certificates WHERE code = $1")
            .bind(&code)
            .fetch_one(pool)
            .await
            .expect("stored");
    let tampers = [
        original.replace("作品0", "别人的作品"),
        original.replace(
            &format!("\"first_frame_ms\":{T0}"),
            &format!("\"first_frame_ms\":{}", T0 + 1),
        ),
        original.replace(
            &format!("\"work_id\":{}", w.works[0]),
            &format!("\"work_id\":{}", w.works[1]),
        ),
        "{not json".to_string(),
    ];
    for t in &tampers {
        assert_ne!(t, &original, "the tamper changes something");
        sqlx::query("UPDATE certificates SET payload_json = $1 WHERE code = $2")
            .bind(t)
            .bind(&code)
            .execute(pool)
            .await
            .expect("tamper");
        assert_eq!(verified(&w, &code).await.0, StatusCode::NOT_FOUND, "{t}");
        let (s, _, _) = call(&w.app, "GET", &format!("/verify/{code}"), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = json(
            &w.app,
            "GET",
            &format!("/api/v1/certificates/{code}"),
            Some(&w.admin),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    // Put back as issued, it checks out again.
    sqlx::query("UPDATE certificates SET payload_json = $1 WHERE code = $2")
        .bind(&original)
        .bind(&code)
        .execute(pool)
        .await
        .expect("restore");
    assert_eq!(verified(&w, &code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn works_that_never_aired_have_none() {
    let w = world().await;
    // Work 1: only missed, and one still on air (not ended). Work 0: nothing at all.
    air(
        &w,
        "m1",
        w.works[1],
        w.units[1],
        T0,
        600_000,
        Some("missed"),
    )
    .await;
    air(&w, "m2", w.works[1], w.units[1], T1, 600_000, None).await;
    for q in [
        format!("?work={}", w.works[0]),
        format!("?work={}", w.works[1]),
        String::new(),
    ] {
        assert!(list(&w, &q, &w.admin).await.is_empty(), "{q}");
    }
    let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM certificates")
        .fetch_one(w.catalog.store().pool())
        .await
        .expect("count");
    assert_eq!(issued, 0);
    let (s, _) = json(
        &w.app,
        "GET",
        "/api/v1/certificates?work=999999",
        Some(&w.admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no such work");
    let (s, _) = json(
        &w.app,
        "GET",
        "/api/v1/certificates?work=x",
        Some(&w.admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn partner_sees_only_its_units_certificates() {
    let w = world().await;
    air(
        &w,
        "a1",
        w.works[0],
        w.units[0],
        T0,
        20_000,
        Some("complete"),
    )
    .await;
    air(
        &w,
        "b1",
        w.works[1],
        w.units[1],
        T1,
        20_000,
        Some("complete"),
    )
    .await;
    let all = list(&w, "", &w.operator).await;
    assert_eq!(all.len(), 2);
    let own = code_of(
        all.iter()
            .find(|c| c["unit_id"] == w.units[0])
            .expect("own"),
    );
    let other = code_of(
        all.iter()
            .find(|c| c["unit_id"] == w.units[1])
            .expect("other"),
    );

    let mine = list(&w, "", &w.partner).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(code_of(&mine[0]), own);
    assert_eq!(
        list(&w, &format!("?unit={}", w.units[0]), &w.partner)
            .await
            .len(),
        1
    );
    let (s, _) = json(
        &w.app,
        "GET",
        &format!("/api/v1/certificates?unit={}", w.units[1]),
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = json(
        &w.app,
        "GET",
        &format!("/api/v1/certificates?work={}", w.works[1]),
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for suffix in ["", ".html", ".pdf"] {
        let (s, _, _) = call(
            &w.app,
            "GET",
            &format!("/api/v1/certificates/{other}{suffix}"),
            Some(&w.partner),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "another unit's {suffix}");
        let (s, _, _) = call(
            &w.app,
            "GET",
            &format!("/api/v1/certificates/{own}{suffix}"),
            Some(&w.partner),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "own {suffix}");
    }
    // Certificates are read-only through the API.
    let (s, _) = json(
        &w.app,
        "POST",
        "/api/v1/certificates",
        Some(&w.partner),
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pdf_and_html_carry_title_and_code_escaped() {
    let w = world().await;
    let title = "<script>alert(1)</script>深海探秘";
    let work = new_work(&w, w.units[0], title).await;
    for i in 0..20 {
        air(
            &w,
            &format!("p{i}"),
            work,
            w.units[0],
            T0 + i * 86_400_000,
            600_000,
            Some("complete"),
        )
        .await;
    }
    let code = code_of(&list(&w, &format!("?work={work}"), &w.admin).await[0]);

    let (s, pdf, headers) = call(
        &w.app,
        "GET",
        &format!("/api/v1/certificates/{code}.pdf"),
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    if let Some(text) = pdftotext(&pdf) {
        let flat: String = text.split_whitespace().collect();
        assert!(flat.contains(title), "title in the PDF text: {text}");
        assert!(flat.contains(&code), "code in the PDF text: {text}");
        assert!(flat.contains("活动参与证明"), "{text}");
        assert!(flat.contains("等20次"), "20 airings truncated: {text}");
        assert_eq!(text.matches('\u{c}').count(), 1, "one page");
    }

    let (s, html, headers) = call(
        &w.app,
        "GET",
        &format!("/api/v1/certificates/{code}.html"),
        Some(&w.admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    assert!(headers.contains_key("content-security-policy"));
    let html = String::from_utf8(html).expect("utf-8");
    assert!(html.contains("@page { size: A4"), "printable A4");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;深海探秘"),
        "escaped title"
    );
    assert!(!html.contains("<script"), "no markup from the title");
    assert!(
        html.contains("某某科普工作室 &amp; &lt;合作方&gt;"),
        "escaped holder"
    );
    assert!(html.contains(&format!("/verify/{code}")));
    assert!(html.contains(&format!(
        "{}-{}-{}-{}",
        &code[..4],
        &code[4..8],
        &code[8..12],
        &code[12..]
    )));
    assert_eq!(
        html.matches("<tr><td class=\"n\">").count(),
        20,
        "every airing on the page"
    );

    let (_, page, _) = call(&w.app, "GET", &format!("/verify/{code}"), None, None).await;
    let page = String::from_utf8(page).expect("utf-8");
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script"),
        "{page}"
    );
}

/// The same issuance and checks on PostgreSQL (migration 4001, `ON CONFLICT`, the secret).
/// Runs when `KEPU_TEST_POSTGRES_URL` is set (always in CI, through ./run.sh test).
#[tokio::test]
async fn certificates_on_postgres() {
    let Some(catalog) = auth_common::catalog_common::fresh_pg("kepu_certs").await else {
        return;
    };
    let unit = catalog
        .create_unit(&kepu_playout::catalog::model::NewUnit {
            name: "中国科学技术馆".into(),
            ..Default::default()
        })
        .await
        .expect("unit")
        .id;
    let work = catalog
        .create_work(
            &NewWork {
                unit_id: unit,
                title: "星空".into(),
                categories: vec![3],
                declared_duration_ms: Some(600_000),
                copyright_holder: None,
                summary: None,
                production_status: ProductionStatus::Finished,
                due_date: None,
                ai_generated: false,
                has_subtitles: false,
                submitted_on: Some("2026-07-01".into()),
            },
            "test",
        )
        .await
        .expect("work")
        .id;
    let asrun = AsRunLog::new(catalog.store().clone());
    let certs = Certificates::new(catalog.clone(), asrun.clone());
    assert!(certs.for_work(work).await.expect("none yet").is_none());
    let a = NewAiring {
        key: "pg1".into(),
        info: ItemInfo {
            item_id: "pg1".into(),
            work_id: Some(work),
            unit_id: Some(unit),
            title: "星空".into(),
            source: "/media/pg1.mp4".into(),
            planned_start_ms: None,
            rundown_day: None,
            rundown_version: None,
            gain_mdb: None,
        },
        first_frame_ms: T1,
    };
    asrun.record_start(&a).await.expect("start");
    asrun
        .record_end("pg1", T1 + 600_000, 15_000, "complete")
        .await
        .expect("end");
    let c = certs.for_work(work).await.expect("issue").expect("aired");
    assert_eq!(c.airings[0].time_range, "20:00:00—20:10:00");
    let again = Certificates::new(catalog.clone(), asrun.clone());
    assert_eq!(
        again.for_work(work).await.expect("again").map(|c| c.code),
        Some(c.code.clone())
    );
    assert_eq!(
        again.verify(&c.code).await.expect("verify"),
        Some(c.clone())
    );
    sqlx::query("UPDATE certificates SET payload_json = REPLACE(payload_json, '星空', '星海')")
        .execute(catalog.store().pool())
        .await
        .expect("tamper");
    assert_eq!(again.verify(&c.code).await.expect("verify"), None);
}
