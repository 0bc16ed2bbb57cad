//! The production pair: a main and a backup node on one PostgreSQL, both on air.
//!
//! Each node plays the rundown from the database on its own (the on-air controller computes
//! the programme position from UTC, so a node that starts late joins at the right frame) and
//! pushes to its own destinations. This module adds what makes two such processes a pair:
//!
//! - [`listen`]: an edit saved on either node reaches the other within a second — a trigger
//!   announces every saved day on the `kepu_rundown` channel and each node's listener asks
//!   its controller to re-read; after a lost connection it re-reads everything, because
//!   notifications sent meanwhile are gone;
//! - [`lease`]: jobs that must run once (feedback pollers…) run only on the node holding the
//!   lease — a session advisory lock plus a `node_leases` row with an epoch that grows with
//!   each change of holder; the holder renews it by epoch and stops acting as leader when it
//!   cannot (cut off from the database) before another node may take over;
//! - [`fence`]: the writes of those jobs carry the lease's epoch and the database refuses
//!   them once another node holds it (a node paused past its lease cannot write late);
//! - [`health`]: `GET /healthz` for probes (Kubernetes, compose, load balancers).
//!
//! As-run rows carry the node (`asrun::AsRunLog::for_node`); certificates count an airing of
//! both nodes once (`asrun::once_per_airing`). Does not own: playing (`air`), storage
//! (`store`, `asrun`), the config (`config::node`).

pub mod fence;
pub mod health;
pub mod lease;
pub mod listen;

pub use lease::Leader;
