//! Login hardening for an operator page reachable from the internet: an account is locked
//! for [`LOCK_FOR_MS`] after [`MAX_FAILURES`] wrong passwords in a row (the count is in the
//! database, so both nodes of the pair share it), and every login attempt — accepted,
//! refused, refused because locked, or refused by the rate limit (`web::limits`) — is
//! audited in `login_audit` with the client address and the node that answered ([`Accounts::for_node`]). Passwords
//! are never stored or logged; a username longer than 100 characters is cut.

use serde::Serialize;

use super::{Accounts, AuthError, Principal};
use crate::store::{Result, now_ms};

/// Wrong passwords in a row that lock an account.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked, ms (15 minutes).
pub const LOCK_FOR_MS: i64 = 15 * 60 * 1000;

/// What became of a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Logged in.
    Ok,
    /// Wrong name or password, or a disabled account.
    Refused,
    /// The account is locked after repeated failures.
    Locked,
    /// Too many attempts from this address (rate limit); the password was not checked.
    Limited,
}

impl Outcome {
    /// The name stored in `login_audit.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Locked => "locked",
            Outcome::Limited => "limited",
        }
    }
}

/// One audited login attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LoginAttempt {
    /// Row id.
    pub id: i64,
    /// When, UTC ms.
    pub at_ms: i64,
    /// The name given (cut to 100 characters).
    pub username: String,
    /// The client address as the server saw it.
    pub client: String,
    /// `ok`, `refused`, `locked` or `limited`.
    pub outcome: String,
    /// The node that answered.
    pub node: String,
}

fn cut(s: &str) -> String {
    s.trim().chars().take(100).collect()
}

impl Accounts {
    /// [`Accounts::login`] with lock-out and audit: refused at once while the account is
    /// locked; a wrong password counts towards the lock; a success clears the count.
    /// `client` is the caller's address.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<std::result::Result<Principal, AuthError>> {
        let name = username.trim();
        let now = now_ms();
        let locked_until: Option<i64> =
            sqlx::query_scalar("SELECT locked_until_ms FROM users WHERE username = $1")
                .bind(name)
                .fetch_optional(self.store.pool())
                .await?;
        if let Some(until) = locked_until.filter(|u| *u > now) {
            self.audit_login(name, client, Outcome::Locked).await?;
            let minutes = (until - now + 59_999) / 60_000;
            return Ok(Err(AuthError::Locked { minutes }));
        }
        let r = self.login(name, password).await?;
        match &r {
            Ok(_) => {
                sqlx::query("UPDATE users SET failed_logins = 0 WHERE username = $1")
                    .bind(name)
                    .execute(self.store.pool())
                    .await?;
                self.audit_login(name, client, Outcome::Ok).await?;
            }
            Err(_) => {
                sqlx::query(
                    "UPDATE users SET failed_logins = failed_logins + 1 WHERE username = $1",
                )
                .bind(name)
                .execute(self.store.pool())
                .await?;
                let locked = sqlx::query(
                    "UPDATE users SET locked_until_ms = $1, failed_logins = 0 \
                     WHERE username = $2 AND failed_logins >= $3",
                )
                .bind(now + LOCK_FOR_MS)
                .bind(name)
                .bind(MAX_FAILURES)
                .execute(self.store.pool())
                .await?;
                if locked.rows_affected() > 0 {
                    tracing::warn!(user = %cut(name), client, "account locked after repeated failed logins");
                }
                self.audit_login(name, client, Outcome::Refused).await?;
            }
        }
        Ok(r)
    }

    /// Records one login attempt (answered by this node).
    pub async fn audit_login(&self, username: &str, client: &str, outcome: Outcome) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_audit (at_ms, username, client, outcome, node) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(now_ms())
        .bind(cut(username))
        .bind(cut(client))
        .bind(outcome.as_str())
        .bind(&*self.node)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The last `limit` login attempts, newest first.
    pub async fn login_audit(&self, limit: i64) -> Result<Vec<LoginAttempt>> {
        Ok(sqlx::query_as(
            "SELECT id, at_ms, username, client, outcome, node FROM login_audit \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Unlocks an account at once (an administrator's decision).
    pub async fn unlock(&self, username: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE users SET locked_until_ms = 0, failed_logins = 0 WHERE username = $1",
        )
        .bind(username.trim())
        .execute(self.store.pool())
        .await?;
        Ok(r.rows_affected() > 0)
    }
}
