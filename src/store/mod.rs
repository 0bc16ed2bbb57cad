//! The store: one sqlx connection pool over SQLite (the embedded default: one file, WAL,
//! created and migrated on first start) or PostgreSQL (by URL), plus the migrations for both.
//! It owns connecting, migrating and error classification; it knows nothing of works or units
//! (that is `catalog`). Queries elsewhere use `$1`-style parameters, which both backends accept,
//! and only portable types (integers, text, floats). Time is stored as integer milliseconds
//! since the Unix epoch, UTC.

mod error;

pub use error::{Error, Result};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

/// Which database engine a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A migrated connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Turns what an operator typed into a database URL: a bare path becomes a SQLite file URL
/// that is created when missing (`mode=rwc`).
pub fn normalize_url(url_or_path: &str) -> (String, Backend) {
    let s = url_or_path.trim();
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return (s.to_string(), Backend::Postgres);
    }
    let mut url = if s.starts_with("sqlite:") {
        s.to_string()
    } else {
        format!("sqlite://{s}")
    };
    if !url.contains("mode=") && !url.contains(":memory:") {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("mode=rwc");
    }
    (url, Backend::Sqlite)
}

impl Store {
    /// Connects (creating the SQLite file if needed) and applies pending migrations.
    pub async fn open(url_or_path: &str) -> Result<Self> {
        install_default_drivers();
        let (url, backend) = normalize_url(url_or_path);
        let mut opts = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .acquire_timeout(std::time::Duration::from_secs(10));
        if backend == Backend::Sqlite {
            opts = opts.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(&url).await.map_err(|e| {
            tracing::error!(error = %e, "cannot open database");
            Error::Unavailable(format!("无法打开数据库（{}）：{e}", redact(&url)))
        })?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Self { pool, backend })
    }

    /// [`Store::open`], except that a PostgreSQL server that cannot be reached is not
    /// fatal: the pool connects when first used and the migrations run in the background as
    /// soon as the server answers (retried every 2 s). For `serve` on the production pair:
    /// a node restarted while its database is away goes on air from its state directory
    /// (the rundown it read, the as-run journal) and catches up when the server is back.
    /// A SQLite file, or migrations that fail on a server that answers, fail as
    /// [`Store::open`] does.
    pub async fn open_or_wait(url_or_path: &str) -> Result<Self> {
        let (url, backend) = normalize_url(url_or_path);
        if backend != Backend::Postgres {
            return Store::open(url_or_path).await;
        }
        install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_lazy(&url)
            .map_err(|e| Error::Unavailable(format!("数据库地址无效（{}）：{e}", redact(&url))))?;
        // A server that answers migrates now (errors are fatal, as in `open`); one that does
        // not answer within 3 s (refused connections are retried meanwhile) is migrated in
        // the background once it does.
        let first = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            POSTGRES_MIGRATIONS.run(&pool),
        )
        .await;
        match first {
            Ok(r) => r?,
            Err(_) => {
                tracing::warn!(db = %redact(&url), "database unreachable at start: going on air from the state directory; it is used when it answers");
                let migrating = pool.clone();
                tokio::spawn(async move {
                    loop {
                        match tokio::time::timeout(
                            std::time::Duration::from_secs(30),
                            POSTGRES_MIGRATIONS.run(&migrating),
                        )
                        .await
                        {
                            Ok(Ok(())) => {
                                tracing::info!(db = %redact(&url), "database reachable: migrations checked");
                                return;
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "migrations at reconnect failed; retrying")
                            }
                            Err(_) => tracing::debug!("migrations: database not yet reachable"),
                        }
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    }
                });
            }
        }
        Ok(Self {
            pool,
            backend: Backend::Postgres,
        })
    }

    /// The pool, for the catalog's queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// Hides a password in a database URL before it is shown or logged.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Milliseconds since the Unix epoch, UTC: the one clock reading the store uses.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized_and_redacted() {
        assert_eq!(
            normalize_url("/tmp/k.db"),
            ("sqlite:///tmp/k.db?mode=rwc".to_string(), Backend::Sqlite)
        );
        assert_eq!(
            normalize_url("sqlite://a.db?mode=ro").0,
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(normalize_url("postgres://u:p@h/db").1, Backend::Postgres);
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://***@h/db");
    }
}
