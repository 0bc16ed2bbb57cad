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

pub mod clips;
pub mod palette;
pub mod ports;
pub mod probe;
pub mod receivers;
pub mod time;

mod child;

pub use palette::Colour;
pub use receivers::{FfmpegRtmpListener, NginxRtmp, SrtListener};
