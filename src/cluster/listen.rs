//! Follows the rundown edits of the other node: `LISTEN kepu_rundown` on a dedicated
//! PostgreSQL connection (sqlx's `PgListener`); every notification, and every reconnect,
//! asks the controller to re-read the days in view ([`crate::air::AirHandle::recue`]). The
//! controller re-reads whole days, so a notification lost with a dropped connection costs
//! nothing once the re-read after the reconnect has run.
//!
//! Every wait is bounded; a database that is away is retried every second without end (the
//! controller keeps playing its cues meanwhile).

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::air::AirHandle;
use crate::store::redact;

/// The channel the `rundown_days` trigger (migration 9001) notifies on.
pub const CHANNEL: &str = "kepu_rundown";

/// Longest wait to (re)connect the listener.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed connection before the next attempt.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Something that re-reads the rundown when asked (the on-air controller).
pub trait Recue: Send + Sync + 'static {
    /// Re-read now.
    fn recue(&self);
}

impl Recue for AirHandle {
    fn recue(&self) {
        AirHandle::recue(self);
    }
}

/// Listens until `stop` turns true. `url` is the PostgreSQL URL of `[server] database`.
pub async fn follow(url: String, target: impl Recue, mut stop: watch::Receiver<bool>) {
    let mut connected_once = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let listener = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut l = PgListener::connect(&url).await?;
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        })
        .await;
        let mut listener = match listener {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                tracing::warn!(db = %redact(&url), error = %e, "rundown listener: cannot connect; retrying");
                if wait_or_stop(&mut stop, RETRY_EVERY).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                tracing::warn!(db = %redact(&url), "rundown listener: connecting timed out; retrying");
                if wait_or_stop(&mut stop, RETRY_EVERY).await {
                    return;
                }
                continue;
            }
        };
        if connected_once {
            tracing::info!("rundown listener reconnected: re-reading the rundown");
        }
        connected_once = true;
        // Whatever was announced while we were not listening is gone: re-read.
        target.recue();
        loop {
            tokio::select! {
                r = stop.changed() => {
                    if r.is_err() || *stop.borrow() {
                        return;
                    }
                }
                r = listener.try_recv() => match r {
                    Ok(Some(n)) => {
                        tracing::info!(day = n.payload(), "rundown changed (announced by the database): re-reading");
                        target.recue();
                    }
                    Ok(None) => {
                        // The connection was lost; the next try_recv reconnects.
                        tracing::warn!("rundown listener lost its connection: re-reading after reconnect");
                        target.recue();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "rundown listener failed; reconnecting");
                        break;
                    }
                }
            }
        }
        if wait_or_stop(&mut stop, RETRY_EVERY).await {
            return;
        }
    }
}

/// Waits `d`; true when `stop` turned true meanwhile.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        r = stop.changed() => r.is_err() || *stop.borrow(),
    }
}
