//! Switcher tests on a simulated clock: frames are ticked as fast as the test runs, with
//! fake sources whose every frame says which item and which frame of it it is.

use super::*;
use crate::format::OutputProfile;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A fake source: `frames` frames whose first byte is the item tag and next four the frame
/// index; it may fail after `fail_after` frames or from the start.
struct Fake {
    tag: u8,
    frames: u64,
    pos: u64,
    fail_after: Option<u64>,
    /// The source reports Opening this many more times before it is ready.
    ready_after_pulls: std::cell::Cell<u32>,
}

impl Source for Fake {
    fn state(&self) -> SourceState {
        let left = self.ready_after_pulls.get();
        if left > 0 {
            self.ready_after_pulls.set(left - 1);
            return SourceState::Opening;
        }
        match self.fail_after {
            Some(f) if self.pos >= f => SourceState::Failed("fake failure".into()),
            _ => SourceState::Ready,
        }
    }
    fn pull_video(&mut self, _wait: Duration) -> VideoPull {
        if self.pos >= self.frames {
            return VideoPull::Eos;
        }
        let mut data = vec![self.tag];
        data.extend_from_slice(&(self.pos as u32).to_be_bytes());
        self.pos += 1;
        VideoPull::Frame(gst::Buffer::from_slice(data))
    }
    fn pull_audio(&mut self, out: &mut Vec<u8>, bytes: usize, _wait: Duration) -> bool {
        out.extend(std::iter::repeat_n(self.tag, bytes));
        true
    }
}

#[derive(Clone, Default)]
struct Opened(Arc<Mutex<Vec<(String, u64)>>>);

struct FakeOpener {
    /// uri → (tag, frames, fail_after, opening pulls)
    media: HashMap<String, (u8, u64, Option<u64>, u32)>,
    opened: Opened,
}

impl Opener for FakeOpener {
    fn open(&self, uri: &str, in_point_ns: u64, profile: &OutputProfile) -> Box<dyn Source> {
        if let Ok(mut o) = self.opened.0.lock() {
            o.push((
                uri.rsplit('/').next().unwrap_or(uri).to_string(),
                in_point_ns,
            ));
        }
        let pos = profile.rate.ns_to_frame(in_point_ns);
        // Cues carry bare names, which become file:// URIs; key the fakes by the name.
        let name = uri.rsplit('/').next().unwrap_or(uri);
        match self.media.get(name) {
            Some(&(tag, frames, fail_after, opening)) => Box::new(Fake {
                tag,
                frames,
                pos,
                fail_after,
                ready_after_pulls: std::cell::Cell::new(opening),
            }),
            None => Box::new(Fake {
                tag: 0,
                frames: 0,
                pos: 0,
                fail_after: Some(0),
                ready_after_pulls: std::cell::Cell::new(0),
            }),
        }
    }
}

const SLATE: u8 = 0xEE;

fn switcher(media: &[(&str, u8, u64, Option<u64>)]) -> (Switcher, Opened) {
    switcher_with_opening(media, 0)
}

/// Like `switcher`, with every source reporting Opening `opening` times before it is ready.
fn switcher_with_opening(
    media: &[(&str, u8, u64, Option<u64>)],
    opening: u32,
) -> (Switcher, Opened) {
    let opened = Opened::default();
    let opener = fake_opener(media, opening, &opened);
    (switcher_on(Box::new(opener)), opened)
}

/// Fakes for `media` (uri, tag, frames, fail after), each reporting Opening `opening` times
/// before it is ready; every open is listed in `opened`.
fn fake_opener(
    media: &[(&str, u8, u64, Option<u64>)],
    opening: u32,
    opened: &Opened,
) -> FakeOpener {
    FakeOpener {
        media: media
            .iter()
            .map(|(u, t, f, fail)| (u.to_string(), (*t, *f, *fail, opening)))
            .collect(),
        opened: opened.clone(),
    }
}

/// A switcher on the small profile whose sources come from `opener`, ticked on a simulated
/// clock (no pull waits), with the one-byte [`SLATE`] as its slate.
fn switcher_on(opener: Box<dyn Opener>) -> Switcher {
    gst::init().expect("gstreamer init");
    let profile = OutputProfile::small();
    let mut settings = SwitcherSettings::for_profile(&profile);
    settings.pull_wait = Duration::ZERO;
    Switcher::new(
        profile,
        settings,
        opener,
        gst::Buffer::from_slice(vec![SLATE]),
        0,
    )
}

