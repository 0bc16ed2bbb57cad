//! Resumable video uploads (报送 of finished videos, up to the edition's 4 GB): the bytes on
//! disk under one directory, one `uploads` row per upload whose `offset_bytes` is written as
//! chunks arrive, so an interrupted upload resumes where it stopped, also after the daemon
//! restarts. Refused before any byte is sent when `Upload-Length` is over the edition's
//! limit, over the unit's quota, or more than the disk has free. When the last byte is in,
//! the file is hashed (SHA-256), attached to its work and probed against the edition's
//! technical rules (技术审核) in the background.
//!
//! - `tus`: the tus 1.0 protocol's headers, sans-IO;
//! - `client`: the CLI's uploader (`catalog upload FILE --server …`);
//! - the HTTP edge is `web::upload`.
//!
//! It does not decide who may upload: the caller passes the unit a partner is scoped to.

pub mod client;
pub mod tus;

use crate::catalog::Catalog;
use crate::catalog::probe::ProbeOptions;
use crate::store::{Error, now_ms};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

/// Where uploads go and how much they may take.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Directory of the uploaded files (created when missing).
    pub dir: PathBuf,
    /// Most bytes one unit may have uploaded or reserved (default 200 GiB).
    pub unit_quota_bytes: u64,
    /// Bytes kept free on the disk after an upload is reserved (default 1 GiB).
    pub keep_free_bytes: u64,
    /// Probe settings for the automatic 技术审核 of a complete upload.
    pub probe: ProbeOptions,
    /// Today's date in Asia/Shanghai (injected: tests put "now" where they need it).
    pub today: fn() -> chrono::NaiveDate,
}

/// Today in Asia/Shanghai, from the system clock.
pub fn shanghai_today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

impl UploadOptions {
    /// Defaults with the files in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            unit_quota_bytes: 200 << 30,
            keep_free_bytes: 1 << 30,
            probe: ProbeOptions::default(),
            today: shanghai_today,
        }
    }
}

/// Why an upload request is refused, by meaning; `status()` gives the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// A protocol error (version, header, content type).
    #[error(transparent)]
    Tus(#[from] tus::TusError),
    /// Over the edition's size limit (单个视频文件大小不超过4G).
    #[error("文件 {length} 字节，超过本届上限 {max} 字节（4G），未上传")]
    TooLarge {
        /// Declared length.
        length: u64,
        /// The edition's limit.
        max: u64,
    },
    /// Over the unit's quota.
    #[error("本单位已用 {used} 字节，再上传 {length} 字节将超过配额 {quota} 字节")]
    Quota {
        /// Bytes the unit has uploaded or reserved.
        used: u64,
        /// This upload.
        length: u64,
        /// The quota.
        quota: u64,
    },
    /// Not enough free disk space.
    #[error("服务器磁盘剩余 {free} 字节，不足以接收 {length} 字节的文件，请联系管理员")]
    Disk {
        /// Free bytes.
        free: u64,
        /// This upload.
        length: u64,
    },
    /// The client's offset is not where the upload stands (409).
    #[error("续传位置不符：服务器已收到 {expected} 字节，请求从 {got} 字节续传")]
    Offset {
        /// Bytes received so far.
        expected: u64,
        /// The client's Upload-Offset.
        got: u64,
    },
    /// More bytes than declared.
    #[error("数据超过声明的 Upload-Length（{length} 字节）")]
    TooMuch {
        /// Declared length.
        length: u64,
    },
    /// Another PATCH of this upload is running (423).
    #[error("该上传正在另一个连接中续传")]
    Busy,
    /// The disk failed.
    #[error("写入上传文件失败：{0}")]
    Io(String),
    /// Not found, invalid input (`work` metadata), database trouble.
    #[error(transparent)]
    Store(#[from] Error),
}

impl UploadError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Tus(e) => e.status(),
            Self::TooLarge { .. } | Self::Quota { .. } => 413,
            Self::Disk { .. } => 507,
            Self::Offset { .. } => 409,
            Self::TooMuch { .. } => 400,
            Self::Busy => 423,
            Self::Io(_) => 500,
            Self::Store(Error::NotFound { .. }) => 404,
            Self::Store(Error::Invalid { .. }) => 400,
            Self::Store(Error::Conflict(_)) => 409,
            Self::Store(Error::Unavailable(_)) => 503,
        }
    }
}

