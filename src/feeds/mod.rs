//! Stream keys of the RTMP ingest: one per partner feed (or several), stored only as a
//! SHA-256 digest, shown once when created, revocable; and the in-memory key ring the
//! engine's ingest asks (`playout`'s `KeyCheck`), reloaded from the table.
//!
//! The ring is also kept in the node's state directory ([`KEY_CACHE`], written as a
//! temporary file, fsync'd and renamed, mode 0600): the valid keys' digests and their
//! feeds, never a key. It is rewritten whenever a reload from the table finds something
//! new (every few seconds in `serve`, and at once when a key is issued or revoked here),
//! so a node restarted while its database is away starts its ingest from the keys it last
//! read: a revoked key stays refused, a valid one is accepted ([`KeyRing::cached_at`]).
//!
//! Owns the `ingest_keys` SQL, key generation and the key ring. Does not own the ingest
//! itself (`playout::source::live::ingest`) nor which feed is on air (the rundown plays a
//! feed as `ingest://FEED`).

pub mod cli;

use crate::store::{Error, Result, Store};
use playout::source::live::ingest::{FeedId, KeyCheck};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
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

/// The file of the state directory that keeps the ingest's valid key digests.
pub const KEY_CACHE: &str = "ingest-keys.json";

/// What [`KEY_CACHE`] holds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CachedKeys {
    /// When the keys were read from the database, Unix ms (UTC).
    read_at_ms: i64,
    /// SHA-256 digest (lower-case hex) of each valid key → its feed.
    digests: BTreeMap<String, FeedId>,
}

/// What a ring found in its cache file at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheLoaded {
    /// Valid keys read from the file.
    pub keys: usize,
    /// When the process that wrote it read them from the database, Unix ms.
    pub read_at_ms: i64,
}

/// The valid keys (as digests) in memory, for the ingest's key check; optionally kept in a
/// cache file ([`KeyRing::cached_at`]).
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    digests: Arc<RwLock<HashMap<String, FeedId>>>,
    /// The cache file, and whether this process has written it yet.
    cache: Option<(Arc<PathBuf>, Arc<std::sync::atomic::AtomicBool>)>,
    /// One reload at a time: a later read of the table is never overwritten by an earlier.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl KeyRing {
    /// A ring kept in the cache file `path`, holding now what the file holds (the keys the
    /// last process read), so the ingest can start before the database answers. `None`
    /// beside it when there is no usable file (absent; unreadable or malformed: logged and
    /// ignored, and rewritten at the next reload).
    pub fn cached_at(path: PathBuf) -> (Self, Option<CacheLoaded>) {
        let loaded = read_key_cache(&path);
        let ring = KeyRing {
            cache: Some((
                Arc::new(path),
                Arc::new(std::sync::atomic::AtomicBool::new(false)),
            )),
            ..KeyRing::default()
        };
        let info = loaded.map(|c| {
            let info = CacheLoaded {
                keys: c.digests.len(),
                read_at_ms: c.read_at_ms,
            };
            if let Ok(mut g) = ring.digests.write() {
                *g = c.digests.into_iter().collect();
            }
            info
        });
        (ring, info)
    }

    /// Reloads the valid keys from the table, and rewrites the cache file when they changed
    /// (or this process has not written it yet). A failed cache write is logged, not
    /// returned: the keys in memory are current.
    pub async fn reload(&self, feeds: &Feeds) -> Result<()> {
        let _one = self.reloading.lock().await;
        let map = feeds.valid_digests().await?;
        let changed = self.digests.read().map_or(true, |g| *g != map);
        if let Some((path, written)) = &self.cache
            && (changed || !written.load(std::sync::atomic::Ordering::SeqCst))
        {
            let (file, keys) = (path.clone(), map.clone());
            let done = tokio::task::spawn_blocking(move || write_key_cache(&file, &keys)).await;
            match done {
                Ok(Ok(())) => written.store(true, std::sync::atomic::Ordering::SeqCst),
                Ok(Err(e)) => {
                    tracing::warn!(path = %path.display(), error = %e, "ingest key cache not written")
                }
                Err(e) => tracing::warn!(error = %e, "ingest key cache task failed"),
            }
        }
        if let Ok(mut g) = self.digests.write() {
            *g = map;
        }
        Ok(())
    }

    /// How many valid keys the ring holds.
    pub fn len(&self) -> usize {
        self.digests.read().map_or(0, |g| g.len())
    }

    /// True when no key is valid (every publisher is refused).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cache file's keys; `None` when absent or unusable (said in the log).
fn read_key_cache(path: &Path) -> Option<CachedKeys> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "ingest key cache not readable: ignored");
            }
            return None;
        }
    };
    let c: CachedKeys = match serde_json::from_slice(&text) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ingest key cache malformed: ignored");
            return None;
        }
    };
    let sound = c.digests.iter().all(|(d, feed)| {
        d.len() == 64
            && d.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && validate_feed(feed).is_ok()
    });
    if !sound {
        tracing::warn!(path = %path.display(), "ingest key cache holds a malformed digest or feed: ignored");
        return None;
    }
    Some(c)
}

/// Writes the cache file: a temporary file (mode 0600), fsync, rename, fsync of the
/// directory.
fn write_key_cache(path: &Path, keys: &HashMap<String, FeedId>) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let json = serde_json::to_vec_pretty(&CachedKeys {
        read_at_ms: now_ms(),
        digests: keys.iter().map(|(d, f)| (d.clone(), f.clone())).collect(),
    })
    .map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&json)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
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

    #[tokio::test]
    async fn a_cached_ring_starts_with_the_keys_last_read_and_never_stores_a_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("k.db").display().to_string())
            .await
            .expect("store");
        let cache = dir.path().join("state").join(KEY_CACHE);
        let (ring, loaded) = KeyRing::cached_at(cache.clone());
        assert_eq!(loaded, None, "no cache yet");
        let feeds = Feeds::with_ring(store.clone(), ring.clone());
        let good = feeds.create_key("scope-1", "").await.expect("key");
        let gone = feeds.create_key("scope-1", "").await.expect("key");
        feeds.revoke(gone.info.id).await.expect("revoke");
        // Written at each change through the handle: the revocation is in the file.
        let text = std::fs::read_to_string(&cache).expect("cache written");
        assert!(
            !text.contains(&good.key) && !text.contains(&good.key[3..]),
            "{text}"
        );
        assert!(text.contains(&digest(&good.key)) && !text.contains(&digest(&gone.key)));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&cache)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner reads it: {mode:o}");

        // The next process, before any database read: the good key only.
        let (next, loaded) = KeyRing::cached_at(cache.clone());
        assert_eq!(loaded.map(|l| l.keys), Some(1));
        assert_eq!(next.check("live", &good.key).as_deref(), Some("scope-1"));
        assert_eq!(next.check("live", &gone.key), None);

        // A damaged file is ignored (nothing valid), not trusted in part.
        std::fs::write(
            &cache,
            b"{\"read_at_ms\": 1, \"digests\": {\"zz\": \"scope-1\"}}",
        )
        .expect("damage");
        let (damaged, loaded) = KeyRing::cached_at(cache.clone());
        assert_eq!(loaded, None);
        assert!(damaged.is_empty());
        // … and rewritten at its first reload from the table.
        damaged.reload(&feeds).await.expect("reload");
        let (again, _) = KeyRing::cached_at(cache);
        assert_eq!(again.check("live", &good.key).as_deref(), Some("scope-1"));
    }
}