/// Ticks frames `from..to` and returns (tag, frame index within the source) per frame.
fn run(sw: &mut Switcher, from: u64, to: u64) -> Vec<(u8, u32)> {
    (from..to)
        .map(|n| {
            let out = sw.tick(n, 0);
            let map = out.video.map_readable().expect("readable");
            let b = map.as_slice();
            assert_eq!(out.audio.len(), 1920 * 4, "one frame of audio at frame {n}");
            if b[0] == SLATE {
                (SLATE, 0)
            } else {
                (b[0], u32::from_be_bytes([b[1], b[2], b[3], b[4]]))
            }
        })
        .collect()
}

fn tags(frames: &[(u8, u32)]) -> Vec<(u8, usize)> {
    let mut runs: Vec<(u8, usize)> = Vec::new();
    for (t, _) in frames {
        match runs.last_mut() {
            Some((lt, c)) if lt == t => *c += 1,
            _ => runs.push((*t, 1)),
        }
    }
    runs
}

#[test]
fn sequential_items_cut_on_the_exact_frame() {
    let (mut sw, _) = switcher(&[
        ("a", 1, 100, None),
        ("b", 2, 100, None),
        ("c", 3, 100, None),
    ]);
    sw.cue(Cue::follow("a", "a").with_length(30).at(50), 0);
    sw.cue(Cue::follow("b", "b").with_length(20), 0);
    sw.cue(Cue::follow("c", "c"), 0);
    let out = run(&mut sw, 0, 250);
    // Slate until 50, a for 30, b for 20, c to its end (100 frames), then slate.
    assert_eq!(
        tags(&out),
        vec![(SLATE, 50), (1, 30), (2, 20), (3, 100), (SLATE, 50)]
    );
    // Every item starts at its own first frame and plays in order.
    assert_eq!(out[50].1, 0);
    assert_eq!(out[79].1, 29);
    assert_eq!(out[80], (2, 0));
    assert_eq!(out[100], (3, 0));
    assert_eq!(out[199], (3, 99));
    assert_eq!(sw.repeated, 0);
}

#[test]
fn a_hard_start_cuts_whatever_is_on_air() {
    let (mut sw, _) = switcher(&[("a", 1, 1000, None), ("b", 2, 100, None)]);
    sw.cue(Cue::follow("a", "a").at(30), 0);
    sw.cue(Cue::follow("b", "b").at(77).with_length(10), 0);
    let out = run(&mut sw, 0, 100);
    assert_eq!(tags(&out), vec![(SLATE, 30), (1, 47), (2, 10), (SLATE, 13)]);
    let ev = sw.take_events();
    assert!(ev.iter().any(|e| matches!(e, Event::ItemEnded { id, frame: 77, reason: EndReason::Cut, frames: 47, .. } if id == "a")));
}

#[test]
fn a_missing_source_gets_the_slate_for_its_whole_slot_and_the_next_is_on_time() {
    let (mut sw, opened) = switcher(&[("a", 1, 100, None), ("c", 3, 100, None)]);
    sw.cue(Cue::follow("a", "a").with_length(20).at(10), 0);
    sw.cue(Cue::follow("missing", "missing").with_length(80), 0);
    sw.cue(Cue::follow("c", "c").with_length(20), 0);
    let out = run(&mut sw, 0, 140);
    assert_eq!(
        tags(&out),
        vec![(SLATE, 10), (1, 20), (SLATE, 80), (3, 20), (SLATE, 10)]
    );
    assert_eq!(
        out[110],
        (3, 0),
        "the item after the failure starts on its frame"
    );
    let ev = sw.take_events();
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::FallbackOn { frame: 30, .. }))
    );
    assert!(ev.iter().any(
        |e| matches!(e, Event::ItemEnded { id, reason: EndReason::Failed, .. } if id == "missing")
    ));
    // The failed source was retried in the background.
    let o = opened.0.lock().expect("lock");
    assert!(
        o.iter().filter(|(u, _)| u == "missing").count() >= 2,
        "{o:?}"
    );
}

