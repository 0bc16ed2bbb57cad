//! `kepu-playout recording …`: the recorded live windows from the command line — list them,
//! register one as a catalog work for 回放. Reads the channel config (`[recording] dir`,
//! `[server] database` and `edition`).

use super::{RecordingConfig, Recordings};
use crate::catalog::Catalog;
use crate::config::ChannelConfig;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// `recording` arguments.
#[derive(Debug, clap::Args)]
pub struct RecordingArgs {
    /// The channel config (TOML) with `[recording]`.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: RecordingCommand,
}

/// `recording` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RecordingCommand {
    /// Lists recorded windows, newest first.
    List,
    /// Registers a finished window as a catalog work (回放): its segments joined to one MP4.
    Register {
        /// The window (its directory name, from `recording list`).
        name: String,
        /// The work's category ids (comma-separated, the edition's 1–9).
        #[arg(long, value_delimiter = ',', default_value = "1")]
        categories: Vec<u8>,
        /// Who registers it (kept in the work's history).
        #[arg(long, default_value = "cli")]
        actor: String,
    },
}

fn recording_config(c: &ChannelConfig) -> anyhow::Result<RecordingConfig> {
    c.recording
        .clone()
        .ok_or_else(|| anyhow::anyhow!("{}: 未配置 [recording]（直播录像目录）", c.path.display()))
}

/// Runs a `recording` subcommand; returns what to print.
pub async fn run(args: RecordingArgs) -> anyhow::Result<String> {
    let path = args
        .config
        .ok_or_else(|| anyhow::anyhow!("请用 --config 指定频道配置文件"))?;
    let config = ChannelConfig::load(&path)?;
    let rec = Recordings::new(recording_config(&config)?);
    match args.command {
        RecordingCommand::List => {
            let list = rec.list();
            if args.json {
                return Ok(serde_json::to_string_pretty(&list)?);
            }
            let mut out = String::new();
            for r in list {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{} bytes\t{} segments\t{}\n",
                    r.name,
                    r.feed.map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
                    r.start.to_rfc3339(),
                    r.end.map(|e| e.to_rfc3339()).unwrap_or_else(|| "-".into()),
                    r.size,
                    r.segments,
                    if r.recording {
                        "recording"
                    } else if r.complete {
                        "complete"
                    } else {
                        "incomplete"
                    }
                ));
            }
            Ok(out)
        }
        RecordingCommand::Register {
            name,
            categories,
            actor,
        } => {
            let edition = Arc::new(crate::serve::edition_at(config.server.edition.as_deref())?);
            let store = Store::open(&config.server.database).await?;
            let catalog = Catalog::new(store, edition);
            let r = super::register(&rec, &catalog, &name, categories, &actor).await?;
            if args.json {
                return Ok(serde_json::to_string_pretty(&r)?);
            }
            Ok(format!(
                "录像 {name} 已登记为作品 {}「{}」，文件 {}（媒体文件 {}；用 kepu-playout catalog probe 探测）",
                r.work_id, r.title, r.file, r.file_id
            ))
        }
    }
}
