//! Probing many files: a bounded number at a time (`jobs`), with a progress callback after
//! each file, and the benchmark behind `catalog probe --bench`. Each probe runs on a blocking
//! thread and is time-boxed by `probe`; this module only schedules them and counts.

use super::Catalog;
use super::model::Verdict;
use super::probe::{ProbeOptions, ProbeReport, probe};
use super::qc::{QcResult, judge};
use crate::store::Result;
use serde::Serialize;
use std::time::Instant;
use tokio::task::JoinSet;

/// One probed file of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchItem {
    /// Attached file id, when probing the catalog's files.
    pub file_id: Option<i64>,
    /// Path or URL.
    pub location: String,
    /// The report.
    pub report: ProbeReport,
    /// The verdict (stored when `file_id` is set).
    pub qc: QcResult,
}

/// Progress after each file: (done, total, the item).
pub type Progress<'a> = &'a mut (dyn FnMut(usize, usize, &BatchItem) + Send);

/// Throughput of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchStats {
    /// Files probed.
    pub files: usize,
    /// Probes run at once.
    pub jobs: usize,
    /// Whether loudness was measured.
    pub loudness: bool,
    /// Wall time, ms.
    pub wall_ms: u64,
    /// Files per second.
    pub files_per_s: f64,
    /// Verdict counts.
    pub pass: usize,
    /// Verdict counts.
    pub warn: usize,
    /// Verdict counts.
    pub fail: usize,
}

impl BatchStats {
    fn of(items: &[BatchItem], jobs: usize, loudness: bool, started: Instant) -> Self {
        let wall = started.elapsed();
        let count = |v: Verdict| items.iter().filter(|i| i.qc.verdict == v).count();
        Self {
            files: items.len(),
            jobs,
            loudness,
            wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
            files_per_s: items.len() as f64 / wall.as_secs_f64().max(1e-9),
            pass: count(Verdict::Pass),
            warn: count(Verdict::Warn),
            fail: count(Verdict::Fail),
        }
    }
}

/// Probes `(file id, location)` pairs, at most `jobs` at once; judges with `min_ms` per item.
async fn run_bounded(
    items: Vec<(Option<i64>, String, Option<i64>)>,
    jobs: usize,
    opts: ProbeOptions,
    acceptance: &crate::edition::Acceptance,
    catalog: Option<&Catalog>,
    progress: Progress<'_>,
) -> Result<Vec<BatchItem>> {
    let jobs = jobs.max(1);
    let total = items.len();
    let mut queue = items.into_iter();
    let mut set = JoinSet::new();
    let mut done = Vec::with_capacity(total);
    loop {
        while set.len() < jobs {
            let Some((id, loc, min)) = queue.next() else {
                break;
            };
            set.spawn(async move { (id, min, probe(loc, opts).await) });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (file_id, min, report) = match joined {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "probe task failed");
                continue;
            }
        };
        // Each result is stored as it arrives, so an interrupted batch keeps what it did.
        let qc = match (catalog, file_id) {
            (Some(c), Some(id)) => c.record_probe(id, &report).await?,
            _ => judge(&report, acceptance, min),
        };
        let item = BatchItem {
            file_id,
            location: report.location.clone(),
            report,
            qc,
        };
        progress(done.len() + 1, total, &item);
        done.push(item);
    }
    Ok(done)
}

impl Catalog {
    /// Probes attached files and stores each result as it arrives.
    pub async fn probe_files(
        &self,
        file_ids: &[i64],
        jobs: usize,
        opts: ProbeOptions,
        progress: Progress<'_>,
    ) -> Result<(Vec<BatchItem>, BatchStats)> {
        let mut items = Vec::new();
        for id in file_ids {
            let f = self.file(*id).await?;
            let min = self.min_duration_of(f.work_id).await?;
            items.push((Some(*id), f.location, min));
        }
        let started = Instant::now();
        let acceptance = self.edition.acceptance.clone();
        let batch = run_bounded(items, jobs, opts, &acceptance, Some(self), progress).await?;
        let stats = BatchStats::of(&batch, jobs, opts.loudness, started);
        Ok((batch, stats))
    }
}

/// Probes paths without a database (the benchmark and `probe --path`).
pub async fn probe_paths(
    paths: Vec<String>,
    jobs: usize,
    opts: ProbeOptions,
    acceptance: &crate::edition::Acceptance,
    progress: Progress<'_>,
) -> (Vec<BatchItem>, BatchStats) {
    let started = Instant::now();
    let items = paths.into_iter().map(|p| (None, p, None)).collect();
    let batch = run_bounded(items, jobs, opts, acceptance, None, progress)
        .await
        .unwrap_or_default();
    let stats = BatchStats::of(&batch, jobs, opts.loudness, started);
    (batch, stats)
}
