//! Recordings of live windows (回放): where the engine records each window as it airs, the
//! disk quota that bounds them, listing them, and registering one as a catalog work so the
//! rundown can schedule it like any other.
//!
//! Owns: `[recording]` (`dir`, `quota`, `segment`) as parsed settings, the engine's
//! [`RecordPlanner`] (a directory per window: `feed<ID>-<YYYYMMDDTHHMMSSZ>`, UTC, the feed
//! found by its locator), the janitor (oldest finished windows deleted first until the
//! directory is under the quota; never a window being recorded), the listing read from
//! each directory's `recording.json`, and the registration (the segments concatenated to
//! one MP4 with ffmpeg `-c copy` through the concat demuxer, time-boxed; a work of the
//! feed's unit titled with the feed's title and the window's Shanghai date and time, the
//! MP4 attached). Does not own: recording itself (`playout::source::live::record`), the
//! catalog's probe, the HTTP routes (`web::recordings`).
//!
//! Directories are the truth: nothing about recordings is in the database until one is
//! registered as a work — and the as-run row of the live airing it recorded, which names it
//! once it is finished: the planner reports every finished window ([`Finished`]) to the
//! on-air controller, which matches it to its airings (`air::controller`).

pub mod cli;

use crate::catalog::Catalog;
use crate::catalog::model::{NewWork, ProductionStatus};
use crate::store::{Error, Result};
use chrono::{DateTime, TimeZone, Utc};
use playout::source::live::{Manifest, RecordPlan, RecordPlanner};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// Default segment length.
pub const DEFAULT_SEGMENT: Duration = Duration::from_secs(600);
/// Default quota: 200 GiB.
pub const DEFAULT_QUOTA: u64 = 200 << 30;
/// The concatenated file a registered window's work plays.
pub const JOINED: &str = "window.mp4";
/// How long joining a window's segments may take.
const JOIN_LIMIT: Duration = Duration::from_secs(600);

/// `[recording]`: where live windows are recorded and how much disk they may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingConfig {
    /// The directory (absolute) holding a directory per window.
    pub dir: PathBuf,
    /// Most bytes all windows together may use; the janitor deletes the oldest finished
    /// windows beyond it.
    pub quota_bytes: u64,
    /// Target segment length (split on the next key frame after it).
    pub segment: Duration,
}

/// Parses a size: a number of bytes, or a number with `KiB`/`MiB`/`GiB`/`TiB` (or
/// `KB`/`MB`/`GB`/`TB`, 1000-based; `K`/`M`/`G`/`T` taken as binary).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("「{s}」不是容量（例如 \"200 GiB\"）"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        other => return Err(format!("容量单位「{other}」不认识（用 MiB、GiB、TiB）")),
    };
    let v = n * mult;
    if !(v.is_finite() && (1.0..1.8e19).contains(&v)) {
        return Err(format!("「{s}」不是有效容量"));
    }
    Ok(v as u64)
}

/// Parses a duration: whole seconds, or a number with `s`, `min`/`m` or `h`.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("「{s}」不是时长（例如 \"10 min\"）"))?;
    let secs = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" => n,
        "m" | "min" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        other => return Err(format!("时长单位「{other}」不认识（用 s、min、h）")),
    };
    Ok(Duration::from_secs(secs))
}

/// The name of a window's directory: `feed<ID>-<YYYYMMDDTHHMMSSZ>` (the feed's catalog
/// id), or `live-<locator, sanitized>-<…>` for a locator no feed names.
pub fn window_name(feed: Option<i64>, locator: &str, at: DateTime<Utc>) -> String {
    let stamp = at.format("%Y%m%dT%H%M%SZ");
    match feed {
        Some(id) => format!("feed{id}-{stamp}"),
        None => {
            let masked = playout::output::mask::mask_url(locator);
            let clean: String = masked
                .split("://")
                .last()
                .unwrap_or("")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .take(40)
                .collect();
            format!("live-{clean}-{stamp}")
        }
    }
}

/// The feed id and the window's start named by a directory name, if it is one of ours.
pub fn parse_window_name(name: &str) -> Option<(Option<i64>, DateTime<Utc>)> {
    let (head, stamp) = name.rsplit_once('-')?;
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()?;
    let at = Utc.from_utc_datetime(&at);
    if let Some(id) = head.strip_prefix("feed") {
        return Some((Some(id.parse().ok()?), at));
    }
    head.starts_with("live-").then_some((None, at))
}

/// What the planner knows while the daemon runs: feeds by locator, windows recording.
#[derive(Debug, Default)]
struct PlannerState {
    /// Feed ids by their locator exactly as the rundown plays it.
    feeds: HashMap<String, i64>,
    /// Directories being recorded now.
    active: HashSet<PathBuf>,
    /// The locator (as cued) each directory being recorded records.
    locators: HashMap<PathBuf, String>,
}

