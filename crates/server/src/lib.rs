//! The `tributary` binary's library: its command line today; the API server, UI, poller and
//! delivery workers as their issues land (`serve`), and the demo (`demo`).
//!
//! `main.rs` only calls [`cli::run`], so tests can drive the same code.

pub mod cli;
