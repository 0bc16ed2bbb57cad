//! Storage of certificates: the server secret (`settings`, key `certificate_secret`: 32 random
//! bytes from the OS as hex, created once by whichever process asks first) and the issued
//! certificates (`certificates`: one row per code, never changed). Portable SQL for SQLite
//! and PostgreSQL; racing writers settle on one row through `ON CONFLICT DO NOTHING`.

use super::code::{self, SECRET_LEN};
use super::model::Certificate;
use crate::cluster::fence::Fence;
use crate::store::{Error, Result, Store, now_ms};
use rand_core::{OsRng, RngCore};

/// The settings key of the secret.
pub const SECRET_KEY: &str = "certificate_secret";

/// The server secret, created on first use.
pub async fn secret(store: &Store) -> Result<[u8; SECRET_LEN]> {
    if let Some(s) = read_secret(store).await? {
        return Ok(s);
    }
    let mut bytes = [0u8; SECRET_LEN];
    OsRng.fill_bytes(&mut bytes);
    sqlx::query(
        "INSERT INTO settings (key, value, created_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(SECRET_KEY)
    .bind(to_hex(&bytes))
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    // Another process may have won the race: use what is stored.
    read_secret(store)
        .await?
        .ok_or_else(|| Error::Unavailable("证明密钥无法保存".into()))
}

async fn read_secret(store: &Store) -> Result<Option<[u8; SECRET_LEN]>> {
    let hex: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(SECRET_KEY)
        .fetch_optional(store.pool())
        .await?;
    match hex {
        None => Ok(None),
        Some(h) => from_hex(&h).map(Some).ok_or_else(|| {
            tracing::error!("the stored certificate secret is unreadable");
            Error::Unavailable("证明密钥已损坏，请联系管理员".into())
        }),
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<[u8; SECRET_LEN]> {
    let s = s.trim();
    if s.len() != SECRET_LEN * 2 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; SECRET_LEN];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A stored row, not yet checked.
#[derive(sqlx::FromRow)]
struct Row {
    code: String,
    work_id: i64,
    payload_json: String,
}

/// Stores `c` unless its code is already issued; returns the stored certificate (the earlier
/// one when the code existed, so its issue date does not move).
pub async fn save(
    store: &Store,
    c: &Certificate,
    secret: &[u8; SECRET_LEN],
) -> Result<Certificate> {
    save_fenced(store, c, secret, &Fence::none()).await
}

/// [`save`] for the issuing job of the lease holder: in one transaction, the lease epoch is
/// checked first ([`Fence::check`]; `Conflict` and nothing stored when another node holds
/// the lease now) and kept on the row (`lease_epoch`).
pub async fn save_fenced(
    store: &Store,
    c: &Certificate,
    secret: &[u8; SECRET_LEN],
    fence: &Fence,
) -> Result<Certificate> {
    let json =
        serde_json::to_string(c).map_err(|e| Error::Unavailable(format!("证明无法序列化：{e}")))?;
    let mut tx = store.pool().begin().await?;
    fence.check(&mut tx).await?;
    sqlx::query(
        "INSERT INTO certificates (code, work_id, payload_json, issued_at_ms, lease_epoch) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING",
    )
    .bind(&c.code)
    .bind(c.work_id)
    .bind(json)
    .bind(c.issued_at_ms)
    .bind(fence.epoch())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    by_code(store, &c.code, secret)
        .await?
        .ok_or_else(|| Error::Conflict("证明编号与已存证明冲突，未能签发".into()))
}

/// The certificate stored under `code`, if there is one *and* it checks out: the payload
/// parses, names the same code and work as its row, and its facts give that code under
/// `secret`. A row that fails the check is logged and treated as absent.
pub async fn by_code(
    store: &Store,
    code: &str,
    secret: &[u8; SECRET_LEN],
) -> Result<Option<Certificate>> {
    if !code::is_well_formed(code) {
        return Ok(None);
    }
    let row: Option<Row> =
        sqlx::query_as("SELECT code, work_id, payload_json FROM certificates WHERE code = $1")
            .bind(code)
            .fetch_optional(store.pool())
            .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let c: Certificate = match serde_json::from_str(&row.payload_json) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(code = %row.code, error = %e, "stored certificate is unreadable");
            return Ok(None);
        }
    };
    if c.code != row.code || c.work_id != row.work_id || !c.checks_out(secret) {
        tracing::error!(code = %row.code, "stored certificate fails its HMAC re-check (altered?)");
        return Ok(None);
    }
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_secret_hex_round_trips() {
        let bytes: [u8; SECRET_LEN] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex(&"zz".repeat(SECRET_LEN)), None);
    }
}
