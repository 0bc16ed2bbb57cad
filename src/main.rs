//! kepu-playout: the daemon's entry point. Parses the command line and hands off to the
//! module that owns each command; nothing else lives here.

use clap::{Parser, Subcommand};
use kepu_playout::{config::ChannelConfig, dayfile::DayFile};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kepu-playout",
    version,
    about = "科普之光 24/7 playout daemon and scheduler"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Put a day file (rundown TOML) on air and push it to every destination.
    Play {
        /// The day file.
        rundown: PathBuf,
        /// The channel config (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Stop cleanly after this many seconds.
        #[arg(long = "for")]
        for_secs: Option<u64>,
    },
    /// The daemon: the rundown on air from the database, the on-air controller, the API.
    Serve {
        /// The channel config (TOML): output, destinations, [server], [air].
        #[arg(long)]
        config: PathBuf,
    },
    /// Submissions, technical acceptance and review (遴选).
    Catalog(kepu_playout::catalog::cli::CatalogArgs),
    /// Accounts for the API: add users (the first admin), list them, issue tokens.
    User(kepu_playout::auth::cli::UserArgs),
    /// Stream keys of the RTMP ingest: issue (shown once), list, revoke.
    Feed(kepu_playout::feeds::cli::FeedArgs),
    /// Recorded live windows (回放): list, register one as a catalog work.
    Recording(kepu_playout::recording::cli::RecordingArgs),
    /// The 30-day rundown: build, validate, show, diff, lock, export, rehearse.
    Rundown(kepu_playout::rundown_cli::RundownArgs),
    /// Editions: write next year's from this year's (`new 2027 --from 2026`), check one.
    Edition(kepu_playout::edition_cli::EditionArgs),
    /// The main job on demo data: a collection form imported, works probed and reviewed, the
    /// month built, the daemon on air to a local receiver with the dashboard (rehearsal clock
    /// in September).
    Demo {
        /// Where the demo's files go.
        #[arg(long, default_value = "demo-out")]
        dir: PathBuf,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long = "for")]
        for_secs: Option<u64>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEPU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(kepu_playout::log_sink::LossyStderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve { config } => {
                let config = ChannelConfig::load(&config)?;
                kepu_playout::serve::run(config).await
            }
            Command::Play {
                rundown,
                config,
                for_secs,
            } => {
                let config = ChannelConfig::load(&config)?;
                let day = DayFile::load(&rundown)?;
                kepu_playout::play::run(config, day, for_secs).await
            }
            Command::Demo { dir, for_secs } => kepu_playout::demo::run(&dir, for_secs).await,
            Command::Edition(args) => kepu_playout::edition_cli::run(args),
            Command::Catalog(args) => kepu_playout::catalog::cli::run(args).await,
            Command::User(args) => {
                println!("{}", kepu_playout::auth::cli::run(args).await?);
                Ok(())
            }
            Command::Feed(args) => {
                println!("{}", kepu_playout::feeds::cli::run(args).await?);
                Ok(())
            }
            Command::Recording(args) => {
                println!("{}", kepu_playout::recording::cli::run(args).await?);
                Ok(())
            }
            Command::Rundown(args) => {
                tokio::task::spawn_blocking(move || kepu_playout::rundown_cli::run(args)).await?
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
