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
    /// Counts an attempt at `at_ms` of the notification with this body, whose events' poll
    /// ran at `poll_date_ms` (read from the body where it was not kept); a delivery's latency
    /// (from the poll that found its change) is returned for the histogram of `/metrics`.
    pub(super) fn count(
        &self,
        outcome: &AttemptOutcome,
        at_ms: i64,
        poll_date_ms: Option<i64>,
        body: &[u8],
    ) -> Option<u64> {
        let add = |counter: &AtomicU64, n: u64| {
            counter.fetch_add(n, Ordering::Relaxed);
        };
        match outcome {
            AttemptOutcome::Delivered => {
                add(&self.delivered, 1);
                // Only the one field read (the rest skipped, not built into values).
                let poll_ms = poll_date_ms
                    .or_else(|| {
                        serde_json::from_slice::<Envelope>(body)
                            .ok()
                            .and_then(|b| b.message?.raw?.poll_date)
                    })
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use tributary_store::AttemptOutcome;

    use super::DeliveryStats;

    #[test]
    fn a_deliverys_latency_counts_from_the_kept_poll_date_else_from_the_bodys() {
        let stats = DeliveryStats::default();
        let body = br#"{"message":{"raw":{"pollDate":1000}}}"#;
        let delivered = AttemptOutcome::Delivered;
        assert_eq!(
            stats.count(&delivered, 5_000, Some(4_000), body),
            Some(1_000)
        );
        assert_eq!(stats.count(&delivered, 5_000, None, body), Some(4_000));
        assert_eq!(stats.count(&delivered, 5_000, None, b"{}"), Some(0));
        assert_eq!(stats.delivered.load(Ordering::Relaxed), 3);
        assert_eq!(stats.latency_ms_sum.load(Ordering::Relaxed), 5_000);
        assert_eq!(
            stats.count(&AttemptOutcome::RetryAt(9), 5_000, None, body),
            None
        );
    }
}
