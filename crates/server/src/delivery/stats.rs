//! Counters of delivery since the process started, for `/metrics` (the queue depth and the
//! sends in flight come from the database, so they hold across processes).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use tributary_store::AttemptOutcome;

/// Counters of delivery since start.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    pub retried: AtomicU64,
    pub given_up: AtomicU64,
    /// Sum of milliseconds from an event's poll to its delivery, over delivered notifications.
    pub latency_ms_sum: AtomicU64,
    /// Notifications leased by the transaction that queued them, so sent without a claim.
    pub leased_at_queue: AtomicU64,
    /// Notifications leased by the poll commit that stored their events (`outbox`), so sent
    /// without a queue pass or a claim.
    pub leased_at_commit: AtomicU64,
}

impl DeliveryStats {
    /// Counts an attempt at `at_ms` of the notification with this body; a delivery's latency
    /// (from the poll that found its change) is returned for the histogram of `/metrics`.
    pub(super) fn count(&self, outcome: &AttemptOutcome, at_ms: i64, body: &[u8]) -> Option<u64> {
        let add = |counter: &AtomicU64, n: u64| {
            counter.fetch_add(n, Ordering::Relaxed);
        };
        match outcome {
            AttemptOutcome::Delivered => {
                add(&self.delivered, 1);
                // Only the one field read (the rest skipped, not built into values).
                let poll_ms = serde_json::from_slice::<Envelope>(body)
                    .ok()
                    .and_then(|b| b.message?.raw?.poll_date)
                    .unwrap_or(at_ms);
                let latency_ms = u64::try_from(at_ms - poll_ms).unwrap_or(0);
                add(&self.latency_ms_sum, latency_ms);
                return Some(latency_ms);
            }
            AttemptOutcome::RetryAt(_) => {
                add(&self.failed_attempts, 1);
                add(&self.retried, 1);
            }
            AttemptOutcome::Failed | AttemptOutcome::Gone => {
                add(&self.failed_attempts, 1);
                add(&self.given_up, 1);
            }
        }
        None
    }
}

/// The one field of a notification's envelope the latency needs: `message.raw.pollDate`.
#[derive(Deserialize)]
struct Envelope {
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    raw: Option<Raw>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "pollDate")]
    poll_date: Option<i64>,
}