/// A window whose recording finished (the item left the air and the source closed, or the
/// recording failed): what the as-run row of its airing says. Times are on the programme
/// clock (a rehearsal's offset applied), like the as-run's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The window's directory name under `[recording] dir`.
    pub name: String,
    /// The locator recorded, exactly as cued (in memory only: it may hold a secret).
    pub locator: String,
    /// When the window went on air, UTC ms.
    pub start_ms: i64,
    /// When it left the air (or the recording stopped), UTC ms.
    pub end_ms: i64,
    /// Segments written.
    pub segments: u32,
    /// Bytes of the directory now (segments and manifest), as [`Recordings::list`] gives
    /// them until a joined MP4 is added.
    pub bytes: u64,
}

/// The engine's planner and the janitor's view of the windows being recorded.
#[derive(Clone, Debug)]
pub struct Recordings {
    config: RecordingConfig,
    /// The programme clock's offset from the wall clock (`[air] clock_offset_ms`, a
    /// rehearsal): names and listed times are programme time.
    offset_ms: i64,
    state: Arc<RwLock<PlannerState>>,
    /// Recordings that stopped on an error, for the operator (newest last, bounded).
    failures: Arc<Mutex<Vec<(String, String)>>>,
    /// Where finished windows are reported (the on-air controller), if anywhere.
    finished: Option<tokio::sync::mpsc::Sender<Finished>>,
}

/// One recorded window, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecordingView {
    /// 目录名（窗口标识）The window's directory name (its id in the API).
    pub name: String,
    /// 慢直播信号编号 The feed's catalog id, when the locator is a feed's.
    pub feed: Option<i64>,
    /// 信号地址（已遮蔽）The locator, masked.
    pub source: String,
    /// 开始（UTC）When the window went on air.
    pub start: DateTime<Utc>,
    /// 结束（UTC）When it left the air; `None` while recording (or after a crash).
    pub end: Option<DateTime<Utc>>,
    /// 字节数 Bytes on disk (segments and the joined MP4, if any).
    pub size: u64,
    /// 分段数 Segments written.
    pub segments: usize,
    /// 正在录制 Being recorded now.
    pub recording: bool,
    /// 完整：已结束且无错误 Ended with no error.
    pub complete: bool,
    /// 录制中断原因 Why it stopped early, if it did.
    pub error: Option<String>,
    /// 连接次数 Connections the window spans (a camera restart adds one).
    pub connections: u32,
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl Recordings {
    /// Recordings under `config`.
    pub fn new(config: RecordingConfig) -> Self {
        Recordings {
            config,
            offset_ms: 0,
            state: Arc::default(),
            failures: Arc::default(),
            finished: None,
        }
    }

    /// Reports every finished window to `to` (the on-air controller, for the as-run). A
    /// report that finds the channel full is dropped with a warning (the engine's thread
    /// never waits).
    pub fn report_finished(mut self, to: tokio::sync::mpsc::Sender<Finished>) -> Self {
        self.finished = Some(to);
        self
    }

    /// Names and lists windows on a programme clock `ms` from the wall clock (a rehearsal).
    pub fn with_offset_ms(mut self, ms: i64) -> Self {
        self.offset_ms = ms;
        self
    }

    /// The settings.
    pub fn config(&self) -> &RecordingConfig {
        &self.config
    }

    /// Replaces the feeds known by locator (from the catalog).
    pub fn set_feeds(&self, feeds: impl IntoIterator<Item = (String, i64)>) {
        if let Ok(mut s) = self.state.write() {
            s.feeds = feeds.into_iter().collect();
        }
    }

    /// Reloads the feeds from the catalog.
    pub async fn reload_feeds(&self, catalog: &Catalog) -> Result<()> {
        let feeds = crate::rundown_db::source::feeds(catalog).await?;
        self.set_feeds(feeds.into_iter().map(|f| (f.url, f.id)));
        Ok(())
    }

    /// Directories being recorded now.
    pub fn active(&self) -> HashSet<PathBuf> {
        self.state
            .read()
            .map(|s| s.active.clone())
            .unwrap_or_default()
    }

    /// Recordings that stopped on an error: (window, reason).
    pub fn failures(&self) -> Vec<(String, String)> {
        self.failures.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Every window under the directory, newest first.
    pub fn list(&self) -> Vec<RecordingView> {
        let shift = chrono::Duration::milliseconds(self.offset_ms);
        let mut l = list(&self.config.dir, &self.active());
        for r in &mut l {
            r.start += shift;
            r.end = r.end.map(|e| e + shift);
        }
        l
    }

    /// One window by its directory name.
    pub fn get(&self, name: &str) -> Result<RecordingView> {
        self.list()
            .into_iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Error::not_found("录像", name))
    }

    /// Keeps the directory under the quota (see [`janitor`]).
    pub fn sweep(&self) -> Vec<String> {
        janitor(&self.config.dir, self.config.quota_bytes, &self.active())
    }
}