#[test]
fn a_source_failing_on_air_holds_its_last_frame_then_the_slate() {
    let (mut sw, _) = switcher(&[("a", 1, 1000, Some(25)), ("b", 2, 100, None)]);
    sw.cue(Cue::follow("a", "a").with_length(60).at(0), 0);
    sw.cue(Cue::follow("b", "b").with_length(10), 0);
    let out = run(&mut sw, 0, 70);
    let hold = SwitcherSettings::for_profile(&OutputProfile::small()).hold_frames as usize;
    // 25 good frames, the 25th held for `hold` frames, then the slate until b at 60.
    assert_eq!(out[24], (1, 24));
    assert!(
        out[25..25 + hold].iter().all(|f| *f == (1, 24)),
        "last frame held"
    );
    assert!(out[25 + hold..60].iter().all(|f| f.0 == SLATE));
    assert_eq!(out[60], (2, 0));
    assert_eq!(sw.repeated, hold as u64);
}

#[test]
fn play_to_end_items_follow_without_a_repeated_frame() {
    let (mut sw, _) = switcher(&[("a", 1, 33, None), ("b", 2, 17, None), ("c", 3, 5, None)]);
    sw.cue(Cue::follow("a", "a").at(0), 0);
    sw.cue(Cue::follow("b", "b"), 0);
    sw.cue(Cue::follow("c", "c"), 0);
    let out = run(&mut sw, 0, 60);
    assert_eq!(tags(&out), vec![(1, 33), (2, 17), (3, 5), (SLATE, 5)]);
    assert_eq!(sw.repeated, 0);
}

#[test]
fn a_cue_for_a_start_already_past_joins_at_the_right_offset() {
    let (mut sw, opened) = switcher(&[("a", 1, 10_000, None)]);
    run(&mut sw, 0, 500);
    // At frame 500, cue an item that started at frame 200 and lasts 1000 frames.
    sw.cue(Cue::follow("a", "a").with_length(1000).at(200), 500);
    let out = run(&mut sw, 500, 1300);
    let lead = SwitcherSettings::for_profile(&OutputProfile::small()).join_lead_frames as usize;
    assert_eq!(
        out[lead],
        (1, (500 + lead - 200) as u32),
        "joined at the right offset"
    );
    // It still ends on its scheduled frame, 1200.
    assert_eq!(out[1200 - 500 - 1].0, 1);
    assert_eq!(out[1200 - 500].0, SLATE);
    let o = opened.0.lock().expect("lock");
    assert_eq!(
        o[0].1,
        OutputProfile::small()
            .rate
            .frame_to_ns((500 + lead - 200) as u64)
    );
}

#[test]
fn skip_starts_the_next_item_now_and_replace_swaps_the_future() {
    let (mut sw, _) = switcher(&[
        ("a", 1, 1000, None),
        ("b", 2, 1000, None),
        ("c", 3, 1000, None),
    ]);
    sw.cue(Cue::follow("a", "a").at(0), 0);
    sw.cue(Cue::follow("b", "b").at(500), 0);
    let mut out = run(&mut sw, 0, 40);
    sw.skip(40);
    out.extend(run(&mut sw, 40, 60));
    sw.replace(vec![Cue::follow("c", "c").at(80).with_length(5)], 60);
    out.extend(run(&mut sw, 60, 90));
    assert_eq!(tags(&out), vec![(1, 40), (2, 40), (3, 5), (SLATE, 5)]);
}

#[test]
fn a_source_that_is_ready_late_takes_the_air_at_the_right_position() {
    // Cued at frame 0 for frame 2, its source still opening for its first ticks.
    let (mut sw, _) = switcher_with_opening(&[("slow", 7, 500, None)], 8);
    sw.cue(Cue::follow("slow", "slow").with_length(60).at(2), 0);
    let out = run(&mut sw, 0, 70);
    let first_real = out
        .iter()
        .position(|f| f.0 == 7)
        .expect("the item reaches the air");
    assert!(
        first_real > 2 && first_real < 20,
        "on air from frame {first_real}"
    );
    // From then on every frame is the one the item's position calls for: it skipped what
    // it missed, and it still ends on its scheduled frame.
    for (n, f) in out.iter().enumerate().take(62).skip(first_real) {
        assert_eq!(*f, (7, (n - 2) as u32), "frame {n}");
    }
    assert_eq!(out[62].0, SLATE);
}

