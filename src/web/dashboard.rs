//! The operator and partner dashboard: static files from `web/dashboard/` embedded in the
//! binary at build time (`include_bytes!`), served at `/` (the page) and `/assets/…` (its
//! modules, style sheet and the vendored hls.js, ECharts and tus-js-client). The page itself is public and outside the
//! API guard; everything it shows comes from the API, which needs a login.
//!
//! Every answer carries a Content-Security-Policy (only this origin; `blob:` for the
//! preview's media and hls.js's worker), `X-Content-Type-Options: nosniff`, no framing and
//! no referrer. Our own files are revalidated on every load (`no-cache` with a strong ETag,
//! answered 304 when unchanged) so a new binary is picked up at once; the vendored library
//! is cached for a day.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// The policy every dashboard answer carries.
pub const CSP: &str = "default-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; \
                       img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                       frame-ancestors 'none'; form-action 'self'";

/// One embedded file.
struct Asset {
    path: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($p:literal),* $(,)?) => {
        &[$(Asset { path: $p, body: include_bytes!(concat!("../../web/dashboard/", $p)) }),*]
    };
}

/// Everything under `/assets/` (and `index.html` for `/`).
static ASSETS: &[Asset] = assets![
    "index.html",
    "app.css",
    "watch.css",
    "favicon.svg",
    "js/main.js",
    "js/i18n.js",
    "js/api.js",
    "js/util.js",
    "js/live.js",
    "js/pages/login.js",
    "js/pages/onair.js",
    "js/pages/editor.js",
    "js/pages/health.js",
    "js/pages/partner.js",
    "js/pages/certificates.js",
    "js/pages/feedback.js",
    "js/pages/feeds.js",
    "js/pages/submit.js",
    "js/pages/intake.js",
    "js/pages/work.js",
    "js/pages/asrun.js",
    "js/chart.js",
    "vendor/hls.min.js",
    "vendor/hls.js.LICENSE",
    "vendor/echarts.min.js",
    "vendor/echarts.LICENSE",
    "vendor/tus.min.js",
    "vendor/tus-js-client.LICENSE",
];

/// The content type of a file, from its extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

/// Strong ETags of the embedded files, computed once.
fn etag(i: usize) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let d = Sha256::digest(a.body);
                let hex: String = d.iter().take(12).map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    });
    tags.get(i).map_or("\"\"", String::as_str)
}

/// The routes: `/` and `/assets/{*path}` (outside the API guard).
pub fn routes() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path == "index.html" {
        return not_found();
    }
    serve(&path, &headers)
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn not_found() -> Response {
    let mut r = (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "未找到 / not found",
    )
        .into_response();
    security_headers(r.headers_mut());
    r
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return not_found();
    };
    let a = &ASSETS[i];
    let tag = etag(i);
    let cache = if path.starts_with("vendor/") {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(a.path))],
            a.body.to_vec(),
        )
            .into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    security_headers(h);
    r
}
