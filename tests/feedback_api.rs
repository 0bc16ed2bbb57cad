//! 数据反馈 through the real app on a fresh database (real migrations): relay channels and
//! roles (a partner never reads or writes another unit's channels or figures), batches that
//! are validated whole (the row and field named, nothing half-written) and idempotent (a
//! replay counts once), the per-channel webhook, uploads of GBK CSV and XLSX with row errors
//! named, attribution of known figures through a known as-run log, the live curve, and the
//! XLSX report read back by an independent reader (python's openpyxl).

mod auth_common;

use auth_common::{World, call, json, pdftotext, world};
use axum::http::StatusCode;
use kepu_playout::asrun::NewAiring;
use kepu_playout::asrun::recorder::ItemInfo;
use serde_json::{Value, json};

/// 2026-09-01 12:00 in Beijing.
const T: i64 = 1_788_235_200_000;
const MIN: i64 = 60_000;

/// GETs `path` as `token`: (status, JSON answer).
async fn get(w: &World, token: &str, path: &str) -> (StatusCode, Value) {
    json(&w.app, "GET", path, Some(token), None).await
}

/// POSTs `body` to `path` as `token`: (status, JSON answer).
async fn post(w: &World, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    json(&w.app, "POST", path, Some(token), Some(body)).await
}

/// GETs a file at `path` as `token`: (status, bytes, headers).
async fn download(
    w: &World,
    token: &str,
    path: &str,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    call(&w.app, "GET", path, Some(token), None).await
}

/// POSTs a file's `bytes` to `path` as `token`: (status, JSON answer).
async fn upload(w: &World, token: &str, path: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let (s, b, _) = call(&w.app, "POST", path, Some(token), Some(bytes)).await;
    let v = serde_json::from_slice(&b)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned()));
    (s, v)
}

/// Whether header `name` of `h` contains `needle`.
fn header_has(h: &axum::http::HeaderMap, name: &str, needle: &str) -> bool {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(needle))
}

/// GETs `path` as `token`, which must be refused with `status`; the answer (its error).
async fn refused(w: &World, token: &str, path: &str, status: StatusCode) -> Value {
    let (s, v) = get(w, token, path).await;
    assert_eq!(s, status, "{path}: {v}");
    v
}

/// Creates a channel as `token`; returns (status, body).
async fn channel(w: &World, token: &str, body: Value) -> (StatusCode, Value) {
    post(w, token, "/api/v1/feedback/channels", body).await
}

async fn figures_stored(w: &World) -> i64 {
    kepu_playout::feedback::repo::FeedbackStore::new(w.catalog.store().clone())
        .count()
        .await
        .expect("count")
}

