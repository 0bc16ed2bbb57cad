//! The switcher: decides, for every output frame, who owns it and takes that frame.
//!
//! Owns: the queue of cued items, the item on air, pre-rolling the next items, cuts on the
//! exact frame, fallback (hold the last frame briefly, then the item's backup clip looped
//! with its sound — `backup` — or the slate with silence), retries of a failed source,
//! joining an item late at the right offset, and handing a live feed's connection on to the
//! next item of the same feed (a slow-live window split at midnight stays on air: one
//! connection, no slate at the cut). Does not own:
//! time (the caller passes the frame number — the real loop in `engine`, or a test with a
//! simulated clock), encoding, or destinations.
//!
//! `tick(n)` never blocks longer than the wait it is given per pull, so the output clock
//! never stops whatever a source does.

mod backup;

use crate::cue::Cue;
use crate::event::{EndReason, Event, FallbackReason, Fill, OnAirStatus};
use crate::format::OutputProfile;
use crate::level::Leveller;
use crate::source::still::StillSource;
use crate::source::{Opener, Source, SourceState, VideoPull};
use backup::{Backup, BackupPull};
use gstreamer as gst;
use std::collections::VecDeque;
use std::time::Duration;

/// A file source that ends this many frames or fewer before its item's length has its
/// last frame repeated to the cut instead of a fallback: containers are routinely a frame
/// longer than their picture (ffmpeg's MPEG-TS), and the air plan's lengths come from them.
pub const END_SLACK_FRAMES: u64 = 2;

/// Tunables of the switcher, in frames.
#[derive(Clone, Debug)]
pub struct SwitcherSettings {
    /// Open the next item this many frames before its start.
    pub preroll_frames: u64,
    /// Open a live source (camera, pull, ingest) this many frames before its window, so it
    /// has connected and is delivering when the window starts (default 2 min).
    pub live_preroll_frames: u64,
    /// A source that fails or stalls on air keeps its last frame this long before the slate.
    pub hold_frames: u64,
    /// A failed source is retried after this many frames.
    pub retry_frames: u64,
    /// An item cued for a start already past (or too near) joins this many frames from now.
    pub join_lead_frames: u64,
    /// How long a pull may wait for a source that is behind.
    pub pull_wait: Duration,
}

impl SwitcherSettings {
    pub fn for_profile(p: &OutputProfile) -> Self {
        SwitcherSettings {
            preroll_frames: p.rate.frames_in_secs(5),
            live_preroll_frames: p.rate.frames_in_secs(120),
            hold_frames: (p.rate.frames_in_secs(1) / 2).max(1),
            retry_frames: p.rate.frames_in_secs(2),
            join_lead_frames: p.rate.frames_in_secs(1),
            pull_wait: Duration::from_millis(15),
        }
    }
}

/// What one tick produced.
pub struct TickOutput {
    pub video: gst::Buffer,
    /// S16 interleaved, exactly one frame's worth of samples.
    pub audio: Vec<u8>,
}

struct Queued {
    cue: Cue,
    /// Frames skipped into the item because it joined late.
    offset: u64,
    source: Option<Box<dyn Source>>,
    /// The cue's backup clip, opened with its source.
    backup: Option<Box<dyn Source>>,
}

struct OnAir {
    cue: Cue,
    offset: u64,
    started: u64,
    /// Output frames this item has owned.
    played: u64,
    source: Option<Box<dyn Source>>,
    /// Item frame index of the next frame the source will deliver.
    source_pos: u64,
    last_frame: Option<gst::Buffer>,
    /// Consecutive ticks without a fresh frame.
    misses: u64,
    /// Why the item is not on air as itself, when it is not.
    fallback: Option<FallbackReason>,
    retry_at: Option<u64>,
    /// The source ended (or failed for good) before any length it had.
    exhausted: bool,
    /// A live source's own hold, in frames (`None`: the switcher's).
    live_hold: Option<u64>,
    /// The item's loudness correction and peak limiter.
    level: Leveller,
    /// The source ended at most [`END_SLACK_FRAMES`] before the item's length: its last
    /// frame is repeated (and counted) to the cut, without a fallback.
    trailing: bool,
    /// The cue's backup clip, which fills a fallback instead of the slate.
    backup: Option<Backup>,
}

