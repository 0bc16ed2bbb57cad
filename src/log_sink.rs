//! Where the daemon's log lines go: stderr, losing a line rather than the programme when it
//! cannot be written (a full log disk, a closed pipe). `tracing-subscriber` reports a failed
//! write with `eprintln!`, which panics when stderr itself fails — on the task that logged,
//! e.g. the on-air controller. This writer never reports a failure: a line that cannot be
//! written is dropped.

use std::io::{self, Write};

/// stderr that swallows its write errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossyStderr;

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A line that cannot be written is lost; the programme is not.
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LossyStderr {
    type Writer = LossyStderr;
    fn make_writer(&'a self) -> Self::Writer {
        LossyStderr
    }
}
