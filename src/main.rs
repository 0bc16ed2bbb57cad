//! kepu-playout: the daemon's entry point. Parses the command line and hands off to the
//! module that owns each command; nothing else lives here.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
