//! A live feed's backup clip: what fills the air instead of the slate while the feed is
//! down (the engine loops it; see `playout::Cue::backup`).
//!
//! Owns: the `backup_work_id` / `backup_path` columns of `live_feeds`
//! (`migrations/*/12001_feed_backup.sql`), checking a backup before it is stored, and
//! resolving each feed's backup to the file the engine opens (a work's accepted file,
//! chosen when the air plan reads its days, so a re-uploaded file is picked up). Does not
//! own: playing it (the engine's switcher) or putting it in the cue (`air::backup`).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::rundown::store::StoreError;
use crate::store::{Error, Result, Store};

use super::DbDayStore;

/// A feed's backup as an operator sets it: a catalog work or a file path, one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedBackup {
    /// 作品 id：其通过技术审核的文件作备播素材 A catalog work: its accepted file is played.
    #[serde(default)]
    pub work_id: Option<i64>,
    /// 播出机上的文件路径（绝对路径）A file on the playout machine (absolute path).
    #[serde(default)]
    pub path: Option<String>,
}

/// A feed's backup as it is shown: what was set and the file that airs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BackupView {
    /// 作品 id（以作品设置时）The work, when set as one.
    pub work_id: Option<i64>,
    /// 作品名称 Its title.
    pub work_title: Option<String>,
    /// 文件路径（以路径设置时）The path, when set as one.
    pub path: Option<String>,
    /// 实际播出的文件；作品尚无通过审核的文件时为空（届时播垫片）The file that airs;
    /// `None` when the work has no accepted file (the slate then).
    pub location: Option<String>,
}

/// The accepted file of a work (pass before warn, then the most recently probed).
const WORK_FILE_SQL: &str = "SELECT location FROM media_files WHERE work_id = $1 \
     AND verdict IN ('pass', 'warn') AND duration_ms IS NOT NULL \
     ORDER BY CASE WHEN verdict = 'pass' THEN 0 ELSE 1 END, COALESCE(probed_at_ms, 0) DESC LIMIT 1";

impl FeedBackup {
    /// Checks the backup, naming the field: exactly one of the two; the work exists and has
    /// an accepted file; the path is absolute and names a readable file.
    pub async fn validate(&self, store: &Store) -> Result<()> {
        match (self.work_id, self.path.as_deref().map(str::trim)) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "backup",
                "备播素材只能选一项：作品（work_id）或文件路径（path）",
            )),
            (None, None) => Err(Error::invalid(
                "backup",
                "请给出备播素材：作品（work_id）或文件路径（path）；不用备播素材请清除",
            )),
            (Some(w), None) => {
                let title: Option<String> =
                    sqlx::query_scalar("SELECT title FROM works WHERE id = $1")
                        .bind(w)
                        .fetch_optional(store.pool())
                        .await?;
                if title.is_none() {
                    return Err(Error::invalid("work_id", format!("作品 {w} 不存在")));
                }
                let file: Option<String> = sqlx::query_scalar(WORK_FILE_SQL)
                    .bind(w)
                    .fetch_optional(store.pool())
                    .await?;
                if file.is_none() {
                    return Err(Error::invalid(
                        "work_id",
                        format!("作品 {w} 尚无通过技术审核的文件，不能作备播素材"),
                    ));
                }
                Ok(())
            }
            (None, Some(p)) => {
                if p.is_empty() || !Path::new(p).is_absolute() {
                    return Err(Error::invalid(
                        "path",
                        format!("备播素材须为播出机上的绝对路径：「{p}」"),
                    ));
                }
                let p = p.to_string();
                // The file system is outside: time-boxed (a hung network mount).
                let meta = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    tokio::fs::metadata(p.clone()),
                )
                .await;
                match meta {
                    Ok(Ok(m)) if m.is_file() => Ok(()),
                    Ok(Ok(_)) => Err(Error::invalid("path", format!("「{p}」不是文件"))),
                    Ok(Err(e)) => Err(Error::invalid(
                        "path",
                        format!("备播素材文件「{p}」无法读取：{e}"),
                    )),
                    Err(_) => Err(Error::invalid(
                        "path",
                        format!("备播素材文件「{p}」5 秒内无法访问"),
                    )),
                }
            }
        }
    }
}

/// Sets (`Some`) or clears (`None`) the backup of feed `feed_id`, after checking it.
pub async fn set_backup(store: &Store, feed_id: i64, backup: Option<&FeedBackup>) -> Result<()> {
    if let Some(b) = backup {
        b.validate(store).await?;
    }
    let path = backup.and_then(|b| b.path.as_deref()).map(str::trim);
    let done =
        sqlx::query("UPDATE live_feeds SET backup_work_id = $1, backup_path = $2 WHERE id = $3")
            .bind(backup.and_then(|b| b.work_id))
            .bind(path)
            .bind(feed_id)
            .execute(store.pool())
            .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("慢直播信号", feed_id));
    }
    Ok(())
}

type BackupRow = (
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Every feed's backup that is set, by feed id, resolved to the file that airs.
pub async fn backups(store: &Store) -> Result<HashMap<i64, BackupView>> {
    let rows: Vec<BackupRow> = sqlx::query_as(
        "SELECT f.id, f.backup_work_id, w.title, f.backup_path, \
         (SELECT m.location FROM media_files m WHERE m.work_id = f.backup_work_id \
          AND m.verdict IN ('pass', 'warn') AND m.duration_ms IS NOT NULL \
          ORDER BY CASE WHEN m.verdict = 'pass' THEN 0 ELSE 1 END, COALESCE(m.probed_at_ms, 0) DESC \
          LIMIT 1) \
         FROM live_feeds f LEFT JOIN works w ON w.id = f.backup_work_id \
         WHERE f.backup_work_id IS NOT NULL OR f.backup_path IS NOT NULL",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, work_id, work_title, path, work_file)| {
            let location = path.clone().or(work_file);
            (
                id,
                BackupView {
                    work_id,
                    work_title,
                    path,
                    location,
                },
            )
        })
        .collect())
}

impl DbDayStore {
    /// The file each feed's backup airs, by feed id (feeds without one, or whose work has
    /// no accepted file, are absent).
    pub async fn feed_backups_async(&self) -> Result<HashMap<i64, String>, StoreError> {
        let all = backups(self.store()).await.map_err(StoreError::from)?;
        Ok(all
            .into_iter()
            .filter_map(|(id, b)| b.location.map(|l| (id, l)))
            .collect())
    }
}
