//! kepu-playout: the daemon. Everything that knows about the event, the database and the
//! web lives here; the media engine is the `playout` crate.
//!
//! Arrows point one way: `web → air → rundown → catalog → store`, `air → playout`.

pub mod air;
pub mod asrun;
pub mod auth;
pub mod catalog;
pub mod certificate;
pub mod cluster;
pub mod config;
pub mod dayfile;
pub mod demo;
pub mod edition;
pub mod edition_cli;
pub mod feedback;
pub mod feeds;
pub mod log_sink;
pub mod metrics;
pub mod pdf_text;
pub mod play;
pub mod recording;
pub mod rundown;
pub mod rundown_cli;
pub mod rundown_db;
pub mod serve;
pub mod signal;
pub mod store;
pub mod timecode;
pub mod upload;
pub mod web;
