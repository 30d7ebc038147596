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

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use serde_json::Value;
use tributary_domain::poll::event_date;
use tributary_store::{Attempt, EventRecord, EventStatus, PollerRecord};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::extract::{Caller, path_id};
use crate::api::openapi::ErrorBody;
use crate::poller::PollSummary;
use crate::services::events::{self, EventDetail, EventQuery, LogEntry, NotificationDetail};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(poll_now))
        .routes(routes!(recover))
        .routes(routes!(resume))
        .routes(routes!(pollers))
        .routes(routes!(instance_events))
        .routes(routes!(all_events))
        .routes(routes!(any_event))
        .routes(routes!(instance_event))
        .routes(routes!(redeliver))
}

/// What a poll-now did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollNowOut {
    pub instance_id: i64,
    /// One summary per enabled resource.
    pub polls: Vec<PollSummary>,
}

/// A poller's state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollerOut {
    pub resource: String,
    /// The highest updated date emitted (provider time).
    pub cursor: Option<String>,
    pub enabled_date: String,
    pub next_poll_date: String,
    pub last_poll_date: Option<String>,
    pub failures: i64,
    pub last_error: Option<String>,
    pub events_emitted: i64,
    pub date_warnings: i64,
    /// The last poll's summary.
    #[schema(value_type = Option<Object>)]
    pub last_poll: Option<Value>,
    /// Until when a spent provider quota holds the poller.
    pub paused_until: Option<String>,
    pub delete_cursor: Option<String>,
    /// The last loss of delete history at the provider.
    pub deletes_lost: Option<DeletesLostOut>,
    /// The last complete reconciliation sweep (deletes by absence, or checksum mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sweep: Option<SweepOut>,
}

/// A complete reconciliation sweep: when it began, and how many ids it remembers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepOut {
    pub date: String,
    pub records: i64,
}

/// Deletes the provider no longer had when a sweep asked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletesLostOut {
    pub count: i64,
    pub from: Option<String>,
    pub until: Option<String>,
    pub detected_date: String,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptOut {
    pub date: String,
    /// The receiver's status; null when no answer came.
    pub status_code: Option<u16>,
    pub duration_ms: i64,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// An event of the log, with Cloud Elements' fields and Tributary's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventOut {
    /// The event id.
    pub id: String,
    /// When it was stored.
    pub event_date: String,
    /// In Cloud Elements' words: NEW, DISPATCHED, NOTIFIED.
    pub status: String,
    /// The record, as a JSON string.
    pub provider_data: String,
    /// What `after` pages by.
    pub sequence: i64,
    pub event_id: String,
    pub instance_id: i64,
    pub object_type: String,
    pub object_id: String,
    /// CREATED, UPDATED or DELETED.
    pub event_type: String,
    pub date: String,
    pub poll_date: String,
    /// NEW, QUEUED, NOTIFIED or FAILED.
    pub delivery_status: String,
    pub notification_id: Option<String>,
    /// The record.
    #[schema(value_type = Object)]
    pub raw: Value,
    /// Why the record's date did not parse (the event is kept, flagged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_error: Option<String>,
    /// Its notification's attempts (by id only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptOut>>,
    /// The same attempts, as Cloud Elements names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified_data: Option<Vec<AttemptOut>>,
}

/// A notification as Cloud Elements' event of one poll, with the events it carries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationOut {
    pub id: String,
    pub event_date: String,
    pub status: String,
    /// Its `raw`, as a JSON string.
    pub provider_data: String,
    pub notified_data: Vec<AttemptOut>,
    pub event_id: String,
    pub notification_id: String,
    /// The envelope's outer `id`.
    pub envelope_id: Option<String>,
    pub instance_id: i64,
    pub object_type: String,
    pub delivery_status: String,
    pub delivered_date: Option<String>,
    pub events: Vec<EventOut>,
    pub attempts: Vec<AttemptOut>,
}

/// What an id of the log names: an event, or a notification.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EntryOut {
    Event(EventOut),
    Notification(NotificationOut),
}

