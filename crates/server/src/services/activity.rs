//! What an organization's instances (or one of them) did lately, hour by hour: events per
//! resource, notifications by outcome, and delivery latency's median and 99th percentile. The
//! web UI plots it.
//!
//! The store counts ([`tributary_store::Activity`]); this shapes the counts into one value per
//! hour and per series, zero-filled, and estimates percentiles from the store's latency
//! histogram the way Prometheus' `histogram_quantile` does: linearly inside the bin the rank
//! falls in. An hour without deliveries has no latency (`None`: a gap, not a zero).

use std::collections::BTreeMap;

use tributary_store::{Activity, ActivityFilter, LATENCY_BOUNDS_MS, NotificationStatus, Principal};

use crate::services::error::ServiceError;
use crate::services::instances::show;
use crate::state::AppState;

/// One hour, the width of a bucket.
pub const HOUR_MS: i64 = 3_600_000;
/// How many hours back the plots reach.
pub const HOURS: usize = 48;

/// The activity of the last [`HOURS`] whole clock hours, the current one last (it is still
/// filling). Every series has one value per hour.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentActivity {
    /// The start of the first hour (epoch ms).
    pub from_ms: i64,
    pub bucket_ms: i64,
    /// Events stored per resource, by resource name (resources with none left out).
    pub events: Vec<(String, Vec<i64>)>,
    /// Notifications made in each hour, by where they stand now.
    pub outcomes: Outcomes,
    /// Deliveries per hour, and their latency's median and 99th percentile (ms).
    pub deliveries: Vec<i64>,
    pub p50_ms: Vec<Option<i64>>,
    pub p99_ms: Vec<Option<i64>>,
    /// The median and 99th percentile over the whole stretch.
    pub overall_p50_ms: Option<i64>,
    pub overall_p99_ms: Option<i64>,
}

/// Notifications per hour by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub delivered: Vec<i64>,
    /// Failed at least once, to be tried again.
    pub retrying: Vec<i64>,
    /// Out of retries (or stopped by 410 Gone); redeliverable.
    pub failed: Vec<i64>,
    /// Not tried yet.
    pub waiting: Vec<i64>,
}

impl RecentActivity {
    /// The start of each hour (epoch ms).
    pub fn hours(&self) -> Vec<i64> {
        (0..HOURS as i64)
            .map(|i| self.from_ms + i * self.bucket_ms)
            .collect()
    }
}

/// The last [`HOURS`] hours of one instance (`Some`) or of every instance of the
/// organization.
pub async fn recent(
    state: &AppState,
    principal: Principal,
    instance_id: Option<i64>,
) -> Result<RecentActivity, ServiceError> {
    if let Some(id) = instance_id {
        show(state, principal, id).await?;
    }
    let now = state.now_ms();
    // Whole clock hours, the one under way last.
    let to_ms = (now.div_euclid(HOUR_MS) + 1) * HOUR_MS;
    let from_ms = to_ms - HOURS as i64 * HOUR_MS;
    let filter = ActivityFilter {
        instance_id,
        from_ms,
        to_ms,
        bucket_ms: HOUR_MS,
    };
    let activity = state
        .store
        .activity(principal.organization_id, &filter)
        .await?;
    Ok(shape(&activity, from_ms, HOUR_MS))
}

/// The store's counts as one value per hour per series.
fn shape(activity: &Activity, from_ms: i64, bucket_ms: i64) -> RecentActivity {
    let slot = |bucket: i64| usize::try_from(bucket).ok().filter(|b| *b < HOURS);
    let mut events: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for count in &activity.events {
        if let Some(i) = slot(count.bucket) {
            events
                .entry(count.resource.clone())
                .or_insert_with(|| vec![0; HOURS])[i] += count.count;
        }
    }
    let mut outcomes = Outcomes {
        delivered: vec![0; HOURS],
        retrying: vec![0; HOURS],
        failed: vec![0; HOURS],
        waiting: vec![0; HOURS],
    };
    for count in &activity.notifications {
        let Some(i) = slot(count.bucket) else {
            continue;
        };
        let series = match (count.status, count.tried) {
            (NotificationStatus::Notified, _) => &mut outcomes.delivered,
            (NotificationStatus::Failed, _) => &mut outcomes.failed,
            (NotificationStatus::Queued, true) => &mut outcomes.retrying,
            (NotificationStatus::Queued, false) => &mut outcomes.waiting,
        };
        series[i] += count.count;
    }
    let mut histograms = vec![[0i64; LATENCY_BOUNDS_MS.len() + 1]; HOURS];
    for count in &activity.latency {
        if let (Some(i), true) = (slot(count.bucket), count.bin <= LATENCY_BOUNDS_MS.len()) {
            histograms[i][count.bin] += count.count;
        }
    }
    let overall: Vec<i64> = (0..=LATENCY_BOUNDS_MS.len())
        .map(|bin| histograms.iter().map(|h| h[bin]).sum())
        .collect();
    RecentActivity {
        overall_p50_ms: percentile(&overall, 0.5),
        overall_p99_ms: percentile(&overall, 0.99),
        from_ms,
        bucket_ms,
        events: events.into_iter().collect(),
        outcomes,
        deliveries: histograms.iter().map(|h| h.iter().sum()).collect(),
        p50_ms: histograms.iter().map(|h| percentile(h, 0.5)).collect(),
        p99_ms: histograms.iter().map(|h| percentile(h, 0.99)).collect(),
    }
}

