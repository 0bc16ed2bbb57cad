//! One supervised child process with its stderr captured to a log file.
//!
//! Used by the receivers: spawn, wait (bounded) until a readiness predicate holds,
//! stop gracefully (SIGTERM through the `kill` utility, then SIGKILL after a grace
//! period), and kill on drop. Every spawn appends a header line to the same log, so
//! the log of a restarted receiver shows all its lives.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const POLL: Duration = Duration::from_millis(20);
const SPAWN_MARKER: &str = "=== testkit: spawn";

/// Runs `cmd` to completion with stdin null and stdout/stderr captured; fails (with
/// the stderr tail) on a non-zero exit, and kills it and fails after `timeout`.
pub(crate) fn output_within(mut cmd: Command, timeout: Duration) -> Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {cmd:?}"))?;
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = reader(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err_t = reader(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().context("try_wait")? {
            break Some(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        sleep(POLL);
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    let err_tail = || {
        let e = String::from_utf8_lossy(&stderr);
        let chars: Vec<char> = e.chars().collect();
        chars[chars.len().saturating_sub(3000)..]
            .iter()
            .collect::<String>()
    };
    match status {
        None => bail!("{cmd:?} did not finish within {timeout:?}:\n{}", err_tail()),
        Some(st) if !st.success() => bail!("{cmd:?} failed ({st}):\n{}", err_tail()),
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
    }
}

pub(crate) struct Proc {
    name: String,
    log_path: PathBuf,
    child: Option<Child>,
}

impl Proc {
    pub(crate) fn new(name: &str, log_path: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            log_path,
            child: None,
        }
    }

    fn log_file(&self) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("open log {}", self.log_path.display()))
    }

    /// Spawns `cmd` with stdin null, stderr appended to the log, and stdout either
    /// written to `stdout_to` (truncated) or appended to the log.
    pub(crate) fn spawn(&mut self, mut cmd: Command, stdout_to: Option<&Path>) -> Result<()> {
        if self.child.is_some() {
            bail!("{}: already running", self.name);
        }
        let mut log = self.log_file()?;
        writeln!(log, "{SPAWN_MARKER} {cmd:?} ===").context("write log")?;
        let stdout = match stdout_to {
            Some(p) => {
                Stdio::from(File::create(p).with_context(|| format!("create {}", p.display()))?)
            }
            None => Stdio::from(log.try_clone().context("clone log fd")?),
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("{}: spawn {cmd:?}", self.name))?;
        self.child = Some(child);
        Ok(())
    }

    /// Polls `ready` until it holds, the child exits (error), or `timeout` passes (error).
    pub(crate) fn wait_ready(&mut self, timeout: Duration, ready: impl Fn() -> bool) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                bail!(
                    "{} exited ({status}) before it was ready; log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if ready() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} not ready after {timeout:?}; log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            sleep(POLL);
        }
    }

    /// `Some(status)` once the child has exited (or when none was started).
    pub(crate) fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            None => Ok(Some(ExitStatus::default())),
            Some(c) => c.try_wait().context("try_wait"),
        }
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the child to exit by itself; `true` if it did.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.try_wait()?.is_some() {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            sleep(POLL);
        }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Reaps the child.
    pub(crate) fn stop(&mut self, grace: Duration) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait().context("try_wait")?.is_none() {
            // std has no SIGTERM and the crate forbids unsafe: use kill(1).
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + grace;
            while child.try_wait().context("try_wait")?.is_none() {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    break;
                }
                sleep(POLL);
            }
        }
        child.wait().context("wait")?;
        Ok(())
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The log of the current (or last) life only.
    pub(crate) fn current_log(&self) -> String {
        let log = self.log();
        match log.rfind(SPAWN_MARKER) {
            Some(i) => log[i..].to_owned(),
            None => log,
        }
    }

    /// Polls `done(current_log)` until it holds; `false` after `timeout`.
    pub(crate) fn wait_log(&self, timeout: Duration, done: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.current_log()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(POLL);
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        let log = self.log();
        let start = log.len().saturating_sub(3000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(log.len());
        log[start..].to_owned()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
