//! The dashboard's live preview: the engine's HLS rendition (`live.m3u8` and its `segNNNNN.ts`
//! segments, written by the `preview` destination into `[server] preview_dir`) served at
//! `/preview/…` to any logged-in user. Only those two file shapes are served — no other
//! name, no path — so nothing else on disk can be reached through this route.

use std::path::PathBuf;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The engine destination name of the preview.
pub const DESTINATION: &str = "preview";

/// Whether `name` is one of the preview's own files.
pub fn is_preview_file(name: &str) -> bool {
    if name == playout::output::hls::PLAYLIST {
        return true;
    }
    name.strip_prefix("seg")
        .and_then(|r| r.strip_suffix(".ts"))
        .is_some_and(|n| n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The preview route (behind the API guard; any role may watch).
pub fn routes(dir: Option<PathBuf>) -> Router {
    Router::new()
        .route("/preview/{file}", get(file))
        .with_state(dir)
}

/// 播出预览（HLS 播放列表与分片）The live preview (HLS playlist and segments).
#[utoipa::path(get, path = "/preview/{file}", tag = "air", operation_id = "preview_file",
    params(("file" = String, Path, description = "live.m3u8 或 segNNNNN.ts")),
    responses((status = 200, description = "HLS（未开启或没有该文件时 404）HLS (404 when off or missing)")))]
async fn file(State(dir): State<Option<PathBuf>>, Path(name): Path<String>) -> Response {
    let Some(dir) = dir else {
        return (StatusCode::NOT_FOUND, "预览未开启").into_response();
    };
    if !is_preview_file(&name) {
        return (StatusCode::NOT_FOUND, "没有这个预览文件").into_response();
    }
    let path = dir.join(&name);
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), tokio::fs::read(&path));
    match read.await {
        Ok(Ok(bytes)) => {
            let playlist = name.ends_with(".m3u8");
            let ctype = if playlist {
                "application/vnd.apple.mpegurl"
            } else {
                "video/mp2t"
            };
            let cache = if playlist { "no-cache" } else { "max-age=60" };
            (
                [
                    (header::CONTENT_TYPE, ctype),
                    (header::CACHE_CONTROL, cache),
                ],
                bytes,
            )
                .into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            "预览暂不可用（刚开始播出或已滚动删除）",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_playlist_and_segments_are_served() {
        for ok in ["live.m3u8", "seg00000.ts", "seg12345.ts"] {
            assert!(super::is_preview_file(ok), "{ok}");
        }
        for bad in [
            "../kepu.db",
            "seg1.ts",
            "seg00001.ts/../../x",
            "live.m3u8x",
            "kepu.db",
            "seg0000a.ts",
        ] {
            assert!(!super::is_preview_file(bad), "{bad}");
        }
    }
}
