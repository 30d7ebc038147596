//! `/instances/events/analytics` (and its `/instances` and `/accounts` forms, and
//! `/instances/{id}/events/analytics`): the event log counted per interval, in the shapes of
//! Cloud Elements' test suite — the JSON face of [`crate::services::analytics`].

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tributary_domain::poll::event_date;

use crate::api::error::ApiError;
use crate::api::events::params;
use crate::api::extract::{Caller, path_id};
use crate::services::analytics::{self as events, Analytics, AnalyticsQuery};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/instances/events/analytics", get(analytics))
        .route(
            "/instances/events/analytics/instances",
            get(analytics_by_instance),
        )
        .route(
            "/instances/events/analytics/accounts",
            get(analytics_by_account),
        )
        .route("/instances/{id}/events/analytics", get(instance_analytics))
}

/// `from`, `to`, `interval` and `accountIds[]` of an analytics call.
fn analytics_query(raw: Option<&str>) -> Result<AnalyticsQuery, ApiError> {
    let params = params(raw)?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    Ok(AnalyticsQuery {
        from: get("from"),
        to: get("to"),
        interval: get("interval"),
        account_ids: params
            .iter()
            .filter(|(k, _)| k == "accountIds[]" || k == "accountIds")
            .map(|(_, v)| v.clone())
            .collect(),
    })
}

/// `[{timestamp, count}]`, one item per interval.
fn totals_json(analytics: &Analytics) -> Value {
    Value::Array(
        analytics
            .buckets
            .iter()
            .map(|bucket| {
                let count: i64 = analytics
                    .counts
                    .iter()
                    .filter(|c| c.bucket_ms == *bucket)
                    .map(|c| c.count)
                    .sum();
                json!({"timestamp": event_date(*bucket), "count": count})
            })
            .collect(),
    )
}

/// `[{timestamp, total, count, records: [{<key>, count, success, failed}]}]`, one item per
/// interval, a record per instance (`instanceId`) or account (`accountId`).
fn records_json(analytics: &Analytics, by_account: Option<i64>) -> Value {
    Value::Array(
        analytics
            .buckets
            .iter()
            .map(|bucket| {
                let counts = analytics.counts.iter().filter(|c| c.bucket_ms == *bucket);
                let records: Vec<Value> = match by_account {
                    None => counts
                        .map(|c| {
                            json!({"instanceId": c.instance_id, "count": c.count,
                                   "success": c.notified, "failed": c.failed})
                        })
                        .collect(),
                    Some(account) => {
                        let (count, success, failed) = counts.fold((0, 0, 0), |(n, s, f), c| {
                            (n + c.count, s + c.notified, f + c.failed)
                        });
                        if count == 0 {
                            Vec::new()
                        } else {
                            vec![json!({"accountId": account, "count": count,
                                        "success": success, "failed": failed})]
                        }
                    }
                };
                let total: i64 = records.iter().filter_map(|r| r["count"].as_i64()).sum();
                json!({"timestamp": event_date(*bucket), "total": total, "count": total,
                       "records": records})
            })
            .collect(),
    )
}

/// `GET /instances/events/analytics`: the organization's events per interval.
async fn analytics(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, None, &query).await?;
    Ok(Json(totals_json(&found)).into_response())
}

/// `GET /instances/{id}/events/analytics`: one instance's events per interval.
async fn instance_analytics(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, Some(id), &query).await?;
    Ok(Json(totals_json(&found)).into_response())
}

/// `GET /instances/events/analytics/instances`: per interval, each instance's events.
async fn analytics_by_instance(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, None, &query).await?;
    Ok(Json(records_json(&found, None)).into_response())
}

/// `GET /instances/events/analytics/accounts`: per interval, the account's (organization's)
/// events.
async fn analytics_by_account(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, None, &query).await?;
    Ok(Json(records_json(&found, Some(principal.organization_id))).into_response())
}
