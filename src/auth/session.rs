//! Login sessions for the dashboard: a random cookie value (stored only as its SHA-256)
//! that stands for a user for [`SESSION_HOURS`], and a per-session CSRF token that every
//! change made with the cookie must echo in the `X-CSRF-Token` header (checked by the web
//! guard). Logging out revokes the session; a disabled user's sessions stop working at once.

use super::{Accounts, AuthError, Principal, principal_of, secret};
use crate::store::{Result, now_ms};

/// How long a session lasts from login.
pub const SESSION_HOURS: i64 = 12;

/// A session just created: the cookie value and the CSRF token (both shown once).
#[derive(Clone)]
pub struct NewSession {
    /// The cookie value.
    pub cookie: String,
    /// The CSRF token the page must send with every change.
    pub csrf: String,
    /// Seconds until it expires.
    pub max_age_secs: i64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession").finish_non_exhaustive()
    }
}

/// Who a session cookie stands for, and its CSRF token.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The user.
    pub principal: Principal,
    /// The session's CSRF token.
    pub csrf: String,
}

fn csrf_token() -> String {
    // A fresh random token without its `kp_` prefix: 64 hex digits.
    let t = secret::new_token();
    t.rsplit('_').next().unwrap_or_default().to_string()
}

impl Accounts {
    /// Opens a session for an authenticated user.
    pub async fn create_session(&self, p: &Principal) -> Result<NewSession> {
        let cookie = secret::new_token();
        let csrf = csrf_token();
        let now = now_ms();
        let max_age_secs = SESSION_HOURS * 3600;
        sqlx::query(
            "INSERT INTO sessions (token_sha256, user_id, csrf, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(secret::token_digest(&cookie))
        .bind(p.user_id)
        .bind(&csrf)
        .bind(now)
        .bind(now + max_age_secs * 1000)
        .execute(self.store.pool())
        .await?;
        tracing::info!(user = %p.username, "session opened");
        Ok(NewSession {
            cookie,
            csrf,
            max_age_secs,
        })
    }

    /// Who holds this session cookie (expired, revoked or disabled: nobody).
    pub async fn authenticate_session(
        &self,
        cookie: &str,
    ) -> Result<std::result::Result<SessionUser, AuthError>> {
        if !secret::looks_like_token(cookie) {
            return Ok(Err(AuthError::Unauthenticated));
        }
        let row: Option<(i64, String, String, Option<i64>, String)> = sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.unit_id, s.csrf FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_sha256 = $1 AND s.revoked = 0 AND s.expires_at_ms > $2 \
             AND u.disabled = 0",
        )
        .bind(secret::token_digest(cookie))
        .bind(now_ms())
        .fetch_optional(self.store.pool())
        .await?;
        Ok(row
            .and_then(|(id, name, role, unit, csrf)| {
                principal_of(id, name, &role, unit).map(|principal| SessionUser { principal, csrf })
            })
            .ok_or(AuthError::Unauthenticated))
    }

    /// Ends a session (logging out); unknown cookies are ignored.
    pub async fn end_session(&self, cookie: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_sha256 = $1")
            .bind(secret::token_digest(cookie))
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csrf_tokens_are_long_random_hex() {
        let a = super::csrf_token();
        let b = super::csrf_token();
        assert_eq!(a.len(), 64, "{a}");
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