/// A redelivery queued.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedeliverOut {
    pub notification_id: String,
    /// QUEUED.
    pub status: String,
}

/// Notifications queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoverOut {
    pub requeued: u64,
}

/// Callback URLs delivery goes on to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResumeOut {
    pub resumed: u64,
}

/// The parameters of a query string, or the error naming it malformed.
pub(crate) fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))
}

/// The optional body of "poll now".
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollNowIn {
    /// `true`: also run the reconciliation sweeps now — resources whose deletes show only by
    /// absence (Keap's) are read whole and compared with the ids known, so their `DELETED`
    /// events come now rather than when `TRIBUTARY_SWEEP_INTERVAL` is up. Default false.
    #[serde(default)]
    pub sweep: Option<bool>,
}

/// Reads "poll now"'s optional body: nothing (or `null`), or a JSON object whose only field
/// is `sweep`.
fn poll_now_body(bytes: &[u8], limit: usize) -> Result<events::PollNow, ApiError> {
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "the request body is larger than {limit} bytes"
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(events::PollNow::default());
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    if value.is_null() {
        return Ok(events::PollNow::default());
    }
    let Value::Object(fields) = value else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object, such as {\"sweep\": true}".into(),
        ));
    };
    let mut asked = events::PollNow::default();
    let mut problems = Vec::new();
    for (key, value) in &fields {
        match (key.as_str(), value) {
            ("sweep", Value::Bool(sweep)) => asked.sweep = *sweep,
            ("sweep", Value::Null) => {}
            ("sweep", _) => problems.push("sweep: must be true or false".to_owned()),
            (other, _) => problems.push(format!(
                "{:?}: unknown field; the body may hold only sweep",
                other.chars().take(40).collect::<String>()
            )),
        }
    }
    if problems.is_empty() {
        Ok(asked)
    } else {
        Err(ApiError::BadRequest(problems.join("; ")))
    }
}

/// `POST /instances/{id}/events/poll`: polls every enabled resource now and answers with what
/// each poll did once it is stored; with `{"sweep": true}`, runs the reconciliation sweeps too.
#[utoipa::path(post, path = "/instances/{id}/events/poll", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1")),
    request_body(content = Option<PollNowIn>, content_type = "application/json",
        description = "Optional. `{\"sweep\": true}` also runs the reconciliation sweeps now \
            (deletes seen by absence); any other field, or a `sweep` that is not a boolean, is a \
            400 naming it."),
    responses(
        (status = 200, description = "What each poll did, once stored.", body = PollNowOut),
        (status = "default", description = "An error (409: the instance is disabled).",
            body = ErrorBody),
    ))]
async fn poll_now(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PollNowOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let asked = poll_now_body(&body, state.settings.max_body_bytes)?;
    let polls = events::poll_now(&state, principal, id, asked).await?;
    Ok(Json(PollNowOut {
        instance_id: id,
        polls,
    }))
}

fn date_or_null(ms: Option<i64>) -> Option<String> {
    ms.map(event_date)
}

