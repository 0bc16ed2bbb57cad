//! [`SrtListener`]: `srt-live-transmit` in listener mode writing the raw MPEG-TS bytes.
//!
//! `srt-live-transmit -ll:note 'srt://127.0.0.1:PORT?mode=listener[&latency=..]
//! [&passphrase=..&pbkeylen=..]' file://con > recording-NNN.ts` — no remux, so the file
//! holds exactly the TS packets the caller sent (raw 33-bit PTS included, see
//! [`crate::probe::ts_raw_pts`]).
//!
//! Behaviour measured here (srt-tools 1.5.1): with the default auto-reconnect, the
//! listener keeps running after a caller disconnects and accepts the next caller,
//! *appending* to the same file ([`SrtListener::accepted_connections`] counts them);
//! [`SrtListener::restart`] starts a new process and file instead. The bytes reach the
//! file as they arrive (no stdout buffering to lose). SIGTERM does not stop
//! srt-live-transmit promptly, so `stop()` kills it after a short grace period.
//! An ffmpeg caller that closes its SRT socket drops the last ~0.25 s still in
//! flight (live mode has no linger), so do not expect the very tail of a stream.
//!
//! `streamid` is only put into [`SrtListener::caller_url`]: srt-live-transmit accepts
//! any stream id and does not log it, so the listener cannot check it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use super::{READY_TIMEOUT, START_ATTEMPTS, tempdir};
use crate::child::Proc;
use crate::ports::{free_udp_port, pid_binds_udp};

/// srt-live-transmit does not exit promptly on SIGTERM; don't wait long for it.
const SRT_STOP_GRACE: Duration = Duration::from_millis(300);

/// Options for [`SrtListener`].
#[derive(Clone, Debug, Default)]
pub struct SrtListenerBuilder {
    passphrase: Option<String>,
    pbkeylen: Option<u32>,
    streamid: Option<String>,
    latency_ms: Option<u32>,
}

impl SrtListenerBuilder {
    /// Encryption passphrase (10–79 characters). Sets `pbkeylen` 16 unless given.
    pub fn passphrase(mut self, p: &str) -> Self {
        self.passphrase = Some(p.to_owned());
        self
    }

    /// Key length in bytes: 16, 24 or 32.
    pub fn pbkeylen(mut self, n: u32) -> Self {
        self.pbkeylen = Some(n);
        self
    }

    /// Stream id the caller should send (informative only, see the module docs).
    pub fn streamid(mut self, s: &str) -> Self {
        self.streamid = Some(s.to_owned());
        self
    }

    /// SRT latency in milliseconds (srt default: 120).
    pub fn latency_ms(mut self, ms: u32) -> Self {
        self.latency_ms = Some(ms);
        self
    }

    pub fn start(self) -> Result<SrtListener> {
        if let Some(p) = &self.passphrase
            && !(10..=79).contains(&p.len())
        {
            bail!("SRT passphrase must be 10..=79 characters, got {}", p.len());
        }
        if let Some(k) = self.pbkeylen
            && ![16, 24, 32].contains(&k)
        {
            bail!("SRT pbkeylen must be 16, 24 or 32, got {k}");
        }
        let dir = tempdir("testkit-srt-")?;
        let proc = Proc::new("srt-live-transmit", dir.path().join("srt.log"));
        let mut me = SrtListener {
            dir,
            port: 0,
            opts: self,
            proc,
            files: Vec::new(),
        };
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            me.port = free_udp_port()?;
            match me.launch() {
                Ok(()) => return Ok(me),
                Err(e) => {
                    me.proc.stop(Duration::ZERO)?;
                    me.files.clear();
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("srt-live-transmit did not start")))
    }
}

/// `srt-live-transmit` SRT listener recording raw TS bytes.
pub struct SrtListener {
    dir: TempDir,
    port: u16,
    opts: SrtListenerBuilder,
    proc: Proc,
    files: Vec<PathBuf>,
}

impl SrtListener {
    /// A listener without encryption on a free port.
    pub fn start() -> Result<Self> {
        Self::builder().start()
    }

    pub fn builder() -> SrtListenerBuilder {
        SrtListenerBuilder::default()
    }

