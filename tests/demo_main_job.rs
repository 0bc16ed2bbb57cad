//! The demo is the product's main job in one command: `kepu-playout demo --for N` on an
//! empty directory makes the media and the GBK form, imports, probes, reviews, builds the
//! month, and goes on air with the dashboard under a rehearsal clock in September. Checked
//! against the real thing: the dashboard answers, the operator and the partner log in, the
//! item on air is a demo work, no fallback alarm is raised, the local receiver's recording
//! is continuous; the import and the build name why the late work and the work without a
//! file cannot air; the clips' Chinese titles are real glyphs (OCR); the HLS preview is
//! written; a second run reuses everything and Ctrl-C stops it in order.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kepu_playout::demo::{OPERATOR, PARTNER, WORKS};
use testkit::http;
use testkit::probe;

/// The demo's process with its output collected as it comes.
struct Demo {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Demo {
    fn start(dir: &Path, listen: SocketAddr, for_secs: u64) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
            .args(["demo", "--dir"])
            .arg(dir)
            .args(["--for", &for_secs.to_string()])
            .env("KEPU_LISTEN", listen.to_string())
            // A small output keeps real time beside other tests on a 2-core machine.
            .env("KEPU_OUTPUT_WIDTH", "640")
            .env("KEPU_OUTPUT_HEIGHT", "360")
            .env("KEPU_OUTPUT_PRESET", "ultrafast")
            .env("KEPU_LOG", "kepu_playout=info,playout=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("demo starts");
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut o = out.lock().expect("log");
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Demo { child, out }
    }

    fn log(&self) -> String {
        self.out.lock().expect("log").clone()
    }