fn poller_json(p: PollerRecord) -> PollerOut {
    let last_poll = p
        .last_summary
        .and_then(|s| serde_json::from_str::<Value>(&s).ok());
    let warnings = last_poll
        .as_ref()
        .and_then(|l| l.get("dateWarnings"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    PollerOut {
        resource: p.resource,
        cursor: date_or_null(p.cursor_ms),
        enabled_date: event_date(p.enabled_ms),
        next_poll_date: event_date(p.next_due_ms),
        last_poll_date: date_or_null(p.last_poll_ms),
        failures: p.failures,
        last_error: p.last_error,
        events_emitted: p.events_emitted,
        date_warnings: warnings,
        last_poll,
        paused_until: date_or_null(p.paused_until_ms),
        delete_cursor: date_or_null(p.delete_cursor_ms),
        deletes_lost: p.deletes_lost_at_ms.map(|at| DeletesLostOut {
            count: p.deletes_lost,
            from: date_or_null(p.deletes_lost_from_ms),
            until: date_or_null(p.deletes_lost_until_ms),
            detected_date: event_date(at),
        }),
        last_sweep: None,
    }
}

/// `GET /instances/{id}/pollers`: each poller's state.
#[utoipa::path(get, path = "/instances/{id}/pollers", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "Each poller.", body = Vec<PollerOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn pollers(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<PollerOut>>, ApiError> {
    let id = path_id("instance", &id)?;
    let pollers = events::pollers(&state, principal, id).await?;
    let sweeps = events::last_sweeps(&state, principal, id).await?;
    Ok(Json(
        pollers
            .into_iter()
            .map(|p| {
                let last = sweeps
                    .iter()
                    .find(|(r, _)| *r == p.resource)
                    .map(|(_, s)| SweepOut {
                        date: event_date(s.swept_ms),
                        records: s.records,
                    });
                PollerOut {
                    last_sweep: last,
                    ..poller_json(p)
                }
            })
            .collect(),
    ))
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

fn event_json(e: EventRecord) -> EventOut {
    EventOut {
        id: e.event_id.clone(),
        event_date: event_date(e.created_ms),
        status: ce_status(e.status).to_owned(),
        raw: serde_json::from_str::<Value>(&e.record).unwrap_or(Value::Null),
        provider_data: e.record,
        sequence: e.id,
        event_id: e.event_id,
        instance_id: e.instance_id,
        object_type: e.resource,
        object_id: e.object_id,
        event_type: e.event_type,
        date: event_date(e.date_ms),
        poll_date: event_date(e.poll_date_ms),
        delivery_status: e.status.as_str().to_owned(),
        notification_id: e.notification_id,
        date_error: e.date_error,
        attempts: None,
        notified_data: None,
    }
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
#[utoipa::path(get, path = "/instances/{id}/events", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1"), EventFilters),
    responses(
        (status = 200, description = "The instance's events, oldest first.", body = Vec<EventOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn instance_events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<EventOut>>, ApiError> {
    let id = path_id("instance", &id)?;
    let query = event_query(raw.as_deref())?;
    let found = events::events(&state, principal, Some(id), &query).await?;
    Ok(Json(found.into_iter().map(event_json).collect()))
}

/// `GET /instances/events`: the events of every instance of the organization.
#[utoipa::path(get, path = "/instances/events", tag = "events", params(EventFilters),
    responses(
        (status = 200, description = "The organization's events, oldest first.",
            body = Vec<EventOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn all_events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<EventOut>>, ApiError> {
    let query = event_query(raw.as_deref())?;
    let found = events::events(&state, principal, None, &query).await?;
    Ok(Json(found.into_iter().map(event_json).collect()))
}

/// The filters of an event listing, as the query string carries them (read by
/// [`event_query`], which names any bad one; this type describes them in the OpenAPI document).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)] // Only describes the query `event_query` reads.
struct EventFilters {
    /// The delivery status (any case).
    status: Option<DeliveryStatusParam>,
    /// The resource.
    objectType: Option<String>,
    /// CREATED, UPDATED or DELETED (any case).
    eventType: Option<String>,
    /// Stored at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// Stored before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
    /// The `sequence` to page after.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Events per page (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pageSize: Option<u32>,
}

/// A delivery status, as the `status` filter takes it.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
#[allow(dead_code)] // Only describes the filter; `event_query` reads the text.
enum DeliveryStatusParam {
    New,
    Queued,
    Notified,
    Failed,
}

fn attempts_json(attempts: Vec<Attempt>) -> Vec<AttemptOut> {
    attempts
        .into_iter()
        .map(|a| AttemptOut {
            date: event_date(a.at_ms),
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            response_excerpt: a.excerpt,
            error: a.error,
        })
        .collect()
}

/// An event's JSON with its notification's `attempts` (also as Cloud Elements'
/// `notifiedData`).
fn detail_json(detail: EventDetail) -> EventOut {
    let attempts = attempts_json(detail.attempts);
    EventOut {
        notified_data: Some(attempts.clone()),
        attempts: Some(attempts),
        ..event_json(detail.event)
    }
}

/// A notification as Cloud Elements' event of one poll: its id, when it was made, its status,
/// the raw payload it carries (`providerData`, a string) and its attempts, with the events it
/// carries.
fn notification_json(detail: NotificationDetail) -> NotificationOut {
    let n = detail.notification;
    let body: Value = serde_json::from_slice(&n.body).unwrap_or(Value::Null);
    let raw = body.pointer("/message/raw").cloned().unwrap_or(Value::Null);
    let status = EventStatus::from(n.status);
    let attempts = attempts_json(detail.attempts);
    NotificationOut {
        id: n.id.clone(),
        event_date: event_date(n.created_ms),
        status: ce_status(status).to_owned(),
        provider_data: raw.to_string(),
        notified_data: attempts.clone(),
        event_id: n.id.clone(),
        notification_id: n.id,
        envelope_id: n.number.map(|number| number.to_string()),
        instance_id: n.instance_id,
        object_type: n.resource,
        delivery_status: n.status.as_str().to_owned(),
        delivered_date: n.delivered_ms.map(event_date),
        events: detail.events.into_iter().map(event_json).collect(),
        attempts,
    }
}

fn entry_json(entry: LogEntry) -> EntryOut {
    match entry {
        LogEntry::Event(detail) => EntryOut::Event(detail_json(detail)),
        LogEntry::Notification(detail) => EntryOut::Notification(notification_json(detail)),
    }
}

/// `GET /instances/events/{eventId}`: an event, or a notification, by any id it carries.
#[utoipa::path(get, path = "/instances/events/{event_id}", tag = "events",
    params(("event_id" = String, Path,
        description = "An event's id, a notification's id (Elements-Webhook-Id) or number.")),
    responses(
        (status = 200, description = "The event with its attempts, or the notification.",
            body = EntryOut),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn any_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(event_id): Path<String>,
) -> Result<Json<EntryOut>, ApiError> {
    let entry = events::lookup(&state, principal, &event_id, None).await?;
    Ok(Json(entry_json(entry)))
}

/// `GET /instances/{id}/events/{eventId}`: the same, within one instance.
#[utoipa::path(get, path = "/instances/{id}/events/{event_id}", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1"),
        ("event_id" = String, Path,
            description = "An event's id, a notification's id (Elements-Webhook-Id) or number.")),
    responses(
        (status = 200, description = "The event with its attempts, or the notification.",
            body = EntryOut),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn instance_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Json<EntryOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let entry = events::lookup(&state, principal, &event_id, Some(id)).await?;
    Ok(Json(entry_json(entry)))
}

/// `POST /instances/{id}/events/{eventId}/redeliver`: sends the event's notification again now,
/// with a fresh retry schedule.
#[utoipa::path(post, path = "/instances/{id}/events/{event_id}/redeliver", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1"),
        ("event_id" = String, Path, description = "The event's id.")),
    responses(
        (status = 200, description = "The notification, queued again.", body = RedeliverOut),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn redeliver(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Json<RedeliverOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let notification = events::redeliver(&state, principal, id, &event_id).await?;
    Ok(Json(RedeliverOut {
        notification_id: notification,
        status: "QUEUED".into(),
    }))
}

/// `POST /instances/{id}/events/recover?since=<RFC 3339>`: queues again every failed
/// notification made since then (default: all of them).
#[utoipa::path(post, path = "/instances/{id}/events/recover", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1"),
        ("since" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 (default: all).")),
    responses(
        (status = 200, description = "How many notifications were queued again.",
            body = RecoverOut),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn recover(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RecoverOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let params = params(raw.as_deref())?;
    let since = params
        .iter()
        .find(|(k, _)| k == "since")
        .map(|(_, v)| v.as_str());
    let requeued = events::recover(&state, principal, id, since).await?;
    Ok(Json(RecoverOut { requeued }))
}

/// `POST /instances/{id}/events/resume`: delivery goes on to the URLs that answered 410.
#[utoipa::path(post, path = "/instances/{id}/events/resume", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "How many stopped URLs delivery resumes to.",
            body = ResumeOut),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn resume(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<ResumeOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let resumed = events::resume(&state, principal, id).await?;
    Ok(Json(ResumeOut { resumed }))
}
