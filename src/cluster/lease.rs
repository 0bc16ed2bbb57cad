//! The lease of the once-only jobs: at most one node of the pair acts as leader.
//!
//! A node becomes leader when it has taken the `node_leases` row (normally while holding the
//! PostgreSQL session advisory lock of the job on a connection of its own; without the lock
//! only once the row has expired, since a paused holder keeps its lock): either the row is free
//! (its lease expired by the database's clock) and the node takes it with the next epoch, or
//! the node already holds it with its epoch and renews it. The holder renews every third of
//! the lease's length; it counts itself leader only until `renewed + ttl - margin` by its own
//! monotonic clock. A node cut off from the database cannot renew, so it stops acting as
//! leader before the row expires — and another node can take the row only once it has
//! expired. A renewal that finds a higher epoch (another holder) ends leadership at once.
//!
//! (sqlx's `PgAdvisoryLock::try_acquire` is not cancel-safe: the lock is taken with plain SQL
//! on the dedicated connection, every call time-boxed; a timed-out connection is dropped,
//! which releases the lock on the server.)

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::store::redact;

/// The SQL expression of the database's clock in ms since the Unix epoch.
const DB_NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// How a lease is held.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// The job's name (`jobs` for all the once-only jobs of a channel).
    pub job: String,
    /// This node's name.
    pub holder: String,
    /// How long a lease lasts without renewal.
    pub ttl: Duration,
    /// Longest wait for one database round trip.
    pub timeout: Duration,
}

impl LeaseSettings {
    /// The default lease of node `holder`: 6 s, renewed every 2 s.
    pub fn new(job: &str, holder: &str) -> Self {
        Self {
            job: job.into(),
            holder: holder.into(),
            ttl: Duration::from_secs(6),
            timeout: Duration::from_secs(2),
        }
    }
}

/// What a lease holder knows: its epoch and until when it may act (monotonic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    /// The epoch of the holding (grows with every change of holder).
    pub epoch: i64,
    /// Acting as leader is allowed until this instant.
    pub until: Instant,
}

/// Whether this node may run the once-only jobs now. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Leader(Option<(Arc<str>, watch::Receiver<Option<Held>>)>);

impl Leader {
    /// Always leader: a single node (SQLite, or no pair configured).
    pub fn always() -> Self {
        Self(None)
    }

    /// Leader while the lease of `job` behind `rx` is held and valid.
    pub fn from_watch(job: &str, rx: watch::Receiver<Option<Held>>) -> Self {
        Self(Some((job.into(), rx)))
    }

    /// True while this node holds a valid lease (checked against the monotonic clock now,
    /// not only at the last renewal).
    pub fn is_leader(&self) -> bool {
        match &self.0 {
            None => true,
            Some((_, rx)) => rx.borrow().is_some_and(|h| Instant::now() < h.until),
        }
    }

    /// The epoch held, if leader.
    pub fn epoch(&self) -> Option<i64> {
        match &self.0 {
            None => None,
            Some((_, rx)) => rx
                .borrow()
                .filter(|h| Instant::now() < h.until)
                .map(|h| h.epoch),
        }
    }

    /// The lease's job (`jobs`), or `None` for a single node (no lease).
    pub fn job(&self) -> Option<&str> {
        self.0.as_ref().map(|(job, _)| &**job)
    }

    /// The fence a once-only write must carry, if this node may run the jobs now: the
    /// epoch held (checked again by the database at the write, [`super::fence`]), or no
    /// fence for a single node. `None` when not leader.
    pub fn fence(&self) -> Option<super::fence::Fence> {
        match &self.0 {
            None => Some(super::fence::Fence::none()),
            Some((job, _)) => self.epoch().map(|e| super::fence::Fence::at(job, e)),
        }
    }
}

impl PartialEq for Leader {
    /// Leaders compare equal: the options that carry one compare their settings only.
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for Leader {}

impl Default for Leader {
    fn default() -> Self {
        Self::always()
    }
}

/// Who holds the lease of `job` now, by the database's clock: `(holder, epoch)`, or `None`
/// when nobody does (no row, or its lease expired). PostgreSQL only (the pair's database);
/// one round trip, bounded by the pool's own timeouts.
pub async fn current_holder(
    store: &crate::store::Store,
    job: &str,
) -> crate::store::Result<Option<(String, i64)>> {
    let row: Option<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT holder, epoch FROM node_leases WHERE job = $1 AND expires_at_ms >= {DB_NOW_MS}"
    )))
    .bind(job)
    .fetch_optional(store.pool())
    .await?;
    Ok(row)
}

/// Holds (or waits for) the lease until `stop`; the returned [`Leader`] follows it.
pub fn spawn(
    url: String,
    settings: LeaseSettings,
    stop: watch::Receiver<bool>,
) -> (Leader, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(None);
    let job = settings.job.clone();
    let task = tokio::spawn(run(url, settings, Arc::new(tx), stop));
    (Leader::from_watch(&job, rx), task)
}

