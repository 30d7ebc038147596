//! An instance's pollers and events: poll now, poller status, the event log with its delivery
//! attempts, redelivery of one event's notification, and recovery of every failed one.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tributary_domain::instance_config::VendorType;
use tributary_domain::poll::event_date;

use crate::api::error::ApiError;
use crate::api::extract::{Caller, path_id};
use crate::api::instances::load;
use crate::app::AppState;
use crate::poller::{self, wanted_pollers};
use crate::secrets::random_secret;
use tributary_store::Principal;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/instances/{id}/events/poll", post(poll_now))
        .route("/instances/{id}/events/recover", post(recover))
        .route("/instances/{id}/events/resume", post(resume))
        .route("/instances/{id}/pollers", get(pollers))
        .route("/instances/{id}/events", get(events))
        .route("/instances/events", get(all_events))
        .route("/instances/events/{event_id}", get(any_event))
        .route("/instances/{id}/events/{event_id}", get(instance_event))
        .route(
            "/instances/{id}/events/{event_id}/redeliver",
            post(redeliver),
        )
}

/// `POST /instances/{id}/events/poll`: polls every enabled resource now and answers with what
/// each poll did once it is stored.
async fn poll_now(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let polls = poll_instance(&state, principal, id).await?;
    Ok(Json(json!({"instanceId": id, "polls": polls})).into_response())
}

/// Polls every enabled resource of an instance now (the API's and the UI's "poll now").
pub(crate) async fn poll_instance(
    state: &AppState,
    principal: Principal,
    id: i64,
) -> Result<Vec<poller::PollSummary>, ApiError> {
    let instance = load(state, principal, id).await?;
    let prepared = state.clients.prepared(state, &instance)?;
    let settings = &prepared.settings;
    if !settings.enabled || settings.vendor != VendorType::Polling {
        return Err(ApiError::Conflict(format!(
            "instance {id} does not poll: set event.notification.enabled to true and \
             event.vendor.type to polling"
        )));
    }
    if !instance.valid {
        return Err(ApiError::Provider {
            status: StatusCode::UNAUTHORIZED,
            message: format!("instance {id} must be authorized again before it can poll"),
            provider: instance.invalid_reason.clone().unwrap_or_default(),
        });
    }
    let now = state.now_ms();
    state
        .store
        .sync_pollers(id, &wanted_pollers(settings, now, id), now)
        .await?;
    let client = state.clients.client(state, &instance)?;
    // Each poll takes its poller's lease, as the scheduler's do, so no resource is polled twice
    // at once (another node's scheduled poll, or another "poll now").
    let owner = format!("poll-now-{}-{}", std::process::id(), random_secret());
    let lease_ms = i64::try_from(state.settings.poll_lease.as_millis()).unwrap_or(i64::MAX);
    let mut polls = Vec::new();
    for record in state.store.pollers(id).await? {
        let claimed = state
            .store
            .claim_poller(id, &record.resource, &owner, state.now_ms(), lease_ms)
            .await?;
        match claimed {
            Some(record) => polls
                .push(poller::poll_resource(state, &instance, &client, &prepared, &record).await),
            None => polls.push(poller::PollSummary {
                resource: record.resource,
                error: Some(
                    "being polled already (a scheduled poll or another request); its events \
                     arrive with that poll"
                        .into(),
                ),
                ..poller::PollSummary::default()
            }),
        }
    }
    Ok(polls)
}

fn date_or_null(ms: Option<i64>) -> Value {
    ms.map(|ms| Value::String(event_date(ms)))
        .unwrap_or(Value::Null)
}

async fn pollers(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    load(&state, principal, id).await?;
    let pollers: Vec<Value> = state
        .store
        .pollers(id)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "resource": p.resource,
                "cursor": date_or_null(p.cursor_ms),
                "enabledDate": event_date(p.enabled_ms),
                "nextPollDate": event_date(p.next_due_ms),
                "lastPollDate": date_or_null(p.last_poll_ms),
                "failures": p.failures,
                "lastError": p.last_error,
                "eventsEmitted": p.events_emitted,
                "lastPoll": p.last_summary.and_then(|s| serde_json::from_str::<Value>(&s).ok()),
            })
        })
        .collect();
    Ok(Json(pollers).into_response())
}

pub(crate) fn event_json(e: tributary_store::EventRecord) -> Value {
    let mut event = json!({
        "id": e.id,
        "eventId": e.event_id,
        "instanceId": e.instance_id,
        "objectType": e.resource,
        "objectId": e.object_id,
        "eventType": e.event_type,
        "date": event_date(e.date_ms),
        "pollDate": event_date(e.poll_date_ms),
        "status": e.status.as_str(),
        "notificationId": e.notification_id,
        "raw": serde_json::from_str::<Value>(&e.record).unwrap_or(Value::Null),
    });
    if let (Some(error), Some(map)) = (e.date_error, event.as_object_mut()) {
        map.insert("dateError".into(), Value::String(error));
    }
    event
}

