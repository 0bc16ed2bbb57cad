//! The as-run writer: applies the recorder's [`Write`]s to the database in order, each
//! time-boxed; a failed write is retried (at least once a second) and never reordered. It
//! runs apart from the controller so a slow database never delays cueing or supervision.
//!
//! The queue is the [`Journal`]: on the daemon a file in the node's state directory, each
//! write appended and fsync'd before [`AsRunWriter::send`] returns, removed once stored, and
//! replayed in order by the next process when this one dies with writes waiting (the
//! journal's own entries come first, then the marker that closes the airings the dead
//! process left open, then the new process's). A write the database refuses for good (the
//! airing it completes does not exist: its start was dropped over the journal's limit) is
//! logged and dropped instead of blocking the queue. The controller sees how many writes
//! wait ([`AsRunWriter::pending`]) and how many the journal dropped over its limit
//! ([`AsRunWriter::dropped`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::asrun::AsRunLog;
use crate::asrun::journal::{Entry, Journal};
use crate::asrun::recorder::Write;
use crate::metrics::Metrics;
use crate::store::Error;

/// How long the writer keeps trying after the controller has stopped.
const LAST_CHANCE: Duration = Duration::from_secs(10);
/// Pause after a failed write before the next try.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// The controller's side of the writer.
#[derive(Debug)]
pub struct AsRunWriter {
    journal: Arc<Mutex<Journal>>,
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
}

fn lock(j: &Mutex<Journal>) -> MutexGuard<'_, Journal> {
    j.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AsRunWriter {
    /// Starts the writer task over `asrun`, working through `journal` (entries already in
    /// it first); each write waits at most `timeout`.
    pub fn spawn(
        asrun: AsRunLog,
        journal: Journal,
        metrics: Metrics,
        timeout: Duration,
    ) -> (Self, JoinHandle<()>) {
        let journal = Arc::new(Mutex::new(journal));
        let wake = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            journal.clone(),
            wake.clone(),
            stop_rx,
            asrun,
            metrics,
            timeout,
        ));
        (
            Self {
                journal,
                wake,
                stop,
            },
            task,
        )
    }

    /// Queues writes (in order): each is in the journal (on disk: fsync'd) when this
    /// returns. A journal file that cannot be written keeps the write in memory (logged).
    pub fn send(&self, writes: Vec<Write>) {
        if writes.is_empty() {
            return;
        }
        {
            let mut j = lock(&self.journal);
            for w in writes {
                if let Err(e) = j.push(Entry::Write(w)) {
                    tracing::error!(error = %e, "as-run write queued in memory only: the journal file could not be written");
                }
            }
        }
        self.wake.notify_one();
    }

    /// Writes queued and not yet stored.
    pub fn pending(&self) -> usize {
        lock(&self.journal).len()
    }

    /// Writes dropped because the journal was over its limit (the database away too long).
    pub fn dropped(&self) -> u64 {
        lock(&self.journal).dropped()
    }

    /// Tells the task to finish: it keeps trying for a few seconds, then leaves what is
    /// still queued to the journal (the next process replays it).
    pub fn close(&self) {
        let _ = self.stop.send(true);
        self.wake.notify_one();
    }
}

async fn run(
    journal: Arc<Mutex<Journal>>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    asrun: AsRunLog,
    metrics: Metrics,
    timeout: Duration,
) {
    let mut closed_at: Option<tokio::time::Instant> = None;
    loop {
        if closed_at.is_none() && (*stop.borrow() || stop.has_changed().is_err()) {
            closed_at = Some(tokio::time::Instant::now());
        }
        let next = lock(&journal).front().map(|(n, e)| (n, e.clone()));
        let Some((seq, entry)) = next else {
            if closed_at.is_some() {
                break;
            }
            tokio::select! {
                _ = wake.notified() => {}
                // A dropped writer handle counts as closed (checked at the loop's top).
                _ = stop.changed() => {}
            }
            continue;
        };
        let r = match &entry {
            Entry::Write(w) => tokio::time::timeout(timeout, asrun.apply(w)).await,
            Entry::CloseInterrupted { before_ms } => {
                tokio::time::timeout(timeout, asrun.close_interrupted_before(*before_ms))
                    .await
                    .map(|r| r.map(|_| ()))
            }
        };
        let stored = match r {
            Ok(Ok(())) => {
                if matches!(entry, Entry::Write(Write::Start(_))) {
                    metrics.asrun_row_written();
                }
                true
            }
            Ok(Err(e @ (Error::NotFound { .. } | Error::Invalid { .. } | Error::Conflict(_)))) => {
                tracing::error!(error = %e, entry = ?entry, "as-run write refused by the database for good: dropped");
                true
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, pending = lock(&journal).len(), "as-run write failed; will retry");
                false
            }
            Err(_) => {
                tracing::warn!(
                    pending = lock(&journal).len(),
                    "as-run write timed out; will retry"
                );
                false
            }
        };
        if stored {
            if let Err(e) = lock(&journal).done(seq) {
                tracing::error!(error = %e, "as-run journal not compacted (a stored write may be replayed, which is harmless)");
            }
            continue;
        }
        if closed_at.is_some_and(|t| t.elapsed() > LAST_CHANCE) {
            let left = lock(&journal).len();
            tracing::warn!(
                left,
                "as-run rows not written before shutdown: kept in the journal for the next start"
            );
            break;
        }
        if closed_at.is_some() {
            tokio::time::sleep(RETRY_EVERY).await;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(RETRY_EVERY) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