    /// Waits until the output contains `what` (or the process ends, or the deadline).
    fn wait_for(&mut self, what: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.log().contains(what) {
            if let Ok(Some(st)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(300));
                assert!(
                    self.log().contains(what),
                    "demo ended ({st}) before “{what}”:\n{}",
                    self.log()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no “{what}” in time:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits (bounded) for the process to end; its exit status.
    fn wait_end(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(300));
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "demo did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Logs in; the session cookie (`kepu_session=…`).
fn login(addr: SocketAddr, (user, password): (&str, &str)) -> String {
    let r = http::json(
        addr,
        "POST",
        "/api/v1/session",
        None,
        &serde_json::json!({ "username": user, "password": password }),
    )
    .expect("login");
    assert_eq!(r.status, 200, "{user} logs in: {}", r.body);
    r.header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string()
}

fn get(addr: SocketAddr, path: &str, cookie: &str) -> serde_json::Value {
    let r = http::get_with_headers(addr, path, &[("Cookie", cookie)]).expect("GET");
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.json()
}

fn recordings(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("receiver/rec"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The title band of a demo clip read by tesseract (white text turned black on white).
fn ocr_title(clip: &Path) -> String {
    let png = clip.with_extension("title.png");
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-ss", "1", "-i"])
        .arg(clip)
        .args(["-frames:v", "1", "-vf"])
        .arg("crop=iw:ih*0.16:0:ih/3-ih*0.02,format=gray,lutyuv=y='if(gt(val,200),0,255)'")
        .arg(&png)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "title band of {}", clip.display());
    let out = Command::new("tesseract")
        .arg(&png)
        .args(["-", "-l", "chi_sim", "--psm", "6"])
        .output()
        .expect("tesseract runs");
    let _ = std::fs::remove_file(&png);
    String::from_utf8_lossy(&out.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn the_demo_runs_the_main_job_on_air_and_a_second_run_reuses_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo-out");
    let port = testkit::ports::free_tcp_port().expect("port");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let air_secs = 60;
    let mut demo = Demo::start(&dir, addr, air_secs);
    // Making the media and probing it is the slow part on a loaded machine.
    demo.wait_for("kepu-playout serving on", Duration::from_secs(900));
    let on_air_at = Instant::now();
    let log = demo.log();
    // The figure: how long the main job takes from an empty directory to on air.
    if let Some(l) = log.lines().find(|l| l.contains("准备用时")) {
        eprintln!("first run: {l}");
    }

    // The import and the build say why the two unfit works cannot air.
    assert!(
        log.contains("《月球车的一天》") && log.contains("晚于播出窗口最后一天 2026-09-30"),
        "late work named:\n{log}"
    );
    assert!(
        log.contains("《科普大篷车进乡村》") && log.contains("未附视频文件"),
        "work without file named:\n{log}"
    );
    assert!(
        log.contains("未提交视频文件"),
        "the build names the missing file:\n{log}"
    );
    assert!(log.contains(&format!("用户名 {}", OPERATOR.0)), "{log}");
    assert!(log.contains(&format!("用户名 {}", PARTNER.0)), "{log}");

    // The clips carry their Chinese titles in real glyphs (judged by OCR, not by us).
    for (file, words) in [
        ("lab-open-day.mp4", "国家重点实验"),
        ("deep-dive.mp4", "勇士号下潜记"),
    ] {
        let text = ocr_title(&dir.join("media").join(file));
        assert!(text.contains(words), "OCR of {file} read {text:?}");
    }

    // The dashboard answers; both demo logins work.
    let page = http::request(addr, "GET", "/", None, None).expect("dashboard");
    assert_eq!(page.status, 200, "dashboard: {}", page.status);
    let op = login(addr, OPERATOR);
    let partner = login(addr, PARTNER);
    let me = get(addr, "/api/v1/me", &partner);
    assert_eq!(me["role"], "partner", "{me}");

    // A demo work is on air (not the slate, not a fallback) within a few seconds.
    let titles: Vec<&str> = WORKS.iter().map(|w| w.title).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let on_air = loop {
        let air = get(addr, "/api/v1/air", &op);
        let on = &air["on_air"];
        if on["work_id"].is_i64() && on["fallback"] == false {
            break on.clone();
        }
        assert!(Instant::now() < deadline, "no demo work on air: {air}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let title = on_air["title"].as_str().expect("title");
    assert!(titles.contains(&title), "{title} is not a demo work");

    // The HLS preview the dashboard plays is written.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http::get_with_headers(addr, "/preview/live.m3u8", &[("Cookie", &op)])
            .expect("preview");
        if r.status == 200 && r.body.contains("#EXTINF") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no HLS preview: {} {}",
            r.status,
            r.body
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Near the end: no fallback alarm was ever raised.
    while on_air_at.elapsed() < Duration::from_secs(air_secs - 10) {
        std::thread::sleep(Duration::from_millis(500));
    }
    let alarms = get(addr, "/api/v1/alarms", &op);
    let fallbacks: Vec<&serde_json::Value> = alarms["alarms"]
        .as_array()
        .expect("alarms")
        .iter()
        .filter(|a| a["kind"] == "fallback")
        .collect();
    assert!(fallbacks.is_empty(), "fallback alarms: {fallbacks:?}");

    // `--for` stops it in order.
    let st = demo.wait_end(Duration::from_secs(60));
    assert!(st.success(), "demo exit {st}:\n{}", demo.log());
    assert!(demo.log().contains("stopped"), "{}", demo.log());

    // The receiver's recording is continuous and covers the air time.
    let recs = recordings(&dir);
    assert_eq!(recs.len(), 1, "one publish, no reconnect: {recs:?}");
    let pk = probe::packets(&recs[0]).expect("packets");
    assert!(
        pk.duration() >= Duration::from_secs(air_secs - 15),
        "recorded {:?}",
        pk.duration()
    );
    pk.assert_house_continuous("the demo's receiver");

    // A second run reuses the media, the catalog and the month.
    let media_before: Vec<_> = std::fs::read_dir(dir.join("media"))
        .expect("media")
        .flatten()
        .map(|e| (e.path(), e.metadata().and_then(|m| m.modified()).ok()))
        .collect();
    // … and Ctrl-C (SIGINT) stops it in order.
    let mut again = Demo::start(&dir, addr, 300);
    again.wait_for("kepu-playout serving on", Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill")
        .args(["-INT", &again.child.id().to_string()])
        .status();
    let st = again.wait_end(Duration::from_secs(60));
    assert!(st.success(), "second run {st}:\n{}", again.log());
    let log = again.log();
    if let Some(l) = log.lines().find(|l| l.contains("准备用时")) {
        eprintln!("second run: {l}");
    }
    assert!(
        log.contains("stopping (signal)") && log.contains("stopped"),
        "{log}"
    );
    assert!(
        log.contains("新增 0") && log.contains("未变 7"),
        "re-import unchanged:\n{log}"
    );
    assert!(log.contains("所有文件已检测"), "{log}");
    assert!(log.contains("沿用上次编排"), "{log}");
    let media_after: Vec<_> = std::fs::read_dir(dir.join("media"))
        .expect("media")
        .flatten()
        .map(|e| (e.path(), e.metadata().and_then(|m| m.modified()).ok()))
        .collect();
    assert_eq!(media_before, media_after, "media reused");
}