/// A live item's connection passed on to the next item of the same feed: the source, its
/// automatic gain (so the level does not jump at the cut) and its last frame (to hold).
struct Handover {
    cue: Cue,
    source: Box<dyn Source>,
    level: Leveller,
    last_frame: Option<gst::Buffer>,
}

/// Whether `next` is the same live feed as `prev` (one connection serves both).
fn same_live_feed(prev: &Cue, next: &Cue) -> bool {
    let uri = prev.uri();
    uri == next.uri() && crate::source::live::classify(&uri).is_some()
}

impl OnAir {
    fn remaining_length(&self) -> Option<u64> {
        self.cue.length.map(|l| l.saturating_sub(self.offset))
    }
}

pub struct Switcher {
    profile: OutputProfile,
    settings: SwitcherSettings,
    opener: Box<dyn Opener>,
    slate: gst::Buffer,
    queue: VecDeque<Queued>,
    current: Option<OnAir>,
    events: Vec<Event>,
    retired: Vec<Box<dyn Source>>,
    /// The connection of a live item just ended, for the next item of the same feed.
    handover: Option<Handover>,
    /// The last frame number ticked.
    frame: u64,
    pub repeated: u64,
    /// What fills the air while a fallback is announced (`None`: no fallback announced).
    fallback_on: Option<Fill>,
}

impl Switcher {
    pub fn new(
        profile: OutputProfile,
        settings: SwitcherSettings,
        opener: Box<dyn Opener>,
        slate: gst::Buffer,
        first_frame: u64,
    ) -> Self {
        Switcher {
            profile,
            settings,
            opener,
            slate,
            queue: VecDeque::new(),
            current: None,
            events: Vec::new(),
            retired: Vec::new(),
            handover: None,
            frame: first_frame,
            repeated: 0,
            fallback_on: None,
        }
    }

    /// Events produced since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Sources no longer needed; the caller closes them off the tick thread.
    pub fn take_retired(&mut self) -> Vec<Box<dyn Source>> {
        std::mem::take(&mut self.retired)
    }

    /// Appends an item. `now` is the next frame to be produced.
    pub fn cue(&mut self, cue: Cue, now: u64) {
        if let Some(q) = self.prepare(cue, now) {
            self.queue.push_back(q);
        }
    }

    /// Replaces every item not yet on air, glitch-free: a new item whose source and
    /// in-point match an item already pre-rolled takes over that opened source, and a cue
    /// carrying the id of the item on air changes that item's length (its out-point) instead
    /// of queueing it again — that is how an edit trims or ends the item on air.
    pub fn replace(&mut self, cues: Vec<Cue>, now: u64) {
        let mut opened: Vec<((String, u64), Box<dyn Source>)> = Vec::new();
        let mut backups: Vec<(String, Box<dyn Source>)> = Vec::new();
        for q in self.queue.drain(..) {
            if let Some(s) = q.source {
                opened.push(((q.cue.source.clone(), q.cue.in_point_ns), s));
            }
            if let (Some(b), Some(uri)) = (q.backup, q.cue.backup) {
                backups.push((uri, b));
            }
        }
        for c in cues {
            if let Some(cur) = self.current.as_mut()
                && cur.cue.id == c.id
            {
                cur.cue.length = c.length;
                cur.cue.title = c.title;
                continue;
            }
            let Some(mut q) = self.prepare(c, now) else {
                continue;
            };
            let key = (q.cue.source.clone(), q.cue.in_point_ns);
            if let Some(i) = opened.iter().position(|(k, _)| *k == key) {
                q.source = Some(opened.swap_remove(i).1);
                if let Some(uri) = &q.cue.backup
                    && let Some(j) = backups.iter().position(|(u, _)| u == uri)
                {
                    q.backup = Some(backups.swap_remove(j).1);
                }
            }
            self.queue.push_back(q);
        }
        self.retired.extend(opened.into_iter().map(|(_, s)| s));
        self.retired.extend(backups.into_iter().map(|(_, s)| s));
    }

