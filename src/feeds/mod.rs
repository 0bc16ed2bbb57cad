//! Stream keys of the RTMP ingest: one per partner feed (or several), stored only as a
//! SHA-256 digest, shown once when created, revocable; and the in-memory key ring the
//! engine's ingest asks (`playout`'s `KeyCheck`), reloaded from the table.
//!
//! Owns the `ingest_keys` SQL, key generation and the key ring. Does not own the ingest
//! itself (`playout::source::live::ingest`) nor which feed is on air (the rundown plays a
//! feed as `ingest://FEED`).

pub mod cli;

use crate::store::{Error, Result, Store};
use playout::source::live::ingest::{FeedId, KeyCheck};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Prefix of every ingest key (recognisable when leaked).
pub const KEY_PREFIX: &str = "ki_";

/// A stored key, as listed (never the key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IngestKey {
    pub id: i64,
    /// The feed the key publishes to (`ingest://FEED` in the rundown).
    pub feed: String,
    /// The key's first characters, then `…`.
    pub key_hint: String,
    pub note: String,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms; `None` while the key is valid.
    pub revoked_at_ms: Option<i64>,
}

/// A key just created: the only time the key itself is seen.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    #[serde(flatten)]
    pub info: IngestKey,
    /// The stream key: `rtmp://HOST:PORT/live/KEY`. Shown once; stored only as a digest.
    pub key: String,
}

fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Checks a feed name: what the rundown writes after `ingest://`.
pub fn validate_feed(feed: &str) -> Result<()> {
    let ok = !feed.is_empty()
        && feed.len() <= 64
        && feed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "feed",
            "直播源名称须为 1–64 个字母、数字、- 或 _",
        ))
    }
}

/// The `ingest_keys` table.
#[derive(Clone, Debug)]
pub struct Feeds {
    store: Store,
    /// The running ingest's keys, when this process runs it: reloaded before a key issued or
    /// revoked here is answered, so it takes effect at once.
    ring: Option<KeyRing>,
}

impl Feeds {
    pub fn new(store: Store) -> Self {
        Feeds { store, ring: None }
    }

    /// Keys of the ingest running in this process: `ring` is reloaded on every change made
    /// through this handle (else the ingest's periodic reload picks changes up).
    pub fn with_ring(store: Store, ring: KeyRing) -> Self {
        Feeds {
            store,
            ring: Some(ring),
        }
    }

    /// Reloads the running ingest's keys, when there is one here.
    async fn keys_changed(&self) -> Result<()> {
        match &self.ring {
            Some(r) => r.reload(self).await,
            None => Ok(()),
        }
    }

    /// Creates a key for `feed`; the returned key is shown once.
    pub async fn create_key(&self, feed: &str, note: &str) -> Result<IssuedKey> {
        validate_feed(feed)?;
        let mut bytes = [0u8; 24];
        OsRng.fill_bytes(&mut bytes);
        let mut key = String::from(KEY_PREFIX);
        for b in bytes {
            key.push_str(&format!("{b:02x}"));
        }
        let hint: String = format!(
            "{}…",
            key.chars().take(KEY_PREFIX.len() + 4).collect::<String>()
        );
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ingest_keys (feed, key_sha256, key_hint, note, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(feed)
        .bind(digest(&key))
        .bind(&hint)
        .bind(note)
        .bind(now)
        .fetch_one(self.store.pool())
        .await?;
        self.keys_changed().await?;
        Ok(IssuedKey {
            info: IngestKey {
                id,
                feed: feed.to_string(),
                key_hint: hint,
                note: note.to_string(),
                created_at_ms: now,
                revoked_at_ms: None,
            },
            key,
        })
    }

    /// Every key, valid and revoked, newest first.
    pub async fn keys(&self) -> Result<Vec<IngestKey>> {
        Ok(sqlx::query_as(
            "SELECT id, feed, key_hint, note, created_at_ms, revoked_at_ms FROM ingest_keys \
             ORDER BY id DESC",
        )
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Revokes key `id` (a publisher using it is refused from the next connection on).
    pub async fn revoke(&self, id: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE ingest_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("有效的推流密钥", id.to_string()));
        }
        self.keys_changed().await
    }

    async fn valid_digests(&self) -> Result<HashMap<String, FeedId>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key_sha256, feed FROM ingest_keys WHERE revoked_at_ms IS NULL")
                .fetch_all(self.store.pool())
                .await?;
        Ok(rows.into_iter().collect())
    }
}

/// The valid keys (as digests) in memory, for the ingest's key check.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    digests: Arc<RwLock<HashMap<String, FeedId>>>,
}

impl KeyRing {
    /// Reloads the valid keys from the table.
    pub async fn reload(&self, feeds: &Feeds) -> Result<()> {
        let map = feeds.valid_digests().await?;
        if let Ok(mut g) = self.digests.write() {
            *g = map;
        }
        Ok(())
    }
}

impl KeyCheck for KeyRing {
    fn check(&self, _app: &str, key: &str) -> Option<FeedId> {
        let d = digest(key);
        self.digests.read().ok()?.get(&d).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_shown_once_stored_hashed_checked_and_revoked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("k.db").display().to_string())
            .await
            .expect("store");
        let feeds = Feeds::new(store.clone());
        let issued = feeds
            .create_key("telescope-1", "天文台")
            .await
            .expect("key");
        assert!(issued.key.starts_with(KEY_PREFIX) && issued.key.len() == 3 + 48);
        assert!(!issued.info.key_hint.contains(&issued.key[7..]));
        // Only the digest is stored.
        let stored: Vec<String> = sqlx::query_scalar("SELECT key_sha256 FROM ingest_keys")
            .fetch_all(store.pool())
            .await
            .expect("rows");
        assert_eq!(stored, vec![digest(&issued.key)]);
        assert!(!stored[0].contains(&issued.key[3..]));

        let ring = KeyRing::default();
        ring.reload(&feeds).await.expect("reload");
        assert_eq!(
            ring.check("live", &issued.key).as_deref(),
            Some("telescope-1")
        );
        assert_eq!(ring.check("live", "ki_guess"), None);
        feeds.revoke(issued.info.id).await.expect("revoke");
        ring.reload(&feeds).await.expect("reload");
        assert_eq!(ring.check("live", &issued.key), None);
        assert!(feeds.revoke(issued.info.id).await.is_err(), "revoked twice");
        let list = feeds.keys().await.expect("list");
        assert!(list[0].revoked_at_ms.is_some());
        assert!(feeds.create_key("bad name/", "").await.is_err());
    }
}
