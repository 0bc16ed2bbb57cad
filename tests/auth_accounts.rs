//! Accounts on a fresh database: the first admin, login (right, wrong, unknown, disabled),
//! tokens stored only as hashes, revocation.

use kepu_playout::auth::{Accounts, AuthError, Role};
use kepu_playout::store::{Error, Store};

async fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("a.db").to_str().expect("utf-8"))
        .await
        .expect("migrates");
    (dir, store)
}

#[tokio::test]
async fn first_admin_login_and_tokens() {
    let (_d, store) = fresh().await;
    let acc = Accounts::new(store.clone());
    let admin = acc
        .create_first_admin("root", "very-secret-password")
        .await
        .expect("first admin");
    assert_eq!(admin.role, "admin");
    assert!(matches!(
        acc.create_first_admin("root2", "very-secret-password")
            .await,
        Err(Error::Conflict(_))
    ));

    let p = acc
        .login("root", "very-secret-password")
        .await
        .expect("db")
        .expect("right password");
    assert_eq!(p.role, Role::Admin);
    assert_eq!(
        acc.login("root", "very-secret-passwore").await.expect("db"),
        Err(AuthError::Unauthenticated)
    );
    assert_eq!(
        acc.login("nobody", "very-secret-password")
            .await
            .expect("db"),
        Err(AuthError::Unauthenticated)
    );

    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'root'")
            .fetch_one(store.pool())
            .await
            .expect("row");
    assert!(hash.starts_with("$argon2id$") && !hash.contains("very-secret"));

    let t = acc.issue_token(admin.id, "cron").await.expect("token");
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT token_sha256, display FROM api_tokens")
            .fetch_all(store.pool())
            .await
            .expect("rows");
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].0.contains(&t.token[3..]) && stored[0].1 == t.display);
    assert!(
        !format!("{t:?}").contains(&t.token[3..]),
        "Debug hides the token"
    );
    let who = acc
        .authenticate_token(&t.token)
        .await
        .expect("db")
        .expect("valid");
    assert_eq!(who.username, "root");
    acc.revoke_token(t.id).await.expect("revoke");
    assert_eq!(
        acc.authenticate_token(&t.token).await.expect("db"),
        Err(AuthError::Unauthenticated),
        "revoked through this process: refused at once, even just after use"
    );
    // Revoked by another process (straight in the database): refused once the short
    // in-memory trust has lapsed.
    let t2 = acc.issue_token(who.user_id, "other").await.expect("token");
    acc.authenticate_token(&t2.token)
        .await
        .expect("db")
        .expect("valid");
    sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1")
        .bind(t2.id)
        .execute(store.pool())
        .await
        .expect("revoke elsewhere");
    tokio::time::sleep(kepu_playout::auth::TOKEN_CACHE + std::time::Duration::from_millis(50))
        .await;
    assert_eq!(
        acc.authenticate_token(&t2.token).await.expect("db"),
        Err(AuthError::Unauthenticated)
    );

    sqlx::query("UPDATE users SET disabled = 1")
        .execute(store.pool())
        .await
        .expect("disable");
    assert_eq!(
        acc.login("root", "very-secret-password").await.expect("db"),
        Err(AuthError::Unauthenticated)
    );
}