    /// Opens the source of `cue` at `in_point_ns` (the slate cue plays the slate picture).
    fn open_cue(&self, cue: &Cue, in_point_ns: u64) -> Box<dyn Source> {
        if cue.is_slate() {
            return Box::new(StillSource::new(self.slate.clone()));
        }
        self.opener.open(&cue.uri(), in_point_ns, &self.profile)
    }

    /// Opens the backup clip of `cue` at its start, when it names one.
    fn open_backup(&self, cue: &Cue) -> Option<Box<dyn Source>> {
        let uri = crate::cue::to_uri(cue.backup.as_deref()?);
        Some(self.opener.open(&uri, 0, &self.profile))
    }

    /// Ends the item on air at the next frame; the next item starts there.
    pub fn skip(&mut self, now: u64) {
        if self.current.is_some() {
            self.end_current(now, EndReason::Skipped);
        }
        if let Some(next) = self.queue.front_mut() {
            next.cue.start = Some(now);
        }
    }

    /// Makes a cue whose start is already past join at the right offset, or drops it when
    /// its whole slot has passed.
    fn prepare(&mut self, mut cue: Cue, now: u64) -> Option<Queued> {
        let mut offset = 0;
        if let Some(start) = cue.start {
            let join = now + self.settings.join_lead_frames;
            // Already past: join where the item will be once its source has pre-rolled.
            if start < now {
                offset = join - start;
                if let Some(len) = cue.length
                    && len <= offset
                {
                    self.events.push(Event::ItemEnded {
                        id: cue.id.clone(),
                        frame: now,
                        wall_ns: 0,
                        frames: 0,
                        reason: EndReason::Missed,
                    });
                    return None;
                }
                cue.start = Some(join);
                cue.in_point_ns += self.profile.rate.frame_to_ns(offset);
            }
        }
        Some(Queued {
            cue,
            offset,
            source: None,
            backup: None,
        })
    }

    /// Produces frame `n`. Frames must be asked for in increasing order.
    pub fn tick(&mut self, n: u64, wall_ns: u64) -> TickOutput {
        self.frame = n;
        self.transitions(n, wall_ns);
        self.preroll(n);
        let (video, audio) = self.produce(n, wall_ns);
        if let Some(cur) = self.current.as_mut() {
            cur.played += 1;
        }
        TickOutput { video, audio }
    }

    fn transitions(&mut self, n: u64, wall_ns: u64) {
        // An item that has played its length ends.
        if let Some(cur) = &self.current
            && let Some(len) = cur.remaining_length()
            && cur.played >= len
        {
            self.end_current(n, EndReason::Complete);
        }
        // Drop queued items whose whole slot has passed (a hard start cut them out).
        while let Some(front) = self.queue.front() {
            let next_start = self.queue.get(1).and_then(|q| q.cue.start);
            match (front.cue.start, next_start) {
                (Some(_), Some(ns)) if ns <= n => {
                    if let Some(q) = self.queue.pop_front() {
                        self.events.push(Event::ItemEnded {
                            id: q.cue.id.clone(),
                            frame: n,
                            wall_ns,
                            frames: 0,
                            reason: EndReason::Missed,
                        });
                        self.retired.extend(q.source);
                        self.retired.extend(q.backup);
                    }
                }
                _ => break,
            }
        }
        let due = match self.queue.front() {
            Some(next) => match next.cue.start {
                Some(s) => s <= n,
                None => self.current.is_none(),
            },
            None => false,
        };
        if due {
            if self.current.is_some() {
                self.end_current(n, EndReason::Cut);
            }
            if let Some(q) = self.queue.pop_front() {
                self.start(q, n, wall_ns);
            }
        }
        // A connection no item took over (the next item starts later, or is another source).
        if let Some(h) = self.handover.take() {
            self.retired.push(h.source);
        }
    }