/// The `q` quantile (0 to 1) of a latency histogram over [`LATENCY_BOUNDS_MS`] (one more, open
/// bin last), interpolated linearly inside its bin; `None` when it counts nothing. A rank in
/// the open bin is reported as the last bound: the histogram knows no more.
pub fn percentile(histogram: &[i64], q: f64) -> Option<i64> {
    let total: i64 = histogram.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut below = 0i64;
    for (bin, &count) in histogram.iter().enumerate() {
        if count > 0 && (below + count) as f64 >= rank {
            let Some(&upper) = LATENCY_BOUNDS_MS.get(bin) else {
                return LATENCY_BOUNDS_MS.last().copied();
            };
            let lower = if bin == 0 {
                0
            } else {
                LATENCY_BOUNDS_MS[bin - 1]
            };
            let within = ((rank - below as f64) / count as f64).clamp(0.0, 1.0);
            return Some(lower + ((upper - lower) as f64 * within).round() as i64);
        }
        below += count;
    }
    LATENCY_BOUNDS_MS.last().copied()
}

#[cfg(test)]
mod tests {
    use tributary_store::{LatencyCount, OutcomeCount, ResourceCount};

    use super::*;

    fn histogram(counts: &[(usize, i64)]) -> Vec<i64> {
        let mut h = vec![0; LATENCY_BOUNDS_MS.len() + 1];
        for (bin, count) in counts {
            h[*bin] = *count;
        }
        h
    }

    #[test]
    fn an_empty_histogram_has_no_percentile() {
        assert_eq!(percentile(&histogram(&[]), 0.5), None);
    }

    #[test]
    fn percentiles_interpolate_inside_the_bin_their_rank_falls_in() {
        // Ten deliveries between 500 ms and 1 s: the median is half-way, the 99th near the top.
        let h = histogram(&[(3, 10)]);
        assert_eq!(percentile(&h, 0.5), Some(750));
        assert_eq!(percentile(&h, 0.99), Some(995));
        // 98 fast ones and 2 slow: the median is fast, the 99th among the slow ones.
        let h = histogram(&[(0, 98), (7, 2)]);
        assert_eq!(percentile(&h, 0.5), Some(51));
        assert_eq!(percentile(&h, 0.99), Some(20_000));
    }

    #[test]
    fn a_rank_in_the_open_bin_is_the_last_bound() {
        let h = histogram(&[(LATENCY_BOUNDS_MS.len(), 3)]);
        assert_eq!(percentile(&h, 0.5), LATENCY_BOUNDS_MS.last().copied());
    }

    #[test]
    fn counts_become_one_value_per_hour_with_gaps_where_nothing_was_delivered() {
        let activity = Activity {
            events: vec![
                ResourceCount {
                    bucket: 0,
                    resource: "contacts".into(),
                    count: 2,
                },
                ResourceCount {
                    bucket: 47,
                    resource: "contacts".into(),
                    count: 1,
                },
                ResourceCount {
                    bucket: 3,
                    resource: "appointments".into(),
                    count: 5,
                },
                // Outside the window: ignored rather than trusted.
                ResourceCount {
                    bucket: 48,
                    resource: "tasks".into(),
                    count: 9,
                },
            ],
            notifications: vec![
                OutcomeCount {
                    bucket: 1,
                    status: NotificationStatus::Notified,
                    tried: true,
                    count: 4,
                },
                OutcomeCount {
                    bucket: 1,
                    status: NotificationStatus::Queued,
                    tried: true,
                    count: 1,
                },
                OutcomeCount {
                    bucket: 2,
                    status: NotificationStatus::Queued,
                    tried: false,
                    count: 2,
                },
                OutcomeCount {
                    bucket: 2,
                    status: NotificationStatus::Failed,
                    tried: true,
                    count: 3,
                },
            ],
            latency: vec![LatencyCount {
                bucket: 1,
                bin: 3,
                count: 4,
            }],
        };
        let shaped = shape(&activity, 1_000, HOUR_MS);
        assert_eq!(shaped.hours()[1], 1_000 + HOUR_MS);
        let names: Vec<&str> = shaped.events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["appointments", "contacts"]);
        assert_eq!(shaped.events[1].1[0], 2);
        assert_eq!(shaped.events[1].1[47], 1);
        assert!(shaped.events.iter().all(|(_, v)| v.len() == HOURS));
        assert_eq!(shaped.outcomes.delivered[1], 4);
        assert_eq!(shaped.outcomes.retrying[1], 1);
        assert_eq!(shaped.outcomes.waiting[2], 2);
        assert_eq!(shaped.outcomes.failed[2], 3);
        assert_eq!(shaped.deliveries[1], 4);
        assert_eq!(shaped.p50_ms[1], Some(750));
        assert_eq!(shaped.p50_ms[0], None);
        assert_eq!(shaped.p99_ms[2], None);
        assert_eq!(shaped.overall_p50_ms, Some(750));
    }
}
