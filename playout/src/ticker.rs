//! The per-frame heart of the engine, without pacing or encoding: which programme frame
//! each output frame shows, the switcher's tick, and keeping the programme on wall time.
//!
//! `n` is the programme frame (what the switcher plays, what cues count in); `out` is the
//! output frame (its timestamp). They move together except when the wall clock steps away
//! from the monotonic clock the output is paced by (NTP): then programme frames are dropped
//! (the wall clock jumped ahead) or the output repeats its last picture with silence while
//! the programme waits (it jumped back) — counted, so the programme stays on wall time and
//! the output timestamps stay continuous (DESIGN: "the output clock never stops").
//!
//! Used by the real clock thread ([`crate::engine`]) and by the simulated engine
//! ([`crate::sim`]), so a rehearsal runs the code that airs. Owns: `n`, `out`, the counts.
//! Does not own: when a frame is due (the caller), encoding, destinations.

use crate::event::{Event, EventSink};
use crate::format::OutputProfile;
use crate::source::Source;
use crate::switcher::{Switcher, TickOutput};
use gstreamer as gst;

/// Frame numbering and the switcher, tick by tick.
pub struct Ticker {
    /// The switcher (cue, replace and skip go to it with [`Ticker::programme_frame`]).
    pub switcher: Switcher,
    profile: OutputProfile,
    events: EventSink,
    first: u64,
    origin_unix_ns: u64,
    n: u64,
    out: u64,
    dropped: u64,
    clock_repeated: u64,
    repeat_pending: u64,
    last_video: Option<gst::Buffer>,
    last_reported_repeats: u64,
}

impl Ticker {
    /// Frame `first` is due at wall instant `origin_unix_ns`.
    pub fn new(
        switcher: Switcher,
        profile: OutputProfile,
        events: EventSink,
        first: u64,
        origin_unix_ns: u64,
    ) -> Self {
        Self {
            switcher,
            profile,
            events,
            first,
            origin_unix_ns,
            n: first,
            out: first,
            dropped: 0,
            clock_repeated: 0,
            repeat_pending: 0,
            last_video: None,
            last_reported_repeats: 0,
        }
    }

    /// The programme frame the next tick plays.
    pub fn programme_frame(&self) -> u64 {
        self.n
    }

    /// The output frame the next tick produces (its timestamp is this frame's).
    pub fn output_frame(&self) -> u64 {
        self.out
    }

    /// Frames dropped so far (late output, or the wall clock ahead).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Frames repeated so far (a source with nothing in time, or the wall clock behind).
    pub fn repeated(&self) -> u64 {
        self.switcher.repeated + self.clock_repeated
    }

    fn sync_event(&self) {
        self.events.send(Event::ClockSync {
            dropped_total: self.dropped,
            repeated_total: self.repeated(),
        });
    }

    /// The output fell `k` frames behind its pacing: both clocks skip `k` frames (the items
    /// still advance, so the schedule stays on wall time; the output timestamps jump).
    pub fn drop_late(&mut self, k: u64, wall_ns: u64) {
        for _ in 0..k {
            let _ = self.switcher.tick(self.n, wall_ns);
            self.n += 1;
        }
        self.out += k;
        self.dropped += k;
        self.sync_event();
    }

    /// A frame that could not be handed on (the encoder's queue full): counted as dropped.
    pub fn count_dropped(&mut self) {
        self.dropped += 1;
        self.sync_event();
    }

    /// Produces output frame `out`: `wall_ns` is the wall clock now and `mono_ns` the
    /// monotonic time since the first frame was due, read together. Sends the switcher's
    /// events (with `wall_ns`) and returns the frame with its output number.
    pub fn tick(&mut self, wall_ns: u64, mono_ns: u64) -> (u64, TickOutput) {
        let frame_ns = i128::from(self.profile.rate.frame_ns());
        let skew_ns = (i128::from(wall_ns) - i128::from(self.origin_unix_ns)) - i128::from(mono_ns);
        let ahead = i128::from(self.n) - i128::from(self.out) - i128::from(self.repeat_pending);
        if (skew_ns - ahead * frame_ns).abs() > frame_ns {
            let k = skew_ns / frame_ns - ahead;
            if k > 0 {
                for _ in 0..k {
                    let _ = self.switcher.tick(self.n, wall_ns);
                    self.n += 1;
                }
                self.dropped += k as u64;
                tracing::warn!(
                    frames = k,
                    "wall clock stepped ahead: programme frames dropped"
                );
            } else {
                let k = (-k) as u64;
                self.repeat_pending += k;
                self.clock_repeated += k;
                tracing::warn!(frames = k, "wall clock stepped back: frames repeated");
            }
            self.sync_event();
        }
        let out = self.out;
        let frame = match (&self.last_video, self.repeat_pending) {
            (Some(v), p) if p > 0 => {
                self.repeat_pending -= 1;
                TickOutput {
                    video: v.clone(),
                    audio: vec![0u8; self.audio_bytes(out)],
                }
            }
            _ => {
                self.repeat_pending = 0;
                let t = self.switcher.tick(self.n, wall_ns);
                self.n += 1;
                self.last_video = Some(t.video.clone());
                t
            }
        };
        for e in self.switcher.take_events() {
            self.events.send(fill_wall(e, wall_ns));
        }
        if self.switcher.repeated != self.last_reported_repeats && out.is_multiple_of(25) {
            self.last_reported_repeats = self.switcher.repeated;
            self.sync_event();
        }
        self.out += 1;
        (out, frame)
    }

    /// Sources the switcher let go (to be dropped off the clock's thread).
    pub fn take_retired(&mut self) -> Vec<Box<dyn Source>> {
        self.switcher.take_retired()
    }

    /// Ends the item on air (shutdown) and sends the last events, stamped with the wall
    /// instant the next programme frame was due.
    pub fn finish(&mut self) {
        self.switcher.finish(self.n);
        let wall = self.origin_unix_ns
            + self
                .profile
                .rate
                .frame_to_ns(self.n.saturating_sub(self.first));
        for e in self.switcher.take_events() {
            self.events.send(fill_wall(e, wall));
        }
    }

    fn audio_bytes(&self, k: u64) -> usize {
        let r = self.profile.rate;
        let sr = self.profile.sample_rate;
        let samples = r.samples_before(k + 1, sr) - r.samples_before(k, sr);
        samples as usize * self.profile.channels as usize * 2
    }
}

/// An `ItemEnded` the switcher left unstamped gets the tick's wall instant.
fn fill_wall(e: Event, wall: u64) -> Event {
    match e {
        Event::ItemEnded {
            id,
            frame,
            wall_ns: 0,
            frames,
            reason,
        } => Event::ItemEnded {
            id,
            frame,
            wall_ns: wall,
            frames,
            reason,
        },
        other => other,
    }
}