    /// Whether queued item `i` continues the live feed of the item before it (the one on
    /// air for the first): it takes that connection over instead of opening its own.
    fn continues_live(&self, i: usize) -> bool {
        let prev = match i {
            0 => self.current.as_ref().map(|c| &c.cue),
            _ => self.queue.get(i - 1).map(|q| &q.cue),
        };
        match (prev, self.queue.get(i)) {
            (Some(p), Some(q)) => q.source.is_none() && same_live_feed(p, &q.cue),
            _ => false,
        }
    }

    fn start(&mut self, q: Queued, n: u64, wall_ns: u64) {
        let handed = self.handover.take();
        let (mut source, carried) = match (q.source, handed) {
            (None, Some(h)) if same_live_feed(&h.cue, &q.cue) => {
                // The same gain only when the item asks for the same correction.
                let level = (h.cue.live_target_mlufs == q.cue.live_target_mlufs
                    && h.cue.ceiling_mdb == q.cue.ceiling_mdb)
                    .then_some(h.level);
                (h.source, Some((level, h.last_frame)))
            }
            (source, h) => {
                if let Some(h) = h {
                    self.retired.push(h.source);
                }
                let s = match source {
                    Some(s) => s,
                    None => self.open_cue(&q.cue, q.cue.in_point_ns),
                };
                (s, None)
            }
        };
        let backup = q.cue.backup.as_deref().map(|b| {
            let pre = q.backup.or_else(|| self.open_backup(&q.cue));
            let level = Leveller::new(
                q.cue.backup_gain_mdb,
                q.cue.ceiling_mdb,
                self.profile.sample_rate,
                self.profile.channels,
            );
            Backup::new(crate::cue::to_uri(b), pre, level)
        });
        source.on_air();
        let live_hold = source.live_hold().map(|d| {
            self.profile
                .rate
                .ns_to_frame_round(d.as_nanos() as u64)
                .max(1)
        });
        self.events.push(Event::ItemStarted {
            id: q.cue.id.clone(),
            frame: n,
            wall_ns,
            offset_frames: q.offset,
        });
        let (carried_level, last_frame) = carried.unwrap_or((None, None));
        let level = match (carried_level, live_hold, q.cue.live_target_mlufs) {
            (Some(level), _, _) => level,
            (None, Some(_), Some(target)) => Leveller::live(
                target,
                q.cue.ceiling_mdb,
                self.profile.sample_rate,
                self.profile.channels,
            ),
            _ => Leveller::new(
                q.cue.gain_mdb,
                q.cue.ceiling_mdb,
                self.profile.sample_rate,
                self.profile.channels,
            ),
        };
        self.current = Some(OnAir {
            level,
            trailing: false,
            cue: q.cue,
            offset: q.offset,
            started: n,
            played: 0,
            source: Some(source),
            source_pos: 0,
            last_frame,
            misses: 0,
            fallback: None,
            retry_at: None,
            exhausted: false,
            live_hold,
            backup,
        });
    }

    fn end_current(&mut self, n: u64, reason: EndReason) {
        if let Some(cur) = self.current.take() {
            let reason = if reason == EndReason::Complete && cur.fallback.is_some() {
                EndReason::Failed
            } else {
                reason
            };
            self.events.push(Event::ItemEnded {
                id: cur.cue.id.clone(),
                frame: n,
                wall_ns: 0,
                frames: cur.played,
                reason,
            });
            if let Some(s) = cur.source {
                let continued = s.live_hold().is_some()
                    && self
                        .queue
                        .front()
                        .is_some_and(|q| q.source.is_none() && same_live_feed(&cur.cue, &q.cue));
                if continued {
                    self.handover = Some(Handover {
                        cue: cur.cue,
                        source: s,
                        level: cur.level,
                        last_frame: cur.last_frame,
                    });
                } else {
                    self.retired.push(s);
                }
            }
            if let Some(b) = cur.backup {
                self.retired.extend(b.into_sources());
            }
        }
    }

