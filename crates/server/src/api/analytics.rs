//! `/instances/events/analytics` (and its `/instances` and `/accounts` forms, and
//! `/instances/{id}/events/analytics`): the event log counted per interval, in the shapes of
//! Cloud Elements' test suite — the JSON face of [`crate::services::analytics`].

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use tributary_domain::poll::event_date;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::events::params;
use crate::api::extract::{Caller, path_id};
use crate::api::openapi::ErrorBody;
use crate::services::analytics::{self as events, Analytics, AnalyticsQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(analytics))
        .routes(routes!(analytics_by_instance))
        .routes(routes!(analytics_by_account))
        .routes(routes!(instance_analytics))
}

/// The length of an analytics interval.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Only describes the parameter; `analytics_query` reads the text.
pub enum Interval {
    Minute,
    Hour,
    Day,
    Week,
}

/// Events stored in one interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalOut {
    /// The interval's start (`yyyy-MM-dd'T'HH:mm:ss'Z'`).
    pub timestamp: String,
    pub count: i64,
}

/// One interval, a record per instance or account.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntervalOut {
    pub timestamp: String,
    pub total: i64,
    pub count: i64,
    pub records: Vec<RecordOut>,
}

/// One instance's (`instanceId`) or account's (`accountId`) events in an interval.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
    pub count: i64,
    /// Delivered.
    pub success: i64,
    pub failed: i64,
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
fn totals_json(analytics: &Analytics) -> Vec<TotalOut> {
    analytics
        .buckets
        .iter()
        .map(|bucket| TotalOut {
            timestamp: event_date(*bucket),
            count: analytics
                .counts
                .iter()
                .filter(|c| c.bucket_ms == *bucket)
                .map(|c| c.count)
                .sum(),
        })
        .collect()
}

/// `[{timestamp, total, count, records: [{<key>, count, success, failed}]}]`, one item per
/// interval, a record per instance (`instanceId`) or account (`accountId`).
fn records_json(analytics: &Analytics, by_account: Option<i64>) -> Vec<IntervalOut> {
    analytics
        .buckets
        .iter()
        .map(|bucket| {
            let counts = analytics.counts.iter().filter(|c| c.bucket_ms == *bucket);
            let records: Vec<RecordOut> = match by_account {
                None => counts
                    .map(|c| RecordOut {
                        instance_id: Some(c.instance_id),
                        account_id: None,
                        count: c.count,
                        success: c.notified,
                        failed: c.failed,
                    })
                    .collect(),
                Some(account) => {
                    let (count, success, failed) = counts.fold((0, 0, 0), |(n, s, f), c| {
                        (n + c.count, s + c.notified, f + c.failed)
                    });
                    if count == 0 {
                        Vec::new()
                    } else {
                        vec![RecordOut {
                            instance_id: None,
                            account_id: Some(account),
                            count,
                            success,
                            failed,
                        }]
                    }
                }
            };
            let total: i64 = records.iter().map(|r| r.count).sum();
            IntervalOut {
                timestamp: event_date(*bucket),
                total,
                count: total,
                records,
            }
        })
        .collect()
}

/// `GET /instances/events/analytics`: the organization's events per interval.
#[utoipa::path(get, path = "/instances/events/analytics", tag = "events",
    params(
        ("from" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: an hour ago)."),
        ("to" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: now)."),
        ("interval" = Option<Interval>, Query,
            description = "minute (default), hour, day or week."),
        ("accountIds[]" = Option<Vec<String>>, Query,
            description = "Only the caller's organization may be named."),
    ),
    responses(
        (status = 200, description = "Events stored per interval.", body = Vec<TotalOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn analytics(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<TotalOut>>, ApiError> {
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, None, &query).await?;
    Ok(Json(totals_json(&found)))
}

/// `GET /instances/{id}/events/analytics`: one instance's events per interval.
#[utoipa::path(get, path = "/instances/{id}/events/analytics", tag = "events",
    params(
        ("id" = String, Path, description = "The instance id.", example = "1"),
        ("from" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: an hour ago)."),
        ("to" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: now)."),
        ("interval" = Option<Interval>, Query,
            description = "minute (default), hour, day or week."),
        ("accountIds[]" = Option<Vec<String>>, Query,
            description = "Only the caller's organization may be named."),
    ),
    responses(
        (status = 200, description = "One instance's events stored per interval.", body = Vec<TotalOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn instance_analytics(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<TotalOut>>, ApiError> {
    let id = path_id("instance", &id)?;
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, Some(id), &query).await?;
    Ok(Json(totals_json(&found)))
}

/// `GET /instances/events/analytics/instances`: per interval, each instance's events.
#[utoipa::path(get, path = "/instances/events/analytics/instances", tag = "events",
    params(
        ("from" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: an hour ago)."),
        ("to" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: now)."),
        ("interval" = Option<Interval>, Query,
            description = "minute (default), hour, day or week."),
        ("accountIds[]" = Option<Vec<String>>, Query,
            description = "Only the caller's organization may be named."),
    ),
    responses(
        (status = 200, description = "Per interval, each instance's events.", body = Vec<IntervalOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn analytics_by_instance(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<IntervalOut>>, ApiError> {
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, None, &query).await?;
    Ok(Json(records_json(&found, None)))
}

/// `GET /instances/events/analytics/accounts`: per interval, the account's (organization's)
/// events.
#[utoipa::path(get, path = "/instances/events/analytics/accounts", tag = "events",
    params(
        ("from" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: an hour ago)."),
        ("to" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: now)."),
        ("interval" = Option<Interval>, Query,
            description = "minute (default), hour, day or week."),
        ("accountIds[]" = Option<Vec<String>>, Query,
            description = "Only the caller's organization may be named."),
    ),
    responses(
        (status = 200, description = "Per interval, the account's events.", body = Vec<IntervalOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn analytics_by_account(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<IntervalOut>>, ApiError> {
    let query = analytics_query(raw.as_deref())?;
    let found = events::analytics(&state, principal, None, &query).await?;
    Ok(Json(records_json(&found, Some(principal.organization_id))))
}
