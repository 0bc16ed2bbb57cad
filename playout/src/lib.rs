//! kepu-playout's media engine.
//!
//! It plays cued items on one continuous output timeline — *the output clock never stops* —
//! encodes the programme once and pushes it to every destination, each isolated from the
//! others. It knows nothing of the database, the web or the event: the daemon talks to it
//! through [`Engine`] (cue, replace, skip, status) and a stream of [`Event`]s.
//!
//! Task graph: a clock thread ticks the [`switcher`] once per frame and hands the frame to
//! the [`encode`]r; the encoder's packets go to the [`fanout`] thread, which offers them
//! to one tokio task per destination ([`output`]). Sources decode on their own GStreamer
//! threads, bounded by their appsinks.

pub mod cue;
pub mod encode;
pub mod engine;
pub mod event;
pub mod fanout;
pub mod format;
pub mod gst_util;
pub mod health;
pub mod level;
pub mod output;
pub mod packet;
pub mod probe;
pub mod sim;
pub mod source;
pub mod still;
pub mod switcher;
pub mod ticker;

pub use cue::Cue;
pub use engine::{Engine, EngineConfig, EngineError, SlateSource, Timeline};
pub use event::{DestinationState, EndReason, Event, EventStream, FallbackReason, Fill, Status};
pub use format::{OutputProfile, Preset, Rate};
pub use health::{Fault, HealthSnapshot};
pub use output::{DestinationConfig, RetryPolicy};
