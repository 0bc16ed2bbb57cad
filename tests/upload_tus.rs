//! Resumable video uploads (tus 1.0) over a real socket, through the API guard, with the
//! CLI's uploader: a file sent in chunks, stopped half way, the daemon restarted (a new app
//! over the same database and directory), resumed from where it stood, hashed (SHA-256 as
//! computed here), attached and probed (a real ffmpeg clip, the verdict recorded); a PATCH
//! whose connection breaks keeps what arrived; a partner of another unit sees none of it;
//! an upload over the edition's 4 GB is refused before a byte is sent (by the client from
//! `Tus-Max-Size`, and by the server from `Upload-Length`).

mod catalog_common;

use kepu_playout::auth::{Accounts, NewUser, Role};
use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::model::{NewUnit, NewWork, ProductionStatus};
use kepu_playout::upload::client::{UploadJob, upload};
use kepu_playout::upload::{UploadOptions, Uploads};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Server {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

async fn start(cat: &Catalog, dir: &Path) -> Server {
    let uploads = Uploads::new(cat.clone(), UploadOptions::new(dir.to_path_buf())).expect("dir");
    let accounts = Accounts::new(cat.store().clone());
    let app = kepu_playout::web::upload::guarded_routes(uploads, accounts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { addr, task }
}

fn clip(dir: &Path) -> PathBuf {
    let out = dir.join("深海.mp4");
    let st = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=25:duration=2",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success());
    out
}

async fn partner(acc: &Accounts, name: &str, unit: i64) -> String {
    let u = acc
        .create_user(&NewUser {
            username: name.into(),
            role: Role::Partner,
            unit_id: Some(unit),
            password: "long-enough-password".into(),
        })
        .await
        .expect("user");
    acc.issue_token(u.id, "upload").await.expect("token").token
}

async fn work_of(cat: &Catalog, unit: &str, title: &str) -> (i64, i64) {
    let u = cat
        .create_unit(&NewUnit {
            name: unit.into(),
            ..Default::default()
        })
        .await
        .expect("unit");
    let w = cat
        .create_work(
            &NewWork {
                unit_id: u.id,
                title: title.into(),
                categories: vec![3],
                declared_duration_ms: Some(2000),
                copyright_holder: None,
                summary: None,
                production_status: ProductionStatus::Finished,
                due_date: None,
                ai_generated: false,
                has_subtitles: true,
                submitted_on: Some("2026-07-01".into()),
            },
            "test",
        )
        .await
        .expect("work");
    (u.id, w.id)
}

/// One raw HTTP/1.1 request; returns the status and the head's text.
async fn raw(
    addr: std::net::SocketAddr,
    head: &str,
    body: &[u8],
    close_after: Option<usize>,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("head");
    match close_after {
        Some(n) => {
            s.write_all(&body[..n]).await.expect("part");
            s.flush().await.expect("flush");
            // The connection breaks off mid-body.
            drop(s);
            return (0, String::new());
        }
        None => s.write_all(body).await.expect("body"),
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn req(method: &str, path: &str, token: &str, extra: &str, len: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer {token}\r\n{extra}Content-Length: {len}\r\n\r\n"
    )
}

fn offset_of(head: &str) -> Option<u64> {
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("upload-offset:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_after_restart_hashed_probed_and_kept_to_its_unit() {
    let (dir, cat) = catalog_common::fresh(2026).await;
    let updir = dir.path().join("uploads");
    let acc = Accounts::new(cat.store().clone());
    let (unit_a, work_a) = work_of(&cat, "中国科学院深海所", "深海勇士").await;
    let (unit_b, work_b) = work_of(&cat, "某市科技馆", "别家的作品").await;
    let token_a = partner(&acc, "unit-a", unit_a).await;
    let token_b = partner(&acc, "unit-b", unit_b).await;
    let video = clip(dir.path());
    let bytes = std::fs::read(&video).expect("clip");
    let want_sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let half = (bytes.len() / 2) as u64;

    // First run: chunks of 64 KiB, stopped half way (as a laptop closing).
    let server = start(&cat, &updir).await;
    let mut job = UploadJob {
        server: format!("http://{}", server.addr),
        token: Some(token_a.clone()),
        work: work_a,
        file: video.clone(),
        chunk_bytes: 64 << 10,
        retries: 3,
        stop_after: Some(half),
    };
    let first = upload(&job).await.expect("first half");
    assert_eq!(first.offset, half);
    assert!(first.record.is_none());
    let url = first.url.clone();

    // A PATCH whose connection breaks off keeps what arrived.
    let rest = &bytes[half as usize..];
    let sent = 100_000.min(rest.len() / 2);
    raw(
        server.addr,
        &req(
            "PATCH",
            &url,
            &token_a,
            &format!("Upload-Offset: {half}\r\nContent-Type: application/offset+octet-stream\r\n"),
            rest.len(),
        ),
        rest,
        Some(sent),
    )
    .await;
    // The server records the offset when it notices the broken body.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after_break = loop {
        let (status, head) = raw(server.addr, &req("HEAD", &url, &token_a, "", 0), &[], None).await;
        assert_eq!(status, 200, "{head}");
        let o = offset_of(&head).expect("Upload-Offset");
        if o > half || Instant::now() > deadline {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        after_break,
        half + sent as u64,
        "the bytes that arrived are kept"
    );

    // Another unit's partner: not found, whatever it tries.
    let (s, _) = raw(server.addr, &req("HEAD", &url, &token_b, "", 0), &[], None).await;
    assert_eq!(s, 404);
    let (s, _) = raw(
        server.addr,
        &req(
            "PATCH",
            &url,
            &token_b,
            &format!(
                "Upload-Offset: {after_break}\r\nContent-Type: application/offset+octet-stream\r\n"
            ),
            4,
        ),
        b"evil",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let meta = kepu_playout::upload::tus::encode_metadata(&[
        ("filename", "x.mp4"),
        ("work", &work_a.to_string()),
    ]);
    let (s, _) = raw(
        server.addr,
        &req(
            "POST",
            "/api/v1/uploads",
            &token_b,
            &format!("Upload-Length: 10\r\nUpload-Metadata: {meta}\r\n"),
            0,
        ),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 404, "a partner cannot upload to another unit's work");

    // The daemon restarts: a new app over the same database and directory.
    server.task.abort();
    let server = start(&cat, &updir).await;
    job.server = format!("http://{}", server.addr);
    job.stop_after = None;
    let done = upload(&job).await.expect("resumed to the end");
    assert_eq!(
        done.resumed_from, after_break,
        "resumed where it stood, not from 0"
    );
    assert_eq!(done.offset, bytes.len() as u64);
    let record = done.record.expect("record");
    assert_eq!(record["sha256"], want_sha.as_str(), "{record}");
    let file_id = record["file_id"].as_i64().expect("attached");

    // Probed automatically: the verdict lands on the work's file.
    let deadline = Instant::now() + Duration::from_secs(60);
    let f = loop {
        let f = cat.file(file_id).await.expect("file");
        if f.verdict.is_some() || Instant::now() > deadline {
            break f;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(f.work_id, work_a);
    assert!(f.verdict.is_some(), "probed within 60 s: {f:?}");
    assert_eq!(f.width, Some(1920));
    assert_eq!(f.size_bytes, Some(bytes.len() as i64));
    let _ = work_b;
    server.task.abort();
}

#[tokio::test]
async fn over_four_gigabytes_is_refused_before_sending() {
    let (dir, cat) = catalog_common::fresh(2026).await;
    let updir = dir.path().join("uploads");
    let acc = Accounts::new(cat.store().clone());
    let (unit, work) = work_of(&cat, "中国科学院深海所", "深海勇士").await;
    let token = partner(&acc, "unit-a", unit).await;
    let server = start(&cat, &updir).await;

    // The server, from Upload-Length alone.
    let meta = kepu_playout::upload::tus::encode_metadata(&[
        ("filename", "big.mp4"),
        ("work", &work.to_string()),
    ]);
    let (s, head) = raw(
        server.addr,
        &req(
            "POST",
            "/api/v1/uploads",
            &token,
            &format!("Upload-Length: 4294967297\r\nUpload-Metadata: {meta}\r\n"),
            0,
        ),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 413, "{head}");
    assert!(head.contains("4G"), "{head}");

    // The client, from Tus-Max-Size, before creating anything: a sparse 4 GiB + 1 file.
    let big = dir.path().join("big.mp4");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len((4u64 << 30) + 1))
        .expect("sparse file");
    let job = UploadJob {
        server: format!("http://{}", server.addr),
        token: Some(token),
        work,
        file: big,
        chunk_bytes: 1 << 20,
        retries: 0,
        stop_after: None,
    };
    let err = upload(&job).await.expect_err("refused").to_string();
    assert!(err.contains("超过本届单个视频文件上限"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&updir).expect("dir").collect();
    assert!(left.is_empty(), "nothing was created: {left:?}");
    server.task.abort();
}

#[tokio::test]
async fn a_file_is_replaced_before_the_deadline_not_after() {
    let (dir, cat) = catalog_common::fresh(2026).await;
    let (_, work) = work_of(&cat, "中国科学院深海所", "深海勇士").await;
    cat.attach_file(work, "/media/first.mp4")
        .await
        .expect("first file");
    let meta: std::collections::BTreeMap<String, String> = [
        ("work".to_string(), work.to_string()),
        ("filename".to_string(), "v2.mp4".to_string()),
    ]
    .into_iter()
    .collect();
    // 2026: finished videos are due 2026-07-12 (成品视频及线索（7月12日前报送）).
    fn before() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 7, 12).expect("date")
    }
    fn after() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 7, 13).expect("date")
    }
    let opts = |today: fn() -> chrono::NaiveDate| UploadOptions {
        today,
        ..UploadOptions::new(dir.path().join("uploads"))
    };
    let up = Uploads::new(cat.clone(), opts(before)).expect("dir");
    up.create(10, &meta, None, "test")
        .await
        .expect("replaced on the last day");
    let up = Uploads::new(cat.clone(), opts(after)).expect("dir");
    let err = up
        .create(10, &meta, None, "test")
        .await
        .expect_err("too late");
    assert_eq!(err.status(), 409);
    assert!(err.to_string().contains("2026-07-12"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_uploads_through_the_binary() {
    let (dir, cat) = catalog_common::fresh(2026).await;
    let acc = Accounts::new(cat.store().clone());
    let (unit, work) = work_of(&cat, "中国科学院深海所", "深海勇士").await;
    let token = partner(&acc, "unit-a", unit).await;
    let server = start(&cat, &dir.path().join("uploads")).await;
    let file = dir.path().join("片子.mp4");
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).expect("file");
    let edition = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules/editions/2026.toml");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
        .args(["catalog", "--edition", edition, "--json", "upload"])
        .arg(&file)
        .args(["--server", &format!("http://{}", server.addr)])
        .args(["--work", &work.to_string(), "--chunk-mib", "1"])
        .env("KEPU_TOKEN", &token)
        .output()
        .await
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let want: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v["offset"], 3_000_000);
    assert_eq!(v["record"]["sha256"], want.as_str(), "{v}");
    assert!(
        !kepu_playout::upload::client::state_path(&file).exists(),
        "the resume record is removed when done"
    );
    server.task.abort();
}