async fn run(
    url: String,
    s: LeaseSettings,
    tx: Arc<watch::Sender<Option<Held>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn: Option<PgConnection> = None;
    let mut locked = false;
    let mut held: Option<Held> = None;
    let mut every = tokio::time::interval(s.ttl / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Leadership must end on time even when the round trips hang: margin of one timeout.
    let margin = s.timeout;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
        let started = Instant::now();
        match tokio::time::timeout(s.timeout * 2, step(&url, &s, &mut conn, &mut locked, held))
            .await
        {
            Ok(Ok(Some(epoch))) => {
                if held.map(|h| h.epoch) != Some(epoch) {
                    tracing::info!(job = %s.job, node = %s.holder, epoch, "lease taken: this node runs the once-only jobs");
                }
                held = Some(Held {
                    epoch,
                    until: started + s.ttl.saturating_sub(margin),
                });
            }
            Ok(Ok(None)) => {
                if held.take().is_some() {
                    tracing::warn!(job = %s.job, node = %s.holder, "lease lost to another node");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(job = %s.job, db = %redact(&url), error = %e, "lease not renewed");
                conn = None;
                locked = false;
            }
            Err(_) => {
                tracing::warn!(job = %s.job, "lease round trip timed out");
                conn = None;
                locked = false;
            }
        }
        if held.is_some_and(|h| Instant::now() >= h.until) {
            tracing::warn!(job = %s.job, node = %s.holder, "lease expired: no longer acting as leader");
            held = None;
        }
        tx.send_replace(held);
    }
    // Let another node take over at once: give the row up (best effort) and drop the lock.
    if let (Some(mut c), Some(h)) = (conn, held) {
        let _ = tokio::time::timeout(
            s.timeout,
            sqlx::query(
                "UPDATE node_leases SET expires_at_ms = 0 WHERE job = $1 AND holder = $2 AND epoch = $3",
            )
            .bind(&s.job)
            .bind(&s.holder)
            .bind(h.epoch)
            .execute(&mut c),
        )
        .await;
        let _ = tokio::time::timeout(s.timeout, c.close()).await;
    }
    tx.send_replace(None);
}

/// One round: connect if needed, take the advisory lock if not held, then take or renew the
/// row. `Ok(Some(epoch))` when this node holds the lease now.
async fn step(
    url: &str,
    s: &LeaseSettings,
    conn: &mut Option<PgConnection>,
    locked: &mut bool,
    held: Option<Held>,
) -> Result<Option<i64>, sqlx::Error> {
    if conn.is_none() {
        *conn = Some(PgConnection::connect(url).await?);
        *locked = false;
    }
    let Some(c) = conn.as_mut() else {
        return Ok(None);
    };
    if !*locked {
        *locked = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(format!("kepu-lease:{}", s.job))
            .fetch_one(&mut *c)
            .await?;
        // Without the lock a node still takes the row once it has expired: a holder whose
        // process is paused (SIGSTOP) keeps its lock — its connection stays open — and must
        // not keep the pair without a leader. The row (its expiry and epoch, changed
        // atomically) decides; the lock only keeps a live holder's rival off it, and the
        // epoch fence (`super::fence`) refuses the late writes of a holder that lost it.
        if !*locked && held.is_none() {
            let expired: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COALESCE((SELECT expires_at_ms < {DB_NOW_MS} FROM node_leases \
                 WHERE job = $1), TRUE)"
            )))
            .bind(&s.job)
            .fetch_one(&mut *c)
            .await?;
            if !expired {
                return Ok(None);
            }
        }
    }
    let ttl_ms = i64::try_from(s.ttl.as_millis()).unwrap_or(i64::MAX);
    let mine = held.map_or(0, |h| h.epoch);
    let sql = format!(
        "INSERT INTO node_leases (job, holder, epoch, expires_at_ms) \
         VALUES ($1, $2, 1, {DB_NOW_MS} + $3) \
         ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, \
           epoch = CASE WHEN node_leases.holder = EXCLUDED.holder AND node_leases.epoch = $4 \
                   THEN node_leases.epoch ELSE node_leases.epoch + 1 END, \
           expires_at_ms = EXCLUDED.expires_at_ms \
         WHERE (node_leases.holder = EXCLUDED.holder AND node_leases.epoch = $4) \
            OR node_leases.expires_at_ms < {DB_NOW_MS} \
         RETURNING epoch"
    );
    let epoch: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&s.job)
        .bind(&s.holder)
        .bind(ttl_ms)
        .bind(mine)
        .fetch_optional(&mut *c)
        .await?;
    Ok(epoch)
}
