//! An instance's pollers and events: poll now, poller status, the event log with its delivery
//! attempts, redelivery of one event's notification, and recovery of every failed one — the
//! JSON face of [`crate::services::events`].
//!
//! Every item of the log carries Cloud Elements' fields (`shared/research/cloud-elements.md`
//! §3.8: `id` as a string, `eventDate`, `status` in Cloud Elements' words, `providerData` as a
//! string) beside Tributary's own (`deliveryStatus`, `sequence` for paging, the event's fields).
//! `GET /instances/events/{id}` finds an event by its id, and a notification — as Cloud
//! Elements' event of one poll, with the events it carries — by `message.eventId` (also the
//! `Elements-Webhook-Id` header) or by the envelope's outer `id`.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tributary_domain::poll::event_date;
use tributary_store::{Attempt, EventRecord, EventStatus, PollerRecord};

use crate::api::error::ApiError;
use crate::api::extract::{Caller, path_id};
use crate::services::events::{self, EventDetail, EventQuery, LogEntry, NotificationDetail};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/instances/{id}/events/poll", post(poll_now))
        .route("/instances/{id}/events/recover", post(recover))
        .route("/instances/{id}/events/resume", post(resume))
        .route("/instances/{id}/pollers", get(pollers))
        .route("/instances/{id}/events", get(instance_events))
        .route("/instances/events", get(all_events))
        .route("/instances/events/{event_id}", get(any_event))
        .route("/instances/{id}/events/{event_id}", get(instance_event))
        .route(
            "/instances/{id}/events/{event_id}/redeliver",
            post(redeliver),
        )
}

/// The parameters of a query string, or the error naming it malformed.
pub(crate) fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))
}

/// `POST /instances/{id}/events/poll`: polls every enabled resource now and answers with what
/// each poll did once it is stored.
async fn poll_now(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let polls = events::poll_now(&state, principal, id).await?;
    Ok(Json(json!({"instanceId": id, "polls": polls})).into_response())
}

fn date_or_null(ms: Option<i64>) -> Value {
    ms.map(|ms| Value::String(event_date(ms)))
        .unwrap_or(Value::Null)
}

fn poller_json(p: PollerRecord) -> Value {
    let last_poll = p
        .last_summary
        .and_then(|s| serde_json::from_str::<Value>(&s).ok());
    let warnings = last_poll
        .as_ref()
        .and_then(|l| l.get("dateWarnings"))
        .cloned()
        .unwrap_or(json!(0));
    json!({
        "resource": p.resource,
        "cursor": date_or_null(p.cursor_ms),
        "enabledDate": event_date(p.enabled_ms),
        "nextPollDate": event_date(p.next_due_ms),
        "lastPollDate": date_or_null(p.last_poll_ms),
        "failures": p.failures,
        "lastError": p.last_error,
        "eventsEmitted": p.events_emitted,
        "dateWarnings": warnings,
        "lastPoll": last_poll,
        "pausedUntil": date_or_null(p.paused_until_ms),
        "deleteCursor": date_or_null(p.delete_cursor_ms),
        "deletesLost": p.deletes_lost_at_ms.map(|at| json!({
            "count": p.deletes_lost,
            "from": date_or_null(p.deletes_lost_from_ms),
            "until": date_or_null(p.deletes_lost_until_ms),
            "detectedDate": event_date(at),
        })),
    })
}

async fn pollers(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let pollers = events::pollers(&state, principal, id).await?;
    Ok(Json(pollers.into_iter().map(poller_json).collect::<Vec<_>>()).into_response())
}

/// An event or notification status in Cloud Elements' words (`NEW`, `RECEIVED`,
/// `DISPATCHED`, `CONSUMED`, `NOTIFIED`): queued is dispatched; failed is dispatched and never
/// notified (Cloud Elements has no word for it; `deliveryStatus` says `FAILED`).
fn ce_status(status: EventStatus) -> &'static str {
    match status {
        EventStatus::New => "NEW",
        EventStatus::Queued | EventStatus::Failed => "DISPATCHED",
        EventStatus::Notified => "NOTIFIED",
    }
}

