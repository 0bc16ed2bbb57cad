//! The secrets of accounts: argon2id password hashes (verification is constant-time inside
//! argon2), API tokens (32 random bytes from the OS, `kp_` + hex), their SHA-256 digests
//! (the only form stored) and their masked display form. No I/O besides the OS RNG.

use crate::store::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Prefix of every API token (lets scanners and people recognise a leaked one).
pub const TOKEN_PREFIX: &str = "kp_";
/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;

/// Hashes a password with argon2id and a fresh random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            Error::Unavailable("密码处理失败".into())
        })
}

/// Whether `password` matches the stored PHC hash (false for an unreadable hash).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => {
            tracing::error!("stored password hash is unreadable");
            false
        }
    }
}

/// Verifies against a fixed dummy hash so an unknown user name costs as much as a wrong
/// password.
pub fn burn_verify(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(h) = DUMMY.get_or_init(|| hash_password("kepu-playout-dummy-password").ok()) {
        let _ = verify_password(password, h);
    }
}

/// A new random API token: `kp_` and 64 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let mut s = String::with_capacity(TOKEN_PREFIX.len() + TOKEN_BYTES * 2);
    s.push_str(TOKEN_PREFIX);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Whether `s` has the shape of a token (cheap check before touching the database).
pub fn looks_like_token(s: &str) -> bool {
    s.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == TOKEN_BYTES * 2 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The masked form shown in lists and logs: `kp_` and the first 3 hex digits, then `…`.
pub fn mask_token(token: &str) -> String {
    let head: String = token.chars().take(TOKEN_PREFIX.len() + 3).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery").expect("hash"));
    }

    #[test]
    fn tokens_are_random_masked_and_digested() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(looks_like_token(&a), "{a}");
        assert!(!looks_like_token("kp_123"));
        assert!(!looks_like_token(&a.replace("kp_", "xx_")));
        let m = mask_token(&a);
        assert_eq!(m.chars().count(), 7);
        assert!(m.starts_with("kp_") && m.ends_with('…'));
        let d = token_digest(&a);
        assert_eq!(d.len(), 64);
        assert!(!d.contains(&a[3..]));
    }
}
