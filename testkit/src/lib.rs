//! Test support for kepu-playout: real receivers and independent judges.
//!
//! End-to-end tests of the engine start *real* receivers on free loopback ports
//! ([`receivers::NginxRtmp`], [`receivers::FfmpegRtmpListener`],
//! [`receivers::SrtListener`]), let the engine push to their `url()`, and then judge
//! the recordings with ffprobe/ffmpeg through [`probe`] — never with the engine's own
//! opinion. [`clips`] generates small test media with one solid colour and one tone
//! each, so the judges can tell which item was on air at every frame.
//!
//! Everything is synchronous (`std::process`, `std::thread`): usable from plain and from
//! tokio tests (call it from `spawn_blocking` if you must not block a runtime thread).
//! All timestamps are integers (ticks of a [`time::Rational`] time base, or nanoseconds).
//!
//! ```no_run
//! use std::time::Duration;
//! use testkit::{NginxRtmp, palette, probe};
//!
//! # fn main() -> anyhow::Result<()> {
//! let mut rx = NginxRtmp::start()?;
//! // … let the engine publish to rx.url() and finish …
//! rx.wait_idle(Duration::from_secs(10))?;
//! rx.stop()?;
//! let rec = rx.recording_path()?;
//! let p = probe::packets(&rec)?;
//! let bad = p.video_steps_exact(25, 1, Duration::from_micros(1500));
//! assert!(bad.is_empty(), "{}", probe::describe_violations(&bad));
//! let pal = [palette::RED, palette::GREEN];
//! let runs = probe::colour_runs(&probe::frame_colours(&rec)?, &pal);
//! println!("{}", probe::describe_colour_runs(&runs, &pal));
//! # Ok(())
//! # }
//! ```
//!
//! Pitfalls the API handles for you: readiness is checked in `/proc` (a probe
//! connection would end `ffmpeg -listen 1`'s only session); nginx runs without a master
//! process so killing it frees the port; every ffmpeg/ffprobe run is bounded
//! ([`probe::ANALYSIS_TIMEOUT`]); ffmpeg's `green` is 0x008000, so clips use the exact
//! [`palette`] values.

pub mod clips;
pub mod http;
pub mod palette;
pub mod peers;
pub mod ports;
pub mod probe;
pub mod receivers;
pub mod time;

mod child;

pub use palette::Colour;
pub use peers::{CameraCodec, CameraOptions, DeadServer, FfmpegSender, RtspCamera};
pub use receivers::{FfmpegRtmpListener, NginxRtmp, SrtListener};
