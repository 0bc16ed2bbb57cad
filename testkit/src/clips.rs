//! Test media generated with ffmpeg's lavfi sources: one solid colour, one tone.
//!
//! [`Clip`] describes a clip (colour, tone, size, rate, length in frames, container);
//! [`Clip::generate`] writes it into a directory and returns the path. Codecs are chosen
//! so each container accepts them and encoding is fast:
//!
//! | container | video | audio |
//! |---|---|---|
//! | mp4 | libx264 ultrafast (yuv420p) | aac |
//! | mov | mpeg4 | pcm_s16le |
//! | avi | mpeg4 | pcm_s16le |
//! | wmv (asf) | wmv2 | wmav2 |
//! | mkv | libx264 ultrafast | flac |
//! | webm | libvpx (VP8, realtime) | libvorbis |
//!
//! Video is cut to exactly `frames` (`trim=end_frame`) and audio to exactly
//! `frames / fps` seconds of samples (`atrim=end_sample`).
//! [`corrupt_file`] and [`not_media_file`] make inputs the engine must reject.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::child::output_within;
use crate::palette::{self, Colour};
use crate::time::Rational;

/// Upper bound for generating one clip (they take well under a second normally).
const GENERATE_TIMEOUT: Duration = Duration::from_secs(60);

/// Container (and with it the codecs, see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Container {
    Mp4,
    Mov,
    Avi,
    Wmv,
    Mkv,
    Webm,
}

impl Container {
    pub const ALL: [Container; 6] = [
        Container::Mp4,
        Container::Mov,
        Container::Avi,
        Container::Wmv,
        Container::Mkv,
        Container::Webm,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::Avi => "avi",
            Container::Wmv => "wmv",
            Container::Mkv => "mkv",
            Container::Webm => "webm",
        }
    }

    fn format(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::Avi => "avi",
            Container::Wmv => "asf",
            Container::Mkv => "matroska",
            Container::Webm => "webm",
        }
    }

    fn video_args(self) -> &'static [&'static str] {
        match self {
            Container::Mp4 | Container::Mkv => &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ],
            Container::Mov | Container::Avi => &["-c:v", "mpeg4", "-q:v", "4"],
            Container::Wmv => &["-c:v", "wmv2", "-q:v", "4"],
            Container::Webm => &[
                "-c:v",
                "libvpx",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-b:v",
                "500k",
            ],
        }
    }

    fn audio_args(self) -> &'static [&'static str] {
        match self {
            Container::Mp4 => &["-c:a", "aac", "-b:a", "128k"],
            Container::Mov | Container::Avi => &["-c:a", "pcm_s16le"],
            Container::Wmv => &["-c:a", "wmav2", "-b:a", "128k"],
            Container::Mkv => &["-c:a", "flac"],
            Container::Webm => &["-c:a", "libvorbis", "-q:a", "3"],
        }
    }
}

/// A generated test clip.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    pub colour: Colour,
    pub tone_hz: f64,
    pub width: u32,
    pub height: u32,
    pub fps: Rational,
    pub audio_rate: u32,
    pub channels: u32,
    /// Length in video frames; the audio lasts exactly as long.
    pub frames: u32,
    pub container: Container,
    pub no_audio: bool,
}

impl Default for Clip {
    fn default() -> Self {
        Self {
            colour: palette::RED,
            tone_hz: 440.0,
            width: 320,
            height: 180,
            fps: Rational::new(25, 1),
            audio_rate: 48_000,
            channels: 2,
            frames: 50,
            container: Container::Mp4,
            no_audio: false,
        }
    }
}

impl Clip {
    /// A 2 s, 320×180, 25 fps MP4 in `colour` with a `tone_hz` sine.
    pub fn new(colour: Colour, tone_hz: f64) -> Self {
        Self {
            colour,
            tone_hz,
            ..Self::default()
        }
    }

    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    pub fn fps(mut self, num: i64, den: i64) -> Self {
        self.fps = Rational::new(num, den);
        self
    }

    pub fn audio(mut self, rate: u32, channels: u32) -> Self {
        self.audio_rate = rate;
        self.channels = channels;
        self
    }

    pub fn frames(mut self, frames: u32) -> Self {
        self.frames = frames;
        self
    }

    pub fn container(mut self, c: Container) -> Self {
        self.container = c;
        self
    }

    pub fn no_audio(mut self) -> Self {
        self.no_audio = true;
        self
    }

    /// Duration in ns (exact up to rounding of one division).
    pub fn duration_ns(&self) -> i64 {
        self.fps.frame_ns() * i64::from(self.frames)
    }

    /// Audio samples per channel: `frames × fps_den × rate / fps_num`, rounded.
    pub fn audio_samples(&self) -> i64 {
        let n = i64::from(self.frames) * self.fps.den * i64::from(self.audio_rate);
        (n + self.fps.num / 2) / self.fps.num
    }