/// One upload as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UploadRow {
    /// Upload id (random, 32 hex digits).
    pub id: String,
    /// The work's unit.
    pub unit_id: i64,
    /// The work the video is for.
    pub work_id: i64,
    /// The file name the client gave.
    pub file_name: String,
    /// Declared length in bytes.
    pub length: i64,
    /// Bytes received.
    pub offset_bytes: i64,
    /// Where the bytes are.
    #[serde(skip)]
    pub path: String,
    /// Hex SHA-256, once complete.
    pub sha256: Option<String>,
    /// The media file attached to the work, once complete.
    pub file_id: Option<i64>,
    /// Who created it.
    pub created_by: String,
    /// Created, ms UTC.
    pub created_at_ms: i64,
    /// Completed, ms UTC.
    pub completed_at_ms: Option<i64>,
}

/// The upload service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Uploads {
    catalog: Catalog,
    opts: Arc<UploadOptions>,
    /// Uploads with a PATCH running (one at a time each).
    busy: Arc<Mutex<HashSet<String>>>,
}

/// Releases an upload's PATCH slot when the PATCH ends, however it ends.
struct Slot(Arc<Mutex<HashSet<String>>>, String);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut b) = self.0.lock() {
            b.remove(&self.1);
        }
    }
}

/// Free bytes for an unprivileged writer on the file system holding `dir`.
pub fn free_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    let s = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Hex SHA-256 of a file, read in 1 MiB blocks (blocking: call off the runtime).
fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A file name safe to keep on disk: its last path component, without control characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let s: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != ':')
        .take(120)
        .collect();
    let s = s.trim().trim_start_matches('.').to_string();
    if s.is_empty() { "video".into() } else { s }
}

