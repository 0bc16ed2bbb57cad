//! `kepu-playout feed …`: ingest stream keys from the command line (a new key is printed
//! once, with the URL to give the partner; lists show only a hint), and a slow-live feed's
//! backup clip (`feed backup ID --work N | --file PATH | --clear`).

use super::Feeds;
use crate::rundown_db::backup::{FeedBackup, backups, set_backup};
use crate::store::Store;

/// `feed` arguments.
#[derive(Debug, clap::Args)]
pub struct FeedArgs {
    /// Database: a SQLite file path (created on first use) or a postgres:// URL.
    #[arg(
        long = "db",
        alias = "database",
        global = true,
        env = "KEPU_DATABASE_URL",
        default_value = "kepu.db"
    )]
    pub database: String,
    /// What to do.
    #[command(subcommand)]
    pub command: FeedCommand,
}

/// `feed` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum FeedCommand {
    /// Issues a stream key for FEED (played as `ingest://FEED`); printed once.
    Key {
        /// The feed name (letters, digits, - and _).
        feed: String,
        /// Who the key is for.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Lists keys (hints only, never the keys).
    List,
    /// Revokes a key by id.
    Revoke {
        /// The key's id (from `feed list`).
        id: i64,
    },
    /// Sets the backup clip of a slow-live feed (looped on air instead of the slate while
    /// the feed is down): a catalog work's accepted file or a file on this machine.
    Backup {
        /// The feed's id (`GET /api/v1/feeds`, `rundown` feeds).
        id: i64,
        /// A catalog work, by id.
        #[arg(long, conflicts_with_all = ["file", "clear"])]
        work: Option<i64>,
        /// A file path on the playout machine (made absolute).
        #[arg(long, conflicts_with_all = ["work", "clear"])]
        file: Option<std::path::PathBuf>,
        /// Removes the backup: the slate again.
        #[arg(long, conflicts_with_all = ["work", "file"])]
        clear: bool,
    },
}

/// Runs a `feed` subcommand; returns what to print.
pub async fn run(args: FeedArgs) -> anyhow::Result<String> {
    let store = Store::open(&args.database).await?;
    let feeds = Feeds::new(store.clone());
    match args.command {
        FeedCommand::Key { feed, note } => {
            let k = feeds.create_key(&feed, &note).await?;
            Ok(format!(
                "key {} for feed {}: {}\n(shown once; publish to rtmp://HOST:PORT/live/{})",
                k.info.id, k.info.feed, k.key, k.key
            ))
        }
        FeedCommand::List => {
            let mut out = String::new();
            for k in feeds.keys().await? {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    k.id,
                    k.feed,
                    k.key_hint,
                    if k.revoked_at_ms.is_some() {
                        "revoked"
                    } else {
                        "valid"
                    },
                    k.note
                ));
            }
            Ok(out)
        }
        FeedCommand::Revoke { id } => {
            feeds.revoke(id).await?;
            Ok(format!("key {id} revoked"))
        }
        FeedCommand::Backup {
            id,
            work,
            file,
            clear,
        } => {
            let backup = match (work, file) {
                (Some(w), _) => Some(FeedBackup {
                    work_id: Some(w),
                    path: None,
                }),
                (None, Some(f)) => Some(FeedBackup {
                    work_id: None,
                    path: Some(std::path::absolute(&f)?.display().to_string()),
                }),
                (None, None) if clear => None,
                (None, None) => anyhow::bail!("给出 --work 作品编号、--file 文件路径，或 --clear"),
            };
            set_backup(&store, id, backup.as_ref()).await?;
            let shown = backups(&store).await?.remove(&id);
            Ok(match shown {
                Some(b) => format!(
                    "feed {id}: backup {}",
                    b.location
                        .unwrap_or_else(|| "(work without an accepted file)".into())
                ),
                None => format!("feed {id}: no backup (the slate)"),
            })
        }
    }
}