#[test]
fn replace_keeps_a_pre_rolled_source_and_retimes_the_item_on_air() {
    let (mut sw, opened) = switcher(&[("a", 1, 1000, None), ("b", 2, 1000, None)]);
    sw.cue(Cue::follow("a@0", "a").at(0).with_length(100), 0);
    sw.cue(Cue::follow("b@100", "b").at(100).with_length(100), 0);
    // By frame 40 "b" is pre-rolled (5 s ahead at 25 fps = 125 frames).
    let mut out = run(&mut sw, 0, 40);
    // An edit ends "a" at frame 60 and moves "b" up to 60 (a new id: its start changed).
    sw.replace(
        vec![
            Cue::follow("a@0", "a").at(0).with_length(60),
            Cue::follow("b@60", "b").at(60).with_length(100),
        ],
        40,
    );
    out.extend(run(&mut sw, 40, 170));
    assert_eq!(tags(&out), vec![(1, 60), (2, 100), (SLATE, 10)]);
    // "a" kept playing without a restart, and "b" started on its first frame.
    assert_eq!(out[59], (1, 59));
    assert_eq!(out[60], (2, 0));
    let o = opened.0.lock().expect("lock");
    let names: Vec<&str> = o.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["a", "b"], "no source opened twice");
}

#[test]
fn a_slate_cue_plays_the_slate_as_programme_not_as_a_fallback() {
    let (mut sw, _) = switcher(&[("a", 1, 1000, None)]);
    sw.cue(
        Cue::follow("s", crate::cue::SLATE_SOURCE)
            .at(0)
            .with_length(10),
        0,
    );
    sw.cue(Cue::follow("a", "a").at(10).with_length(5), 0);
    let out = run(&mut sw, 0, 15);
    assert_eq!(tags(&out), vec![(SLATE, 10), (1, 5)]);
    let events = sw.take_events();
    assert!(
        !events.iter().any(|e| matches!(e, Event::FallbackOn { .. })),
        "a scheduled slate is not a fallback: {events:?}"
    );
}

/// A fake live source: delivers a frame per pull while `up`, nothing while down; never
/// ends, never seeks.
struct FakeLive {
    up: Arc<std::sync::atomic::AtomicBool>,
    n: u32,
}

impl Source for FakeLive {
    fn state(&self) -> SourceState {
        SourceState::Ready
    }
    fn pull_video(&mut self, _wait: Duration) -> VideoPull {
        if !self.up.load(std::sync::atomic::Ordering::SeqCst) {
            return VideoPull::NotYet;
        }
        let mut data = vec![0x11];
        data.extend_from_slice(&self.n.to_be_bytes());
        self.n += 1;
        VideoPull::Frame(gst::Buffer::from_slice(data))
    }
    fn pull_audio(&mut self, _out: &mut Vec<u8>, _bytes: usize, _wait: Duration) -> bool {
        false
    }
    fn live_hold(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }
}

struct LiveOpener {
    up: Arc<std::sync::atomic::AtomicBool>,
    opened: Opened,
}

impl Opener for LiveOpener {
    fn open(&self, uri: &str, in_point_ns: u64, _profile: &OutputProfile) -> Box<dyn Source> {
        if let Ok(mut o) = self.opened.0.lock() {
            o.push((uri.to_string(), in_point_ns));
        }
        Box::new(FakeLive {
            up: self.up.clone(),
            n: 0,
        })
    }
}

#[test]
fn a_live_source_that_stalls_holds_its_own_hold_then_slate_and_comes_straight_back() {
    let (mut sw, camera, opened) = live_switcher(&[]);
    sw.cue(cam(300, 0), 0);
    let out = camera.script(&mut sw, 0, &[(UP, 50), (DOWN, 150), (UP, 300)], run);
    // Live 0..50; the last frame held for the source's own 1 s (25 frames, not the
    // switcher's 0.5 s); then the slate.
    assert!(out[..50].iter().all(|f| f.0 == 0x11));
    assert!(
        out[50..75].iter().all(|f| *f == (0x11, 49)),
        "{:?}",
        &out[50..80]
    );
    assert!(
        out[75..150].iter().all(|f| f.0 == SLATE),
        "{:?}",
        &out[70..150]
    );
    // Back at once when it delivers again — the next frame it has, no catching up to a
    // position — and never reopened (no seek into a live stream).
    assert_eq!(out[150], (0x11, 50));
    assert!(out[150..].iter().all(|f| f.0 == 0x11));
    assert_eq!(opened.0.lock().expect("lock").len(), 1);
    let ev = sw.take_events();
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::FallbackOn { frame: 75, .. })),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::FallbackOff { frame: 150, .. })),
        "{ev:?}"
    );
}