impl RecordPlanner for Recordings {
    fn plan(&self, locator: &str, at: SystemTime) -> Option<RecordPlan> {
        let at: DateTime<Utc> =
            DateTime::<Utc>::from(at) + chrono::Duration::milliseconds(self.offset_ms);
        let Ok(mut s) = self.state.write() else {
            return None;
        };
        let feed = s.feeds.get(locator).copied();
        let dir = self.config.dir.join(window_name(feed, locator, at));
        s.active.insert(dir.clone());
        s.locators.insert(dir.clone(), locator.to_string());
        Some(RecordPlan {
            dir,
            segment: self.config.segment,
        })
    }

    fn ended(&self, dir: &Path, manifest: &Manifest) {
        let locator = match self.state.write() {
            Ok(mut s) => {
                s.active.remove(dir);
                s.locators.remove(dir)
            }
            Err(_) => None,
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let (Some(to), Some(locator)) = (&self.finished, locator) {
            let end = manifest
                .ended_unix_ms
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
            let f = Finished {
                name: name.clone(),
                locator,
                start_ms: manifest.started_unix_ms + self.offset_ms,
                end_ms: end + self.offset_ms,
                segments: u32::try_from(manifest.segments.len()).unwrap_or(u32::MAX),
                bytes: dir_size(dir),
            };
            if let Err(e) = to.try_send(f) {
                tracing::warn!(window = %name, error = %e,
                    "finished recording not reported: its as-run row will not name it");
            }
        }
        if let Some(e) = &manifest.error {
            tracing::error!(window = %name, source = %manifest.source, reason = %e,
                "直播录像中断（播出不受影响）");
            if let Ok(mut f) = self.failures.lock() {
                f.push((name, e.clone()));
                let n = f.len();
                if n > 100 {
                    f.drain(..n - 100);
                }
            }
        }
    }
}

/// Every window under `root` (directories with a readable manifest), newest first;
/// `active` are the ones being recorded.
pub fn list(root: &Path, active: &HashSet<PathBuf>) -> Vec<RecordingView> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let path = e.path();
        if !path.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(m) = Manifest::read(&path) else {
            continue;
        };
        let recording = active.contains(&path);
        out.push(RecordingView {
            feed: parse_window_name(&name).and_then(|(f, _)| f),
            name,
            source: m.source.clone(),
            start: from_ms(m.started_unix_ms),
            end: m.ended_unix_ms.map(from_ms),
            size: dir_size(&path),
            segments: m.segments.len(),
            recording,
            complete: !recording && m.ended_unix_ms.is_some() && m.error.is_none(),
            error: m.error.clone(),
            connections: m.connections,
        });
    }
    out.sort_by(|a, b| b.start.cmp(&a.start).then(b.name.cmp(&a.name)));
    out
}

/// Keeps `root` under `quota` bytes: deletes the oldest windows first, never one in
/// `active`; returns the names deleted (each logged). A window being recorded can push the
/// total over the quota: it is never touched, the older ones go.
pub fn janitor(root: &Path, quota: u64, active: &HashSet<PathBuf>) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    // (start, name, path, size): by the manifest's start, else the name's.
    let mut windows: Vec<(i64, String, PathBuf, u64)> = Vec::new();
    let mut total: u64 = 0;
    for e in rd.flatten() {
        let path = e.path();
        if !path.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let size = dir_size(&path);
        total = total.saturating_add(size);
        let start = Manifest::read(&path)
            .map(|m| m.started_unix_ms)
            .ok()
            .or_else(|| parse_window_name(&name).map(|(_, t)| t.timestamp_millis()));
        // Not ours (no manifest, no window name): counted, never deleted.
        let Some(start) = start else {
            continue;
        };
        if !active.contains(&path) {
            windows.push((start, name, path, size));
        }
    }
    windows.sort();
    let mut deleted = Vec::new();
    for (_, name, path, size) in windows {
        if total <= quota {
            break;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                total = total.saturating_sub(size);
                tracing::info!(window = %name, bytes = size, quota, "录像超出配额，删除最早的窗口");
                deleted.push(name);
            }
            Err(e) => tracing::warn!(window = %name, error = %e, "录像窗口无法删除"),
        }
    }
    deleted
}

