//! The pure core of Tributary.
//!
//! Everything here is deterministic and free of I/O: no async runtime, no database, no HTTP.
//! That keeps this crate quick to compile and test, which matters because the subtle logic of
//! the product lives here. It holds the [`Clock`] that every time-dependent part of the system is
//! given, the `Authorization` header parser, and instance configuration with its validation;
//! the Java date patterns, placeholders, CEQL and classification join them as their issues land.

pub mod auth_header;
pub mod clock;
pub mod instance_config;

pub use clock::{Clock, ManualClock, SystemClock};