    /// `{colour}-{tone}hz-{w}x{h}-{frames}f.{ext}`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}hz-{}x{}-{}f{}.{}",
            self.colour.name,
            self.tone_hz,
            self.width,
            self.height,
            self.frames,
            if self.no_audio { "-noaudio" } else { "" },
            self.container.extension()
        )
    }

    /// Writes the clip into `dir` (named by [`Clip::file_name`]) and returns its path.
    pub fn generate(&self, dir: &Path) -> Result<PathBuf> {
        let out = dir.join(self.file_name());
        self.generate_to(&out)?;
        Ok(out)
    }

    /// Writes the clip to `out` (overwriting).
    /// ffmpeg's lavfi source of `frames` frames of `colour` at this clip's size and rate.
    fn lavfi_picture(&self, colour: Colour, frames: u32) -> String {
        format!(
            "color=c={}:s={}x{}:r={},trim=end_frame={frames}",
            colour.ffmpeg_hex(),
            self.width,
            self.height,
            self.fps,
        )
    }

    /// ffmpeg's lavfi source of this clip's tone, `samples` long.
    fn lavfi_tone(&self, samples: i64) -> String {
        format!(
            "sine=frequency={}:sample_rate={},atrim=end_sample={samples}",
            self.tone_hz, self.audio_rate,
        )
    }

    pub fn generate_to(&self, out: &Path) -> Result<()> {
        if self.frames == 0 || self.width == 0 || self.height == 0 {
            bail!("empty clip: {self:?}");
        }
        let c = self.container;
        let mut cmd = quiet_ffmpeg();
        cmd.args(["-f", "lavfi", "-i"])
            .arg(self.lavfi_picture(self.colour, self.frames));
        if !self.no_audio {
            cmd.args(["-f", "lavfi", "-i"])
                .arg(self.lavfi_tone(self.audio_samples()));
        }
        // Both sources end by themselves (`trim`, `atrim`): `-frames:v` would stop the
        // whole output early and cut the audio short.
        cmd.args(c.video_args()).args(["-g", "25"]);
        if self.no_audio {
            cmd.arg("-an");
        } else {
            cmd.args(c.audio_args())
                .args(["-ac", &self.channels.to_string()])
                .args(["-ar", &self.audio_rate.to_string()]);
        }
        cmd.args(["-f", c.format()]).arg(out);
        output_within(cmd, GENERATE_TIMEOUT).context("clip generation")?;
        Ok(())
    }
}

/// ffmpeg that writes over its output and reports errors only.
fn quiet_ffmpeg() -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "error",
        "-y",
    ]);
    cmd
}

/// Writes an MP4 whose picture is `first` then `then` (their colours, sizes and rates must
/// match; `first`'s size and rate are used) with `first`'s tone under both, lasting exactly
/// `first.frames + then.frames` frames: a clip whose start a judge can see, so a loop of it
/// shows as the first colour coming back.
pub fn two_colour_clip(first: &Clip, then: &Clip, out: &Path) -> Result<()> {
    if first.frames == 0 || then.frames == 0 {
        bail!("empty part: {first:?} / {then:?}");
    }
    let all = Clip {
        frames: first.frames + then.frames,
        ..first.clone()
    };
    let mut cmd = quiet_ffmpeg();
    cmd.args(["-f", "lavfi", "-i"])
        .arg(first.lavfi_picture(first.colour, first.frames))
        .args(["-f", "lavfi", "-i"])
        .arg(first.lavfi_picture(then.colour, then.frames))
        .args(["-f", "lavfi", "-i"])
        .arg(first.lavfi_tone(all.audio_samples()))
        .args([
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1:a=0[v]",
            "-map",
            "[v]",
            "-map",
            "2:a",
        ])
        .args(Container::Mp4.video_args())
        .args(["-g", "25"])
        .args(Container::Mp4.audio_args())
        .args(["-ac", &first.channels.to_string()])
        .args(["-ar", &first.audio_rate.to_string()])
        .args(["-f", "mp4"])
        .arg(out);
    output_within(cmd, GENERATE_TIMEOUT).context("two-colour clip generation")?;
    Ok(())
}

/// Writes an MP4 cut off in the middle (its `moov` index, written last, is missing):
/// a file that looks like media but cannot be played.
pub fn corrupt_file(path: &Path) -> Result<()> {
    Clip::new(palette::MAGENTA, 660.0)
        .frames(50)
        .generate_to(path)?;
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    std::fs::write(path, &data[..data.len() / 2])
        .with_context(|| format!("truncate {}", path.display()))?;
    Ok(())
}

/// Writes plain text to `path` (give it a media extension such as `.mp4`).
pub fn not_media_file(path: &Path) -> Result<()> {
    std::fs::write(
        path,
        "This is not a video. It is a text file with a media extension.\n",
    )
    .with_context(|| format!("write {}", path.display()))
}
