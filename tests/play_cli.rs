//! `kepu-playout play` as a person runs it (the demo: `demo_main_job.rs`): the real binary,
//! real files, a real receiver.

use std::process::Command;
use std::time::Duration;
use testkit::clips::Clip;
use testkit::{FfmpegRtmpListener, palette, probe};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kepu-playout"))
}

#[test]
fn a_bad_rundown_is_refused_naming_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let day = dir.path().join("day.toml");
    std::fs::write(
        &day,
        "[[item]]\nsource = \"a.mp4\"\nduration = \"half an hour\"\n",
    )
    .expect("write");
    let cfg = dir.path().join("channel.toml");
    std::fs::write(&cfg, "[output]\npreset = \"ultrafast\"\n").expect("write");
    let out = bin()
        .arg("play")
        .arg(&day)
        .arg("--config")
        .arg(&cfg)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: item.duration", day.display())),
        "{err}"
    );

    std::fs::write(
        &cfg,
        "[[destination]]\nname = \"x\"\nurl = \"rtmp://h:99999/live/sk-secret-000111\"\n",
    )
    .expect("write");
    let out = bin()
        .arg("play")
        .arg(&day)
        .arg("--config")
        .arg(&cfg)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("channel.toml:3: destination.url"), "{err}");
    assert!(
        !err.contains("sk-secret-000111"),
        "the key is never shown: {err}"
    );
}

#[test]
fn play_puts_a_day_on_air_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let green = Clip::new(palette::GREEN, 500.0)
        .frames(50)
        .generate(dir.path())
        .expect("clip");
    // 1 s red then 1 s blue: an in-point shows in the picture.
    let red_blue = dir.path().join("red-blue.mp4");
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("color=c=0xFF0000:s=320x180:r=25:d=1[a];color=c=0x0000FF:s=320x180:r=25:d=1[b];[a][b]concat=n=2:v=1:a=0,format=yuv420p")
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "10"])
        .arg(&red_blue)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
    let mut rx = FfmpegRtmpListener::start().expect("receiver");
    let day = dir.path().join("day.toml");
    let text = format!(
        "[[item]]\nsource = \"{}\"\ntitle = \"绿\"\n\n[[item]]\nsource = \"{}\"\ntitle = \"红蓝\"\nin = 0.4\n",
        green.file_name().and_then(|f| f.to_str()).expect("name"),
        red_blue.file_name().and_then(|f| f.to_str()).expect("name"),
    );
    std::fs::write(&day, text).expect("write");
    let cfg = dir.path().join("channel.toml");
    std::fs::write(
        &cfg,
        "[output]\nwidth = 640\nheight = 360\nvideo_kbps = 800\npreset = \"ultrafast\"\n\n[[destination]]\nname = \"rx\"\n",
    )
    .expect("write");
    let out = bin()
        .arg("play")
        .arg(&day)
        .arg("--config")
        .arg(&cfg)
        .args(["--for", "6"])
        .env("KEPU_DESTINATION_RX_URL", rx.url())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("▶ 绿") && stdout.contains("▶ 红蓝"),
        "{stdout}"
    );
    assert!(stdout.contains("↑ rx live"), "{stdout}");
    assert!(
        !stdout.contains(&rx.url()),
        "the URL's key is masked: {stdout}"
    );
    assert!(stdout.contains("0 frame(s) dropped"), "{stdout}");
    rx.wait_finished(Duration::from_secs(10))
        .expect("receiver done");
    rx.stop().expect("stop");
    let rec = rx.recording_path().expect("recording");
    let pk = probe::packets(&rec).expect("packets");
    assert!(
        pk.video_steps_exact(25, 1, Duration::from_micros(1500))
            .is_empty()
    );
    let pal = [palette::GREEN, palette::RED, palette::BLUE];
    let runs = probe::colour_runs(&probe::frame_colours(&rec).expect("colours"), &pal);
    let desc = probe::describe_colour_runs(&runs, &pal);
    let named: Vec<_> = runs.iter().filter(|r| r.colour.is_some()).collect();
    // Green plays to its end (2 s); the second item from its in-point 0.4 s to its end:
    // 15 frames of red, then 25 of blue.
    let got: Vec<(Option<usize>, usize)> = named.iter().map(|r| (r.colour, r.frames)).collect();
    assert_eq!(
        got,
        vec![(Some(0), 50), (Some(1), 15), (Some(2), 25)],
        "{desc}"
    );
    assert_eq!(
        named[1].first_pts_ns,
        named[0].first_pts_ns + 50 * 40_000_000,
        "{desc}"
    );
}
