//! `GET /healthz`: the probe of Kubernetes, compose and load balancers. Open (no
//! credentials; it reveals nothing secret). 200 while the on-air controller runs and the
//! engine has reported within the last seconds, 503 otherwise; the body says which node it
//! is, its role, whether it holds the jobs' lease, and whether the rundown could be read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::Leader;
use crate::air::AirHandle;
use crate::config::node::NodeConfig;

/// What the probe answers.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` or `unhealthy`.
    pub status: &'static str,
    /// `[node] name`.
    pub node: String,
    /// `main` or `backup`.
    pub role: &'static str,
    /// Holds the lease of the once-only jobs.
    pub leader: bool,
    /// The engine reported a status (it runs).
    pub engine: bool,
    /// Why the rundown could not be read last time (database away), if so; the node keeps
    /// playing its cues meanwhile.
    pub rundown_error: Option<String>,
    /// As-run writes waiting for the database: the entries of the node's as-run journal
    /// (on disk; replayed by the next process if this one dies).
    pub asrun_pending: usize,
    /// As-run writes the journal dropped over its limit (0 unless the database was away
    /// for very long; an alarm says so).
    pub asrun_dropped: u64,
}

#[derive(Clone)]
struct HealthState {
    node: NodeConfig,
    leader: Leader,
    air: AirHandle,
}

/// The `/healthz` route.
pub fn routes(node: NodeConfig, leader: Leader, air: AirHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(HealthState { node, leader, air })
}

async fn healthz(State(s): State<HealthState>) -> (StatusCode, Json<Health>) {
    let snap = s.air.snapshot();
    let engine = snap.engine.is_some();
    let h = Health {
        status: if engine { "ok" } else { "unhealthy" },
        node: s.node.name.clone(),
        role: s.node.role.as_str(),
        leader: s.leader.is_leader(),
        engine,
        rundown_error: snap.rundown_error,
        asrun_pending: snap.asrun_pending,
        asrun_dropped: snap.asrun_dropped,
    };
    let code = if engine {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(h))
}