    fn crypto_params(&self) -> Vec<String> {
        let mut q = Vec::new();
        if let Some(p) = &self.opts.passphrase {
            q.push(format!("passphrase={p}"));
            q.push(format!("pbkeylen={}", self.opts.pbkeylen.unwrap_or(16)));
        }
        q
    }

    fn launch(&mut self) -> Result<()> {
        let mut q = vec!["mode=listener".to_owned()];
        if let Some(l) = self.opts.latency_ms {
            q.push(format!("latency={l}"));
        }
        q.extend(self.crypto_params());
        let uri = format!("srt://127.0.0.1:{}?{}", self.port, q.join("&"));
        let out = self
            .dir
            .path()
            .join(format!("recording-{:03}.ts", self.files.len() + 1));
        let mut cmd = Command::new("srt-live-transmit");
        cmd.arg("-ll:note").arg(uri).arg("file://con");
        self.proc.spawn(cmd, Some(&out))?;
        self.files.push(out);
        let pid = self.proc.pid().context("srt-live-transmit pid")?;
        let port = self.port;
        self.proc
            .wait_ready(READY_TIMEOUT, || pid_binds_udp(pid, port))
    }

    /// `srt://127.0.0.1:PORT` (no options).
    pub fn url(&self) -> String {
        format!("srt://127.0.0.1:{}", self.port)
    }

    /// `url()` plus the query a caller needs (`passphrase`, `pbkeylen`, `streamid`),
    /// in the form ffmpeg's SRT protocol accepts. (ffmpeg's `latency` is in µs, so the
    /// latency is left out.)
    pub fn caller_url(&self) -> String {
        let mut q = self.crypto_params();
        if let Some(s) = &self.opts.streamid {
            q.push(format!("streamid={s}"));
        }
        if q.is_empty() {
            self.url()
        } else {
            format!("{}?{}", self.url(), q.join("&"))
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn passphrase(&self) -> Option<&str> {
        self.opts.passphrase.as_deref()
    }

    pub fn streamid(&self) -> Option<&str> {
        self.opts.streamid.as_deref()
    }

    /// The file the current (or last) process writes.
    pub fn recording_path(&self) -> Result<PathBuf> {
        self.files.last().cloned().context("no recording started")
    }

    /// All recording files, oldest first (one per process life).
    pub fn recordings(&self) -> Vec<PathBuf> {
        self.files.iter().filter(|p| p.exists()).cloned().collect()
    }

    /// Caller connections accepted so far, over all lives (from the log).
    pub fn accepted_connections(&self) -> usize {
        self.proc
            .log()
            .matches("Accepted SRT source connection")
            .count()
    }

    /// Caller disconnections seen so far, over all lives (from the log): a caller that
    /// closes cleanly is "disconnected"; one whose close handshake did not finish (a loaded
    /// machine) is "Connection was broken" — gone either way.
    pub fn disconnections(&self) -> usize {
        disconnections_in(&self.proc.log())
    }

    /// Waits (up to `timeout`) until every caller of the current life has
    /// disconnected (srt-live-transmit has then written all it got). Call it after the
    /// caller finished and before [`SrtListener::stop`], so the tail still inside the
    /// SRT latency buffer is not lost.
    pub fn wait_disconnected(&self, timeout: Duration) -> Result<()> {
        let gone = |log: &str| {
            disconnections_in(log) >= log.matches("Accepted SRT source connection").count()
        };
        if !self.proc.wait_log(timeout, gone) {
            bail!(
                "SRT caller still connected after {timeout:?}; log:\n{}",
                self.proc.log_tail()
            );
        }
        Ok(())
    }

    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// Stops the listener; the file then holds what was written until now (see
    /// [`SrtListener::wait_disconnected`]).
    pub fn stop(&mut self) -> Result<()> {
        self.proc.stop(SRT_STOP_GRACE)
    }

    /// Stops (if needed) and listens again on the same port, writing a new file.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.launch()
    }

    /// srt-live-transmit's stderr over all its lives.
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

/// Disconnections (clean or broken) in a srt-live-transmit log.
fn disconnections_in(log: &str) -> usize {
    log.matches("SRT source disconnected").count() + log.matches("Connection was broken").count()
}
