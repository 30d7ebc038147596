//! The event log's analytics, as Cloud Elements' `GET /instances/events/analytics` (and its
//! `/instances` and `/accounts` forms) counted them: events per interval, per instance, with
//! how many were delivered and how many failed (`shared/research/cloud-elements.md` §3.8;
//! the shapes are those of Cloud Elements' own test suite, `analytics.js` and its schemas).

use tributary_store::{CountFilter, EventCount, Principal};

use crate::services::error::ServiceError;
use crate::services::events::{given, rfc3339};
use crate::services::instances::show;
use crate::state::AppState;

/// The analytics' buckets, as given (each checked and named when bad).
#[derive(Debug, Clone, Default)]
pub struct AnalyticsQuery {
    /// RFC 3339 (default: 60 intervals before `to`).
    pub from: Option<String>,
    /// RFC 3339 (default: now).
    pub to: Option<String>,
    /// `minute` (default), `hour`, `day` or `week`.
    pub interval: Option<String>,
    /// `accountIds[]`: only the caller's own organization may be named.
    pub account_ids: Vec<String>,
}

/// Event counts per interval from `from` to `to`, both ends' intervals included.
#[derive(Debug, Clone)]
pub struct Analytics {
    /// Every bucket's start, oldest first (buckets without events included).
    pub buckets: Vec<i64>,
    /// The counts of the buckets and instances with events.
    pub counts: Vec<EventCount>,
}

/// The most buckets one analytics answer has.
const MAX_BUCKETS: i64 = 10_000;

/// Counts the organization's events (of one instance, when given) per interval, as Cloud
/// Elements' `GET /instances/events/analytics` does: `from` and `to` as RFC 3339, `interval`
/// `minute` (the default; `second` is refused, as Cloud Elements refuses it), `hour`, `day` or
/// `week`; the intervals are aligned on the epoch, and both ends' are included (an hour by the
/// minute is 61 buckets). An event counts in the interval it was stored in; `success` and
/// `failed` are the events delivered and failed by now.
pub async fn analytics(
    state: &AppState,
    principal: Principal,
    instance_id: Option<i64>,
    query: &AnalyticsQuery,
) -> Result<Analytics, ServiceError> {
    if let Some(id) = instance_id {
        show(state, principal, id).await?;
    }
    let organization = principal.organization_id.to_string();
    if let Some(other) = query.account_ids.iter().find(|a| a.trim() != organization) {
        return Err(ServiceError::Forbidden(format!(
            "account {other:?} is not yours; your account id is {organization}"
        )));
    }
    let interval_ms: i64 = match given(&query.interval)
        .map(|i| i.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("minute") => 60_000,
        Some("hour") => 3_600_000,
        Some("day") => 86_400_000,
        Some("week") => 7 * 86_400_000,
        Some(other) => {
            return Err(ServiceError::BadInput(format!(
                "interval must be minute, hour, day or week, got {other:?}"
            )));
        }
    };
    let to = rfc3339("to", &query.to)?.unwrap_or_else(|| state.now_ms());
    let from = rfc3339("from", &query.from)?.unwrap_or(to - 60 * interval_ms);
    if to < from {
        return Err(ServiceError::BadInput(format!(
            "from ({}) must not be after to ({})",
            tributary_domain::poll::event_date(from),
            tributary_domain::poll::event_date(to)
        )));
    }
    let first = from.div_euclid(interval_ms) * interval_ms;
    let last = to.div_euclid(interval_ms) * interval_ms;
    let count = (last - first) / interval_ms + 1;
    if count > MAX_BUCKETS {
        return Err(ServiceError::BadInput(format!(
            "from to to spans {count} intervals; at most {MAX_BUCKETS} (choose a longer interval)"
        )));
    }
    let counts = state
        .store
        .count_events(
            principal.organization_id,
            &CountFilter {
                instance_id,
                from_ms: first,
                to_ms: last + interval_ms,
                bucket_ms: interval_ms,
            },
        )
        .await?;
    Ok(Analytics {
        buckets: (0..count).map(|i| first + i * interval_ms).collect(),
        counts,
    })
}
