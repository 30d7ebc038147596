//! The pure core of Tributary.
//!
//! Everything here is deterministic and free of I/O: no async runtime, no database, no HTTP.
//! That keeps this crate quick to compile and test, which matters because the subtle logic of
//! the product lives here. Today it holds the [`Clock`] that every time-dependent part of the
//! system is given; the Java date patterns, placeholders, CEQL, poller configuration and
//! classification join it as their issues land.

pub mod ceql;
pub mod clock;
pub mod dates;
pub mod placeholders;

pub use clock::{Clock, ManualClock, SystemClock};
pub use dates::{DateParseError, DatePattern, PatternError, Zone, ZoneError};
