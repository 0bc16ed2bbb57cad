//! The certificate-issuing job: after an airing completes, the node holding the jobs' lease
//! issues the certificate of its work, so every certificate is written once across the pair.
//!
//! Every [`EVERY`] the job, when this node may run the once-only jobs
//! ([`crate::cluster::Leader::fence`]), counts the as-run rows that have ended; when the
//! count moved, it issues the current certificate of every work that aired
//! ([`super::Certificates::issue_all_fenced`]) under the lease's epoch. The database refuses
//! the writes of an epoch that is no longer current ([`crate::cluster::fence`]): a leader
//! paused past its lease, resumed with the pass in flight, stores nothing — the new holder's
//! pass has issued them. A refused or failed pass is tried again at the next tick (the count
//! is remembered only after a pass that stored everything). Certificates asked for through
//! the API are fenced the same way ([`super::Certificates::issued_under`]): only the leader
//! writes them, under its epoch; a certificate's code follows from its facts, so both paths
//! settle on one row per code.

use std::time::Duration;

use tokio::sync::watch;

use super::Certificates;
use crate::cluster::Leader;
use crate::store::Error;

/// How often the job looks for airings that ended.
pub const EVERY: Duration = Duration::from_secs(1);

/// Runs until `stop` turns true. `hold` is the fault drill's pause between reading and
/// writing (zero in service).
pub async fn run(
    certificates: Certificates,
    leader: Leader,
    hold: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut done_at: Option<i64> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
        let Some(fence) = leader.fence() else {
            // Not the leader: the holder issues. Look again when this node leads.
            done_at = None;
            continue;
        };
        let ended =
            match tokio::time::timeout(Duration::from_secs(5), certificates.asrun.count_ended())
                .await
            {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "certificate job: as-run not readable");
                    continue;
                }
                Err(_) => continue,
            };
        if done_at == Some(ended) {
            continue;
        }
        let pass = tokio::time::timeout(
            Duration::from_secs(30) + hold,
            certificates.issue_all_fenced(&fence, hold),
        )
        .await;
        match pass {
            Ok(Ok(n)) => {
                if n > 0 {
                    tracing::info!(
                        issued = n,
                        epoch = ?fence.epoch(),
                        "certificates issued for the airings that ended"
                    );
                }
                done_at = Some(ended);
            }
            Ok(Err(Error::Conflict(why))) => {
                tracing::warn!(epoch = ?fence.epoch(), reason = %why, "certificate job: writes refused (the lease has moved on)");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "certificate job failed; retrying"),
            Err(_) => tracing::warn!("certificate job timed out; retrying"),
        }
    }
}
