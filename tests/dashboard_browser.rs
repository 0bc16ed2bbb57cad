//! The dashboard in a real browser against the real daemon on a real day: `kepu-playout
//! serve` plays a day to nginx-rtmp while `tests/browser/dashboard.mjs` drives Debian's
//! Chromium (playwright-core, never a downloaded browser) as the operator and as a partner.
//! The browser moves an item in today's editor (keyboard, preview, apply), sees the day and
//! the on-air "next" change, is refused a change without the CSRF header, kills the receiver
//! and acknowledges the alarm that appears live; the partner sees its own works only and no
//! edit control. Then this side checks what the receiver recorded: the moved order, frame by
//! frame. Screenshots of every page go to `target/artefacts/dashboard/`.
//!
//! Needs `/usr/bin/chromium` and `npm ci --prefix tests/browser` (`./run.sh test` does both);
//! without them the test says so and passes, except under `CI`, where it fails.

#[path = "browser_common/mod.rs"]
mod browser_common;

mod serve_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serve_common::rundown_common::t;
use serve_common::*;
use testkit::palette::{self, Colour};
use testkit::{NginxRtmp, probe};

const PASSWORD: &str = "correct horse battery";
const OTHER_TITLE: &str = "他山之石";

fn header<'a>(r: &'a testkit::http::Response, name: &str) -> &'a str {
    r.header(name).unwrap_or_default()
}

/// The page and its assets: types, caching, the security headers, public without login.
fn check_static(addr: std::net::SocketAddr) {
    let page = testkit::http::request(addr, "GET", "/", None, None).expect("GET /");
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "cache-control"), "no-cache");
    assert!(
        header(&page, "content-security-policy")
            .starts_with("default-src 'self'; media-src 'self' blob:; worker-src 'self' blob:"),
        "{:?}",
        page.headers
    );
    assert!(page.body.contains("/assets/js/main.js"));
    for (path, ctype, cache) in [
        (
            "/assets/js/main.js",
            "text/javascript; charset=utf-8",
            "no-cache",
        ),
        ("/assets/app.css", "text/css; charset=utf-8", "no-cache"),
        (
            "/assets/vendor/hls.min.js",
            "text/javascript; charset=utf-8",
            "public, max-age=86400",
        ),
    ] {
        let r = testkit::http::request(addr, "GET", path, None, None).expect("asset");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(header(&r, "content-type"), ctype, "{path}");
        assert_eq!(header(&r, "cache-control"), cache, "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
    }
    for path in [
        "/assets/nope.js",
        "/assets/../Cargo.toml",
        "/assets/index.html",
    ] {
        let r = testkit::http::request(addr, "GET", path, None, None).expect("asset");
        assert_eq!(r.status, 404, "{path}");
    }
    // The data behind the page needs a login.
    let r = testkit::http::request(addr, "GET", "/api/v1/air", None, None).expect("air");
    assert_eq!(r.status, 401);
    // 数据反馈: the public player and stream need none (the preview itself still does), and
    // the player may be embedded by other sites.
    let r = testkit::http::request(addr, "GET", "/watch", None, None).expect("watch");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(header(&r, "content-security-policy").contains("frame-ancestors *"));
    let r = testkit::http::request(addr, "GET", "/live/index.m3u8", None, None).expect("live");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("live.m3u8?s="), "{}", r.body);
    let r = testkit::http::request(addr, "GET", "/preview/live.m3u8", None, None).expect("prev");
    assert_eq!(r.status, 401);
}

