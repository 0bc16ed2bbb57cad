//! The real-time tests' set-up and read-back, shared: the engine on air to a real receiver
//! (ffmpeg listening for RTMP and recording), waits for the engine's events with a deadline
//! that fail naming what was awaited, the peers that feed a live item (an ffmpeg SRT caller
//! into our listener, the RTMP ingest on a free port, an RTSP camera taken down and served
//! again), and the recording read back by colour and by tone. What each test judges stays in
//! the test.

use super::{Run, destinations, start_live};
use playout::Event;
use playout::source::live::LiveOptions;
use playout::source::live::ingest::{Ingest, IngestSettings, KeyCheck};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use testkit::palette::Colour;
use testkit::ports::{free_udp_port, udp_bound};
use testkit::probe::{self, ColourRun, FrameColour, Sound, ToneRun};
use testkit::{FfmpegRtmpListener, FfmpegSender, RtspCamera};

/// Nanoseconds since the Unix epoch, now (the engine's timeline is on that clock).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

/// Starts an ffmpeg RTMP receiver (recording), then the engine pushing to it from frame 0,
/// its live sources opened as `live` says.
pub fn on_air(live: LiveOptions) -> (Run, FfmpegRtmpListener) {
    let ff = FfmpegRtmpListener::start().expect("receiver");
    let run = start_live(destinations(&[("ffmpeg", ff.url())]), 0, live);
    (run, ff)
}

/// Matches the start of item `id`.
pub fn item_started(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::ItemStarted { id: i, .. } if i == id)
}

/// Matches the end of item `id`.
pub fn item_ended(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::ItemEnded { id: i, .. } if i == id)
}

/// Matches a fallback (hold, backup or slate) taking the air from item `id`.
pub fn fallback_on(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::FallbackOn { id: Some(i), .. } if i == id)
}

/// Matches item `id` taking the air back from its fallback.
pub fn fallback_off(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::FallbackOff { id: Some(i), .. } if i == id)
}

impl Run {
    /// Collects events until `pred` matches one and returns when it arrived; panics naming
    /// `what` (with every event seen) if `limit` passes first.
    pub async fn expect(
        &mut self,
        limit: Duration,
        pred: impl Fn(&Event) -> bool,
        what: &str,
    ) -> Instant {
        match self.until(limit, pred).await {
            Some(at) => at,
            None => panic!("{what}: not within {limit:?}: {:?}", self.seen),
        }
    }

    /// Waits up to `limit` for item `id` to start; panics (with the events seen) otherwise.
    pub async fn wait_started(&mut self, id: &str, limit: Duration) -> Instant {
        self.expect(limit, item_started(id), &format!("{id} started"))
            .await
    }

    /// Waits up to `limit` for item `id` to end; panics (with the events seen) otherwise.
    pub async fn wait_ended(&mut self, id: &str, limit: Duration) -> Instant {
        self.expect(limit, item_ended(id), &format!("{id} ended"))
            .await
    }

    /// Until item `id` ends, hands the engine's status to `each` every second; panics (with
    /// the events seen) if it has not ended `limit` after the run started.
    pub async fn watch_until_ended(
        &mut self,
        id: &str,
        limit: Duration,
        mut each: impl FnMut(playout::Status),
    ) {
        while self
            .until(Duration::from_secs(1), item_ended(id))
            .await
            .is_none()
        {
            each(self.engine.status().await.expect("status"));
            assert!(
                self.started.elapsed() < limit,
                "{id} not ended {limit:?} after the start: {:?}",
                self.seen
            );
        }
    }

    /// Lets the engine air for `d`, collecting its events (the scenario's time passing,
    /// not a wait for a condition).
    pub async fn air_for(&mut self, d: Duration) {
        self.until(d, |_| false).await;
    }

    /// Whether a fallback took the air from item `id` at any time.
    pub fn fell_back(&self, id: &str) -> bool {
        self.seen.iter().any(|(_, e)| fallback_on(id)(e))
    }

    /// Airs `tail` more, stops the engine, waits (10 s) for the receiver to close its
    /// recording and returns the recording.
    pub async fn finish(&mut self, ff: &mut FfmpegRtmpListener, tail: Duration) -> PathBuf {
        self.air_for(tail).await;
        self.engine.stop().await;
        ff.wait_finished(Duration::from_secs(10)).expect("finished");
        ff.stop().expect("stop");
        ff.recording_path().expect("recording")
    }
}

/// Our SRT listener's port (a free UDP port) and the ffmpeg caller that pushes into it.
pub struct SrtIn(pub u16);

impl SrtIn {
    /// A free UDP port for the listener.
    pub fn new() -> Self {
        SrtIn(free_udp_port().expect("port"))
    }

    /// The locator to cue: our listener on the port.
    pub fn locator(&self) -> String {
        format!("srt://:{}?mode=listener", self.0)
    }

