//! HLS preview: the engine writes a live playlist of TS segments into a directory from the
//! same encode that goes to an RTMP receiver. Judged on the files by ffprobe/ffmpeg: a live
//! playlist, segments that decode on their own (H.264 + AAC), timestamps continuous across
//! segments, old segments deleted, a clean restart when the directory vanishes, and a
//! playlist that continues across a stop and a new start of the engine (issue 13).

mod common;

use common::*;
use playout::Event;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testkit::clips::Clip;
use testkit::{NginxRtmp, palette, probe};

/// Segments the engine keeps on disk.
const MAX_FILES: usize = 10;

fn up(name: &'static str) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::DestinationUp { name: n } if n == name)
}

fn hls_url(dir: &Path) -> String {
    format!("hls://{}", dir.display())
}

/// Two coloured clips, red then green, 6 s each, the first at `first`.
fn programme(dir: &Path, first: u64) -> Vec<playout::Cue> {
    let red = clip(Clip::new(palette::RED, 500.0).frames(150), dir);
    let green = clip(Clip::new(palette::GREEN, 1100.0).frames(150), dir);
    vec![cue("red", &red, 150).at(first), cue("green", &green, 150)]
}

/// The segment files (`seg*.ts`) in `dir`, sorted.
fn segment_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.starts_with("seg") && n.ends_with(".ts"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The segment URIs a playlist lists.
fn listed(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn read_playlist(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("live.m3u8")).unwrap_or_default()
}

/// Polls `cond` every 100 ms until it holds or `limit` passes.
async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Copies the playlist and the segments it lists into `out`, closing the copy with
/// `#EXT-X-ENDLIST` so ffmpeg reads it as a finished playlist instead of waiting for more.
fn snapshot(dir: &Path, out: &Path) -> (String, Vec<PathBuf>) {
    std::fs::create_dir_all(out).expect("snapshot dir");
    let text = read_playlist(dir);
    let mut copies = Vec::new();
    for name in listed(&text) {
        let to = out.join(&name);
        std::fs::copy(dir.join(&name), &to)
            .unwrap_or_else(|e| panic!("listed segment {name} is readable: {e}"));
        copies.push(to);
    }
    std::fs::write(out.join("live.m3u8"), format!("{text}#EXT-X-ENDLIST\n"))
        .expect("write snapshot playlist");
    (text, copies)
}

/// The codec names of a file's streams, in stream order, according to ffprobe.
fn codecs(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe {}", path.display());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    v["streams"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["codec_name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes a whole file; fails on any error ffmpeg reports.
fn assert_decodes(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "{} does not decode cleanly: {err}",
        path.display()
    );
}

/// `ffmpeg -i live.m3u8 -c copy` of a finished playlist, timestamps kept.
fn remux(playlist: &Path, out: &Path) {
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-copyts", "-i"])
        .arg(playlist)
        .args(["-c", "copy"])
        .arg(out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg -i {} -c copy", playlist.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_preview_is_a_live_playlist_of_continuous_decodable_segments_beside_rtmp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hls_dir = dir.path().join("preview");
    // A previous run's files are removed at start; anything else is left alone.
    std::fs::create_dir_all(&hls_dir).expect("preview dir");
    std::fs::write(hls_dir.join("seg00099.ts"), b"stale").expect("stale segment");
    std::fs::write(hls_dir.join("live.m3u8"), b"#EXTM3U\nseg00099.ts\n").expect("stale list");
    std::fs::write(hls_dir.join("keep.txt"), b"not ours").expect("other file");

    let mut nginx = NginxRtmp::start().expect("nginx");
    let mut run = start(
        destinations(&[("preview", hls_url(&hls_dir)), ("nginx", nginx.url())]),
        0,
    );
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine.cue(programme(dir.path(), first)).expect("cued");
    let live_at = run
        .until(Duration::from_secs(15), up("preview"))
        .await
        .unwrap_or_else(|| panic!("preview up: {:?}", run.seen));
    eprintln!(
        "hls: live {:?} after the engine started",
        live_at.duration_since(run.started)
    );
    assert!(
        !hls_dir.join("seg00099.ts").exists(),
        "stale segment removed"
    );
    assert!(hls_dir.join("keep.txt").exists(), "other files kept");

    // ~8 s of programme: at least three segments listed.
    let enough = wait_for(Duration::from_secs(20), || {
        listed(&read_playlist(&hls_dir)).len() >= 3
    })
    .await;
    assert!(enough, "playlist: {}", read_playlist(&hls_dir));
    let snap = dir.path().join("snap");
    let (text, segments) = tokio::task::block_in_place(|| snapshot(&hls_dir, &snap));
    assert!(text.starts_with("#EXTM3U"), "{text}");
    // 50-frame key-frame interval at 25 fps: cut 1 s in at the earliest, under 3 s long.
    assert!(text.contains("#EXT-X-TARGETDURATION:3\n"), "{text}");
    assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:"), "{text}");
    assert!(!text.contains("#EXT-X-ENDLIST"), "a live playlist: {text}");
    assert!(segments.len() >= 2, "{text}");
    tokio::task::block_in_place(|| {
        for s in &segments {
            let c = codecs(s);
            assert_eq!(c, ["h264", "aac"], "{}: {c:?}", s.display());
            assert_decodes(s);
            let p = probe::packets(s).expect("segment packets");
            assert!(
                p.video.first().is_some_and(|k| k.key),
                "{} starts on a key frame",
                s.display()
            );
        }
        // Over the listed segments: every video step one frame, no audio hole.
        let joined = dir.path().join("joined.ts");
        remux(&snap.join("live.m3u8"), &joined);
        let p = assert_continuous("hls", &joined);
        let listed_secs = p.duration().as_secs_f64();
        assert!(
            listed_secs >= 2.0 * segments.len() as f64 - 0.5,
            "{} segments cover {listed_secs:.2} s",
            segments.len()
        );
        // It is the programme (the red clip), not only the slate.
        let pal = [palette::RED, palette::GREEN];
        let runs = probe::colour_runs(&probe::frame_colours(&joined).expect("frame colours"), &pal);
        assert!(
            runs.iter().any(|r| r.colour == Some(0)),
            "{}",
            probe::describe_colour_runs(&runs, &pal)
        );
    });

    // A longer run: old segments go, the count on disk stays bounded.
    let rolled = wait_for(Duration::from_secs(35), || {
        hls_dir.join("seg00011.ts").exists()
    })
    .await;
    assert!(rolled, "segments: {:?}", segment_files(&hls_dir));
    let deleted = wait_for(Duration::from_secs(3), || {
        !hls_dir.join("seg00000.ts").exists()
    })
    .await;
    let files = segment_files(&hls_dir);
    assert!(deleted, "seg00000.ts deleted: {files:?}");
    // max-files closed segments plus the one being written.
    assert!(files.len() <= MAX_FILES + 1, "{files:?}");
    let text = read_playlist(&hls_dir);
    eprintln!("hls: playlist after the roll-over:\n{text}");
    assert_eq!(listed(&text).len(), 6, "{text}");
    assert!(!text.contains("#EXT-X-MEDIA-SEQUENCE:0\n"), "{text}");
    for name in listed(&text) {
        assert!(hls_dir.join(&name).exists(), "{name} listed and on disk");
    }

    let st = run.engine.status().await.expect("status");
    let sizes: Vec<(String, u64)> = files
        .iter()
        .filter_map(|f| Some((f.clone(), std::fs::metadata(hls_dir.join(f)).ok()?.len())))
        .collect();
    eprintln!("hls: segment sizes {sizes:?}");
    let on_disk: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(hls_dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    run.engine.stop().await;
    nginx.wait_idle(Duration::from_secs(10)).expect("idle");
    nginx.stop().expect("stop");

    let d = st
        .destinations
        .iter()
        .find(|d| d.name == "preview")
        .expect("preview status");
    assert_eq!(d.state, playout::DestinationState::Live, "{d:?}");
    assert_eq!(d.reconnects, 0, "{d:?}");
    assert_eq!(d.dropped_packets, 0, "{d:?}");
    // Bytes count the TS written: at least what is still on disk (less the newest
    // segment, which may have landed after the status).
    assert!(d.bytes >= on_disk * 9 / 10, "{d:?} vs {on_disk}");
    assert!(d.bitrate > 100_000, "{d:?}");
    eprintln!(
        "hls: {} bytes, {} bit/s, {} segments on disk ({on_disk} bytes)",
        d.bytes,
        d.bitrate,
        files.len()
    );
    // Stopping the daemon is not the end of the channel: no end-list.
    assert!(
        !read_playlist(&hls_dir).contains("#EXT-X-ENDLIST"),
        "{}",
        read_playlist(&hls_dir)
    );
    // The RTMP receiver got the same programme, unbroken.
    tokio::task::block_in_place(|| {
        assert_continuous("nginx", &nginx.recording_path().expect("rec"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_preview_restarts_when_its_directory_vanishes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Created when missing, parents included.
    let hls_dir = dir.path().join("a").join("preview");
    let mut run = start(destinations(&[("preview", hls_url(&hls_dir))]), 0);
    let first = run.frame_in(Duration::from_millis(1500));
    run.engine.cue(programme(dir.path(), first)).expect("cued");
    assert!(
        run.until(Duration::from_secs(15), up("preview"))
            .await
            .is_some(),
        "preview up: {:?}",
        run.seen
    );
    assert!(hls_dir.join("live.m3u8").exists());

    std::fs::remove_dir_all(dir.path().join("a")).expect("remove the directory");
    let down = run
        .until(
            Duration::from_secs(15),
            |e| matches!(e, Event::DestinationDown { name, .. } if name == "preview"),
        )
        .await;
    assert!(down.is_some(), "preview down: {:?}", run.seen);
    assert!(
        run.until(Duration::from_secs(15), up("preview"))
            .await
            .is_some(),
        "preview up again: {:?}",
        run.seen
    );
    let listed_again = wait_for(Duration::from_secs(10), || {
        !listed(&read_playlist(&hls_dir)).is_empty()
    })
    .await;
    assert!(listed_again, "playlist: {}", read_playlist(&hls_dir));
    let text = read_playlist(&hls_dir);
    let st = run.engine.status().await.expect("status");
    run.engine.stop().await;
    let first_seg = hls_dir.join(&listed(&text)[0]);
    tokio::task::block_in_place(|| {
        assert_eq!(codecs(&first_seg), ["h264", "aac"]);
        assert_decodes(&first_seg);
    });
    let d = st
        .destinations
        .iter()
        .find(|d| d.name == "preview")
        .expect("preview status");
    assert!(d.reconnects >= 1, "{d:?}");
    assert!(d.last_error.is_some(), "{d:?}");
    assert_eq!(d.state, playout::DestinationState::Live, "{d:?}");
    eprintln!("restart: {:?}", d.last_error);
}

/// The segment number of a `segNNNNN.ts` name.
fn seg_number(name: &str) -> u64 {
    name.strip_prefix("seg")
        .and_then(|r| r.strip_suffix(".ts"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not a segment name"))
}

/// The value of a `#TAG:value` line.
fn tag(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::to_string))
}

/// Runs the engine on `hls_dir` with one 6 s clip of `colour` until `enough` holds of the
/// playlist, then stops it.
async fn play_until(
    dir: &Path,
    hls_dir: &Path,
    colour: testkit::palette::Colour,
    enough: impl Fn(&str) -> bool,
) {
    let mut run = start(destinations(&[("preview", hls_url(hls_dir))]), 0);
    let first = run.frame_in(Duration::from_millis(1500));
    let c = clip(Clip::new(colour, 700.0).frames(150), dir);
    run.engine
        .cue(vec![cue("clip", &c, 150).at(first)])
        .expect("cued");
    assert!(
        run.until(Duration::from_secs(15), up("preview"))
            .await
            .is_some(),
        "preview up: {:?}",
        run.seen
    );
    let ok = wait_for(Duration::from_secs(20), || enough(&read_playlist(hls_dir))).await;
    run.engine.stop().await;
    assert!(ok, "playlist: {}", read_playlist(hls_dir));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_playlist_continues_across_a_stop_and_a_new_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hls_dir = dir.path().join("preview");

    // First run: red, until three segments are listed; then the engine stops.
    play_until(dir.path(), &hls_dir, palette::RED, |t| listed(t).len() >= 3).await;
    let before = read_playlist(&hls_dir);
    eprintln!("hls restart: playlist at the stop:\n{before}");
    assert!(
        !before.contains("#EXT-X-ENDLIST"),
        "a stop is not the end: {before}"
    );
    assert!(
        hls_dir.join("live.m3u8.state").exists(),
        "state beside the playlist"
    );
    let first_names = listed(&before);
    let last_before = seg_number(first_names.last().expect("segments"));
    let target = tag(&before, "#EXT-X-TARGETDURATION").expect("target duration");

    // Second run on the same directory: green, until two segments after the join.
    play_until(dir.path(), &hls_dir, palette::GREEN, |t| {
        t.split("#EXT-X-DISCONTINUITY\n")
            .nth(1)
            .is_some_and(|after| listed(after).len() >= 2)
    })
    .await;
    let snap = dir.path().join("snap");
    let (text, segments) = tokio::task::block_in_place(|| snapshot(&hls_dir, &snap));
    eprintln!("hls restart: playlist after the second run:\n{text}");

    // One join, marked; the target duration unchanged; no end-list.
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{text}");
    assert_eq!(
        tag(&text, "#EXT-X-TARGETDURATION"),
        Some(target.clone()),
        "{text}"
    );
    assert!(!text.contains("#EXT-X-ENDLIST"), "{text}");
    // Names and the media sequence go on: consecutive numbers, the first listed one is the
    // media sequence, the first after the join follows the last before it.
    let names = listed(&text);
    let numbers: Vec<u64> = names.iter().map(|n| seg_number(n)).collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {numbers:?}"
    );
    let seq: u64 = tag(&text, "#EXT-X-MEDIA-SEQUENCE")
        .and_then(|v| v.parse().ok())
        .expect("media sequence");
    assert_eq!(seq, numbers[0], "{text}");
    assert!(seq > 0, "not restarted at 0: {text}");
    let after_join = text
        .split("#EXT-X-DISCONTINUITY\n")
        .nth(1)
        .map(listed)
        .unwrap_or_default();
    let joined_at = seg_number(&after_join[0]);
    assert!(
        joined_at > last_before,
        "the second run's first segment {joined_at} follows {last_before}"
    );
    // Every EXTINF within the target.
    let target: f64 = target.parse().expect("number");
    for d in text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|l| l.trim_end_matches(',').parse::<f64>().ok())
    {
        assert!(
            d.round() <= target && d > 0.0,
            "EXTINF {d} vs target {target}: {text}"
        );
    }
    // Old segments deleted in order: nothing on disk older than what the state keeps,
    // and no gap among what is kept.
    let files: Vec<u64> = segment_files(&hls_dir)
        .iter()
        .map(|n| seg_number(n))
        .collect();
    assert!(
        files.windows(2).all(|w| w[1] == w[0] + 1) && files.len() <= MAX_FILES,
        "{files:?}"
    );

    tokio::task::block_in_place(|| {
        // ffmpeg reads through the join: every frame of every listed segment decodes from
        // the playlist.
        let per_segment: usize = segments
            .iter()
            .map(|s| probe::packets(s).expect("segment packets").video.len())
            .sum();
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(snap.join("live.m3u8"))
            .output()
            .expect("ffprobe runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "ffprobe of the playlist: {err}");
        // The HLS demuxer lists the stream under its program too: the first count.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let read: usize = stdout
            .lines()
            .find_map(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("frame count in {stdout:?}"));
        eprintln!(
            "hls restart: {read} frames read through the join, {per_segment} in the segments"
        );
        assert_eq!(read, per_segment, "frames lost at the join: {err}");
        for s in &segments {
            assert_decodes(s);
        }
        // Red before the join, green after it.
        let pal = [palette::RED, palette::GREEN];
        let colour_of = |names: &[String]| -> Vec<Option<usize>> {
            names
                .iter()
                .flat_map(|n| {
                    let f = probe::frame_colours(&snap.join(n)).expect("frame colours");
                    probe::colour_runs(&f, &pal)
                        .into_iter()
                        .map(|r| r.colour)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let before_join = &names[..names.len() - after_join.len()];
        assert!(
            colour_of(before_join).contains(&Some(0)),
            "red before the join"
        );
        assert!(
            colour_of(&after_join).contains(&Some(1)),
            "green after the join"
        );
    });
}
