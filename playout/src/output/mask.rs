//! Secrets in destination and source URLs: stream keys, passphrases, stream ids, passwords
//! in the URL's user info, and the signing parameters platforms put in queries.
//!
//! Owns: masking a URL for display (status, logs, metrics) and scrubbing secrets out of
//! error text. Nothing outside this module ever formats a raw destination URL.

/// A secret shown as its first three characters and stars (all stars when short).
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n >= 10 {
        format!("{}****", secret.chars().take(3).collect::<String>())
    } else {
        "****".to_string()
    }
}

/// Query parameters whose values are secrets whatever the scheme: SRT's `passphrase` and
/// `streamid`, and the tokens and signatures of CDN and platform URLs (Tencent `txSecret`,
/// Aliyun `auth_key`, generic `token`/`sign`/`auth`/`password`).
const SECRET_PARAMS: [&str; 13] = [
    "passphrase",
    "streamid",
    "key",
    "token",
    "access_token",
    "auth",
    "auth_key",
    "sign",
    "signature",
    "txsecret",
    "secret",
    "password",
    "pwd",
];

/// The secrets inside a URL: the RTMP stream key (last path segment and its query), the
/// password of the user info (`rtsp://user:PASSWORD@host/…`, any scheme), and the values of
/// the query parameters in [`SECRET_PARAMS`] (names compared without case).
pub fn secrets_of(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    if let Some((_, rest)) = base.split_once("://") {
        let authority = rest.split('/').next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
        {
            out.push(password.to_string());
        }
    }
    if url.starts_with("rtmp://") || url.starts_with("rtmps://") {
        if let Some(after_scheme) = base.split_once("://").map(|x| x.1)
            && let Some((_, path)) = after_scheme.split_once('/')
            && let Some((_, key)) = path.rsplit_once('/')
            && !key.is_empty()
        {
            out.push(key.to_string());
        }
        if let Some(q) = query {
            out.push(q.to_string());
        }
    } else if let Some(q) = query {
        for kv in q.split('&') {
            if let Some((k, v)) = kv.split_once('=')
                && SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str())
                && !v.is_empty()
            {
                out.push(v.to_string());
            }
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// The URL with every secret masked.
pub fn mask_url(url: &str) -> String {
    scrub(url, &secrets_of(url))
}

/// `text` with every occurrence of each secret masked.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut t = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            t = t.replace(s.as_str(), &mask(s));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_user_info_and_signed_queries_are_masked() {
        for (u, secret) in [
            (
                "rtsp://viewer:wetland-secret@192.0.2.1/stream1",
                "wetland-secret",
            ),
            ("rtsp://admin:pw@10.0.0.9:554/h264", "pw"),
            (
                "http://u:hls-pass-1234@cdn.example/live.m3u8",
                "hls-pass-1234",
            ),
            (
                "https://pull.example/live/a.flv?txSecret=abcdef123456&txTime=65F0",
                "abcdef123456",
            ),
            (
                "https://pull.example/a.m3u8?auth_key=1700000000-0-0-0123456789abcdef",
                "1700000000-0-0-0123456789abcdef",
            ),
        ] {
            let m = mask_url(u);
            assert!(!m.contains(secret), "{u} → {m}");
        }
        assert_eq!(
            mask_url("rtsp://viewer:wetland-secret@192.0.2.1/stream1"),
            "rtsp://viewer:wet****@192.0.2.1/stream1",
            "the user and host stay readable"
        );
        assert_eq!(
            mask_url("rtsp://192.0.2.1/stream1"),
            "rtsp://192.0.2.1/stream1"
        );
    }

    #[test]
    fn rtmp_keys_are_masked() {
        let u = "rtmp://live.example.com/app/sk-1234567890abcdef";
        assert_eq!(mask_url(u), "rtmp://live.example.com/app/sk-****");
        let u = "rtmps://a.b:443/live/short";
        assert_eq!(mask_url(u), "rtmps://a.b:443/live/****");
        let u = "rtmp://h/app/key123456789?auth=secretsecret";
        let m = mask_url(u);
        assert!(
            !m.contains("key123456789") && !m.contains("secretsecret"),
            "{m}"
        );
    }

    #[test]
    fn srt_passphrase_and_streamid_are_masked() {
        let u = "srt://1.2.3.4:9000?streamid=publish/live/abcdefghijk&passphrase=0123456789abc&latency=200";
        let m = mask_url(u);
        assert!(
            !m.contains("abcdefghijk") && !m.contains("0123456789abc"),
            "{m}"
        );
        assert!(m.contains("latency=200"));
    }

    #[test]
    fn errors_are_scrubbed() {
        let s = secrets_of("rtmp://h/app/sk-1234567890abcdef");
        assert_eq!(
            scrub("publish of sk-1234567890abcdef refused", &s),
            "publish of sk-**** refused"
        );
    }
}
