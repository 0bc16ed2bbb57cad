//! Epoch fencing of the once-only jobs' writes: the database, not the node's belief, has the
//! last word on who may write.
//!
//! A node that lost the lease without knowing it (paused past its lease, cut off while a
//! write was in flight) still believes the epoch it read. So every write of a once-only job
//! carries that epoch ([`Fence`]) and runs in a transaction that first locks the lease row
//! (`SELECT epoch FROM node_leases WHERE job = $1 FOR SHARE`) and goes on only when the
//! epoch is still the current one. The lock keeps a new holder from taking the row (its
//! `INSERT … ON CONFLICT DO UPDATE` waits for it) until the fenced write has committed, so a
//! write either lands under the epoch it names or not at all — refused with
//! [`crate::store::Error::Conflict`].
//!
//! A single node (SQLite, no pair) has no lease: its writes carry [`Fence::none`] and are
//! never refused. Does not own the lease ([`super::lease`]) or the writes it guards
//! (`feedback`, `certificate`).

use crate::store::{Error, Result};

/// The epoch a once-only write runs under, or none (a single node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence(Option<(String, i64)>);

impl Fence {
    /// No lease to check (a single node: always leader).
    pub fn none() -> Self {
        Self(None)
    }

    /// The lease of `job` at `epoch`.
    pub fn at(job: &str, epoch: i64) -> Self {
        Self(Some((job.into(), epoch)))
    }

    /// The epoch written with the rows (`lease_epoch`), if fenced.
    pub fn epoch(&self) -> Option<i64> {
        self.0.as_ref().map(|(_, e)| *e)
    }

    /// Inside the write's transaction, before writing: locks the lease row and checks that
    /// the epoch is still current (PostgreSQL). `Conflict` (in Chinese, naming both epochs)
    /// when another node holds the lease now; the caller rolls back.
    pub async fn check(&self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        let Some((job, epoch)) = &self.0 else {
            return Ok(());
        };
        let current: Option<i64> =
            sqlx::query_scalar("SELECT epoch FROM node_leases WHERE job = $1 FOR SHARE")
                .bind(job)
                .fetch_optional(&mut *conn)
                .await?;
        if current == Some(*epoch) {
            return Ok(());
        }
        tracing::warn!(job = %job, epoch, current = ?current, "once-only write refused: the lease has moved on");
        Err(Error::Conflict(format!(
            "任务「{job}」的租约已转移（本节点持有第 {epoch} 代，当前为第 {} 代）：写入被拒绝",
            current.map_or_else(|| "?".to_string(), |c| c.to_string())
        )))
    }
}
