//! The pure core of Tributary.
//!
//! Everything here is deterministic and free of I/O: no async runtime, no database, no HTTP.
//! That keeps this crate quick to compile and test, which matters because the subtle logic of
//! the product lives here. A tour:
//!
//! - [`clock`]: the [`Clock`] every time-dependent part of the system is given;
//! - [`auth_header`]: the Cloud Elements `Authorization` header;
//! - [`instance_config`]: instance configuration values and the validation of every events key,
//!   the poller configuration included ([`legacy_pollers`]: Cloud Elements' older
//!   `event.poller.urls` lines, read as that configuration);
//! - [`dates`]: Java `SimpleDateFormat` patterns ([`DatePattern`]) and time zones ([`Zone`]),
//!   read and written as Java 17 does, with every deviation listed in its docs;
//! - [`placeholders`]: `${gmtDate:…}` and friends in poller URLs ([`UrlTemplate`]);
//! - [`ceql`]: Cloud Elements' `where` language, parsed to an AST and evaluated on JSON;
//! - [`delivery`]: the notification envelope (Cloud Elements' body), its signatures (Cloud
//!   Elements' and Standard Webhooks'), the retry schedule, and batching;
//! - [`poll`]: the poll's decision — which records become CREATED or UPDATED events, and where
//!   the cursor and the dedupe memory go next; [`record`]: a record as the JSON text an event
//!   stores, read without a `Value` tree;
//! - [`deletes`]: a delete sweep's decision — its window, its DELETED events, its cursor, and
//!   deletes lost at the provider; [`archived`]: the archives of a list with no time filter
//!   that are news; [`stubs`]: deletes that arrive as stubs among a poll's records;
//!   [`sweep`]: a reconciliation sweep's — ids no longer listed (`absence`), and in checksum
//!   mode changed content hashes;
//! - [`quota`]: how much of a provider app's shared request budget its pollers will use, the
//!   factor their intervals stretch by to fit, and the admission bucket a poll passes.
//!
//! Tests: table tests whose expectations Java printed (`tests/java/Oracle.java`), property
//! tests (the poll among them: no change lost or repeated), and fuzz targets in `fuzz/` (their
//! own workspace, nightly).

pub mod archived;
pub mod auth_header;
pub mod ceql;
pub mod clock;
pub mod dates;
pub mod deletes;
pub mod delivery;
pub mod instance_config;
pub mod legacy_pollers;
pub mod placeholders;
pub mod poll;
pub mod quota;
pub mod record;
pub mod stubs;
pub mod sweep;

pub use clock::{Clock, ManualClock, SystemClock};
pub use dates::{DateParseError, DatePattern, PatternError, Zone, ZoneError};
pub use placeholders::{PlaceholderError, UrlTemplate};