    /// Opens the items due within the pre-roll window (and, when the item on air has no
    /// known end, the one after it at once).
    fn preroll(&mut self, n: u64) {
        let mut predicted = self.current.as_ref().map(|c| {
            c.remaining_length()
                .map(|l| c.started + l)
                .unwrap_or(u64::MAX)
        });
        let horizon = n + self.settings.preroll_frames;
        for i in 0..self.queue.len().min(3) {
            let start = self.queue[i].cue.start.or(predicted);
            let due_soon = match start {
                Some(s) if s != u64::MAX => s <= horizon,
                // Follows an item whose end is unknown: open now, it waits pre-rolled.
                _ => i == 0,
            };
            if !due_soon {
                break;
            }
            if self.queue[i].source.is_none() && !self.continues_live(i) {
                let src = self.open_cue(&self.queue[i].cue, self.queue[i].cue.in_point_ns);
                self.queue[i].source = Some(src);
                self.queue[i].backup = self.open_backup(&self.queue[i].cue);
            }
            predicted = match (start, self.queue[i].cue.length) {
                (Some(s), Some(l)) if s != u64::MAX => {
                    Some(s + l.saturating_sub(self.queue[i].offset))
                }
                _ => Some(u64::MAX),
            };
        }
        // Live windows are opened well before they start (a camera takes seconds to
        // connect; the operator is warned if it is not delivering by then).
        let live_horizon = n + self.settings.live_preroll_frames;
        let due: Vec<usize> = self
            .queue
            .iter()
            .enumerate()
            .take(64)
            .filter(|(_, q)| {
                q.source.is_none()
                    && q.cue.start.is_some_and(|s| s <= live_horizon)
                    && crate::source::live::classify(&q.cue.uri()).is_some()
            })
            .filter(|(i, _)| !self.continues_live(*i))
            .map(|(i, _)| i)
            .collect();
        for i in due {
            let src = self.open_cue(&self.queue[i].cue, self.queue[i].cue.in_point_ns);
            self.queue[i].source = Some(src);
            self.queue[i].backup = self.open_backup(&self.queue[i].cue);
        }
    }

    fn produce(&mut self, n: u64, wall_ns: u64) -> (gst::Buffer, Vec<u8>) {
        let samples = self
            .profile
            .rate
            .samples_in_frame(n, self.profile.sample_rate);
        let bytes = samples * self.profile.audio_bytes_per_sample();
        // An item that ends at EOS hands over within the same tick, so play-to-end items
        // follow each other with no repeated frame.
        for _ in 0..3 {
            let Some(cur) = self.current.as_mut() else {
                return self.slate_frame(n, None, FallbackReason::NothingScheduled, bytes);
            };
            if cur.trailing {
                return self.trail(bytes);
            }
            match pull(
                cur,
                &self.settings,
                n,
                bytes,
                &self.profile,
                &mut *self.opener,
            ) {
                Pulled::Frame(v, a) => {
                    let id = cur.cue.id.clone();
                    if cur.fallback.take().is_some() {
                        self.events.push(Event::FallbackOff {
                            id: Some(id),
                            frame: n,
                        });
                    }
                    if let Some(b) = cur.backup.as_mut() {
                        b.rewind(&mut self.retired);
                    }
                    self.fallback_on = None;
                    return (v, a);
                }
                Pulled::Ended => {
                    let Some(len) = cur.remaining_length() else {
                        self.end_current(n, EndReason::Complete);
                        self.transitions(n, wall_ns);
                        continue;
                    };
                    // A container a frame or two longer than its picture (every ffmpeg
                    // MPEG-TS) is not a failure: the last frame runs to the cut.
                    if len.saturating_sub(cur.played) <= END_SLACK_FRAMES
                        && cur.last_frame.is_some()
                    {
                        cur.trailing = true;
                        return self.trail(bytes);
                    }
                    cur.exhausted = true;
                    return self.fill(n, FallbackReason::EndedEarly, bytes);
                }
                Pulled::Missing(why) => {
                    // A failed source is retired and retried later; one still opening or
                    // stalled stays: it takes the air back when it delivers.
                    let failed = cur
                        .source
                        .as_ref()
                        .is_some_and(|s| matches!(s.state(), SourceState::Failed(_)));
                    if failed && let Some(s) = cur.source.take() {
                        self.retired.push(s);
                        cur.retry_at = Some(n + self.settings.retry_frames);
                    }
                    // A failed item with no length cannot know its end: hand over after
                    // the hold.
                    if cur.remaining_length().is_none()
                        && cur.retry_at.is_some()
                        && cur.misses > self.settings.hold_frames
                    {
                        self.end_current(n, EndReason::Failed);
                        self.transitions(n, wall_ns);
                        continue;
                    }
                    return self.fill(n, why, bytes);
                }
            }
        }
        self.slate_frame(n, None, FallbackReason::NothingScheduled, bytes)
    }

