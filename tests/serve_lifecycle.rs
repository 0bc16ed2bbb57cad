//! The daemon's life as systemd sees it: `READY=1` once it is on air and answering,
//! `STOPPING=1` at SIGTERM and a clean exit; a second signal during the stop exits at once;
//! a fresh directory needs nothing but the config (the embedded SQLite file is created).

mod serve_common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use serve_common::*;

fn messages(sock: &UnixDatagram, want: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).to_string();
            let done = m.contains(want);
            got.push(m);
            if done {
                break;
            }
        }
    }
    got
}

#[test]
fn systemd_hears_ready_and_stopping_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    // No rundown, no destinations: a fresh install with only the config.
    let port = testkit::ports::free_tcp_port().expect("port");
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let cfg = dir.path().join("channel.toml");
    std::fs::write(
        &cfg,
        format!(
            "[output]\nwidth = 320\nheight = 180\nvideo_kbps = 300\npreset = \"ultrafast\"\n\n\
             [server]\nlisten = \"{addr}\"\ndatabase = \"{}\"\n",
            dir.path().join("fresh.db").display()
        ),
    )
    .expect("config");
    let mut d = Daemon::start_with_env(
        &cfg,
        addr,
        dir.path().join("serve.log"),
        &[("NOTIFY_SOCKET", sock_path.to_str().expect("utf-8 path"))],
    );
    let got = messages(&sock, "READY=1", Duration::from_secs(20));
    assert!(
        got.iter().any(|m| m.contains("READY=1")),
        "{got:?}\n{}",
        d.log_text()
    );
    assert!(
        dir.path().join("fresh.db").is_file(),
        "the SQLite file was created"
    );
    let st = d.terminate();
    assert!(st.success(), "clean exit: {st}\n{}", d.log_text());
    let got = messages(&sock, "STOPPING=1", Duration::from_secs(2));
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "{got:?}");
    let log = d.log_text();
    assert!(
        log.contains("stopping (signal)") && log.contains("stopped"),
        "{log}"
    );
    assert!(
        log.contains("no accounts yet"),
        "a fresh install says how to add the first admin: {log}"
    );
}