    /// The URL a caller pushes to.
    pub fn caller_url(&self) -> String {
        format!("srt://127.0.0.1:{}?mode=caller", self.0)
    }

    /// Waits (15 s) until the engine's listener is bound.
    pub fn wait_bound(&self) {
        super::wait_ready("our SRT listener", || udp_bound(self.0));
    }

    /// Once the listener is bound, ffmpeg pushes `seconds` of `colour` and a 1 kHz tone in
    /// MPEG-TS, `extra` arguments before its output.
    pub fn push(&self, colour: Colour, seconds: u32, extra: &[&str]) -> FfmpegSender {
        self.wait_bound();
        FfmpegSender::start(colour, seconds, "mpegts", &self.caller_url(), extra)
            .expect("srt ffmpeg")
    }
}

/// The RTMP ingest listening on a free loopback port, accepting the keys `keys` knows.
pub async fn start_ingest(keys: impl KeyCheck) -> Ingest {
    Ingest::start(
        IngestSettings {
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..IngestSettings::default()
        },
        Arc::new(keys),
    )
    .await
    .expect("ingest")
}

/// The URL a publisher pushes to with `key` on `ingest`.
pub fn publish_url(ingest: &Ingest, key: &str) -> String {
    format!("rtmp://127.0.0.1:{}/live/{key}", ingest.local_addr().port())
}

/// Stops `cam` and waits (10 s) for the fallback `fell_back` matches; panics naming `what`.
/// Returns when the camera stopped (ns since the epoch).
pub async fn camera_dies(
    run: &mut Run,
    cam: &mut RtspCamera,
    fell_back: impl Fn(&Event) -> bool,
    what: &str,
) -> u64 {
    cam.stop().expect("camera stopped");
    let stopped_at = unix_now();
    run.expect(Duration::from_secs(10), fell_back, what).await;
    stopped_at
}

/// Lets the air run until `down` after `stopped_at`, serves `cam` again and waits (10 s)
/// for it back on air as item `id`. Returns when it served again (ns since the epoch).
pub async fn camera_returns(
    run: &mut Run,
    cam: &mut RtspCamera,
    id: &str,
    stopped_at: u64,
    down: Duration,
) -> u64 {
    let left =
        Duration::from_nanos((stopped_at + down.as_nanos() as u64).saturating_sub(unix_now()));
    run.air_for(left).await;
    cam.start_again().expect("camera back");
    let serving_at = unix_now();
    run.expect(
        Duration::from_secs(10),
        fallback_off(id),
        "camera back on air",
    )
    .await;
    serving_at
}

/// Asserts the camera's picture came back (its run from `back_pts_ns`) within 2 s of its
/// serving again at `serving_at` (ns since the epoch); prints how long it took.
pub fn assert_back_within_2s(
    timeline: &playout::Timeline,
    serving_at: u64,
    back_pts_ns: i64,
    desc: &str,
) {
    let back_frame = (back_pts_ns / super::FRAME_NS) as u64;
    let serving = timeline.frame_at(serving_at);
    assert!(
        back_frame <= serving + 50,
        "back at frame {back_frame}, serving again at {serving} ({} ms): {desc}",
        (back_frame as i64 - serving as i64) * 40
    );
    eprintln!(
        "return to air: {} ms after the camera served again",
        (back_frame as i64 - serving as i64) * 40
    );
}

/// A recording's pictures against a palette: every frame's colour, the runs of one colour,
/// and the runs described for a failure message.
pub struct Pictures {
    pub colours: Vec<FrameColour>,
    pub runs: Vec<ColourRun>,
    pub desc: String,
}

/// Reads `path`'s pictures by colour against `pal`.
pub fn pictures(path: &Path, pal: &[Colour]) -> Pictures {
    let colours = probe::frame_colours(path).expect("colours");
    let runs = probe::colour_runs(&colours, pal);
    let desc = probe::describe_colour_runs(&runs, pal);
    Pictures {
        colours,
        runs,
        desc,
    }
}

impl Pictures {
    /// The first run of palette colour `colour`; panics with the runs if there is none.
    pub fn first_run_of(&self, colour: usize) -> &ColourRun {
        self.runs
            .iter()
            .find(|r| r.colour == Some(colour))
            .expect(&self.desc)
    }
}

/// How much of `[from, to)` (ns) sounds as `want` in `tones`, in percent of the part of
/// the window the tones cover.
pub fn sound_share(tones: &[ToneRun], from: i64, to: i64, want: Sound) -> i64 {
    let (mut hit, mut all) = (0i64, 0i64);
    for t in tones {
        let end = t.start_ns + t.samples as i64 * 1_000_000_000 / 48_000;
        let (a, b) = (t.start_ns.max(from), end.min(to));
        if b > a {
            all += b - a;
            if t.sound == want {
                hit += b - a;
            }
        }
    }
    hit * 100 / all.max(1)
}