fn event_json(e: EventRecord) -> Value {
    let mut event = json!({
        "id": e.event_id,
        "eventDate": event_date(e.created_ms),
        "status": ce_status(e.status),
        "providerData": e.record,
        "sequence": e.id,
        "eventId": e.event_id,
        "instanceId": e.instance_id,
        "objectType": e.resource,
        "objectId": e.object_id,
        "eventType": e.event_type,
        "date": event_date(e.date_ms),
        "pollDate": event_date(e.poll_date_ms),
        "deliveryStatus": e.status.as_str(),
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
fn event_query(raw: Option<&str>) -> Result<EventQuery, ApiError> {
    let params = params(raw)?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    Ok(EventQuery {
        status: get("status"),
        object_type: get("objectType"),
        event_type: get("eventType"),
        from: get("from"),
        to: get("to"),
        after: get("after"),
        before: None,
        page_size: get("pageSize"),
    })
}

/// `GET /instances/{id}/events`: an instance's events, oldest first, filtered and paged.
async fn instance_events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let query = event_query(raw.as_deref())?;
    let found = events::events(&state, principal, Some(id), &query).await?;
    Ok(Json(found.into_iter().map(event_json).collect::<Vec<_>>()).into_response())
}

/// `GET /instances/events`: the events of every instance of the organization.
async fn all_events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = event_query(raw.as_deref())?;
    let found = events::events(&state, principal, None, &query).await?;
    Ok(Json(found.into_iter().map(event_json).collect::<Vec<_>>()).into_response())
}

fn attempts_json(attempts: Vec<Attempt>) -> Value {
    Value::Array(
        attempts
            .into_iter()
            .map(|a| {
                json!({"date": event_date(a.at_ms), "statusCode": a.status_code,
                       "durationMs": a.duration_ms, "responseExcerpt": a.excerpt,
                       "error": a.error})
            })
            .collect(),
    )
}

/// An event's JSON with its notification's `attempts` (also as Cloud Elements'
/// `notifiedData`).
fn detail_json(detail: EventDetail) -> Value {
    let mut json = event_json(detail.event);
    let attempts = attempts_json(detail.attempts);
    json["notifiedData"] = attempts.clone();
    json["attempts"] = attempts;
    json
}

/// A notification as Cloud Elements' event of one poll: its id, when it was made, its status,
/// the raw payload it carries (`providerData`, a string) and its attempts, with the events it
/// carries.
fn notification_json(detail: NotificationDetail) -> Value {
    let n = detail.notification;
    let body: Value = serde_json::from_slice(&n.body).unwrap_or(Value::Null);
    let raw = body.pointer("/message/raw").cloned().unwrap_or(Value::Null);
    let status = EventStatus::from(n.status);
    let attempts = attempts_json(detail.attempts);
    json!({
        "id": n.id,
        "eventDate": event_date(n.created_ms),
        "status": ce_status(status),
        "providerData": raw.to_string(),
        "notifiedData": attempts.clone(),
        "eventId": n.id,
        "notificationId": n.id,
        "envelopeId": n.number.map(|number| number.to_string()),
        "instanceId": n.instance_id,
        "objectType": n.resource,
        "deliveryStatus": n.status.as_str(),
        "deliveredDate": n.delivered_ms.map(event_date),
        "events": detail.events.into_iter().map(event_json).collect::<Vec<_>>(),
        "attempts": attempts,
    })
}

fn entry_json(entry: LogEntry) -> Value {
    match entry {
        LogEntry::Event(detail) => detail_json(detail),
        LogEntry::Notification(detail) => notification_json(detail),
    }
}

async fn any_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    let entry = events::lookup(&state, principal, &event_id, None).await?;
    Ok(Json(entry_json(entry)).into_response())
}

async fn instance_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let entry = events::lookup(&state, principal, &event_id, Some(id)).await?;
    Ok(Json(entry_json(entry)).into_response())
}

/// `POST /instances/{id}/events/{eventId}/redeliver`: sends the event's notification again now,
/// with a fresh retry schedule.
async fn redeliver(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let notification = events::redeliver(&state, principal, id, &event_id).await?;
    Ok(Json(json!({"notificationId": notification, "status": "QUEUED"})).into_response())
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
    let params = params(raw.as_deref())?;
    let since = params
        .iter()
        .find(|(k, _)| k == "since")
        .map(|(_, v)| v.as_str());
    let requeued = events::recover(&state, principal, id, since).await?;
    Ok(Json(json!({"requeued": requeued})).into_response())
}

/// `POST /instances/{id}/events/resume`: delivery goes on to the URLs that answered 410.
async fn resume(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let resumed = events::resume(&state, principal, id).await?;
    Ok(Json(json!({"resumed": resumed})).into_response())
}