/// Reads the listing filters: `status`, `objectType`, `eventType`, `from`, `to` (RFC 3339),
/// `after` (row id) and `pageSize` (1–1000, default 200).
pub(crate) fn filter(
    raw: Option<String>,
    instance_id: Option<i64>,
) -> Result<tributary_store::EventFilter, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let number = |key: &str, default: i64, min: i64, max: i64| -> Result<i64, ApiError> {
        match get(key) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::BadRequest(format!(
                    "{key} must be a whole number from {min} to {max}, got {v:?}"
                ))),
            },
        }
    };
    let time =
        |key: &str| -> Result<Option<i64>, ApiError> {
            get(key)
                .map(|v| {
                    v.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| {
                    ApiError::BadRequest(format!(
                        "{key} must be an RFC 3339 time such as 2026-11-28T10:00:00Z, got {v:?}"
                    ))
                })
                })
                .transpose()
        };
    let status = get("status")
        .map(|s| {
            let status = s.to_ascii_uppercase();
            status.parse::<tributary_store::EventStatus>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "status must be NEW, QUEUED, NOTIFIED or FAILED, got {status:?}"
                ))
            })
        })
        .transpose()?;
    let event_type = get("eventType").map(|s| s.to_ascii_uppercase());
    Ok(tributary_store::EventFilter {
        instance_id,
        status,
        resource: get("objectType"),
        event_type,
        from_ms: time("from")?,
        to_ms: time("to")?,
        after_id: number("after", 0, 0, i64::MAX)?,
        limit: number("pageSize", 200, 1, 1000)?,
        newest_first: false,
    })
}

/// `GET /instances/{id}/events`: an instance's events, oldest first, filtered and paged.
async fn events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    load(&state, principal, id).await?;
    let filter = filter(raw, Some(id))?;
    let events = state
        .store
        .find_events(principal.organization_id, &filter)
        .await?;
    Ok(Json(events.into_iter().map(event_json).collect::<Vec<_>>()).into_response())
}

/// `GET /instances/events`: the events of every instance of the organization.
async fn all_events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let filter = filter(raw, None)?;
    let events = state
        .store
        .find_events(principal.organization_id, &filter)
        .await?;
    Ok(Json(events.into_iter().map(event_json).collect::<Vec<_>>()).into_response())
}

/// One event with the delivery attempts of its notification.
async fn event_with_attempts(
    state: &AppState,
    principal: Principal,
    event_id: &str,
    instance_id: Option<i64>,
) -> Result<Response, ApiError> {
    Ok(Json(event_detail(state, principal, event_id, instance_id).await?).into_response())
}

/// An event's JSON with its notification's `attempts` (the API's and the UI's event page).
pub(crate) async fn event_detail(
    state: &AppState,
    principal: Principal,
    event_id: &str,
    instance_id: Option<i64>,
) -> Result<Value, ApiError> {
    let event = state
        .store
        .event(principal.organization_id, event_id)
        .await?
        .filter(|e| instance_id.is_none_or(|id| e.instance_id == id))
        .ok_or_else(|| ApiError::NotFound(format!("no event {event_id:?}")))?;
    let attempts = match &event.notification_id {
        Some(notification) => state.store.attempts(notification).await?,
        None => Vec::new(),
    };
    let mut json = event_json(event);
    json["attempts"] = Value::Array(
        attempts
            .into_iter()
            .map(|a| {
                json!({"date": event_date(a.at_ms), "statusCode": a.status_code,
                       "durationMs": a.duration_ms, "responseExcerpt": a.excerpt,
                       "error": a.error})
            })
            .collect(),
    );
    Ok(json)
}

async fn any_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    event_with_attempts(&state, principal, &event_id, None).await
}

async fn instance_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    event_with_attempts(&state, principal, &event_id, Some(id)).await
}

/// `POST /instances/{id}/events/{eventId}/redeliver`: sends the event's notification again now,
/// with a fresh retry schedule.
async fn redeliver(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let notification = redeliver_event(&state, principal, id, &event_id).await?;
    Ok(Json(json!({"notificationId": notification, "status": "QUEUED"})).into_response())
}

/// Queues an event's notification again now; returns the notification's id.
pub(crate) async fn redeliver_event(
    state: &AppState,
    principal: Principal,
    id: i64,
    event_id: &str,
) -> Result<String, ApiError> {
    let event = state
        .store
        .event(principal.organization_id, event_id)
        .await?
        .filter(|e| e.instance_id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no event {event_id:?} in instance {id}")))?;
    let Some(notification) = event.notification_id else {
        return Err(ApiError::Conflict(format!(
            "event {event_id} is not in a notification yet; it will be sent without asking"
        )));
    };
    state
        .store
        .requeue_notification(&notification, state.now_ms())
        .await?;
    state.nudge_delivery();
    Ok(notification)
}

/// `POST /instances/{id}/events/recover?since=<RFC 3339>`: queues again every failed
/// notification made since then (default: all of them).
async fn recover(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    load(&state, principal, id).await?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    let since = match params.iter().find(|(k, _)| k == "since") {
        None => 0,
        Some((_, v)) => v
            .trim()
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|_| {
                ApiError::BadRequest(format!("since must be an RFC 3339 time, got {v:?}"))
            })?,
    };
    let requeued = recover_failed(&state, id, since).await?;
    Ok(Json(json!({"requeued": requeued})).into_response())
}

/// Queues again every failed notification of an (already loaded) instance made since `since`.
pub(crate) async fn recover_failed(state: &AppState, id: i64, since: i64) -> Result<u64, ApiError> {
    let requeued = state
        .store
        .requeue_failed(id, since, state.now_ms())
        .await?;
    state.nudge_delivery();
    Ok(requeued)
}

/// `POST /instances/{id}/events/resume`: delivery goes on to the URLs that answered 410.
async fn resume(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    load(&state, principal, id).await?;
    let resumed = state.store.resume_callbacks(id).await?;
    state.nudge_delivery();
    Ok(Json(json!({"resumed": resumed})).into_response())
}