/// Joins a window's segments into `dir/window.mp4` (ffmpeg, concat demuxer, `-c copy`,
/// at most [`JOIN_LIMIT`]); returns its path. An existing joined file is kept.
pub async fn join(dir: &Path, m: &Manifest) -> Result<PathBuf> {
    let out = dir.join(JOINED);
    if out.is_file() {
        return Ok(out);
    }
    if m.segments.is_empty() {
        return Err(Error::Conflict("该录像没有任何分段，无法登记".into()));
    }
    let list = dir.join("segments.txt");
    let mut text = String::new();
    for s in &m.segments {
        if s.contains('\'') || s.contains('/') || !dir.join(s).is_file() {
            continue;
        }
        text.push_str(&format!("file '{s}'\n"));
    }
    if text.is_empty() {
        return Err(Error::Conflict("该录像的分段文件都不在了，无法登记".into()));
    }
    std::fs::write(&list, text)
        .map_err(|e| Error::Unavailable(format!("无法写入 {}：{e}", list.display())))?;
    let tmp = dir.join("window.part.mp4");
    let mut cmd = tokio::process::Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .args(["-map", "0", "-c", "copy", "-movflags", "+faststart"])
        .args(["-f", "mp4"])
        .arg(&tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| Error::Unavailable(format!("无法运行 ffmpeg：{e}")))?;
    let result = tokio::time::timeout(JOIN_LIMIT, child.wait_with_output()).await;
    let _ = std::fs::remove_file(&list);
    let output = match result {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(Error::Unavailable(format!("ffmpeg 运行失败：{e}"))),
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Unavailable(format!(
                "合并录像分段超过 {} 秒，已放弃",
                JOIN_LIMIT.as_secs()
            )));
        }
    };
    if !output.status.success() {
        let _ = std::fs::remove_file(&tmp);
        let err = String::from_utf8_lossy(&output.stderr);
        let last = err.lines().last().unwrap_or("").to_string();
        return Err(Error::Unavailable(format!("合并录像分段失败：{last}")));
    }
    std::fs::rename(&tmp, &out)
        .map_err(|e| Error::Unavailable(format!("无法保存 {}：{e}", out.display())))?;
    Ok(out)
}

/// A registered window: the work created and the file attached.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    /// 作品编号 The work's id.
    pub work_id: i64,
    /// 作品名称 Its title.
    pub title: String,
    /// 文件 The joined MP4 (absolute path), attached to the work.
    pub file: String,
    /// 媒体文件编号 The attached file's id (probe it with `catalog probe`).
    pub file_id: i64,
}

/// Registers the window `name` as a catalog work for 回放: joins its segments to one MP4,
/// creates a work of the feed's unit titled 「<feed title> 回放 <Shanghai date time>」 in
/// `categories` (the edition's category ids), and attaches the MP4. Only a complete window
/// of a known feed can be registered.
pub async fn register(
    rec: &Recordings,
    catalog: &Catalog,
    name: &str,
    categories: Vec<u8>,
    actor: &str,
) -> Result<Registered> {
    let view = rec.get(name)?;
    if view.recording {
        return Err(Error::Conflict(format!(
            "录像「{name}」仍在录制，结束后才能登记"
        )));
    }
    let Some(feed_id) = view.feed else {
        return Err(Error::Conflict(format!(
            "录像「{name}」不属于任何慢直播信号，无法登记为作品"
        )));
    };
    let feed = crate::rundown_db::source::feeds(catalog)
        .await?
        .into_iter()
        .find(|f| f.id == feed_id)
        .ok_or_else(|| Error::not_found("慢直播信号", feed_id))?;
    let dir = rec.config.dir.join(name);
    let m = Manifest::read(&dir).map_err(Error::Unavailable)?;
    let file = join(&dir, &m).await?;
    let local = view
        .start
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M");
    let title: String = format!("{} 回放 {local}", feed.title);
    let duration_ms = view
        .end
        .map(|e| (e - view.start).num_milliseconds())
        .filter(|d| *d > 0);
    let work = NewWork {
        unit_id: feed.unit_id,
        title: title.chars().take(100).collect(),
        categories,
        declared_duration_ms: duration_ms,
        copyright_holder: Some(feed.copyright_holder.clone()),
        summary: Some(format!(
            "慢直播「{}」{local} 时段的录像（回放）",
            feed.title
        )),
        production_status: ProductionStatus::Highlights,
        due_date: None,
        ai_generated: false,
        has_subtitles: false,
        submitted_on: None,
    };
    let w = catalog.create_work(&work, actor).await?;
    let location = file.display().to_string();
    let f = catalog.attach_file(w.id, &location).await?;
    tracing::info!(window = %name, work = w.id, file = %location, "录像已登记为回放作品");
    Ok(Registered {
        work_id: w.id,
        title: w.title.clone(),
        file: location,
        file_id: f.id,
    })
}

#[cfg(test)]
mod tests;
