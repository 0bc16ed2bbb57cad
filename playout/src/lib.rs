//! The kepu-playout media engine.
