//! [`NginxRtmp`]: nginx with the RTMP module as an RTMP server that records everything.
//!
//! nginx runs in the foreground as a single process (`daemon off; master_process off;`)
//! with its own prefix, config, pid file and record directory in a temp dir, so killing
//! the child really frees the port (with a master process, a SIGKILLed master leaves a
//! worker that keeps the socket). `user root;` is in the config because workers would
//! otherwise try to switch to `nobody` when started as root; as non-root nginx only warns.
//!
//! Recording: `record all; record_unique on;` — one FLV per publish session, named
//! `KEY-<unix seconds>.flv` in [`NginxRtmp::recording_dir`]. Two sessions starting
//! within the same wall-clock second get the same name and the second overwrites the
//! first; keep reconnects ≥ 1 s apart (as [`NginxRtmp::restart`] does) or use
//! different keys.
//!
//! **Timestamps (measured with nginx 1.22.1 + nginx-rtmp 1.2.2 here):** `record` keeps
//! the publisher's absolute RTMP timestamps; it does not rebase a session to 0. A
//! stream published by ffmpeg with `-output_ts_offset 16775` is recorded from
//! 16774979 ms (AAC priming) to past 16777216 ms (2^24 ms, where RTMP switches to
//! the extended timestamp) with uniform 40 ms video steps. The test
//! `nginx_keeps_absolute_timestamps_past_2_pow_24_ms` checks this. (Live *playback*
//! from nginx to a subscriber is a different path and is not covered here.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use super::{DEFAULT_KEY, READY_TIMEOUT, START_ATTEMPTS, STOP_GRACE, files_with_ext, tempdir};
use crate::child::Proc;
use crate::ports::{free_tcp_port, pid_listens_tcp};

/// The RTMP module shipped by Debian's `libnginx-mod-rtmp`.
pub const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// nginx + nginx-rtmp on `127.0.0.1:PORT`, application `live`, recording every stream.
pub struct NginxRtmp {
    dir: TempDir,
    port: u16,
    key: String,
    proc: Proc,
}

impl NginxRtmp {
    /// Starts nginx on a free port with stream key [`DEFAULT_KEY`].
    pub fn start() -> Result<Self> {
        Self::with_key(DEFAULT_KEY)
    }

    /// Starts nginx on a free port; `url()` uses `key` as the stream key.
    pub fn with_key(key: &str) -> Result<Self> {
        let dir = tempdir("testkit-nginx-")?;
        fs::create_dir(dir.path().join("rec")).context("create rec dir")?;
        let proc = Proc::new("nginx", dir.path().join("nginx.log"));
        let mut me = Self {
            dir,
            port: 0,
            key: key.to_owned(),
            proc,
        };
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            me.port = free_tcp_port()?;
            match me.launch() {
                Ok(()) => return Ok(me),
                Err(e) => {
                    me.proc.stop(Duration::ZERO)?;
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("nginx did not start")))
    }

    fn conf(&self) -> String {
        let d = self.dir.path().display();
        let port = self.port;
        format!(
            "load_module {RTMP_MODULE};\n\
             user root;\n\
             daemon off;\n\
             master_process off;\n\
             pid {d}/nginx.pid;\n\
             error_log stderr info;\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{\n\
             \x20 server {{\n\
             \x20   listen 127.0.0.1:{port};\n\
             \x20   chunk_size 4096;\n\
             \x20   application live {{\n\
             \x20     live on;\n\
             \x20     record all;\n\
             \x20     record_path {d}/rec;\n\
             \x20     record_unique on;\n\
             \x20   }}\n\
             \x20 }}\n\
             }}\n"
        )
    }

    fn launch(&mut self) -> Result<()> {
        let d = self.dir.path();
        let conf = d.join("nginx.conf");
        fs::write(&conf, self.conf()).context("write nginx.conf")?;
        let mut cmd = Command::new("nginx");
        cmd.arg("-e")
            .arg("stderr")
            .arg("-p")
            .arg(format!("{}/", d.display()))
            .arg("-c")
            .arg(&conf);
        self.proc.spawn(cmd, None)?;
        let pid = self.proc.pid().context("nginx pid")?;
        let port = self.port;
        self.proc
            .wait_ready(READY_TIMEOUT, || pid_listens_tcp(pid, port))
    }

    /// `rtmp://127.0.0.1:PORT/live/KEY`, where the engine should publish.
    pub fn url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live/{}", self.port, self.key)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stream_key(&self) -> &str {
        &self.key
    }

    /// Where nginx writes its FLV files.
    pub fn recording_dir(&self) -> PathBuf {
        self.dir.path().join("rec")
    }

    /// All recordings (one per publish session, any key), oldest first.
    pub fn recordings(&self) -> Result<Vec<PathBuf>> {
        let mut files = files_with_ext(&self.recording_dir(), "flv")?;
        // Names are `KEY-<unix seconds>.flv`: order by that number, then by name.
        files.sort_by_key(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let secs: u64 = stem
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            (secs, stem)
        });
        Ok(files)
    }

    /// The newest recording; an error (with the nginx log) when there is none yet.
    pub fn recording_path(&self) -> Result<PathBuf> {
        match self.recordings()?.pop() {
            Some(p) => Ok(p),
            None => bail!(
                "nginx has recorded nothing yet; log:\n{}",
                self.proc.log_tail()
            ),
        }
    }

    /// Number of publish sessions nginx has accepted so far (from its info log).
    pub fn publish_count(&self) -> usize {
        self.proc.log().matches("publish: name=").count()
    }

    /// Waits (up to `timeout`) until every RTMP connection of the current nginx life
    /// has disconnected — after the publisher is done, nginx has then read and
    /// recorded everything. Call it before [`NginxRtmp::stop`] or judging a file.
    pub fn wait_idle(&self, timeout: Duration) -> Result<()> {
        let idle = |log: &str| {
            log.matches(" disconnect,").count() >= log.matches(" connect: app=").count()
        };
        if !self.proc.wait_log(timeout, idle) {
            bail!(
                "nginx still has connections after {timeout:?}; log:\n{}",
                self.proc.log_tail()
            );
        }
        Ok(())
    }

    /// Stops nginx (SIGTERM, then SIGKILL after a grace period). Publishers see the
    /// connection drop. Data still in flight may be lost: after a publisher has
    /// finished, call [`NginxRtmp::wait_idle`] first.
    pub fn stop(&mut self) -> Result<()> {
        self.proc.stop(STOP_GRACE)
    }

    /// Starts nginx again on the same port after [`NginxRtmp::stop`].
    pub fn start_again(&mut self) -> Result<()> {
        if self.proc.is_running() {
            bail!("nginx is still running");
        }
        self.launch()
    }

    /// Stops nginx, waits `pause` (at least 1 s so the next recording gets its own
    /// file name), and starts it again on the same port.
    pub fn restart(&mut self, pause: Duration) -> Result<()> {
        self.stop()?;
        sleep(pause.max(Duration::from_secs(1)));
        self.start_again()
    }

    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// nginx's stderr (info level, includes connect/publish lines) over all its lives.
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