    /// The last frame of an item whose source ended within the slack, with silence.
    fn trail(&mut self, bytes: usize) -> (gst::Buffer, Vec<u8>) {
        let last = self.current.as_ref().and_then(|c| c.last_frame.clone());
        match last {
            Some(v) => {
                self.repeated += 1;
                (v, vec![0; bytes])
            }
            None => (self.slate.clone(), vec![0; bytes]),
        }
    }

    /// The held last frame with silence for a moment, then the item's backup clip with its
    /// sound when it has a playable one, else the slate with silence.
    fn fill(&mut self, n: u64, why: FallbackReason, bytes: usize) -> (gst::Buffer, Vec<u8>) {
        let Some(cur) = self.current.as_mut() else {
            return self.slate_frame(n, None, why, bytes);
        };
        cur.misses += 1;
        let id = Some(cur.cue.id.clone());
        if cur.fallback.is_none() {
            cur.fallback = Some(why.clone());
        }
        let hold = cur.live_hold.unwrap_or(self.settings.hold_frames);
        if cur.misses <= hold
            && let Some(last) = cur.last_frame.clone()
        {
            self.repeated += 1;
            return (last, vec![0; bytes]);
        }
        if let Some(b) = cur.backup.as_mut() {
            let repeated = b.repeated;
            let pulled = b.pull(
                self.settings.pull_wait,
                bytes,
                &*self.opener,
                &self.profile,
                &mut self.retired,
            );
            self.repeated += b.repeated - repeated;
            match pulled {
                BackupPull::Frame(v, a) => {
                    self.announce(n, id, why, Fill::Backup);
                    return (v, a);
                }
                BackupPull::NotReady | BackupPull::Broken => {}
            }
        }
        self.slate_frame(n, id, why, bytes)
    }

    fn slate_frame(
        &mut self,
        n: u64,
        id: Option<String>,
        why: FallbackReason,
        bytes: usize,
    ) -> (gst::Buffer, Vec<u8>) {
        self.announce(n, id, why, Fill::Slate);
        (self.slate.clone(), vec![0; bytes])
    }

    /// Sends `FallbackOn` when a fallback starts or what fills it changes.
    fn announce(&mut self, n: u64, id: Option<String>, why: FallbackReason, fill: Fill) {
        if self.fallback_on != Some(fill) {
            self.fallback_on = Some(fill);
            self.events.push(Event::FallbackOn {
                id,
                frame: n,
                reason: why,
                fill,
            });
        }
    }

