//! Our own audience: concurrent viewers of the public HLS stream counted by session, not by
//! hits or connections (players prefetch, keep-alive is optional).
//!
//! A session token is issued with the multivariant playlist (`/live/index.m3u8` answers a
//! one-line playlist pointing at `live.m3u8?s=TOKEN`); the media playlist and every segment
//! carry it. A session **watches** once it has fetched a segment, and ends after
//! [`SessionOptions::idle`] without a request (30 s by default). A reader that fetches the
//! playlist only is never counted; one that stops is not counted after the idle window.
//!
//! Owns the session table (in memory, bounded) and the playlist rewrite. Pure apart from the
//! random token; time is passed in, so tests drive it with their own instants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How sessions are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// Most sessions kept at once (new ones beyond are not tracked).
    pub max_sessions: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            max_sessions: 200_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Session {
    last_seen: Instant,
    segments: u64,
}

/// The viewer sessions of the public stream. Cheap to clone (shared table).
#[derive(Debug, Clone)]
pub struct ViewerSessions {
    table: Arc<Mutex<HashMap<String, Session>>>,
    options: SessionOptions,
}

/// Whether `s` has the shape of a session token (32 hex digits).
pub fn looks_like_session(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ViewerSessions {
    /// An empty table.
    pub fn new(options: SessionOptions) -> Self {
        Self {
            table: Arc::new(Mutex::new(HashMap::new())),
            options,
        }
    }

    /// The options.
    pub fn options(&self) -> SessionOptions {
        self.options
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves a table that is still consistent.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a session; returns its token.
    pub fn open(&self, now: Instant) -> String {
        let token: String = crate::auth::secret::new_token()
            .trim_start_matches(crate::auth::secret::TOKEN_PREFIX)
            .chars()
            .take(32)
            .collect();
        self.touch(&token, false, now);
        token
    }

    /// A request of session `token` (a segment when `segment`). An unknown well-formed
    /// token (a player back after a pause) starts a new session. Returns false for a token
    /// of the wrong shape or when the table is full.
    pub fn touch(&self, token: &str, segment: bool, now: Instant) -> bool {
        if !looks_like_session(token) {
            return false;
        }
        let mut t = self.lock();
        if !t.contains_key(token) {
            if t.len() >= self.options.max_sessions {
                let idle = self.options.idle;
                t.retain(|_, s| now.saturating_duration_since(s.last_seen) < idle);
                if t.len() >= self.options.max_sessions {
                    return false;
                }
            }
            t.insert(
                token.to_string(),
                Session {
                    last_seen: now,
                    segments: 0,
                },
            );
        }
        if let Some(s) = t.get_mut(token) {
            if now.saturating_duration_since(s.last_seen) >= self.options.idle {
                // The old session ended; this request starts a new one.
                s.segments = 0;
            }
            s.last_seen = now;
            if segment {
                s.segments += 1;
            }
        }
        true
    }

    /// Concurrent viewers at `now`: sessions that fetched a segment and made a request
    /// within the idle window. Ended sessions are forgotten.
    pub fn count(&self, now: Instant) -> usize {
        let idle = self.options.idle;
        let mut t = self.lock();
        t.retain(|_, s| now.saturating_duration_since(s.last_seen) < idle);
        t.values().filter(|s| s.segments > 0).count()
    }
}

/// The multivariant playlist that hands a session its token.
pub fn master_playlist(token: &str) -> String {
    format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nlive.m3u8?s={token}\n")
}

/// The media playlist with the session's token on every segment URI.
pub fn rewrite_media_playlist(text: &str, token: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let l = line.trim();
        if !l.is_empty() && !l.starts_with('#') && !l.contains('?') {
            out.push_str(l);
            out.push_str("?s=");
            out.push_str(token);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_watch_after_a_segment_and_end_after_the_idle_window() {
        let s = ViewerSessions::new(SessionOptions {
            idle: Duration::from_secs(30),
            max_sessions: 3,
        });
        let t0 = Instant::now();
        let a = s.open(t0);
        let b = s.open(t0);
        assert_eq!(s.count(t0), 0, "a playlist alone is not watching");
        assert!(s.touch(&a, true, t0 + Duration::from_secs(2)));
        assert!(s.touch(&b, true, t0 + Duration::from_secs(2)));
        assert_eq!(s.count(t0 + Duration::from_secs(3)), 2);
        // a keeps fetching; b stops.
        assert!(s.touch(&a, true, t0 + Duration::from_secs(25)));
        assert_eq!(
            s.count(t0 + Duration::from_secs(31)),
            2,
            "29 s idle is not 30"
        );
        assert_eq!(s.count(t0 + Duration::from_secs(33)), 1);
        assert_eq!(s.count(t0 + Duration::from_secs(56)), 0);
        assert!(!s.touch("../x", true, t0), "malformed tokens are refused");
        // The table is bounded: ended sessions make room.
        let c = s.open(t0 + Duration::from_secs(60));
        assert!(looks_like_session(&c));
    }

    #[test]
    fn playlists_carry_the_token() {
        let m = master_playlist("ab");
        assert!(m.ends_with("live.m3u8?s=ab\n"), "{m}");
        let p = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:4\n#EXTINF:2.0,\nseg00004.ts\n";
        let r = rewrite_media_playlist(p, "ab");
        assert!(r.contains("\nseg00004.ts?s=ab\n"), "{r}");
        assert!(r.contains("#EXTINF:2.0,\n"));
    }
}
