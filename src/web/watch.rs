//! The public stream: the engine's HLS rendition (the same files as the dashboard's
//! preview) served without a login at a stable address, `/live/index.m3u8`, with an
//! embeddable player page at `/watch` (the vendored hls.js; Safari plays HLS natively).
//!
//! Viewers are counted by session (`feedback::hls`): `index.m3u8` issues a token and answers
//! a multivariant playlist pointing at `live.m3u8?s=TOKEN`; the media playlist's segment URIs
//! carry the token; a request without one is served but not counted. The count is sampled
//! into figures (platform `kepu_hls`, source `hls`) by a task that ends with the app.
//! Only `index.m3u8`, `live.m3u8` and `segNNNNN.ts` are served — nothing else on disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::feedback::Feedback;
use crate::feedback::hls::{master_playlist, rewrite_media_playlist};

/// What the public stream's handlers share.
#[derive(Clone)]
pub struct WatchState {
    feedback: Feedback,
    dir: Option<PathBuf>,
    /// Dropping the last clone (the app) stops the sampler.
    _stop: Arc<tokio::sync::watch::Sender<bool>>,
}

impl WatchState {
    /// The state; starts the viewer sampler when there is a stream and a runtime.
    pub fn start(
        feedback: Feedback,
        dir: Option<PathBuf>,
        air: Option<crate::air::AirHandle>,
    ) -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        if dir.is_some()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let now = move || match &air {
                Some(a) => a.clock().now().timestamp_millis(),
                None => crate::store::now_ms(),
            };
            rt.spawn(feedback.clone().run_hls_sampler(now, rx));
        }
        Self {
            feedback,
            dir,
            _stop: Arc::new(tx),
        }
    }
}

/// The public routes (outside the guard).
pub fn routes(state: WatchState) -> Router {
    Router::new()
        .route("/watch", get(page))
        .route("/watch/player.js", get(player_js))
        .route("/live/{file}", get(live_file))
        .with_state(state)
}

/// The policy of the player page: this origin only, but any site may embed it.
const CSP: &str = "default-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; \
                   img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors *";

const PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>科普之光 · 全国科普月网络展播 直播</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<script src="/assets/vendor/hls.min.js" defer></script>
<script src="/watch/player.js" defer></script>
<link rel="stylesheet" href="/assets/watch.css">
</head>
<body>
<video id="player" controls autoplay muted playsinline aria-label="直播画面"></video>
<div id="status" role="status" aria-live="polite">正在连接直播…</div>
</body>
</html>
"#;

const PLAYER_JS: &str = r#"// The public player: hls.js on /live/index.m3u8 (native HLS where the browser has it).
(function () {
  var video = document.getElementById('player');
  var status = document.getElementById('status');
  var src = '/live/index.m3u8';
  function show(t) { status.textContent = t; }
  video.addEventListener('playing', function () { show(''); });
  if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls({ liveSyncDurationCount: 3 });
    hls.on(window.Hls.Events.ERROR, function (_e, d) {
      if (d.fatal) { show('直播暂不可用，稍后自动重试'); setTimeout(function () { hls.loadSource(src); }, 5000); }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src;
  } else {
    show('此浏览器不能播放直播');
  }
})();
"#;

fn headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// 公开播放页（可嵌入）The public player page (embeddable).
#[utoipa::path(get, path = "/watch", tag = "feedback", operation_id = "watch_page", security(()),
    responses((status = 200, description = "播放页 HTML The player page", content_type = "text/html")))]
async fn page() -> Response {
    let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    headers(r.headers_mut());
    r
}

/// 播放页脚本 The player page's script.
#[utoipa::path(get, path = "/watch/player.js", tag = "feedback", security(()),
    responses((status = 200, description = "JavaScript", content_type = "text/javascript")))]
async fn player_js() -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PLAYER_JS,
    )
        .into_response();
    headers(r.headers_mut());
    r
}

#[derive(Deserialize)]
struct SessionQuery {
    #[serde(default)]
    s: Option<String>,
}

fn not_found(why: &'static str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        why,
    )
        .into_response()
}

/// 公开直播流（HLS：index.m3u8 发放会话，live.m3u8 与分片带会话令牌）The public stream:
/// `index.m3u8` issues a viewer session, `live.m3u8?s=` and `segNNNNN.ts?s=` carry it.
#[utoipa::path(get, path = "/live/{file}", tag = "feedback", security(()),
    params(("file" = String, Path, description = "index.m3u8、live.m3u8 或 segNNNNN.ts"),
           ("s" = Option<String>, Query, description = "观看会话令牌 Viewer session token")),
    responses((status = 200, description = "HLS（未开启或没有该文件时 404）HLS (404 when off or missing)")))]
async fn live_file(
    State(st): State<WatchState>,
    Path(name): Path<String>,
    Query(q): Query<SessionQuery>,
) -> Response {
    let Some(dir) = &st.dir else {
        return not_found("公开直播未开启");
    };
    let sessions = &st.feedback.sessions;
    let now = Instant::now();
    // Only a real segment name counts as watching (a made-up `x.ts` is a 404, not a view).
    let segment = name.ends_with(".ts") && super::preview::is_preview_file(&name);
    let token = q.s.as_deref().filter(|t| sessions.touch(t, segment, now));
    if name == "index.m3u8" || (name == "live.m3u8" && token.is_none()) {
        let token = sessions.open(now);
        return (
            [
                (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            master_playlist(&token),
        )
            .into_response();
    }
    if !super::preview::is_preview_file(&name) {
        return not_found("没有这个文件");
    }
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::fs::read(dir.join(&name)),
    );
    let Ok(Ok(bytes)) = read.await else {
        return not_found("直播暂不可用（刚开始播出或已滚动删除）");
    };
    if name.ends_with(".m3u8") {
        let text = String::from_utf8_lossy(&bytes);
        let body = match token {
            Some(t) => rewrite_media_playlist(&text, t),
            None => text.into_owned(),
        };
        (
            [
                (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response()
    } else {
        (
            [
                (header::CONTENT_TYPE, "video/mp2t"),
                (header::CACHE_CONTROL, "max-age=60"),
            ],
            bytes,
        )
            .into_response()
    }
}
