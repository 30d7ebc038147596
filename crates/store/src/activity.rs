//! What happened over a stretch of time, counted in equal buckets for the web UI's plots:
//! events stored per resource, notifications by where they stand now, and how long delivered
//! notifications took, as a histogram.
//!
//! Everything is counted in the database (one `GROUP BY` each), so a page reads a few hundred
//! rows however busy the instances were. Latency comes back as counts per bin of
//! [`LATENCY_BOUNDS_MS`] rather than as percentiles: neither backend's percentile functions
//! exist in the other, and a histogram is what the caller needs to estimate any percentile
//! the same way on both.

use crate::status::NotificationStatus;

/// The upper bounds (inclusive, milliseconds) of the latency histogram's bins, in order; a
/// delivery slower than the last bound falls in one more, open bin (index `len()`).
pub const LATENCY_BOUNDS_MS: [i64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 900_000,
    1_800_000, 3_600_000, 10_800_000, 43_200_000,
];

/// Which stretch of time, cut into buckets of `bucket_ms` from `from_ms` (a bucket is the
/// number of whole `bucket_ms` since `from_ms`), and whose activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityFilter {
    /// One instance's; `None`: every instance of the organization.
    pub instance_id: Option<i64>,
    pub from_ms: i64,
    /// The end, not included.
    pub to_ms: i64,
    /// Must be positive.
    pub bucket_ms: i64,
}

/// The activity of a stretch of time. Buckets with nothing to count are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// Events by the bucket they were stored in, per resource; in bucket then resource order.
    pub events: Vec<ResourceCount>,
    /// Notifications by the bucket they were made in, by where they stand now.
    pub notifications: Vec<OutcomeCount>,
    /// Delivered notifications by the bucket of their delivery and the bin of their latency:
    /// from the poll that found the oldest of their events to the receiver's 2xx.
    pub latency: Vec<LatencyCount>,
}

/// Events of one resource stored in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCount {
    pub bucket: i64,
    pub resource: String,
    pub count: i64,
}

/// Notifications made in one bucket that are now in `status`; `tried` tells a queued one that
/// failed at least once (it is retrying) from one not sent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeCount {
    pub bucket: i64,
    pub status: NotificationStatus,
    pub tried: bool,
    pub count: i64,
}

/// Deliveries in one bucket whose latency fell in bin `bin` of [`LATENCY_BOUNDS_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyCount {
    pub bucket: i64,
    pub bin: usize,
    pub count: i64,
}
