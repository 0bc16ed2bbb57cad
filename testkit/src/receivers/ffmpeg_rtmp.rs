//! [`FfmpegRtmpListener`]: ffmpeg as a one-session RTMP server, remuxing to FLV.
//!
//! `ffmpeg -listen 1 -i rtmp://127.0.0.1:PORT/live/KEY -map 0 -c copy -copyts
//! -flush_packets 1 -f flv OUT`: the publisher's absolute timestamps are kept
//! (`-copyts`), so a test can see timestamps past 2^24 ms. ffmpeg accepts any stream
//! key (it only warns "Unexpected stream"), handles exactly one publish session and
//! exits when the publisher disconnects; [`FfmpegRtmpListener::restart`] starts a new
//! process on the same port writing the next file (`recordings()`).
//!
//! Readiness is checked through `/proc` (a probe connection would be accepted as the
//! one and only session and make ffmpeg exit).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use super::{DEFAULT_KEY, READY_TIMEOUT, START_ATTEMPTS, STOP_GRACE, tempdir};
use crate::child::Proc;
use crate::ports::{free_tcp_port, pid_listens_tcp};

/// `ffmpeg -listen 1` RTMP server recording one session per process to FLV.
pub struct FfmpegRtmpListener {
    dir: TempDir,
    port: u16,
    key: String,
    proc: Proc,
    files: Vec<PathBuf>,
}

impl FfmpegRtmpListener {
    /// Starts listening on a free port with stream key [`DEFAULT_KEY`].
    pub fn start() -> Result<Self> {
        Self::with_key(DEFAULT_KEY)
    }

    pub fn with_key(key: &str) -> Result<Self> {
        let dir = tempdir("testkit-ffrtmp-")?;
        let proc = Proc::new("ffmpeg rtmp listener", dir.path().join("ffmpeg.log"));
        let mut me = Self {
            dir,
            port: 0,
            key: key.to_owned(),
            proc,
            files: Vec::new(),
        };
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            me.port = free_tcp_port()?;
            match me.launch() {
                Ok(()) => return Ok(me),
                Err(e) => {
                    me.proc.stop(Duration::ZERO)?;
                    me.files.clear();
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("ffmpeg listener did not start")))
    }

    fn launch(&mut self) -> Result<()> {
        let out = self
            .dir
            .path()
            .join(format!("recording-{:03}.flv", self.files.len() + 1));
        let mut cmd = Command::new("ffmpeg");
        cmd.args([
            "-hide_banner",
            "-nostdin",
            "-nostats",
            "-loglevel",
            "warning",
        ])
        .args(["-listen", "1", "-i"])
        .arg(self.listen_url())
        .args(["-map", "0", "-c", "copy", "-copyts", "-flush_packets", "1"])
        .args(["-f", "flv", "-y"])
        .arg(&out);
        self.proc.spawn(cmd, None)?;
        self.files.push(out);
        let pid = self.proc.pid().context("ffmpeg pid")?;
        let port = self.port;
        self.proc
            .wait_ready(READY_TIMEOUT, || pid_listens_tcp(pid, port))
    }

    fn listen_url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live/{}", self.port, self.key)
    }

    /// `rtmp://127.0.0.1:PORT/live/KEY`, where the engine should publish.
    pub fn url(&self) -> String {
        self.listen_url()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The file the current (or last) process writes.
    pub fn recording_path(&self) -> Result<PathBuf> {
        self.files.last().cloned().context("no recording started")
    }

    /// All recording files, oldest first (one per process life).
    pub fn recordings(&self) -> Vec<PathBuf> {
        self.files.iter().filter(|p| p.exists()).cloned().collect()
    }

    /// Waits up to `timeout` for ffmpeg to finish by itself (the publisher
    /// disconnected and the FLV is complete). `true` if it did.
    pub fn wait_finished(&mut self, timeout: Duration) -> Result<bool> {
        self.proc.wait_exit(timeout)
    }

    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// Stops ffmpeg (SIGTERM lets it finish the FLV; SIGKILL after a grace period).
    pub fn stop(&mut self) -> Result<()> {
        self.proc.stop(STOP_GRACE)
    }

    /// Stops (if needed) and listens again on the same port, writing a new file.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        if self.files.len() >= 999 {
            bail!("too many restarts");
        }
        self.launch()
    }

    /// ffmpeg's stderr over all its lives.
    pub fn log(&self) -> String {
        self.proc.log()
    }

    pub fn log_path(&self) -> &Path {
        self.proc.log_path()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
