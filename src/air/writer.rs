//! The as-run writer: applies the recorder's [`Write`]s to the database in order, each
//! time-boxed; a failed write is retried (at least once a second) and never dropped or
//! reordered. It runs apart from the controller so a slow database never delays cueing or
//! supervision; the controller sees how many writes wait ([`AsRunWriter::pending`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::asrun::AsRunLog;
use crate::asrun::recorder::Write;
use crate::metrics::Metrics;

/// How long the writer keeps trying after the controller has stopped.
const LAST_CHANCE: Duration = Duration::from_secs(10);

/// The controller's side of the writer.
#[derive(Debug)]
pub struct AsRunWriter {
    tx: mpsc::UnboundedSender<Write>,
    pending: Arc<AtomicUsize>,
}

impl AsRunWriter {
    /// Starts the writer task over `asrun`; each write waits at most `timeout`.
    pub fn spawn(asrun: AsRunLog, metrics: Metrics, timeout: Duration) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(run(rx, asrun, metrics, timeout, pending.clone()));
        (Self { tx, pending }, task)
    }

    /// Queues writes (in order).
    pub fn send(&self, writes: Vec<Write>) {
        for w in writes {
            self.pending.fetch_add(1, Ordering::Relaxed);
            if self.tx.send(w).is_err() {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                tracing::error!("the as-run writer has stopped: a row could not be queued");
            }
        }
    }

    /// Writes queued and not yet stored.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Write>,
    asrun: AsRunLog,
    metrics: Metrics,
    timeout: Duration,
    pending: Arc<AtomicUsize>,
) {
    let mut queue: VecDeque<Write> = VecDeque::new();
    let mut open = true;
    let mut closed_at: Option<tokio::time::Instant> = None;
    loop {
        if open {
            let next = if queue.is_empty() {
                rx.recv().await
            } else {
                match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
                    Ok(w) => w,
                    Err(_) => {
                        apply(&mut queue, &asrun, &metrics, timeout, &pending).await;
                        continue;
                    }
                }
            };
            match next {
                Some(w) => queue.push_back(w),
                None => {
                    open = false;
                    closed_at = Some(tokio::time::Instant::now());
                }
            }
            while let Ok(w) = rx.try_recv() {
                queue.push_back(w);
            }
        }
        apply(&mut queue, &asrun, &metrics, timeout, &pending).await;
        if !open {
            if queue.is_empty() {
                break;
            }
            if closed_at.is_some_and(|t| t.elapsed() > LAST_CHANCE) {
                tracing::error!(
                    lost = queue.len(),
                    "as-run rows could not be written before shutdown"
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Applies queued writes in order until one fails.
async fn apply(
    queue: &mut VecDeque<Write>,
    asrun: &AsRunLog,
    metrics: &Metrics,
    timeout: Duration,
    pending: &AtomicUsize,
) {
    while let Some(w) = queue.front() {
        match tokio::time::timeout(timeout, asrun.apply(w)).await {
            Ok(Ok(())) => {
                if matches!(w, Write::Start(_)) {
                    metrics.asrun_row_written();
                }
                queue.pop_front();
                pending.fetch_sub(1, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, pending = queue.len(), "as-run write failed; will retry");
                return;
            }
            Err(_) => {
                tracing::warn!(pending = queue.len(), "as-run write timed out; will retry");
                return;
            }
        }
    }
}