#[test]
fn a_live_window_is_opened_two_minutes_before_it_starts() {
    let live_preroll = SwitcherSettings::for_profile(&OutputProfile::small()).live_preroll_frames;
    assert_eq!(live_preroll, 3000, "2 min at 25 fps");
    let (mut sw, _camera, opened) = live_switcher(&[("a.mp4", 1, 6000, None)]);
    // A file from 0 to 6000, a camera window from 6000.
    sw.cue(Cue::follow("file", "/m/a.mp4").with_length(6000).at(0), 0);
    sw.cue(cam(500, 6000), 0);
    let opened_at = |sw: &mut Switcher, to: u64, from: u64| {
        for n in from..to {
            let _ = sw.tick(n, 0);
            if opened
                .0
                .lock()
                .expect("lock")
                .iter()
                .any(|(u, _)| u.starts_with("rtsp:"))
            {
                return Some(n);
            }
        }
        None
    };
    let at = opened_at(&mut sw, 6000, 0).expect("the camera is opened before its window");
    assert_eq!(at, 6000 - live_preroll, "opened exactly 2 min ahead");
}

/// Opens `rtsp://` locators as a [`FakeLive`] and everything else from `files` like
/// [`FakeOpener`] (keyed by the last path segment).
struct MixedOpener {
    live: LiveOpener,
    files: FakeOpener,
}

impl Opener for MixedOpener {
    fn open(&self, uri: &str, in_point_ns: u64, profile: &OutputProfile) -> Box<dyn Source> {
        if uri.starts_with("rtsp://") {
            self.live.open(uri, in_point_ns, profile)
        } else {
            self.files.open(uri, in_point_ns, profile)
        }
    }
}

/// A switcher whose `rtsp://` cues are one fake camera (up while `up`), with `files` for
/// everything else; `opened` lists every open, live or file.
fn live_switcher(files: &[(&str, u8, u64, Option<u64>)]) -> (Switcher, Camera, Opened) {
    live_switcher_with_opening(files, 0)
}

/// Like `live_switcher`, every file reporting Opening `opening` times before it is ready.
fn live_switcher_with_opening(
    files: &[(&str, u8, u64, Option<u64>)],
    opening: u32,
) -> (Switcher, Camera, Opened) {
    let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let opened = Opened::default();
    let opener = MixedOpener {
        live: LiveOpener {
            up: up.clone(),
            opened: opened.clone(),
        },
        files: fake_opener(files, opening, &opened),
    };
    (switcher_on(Box::new(opener)), Camera(up), opened)
}

/// The fake camera of a [`live_switcher`]: delivering while up, stalled while down.
struct Camera(Arc<std::sync::atomic::AtomicBool>);

impl Camera {
    /// Ticks `spans` in turn from frame `from` with `tick` (`run` or `run_with_sound`):
    /// `(true, to)` the camera delivering up to frame `to`, `(false, to)` stalled. Leaves it
    /// as the last span set it.
    fn script<T>(
        &self,
        sw: &mut Switcher,
        from: u64,
        spans: &[(bool, u64)],
        tick: fn(&mut Switcher, u64, u64) -> Vec<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        let mut at = from;
        for &(up, to) in spans {
            self.0.store(up, std::sync::atomic::Ordering::SeqCst);
            out.extend(tick(sw, at, to));
            at = to;
        }
        out
    }
}

/// Whether the camera delivers during a [`Camera::script`] span.
const UP: bool = true;
/// The camera stalled (connected, delivering nothing) during a span.
const DOWN: bool = false;

/// The one fake camera's window: `len` frames from frame `at`.
fn cam(len: u64, at: u64) -> Cue {
    Cue::follow("cam", "rtsp://cam/1").with_length(len).at(at)
}

/// The fallbacks announced in `ev`: (frame, what filled the air).
fn fallbacks(ev: &[Event]) -> Vec<(u64, Fill)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::FallbackOn { frame, fill, .. } => Some((*frame, *fill)),
            _ => None,
        })
        .collect()
}

