//! 作品报送 in a real browser against the real app on a socket (`tests/browser/submit.mjs`
//! drives Debian's Chromium through playwright-core): a partner fills the form with two works,
//! uploads a real ffmpeg clip in chunks with the vendored tus-js-client, pauses and resumes
//! it, and sees the verdict; a file over 4 GB is refused before anything is sent; a second partner sees and reaches none of it; a coordinator
//! previews a unit's Word table field by field, confirms it and sees every submission with
//! its source. Then this side
//! checks what was stored: the file's SHA-256 and its probe. Screenshots go to
//! `target/artefacts/submit/`.
//!
//! Needs `/usr/bin/chromium`, node and `npm ci --prefix tests/browser` (`./run.sh test` does
//! both); without them the test says so and passes, except under `CI`, where it fails.

#[path = "browser_common/mod.rs"]
mod browser_common;

mod catalog_common;

use kepu_playout::asrun::AsRunLog;
use kepu_playout::auth::{Accounts, NewUser, Role};
use kepu_playout::catalog::model::NewUnit;
use kepu_playout::catalog::probe::ProbeOptions;
use kepu_playout::metrics::Metrics;
use kepu_playout::upload::{UploadOptions, Uploads};
use kepu_playout::web::{AppState, Services, app};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "correct horse battery";

fn clip(dir: &Path) -> PathBuf {
    let out = dir.join("深海勇士.mp4");
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=25:duration=3",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=3"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_submits_uploads_resumes_and_sees_its_verdict() {
    if !browser_common::browser_ready("submit", &[]) {
        return;
    }
    let (dir, cat) = catalog_common::fresh(2026).await;
    let accounts = Accounts::new(cat.store().clone());
    for (unit, user) in [("中国科学院深海所", "unit-a"), ("某市科技馆", "unit-b")] {
        let u = cat
            .create_unit(&NewUnit {
                name: unit.into(),
                ..Default::default()
            })
            .await
            .expect("unit");
        accounts
            .create_user(&NewUser {
                username: user.into(),
                role: Role::Partner,
                unit_id: Some(u.id),
                password: PASSWORD.into(),
            })
            .await
            .expect("partner");
    }
    let coordinator = accounts
        .create_user(&NewUser {
            username: "coord".into(),
            role: Role::Operator,
            unit_id: None,
            password: PASSWORD.into(),
        })
        .await
        .expect("operator");
    let _ = coordinator;
    // A unit's Word table made by python-docx (tests/fixtures/make_forms.py).
    let forms = dir.path().join("forms");
    let made = Command::new(if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    })
    .arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/make_forms.py"
    ))
    .arg(&forms)
    .status()
    .expect("python3 runs");
    assert!(
        made.success(),
        "make_forms.py needs python3-docx and python3-openpyxl"
    );
    let uploads = Uploads::new(cat.clone(), UploadOptions::new(dir.path().join("uploads")))
        .expect("upload dir");
    let router = app(
        AppState {
            catalog: cat.clone(),
            probe: ProbeOptions::default(),
        },
        Services {
            accounts,
            asrun: AsRunLog::new(cat.store().clone()),
            metrics: Metrics::new().expect("metrics"),
            air: None,
            preview_dir: None,
            ingest_keys: None,
            uploads: Some(uploads),
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let video = clip(dir.path());
    // 4 GiB + 1 byte, sparse: the page must refuse it from its size alone.
    let big = dir.path().join("太大了.mp4");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len((4u64 << 30) + 1))
        .expect("sparse file");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artefacts/submit");
    let script = browser_common::browser_dir().join("submit.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .current_dir(browser_common::browser_dir())
        .env("KEPU_BASE_URL", format!("http://{addr}"))
        .env("KEPU_PASSWORD", PASSWORD)
        .env("KEPU_USER_A", "unit-a")
        .env("KEPU_USER_B", "unit-b")
        .env("KEPU_USER_C", "coord")
        .env("KEPU_FORM_DOCX", forms.join("wingdings.docx"))
        .env("KEPU_CLIP", &video)
        .env("KEPU_BIG_FILE", &big)
        .env("KEPU_SHOTS_DIR", &shots)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(170), out)
        .await
        .expect("the browser run ends within 170 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "submit.mjs failed");

    // What the browser did, as stored: the work, its uploaded file's hash and probe.
    let works = cat.works(None).await.expect("works");
    let deep = works
        .iter()
        .find(|w| w.title == "深海勇士")
        .expect("submitted online");
    assert!(works.iter().any(|w| w.title == "万米之下"));
    let files = cat.files_of(deep.id).await.expect("files");
    assert_eq!(files.len(), 1);
    assert!(files[0].verdict.is_some(), "probed: {:?}", files[0]);
    let bytes = std::fs::read(&video).expect("clip");
    let want: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sha: Option<String> = sqlx::query_scalar("SELECT sha256 FROM uploads WHERE work_id = $1")
        .bind(deep.id)
        .fetch_one(cat.store().pool())
        .await
        .expect("upload row");
    assert_eq!(sha.as_deref(), Some(want.as_str()));
    assert_eq!(
        std::fs::read(&files[0].location).expect("stored file"),
        bytes,
        "the stored file is the clip, byte for byte"
    );
    server.abort();
}
