//! The demo's media: one 1080p25 clip per demo work, a coloured card with the work's
//! Chinese title and a running clock drawn on it and a tone under it, made with ffmpeg at
//! a bit rate the 2026 technical rules accept (≥ 8 Mbit/s, so the verdict is 通过).
//! Skips clips already made (a second run reuses them).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A font that really covers Chinese (`fc-match :lang=zh` answers its best match even when
/// that has no CJK glyphs; `fc-list :lang=zh` lists only fonts that do).
fn cjk_font() -> Option<String> {
    let out = Command::new("fc-list")
        .args([":lang=zh", "file"])
        .output()
        .ok()?;
    let list = String::from_utf8(out.stdout).ok()?;
    let mut files: Vec<&str> = list
        .lines()
        .map(|l| l.trim().trim_end_matches(':'))
        .filter(|f| Path::new(f).exists())
        .collect();
    // Prefer the well-known CJK families, then anything else, deterministically.
    files.sort_by_key(|f| {
        (
            !(f.contains("NotoSansCJK") || f.contains("wqy-zenhei")),
            f.to_string(),
        )
    });
    files.first().map(|f| f.to_string())
}

/// Runs `cmd` to its end, killed after `limit`; the last line of its stderr on failure.
fn run_bounded(cmd: &mut Command, what: &str, limit: Duration) -> anyhow::Result<()> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait()? {
            if st.success() {
                return Ok(());
            }
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            bail!("{what} failed: {}", err.lines().last().unwrap_or(""));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            bail!("{what} took longer than {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One clip to make.
#[derive(Debug, Clone, Copy)]
pub struct ClipSpec<'a> {
    /// File name in the media directory.
    pub file: &'a str,
    /// Title drawn on screen.
    pub title: &'a str,
    /// Background colour (an ffmpeg colour name or 0xRRGGBB).
    pub colour: &'a str,
    /// Tone frequency, Hz.
    pub tone: u32,
    /// Length, seconds.
    pub seconds: u32,
}

/// ffmpeg's drawtext wants `:` `'` `\` and `%` escaped inside its text.
fn drawtext_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(':', "\\:")
        .replace('\'', "\u{2019}")
        .replace('%', "\\%")
}

/// Makes `spec` in `dir` unless it is there (complete: a partial file is made under a
/// temporary name and renamed at the end). Time-boxed to `limit`.
pub fn make_clip(dir: &Path, spec: &ClipSpec<'_>, limit: Duration) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    let path = dir.join(spec.file);
    if path.is_file() {
        return Ok(path);
    }
    let font = cjk_font();
    if font.is_none() {
        eprintln!("warning: no CJK font found (install fonts-wqy-zenhei); titles will be missing");
    }
    let text = font
        .as_ref()
        .map(|f| {
            format!(
                ",drawtext=fontfile={f}:text='{}':fontsize=96:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=24:x=(w-tw)/2:y=h/3,\
                 drawtext=fontfile={f}:text='科普之光 · 演示作品  %{{pts\\:hms}}':fontsize=48:fontcolor=white:x=(w-tw)/2:y=h*2/3",
                drawtext_escape(spec.title)
            )
        })
        .unwrap_or_default();
    let partial = dir.join(format!(".{}.part.mp4", spec.file));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-y", "-loglevel", "error"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "color=c={}:size=1920x1080:rate=25:duration={}",
            spec.colour, spec.seconds
        ))
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency={}:sample_rate=48000:duration={}",
            spec.tone, spec.seconds
        ))
        .args(["-vf", &format!("format=yuv420p{text}")])
        .args(["-af", "volume=-3dB"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50"])
        .args([
            "-b:v", "9M", "-minrate", "9M", "-maxrate", "9M", "-bufsize", "9M",
        ])
        .args(["-x264-params", "nal-hrd=cbr"])
        .args(["-c:a", "aac", "-b:a", "192k", "-shortest", "-f", "mp4"])
        .arg(&partial);
    run_bounded(&mut cmd, &format!("ffmpeg making {}", spec.file), limit)?;
    std::fs::rename(&partial, &path).with_context(|| format!("无法写入 {}", path.display()))?;
    Ok(path)
}