/// Like `run`, with the first byte of each frame's sound (the fakes' sound is their tag;
/// silence is 0).
fn run_with_sound(sw: &mut Switcher, from: u64, to: u64) -> Vec<((u8, u32), u8)> {
    (from..to)
        .map(|n| {
            let out = sw.tick(n, 0);
            let map = out.video.map_readable().expect("readable");
            let b = map.as_slice();
            let sound = out.audio[0];
            assert!(
                out.audio.iter().all(|s| *s == sound),
                "one sound per frame at {n}"
            );
            if b[0] == SLATE {
                ((SLATE, 0), sound)
            } else {
                ((b[0], u32::from_be_bytes([b[1], b[2], b[3], b[4]])), sound)
            }
        })
        .collect()
}

const BACKUP: u8 = 5;

#[test]
fn a_stalled_live_feed_with_a_backup_loops_the_clip_frame_exactly_and_returns_on_its_frame() {
    // A 10-frame backup clip, shorter than the outage.
    let (mut sw, camera, opened) = live_switcher(&[("bk", BACKUP, 10, None)]);
    sw.cue(cam(400, 20).with_backup("bk"), 0);
    let mut out = run_with_sound(&mut sw, 0, 10);
    // Pre-rolled with the camera, before the window: the switch will cost no frame.
    let names = |o: &Opened| -> Vec<String> {
        o.0.lock()
            .expect("lock")
            .iter()
            .map(|(u, _)| u.clone())
            .collect()
    };
    assert_eq!(names(&opened), vec!["rtsp://cam/1", "bk"]);
    // Down once, and again: a second outage plays the clip from its start again.
    out.extend(camera.script(
        &mut sw,
        10,
        &[(UP, 70), (DOWN, 170), (UP, 200), (DOWN, 260), (UP, 300)],
        run_with_sound,
    ));

    // Live 20..70 with its (silent) sound; the last frame held 1 s (25 frames), silent.
    assert!(out[20..70].iter().all(|(f, _)| f.0 == 0x11));
    assert!(out[70..95].iter().all(|f| *f == ((0x11, 49), 0)));
    // Then the backup from its first frame, looped with no frame lost or repeated at the
    // joins (75 frames = 7.5 passes), its sound with it.
    for (k, f) in out[95..170].iter().enumerate() {
        assert_eq!(*f, ((BACKUP, (k % 10) as u32), BACKUP), "backup frame {k}");
    }
    // The camera back on the first frame it delivers.
    assert_eq!(out[170].0, (0x11, 50));
    assert!(out[170..200].iter().all(|(f, _)| f.0 == 0x11));
    // Second outage: hold, then the clip from its start.
    assert!(out[200..225].iter().all(|(f, _)| *f == (0x11, 79)));
    for (k, f) in out[225..260].iter().enumerate() {
        assert_eq!(
            *f,
            ((BACKUP, (k % 10) as u32), BACKUP),
            "2nd outage frame {k}"
        );
    }
    assert_eq!(out[260].0, (0x11, 80));
    assert!(
        out[20..300].iter().all(|(f, _)| f.0 != SLATE),
        "never the slate"
    );
    // Only the holds were repeated frames.
    assert_eq!(sw.repeated, 50);
    let ev = sw.take_events();
    // (The slate before the window is "nothing scheduled".)
    assert_eq!(
        fallbacks(&ev),
        vec![(0, Fill::Slate), (95, Fill::Backup), (225, Fill::Backup)]
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::FallbackOff { frame: 170, .. })),
        "{ev:?}"
    );
    // The camera was never reopened; each pass of the clip after the pre-rolled one was
    // opened while the one before it played.
    let o = names(&opened);
    assert_eq!(o.iter().filter(|u| u.starts_with("rtsp:")).count(), 1);
    assert!(o.iter().filter(|u| *u == "bk").count() >= 10, "{o:?}");
}

#[test]
fn a_live_feed_whose_backup_is_missing_gets_the_slate_as_before() {
    let (mut sw, camera, _) = live_switcher(&[]);
    sw.cue(cam(300, 0).with_backup("gone.mp4"), 0);
    let out = camera.script(&mut sw, 0, &[(UP, 50), (DOWN, 150), (UP, 200)], run);
    assert!(out[50..75].iter().all(|f| *f == (0x11, 49)));
    assert!(out[75..150].iter().all(|f| f.0 == SLATE));
    assert_eq!(out[150], (0x11, 50));
    let ev = sw.take_events();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::FallbackOn {
                frame: 75,
                fill: Fill::Slate,
                ..
            }
        )),
        "{ev:?}"
    );
    assert!(
        !ev.iter().any(|e| matches!(
            e,
            Event::FallbackOn {
                fill: Fill::Backup,
                ..
            }
        )),
        "{ev:?}"
    );
}

