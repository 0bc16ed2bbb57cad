//! `kepu-playout feed …`: ingest stream keys from the command line. A new key is printed
//! once (with the URL to give the partner); lists show only a hint.

use super::Feeds;
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
}

/// Runs a `feed` subcommand; returns what to print.
pub async fn run(args: FeedArgs) -> anyhow::Result<String> {
    let feeds = Feeds::new(Store::open(&args.database).await?);
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
    }
}
