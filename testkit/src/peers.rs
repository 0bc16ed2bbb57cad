//! Real peers that *send* to the engine: an RTSP camera (GStreamer's RTSP server through
//! python3-gi), an ffmpeg publisher (RTMP, SRT caller, HTTP-FLV server, HLS segments), and
//! a "dead" TCP server that accepts and never answers.
//!
//! Each shows one solid [`Colour`], so the colour judge can tell at every output frame
//! whether the peer was on air. Processes are supervised like the receivers (killed on
//! drop, stderr in a log, readiness seen through `/proc`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::child::Proc;
use crate::palette::Colour;
use crate::ports::{free_tcp_port, pid_listens_tcp};
use crate::receivers::READY_TIMEOUT;

const CAMERA_SCRIPT: &str = include_str!("rtsp_camera.py");

/// Video codec of the test camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CameraCodec {
    H264,
    H265,
}

/// Options of an [`RtspCamera`].
#[derive(Clone, Debug)]
pub struct CameraOptions {
    pub codec: CameraCodec,
    pub colour: Colour,
    /// Digest authentication (user, password).
    pub auth: Option<(String, String)>,
    pub fps: u32,
    /// Each client gets this many seconds of pictures, then nothing (the connection stays).
    pub silent_after: Option<f64>,
    /// Picture size (default 320×180).
    pub size: (u32, u32),
    /// A sine of this frequency as AAC next to the picture (`None`: no sound).
    pub tone_hz: Option<u32>,
}

impl CameraOptions {
    pub fn new(codec: CameraCodec, colour: Colour) -> Self {
        CameraOptions {
            codec,
            colour,
            auth: None,
            fps: 30,
            silent_after: None,
            size: (320, 180),
            tone_hz: None,
        }
    }
}

/// A GStreamer RTSP server at `rtsp://127.0.0.1:PORT/cam`, a solid colour (320×180 unless
/// asked otherwise).
pub struct RtspCamera {
    opts: CameraOptions,
    port: u16,
    dir: TempDir,
    proc: Proc,
}

fn python() -> &'static str {
    // Debian's python3 has python3-gi; a pyenv shim on PATH may not.
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

impl RtspCamera {
    pub fn start(opts: CameraOptions) -> Result<RtspCamera> {
        let dir = tempfile::Builder::new()
            .prefix("testkit-camera-")
            .tempdir()
            .context("temp dir")?;
        std::fs::write(dir.path().join("rtsp_camera.py"), CAMERA_SCRIPT).context("script")?;
        let proc = Proc::new("rtsp-camera", dir.path().join("camera.log"));
        let mut cam = RtspCamera {
            opts,
            port: free_tcp_port()?,
            dir,
            proc,
        };
        cam.spawn()?;
        Ok(cam)
    }

    fn spawn(&mut self) -> Result<()> {
        let mut cmd = Command::new(python());
        cmd.arg(self.dir.path().join("rtsp_camera.py"))
            .arg(self.port.to_string())
            .arg(match self.opts.codec {
                CameraCodec::H264 => "h264",
                CameraCodec::H265 => "h265",
            })
            .arg(self.opts.colour.ffmpeg_hex())
            .args(["--fps", &self.opts.fps.to_string()])
            .args([
                "--size",
                &format!("{}x{}", self.opts.size.0, self.opts.size.1),
            ]);
        if let Some((u, p)) = &self.opts.auth {
            cmd.args(["--user", u, "--password", p]);
        }
        if let Some(t) = self.opts.tone_hz {
            cmd.args(["--tone", &t.to_string()]);
        }
        if let Some(s) = self.opts.silent_after {
            cmd.args(["--silent-after", &s.to_string()]);
        }
        self.proc.spawn(cmd, None)?;
        let pid = self.proc.pid().context("camera pid")?;
        let port = self.port;
        self.proc
            .wait_ready(READY_TIMEOUT, || pid_listens_tcp(pid, port))
    }

    /// `rtsp://127.0.0.1:PORT/cam` (no credentials: they go in the settings).
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/cam", self.port)
    }

    /// Kills the camera (connections drop at once).
    pub fn stop(&mut self) -> Result<()> {
        self.proc.stop(Duration::from_millis(500))
    }

    /// Starts it again on the same port; returns once it listens.
    pub fn start_again(&mut self) -> Result<()> {
        self.spawn()
    }

    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// A TCP server that accepts every connection and never sends a byte (a camera whose
/// firmware hung after `accept`).
pub struct DeadServer {
    port: u16,
    stop: Arc<AtomicBool>,
    /// Connections accepted so far.
    accepted: Arc<std::sync::atomic::AtomicU64>,
}

impl DeadServer {
    pub fn start() -> Result<DeadServer> {
        let l = TcpListener::bind("127.0.0.1:0").context("bind")?;
        l.set_nonblocking(true).context("nonblocking")?;
        let port = l.local_addr().context("addr")?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (s, a) = (stop.clone(), accepted.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((sock, _)) => {
                        a.fetch_add(1, Ordering::Relaxed);
                        held.push(sock);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(DeadServer {
            port,
            stop,
            accepted,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for DeadServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An ffmpeg process sending a solid colour and a tone, in real time (`-re`), with a key
/// frame every second: an RTMP publisher, an SRT caller, or an HTTP-FLV server
/// (`-listen 1`).
pub struct FfmpegSender {
    proc: Proc,
    _dir: TempDir,
}

impl FfmpegSender {
    /// Starts `ffmpeg … -f FORMAT URL` (FORMAT `flv` or `mpegts`), sending `seconds` of
    /// 320×180 25 fps video of `colour` and a 1 kHz tone. `extra` goes before the output.
    pub fn start(
        colour: Colour,
        seconds: u32,
        format: &str,
        url: &str,
        extra: &[&str],
    ) -> Result<FfmpegSender> {
        let dir = tempfile::Builder::new()
            .prefix("testkit-sender-")
            .tempdir()
            .context("temp dir")?;
        let mut proc = Proc::new("ffmpeg-sender", dir.path().join("ffmpeg.log"));
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-nostdin", "-loglevel", "info", "-re"])
            .args([
                "-f",
                "lavfi",
                "-i",
                &format!("color=c={}:s=320x180:r=25:d={seconds}", colour.ffmpeg_hex()),
            ])
            .args([
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency=1000:sample_rate=48000:d={seconds}"),
            ])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "25",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "64k",
            ])
            .args(extra)
            .args(["-f", format, url]);
        proc.spawn(cmd, None)?;
        Ok(FfmpegSender { proc, _dir: dir })
    }

    /// True while ffmpeg runs.
    pub fn running(&mut self) -> bool {
        self.proc.is_running()
    }

    pub fn stop(&mut self) -> Result<()> {
        self.proc.stop(Duration::from_secs(2))
    }

    /// Waits up to `timeout` for ffmpeg to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<bool> {
        self.proc.wait_exit(timeout)
    }

    pub fn log(&self) -> String {
        self.proc.log()
    }

    /// The log file (for a test's failure message).
    pub fn log_path(&self) -> PathBuf {
        self.proc.log_path().to_path_buf()
    }
}
