//! The installed binary needs no checkout: a copy of it alone in an empty directory, run
//! from there, imports a collection form, builds the month and serves under the built-in
//! edition; the channel config's relative paths (the database) resolve beside the config
//! file, not where the command runs. `edition new 2027 --from 2026` writes a file that
//! `edition check` accepts, with the 2027 window.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary copied into `dir`.
fn installed(dir: &Path) -> PathBuf {
    let to = dir.join("kepu-playout");
    std::fs::copy(env!("CARGO_BIN_EXE_kepu-playout"), &to).expect("copy the binary");
    to
}

/// Runs the copy in `cwd` with no `KEPU_*` from the test's environment.
fn run(bin: &Path, cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args).current_dir(cwd);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("KEPU_")) {
        cmd.env_remove(k);
    }
    cmd.output().expect("runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const FORM: &str = "报送单位,作品名称,视频类别,时长,版权方,报送视频状态,报送日期,视频文件\n\
重庆市科学技术协会,走进重庆科技馆,科普场馆、科普教育基地探访视频,00:45:00,重庆科技馆,成品视频,2026-07-08,/nonexistent/cq.mp4\n\
重庆市科学技术协会,月球车的一天,科普场馆、科普教育基地探访视频,00:30:00,重庆科技馆,成品视频,2026-10-08,\n\
重庆市科学技术协会,闭幕式集锦,科普场馆、科普教育基地探访视频,00:10:00,重庆科技馆,成品视频,2026-09-30,/nonexistent/close.mp4\n";

#[test]
fn a_copy_of_the_binary_alone_imports_builds_and_serves() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path();
    let bin = installed(home);
    std::fs::write(home.join("form.csv"), FORM).expect("form");

    // Import under the built-in edition, with the per-work reasons.
    let o = run(&bin, home, &["catalog", "import", "form.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("新增 3"), "{out}");
    assert!(
        out.contains("《月球车的一天》")
            && out.contains("报送日期 2026-10-08")
            && out.contains("晚于播出窗口最后一天 2026-09-30")
            && out.contains("未附视频文件"),
        "{out}"
    );
    assert!(
        out.contains("《闭幕式集锦》：报送日期 2026-09-30 已逾期，最早 2026-10-01 起可播（报送次日），已过播出窗口最后一天 2026-09-30"),
        "{out}"
    );

    // Build the month; every work says why it cannot air, in the text and in --json.
    let o = run(
        &bin,
        home,
        &["rundown", "build", "--now", "2026-08-01T00:00:00Z"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("已编排 30 天"), "{out}");
    assert!(
        out.contains("《走进重庆科技馆》：视频文件尚未技术检测"),
        "{out}"
    );
    assert!(out.contains("《月球车的一天》：未提交视频文件"), "{out}");
    assert!(out.contains("逾期报送：最早 2026-10-09 起可播"), "{out}");
    let o = run(
        &bin,
        home,
        &[
            "rundown",
            "build",
            "--json",
            "--now",
            "2026-08-01T00:00:00Z",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let excluded = v["report"]["excluded"].as_array().expect("excluded");
    assert_eq!(excluded.len(), 3, "{v}");
    assert!(
        excluded
            .iter()
            .all(|e| e["reason"].as_str().is_some_and(|r| !r.is_empty())),
        "{v}"
    );

    // Serve with a config in its own directory: the database lands beside it.
    let conf_dir = home.join("conf");
    std::fs::create_dir(&conf_dir).expect("conf dir");
    let rx = testkit::NginxRtmp::start().expect("nginx");
    let port = testkit::ports::free_tcp_port().expect("port");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    std::fs::write(
        conf_dir.join("channel.toml"),
        format!(
            "[output]\nwidth = 320\nheight = 180\nfps = 25\nvideo_kbps = 400\npreset = \"ultrafast\"\n\n\
             [[destination]]\nname = \"rx\"\nurl = \"{}\"\n\n\
             [server]\nlisten = \"{addr}\"\ndatabase = \"channel.db\"\npreview = false\n",
            rx.url()
        ),
    )
    .expect("config");
    let mut serve = Command::new(&bin)
        .args(["serve", "--config", "conf/channel.toml"])
        .current_dir(home)
        .env_remove("KEPU_DATABASE_URL")
        .env_remove("KEPU_LISTEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(st)) = serve.try_wait() {
            panic!("serve exited early: {st}");
        }
        if testkit::http::request(addr, "GET", "/metrics", None, None)
            .is_ok_and(|r| r.status == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "serve did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        conf_dir.join("channel.db").is_file(),
        "the database resolves beside the config"
    );
    assert!(!home.join("channel.db").exists());
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let st = loop {
        if let Ok(Some(st)) = serve.try_wait() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = serve.kill();
            panic!("serve did not stop");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(st.success(), "serve stopped in order: {st}");
}

#[test]
fn next_years_edition_is_written_and_passes_its_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path();
    let bin = installed(home);
    let o = run(&bin, home, &["edition", "new", "2027", "--from", "2026"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2026-09-19 → 2027-09-18（9 月第三个星期六，全国科普日）"),
        "{}",
        text(&o)
    );
    let o = run(&bin, home, &["edition", "check", "2027.toml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("播出窗口 2027-09-01 至 2027-09-30"),
        "{}",
        text(&o)
    );
    let o = run(&bin, home, &["edition", "check", "--json", "2027.toml"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["ok"], true, "{v}");
    // Written again: refused, the reviewed file is not overwritten.
    let o = run(&bin, home, &["edition", "new", "2027", "--from", "2026"]);
    assert!(!o.status.success());
    // A broken edition is refused with file:line.
    let text27 = std::fs::read_to_string(home.join("2027.toml")).expect("read");
    let bad = text27.replace("window_end = 2027-09-30", "window_end = 2027-08-30");
    std::fs::write(home.join("bad.toml"), &bad).expect("write");
    let line = bad
        .lines()
        .position(|l| l.starts_with("window_end"))
        .expect("line")
        + 1;
    let o = run(&bin, home, &["edition", "check", "bad.toml"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains(&format!("bad.toml:{line}: edition.window_end")),
        "{}",
        text(&o)
    );
}