#[test]
fn operator_and_partner_drive_the_dashboard_in_chromium_on_a_real_day() {
    if !browser_common::browser_ready("dashboard", &[]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // 甲 long enough for the browser to log in and edit while it is on air; 乙 丙 丁 short.
    let specs: [(&str, Colour, u32); 4] = [
        ("甲", palette::RED, 900),
        ("乙", palette::GREEN, 100),
        ("丙", palette::BLUE, 100),
        ("丁", palette::YELLOW, 100),
    ];
    let mut works: Vec<_> = specs
        .iter()
        .enumerate()
        .map(|(i, (n, c, f))| {
            let path = clip(dir.path(), *c, 400.0 + 300.0 * i as f64, *f);
            work(n, &path, u64::from(*f))
        })
        .collect();
    let other = clip(dir.path(), palette::MAGENTA, 1900.0, 100);
    works.push(kepu_playout::rundown::Work {
        unit: "另一科技馆".into(),
        copyright_holder: "另一科技馆".into(),
        ..work(OTHER_TITLE, &other, 100)
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new(dir, works));
    assert_ne!(world.works[0].unit_id, world.works[4].unit_id, "two units");
    let t0 = t("2026-09-03T20:00:00+08:00");
    let day = day_with(
        "2026-09-03".parse().expect("date"),
        t0,
        world.works.iter().map(item_of).collect(),
    );
    rt.block_on(world.save(&day));

    let mut rx = NginxRtmp::start().expect("nginx");
    let nginx_pid = std::fs::read_to_string(rx.dir().join("nginx.pid"))
        .expect("nginx pid file")
        .trim()
        .to_string();
    let offset = offset_for(t0, Duration::from_secs(14));
    let (cfg, addr) = write_config(&world, &rx.url(), offset);
    let mut d = Daemon::start(&cfg, addr, world.dir.path().join("serve.log"));
    check_static(addr);

    // The partner endpoint: own unit only.
    let own = d.get("/api/v1/partner/works", &world.partner);
    assert_eq!(own.status, 200, "{}", own.body);
    let own = own.json();
    let titles: Vec<&str> = own["works"]
        .as_array()
        .expect("works")
        .iter()
        .filter_map(|w| w["title"].as_str())
        .collect();
    assert_eq!(titles, ["甲", "乙", "丙", "丁"], "{own}");
    assert_eq!(
        own["works"][0]["upcoming"][0]["start"], "2026-09-03T12:00:00Z",
        "{own}"
    );
    let other_unit = world.works[4].unit_id;
    let r = d.get(
        &format!("/api/v1/partner/works?unit={other_unit}"),
        &world.partner,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        d.get("/api/v1/partner/works", &world.operator).status,
        400,
        "an operator names the unit"
    );
    let r = d.get(
        &format!("/api/v1/partner/works?unit={other_unit}"),
        &world.operator,
    );
    assert_eq!(r.json()["works"][0]["title"], OTHER_TITLE, "{}", r.body);

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artefacts/dashboard");
    std::fs::create_dir_all(&shots).expect("artefacts dir");
    let out_path = world.dir.path().join("browser.log");
    let out = std::fs::File::create(&out_path).expect("browser log");
    let mut node = Command::new("node")
        .arg(browser_common::browser_dir().join("dashboard.mjs"))
        .current_dir(browser_common::browser_dir())
        .env("KEPU_BASE_URL", format!("http://{addr}"))
        .env("KEPU_OP_USER", "op")
        .env("KEPU_PARTNER_USER", "unit")
        .env("KEPU_PASSWORD", PASSWORD)
        .env("KEPU_NGINX_PID", &nginx_pid)
        .env("KEPU_STREAM_KEY", rx.stream_key())
        .env("KEPU_DAY", "2026-09-03")
        .env("KEPU_OTHER_TITLE", OTHER_TITLE)
        .env("KEPU_SHOTS_DIR", &shots)
        .stdout(Stdio::from(out.try_clone().expect("log")))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("node starts");
    let deadline = Instant::now() + Duration::from_secs(110);
    let status = loop {
        if let Some(st) = node.try_wait().expect("node status") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            let _ = node.wait();
            panic!(
                "the browser script did not finish in time:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let browser_log = std::fs::read_to_string(&out_path).unwrap_or_default();
    println!("{browser_log}");
    assert!(
        status.success(),
        "browser script failed ({status}):\n{browser_log}\n--- daemon log ---\n{}",
        d.log_text()
    );
    assert!(browser_log.contains("dashboard browser test: ok"));

    // What the browser did is in the history (who and why) and the receiver's recording.
    let history = d.get("/api/v1/rundown/days/2026-09-03/edits", &world.operator);
    let edits = history.json()["edits"].clone();
    assert_eq!(edits.as_array().map(Vec::len), Some(1), "{edits}");
    assert_eq!(edits[0]["author"], "op");
    assert_eq!(edits[0]["reason"], "嘉宾临时调整顺序");
    let st = d.terminate();
    assert!(st.success(), "clean stop: {st}\n{}", d.log_text());
    // The browser stopped nginx (SIGTERM): its recording is closed.
    let rec = rx.recording_path().expect("recording");
    let _ = rx.stop();
    let colours = [
        palette::RED,
        palette::GREEN,
        palette::BLUE,
        palette::YELLOW,
        palette::MAGENTA,
    ];
    let frames = probe::frame_colours(&rec).expect("colours");
    let runs = probe::colour_runs(&frames, &colours);
    let text = probe::describe_colour_runs(&runs, &colours);
    eprintln!("recording: {text}");
    let start = runs
        .iter()
        .position(|r| r.colour == Some(0))
        .unwrap_or_else(|| panic!("no red in the recording: {text}"));
    let got: Vec<(Option<usize>, usize)> =
        runs[start..].iter().map(|r| (r.colour, r.frames)).collect();
    // 甲 whole, then 丙 (moved up) before 乙, each whole, then 丁 until the receiver died.
    assert_eq!(got.first(), Some(&(Some(0), 900)), "甲: {text}");
    assert_eq!(got.get(1), Some(&(Some(2), 100)), "丙 second: {text}");
    assert_eq!(got.get(2), Some(&(Some(1), 100)), "乙 third: {text}");
    assert_eq!(got.get(3).map(|r| r.0), Some(Some(3)), "丁 follows: {text}");
    for s in [
        "login",
        "onair",
        "editor-preview",
        "editor",
        "health-alarm",
        "partner",
    ] {
        let p = shots.join(format!("{s}.png"));
        assert!(p.exists(), "screenshot {}", p.display());
        println!("screenshot: {}", p.display());
    }
}