/// A new upload id: 32 random hex digits (OS randomness; not guessable, so an upload's URL
/// cannot be found by counting).
fn random_id() -> String {
    use rand_core::RngCore;
    let mut b = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// How often the received offset is written while a chunk streams in.
const PERSIST_EVERY: u64 = 8 << 20;

impl Uploads {
    /// The service over `catalog`, keeping files in `opts.dir`.
    pub fn new(catalog: Catalog, opts: UploadOptions) -> std::io::Result<Self> {
        std::fs::create_dir_all(&opts.dir)?;
        Ok(Self {
            catalog,
            opts: Arc::new(opts),
            busy: Arc::default(),
        })
    }

    /// The edition's size limit (`Tus-Max-Size`).
    pub fn max_size(&self) -> u64 {
        self.catalog.edition().acceptance.max_size_bytes
    }

    /// Creates an upload of `length` bytes for the work named by the `work` metadata. `unit`
    /// is the caller's unit when it is scoped to one (a partner): another unit's work is
    /// "not found". Checks, before any byte: the edition's limit, the unit's quota, the disk.
    pub async fn create(
        &self,
        length: u64,
        meta: &BTreeMap<String, String>,
        unit: Option<i64>,
        actor: &str,
    ) -> Result<UploadRow, UploadError> {
        let max = self.max_size();
        if length > max {
            return Err(UploadError::TooLarge { length, max });
        }
        let work_id: i64 = meta
            .get("work")
            .and_then(|w| w.trim().parse().ok())
            .ok_or_else(|| Error::invalid("Upload-Metadata.work", "缺少作品编号 work"))?;
        let work = self.catalog.work(work_id).await?;
        if unit.is_some_and(|u| u != work.unit_id) {
            return Err(Error::not_found("作品", work_id).into());
        }
        // A file may be replaced until the deadline of the work's status (报送时间).
        if !self.catalog.files_of(work_id).await?.is_empty() {
            let status: crate::catalog::model::ProductionStatus = work
                .production_status
                .parse()
                .unwrap_or(crate::catalog::model::ProductionStatus::Finished);
            let deadline = self.catalog.edition().deadline(status.into());
            if (self.opts.today)() > deadline {
                return Err(Error::Conflict(format!(
                    "「{}」已有视频文件，报送截止日期 {deadline} 已过，不能再替换；如需更换请联系活动组",
                    work.title
                ))
                .into());
            }
        }
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM uploads WHERE unit_id = $1",
        )
        .bind(work.unit_id)
        .fetch_one(self.catalog.store().pool())
        .await
        .map_err(Error::from)?;
        let used = u64::try_from(used.unwrap_or(0)).unwrap_or(0);
        let quota = self.opts.unit_quota_bytes;
        if used.saturating_add(length) > quota {
            return Err(UploadError::Quota {
                used,
                length,
                quota,
            });
        }
        let free = free_bytes(&self.opts.dir).map_err(|e| UploadError::Io(e.to_string()))?;
        if free < length.saturating_add(self.opts.keep_free_bytes) {
            return Err(UploadError::Disk { free, length });
        }
        let id = random_id();
        let file_name = safe_name(meta.get("filename").map_or("video", String::as_str));
        let path = self.opts.dir.join(format!("{id}.part"));
        tokio::fs::File::create(&path)
            .await
            .map_err(|e| UploadError::Io(e.to_string()))?;
        let length_i = i64::try_from(length).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO uploads (id, unit_id, work_id, file_name, length, offset_bytes, path, \
             created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)",
        )
        .bind(&id)
        .bind(work.unit_id)
        .bind(work_id)
        .bind(&file_name)
        .bind(length_i)
        .bind(path.display().to_string())
        .bind(actor)
        .bind(now_ms())
        .execute(self.catalog.store().pool())
        .await
        .map_err(Error::from)?;
        if length == 0 {
            return self.complete(&id).await;
        }
        self.get(&id, unit).await
    }

    /// One upload, scoped to `unit` when given.
    pub async fn get(&self, id: &str, unit: Option<i64>) -> Result<UploadRow, UploadError> {
        let row: Option<UploadRow> = sqlx::query_as("SELECT * FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.catalog.store().pool())
            .await
            .map_err(Error::from)?;
        match row {
            Some(r) if unit.is_none_or(|u| u == r.unit_id) => Ok(r),
            _ => Err(Error::not_found("上传", id).into()),
        }
    }

    /// The uploads of one work.
    pub async fn of_work(&self, work_id: i64) -> Result<Vec<UploadRow>, UploadError> {
        Ok(
            sqlx::query_as("SELECT * FROM uploads WHERE work_id = $1 ORDER BY created_at_ms")
                .bind(work_id)
                .fetch_all(self.catalog.store().pool())
                .await
                .map_err(Error::from)?,
        )
    }

    async fn set_offset(&self, id: &str, offset: u64) -> Result<(), UploadError> {
        sqlx::query("UPDATE uploads SET offset_bytes = $1 WHERE id = $2")
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .bind(id)
            .execute(self.catalog.store().pool())
            .await
            .map_err(Error::from)?;
        Ok(())
    }

    /// Appends a PATCH body at `offset` (which must be where the upload stands). The offset
    /// reached is stored as the bytes arrive and when the body ends or breaks off, so the
    /// client can resume from it; the last byte completes the upload.
    pub async fn append<S, E>(
        &self,
        id: &str,
        offset: u64,
        unit: Option<i64>,
        mut body: S,
    ) -> Result<UploadRow, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let row = self.get(id, unit).await?;
        let _slot = {
            let mut b = self.busy.lock().map_err(|_| UploadError::Busy)?;
            if !b.insert(id.to_string()) {
                return Err(UploadError::Busy);
            }
            Slot(self.busy.clone(), id.to_string())
        };
        let stored = u64::try_from(row.offset_bytes).unwrap_or(0);
        let length = u64::try_from(row.length).unwrap_or(0);
        if offset != stored || row.completed_at_ms.is_some() {
            return Err(UploadError::Offset {
                expected: stored,
                got: offset,
            });
        }
        let io = |e: std::io::Error| UploadError::Io(e.to_string());
        let f = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&row.path)
            .await
            .map_err(io)?;
        // Bytes past the stored offset (a crash between a write and its record) are dropped.
        f.set_len(stored).await.map_err(io)?;
        let mut f = tokio::io::BufWriter::with_capacity(1 << 20, f);
        tokio::io::AsyncSeekExt::seek(&mut f, std::io::SeekFrom::Start(stored))
            .await
            .map_err(io)?;
        let mut at = stored;
        let mut persisted = stored;
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    // The client went away: keep what arrived.
                    tracing::info!(upload = id, at, "upload interrupted: {e}");
                    break;
                }
            };
            if at + chunk.len() as u64 > length {
                failure = Some(UploadError::TooMuch { length });
                break;
            }
            if let Err(e) = f.write_all(&chunk).await {
                failure = Some(io(e));
                break;
            }
            at += chunk.len() as u64;
            if at - persisted >= PERSIST_EVERY {
                f.flush().await.map_err(io)?;
                self.set_offset(id, at).await?;
                persisted = at;
            }
        }
        f.flush().await.map_err(io)?;
        f.get_ref().sync_data().await.map_err(io)?;
        self.set_offset(id, at).await?;
        if let Some(e) = failure {
            return Err(e);
        }
        if at == length {
            return self.complete(id).await;
        }
        self.get(id, unit).await
    }

    /// The last byte is in: hash, move beside its name, attach to the work, probe in the
    /// background (the verdict lands on the work's file as 技术审核).
    async fn complete(&self, id: &str) -> Result<UploadRow, UploadError> {
        let row = self.get(id, None).await?;
        let part = PathBuf::from(&row.path);
        let done = self.opts.dir.join(format!("{id}-{}", row.file_name));
        tokio::fs::rename(&part, &done)
            .await
            .map_err(|e| UploadError::Io(e.to_string()))?;
        let hash_path = done.clone();
        let sha = tokio::task::spawn_blocking(move || sha256_file(&hash_path))
            .await
            .map_err(|e| UploadError::Io(e.to_string()))?
            .map_err(|e| UploadError::Io(e.to_string()))?;
        let location = done.display().to_string();
        let file = self.catalog.attach_file(row.work_id, &location).await?;
        sqlx::query(
            "UPDATE uploads SET path = $1, sha256 = $2, file_id = $3, completed_at_ms = $4 \
             WHERE id = $5",
        )
        .bind(&location)
        .bind(&sha)
        .bind(file.id)
        .bind(now_ms())
        .bind(id)
        .execute(self.catalog.store().pool())
        .await
        .map_err(Error::from)?;
        let catalog = self.catalog.clone();
        let opts = self.opts.probe;
        let file_id = file.id;
        tokio::spawn(async move {
            if let Err(e) = catalog.probe_file(file_id, opts).await {
                tracing::warn!(file_id, "probe of an uploaded file failed: {e}");
            }
        });
        self.get(id, None).await
    }

    /// Abandons an unfinished upload (tus termination): its bytes and row are removed. A
    /// complete upload is the work's file and stays.
    pub async fn terminate(&self, id: &str, unit: Option<i64>) -> Result<(), UploadError> {
        let row = self.get(id, unit).await?;
        if row.completed_at_ms.is_some() {
            return Err(Error::Conflict("上传已完成，文件已附到作品，不能撤销".into()).into());
        }
        if self
            .busy
            .lock()
            .map_err(|_| UploadError::Busy)?
            .contains(id)
        {
            return Err(UploadError::Busy);
        }
        let _ = tokio::fs::remove_file(&row.path).await;
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id)
            .execute(self.catalog.store().pool())
            .await
            .map_err(Error::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_tamed() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\视频\\深海.mp4"), "深海.mp4");
        assert_eq!(safe_name(".."), "video");
    }
}
