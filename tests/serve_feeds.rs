//! A partner's feed through the whole daemon: a slow-live feed registered as `ingest://FEED`,
//! a stream key issued through the API (shown once), ffmpeg publishing into `serve`'s RTMP
//! ingest, the feed's window on the rundown — and what operators see: `/api/v1/feeds` with the
//! feed live, its still picture (the publisher's colour, judged by ffmpeg), locators masked,
//! partners refused; the window on air at a real nginx-rtmp receiver, recorded, its as-run row
//! naming the recording (JSON and CSV) with the bytes the recordings list gives.

#[path = "browser_common/mod.rs"]
mod browser_common;
mod serve_common;

use std::time::{Duration, Instant};

use kepu_playout::rundown::{DayItem, ItemKind};
use serde_json::{Value, json};
use serve_common::rundown_common::t;
use serve_common::*;
use testkit::palette::{self, Colour};
use testkit::{FfmpegSender, NginxRtmp, probe};

/// Polls `GET /api/v1/feeds` until `ok` holds for the feed `id` (at most `within`).
fn wait_feed(
    d: &Daemon,
    token: &str,
    id: i64,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = d.get("/api/v1/feeds", token);
        assert_eq!(r.status, 200, "{}", r.body);
        let feed = r
            .json()
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == id).cloned())
            .unwrap_or(Value::Null);
        if ok(&feed) {
            return feed;
        }
        assert!(
            Instant::now() < deadline,
            "feed {id} never reached the state wanted: {feed}\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_ingest_feed_goes_on_air_and_operators_see_it_live_with_its_picture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let after = clip(dir.path(), palette::BLUE, 500.0, 250);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, vec![work("之后", &after, 250)]));
    let unit_id = world.works[0].unit_id;
    let t0 = t("2026-09-01T20:00:00+08:00");

    let mut rx = NginxRtmp::start().expect("nginx");
    let offset = offset_for(t0, Duration::from_secs(15));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    let ingest_port = testkit::ports::free_tcp_port().expect("port");
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!(
        "\n[ingest]\nlisten = \"127.0.0.1:{ingest_port}\"\n"
    ));
    // The window is recorded (回放).
    text.push_str("\n[recording]\ndir = \"recordings\"\nsegment = 20\n");
    std::fs::write(&cfg, text).expect("config");
    let mut d = Daemon::start(&cfg, addr, world.dir.path().join("serve.log"));
    let op = world.operator.clone();

    // The feed, registered as an ingest feed, and a camera that is not open (a secret in its
    // locator).
    let r = d.post(
        "/api/v1/rundown/feeds",
        &op,
        json!({"title": "望远镜直播", "url": "ingest://scope-1", "unit_id": unit_id,
               "window": {"kind": "daily", "start": "20:00", "end": "21:00"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let feed_id = r.json()["id"].as_i64().expect("feed id");
    let r = d.post(
        "/api/v1/rundown/feeds",
        &op,
        json!({"title": "湿地摄像头", "url": "rtsp://viewer:wetland-secret@192.0.2.1/stream1", "unit_id": unit_id,
               "window": {"kind": "daily", "start": "05:00", "end": "07:00"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!r.body.contains("wetland-secret"), "{}", r.body);
    let closed_id = r.json()["id"].as_i64().expect("feed id");

    // The window on the rundown: 60 s of the feed from t0, then a clip.
    let live = DayItem {
        kind: ItemKind::Live,
        work_id: None,
        feed_id: Some(feed_id),
        frames: 1500,
        title: "望远镜直播".into(),
        source: "ingest://scope-1".into(),
        ..item_of(&world.works[0])
    };
    let day = day_with(
        "2026-09-01".parse().expect("date"),
        t0,
        vec![live, item_of(&world.works[0])],
    );
    rt.block_on(world.save(&day));

    // A key for the partner, shown once; the list has only its hint.
    let r = d.post(
        "/api/v1/feeds/keys",
        &op,
        json!({"feed": "scope-1", "note": "天文台"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.json()["key"].as_str().expect("key").to_string();
    let listed = d.get("/api/v1/feeds/keys", &op);
    assert!(
        !listed.body.contains(&key),
        "the list shows the key: {}",
        listed.body
    );

    let mut publisher = FfmpegSender::start(
        palette::GREEN,
        120,
        "flv",
        &format!("rtmp://127.0.0.1:{ingest_port}/live/{key}"),
        &[],
    )
    .expect("ffmpeg publisher");

    // Pre-rolled before its window: live, with bit rate and a picture.
    let feed = wait_feed(&d, &op, feed_id, Duration::from_secs(30), |f| {
        f["status"]["state"]["state"] == "live"
            && f["status"]["last_frame_age_ms"]
                .as_u64()
                .is_some_and(|a| a < 1000)
            && f["status"]["bitrate"].as_u64().is_some_and(|b| b > 0)
    });
    assert_eq!(feed["url"], "ingest://scope-1");
    assert_eq!(feed["kind"], "ingest");
    let still_path = feed["still"].as_str().expect("still address").to_string();
    let still = d.get(&format!("{still_path}?w=160"), &op);
    assert_eq!(still.status, 200, "{}", still.body);
    assert_eq!(still.header("content-type"), Some("image/jpeg"));
    let jpg = world.dir.path().join("still.jpg");
    std::fs::write(&jpg, &still.bytes).expect("write still");
    let colours = probe::frame_colours(&jpg).expect("still decodes");
    assert_eq!(colours.len(), 1, "one picture");
    assert_eq!(
        probe::classify(colours[0].rgb, &palette::ALL),
        palette::ALL.iter().position(|c| *c == palette::GREEN),
        "the still shows the publisher's green: {:?}",
        colours[0].rgb
    );

    // The camera outside its window: listed, not open, no picture, its secret masked.
    let all = d.get("/api/v1/feeds", &op);
    assert!(!all.body.contains("wetland-secret"), "{}", all.body);
    let closed = wait_feed(&d, &op, closed_id, Duration::from_secs(1), |f| {
        f.is_object()
    });
    assert!(
        closed["status"].is_null() && closed["still"].is_null(),
        "{closed}"
    );
    let r = d.get(&format!("/api/v1/feeds/{closed_id}/still.jpg"), &op);
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("湿地摄像头"), "{}", r.body);
    // What the operator sees in the dashboard while the feed is live.
    if browser_common::browser_ready("feeds", &[]) {
        let out = browser_common::run_script(
            "feeds.mjs",
            &[
                ("KEPU_BASE_URL", format!("http://{addr}")),
                ("KEPU_OP_USER", "op".into()),
                ("KEPU_PARTNER_USER", "unit".into()),
                ("KEPU_PASSWORD", "correct horse battery".into()),
                ("KEPU_FEED_TITLE", "望远镜直播".into()),
                ("KEPU_CLOSED_TITLE", "湿地摄像头".into()),
                ("KEPU_BACKUP_PATH", after.display().to_string()),
                (
                    "KEPU_SHOTS_DIR",
                    browser_common::shots_dir("feeds").display().to_string(),
                ),
            ],
            &world.dir.path().join("browser.log"),
            Duration::from_secs(100),
            || d.log_text(),
        );
        assert!(out.contains("feeds browser test: ok"), "{out}");
        // The backup the page set is the feed's (and what the air plan reads).
        let closed = wait_feed(&d, &op, closed_id, Duration::from_secs(1), |f| {
            f.is_object()
        });
        assert_eq!(
            closed["backup"]["location"].as_str(),
            Some(after.display().to_string().as_str()),
            "{closed}"
        );
    }
    // Partners see neither feeds nor keys.
    assert_eq!(d.get("/api/v1/feeds", &world.partner).status, 403);
    assert_eq!(d.get(&still_path, &world.partner).status, 403);

    // The window on air, then the clip after it.
    sleep_until_programme(t0 + chrono::Duration::seconds(62), offset);
    // The window was recorded: listed complete, named by the feed and its start, about its
    // length (60 s in 20 s segments); registered as a 回放 work of the feed's unit.
    let deadline = Instant::now() + Duration::from_secs(15);
    let window = loop {
        let r = d.get("/api/v1/recordings", &op);
        assert_eq!(r.status, 200, "{}", r.body);
        let list: Value = r.json();
        if let Some(w) = list
            .as_array()
            .and_then(|l| l.iter().find(|w| w["complete"] == true))
        {
            break w.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no complete recording: {list}\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let name = window["name"].as_str().expect("name").to_string();
    assert!(
        name.starts_with(&format!("feed{feed_id}-20260901T")),
        "{window}"
    );
    assert_eq!(window["feed"], feed_id);
    let start = chrono::DateTime::parse_from_rfc3339(window["start"].as_str().expect("start"))
        .expect("start");
    let end =
        chrono::DateTime::parse_from_rfc3339(window["end"].as_str().expect("end")).expect("end");
    assert!(
        (start.with_timezone(&chrono::Utc) - t0)
            .num_milliseconds()
            .abs()
            < 2000,
        "{window}"
    );
    assert!(
        ((end - start).num_milliseconds() - 60_000).abs() < 2000,
        "{window}"
    );
    assert!(
        window["segments"].as_u64().is_some_and(|n| n >= 3),
        "{window}"
    );
    assert_eq!(d.get("/api/v1/recordings", &world.partner).status, 403);
    // The as-run row of the window names its recording, as the list has it (before the
    // registration adds the joined MP4 to the directory), in the JSON and the CSV.
    let deadline = Instant::now() + Duration::from_secs(15);
    let row = loop {
        let r = d.get("/api/v1/asrun", &op);
        assert_eq!(r.status, 200, "{}", r.body);
        let rows: Value = r.json();
        if let Some(a) = rows
            .as_array()
            .and_then(|l| l.iter().find(|a| a["recording"].is_object()))
        {
            break a.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no as-run row names the recording: {rows}\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(row["title"], "望远镜直播", "{row}");
    assert!(
        row["item_id"]
            .as_str()
            .is_some_and(|i| i.ends_with(&format!(":f{feed_id}"))),
        "{row}"
    );
    let bytes = row["recording"]["bytes"].as_u64().unwrap_or(0);
    assert!(bytes > 0, "{row}");
    assert_eq!(row["recording"]["name"], name.as_str(), "{row}");
    assert_eq!(row["recording"]["bytes"], window["size"], "{row} {window}");
    assert_eq!(row["recording"]["segments"], window["segments"], "{row}");
    let csv = d.get("/api/v1/asrun.csv", &op);
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.body.contains(&format!(
            "{name}（{} 段，{bytes} 字节）",
            window["segments"]
        )),
        "{}",
        csv.body
    );
    eprintln!(
        "as-run row of the window: {} — {} segments, {bytes} bytes",
        row["recording"]["name"], row["recording"]["segments"]
    );
    // The dashboard's 播出记录 page names it and links to its entry on the 直播源 page.
    if browser_common::browser_ready("asrun", &[]) {
        let out = browser_common::run_script(
            "asrun.mjs",
            &[
                ("KEPU_BASE_URL", format!("http://{addr}")),
                ("KEPU_OP_USER", "op".into()),
                ("KEPU_PASSWORD", "correct horse battery".into()),
                ("KEPU_DAY", "2026-09-01".into()),
                ("KEPU_FEED_TITLE", "望远镜直播".into()),
                ("KEPU_RECORDING", name.clone()),
                (
                    "KEPU_SHOTS_DIR",
                    browser_common::shots_dir("asrun").display().to_string(),
                ),
            ],
            &world.dir.path().join("browser-asrun.log"),
            Duration::from_secs(70),
            || d.log_text(),
        );
        assert!(out.contains("asrun browser test: ok"), "{out}");
    }
    let r = d.post(
        &format!("/api/v1/recordings/{name}/register"),
        &op,
        json!({"categories": [3]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let file = r.json()["file"].as_str().expect("file").to_string();
    let packets = probe::packets(std::path::Path::new(&file)).expect("the joined MP4 probes");
    let secs = packets.duration().as_secs_f64();
    eprintln!(
        "recorded window {name}: {secs:.3} s of 60 s, {} segments",
        window["segments"]
    );
    assert!(
        (secs - 60.0).abs() <= 1.0,
        "recorded {secs} s of a 60 s window"
    );
    let st = d.terminate();
    assert!(st.success(), "serve exit: {st:?}\n{}", d.log_text());
    publisher.stop().expect("stop publisher");
    rx.stop().expect("stop nginx");
    let rec = rx.recording_path().expect("recording");
    let frames = probe::frame_colours(&rec).expect("colours");
    let palette: [Colour; 2] = [palette::GREEN, palette::BLUE];
    let runs = probe::colour_runs(&frames, &palette);
    let text = probe::describe_colour_runs(&runs, &palette);
    let green = runs
        .iter()
        .filter(|r| r.colour == Some(0))
        .map(|r| r.frames)
        .max()
        .unwrap_or(0);
    // 60 s of window; the jitter buffer and the join may take a moment at its start.
    assert!(green >= 1400, "the feed on air for its window: {text}");
    let green_end = runs
        .iter()
        .rposition(|r| r.colour == Some(0))
        .expect("green");
    assert!(
        runs[green_end + 1..]
            .iter()
            .any(|r| r.colour == Some(1) && r.frames >= 25),
        "the clip follows the window: {text}"
    );
}
