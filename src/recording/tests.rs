use super::*;

/// A finished window `name` started at `start_ms` with one segment of `bytes`.
fn window(root: &Path, name: &str, start_ms: i64, bytes: usize, ended: bool) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("seg-00000.ts"), vec![0u8; bytes]).expect("segment");
    let m = Manifest {
        source: "rtsp://cam/1".into(),
        started_unix_ms: start_ms,
        ended_unix_ms: ended.then_some(start_ms + 1000),
        segments: vec!["seg-00000.ts".into()],
        connections: 1,
        error: None,
    };
    std::fs::write(
        dir.join(playout::source::live::record::MANIFEST),
        serde_json::to_vec(&m).expect("json"),
    )
    .expect("manifest");
    dir
}

fn names(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn the_janitor_deletes_the_oldest_finished_windows_first_and_never_the_one_recording() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    // The oldest is being recorded (a long window that started first): never deleted.
    let recording = window(root, "feed1-20261129T080000Z", 1_000, 400, false);
    window(root, "feed2-20261129T090000Z", 2_000, 300, true);
    window(root, "feed3-20261129T100000Z", 3_000, 300, true);
    window(root, "feed4-20261129T110000Z", 4_000, 300, true);
    // Something not ours is counted and left alone.
    std::fs::create_dir_all(root.join("lost+found")).expect("mkdir");
    let active: HashSet<PathBuf> = [recording].into_iter().collect();

    // 1300 bytes (+ manifests) over a 1000-byte quota: the two oldest finished go.
    let deleted = janitor(root, 1000, &active);
    assert_eq!(
        deleted,
        vec!["feed2-20261129T090000Z", "feed3-20261129T100000Z"],
        "oldest finished first"
    );
    assert_eq!(
        names(root),
        vec![
            "feed1-20261129T080000Z",
            "feed4-20261129T110000Z",
            "lost+found"
        ]
    );
    // Under the quota: nothing more.
    assert!(janitor(root, 10_000, &active).is_empty());
    // A quota the recording alone exceeds: every finished window goes, the recording stays.
    assert_eq!(janitor(root, 10, &active), vec!["feed4-20261129T110000Z"]);
    assert_eq!(names(root), vec!["feed1-20261129T080000Z", "lost+found"]);
}

#[test]
fn windows_are_listed_newest_first_with_their_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let rec = window(
        root,
        "feed7-20261129T080000Z",
        1_764_403_200_000,
        100,
        false,
    );
    window(root, "feed7-20261128T080000Z", 1_764_316_800_000, 200, true);
    let crashed = window(
        root,
        "live-cam_1-20261127T080000Z",
        1_764_230_400_000,
        50,
        false,
    );
    let active: HashSet<PathBuf> = [rec].into_iter().collect();
    let l = list(root, &active);
    assert_eq!(l.len(), 3);
    assert_eq!(l[0].name, "feed7-20261129T080000Z");
    assert!(l[0].recording && !l[0].complete && l[0].end.is_none());
    assert_eq!(l[0].feed, Some(7));
    assert!(l[1].complete && !l[1].recording);
    assert!(l[1].size >= 200, "{:?}", l[1]);
    assert_eq!(l[1].segments, 1);
    // Not recording and never ended (a crash): incomplete.
    assert_eq!(l[2].feed, None);
    assert!(!l[2].complete && !l[2].recording);
    assert!(crashed.is_dir());
}

#[test]
fn sizes_durations_and_window_names_parse() {
    assert_eq!(parse_size("200 GiB"), Ok(200 << 30));
    assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
    assert_eq!(parse_size("500 MB"), Ok(500_000_000));
    assert_eq!(parse_size("4096"), Ok(4096));
    assert!(parse_size("lots").is_err());
    assert!(parse_size("3 parsecs").is_err());
    assert_eq!(parse_duration("10 min"), Ok(Duration::from_secs(600)));
    assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert!(parse_duration("soon").is_err());
    let at = Utc
        .with_ymd_and_hms(2026, 11, 29, 8, 0, 5)
        .single()
        .expect("date");
    assert_eq!(
        window_name(Some(12), "rtsp://cam/1", at),
        "feed12-20261129T080005Z"
    );
    assert_eq!(
        parse_window_name("feed12-20261129T080005Z"),
        Some((Some(12), at))
    );
    let adhoc = window_name(None, "rtsp://user:secret@cam/1", at);
    assert!(!adhoc.contains("secret"), "{adhoc}");
    assert_eq!(parse_window_name(&adhoc), Some((None, at)));
}

#[test]
fn a_finished_window_is_reported_with_its_name_locator_programme_times_and_listed_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let rec = Recordings::new(RecordingConfig {
        dir: tmp.path().to_path_buf(),
        quota_bytes: DEFAULT_QUOTA,
        segment: DEFAULT_SEGMENT,
    })
    .with_offset_ms(-60_000)
    .report_finished(tx);
    rec.set_feeds([("ingest://scope-1".to_string(), 3)]);
    let at = std::time::UNIX_EPOCH + Duration::from_millis(1_764_403_260_000);
    let plan = rec.plan("ingest://scope-1", at).expect("planned");
    let name = plan
        .dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        name, "feed3-20251129T080000Z",
        "named on the programme clock"
    );
    // What the engine leaves: a segment and the final manifest (wall-clock times).
    let dir = window(tmp.path(), &name, 1_764_403_260_000, 5_000, true);
    assert!(rx.try_recv().is_err(), "nothing before the window ends");
    rec.ended(&dir, &Manifest::read(&dir).expect("manifest"));
    let f = rx.try_recv().expect("reported");
    assert_eq!(
        f,
        Finished {
            name: name.clone(),
            locator: "ingest://scope-1".into(),
            start_ms: 1_764_403_200_000,
            end_ms: 1_764_403_201_000,
            segments: 1,
            bytes: rec.get(&name).expect("listed").size,
        }
    );
    assert!(f.bytes > 5_000, "the segment and the manifest: {}", f.bytes);
    assert!(rec.active().is_empty());
}
