//! Verification codes (验证码) of certificates: HMAC-SHA256 with the server secret over a
//! canonical text of what the certificate attests — the work id, the unit id, the title and
//! the sorted first-frame times of its airings — written as 16 characters of a readable
//! 32-letter alphabet (no 0/O/1/I), i.e. the first 80 bits of the MAC.
//!
//! Pure: no I/O. The same inputs and secret always give the same code, so a stored
//! certificate can be re-checked; any change to the attested facts (a new airing, another
//! title) gives another code.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The 32 characters of a code: digits 2–9 and A–Z without I and O.
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters in a code.
pub const CODE_LEN: usize = 16;
/// Bytes of the server secret.
pub const SECRET_LEN: usize = 32;
/// Version tag of the canonical text (changes only with a new way of deriving codes).
const DOMAIN: &str = "kepu-playout/certificate/v1";

/// What a code attests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested<'a> {
    /// The catalog work.
    pub work_id: i64,
    /// Its submitting unit.
    pub unit_id: i64,
    /// The work's title as certified.
    pub title: &'a str,
    /// First frames of its airings, UTC ms (any order; sorted here).
    pub first_frames_ms: Vec<i64>,
}

/// The canonical text the MAC covers: a JSON array (unambiguous for any title, including
/// ones with quotes, newlines or separators) of the domain tag, ids, title and sorted times.
pub fn canonical_text(a: &Attested<'_>) -> String {
    let mut times = a.first_frames_ms.clone();
    times.sort_unstable();
    serde_json::json!([DOMAIN, a.work_id, a.unit_id, a.title, times]).to_string()
}

/// The code of `a` under `secret`.
pub fn derive(secret: &[u8; SECRET_LEN], a: &Attested<'_>) -> String {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps it total.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(canonical_text(a).as_bytes());
    encode(&mac.finalize().into_bytes())
}

/// The first `CODE_LEN` × 5 bits of `bytes` in [`ALPHABET`].
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(CODE_LEN);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < CODE_LEN {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
        if out.len() == CODE_LEN {
            break;
        }
    }
    out
}

/// What a person typed, as a code: trimmed, upper-cased, without spaces and dashes (codes are
/// printed in groups of four). `None` when it cannot be a code at all.
pub fn normalize(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    is_well_formed(&s).then_some(s)
}

/// Whether `s` has the shape of a code (length and alphabet; says nothing of validity).
pub fn is_well_formed(s: &str) -> bool {
    s.len() == CODE_LEN && s.bytes().all(|b| ALPHABET.contains(&b))
}

/// The code in groups of four for print: `ABCD-EFGH-JKLM-NPQR`.
pub fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Equality that takes the same time wherever the first difference is.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; SECRET_LEN] = [7; SECRET_LEN];

    fn attested(times: Vec<i64>) -> Attested<'static> {
        Attested {
            work_id: 42,
            unit_id: 3,
            title: "深海探秘",
            first_frames_ms: times,
        }
    }

    #[test]
    fn certificate_code_alphabet_is_readable() {
        assert_eq!(ALPHABET.len(), 32);
        for bad in [b'0', b'O', b'1', b'I'] {
            assert!(!ALPHABET.contains(&bad), "{}", char::from(bad));
        }
        let mut seen = ALPHABET.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 32, "no repeated characters");
    }

    #[test]
    fn certificate_code_has_the_format() {
        for n in 0..200 {
            let code = derive(&SECRET, &attested(vec![n, n * 7]));
            assert_eq!(code.len(), CODE_LEN, "{code}");
            assert!(is_well_formed(&code), "{code}");
        }
        assert!(
            !is_well_formed("ABCDEFGHJKLMNPQ0"),
            "0 is not in the alphabet"
        );
        assert!(!is_well_formed("ABCDEFGHJKLMNPQ"), "too short");
        assert!(
            !is_well_formed("abcdefghjklmnpqr"),
            "lower case is not a code"
        );
        assert_eq!(
            normalize(" abcd-efgh-jkLM-npqr ").as_deref(),
            Some("ABCDEFGHJKLMNPQR")
        );
        assert_eq!(normalize("<script>"), None);
        assert_eq!(grouped("ABCDEFGHJKLMNPQR"), "ABCD-EFGH-JKLM-NPQR");
    }

    #[test]
    fn certificate_code_encoding_is_msb_first() {
        // 0x00 0x44 … : bits 00000 00001 00010 0…
        let bytes = [0x00, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(&encode(&bytes)[..4], "2342");
        assert_eq!(encode(&[0xFF; 10]), "Z".repeat(16));
    }

    #[test]
    fn certificate_hmac_is_deterministic_and_sensitive() {
        let a = derive(&SECRET, &attested(vec![2_000, 1_000]));
        assert_eq!(
            a,
            derive(&SECRET, &attested(vec![1_000, 2_000])),
            "order-free"
        );
        assert_ne!(
            a,
            derive(&SECRET, &attested(vec![1_000, 2_000, 3_000])),
            "new airing"
        );
        assert_ne!(
            a,
            derive(&[8; SECRET_LEN], &attested(vec![1_000, 2_000])),
            "secret"
        );
        let mut other = attested(vec![1_000, 2_000]);
        other.title = "深海探秘 ";
        assert_ne!(a, derive(&SECRET, &other), "title");
        other = attested(vec![1_000, 2_000]);
        other.unit_id = 4;
        assert_ne!(a, derive(&SECRET, &other), "unit");
        // The canonical text cannot be confused by separators inside the title.
        let t1 = Attested {
            title: "a\",1,\"b",
            ..attested(vec![1])
        };
        assert!(canonical_text(&t1).contains(r#""a\",1,\"b""#));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, "ZZZZZZZZZZZZZZZZ"));
    }
}
