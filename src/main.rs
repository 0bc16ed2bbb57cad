//! kepu-playout: the daemon's entry point. Parses the command line and hands off to the
//! module that owns each command; nothing else lives here.
//! (Temporary minimal version on the catalog branch; the lead's main.rs replaces it.)
use clap::Parser;

#[derive(Parser)]
#[command(name = "kepu-playout", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Submissions, technical acceptance and review (遴选).
    Catalog(kepu_playout::catalog::cli::CatalogArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Catalog(args) => kepu_playout::catalog::cli::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