#[test]
fn a_backup_that_breaks_mid_outage_gives_way_to_the_slate_and_says_so() {
    // The clip fails after 30 frames (a truncated file).
    let (mut sw, camera, _) = live_switcher(&[("bk", BACKUP, 1000, Some(30))]);
    sw.cue(cam(300, 0).with_backup("bk"), 0);
    let out = camera.script(&mut sw, 0, &[(UP, 10), (DOWN, 120)], run);
    assert!(out[35..65].iter().all(|f| f.0 == BACKUP));
    assert!(
        out[65..120].iter().all(|f| f.0 == SLATE),
        "{:?}",
        &out[60..70]
    );
    assert_eq!(
        fallbacks(&sw.take_events()),
        vec![(35, Fill::Backup), (65, Fill::Slate)]
    );
}

#[test]
fn a_backup_pass_not_ready_at_the_loop_repeats_the_clips_last_frame_counted() {
    // Every pass of the 10-frame clip says "opening" for its first 3 looks.
    let (mut sw, camera, _) = live_switcher_with_opening(&[("bk", BACKUP, 10, None)], 3);
    sw.cue(cam(300, 0).with_backup("bk"), 0);
    let out = camera.script(&mut sw, 0, &[(UP, 10), (DOWN, 80)], run);
    // Hold 10..35; the clip still opening: the slate for 3 frames; then its 10 frames.
    assert!(
        out[35..38].iter().all(|f| f.0 == SLATE),
        "{:?}",
        &out[30..50]
    );
    for (k, f) in out[38..48].iter().enumerate() {
        assert_eq!(*f, (BACKUP, k as u32), "pass 1 frame {k}");
    }
    // The next pass (opened as the first went on air) still opening at the join: the
    // clip's last frame is repeated, never the slate, then the clip from its start.
    assert!(
        out[48..51].iter().all(|f| *f == (BACKUP, 9)),
        "{:?}",
        &out[45..60]
    );
    for (k, f) in out[51..61].iter().enumerate() {
        assert_eq!(*f, (BACKUP, k as u32), "pass 2 frame {k}");
    }
    assert!(out[38..80].iter().all(|f| f.0 == BACKUP));
    // Repeated: the 25-frame hold and 3 frames at each of the three late joins (48, 61, 74).
    assert_eq!(sw.repeated, 25 + 3 * 3);
    assert_eq!(
        fallbacks(&sw.take_events()),
        vec![(35, Fill::Slate), (38, Fill::Backup)]
    );
}

#[test]
fn a_live_feed_split_into_two_items_keeps_its_one_connection_across_the_cut() {
    let (mut sw, _camera, opened) = live_switcher(&[]);
    // 23:59:56–24:00 on one day's rundown, 00:00–00:00:04 on the next; then another camera.
    sw.cue(
        Cue::follow("cam-day1", "rtsp://cam/1")
            .with_length(100)
            .at(0),
        0,
    );
    sw.cue(
        Cue::follow("cam-day2", "rtsp://cam/1")
            .with_length(100)
            .at(100),
        0,
    );
    sw.cue(
        Cue::follow("other", "rtsp://cam/2").with_length(50).at(200),
        0,
    );
    let out = run(&mut sw, 0, 250);
    // One run of the feed's frames across the cut (frame n of the connection at output
    // frame n: nothing reopened, nothing skipped), then the other camera from its start.
    for (n, f) in out[..200].iter().enumerate() {
        assert_eq!(*f, (0x11, n as u32), "frame {n}");
    }
    assert_eq!(
        out[200],
        (0x11, 0),
        "the other camera is its own connection"
    );
    let uris: Vec<String> = opened
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|(u, _)| u.clone())
        .collect();
    assert_eq!(uris, ["rtsp://cam/1", "rtsp://cam/2"], "opened once each");
    let ev = sw.take_events();
    assert!(
        !ev.iter().any(|e| matches!(e, Event::FallbackOn { .. })),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|e| matches!(e, Event::ItemEnded { id, reason: EndReason::Complete, .. } if id == "cam-day1"))
            && ev.iter().any(|e| matches!(e, Event::ItemStarted { id, frame: 100, .. } if id == "cam-day2")),
        "each day's item has its own as-run: {ev:?}"
    );
}
