//! Secrets in destination URLs: stream keys, passphrases, stream ids.
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

/// The secrets inside a destination URL: the RTMP stream key (last path segment and its
/// query) and SRT `passphrase` and `streamid` values.
pub fn secrets_of(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
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
                && matches!(k, "passphrase" | "streamid" | "key")
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
