//! Real receivers on free loopback ports, each recording what it receives.
//!
//! Every receiver owns its server process (killed on drop), captures the process's
//! stderr to a log file in its own temp dir (`log()`), waits (bounded) until *its own*
//! process is listening (checked through `/proc`, never with a probe connection), and
//! exposes `url()` for the engine and `recording_path()` / `recordings()` for the
//! judges in [`crate::probe`].
//!
//! | receiver | server | recording | one file per |
//! |---|---|---|---|
//! | [`NginxRtmp`] | nginx + rtmp module | FLV, `record all` | publish session |
//! | [`FfmpegRtmpListener`] | `ffmpeg -listen 1` | FLV, `-c copy -copyts` | process life (one session) |
//! | [`SrtListener`] | `srt-live-transmit` | raw MPEG-TS bytes | process life (reconnects append) |

mod ffmpeg_rtmp;
mod nginx;
mod srt;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

pub use ffmpeg_rtmp::FfmpegRtmpListener;
pub use nginx::NginxRtmp;
pub use srt::{SrtListener, SrtListenerBuilder};

/// Upper bound for a server to come up (generous: the machine may be loaded).
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `stop()` waits after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How often `start()` tries a fresh port when the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// Default stream key used by the RTMP receivers.
pub const DEFAULT_KEY: &str = "test";

/// Non-empty files with extension `ext` in `dir`, sorted by `key`.
fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("read_dir {}", dir.display()))? {
        let p = e.context("dir entry")?.path();
        if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    Ok(out)
}

fn tempdir(prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .context("create temp dir")
}
