//! The clip generator and the judges on generated files (no network).

mod common;

use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use common::run_bounded;
use testkit::clips::{Clip, Container, corrupt_file, not_media_file};
use testkit::palette::{self, BLUE, YELLOW};
use testkit::probe::{self, Sound};

#[test]
fn every_container_has_the_right_colour_tone_and_length() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pal = palette::ALL;
    for (i, c) in Container::ALL.into_iter().enumerate() {
        let colour = pal[i];
        let tone = 500.0 + 500.0 * i as f64;
        let clip = Clip::new(colour, tone).frames(25).container(c);
        let path = clip.generate(dir.path())?;
        let what = format!("{c:?} {}", path.display());

        let p = probe::packets(&path)?;
        assert_eq!(p.video.len(), 25, "{what}");
        assert!(!p.audio.is_empty(), "{what}");

        let frames = probe::frame_colours(&path)?;
        assert_eq!(frames.len(), 25, "{what}");
        let runs = probe::colour_runs(&frames, &pal);
        assert_eq!(
            runs.len(),
            1,
            "{what}: {}",
            probe::describe_colour_runs(&runs, &pal)
        );
        assert_eq!(runs[0].colour, Some(i), "{what}");

        let pcm = probe::audio_pcm(&path)?;
        // 1 s of audio, ± one codec frame of padding/priming (WMA frames are 2048).
        let n = pcm.samples.len();
        assert!((46_000..=50_500).contains(&n), "{what}: {n} samples");
        let freqs = [tone];
        let truns = probe::tone_runs(&pcm, &freqs, 256);
        let tone_samples: usize = truns
            .iter()
            .filter(|r| r.sound == Sound::Tone(0))
            .map(|r| r.samples)
            .sum();
        assert!(
            tone_samples >= 44_000,
            "{what}: {}",
            probe::describe_tone_runs(&truns, &freqs)
        );
    }
    Ok(())
}

#[test]
fn clip_options_are_honoured() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clip = Clip::new(BLUE, 880.0)
        .size(640, 360)
        .fps(30_000, 1001)
        .audio(44_100, 1)
        .frames(30)
        .container(Container::Mkv);
    assert_eq!(clip.audio_samples(), 44_144);
    let path = clip.generate(dir.path())?;
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("stream=codec_type,width,height,r_frame_rate,sample_rate,channels")
        .args(["-of", "compact"])
        .arg(&path)
        .output()?;
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("width=640|height=360"), "{s}");
    assert!(s.contains("r_frame_rate=30000/1001"), "{s}");
    assert!(s.contains("sample_rate=44100|channels=1"), "{s}");
    let p = probe::packets(&path)?;
    let v = p.video_steps_exact(30_000, 1001, Duration::from_micros(1500));
    assert!(v.is_empty(), "{}", probe::describe_violations(&v));

    let silent = Clip::new(YELLOW, 0.0)
        .no_audio()
        .frames(10)
        .generate(dir.path())?;
    let p = probe::packets(&silent)?;
    assert_eq!((p.video.len(), p.audio.len()), (10, 0));
    assert!(probe::audio_pcm(&silent).is_err());
    Ok(())
}

#[test]
fn broken_inputs_are_rejected_by_the_judges() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let corrupt = dir.path().join("corrupt.mp4");
    corrupt_file(&corrupt)?;
    assert!(std::fs::metadata(&corrupt)?.len() > 1000);
    assert!(probe::packets(&corrupt).is_err());
    assert!(probe::frame_colours(&corrupt).is_err());
    let text = dir.path().join("text.mp4");
    not_media_file(&text)?;
    assert!(probe::packets(&text).is_err());
    assert!(probe::packets(&dir.path().join("missing.mp4")).is_err());
    Ok(())
}

#[test]
fn silences_finds_a_hole_at_its_absolute_time() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("hole.mkv");
    // 1 s tone, 0.5 s digital silence, 1 s tone; timestamps offset by 100 s.
    let graph = "sine=f=1000:sample_rate=48000:d=1[a];\
                 anullsrc=r=48000:cl=mono,atrim=duration=0.5[b];\
                 sine=f=1000:sample_rate=48000:d=1[c];\
                 [a][b][c]concat=n=3:v=0:a=1[out0]";
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", graph, "-c:a", "flac"])
        .args(["-output_ts_offset", "100"])
        .arg(&path);
    run_bounded(cmd, Duration::from_secs(20))?;
    let s = probe::silences(&path, -50.0, Duration::from_millis(100))?;
    assert_eq!(s.len(), 1, "{s:?}");
    let start = s[0].start_ns;
    let end = s[0].end_ns.expect("silence ends");
    assert!((start - 101_000_000_000).abs() <= 2_000_000, "{s:?}");
    assert!((end - 101_500_000_000).abs() <= 2_000_000, "{s:?}");

    let pcm = probe::audio_pcm(&path)?;
    assert_eq!(pcm.start_ns, 100_000_000_000);
    let runs = probe::tone_runs(&pcm, &[1000.0], 256);
    // A window straddling a cut may be Unknown: look at runs longer than one window.
    let long: Vec<_> = runs.iter().filter(|r| r.samples > 256).collect();
    let sounds: Vec<Sound> = long.iter().map(|r| r.sound).collect();
    let desc = probe::describe_tone_runs(&runs, &[1000.0]);
    assert_eq!(
        sounds,
        vec![Sound::Tone(0), Sound::Silence, Sound::Tone(0)],
        "{desc}"
    );
    // Within one 256-sample window (5.3 ms) of the true cut.
    assert!(
        (long[1].start_ns - 101_000_000_000).abs() <= 5_400_000,
        "{desc}"
    );
    Ok(())
}
