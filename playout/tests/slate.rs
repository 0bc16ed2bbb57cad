//! The generated slate reads 「节目即将开始」 and the channel name, in real Chinese glyphs
//! (not boxes): judged by OCR (tesseract with the simplified-Chinese model), independent of
//! the renderer. The rendered card is kept as an artefact for a reviewer to look at.

use playout::OutputProfile;
use playout::source::slate;
use std::path::PathBuf;
use std::process::Command;

fn artefacts() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/artefacts");
    std::fs::create_dir_all(&d).expect("artefacts dir");
    d
}

#[test]
fn the_card_reads_its_chinese_text() {
    gstreamer::init().expect("gstreamer");
    let profile = OutputProfile {
        width: 1280,
        height: 720,
        ..OutputProfile::small()
    };
    let card = slate::render_card(&profile, "科普之光").expect("card renders");
    let map = card.map_readable().expect("readable");
    assert_eq!(
        map.len(),
        1280 * 720 * 3 / 2,
        "one I420 frame at the house size"
    );
    let dir = artefacts();
    let raw = dir.join("slate-card.yuv");
    let png = dir.join("slate-card.png");
    std::fs::write(&raw, map.as_slice()).expect("write raw");
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo"])
        .args(["-pix_fmt", "yuv420p", "-s", "1280x720", "-i"])
        .arg(&raw)
        .args(["-frames:v", "1"])
        .arg(&png)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success());
    let out = Command::new("tesseract")
        .arg(&png)
        .args(["-", "-l", "chi_sim", "--psm", "6"])
        .output()
        .expect("tesseract runs (apt-get install tesseract-ocr tesseract-ocr-chi-sim)");
    let text: String = String::from_utf8_lossy(&out.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains("节目即将开始"), "OCR read {text:?}");
    assert!(text.contains("科普之光"), "OCR read {text:?}");
}

#[test]
fn an_image_slate_is_letterboxed_to_the_house_size() {
    gstreamer::init().expect("gstreamer");
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("portrait.png");
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", "color=c=0xff0000:s=360x640", "-frames:v", "1"])
        .arg(&img)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
    let profile = OutputProfile::small();
    let frame = slate::render_file(&profile, &playout::cue::to_uri(&img.display().to_string()))
        .expect("image slate renders");
    let map = frame.map_readable().expect("readable");
    let (w, h) = (profile.width as usize, profile.height as usize);
    assert_eq!(map.len(), w * h * 3 / 2);
    // Pillarboxed: black (Y≈16) at the left edge, red (Y≈81) in the middle, never stretched.
    let y = |x: usize, row: usize| map[row * w + x];
    assert!(y(5, h / 2) < 30, "left border {}", y(5, h / 2));
    assert!(
        (60..100).contains(&y(w / 2, h / 2)),
        "centre {}",
        y(w / 2, h / 2)
    );
    // The picture is 360×640 scaled to height 360: 202 px wide, centred.
    let red_cols = (0..w).filter(|&x| (60..100).contains(&y(x, h / 2))).count();
    assert!((196..=208).contains(&red_cols), "{red_cols} red columns");
}
