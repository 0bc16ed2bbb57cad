//! An upload resumed after the real daemon restarts: `kepu-playout serve` takes half of a file
//! through `/api/v1/uploads` (the CLI's uploader, chunks of 256 KiB), is stopped with SIGTERM
//! and started again over the same database and upload directory, and the same upload goes
//! on from the offset the first process recorded; the stored file's SHA-256 is the file's.

mod serve_common;

use kepu_playout::auth::{Accounts, NewUser, Role};
use kepu_playout::catalog::Catalog;
use kepu_playout::catalog::model::{NewUnit, NewWork, ProductionStatus};
use kepu_playout::store::Store;
use kepu_playout::upload::client::{UploadJob, upload};
use serve_common::Daemon;
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_after_the_daemon_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("kepu.db");
    let store = Store::open(db.to_str().expect("utf-8"))
        .await
        .expect("store");
    let cat = Catalog::new(store.clone(), serve_common::edition());
    let unit = cat
        .create_unit(&NewUnit {
            name: "中国科学院深海所".into(),
            ..Default::default()
        })
        .await
        .expect("unit");
    let work = cat
        .create_work(
            &NewWork {
                unit_id: unit.id,
                title: "深海勇士".into(),
                categories: vec![3],
                declared_duration_ms: None,
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
    let accounts = Accounts::new(store.clone());
    let user = accounts
        .create_user(&NewUser {
            username: "unit-a".into(),
            role: Role::Partner,
            unit_id: Some(unit.id),
            password: "long-enough-password".into(),
        })
        .await
        .expect("user");
    let token = accounts
        .issue_token(user.id, "upload")
        .await
        .expect("token")
        .token;

    let port = testkit::ports::free_tcp_port().expect("port");
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let cfg = dir.path().join("channel.toml");
    std::fs::write(
        &cfg,
        format!(
            "[output]\nwidth = 320\nheight = 180\nvideo_kbps = 300\npreset = \"ultrafast\"\n\n\
             [server]\nlisten = \"{addr}\"\ndatabase = \"{}\"\nupload_dir = \"{}\"\npreview = false\n",
            db.display(),
            dir.path().join("uploads").display()
        ),
    )
    .expect("config");
    let file = dir.path().join("片子.mp4");
    let bytes: Vec<u8> = (0..4_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&file, &bytes).expect("file");
    let half = 2 * 1024 * 1024;
    let mut job = UploadJob {
        server: format!("http://{addr}"),
        token: Some(token),
        work: work.id,
        file: file.clone(),
        chunk_bytes: 256 << 10,
        retries: 3,
        stop_after: Some(half),
    };

    let mut first = Daemon::start(&cfg, addr, dir.path().join("serve-1.log"));
    let part = upload(&job).await.expect("first half");
    assert_eq!(part.offset, half);
    assert!(first.terminate().success(), "{}", first.log_text());

    let second = Daemon::start(&cfg, addr, dir.path().join("serve-2.log"));
    job.stop_after = None;
    let done = upload(&job).await.expect("the rest");
    assert_eq!(done.url, part.url, "the same upload");
    assert_eq!(
        done.resumed_from, half,
        "resumed where the first daemon stopped"
    );
    assert_eq!(done.offset, bytes.len() as u64);
    let want: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let record = done.record.expect("record");
    assert_eq!(record["sha256"], want.as_str(), "{record}");
    let files = cat.files_of(work.id).await.expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(std::fs::read(&files[0].location).expect("stored"), bytes);
    drop(second);
}