/// Two channels: one of unit 0 (the partner's), one of unit 1.
async fn two_channels(w: &World) -> (i64, i64) {
    let (s, a) = channel(
        w,
        &w.operator,
        json!({"unit_id": w.units[0], "platform": "bilibili", "account_name": "深海所B站",
               "room_url": "https://live.bilibili.com/1"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, b) = channel(
        w,
        &w.operator,
        json!({"unit_id": w.units[1], "platform": "douyin", "account_name": "科技馆抖音"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    (
        a["channel"]["id"].as_i64().expect("id"),
        b["channel"]["id"].as_i64().expect("id"),
    )
}

#[tokio::test]
async fn channels_are_scoped_to_the_partners_unit_and_tokens_shown_once() {
    let w = world().await;
    let (own, other) = two_channels(&w).await;
    // The partner sees its own unit's channel only.
    let (s, list) = get(&w, &w.partner, "/api/v1/feedback/channels").await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![own]);
    refused(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/channels?unit={}", w.units[1]),
        StatusCode::FORBIDDEN,
    )
    .await;
    // It may not register a channel for another unit, nor change or re-key one.
    let (s, _) = channel(
        &w,
        &w.partner,
        json!({"unit_id": w.units[1], "platform": "weibo", "account_name": "冒名"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (method, uri) in [
        ("PUT", format!("/api/v1/feedback/channels/{other}")),
        ("POST", format!("/api/v1/feedback/channels/{other}/token")),
    ] {
        let (s, _) = json(
            &w.app,
            method,
            &uri,
            Some(&w.partner),
            Some(json!({"platform": "douyin", "account_name": "改名"})),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {uri}");
    }
    // Its own registration lands in its unit; the token is whole once, masked after.
    let (s, mine) = channel(
        &w,
        &w.partner,
        json!({"platform": "weibo", "account_name": "深海所微博"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{mine}");
    assert_eq!(mine["channel"]["unit_id"], json!(w.units[0]));
    let token = mine["token"].as_str().expect("token");
    assert!(token.starts_with("fb_") && token.len() == 67, "{token}");
    let (_, all) = get(&w, &w.admin, "/api/v1/feedback/channels").await;
    let text = all.to_string();
    assert!(!text.contains(&token[3..]), "no whole token in a list");
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    // Bad fields are named.
    let (s, e) = channel(
        &w,
        &w.operator,
        json!({"platform": "Bili Bili", "account_name": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["field"], "platform");
    let (s, e) = channel(
        &w,
        &w.operator,
        json!({"platform": "bilibili", "account_name": "x", "room_url": "javascript:alert(1)"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["field"], "room_url");
}

#[tokio::test]
async fn batches_are_validated_whole_and_replays_count_once() {
    let w = world().await;
    let (own, other) = two_channels(&w).await;
    let batch = json!({"figures": [
        {"channel_id": own, "at_ms": T, "kind": "viewers", "value": 120},
        {"channel_id": own, "at_ms": T, "kind": "likes", "value": 1000},
        {"channel_id": own, "at_ms": T + MIN, "kind": "likes", "value": 1100},
    ]});
    let (s, r) = post(&w, &w.partner, "/api/v1/feedback/figures", batch.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["inserted"].as_i64(), r["duplicates"].as_i64()),
        (Some(3), Some(0))
    );
    // The same batch again: nothing new.
    let (s, r) = post(&w, &w.partner, "/api/v1/feedback/figures", batch).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (r["inserted"].as_i64(), r["duplicates"].as_i64()),
        (Some(0), Some(3))
    );
    assert_eq!(figures_stored(&w).await, 3);
    // A correction replaces the value of the same (channel, instant, kind).
    let (_, r) = post(
        &w,
        &w.operator,
        "/api/v1/feedback/figures",
        json!({"figures": [{"channel_id": own, "at_ms": T, "kind": "viewers", "value": 150}]}),
    )
    .await;
    assert_eq!(r["corrected"], 1);
    assert_eq!(figures_stored(&w).await, 3);

    // Out of range: every fault named by row and field, and the good row is not written.
    let (s, e) = post(
        &w,
        &w.partner,
        "/api/v1/feedback/figures",
        json!({"figures": [
            {"channel_id": own, "at_ms": T + 2 * MIN, "kind": "likes", "value": 1200},
            {"channel_id": own, "at_ms": T + 2 * MIN, "kind": "comments", "value": -5},
            {"channel_id": own, "at_ms": 99, "kind": "shares", "value": 1},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["field"], "figures[1].value");
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("第 1 条「value」") && msg.contains("共 2 处错误"),
        "{msg}"
    );
    assert_eq!(e["error"]["errors"][1]["field"], "at_ms");
    assert_eq!(figures_stored(&w).await, 3, "nothing half-written");
    // Malformed: a string for a number, an unknown kind, an unknown field.
    for (bad, needle) in [
        (
            json!({"channel_id": own, "at_ms": T, "kind": "likes", "value": "很多"}),
            "figures[0].value",
        ),
        (
            json!({"channel_id": own, "at_ms": T, "kind": "online", "value": 1}),
            "figures[0].kind",
        ),
        (
            json!({"channel_id": own, "at_ms": T, "kind": "likes", "value": 1, "x": 2}),
            "`x`",
        ),
    ] {
        let (s, e) = post(
            &w,
            &w.partner,
            "/api/v1/feedback/figures",
            json!({"figures": [bad]}),
        )
        .await;
        assert!(s.is_client_error(), "{s} {e}");
        let m = e["error"]["message"].as_str().unwrap_or_default();
        assert!(m.contains(needle), "{needle}: {m}");
    }
    // Another unit's channel: refused as a whole, nothing written.
    let (s, e) = post(
        &w,
        &w.partner,
        "/api/v1/feedback/figures",
        json!({"figures": [
            {"channel_id": own, "at_ms": T + 3 * MIN, "kind": "likes", "value": 1300},
            {"channel_id": other, "at_ms": T, "kind": "likes", "value": 1},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"]["code"], "forbidden");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("第 1 条"),
        "{e}"
    );
    assert_eq!(figures_stored(&w).await, 3);
    // Reading: the partner gets its channel's figures, never another unit's.
    refused(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/figures?channel={other}&from_ms={T}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    let (_, _) = post(
        &w,
        &w.operator,
        "/api/v1/feedback/figures",
        json!({"figures": [{"channel_id": other, "at_ms": T, "kind": "viewers", "value": 7}]}),
    )
    .await;
    let (s, rows) = get(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/figures?from_ms={}", T - MIN),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["channel_id"] == own));
    let (_, all) = get(
        &w,
        &w.operator,
        &format!("/api/v1/feedback/figures?from_ms={}", T - MIN),
    )
    .await;
    assert_eq!(all.as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn the_webhook_takes_the_channel_token_and_its_platform_only() {
    let w = world().await;
    let (s, c) = channel(
        &w,
        &w.partner,
        json!({"platform": "douyin", "account_name": "深海所抖音"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = c["token"].as_str().expect("token").to_string();
    let body = json!({"figures": [{"at_ms": T, "kind": "comments", "value": 1, "cumulative": false},
                                  {"at_ms": T + 1, "kind": "likes", "value": 3, "cumulative": false}]});
    let hook = |platform: &str, token: Option<String>| {
        let app = w.app.clone();
        let uri = format!("/api/v1/feedback/hook/{platform}");
        let body = body.to_string().into_bytes();
        async move {
            let mut req = axum::http::Request::builder()
                .method("POST")
                .uri(uri)
                .header("content-type", "application/json");
            if let Some(t) = token {
                req = req.header("x-kepu-token", t);
            }
            let resp = tower::ServiceExt::oneshot(
                app,
                req.body(axum::body::Body::from(body)).expect("req"),
            )
            .await
            .expect("infallible");
            let s = resp.status();
            let b = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .expect("body")
                .to_bytes();
            (
                s,
                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
            )
        }
    };
    let (s, r) = hook("douyin", Some(token.clone())).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["inserted"], 2);
    let (_, r) = hook("douyin", Some(token.clone())).await;
    assert_eq!(
        (r["inserted"].as_i64(), r["duplicates"].as_i64()),
        (Some(0), Some(2)),
        "a replay counts once"
    );
    let (s, _) = hook("douyin", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = hook("douyin", Some(format!("fb_{}", "0".repeat(64)))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = hook("bilibili", Some(token.clone())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["field"], "platform");
    // A new token retires the old one at once.
    let id = c["channel"]["id"].as_i64().expect("id");
    let (s, _) = json(
        &w.app,
        "POST",
        &format!("/api/v1/feedback/channels/{id}/token"),
        Some(&w.partner),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = hook("douyin", Some(token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(figures_stored(&w).await, 2);
    let m = w.metrics.render();
    assert!(
        m.contains("kepu_feedback_events_total{source=\"webhook\"} 2"),
        "{m}"
    );
}

#[tokio::test]
async fn uploads_in_gbk_and_xlsx_and_row_errors_named() {
    let w = world().await;
    let (own, other) = two_channels(&w).await;
    // The GBK template as downloaded, filled in for the partner's channel.
    let (s, tpl, h) = download(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/template.csv?encoding=gbk&channel={own}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(header_has(&h, "content-type", "gbk"), "{h:?}");
    let (text, _, bad) = encoding_rs::GBK.decode(&tpl);
    assert!(!bad && text.starts_with("渠道编号,时间"), "{text}");
    let mut sheet = text.into_owned();
    sheet.push_str(&format!(
        "{own},2026-09-01 12:05,1500,36000,1.3万,900,320,,,累计\r\n"
    ));
    let gbk = encoding_rs::GBK.encode(&sheet).0.into_owned();
    let (s, r) = upload(
        &w,
        &w.partner,
        "/api/v1/feedback/uploads?name=b站.csv",
        gbk.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["encoding"].as_str(),
            r["rows"].as_i64(),
            r["inserted"].as_i64()
        ),
        (Some("GB18030"), Some(2), Some(10))
    );
    let (_, r) = upload(&w, &w.partner, "/api/v1/feedback/uploads", gbk).await;
    assert_eq!(
        (r["inserted"].as_i64(), r["duplicates"].as_i64()),
        (Some(0), Some(10))
    );
    // The XLSX template uploads as it is.
    let (s, xlsx, _) = download(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/template.xlsx?channel={own}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(xlsx.starts_with(b"PK"));
    let (s, r) = upload(&w, &w.partner, "/api/v1/feedback/uploads?name=t.xlsx", xlsx).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["encoding"].as_str(), r["duplicates"].as_i64()),
        (Some("XLSX"), Some(5)),
        "the template's row was in the CSV too"
    );
    let before = figures_stored(&w).await;
    // A platform's own export (no channel column) with bad rows: named like the catalog import.
    let export = "统计时间,在线人数,点赞数\n2026-09-01 12:10,100,200\n2026-09-01 12:11,很多,210\n2026-9-31 12:12,90,-1\n";
    let (s, e) = upload(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/uploads?name=export.csv&channel={own}"),
        export.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(msg.starts_with("export.csv 第 3 行「在线人数」列"), "{msg}");
    let errs = e["error"]["errors"].as_array().expect("errors");
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert_eq!(
        (errs[1]["row"].as_i64(), errs[1]["column"].as_str()),
        (Some(4), Some("统计时间"))
    );
    assert_eq!(errs[2]["column"], "点赞数");
    assert_eq!(
        figures_stored(&w).await,
        before,
        "nothing of a refused file is written"
    );
    // Another unit's channel, named in the file or in the query: refused.
    let sheet = format!("渠道编号,时间,点赞\n{other},2026-09-01 12:00,5\n");
    let (s, _) = upload(
        &w,
        &w.partner,
        "/api/v1/feedback/uploads",
        sheet.into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = upload(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/uploads?channel={other}"),
        export.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(figures_stored(&w).await, before);
}

/// A known as-run: 甲 (unit 0) 12:00–12:10, 乙 (unit 1) 12:10–12:20 on 2026-09-01.
async fn airings(w: &World) {
    for (i, (title, unit, work, start)) in [
        ("作品0", w.units[0], w.works[0], T),
        ("作品1", w.units[1], w.works[1], T + 10 * MIN),
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("item{i}@{start}");
        w.asrun
            .record_start(&NewAiring {
                key: key.clone(),
                info: ItemInfo {
                    item_id: format!("item{i}"),
                    work_id: Some(work),
                    unit_id: Some(unit),
                    title: title.into(),
                    source: "file.mp4".into(),
                    planned_start_ms: Some(start),
                    rundown_day: Some("2026-09-01".into()),
                    rundown_version: Some(1),
                    gain_mdb: None,
                },
                first_frame_ms: start,
            })
            .await
            .expect("start");
        w.asrun
            .record_end(&key, start + 10 * MIN, 15_000, "completed")
            .await
            .expect("end");
    }
}

/// Known figures: viewers every 5 min on both channels, likes as running totals.
async fn known_figures(w: &World, own: i64, other: i64) {
    let mut figures = Vec::new();
    for (k, (a, b)) in [(100, 40), (300, 60), (200, 80), (100, 20)]
        .into_iter()
        .enumerate()
    {
        let at = T + i64::try_from(k).expect("k") * 5 * MIN;
        figures.push(json!({"channel_id": own, "at_ms": at, "kind": "viewers", "value": a}));
        figures.push(json!({"channel_id": other, "at_ms": at, "kind": "viewers", "value": b}));
    }
    for (at, v) in [(T, 1000), (T + 10 * MIN, 1600), (T + 20 * MIN, 1700)] {
        figures.push(json!({"channel_id": own, "at_ms": at, "kind": "likes", "value": v}));
    }
    for (at, v) in [(T, 10), (T + 20 * MIN, 50)] {
        figures.push(json!({"channel_id": other, "at_ms": at, "kind": "shares", "value": v}));
    }
    let (s, r) = post(
        w,
        &w.operator,
        "/api/v1/feedback/figures",
        json!({"figures": figures}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

/// A world with [`two_channels`], [`airings`] and [`known_figures`] on them.
async fn known_world() -> World {
    let w = world().await;
    let (own, other) = two_channels(&w).await;
    airings(&w).await;
    known_figures(&w, own, other).await;
    w
}

#[tokio::test]
async fn attribution_of_known_figures_gives_known_numbers_and_partners_see_their_own() {
    let w = known_world().await;
    let (s, a) = get(
        &w,
        &w.operator,
        "/api/v1/feedback/attribution?from=2026-09-01&to=2026-09-01",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let p = a["programmes"].as_array().expect("programmes");
    assert_eq!(p.len(), 2);
    // 作品0: 140 then 360 → peak 360, average 250; likes 1000 → 1600 = 600; shares 10 → 30 = 20.
    let a0 = &p[0]["audience"];
    assert_eq!(
        (a0["peak_viewers"].as_i64(), a0["avg_viewers"].as_i64()),
        (Some(360), Some(250))
    );
    assert_eq!(a0["interactions"], 620);
    // 作品1: 280 then 120 → peak 280, average 200; likes 100, shares 20.
    let a1 = &p[1]["audience"];
    assert_eq!(
        (
            a1["peak_viewers"].as_i64(),
            a1["avg_viewers"].as_i64(),
            a1["interactions"].as_i64()
        ),
        (Some(280), Some(200), Some(120))
    );
    assert_eq!(p[1]["by_platform"]["douyin"]["peak_viewers"], 80);
    // Units: their works' airings and their own relays.
    let u0 = &a["units"][w.units[0].to_string()];
    assert_eq!(
        (u0["works"]["interactions"].as_i64(), u0["relays"].as_i64()),
        (Some(620), Some(1))
    );
    assert_eq!(u0["relay_audience"]["interactions"], 700);
    assert_eq!(
        a["ranking"][0]["unit_id"],
        json!(w.units[0]),
        "700 interactions rank first"
    );
    assert_eq!(a["categories"]["大国重器类科普视频"]["airings"], 2);
    assert_eq!(a["days"]["2026-09-01"]["interactions"], 740);
    // The partner's view counts only its own channel and shows only its own airings.
    let (s, pa) = get(
        &w,
        &w.partner,
        "/api/v1/feedback/attribution?from=2026-09-01&to=2026-09-01",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let pp = pa["programmes"].as_array().expect("programmes");
    assert_eq!(pp.len(), 1);
    assert_eq!(pp[0]["title"], "作品0");
    assert_eq!(pp[0]["audience"]["peak_viewers"], 300);
    assert!(!pa.to_string().contains("作品1") && !pa.to_string().contains("douyin"));
    refused(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/attribution?unit={}", w.units[1]),
        StatusCode::FORBIDDEN,
    )
    .await;
    let e = refused(
        &w,
        &w.operator,
        "/api/v1/feedback/attribution?from=2026-09-31",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["error"]["field"], "from");
}

#[tokio::test]
async fn a_units_summary_pdf_carries_the_figures_of_its_own_works_and_channels() {
    let w = known_world().await;
    let unit = w.units[0];
    let period = "from=2026-09-01&to=2026-09-01";
    let (s, a) = get(
        &w,
        &w.operator,
        &format!("/api/v1/feedback/attribution?{period}&unit={unit}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    // The operator's copy and the partner's own are the same document.
    let mut texts = Vec::new();
    for (token, query) in [
        (&w.operator, format!("{period}&unit={unit}")),
        (&w.partner, period.to_string()),
    ] {
        let (s, body, h) =
            download(&w, token, &format!("/api/v1/feedback/summary.pdf?{query}")).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(h["content-type"], "application/pdf");
        assert!(body.starts_with(b"%PDF"), "a PDF");
        texts.push(pdftotext(&body));
    }
    if let [Some(op), Some(partner)] = &texts[..] {
        let flat = |t: &str| t.split_whitespace().collect::<String>();
        assert_eq!(
            flat(op).replace(char::is_numeric, ""),
            flat(partner).replace(char::is_numeric, "")
        );
        let text = flat(op);
        let u = &a["units"][unit.to_string()];
        let n = |v: &Value| v.as_i64().expect("number").to_string();
        for want in [
            "数据反馈月度汇总".to_string(),
            "统计期间：2026-09-01至2026-09-01".into(),
            "作品0".into(),
            format!("作品播出：{}次", n(&u["works"]["airings"])),
            format!(
                "播出时段在线：最高{}人，平均{}人；互动{}次",
                n(&u["works"]["peak_viewers"]),
                n(&u["works"]["avg_viewers"]),
                n(&u["works"]["interactions"])
            ),
            format!("转播渠道：{}个", n(&u["relays"])),
            "哔哩哔哩".into(),
        ] {
            assert!(text.contains(&want), "{want} not in the summary:\n{op}");
        }
        assert!(!text.contains("作品1"), "another unit's work: {op}");
    }
    // A partner asks only for its own unit; an operator must name one.
    refused(
        &w,
        &w.partner,
        &format!("/api/v1/feedback/summary.pdf?{period}&unit={}", w.units[1]),
        StatusCode::FORBIDDEN,
    )
    .await;
    let e = refused(
        &w,
        &w.operator,
        &format!("/api/v1/feedback/summary.pdf?{period}"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["error"]["field"], "unit");
}

#[tokio::test]
async fn the_xlsx_report_reads_back_in_openpyxl_with_its_sheets_and_totals() {
    let w = known_world().await;
    let (s, body, h) = download(
        &w,
        &w.operator,
        "/api/v1/feedback/report.xlsx?from=2026-09-01&to=2026-09-01",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        header_has(&h, "content-disposition", "feedback-report.xlsx"),
        "{h:?}"
    );
    let path = w.dir.path().join("report.xlsx");
    std::fs::write(&path, &body).expect("write");
    let python = "/usr/bin/python3";
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
out = {"sheets": wb.sheetnames}
for name in wb.sheetnames:
    out[name] = [list(r) for r in wb[name].iter_rows(values_only=True)]
print(json.dumps(out, ensure_ascii=False, default=str))
"#;
    let run = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&path)
        .output();
    let out = match run {
        Ok(o) if o.status.success() => o,
        other => {
            assert!(
                std::env::var_os("CI").is_none(),
                "python3-openpyxl is needed in CI: {other:?}"
            );
            eprintln!("python3 with openpyxl not available ({other:?}): XLSX read-back skipped");
            return;
        }
    };
    let book: Value = serde_json::from_slice(&out.stdout).expect("json from python");
    assert_eq!(
        book["sheets"],
        json!(["汇总", "单位排名", "节目", "分类统计", "转播渠道"])
    );
    let groups = book["分类统计"].as_array().expect("分类统计");
    assert!(
        groups
            .iter()
            .any(|r| r[0] == "播出日" && r[1] == "2026-09-01" && r[6].as_f64() == Some(740.0)),
        "{groups:?}"
    );
    assert!(
        groups
            .iter()
            .any(|r| r[0] == "类别" && r[1] == "大国重器类科普视频" && r[2].as_f64() == Some(2.0)),
        "{groups:?}"
    );
    let programmes = book["节目"].as_array().expect("节目");
    assert_eq!(programmes[0][3], "节目名称");
    assert_eq!(programmes.len(), 4, "header, two airings, 合计");
    assert_eq!(programmes[1][3], "作品0");
    assert_eq!(programmes[1][1], "2026-09-01 12:00:00");
    let total = &programmes[3];
    assert_eq!(total[0], "合计");
    // Peak 360; likes 700; shares 40; interactions 740.
    assert_eq!(
        (
            total[5].as_f64(),
            total[7].as_f64(),
            total[9].as_f64(),
            total[10].as_f64()
        ),
        (Some(360.0), Some(700.0), Some(40.0), Some(740.0))
    );
    let units = book["单位排名"].as_array().expect("单位排名");
    assert_eq!(units[1][1], "中国科学院深海科学与工程研究所");
    assert_eq!(units[1][11], "1/1（100%）");
    assert_eq!(units[3][0], "合计");
    assert_eq!(
        units[3][8].as_f64(),
        Some(740.0),
        "relay interactions add up"
    );
    let summary = book["汇总"].as_array().expect("汇总");
    assert!(
        summary
            .iter()
            .any(|r| r[0] == "互动量" && r[1].as_f64() == Some(740.0)),
        "{summary:?}"
    );
    assert_eq!(book["转播渠道"].as_array().map(Vec::len), Some(3));
    // The partner's report holds its unit only.
    let (s, body, _) = download(
        &w,
        &w.partner,
        "/api/v1/feedback/report.csv?from=2026-09-01&to=2026-09-01",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(body).expect("utf-8");
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("作品0") && !csv.contains("作品1"), "{csv}");
    assert!(
        csv.lines().last().unwrap_or_default().starts_with("合计"),
        "{csv}"
    );
}

#[tokio::test]
async fn the_live_curve_follows_new_figures_per_platform() {
    let w = world().await;
    let (own, other) = two_channels(&w).await;
    let now = kepu_playout::store::now_ms();
    let (s, _) = post(
        &w,
        &w.operator,
        "/api/v1/feedback/figures",
        json!({"figures": [
            {"channel_id": own, "at_ms": now - 2 * MIN, "kind": "viewers", "value": 10},
            {"channel_id": other, "at_ms": now - 2 * MIN, "kind": "viewers", "value": 5},
            {"channel_id": own, "at_ms": now - 100, "kind": "viewers", "value": 42},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, l) = get(&w, &w.operator, "/api/v1/feedback/live?minutes=5").await;
    assert_eq!(s, StatusCode::OK, "{l}");
    let c = &l["curve"];
    let total = c["total"].as_array().expect("total");
    assert_eq!(total.len(), 5);
    assert_eq!(total.last(), Some(&json!(47)), "{c}");
    assert_eq!(
        c["platforms"]["bilibili"].as_array().and_then(|v| v.last()),
        Some(&json!(42))
    );
    let (_, pl) = get(&w, &w.partner, "/api/v1/feedback/live?minutes=5").await;
    assert_eq!(
        pl["curve"]["total"].as_array().and_then(|v| v.last()),
        Some(&json!(42))
    );
    assert!(pl["curve"]["platforms"].get("douyin").is_none(), "{pl}");
    // The answers are shared between readers; a new figure reaches every one of them at
    // once, the partner's and the operator's alike.
    let (s, _) = post(
        &w,
        &w.operator,
        "/api/v1/feedback/figures",
        json!({"figures": [
            {"channel_id": own, "at_ms": now - 50, "kind": "viewers", "value": 44},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for (token, total) in [(&w.partner, 44), (&w.operator, 49)] {
        let (_, l) = get(&w, token, "/api/v1/feedback/live?minutes=5").await;
        assert_eq!(
            l["curve"]["total"].as_array().and_then(|v| v.last()),
            Some(&json!(total)),
            "{l}"
        );
    }
    // A late figure for a minute already shown is counted too.
    let (s, _) = post(
        &w,
        &w.operator,
        "/api/v1/feedback/figures",
        json!({"figures": [
            {"channel_id": own, "at_ms": now - 3 * MIN, "kind": "comments", "value": 7,
             "cumulative": false},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, l) = get(&w, &w.operator, "/api/v1/feedback/live?minutes=5").await;
    let interactions: i64 = l["curve"]["interactions"]
        .as_array()
        .expect("interactions")
        .iter()
        .filter_map(Value::as_i64)
        .sum();
    assert_eq!(interactions, 7, "{l}");
}

/// Records one completed airing of `work` (unit `unit`) over `[start, end)`.
async fn aired(w: &World, key: &str, work: i64, unit: i64, start: i64, end: i64) {
    w.asrun
        .record_start(&NewAiring {
            key: key.into(),
            info: ItemInfo {
                item_id: key.into(),
                work_id: Some(work),
                unit_id: Some(unit),
                title: if work == w.works[0] {
                    "作品0"
                } else {
                    "作品1"
                }
                .into(),
                source: "file.mp4".into(),
                planned_start_ms: Some(start),
                rundown_day: None,
                rundown_version: None,
                gain_mdb: None,
            },
            first_frame_ms: start,
        })
        .await
        .expect("start");
    w.asrun
        .record_end(key, end, (end - start) / 40, "completed")
        .await
        .expect("end");
}

#[tokio::test]
async fn a_works_page_gives_its_airings_curves_and_totals_and_partners_only_their_own() {
    let w = world().await;
    let (own, other) = two_channels(&w).await;
    // 作品0 aired twice (12:00–12:10 and 12:10–12:20), 作品1 once (12:20–12:30).
    aired(&w, "a", w.works[0], w.units[0], T, T + 10 * MIN).await;
    aired(&w, "b", w.works[0], w.units[0], T + 10 * MIN, T + 20 * MIN).await;
    aired(&w, "c", w.works[1], w.units[1], T + 20 * MIN, T + 30 * MIN).await;
    known_figures(&w, own, other).await;
    let path = format!("/api/v1/works/{}/feedback", w.works[0]);
    let (s, f) = get(&w, &w.operator, &path).await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["work"]["title"], "作品0");
    assert_eq!(f["work"]["unit"], "中国科学院深海科学与工程研究所");
    let a = f["airings"].as_array().expect("airings");
    assert_eq!(a.len(), 2, "{f}");
    // The same numbers as the period's attribution: 140 then 360 (peak 360, average 250),
    // likes 600 + shares 20; then 280 then 120 (peak 280, average 200), likes 100 + shares 20.
    let got = |i: usize, k: &str| a[i]["audience"][k].as_i64();
    assert_eq!(
        (
            got(0, "peak_viewers"),
            got(0, "avg_viewers"),
            got(0, "interactions")
        ),
        (Some(360), Some(250), Some(620))
    );
    assert_eq!(
        (
            got(1, "peak_viewers"),
            got(1, "avg_viewers"),
            got(1, "interactions")
        ),
        (Some(280), Some(200), Some(120))
    );
    assert_eq!(a[0]["audience"]["counts"]["likes"], 600);
    assert_eq!(a[0]["by_platform"]["bilibili"]["peak_viewers"], 300);
    assert_eq!(a[0]["by_platform"]["douyin"]["peak_viewers"], 60);
    assert_eq!(
        (a[0]["start_ms"].as_i64(), a[0]["end_ms"].as_i64()),
        (Some(T), Some(T + 10 * MIN))
    );
    assert_eq!(a[0]["on_air"], false);
    // The curve: 10 minutes either side of the airing, per minute, per platform.
    let c = &a[0]["curve"];
    let minutes = c["minutes"].as_array().expect("minutes");
    assert_eq!(minutes.len(), 31, "11:50 … 12:20");
    assert_eq!(minutes[0].as_i64(), Some(T - 10 * MIN));
    assert_eq!(c["total"][5], 0, "nothing known before 12:00");
    assert_eq!(c["total"][10], 140);
    assert_eq!(c["total"][15], 360);
    assert_eq!(c["platforms"]["douyin"][15], 60);
    assert_eq!(c["interactions"][20], 600, "likes 1000 → 1600 by 12:10");
    // Totals over both airings.
    let t = &f["totals"];
    assert_eq!(
        (
            t["airings"].as_i64(),
            t["aired_ms"].as_i64(),
            t["peak_viewers"].as_i64(),
            t["avg_viewers"].as_i64(),
            t["interactions"].as_i64()
        ),
        (Some(2), Some(20 * MIN), Some(360), Some(225), Some(740))
    );

    // The partner (unit 0): its own work, counted on its own channel only.
    let (s, pf) = get(&w, &w.partner, &path).await;
    assert_eq!(s, StatusCode::OK, "{pf}");
    assert_eq!(pf["airings"][0]["audience"]["peak_viewers"], 300);
    assert_eq!(pf["airings"][0]["audience"]["interactions"], 600);
    assert_eq!(pf["channels"], 1);
    assert!(!pf.to_string().contains("douyin"), "{pf}");
    // … and not another unit's work: 403 in Chinese.
    let e = refused(
        &w,
        &w.partner,
        &format!("/api/v1/works/{}/feedback", w.works[1]),
        StatusCode::FORBIDDEN,
    )
    .await;
    let msg = e["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("其他单位"), "{e}");
    assert!(!e.to_string().contains("作品1"), "nothing of it shown: {e}");
    // The operator sees that one too; an unknown work is 404, no login 401.
    let (s, f1) = get(
        &w,
        &w.operator,
        &format!("/api/v1/works/{}/feedback", w.works[1]),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(f1["totals"]["airings"], 1);
    refused(
        &w,
        &w.operator,
        "/api/v1/works/999999/feedback",
        StatusCode::NOT_FOUND,
    )
    .await;
    let (s, _) = json(&w.app, "GET", &path, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Posts `body` to the webhook of `platform` with `token` and extra headers.
async fn push(
    w: &World,
    platform: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Value) {
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/api/v1/feedback/hook/{platform}?token={token}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = tower::ServiceExt::oneshot(
        w.app.clone(),
        req.body(axum::body::Body::from(body.to_string()))
            .expect("req"),
    )
    .await
    .expect("infallible");
    let s = resp.status();
    let b = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_webhook_takes_bilibili_and_douyin_pushes_in_their_own_shapes() {
    let w = world().await;
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for platform in ["bilibili", "douyin"] {
        let (s, c) = channel(
            &w,
            &w.partner,
            json!({"platform": platform, "account_name": format!("深海所{platform}")}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        tokens.push(c["token"].as_str().expect("token").to_string());
        ids.push(c["channel"]["id"].as_i64().expect("id"));
    }
    let secs = T / 1000;
    // Bilibili open platform (互动玩法) messages as a bridge forwards them: a danmaku, a like
    // of 3, a gift (not stored), an entry.
    let bili = format!(
        r#"[{{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{{"room_id":1,"uid":0,"open_id":"o1","uname":"甲","msg":"太酷了","msg_id":"dm-1","timestamp":{secs},"dm_type":0}}}},
            {{"cmd":"LIVE_OPEN_PLATFORM_LIKE","data":{{"uname":"乙","uid":0,"open_id":"o2","timestamp":{secs},"room_id":1,"like_text":"为主播点赞了","like_count":3,"msg_id":"like-1"}}}},
            {{"cmd":"LIVE_OPEN_PLATFORM_SEND_GIFT","data":{{"room_id":1,"open_id":"o3","gift_id":1,"gift_name":"辣条","gift_num":1,"price":100,"paid":true,"timestamp":{secs},"msg_id":"gift-1"}}}},
            {{"cmd":"LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER","data":{{"room_id":1,"open_id":"o4","uname":"丁","timestamp":{secs}}}}}]"#
    );
    let (s, r) = push(&w, "bilibili", &tokens[0], &[], &bili).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["counted"].as_i64(), r["duplicates"].as_i64()),
        (Some(3), Some(0)),
        "{r}"
    );
    assert_eq!(r["ignored"]["LIVE_OPEN_PLATFORM_SEND_GIFT"], 1);
    // Delivered again with one new like in the same second: only the new like counts, and it
    // adds to the same instant (3 + 2).
    let again = bili.replace(
        r#"{"cmd":"LIVE_OPEN_PLATFORM_SEND_GIFT""#,
        &format!(
            r#"{{"cmd":"LIVE_OPEN_PLATFORM_LIKE","data":{{"open_id":"o5","timestamp":{secs},"like_count":2,"msg_id":"like-2"}}}},{{"cmd":"LIVE_OPEN_PLATFORM_SEND_GIFT""#
        ),
    );
    let (s, r) = push(&w, "bilibili", &tokens[0], &[], &again).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["counted"].as_i64(), r["duplicates"].as_i64()),
        (Some(1), Some(3)),
        "{r}"
    );
    // Douyin's live data push: an array, the type in x-msg-type; like_num as a string.
    let likes = format!(
        r#"[{{"msg_id":"dy-1","sec_openid":"s1","like_num":"15","avatar_url":"","nickname":"甲","timestamp":{secs}}},
            {{"msg_id":"dy-2","sec_openid":"s2","like_num":5,"avatar_url":"","nickname":"乙","timestamp":{}}}]"#,
        secs + 1
    );
    let (s, r) = push(
        &w,
        "douyin",
        &tokens[1],
        &[("x-msg-type", "live_like")],
        &likes,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["counted"], 2);
    let comments = format!(
        r#"[{{"msg_id":"dy-c1","sec_openid":"s1","content":"学到了","avatar_url":"","nickname":"甲","timestamp":{secs}}}]"#
    );
    let (s, r) = push(
        &w,
        "douyin",
        &tokens[1],
        &[("x-msg-type", "live_comment")],
        &comments,
    )
    .await;
    assert_eq!((s, r["counted"].as_i64()), (StatusCode::OK, Some(1)), "{r}");
    let (_, r) = push(
        &w,
        "douyin",
        &tokens[1],
        &[("x-msg-type", "live_comment")],
        &comments,
    )
    .await;
    assert_eq!(
        r["duplicates"], 1,
        "Douyin's duplicate delivery counts once"
    );

    // What is stored: increments of source webhook at the messages' instants.
    let (s, figs) = get(
        &w,
        &w.partner,
        &format!(
            "/api/v1/feedback/figures?from_ms={}&to_ms={}",
            T - 1000,
            T + 5000
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let sum = |channel: i64, kind: &str| -> i64 {
        figs.as_array()
            .expect("figures")
            .iter()
            .filter(|f| f["channel_id"] == channel && f["kind"] == kind)
            .map(|f| f["value"].as_i64().unwrap_or(0))
            .sum()
    };
    assert_eq!(sum(ids[0], "likes"), 5);
    assert_eq!(sum(ids[0], "comments"), 1);
    assert_eq!(sum(ids[0], "views"), 1);
    assert_eq!(sum(ids[1], "likes"), 20);
    assert_eq!(sum(ids[1], "comments"), 1);
    assert!(
        figs.as_array()
            .expect("figures")
            .iter()
            .all(|f| f["source"] == "webhook" && f["cumulative"] == 0),
        "{figs}"
    );

    // Malformed native payloads are refused naming the field; nothing is written.
    let before = figures_stored(&w).await;
    let bad = format!(
        r#"[{{"cmd":"LIVE_OPEN_PLATFORM_DM","data":{{"msg_id":"dm-9","timestamp":{secs}}}}},
            {{"cmd":"LIVE_OPEN_PLATFORM_LIKE","data":{{"msg_id":"like-9","timestamp":{secs},"like_count":"很多"}}}}]"#
    );
    let (s, e) = push(&w, "bilibili", &tokens[0], &[], &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["field"], "[1].data.like_count");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("很多"),
        "{e}"
    );
    let (s, e) = push(&w, "douyin", &tokens[1], &[], &likes).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["field"], "x-msg-type");
    let (s, e) = push(
        &w,
        "douyin",
        &tokens[1],
        &[("x-msg-type", "live_like")],
        r#"[{"sec_openid":"s1","like_num":1,"timestamp":1788235200}]"#,
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("[0].msg_id"))
    );
    // Our own shape still wins when the body says figures (a bad one is refused as ours).
    let (s, e) = push(
        &w,
        "bilibili",
        &tokens[0],
        &[],
        r#"{"figures": [{"at_ms": 1}]}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(figures_stored(&w).await, before);
}
