//! The core of the tus 1.0 resumable upload protocol (<https://tus.io/protocols/resumable-upload>,
//! core protocol plus the `creation` and `termination` extensions), sans-IO: request headers
//! in, typed values or a typed refusal out. The HTTP edge (`web::upload`) owns the sockets,
//! [`super::Uploads`] owns the bytes and the rows.
//!
//! What the server says about itself is here too ([`VERSION`], [`EXTENSIONS`]), so that the
//! `OPTIONS` answer and the checks cannot disagree.

use base64::Engine as _;
use std::collections::BTreeMap;

/// The protocol version spoken (`Tus-Resumable`, `Tus-Version`).
pub const VERSION: &str = "1.0.0";
/// Extensions supported (`Tus-Extension`).
pub const EXTENSIONS: &str = "creation,termination";
/// The content type of a PATCH body.
pub const PATCH_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// Why a request is refused, with the HTTP status the protocol gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TusError {
    /// `Tus-Resumable` missing or another version (412).
    #[error("不支持的 tus 版本「{0}」，服务器使用 1.0.0")]
    Version(String),
    /// A header is missing or malformed (400).
    #[error("请求头 {header} 无效：{reason}")]
    Header {
        /// Header name.
        header: &'static str,
        /// Why, in Chinese.
        reason: String,
    },
    /// PATCH body not `application/offset+octet-stream` (415).
    #[error("PATCH 的 Content-Type 必须是 application/offset+octet-stream")]
    ContentType,
}

impl TusError {
    /// The status code the protocol prescribes.
    pub fn status(&self) -> u16 {
        match self {
            Self::Version(_) => 412,
            Self::Header { .. } => 400,
            Self::ContentType => 415,
        }
    }
}

fn bad(header: &'static str, reason: impl Into<String>) -> TusError {
    TusError::Header {
        header,
        reason: reason.into(),
    }
}

/// Checks `Tus-Resumable` (every request but OPTIONS must carry it).
pub fn check_version(tus_resumable: Option<&str>) -> Result<(), TusError> {
    match tus_resumable.map(str::trim) {
        Some(VERSION) => Ok(()),
        Some(v) => Err(TusError::Version(v.to_string())),
        None => Err(TusError::Version("（缺少 Tus-Resumable）".into())),
    }
}

/// A non-negative integer header (`Upload-Length`, `Upload-Offset`).
pub fn parse_u64(header: &'static str, v: Option<&str>) -> Result<u64, TusError> {
    let v = v.ok_or_else(|| bad(header, "缺少"))?.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(header, format!("「{v}」不是非负整数")));
    }
    v.parse().map_err(|_| bad(header, format!("「{v}」太大")))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (a value may be absent).
/// Keys are ASCII without spaces or commas; values must decode as UTF-8 here (file names
/// and ids).
pub fn parse_metadata(v: Option<&str>) -> Result<BTreeMap<String, String>, TusError> {
    let mut out = BTreeMap::new();
    let Some(v) = v else {
        return Ok(out);
    };
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut it = pair.splitn(2, ' ');
        let key = it.next().unwrap_or_default();
        if key.is_empty() || !key.is_ascii() {
            return Err(bad("Upload-Metadata", format!("键「{key}」无效")));
        }
        let value = match it.next().map(str::trim) {
            None | Some("") => String::new(),
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| bad("Upload-Metadata", format!("「{key}」的值不是 Base64")))?;
                String::from_utf8(bytes)
                    .map_err(|_| bad("Upload-Metadata", format!("「{key}」的值不是 UTF-8")))?
            }
        };
        if out.insert(key.to_string(), value).is_some() {
            return Err(bad("Upload-Metadata", format!("键「{key}」重复")));
        }
    }
    Ok(out)
}

/// Encodes metadata as a client sends it (the CLI's uploads).
pub fn encode_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks a PATCH's content type.
pub fn check_patch_type(content_type: Option<&str>) -> Result<(), TusError> {
    match content_type.map(|c| c.split(';').next().unwrap_or("").trim()) {
        Some(PATCH_CONTENT_TYPE) => Ok(()),
        _ => Err(TusError::ContentType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_as_the_protocol_defines_them() {
        assert!(check_version(Some("1.0.0")).is_ok());
        assert_eq!(
            check_version(Some("0.2.2")).map_err(|e| e.status()),
            Err(412)
        );
        assert_eq!(
            parse_u64("Upload-Length", Some("4294967297")),
            Ok(4_294_967_297)
        );
        assert!(parse_u64("Upload-Length", Some("-1")).is_err());
        assert!(parse_u64("Upload-Offset", None).is_err());
        let m = parse_metadata(Some(&encode_metadata(&[
            ("filename", "深海.mp4"),
            ("work", "7"),
        ])))
        .expect("parses");
        assert_eq!(m.get("filename").map(String::as_str), Some("深海.mp4"));
        assert_eq!(m.get("work").map(String::as_str), Some("7"));
        assert_eq!(
            parse_metadata(Some("is_confidential, filename ZGVlcC5tcDQ="))
                .expect("flag without value")
                .get("is_confidential")
                .map(String::as_str),
            Some("")
        );
        assert!(parse_metadata(Some("filename !!!")).is_err());
        assert!(check_patch_type(Some("application/offset+octet-stream")).is_ok());
        assert_eq!(
            check_patch_type(Some("text/plain")),
            Err(TusError::ContentType)
        );
    }
}
