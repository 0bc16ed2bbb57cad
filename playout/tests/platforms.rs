//! Platform behaviours beyond plain RTMP: RTMPS (nginx's stream module terminating TLS in
//! front of nginx-rtmp, with a certificate from a private CA) and a platform that refuses
//! the stream key (nginx-rtmp's `on_publish` answered 403 by a small HTTP endpoint). A
//! refused destination retries on its own and never disturbs the others.

mod common;

use common::*;
use playout::{DestinationConfig, Event};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::clips::Clip;
use testkit::{palette, ports};

/// nginx with RTMP on one port, TLS on another, and an `on_publish` check.
struct Platform {
    child: Child,
    dir: tempfile::TempDir,
    rtmp: u16,
    tls: u16,
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Platform {
    fn start(auth_port: u16) -> Platform {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("rec")).expect("rec dir");
        // A private CA and a server certificate it signs, as a platform with its own
        // PKI would have.
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .expect("ext");
        let openssl = |args: &[&str]| {
            let st = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl runs");
            assert!(st.success(), "openssl {args:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=kepu test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ]);
        let rtmp = ports::free_tcp_port().expect("port");
        let tls = ports::free_tcp_port().expect("port");
        let conf = format!(
            "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n\
             load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n\
             user root; master_process off; daemon off;\n\
             pid {d}/nginx.pid; error_log {d}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             stream {{ server {{ listen 127.0.0.1:{tls} ssl; ssl_certificate {d}/cert.pem;\n\
               ssl_certificate_key {d}/key.pem; proxy_pass 127.0.0.1:{rtmp}; }} }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{rtmp}; application live {{ live on;\n\
               record all; record_path {d}/rec; record_unique off;\n\
               on_publish http://127.0.0.1:{auth_port}/publish; }} }} }}\n",
            d = d.display()
        );
        std::fs::write(d.join("nginx.conf"), conf).expect("conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let p = Platform {
            child,
            dir,
            rtmp,
            tls,
        };
        for _ in 0..200 {
            if ports::tcp_listening(rtmp) && ports::tcp_listening(tls) {
                return p;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "nginx did not listen: {}",
            std::fs::read_to_string(p.dir.path().join("error.log")).unwrap_or_default()
        );
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn recording(&self, key: &str) -> PathBuf {
        self.dir.path().join("rec").join(format!("{key}.flv"))
    }
}

/// Answers nginx-rtmp's on_publish: 200 for keys starting with "good", 403 otherwise.
fn auth_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = vec![0u8; 8192];
            let mut req = Vec::new();
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&req).contains("name=") {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&req);
            let ok = text.contains("name=good");
            let status = if ok { "200 OK" } else { "403 Forbidden" };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    port
}

fn programme(dir: &Path, first: u64) -> Vec<playout::Cue> {
    let p = clip(Clip::new(palette::GREEN, 800.0).frames(150), dir);
    vec![cue("green", &p, 150).at(first)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmps_push_through_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = Platform::start(auth_server());
    let mut d = DestinationConfig::new(
        "secure",
        format!("rtmps://localhost:{}/live/good-tls", platform.tls),
    );
    d.tls_ca = Some(platform.ca());
    let mut run = start(vec![d], 0);
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine.cue(programme(dir.path(), first)).expect("cued");
    let up = run
        .until(Duration::from_secs(10), |e| {
            matches!(e, Event::DestinationUp { .. })
        })
        .await;
    assert!(up.is_some(), "RTMPS destination up: {:?}", run.seen);
    run.until(Duration::from_secs(6), |_| false).await;
    run.engine.stop().await;
    std::thread::sleep(Duration::from_millis(500));
    let p = assert_continuous("rtmps", &platform.recording("good-tls"));
    assert!(p.duration() >= Duration::from_secs(5), "{:?}", p.duration());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused() {
    let platform = Platform::start(auth_server());
    let d = DestinationConfig::new(
        "secure",
        format!("rtmps://localhost:{}/live/good-x", platform.tls),
    );
    let mut run = start(vec![d], 0);
    let down = run
        .until(Duration::from_secs(10), |e| {
            matches!(e, Event::DestinationDown { .. })
        })
        .await;
    assert!(down.is_some());
    let reason = run.seen.iter().find_map(|(_, e)| match e {
        Event::DestinationDown { reason, kind, .. } => Some((reason.clone(), *kind)),
        _ => None,
    });
    assert!(
        reason.as_ref().is_some_and(|(r, kind)| {
            (r.contains("TLS") || r.contains("certificate"))
                && *kind == playout::output::FailureKind::Tls
        }),
        "{reason:?}"
    );
    run.engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_stream_key_retries_alone_and_never_disturbs_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = Platform::start(auth_server());
    let bad_key = "bad-key-0123456789";
    let mut run = start(
        vec![
            DestinationConfig::new(
                "good",
                format!("rtmp://127.0.0.1:{}/live/good-one", platform.rtmp),
            ),
            DestinationConfig::new(
                "refused",
                format!("rtmp://127.0.0.1:{}/live/{bad_key}", platform.rtmp),
            ),
        ],
        0,
    );
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine.cue(programme(dir.path(), first)).expect("cued");
    run.until(Duration::from_secs(7), |_| false).await;
    let st = run.engine.status().await.expect("status");
    run.engine.stop().await;
    std::thread::sleep(Duration::from_millis(500));

    let downs: Vec<String> = run
        .seen
        .iter()
        .filter_map(|(_, e)| match e {
            Event::DestinationDown { name, reason, .. } if name == "refused" => {
                Some(reason.clone())
            }
            _ => None,
        })
        .collect();
    assert!(
        downs.len() >= 2,
        "the refused destination keeps retrying: {downs:?}"
    );
    assert!(
        downs.iter().all(|r| !r.contains(bad_key)),
        "key masked: {downs:?}"
    );
    let refused = st
        .destinations
        .iter()
        .find(|d| d.name == "refused")
        .expect("status");
    assert_ne!(refused.state, playout::DestinationState::Live);
    // nginx-rtmp refuses a key by dropping the connection at publish: a refusal, not a
    // network fault, for the operator.
    assert_eq!(
        refused.last_error_kind,
        Some(playout::output::FailureKind::Refused),
        "{refused:?}"
    );
    assert!(
        refused.failures.len() == 1
            && refused
                .failures
                .get(&playout::output::FailureKind::Refused)
                .is_some_and(|&n| n >= 2),
        "every retry was refused: {refused:?}"
    );
    assert!(
        !refused.url.contains(bad_key)
            && refused
                .last_error
                .as_deref()
                .is_some_and(|e| !e.contains(bad_key))
    );
    let good = st
        .destinations
        .iter()
        .find(|d| d.name == "good")
        .expect("status");
    assert_eq!((good.reconnects, good.dropped_packets), (0, 0), "{good:?}");
    assert_eq!(st.frames_dropped, 0);
    let p = assert_continuous("good", &platform.recording("good-one"));
    assert!(p.duration() >= Duration::from_secs(5), "{:?}", p.duration());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srt_with_passphrase_and_streamid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut srt = testkit::SrtListener::builder()
        .passphrase("kepu-secret-passphrase")
        .pbkeylen(16)
        .streamid("publish/live/science")
        .start()
        .expect("srt listener");
    let url = srt.caller_url();
    let mut run = start(vec![DestinationConfig::new("srt", url.clone())], 0);
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine.cue(programme(dir.path(), first)).expect("cued");
    let up = run
        .until(Duration::from_secs(10), |e| {
            matches!(e, Event::DestinationUp { .. })
        })
        .await;
    assert!(up.is_some(), "{:?}", run.seen);
    run.until(Duration::from_secs(4), |_| false).await;
    let st = run.engine.status().await.expect("status");
    run.engine.stop().await;
    srt.wait_disconnected(Duration::from_secs(10))
        .expect("done");
    srt.stop().expect("stop");
    assert!(
        !st.destinations[0].url.contains("kepu-secret-passphrase"),
        "{}",
        st.destinations[0].url
    );
    let p = assert_continuous("srt", &srt.recording_path().expect("rec"));
    assert!(p.duration() >= Duration::from_secs(3), "{:?}", p.duration());
}