    /// A snapshot of the item on air.
    pub fn on_air(&self) -> Option<OnAirStatus> {
        self.current.as_ref().map(|c| OnAirStatus {
            id: c.cue.id.clone(),
            title: c.cue.title.clone(),
            started_frame: c.started,
            position: c.played + c.offset,
            length: c.cue.length,
            fallback: c.fallback.is_some(),
        })
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Ends everything (at shutdown).
    pub fn finish(&mut self, n: u64) {
        if self.current.is_some() {
            self.end_current(n, EndReason::Shutdown);
        }
        for q in self.queue.drain(..) {
            self.retired.extend(q.source);
            self.retired.extend(q.backup);
        }
        if let Some(h) = self.handover.take() {
            self.retired.push(h.source);
        }
    }
}

enum Pulled {
    Frame(gst::Buffer, Vec<u8>),
    Ended,
    /// Nothing from the source this tick, and why.
    Missing(FallbackReason),
}

/// Takes the item's frame for this tick, keeping the source aligned with the item's
/// position: a source that fell behind skips frames, one that is ahead waits.
fn pull(
    cur: &mut OnAir,
    settings: &SwitcherSettings,
    n: u64,
    bytes: usize,
    profile: &OutputProfile,
    opener: &mut dyn Opener,
) -> Pulled {
    if cur.exhausted {
        return Pulled::Missing(FallbackReason::EndedEarly);
    }
    if cur.source.is_none() {
        match cur.retry_at {
            Some(at) if n >= at => {
                // Reopen where the item will be once it has pre-rolled (a live source
                // ignores the in-point and takes the air as soon as it delivers).
                let pos = cur.played + settings.join_lead_frames;
                let in_ns = cur.cue.in_point_ns + profile.rate.frame_to_ns(pos);
                let mut reopened = opener.open(&cur.cue.uri(), in_ns, profile);
                reopened.on_air();
                cur.source = Some(reopened);
                cur.source_pos = pos;
                cur.retry_at = None;
            }
            _ => {
                return Pulled::Missing(
                    cur.fallback.clone().unwrap_or(FallbackReason::Unavailable),
                );
            }
        }
    }
    let Some(src) = cur.source.as_mut() else {
        return Pulled::Missing(FallbackReason::Unavailable);
    };
    match src.state() {
        SourceState::Failed(why) => return Pulled::Missing(FallbackReason::Failed(why)),
        SourceState::Opening => return Pulled::Missing(FallbackReason::NotReady),
        SourceState::Ready => {}
    }
    // A live source has no position to keep: whatever it has now is the item's frame now
    // (re-aligning it would discard frames until it "caught up", which a live source never
    // does — a fallback that never switches back).
    if src.live_hold().is_some() {
        cur.source_pos = cur.played;
    }
    if cur.source_pos > cur.played {
        return Pulled::Missing(FallbackReason::Reopening);
    }
    // Catch up when the source is behind the item's position (bounded per tick).
    let mut budget = 50;
    while cur.source_pos < cur.played && budget > 0 {
        budget -= 1;
        match src.pull_video(settings.pull_wait) {
            VideoPull::Frame(_) => {
                let mut sink = Vec::with_capacity(bytes);
                src.pull_audio(&mut sink, bytes, Duration::ZERO);
                cur.source_pos += 1;
            }
            VideoPull::NotYet => return Pulled::Missing(FallbackReason::Stalled),
            VideoPull::Eos => return Pulled::Ended,
        }
    }
    if cur.source_pos < cur.played {
        return Pulled::Missing(FallbackReason::CatchingUp);
    }
    match src.pull_video(settings.pull_wait) {
        VideoPull::Frame(v) => {
            let audio = pull_frame_audio(&mut **src, bytes, settings.pull_wait, &mut cur.level);
            cur.source_pos += 1;
            cur.misses = 0;
            cur.last_frame = Some(v.clone());
            Pulled::Frame(v, audio)
        }
        VideoPull::NotYet => Pulled::Missing(FallbackReason::Stalled),
        VideoPull::Eos => Pulled::Ended,
    }
}

/// One frame's worth of a source's sound (`bytes`), padded with silence where it has less,
/// through the item's leveller.
fn pull_frame_audio(
    src: &mut dyn Source,
    bytes: usize,
    wait: Duration,
    level: &mut Leveller,
) -> Vec<u8> {
    let mut audio = Vec::with_capacity(bytes);
    src.pull_audio(&mut audio, bytes, wait);
    audio.resize(bytes, 0);
    level.process(&mut audio);
    audio
}

#[cfg(test)]
mod tests;
