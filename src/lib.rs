//! kepu-playout library: the daemon's modules, shared by the binary and the tests.
pub mod catalog;
pub mod edition;
pub mod store;
pub mod web;
