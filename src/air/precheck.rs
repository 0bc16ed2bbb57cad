//! The live-window pre-check. The engine opens a live source (camera, pull, ingest feed) two
//! minutes before its window; from [`CHECK_BEFORE_SECS`] before the window starts, a source
//! that is still not delivering frames is an alarm (`live_not_delivering`), so the operator
//! hears of a silent camera before the audience does. Pure: the controller passes its plan,
//! the engine's live statuses and the frame now.

use playout::source::live::{LiveState, LiveStatus, status_url};

use super::plan::Planned;
use crate::rundown::FrameRate;

/// How long before its window a live source must be delivering (s): 30 s after the engine
/// opened it (two minutes ahead).
pub const CHECK_BEFORE_SECS: i64 = 90;

/// A live window about to start whose source is not delivering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDelivering {
    /// The cue id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Frames until the window starts.
    pub starts_in_frames: i64,
    /// What the source is doing, in Chinese.
    pub state: String,
}

/// What the pre-check found: windows whose source is not delivering, and the cue ids of
/// those whose source is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Precheck {
    /// Not delivering.
    pub silent: Vec<NotDelivering>,
    /// Delivering.
    pub delivering: Vec<String>,
}

fn describe(state: Option<&LiveState>) -> String {
    match state {
        None => "尚未打开".into(),
        Some(LiveState::Connecting) => "正在连接".into(),
        Some(LiveState::Live) => "有画面".into(),
        Some(LiveState::Stalled) => "已连接但无画面".into(),
        Some(LiveState::Retrying {
            reason, attempt, ..
        }) => format!("第 {attempt} 次重试：{reason}"),
        Some(LiveState::Stopped) => "已关闭".into(),
    }
}

/// The pre-check of the live windows in `plan` starting within [`CHECK_BEFORE_SECS`] of
/// `now_frame` (engine frames), against the engine's `live` statuses.
pub fn check(plan: &[Planned], live: &[LiveStatus], now_frame: i64, rate: FrameRate) -> Precheck {
    let window = i64::try_from(rate.frames_in_secs(CHECK_BEFORE_SECS)).unwrap_or(i64::MAX);
    let mut out = Precheck::default();
    for p in plan {
        let until = p.start_frame - now_frame;
        if until <= 0 || until > window {
            continue;
        }
        let Some(url) = status_url(&p.cue.source) else {
            continue;
        };
        let state = live
            .iter()
            .filter(|s| s.url == url && s.state != LiveState::Stopped)
            .map(|s| &s.state)
            .next();
        if state == Some(&LiveState::Live) {
            out.delivering.push(p.cue.id.clone());
        } else {
            out.silent.push(NotDelivering {
                id: p.cue.id.clone(),
                title: p.cue.title.clone(),
                starts_in_frames: until,
                state: describe(state),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asrun::recorder::ItemInfo;
    use chrono::NaiveDate;
    use playout::Cue;

    fn planned(id: &str, source: &str, start_frame: i64) -> Planned {
        Planned {
            cue: Cue::follow(id, source).with_length(500),
            info: ItemInfo::default(),
            date: NaiveDate::default(),
            index: 0,
            start_frame,
            end_frame: start_frame + 500,
            live: true,
        }
    }

    fn status(url: &str, state: LiveState) -> LiveStatus {
        LiveStatus {
            url: url.into(),
            kind: "rtsp".into(),
            state,
            bitrate: 0,
            frame_rate_milli: 0,
            last_frame_age_ms: None,
            reconnects: 0,
            last_error: None,
            recording: None,
        }
    }

    #[test]
    fn a_silent_camera_is_named_90_seconds_before_its_window_and_a_delivering_one_is_not() {
        let rate = FrameRate::default();
        let plan = vec![
            planned("cam", "rtsp://cam.example/1", 10_000),
            planned("file", "/m/a.mp4", 10_000),
            planned("late", "srt://relay:9000", 20_000),
        ];
        let masked = status_url("rtsp://cam.example/1").expect("live");
        assert_eq!(status_url("/m/a.mp4"), None, "a file is not live");
        // 100 s before: too early to judge.
        let early = check(&plan, &[], 10_000 - 2_500, rate);
        assert_eq!(early, Precheck::default());
        // 80 s before, still connecting: named, with what it is doing.
        let connecting = vec![status(&masked, LiveState::Connecting)];
        let c = check(&plan, &connecting, 10_000 - 2_000, rate);
        assert_eq!(c.silent.len(), 1, "{c:?}");
        assert_eq!(c.silent[0].id, "cam");
        assert_eq!(c.silent[0].starts_in_frames, 2_000);
        assert_eq!(c.silent[0].state, "正在连接");
        // Not opened at all (no status): named too.
        let c = check(&plan, &[], 10_000 - 25, rate);
        assert_eq!(c.silent[0].state, "尚未打开");
        // Delivering: not named, reported as delivering.
        let live = vec![status(&masked, LiveState::Live)];
        let c = check(&plan, &live, 10_000 - 2_000, rate);
        assert!(c.silent.is_empty(), "{c:?}");
        assert_eq!(c.delivering, ["cam"]);
        // Once the window has started, the fallback alarms take over.
        assert_eq!(check(&plan, &connecting, 10_000, rate), Precheck::default());
    }
}
