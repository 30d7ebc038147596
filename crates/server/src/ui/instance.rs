//! An instance's page: its configuration (secrets masked), its pollers, its event log with
//! filters, "poll now" and "recover"; and an event's page: its notification body, its delivery
//! attempts, "redeliver". Actions call the same services as the API and show their messages.

use askama::Template;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use tributary_domain::poll::event_date;

use super::{
    CsrfForm, UiSession, failed, forbidden_form, message, page, session::same_token, status, time,
};
use crate::configuration::shown;
use crate::services::error::ServiceError;
use crate::services::events::{self, EventQuery};
use crate::services::instances;
use crate::state::AppState;

/// A poller's line.
pub(super) struct PollerRow {
    resource: String,
    cursor: String,
    last_poll: String,
    next_poll: String,
    events: i64,
    failures: i64,
    last_error: Option<String>,
    /// Records of the last poll whose dates had text after the pattern, with an example.
    date_warnings: i64,
    date_warning: Option<String>,
    /// The last loss of deletes at the provider, said loudly.
    deletes_lost: Option<String>,
}

/// An event's line.
pub(super) struct EventRow {
    date: String,
    resource: String,
    object_id: String,
    event_type: String,
    status: String,
    event_id: String,
}

const STATUSES: [(&str, &str); 5] = [
    ("", "any"),
    ("NEW", "new"),
    ("QUEUED", "queued"),
    ("NOTIFIED", "notified"),
    ("FAILED", "failed"),
];
const EVENT_TYPES: [(&str, &str); 5] = [
    ("", "any"),
    ("CREATED", "created"),
    ("UPDATED", "updated"),
    ("DELETED", "deleted"),
    ("DELETES_LOST", "deletes lost"),
];

/// The part of the instance page that refreshes itself.
#[derive(Template)]
#[template(path = "instance_live.html")]
pub(super) struct Live {
    id: i64,
    events: bool,
    pollers: Vec<PollerRow>,
    event_rows: Vec<EventRow>,
    statuses: &'static [(&'static str, &'static str)],
    event_types: &'static [(&'static str, &'static str)],
    filter_status: String,
    filter_object_type: String,
    filter_event_type: String,
    filter_error: Option<String>,
    has_filter: bool,
}

#[derive(Template)]
#[template(path = "instance.html")]
struct InstancePage {
    csrf: String,
    id: i64,
    name: String,
    element: String,
    tags: String,
    valid: bool,
    invalid_reason: Option<String>,
    events: bool,
    notice: Option<String>,
    error: Option<String>,
    configuration: Vec<(String, String)>,
    live_query: String,
    // The live part's fields, for the include.
    pollers: Vec<PollerRow>,
    event_rows: Vec<EventRow>,
    statuses: &'static [(&'static str, &'static str)],
    event_types: &'static [(&'static str, &'static str)],
    filter_status: String,
    filter_object_type: String,
    filter_event_type: String,
    filter_error: Option<String>,
    has_filter: bool,
}

/// The instance's id from the path, or the 404 page saying there is none.
fn instance_id(text: &str) -> Result<i64, Box<Response>> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Box::new(not_found(&format!("There is no instance {text:?}."))))
}

fn not_found(text: &str) -> Response {
    message(StatusCode::NOT_FOUND, "Not found", text, "/")
}

/// Why an action failed, as the service says it.
fn refused(error: &ServiceError) -> Response {
    match error {
        ServiceError::NotFound(text) => not_found(text),
        ServiceError::Internal(detail) => failed(detail),
        _ => message(status(error), "Refused", &error.user_message(), "/"),
    }
}

/// The filters of the query string, only those with a value (the form sends empty ones).
fn filters(raw: Option<&str>) -> (Vec<(String, String)>, String) {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, v): &(String, String)| {
                ["status", "objectType", "eventType"].contains(&k.as_str()) && !v.trim().is_empty()
            })
            .collect();
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    (params, query)
}

async fn live(
    state: &AppState,
    session: &UiSession,
    id: i64,
    events_on: bool,
    raw: Option<&str>,
) -> Result<Live, ServiceError> {
    let pollers = events::pollers(state, session.principal, id)
        .await?
        .into_iter()
        .map(|p| {
            let summary = p
                .last_summary
                .as_deref()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
            let summary = summary.as_ref();
            PollerRow {
                resource: p.resource,
                cursor: p.cursor_ms.map(time).unwrap_or_else(|| "not set".into()),
                last_poll: p.last_poll_ms.map(time).unwrap_or_else(|| "never".into()),
                next_poll: time(p.next_due_ms),
                events: p.events_emitted,
                failures: p.failures,
                last_error: p.last_error,
                date_warnings: summary
                    .and_then(|s| s["dateWarnings"].as_i64())
                    .unwrap_or(0),
                date_warning: summary
                    .and_then(|s| s["warnings"][0].as_str())
                    .map(str::to_owned),
                deletes_lost: p.deletes_lost_at_ms.map(|at| {
                    format!(
                        "{} time(s); last: deletes from {} to {} lost at the provider (found {})",
                        p.deletes_lost,
                        p.deletes_lost_from_ms.map(time).unwrap_or_default(),
                        p.deletes_lost_until_ms.map(time).unwrap_or_default(),
                        time(at)
                    )
                }),
            }
        })
        .collect();
    let (params, _) = filters(raw);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let wanted = EventQuery {
        status: Some(get("status")),
        object_type: Some(get("objectType")),
        event_type: Some(get("eventType")),
        ..EventQuery::default()
    };
    let (event_rows, filter_error) = match wanted.filter(Some(id)) {
        Ok(mut wanted) => {
            wanted.newest_first = true;
            wanted.limit = 100;
            let rows = events::log(state, session.principal, &wanted)
                .await?
                .into_iter()
                .map(|e| EventRow {
                    date: time(e.date_ms),
                    resource: e.resource,
                    object_id: e.object_id,
                    event_type: e.event_type,
                    status: e.status.as_str().to_owned(),
                    event_id: e.event_id,
                })
                .collect();
            (rows, None)
        }
        Err(error) => (Vec::new(), Some(error.user_message())),
    };
    Ok(Live {
        id,
        events: events_on,
        pollers,
        event_rows,
        statuses: &STATUSES,
        event_types: &EVENT_TYPES,
        filter_status: get("status").to_ascii_uppercase(),
        filter_object_type: get("objectType"),
        filter_event_type: get("eventType").to_ascii_uppercase(),
        filter_error,
        has_filter: !params.is_empty(),
    })
}

/// Renders the instance page, with what an action did (or why it did not).
async fn render(
    state: &AppState,
    session: UiSession,
    id: i64,
    raw: Option<&str>,
    outcome: Result<Option<String>, ServiceError>,
) -> Response {
    let record = match instances::show(state, session.principal, id).await {
        Ok(record) => record,
        Err(error) => return refused(&error),
    };
    let element = state.registry.get(&record.element_key);
    let configuration = record
        .configuration
        .iter()
        .map(|entry| {
            (
                entry.key.clone(),
                shown(element.as_deref(), entry).to_owned(),
            )
        })
        .collect();
    let live = match live(state, &session, id, record.events_enabled, raw).await {
        Ok(live) => live,
        Err(error) => return refused(&error),
    };
    let (status, notice, error) = match outcome {
        Ok(notice) => (StatusCode::OK, notice, None),
        Err(error) => (status(&error), None, Some(error.user_message())),
    };
    let (_, live_query) = filters(raw);
    page(
        status,
        &InstancePage {
            csrf: session.csrf,
            id,
            name: record.name,
            element: record.element_key,
            tags: record.tags.join(", "),
            valid: record.valid,
            invalid_reason: record.invalid_reason,
            events: record.events_enabled,
            notice,
            error,
            configuration,
            live_query: if live_query.is_empty() {
                String::new()
            } else {
                format!("?{live_query}")
            },
            pollers: live.pollers,
            event_rows: live.event_rows,
            statuses: live.statuses,
            event_types: live.event_types,
            filter_status: live.filter_status,
            filter_object_type: live.filter_object_type,
            filter_event_type: live.filter_event_type,
            filter_error: live.filter_error,
            has_filter: live.has_filter,
        },
    )
}

pub(super) async fn show(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    match instance_id(&id) {
        Ok(id) => render(&state, session, id, raw.as_deref(), Ok(None)).await,
        Err(response) => *response,
    }
}

/// The live part alone, for the page's refresh.
pub(super) async fn live_part(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let record = match instances::show(&state, session.principal, id).await {
        Ok(record) => record,
        Err(error) => return refused(&error),
    };
    match live(&state, &session, id, record.events_enabled, raw.as_deref()).await {
        Ok(part) => page(StatusCode::OK, &part),
        Err(error) => refused(&error),
    }
}

pub(super) async fn poll_now(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_token(&session.csrf, &form.csrf) {
        return forbidden_form();
    }
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let outcome = events::poll_now(&state, session.principal, id)
        .await
        .map(|polls| {
            let events: u64 = polls.iter().map(|p| p.events).sum();
            let failed: Vec<String> = polls
                .iter()
                .filter_map(|p| p.error.as_ref().map(|e| format!("{}: {e}", p.resource)))
                .collect();
            let mut text = format!(
                "Polled {} resource{}: {events} new event{}.",
                polls.len(),
                if polls.len() == 1 { "" } else { "s" },
                if events == 1 { "" } else { "s" }
            );
            if !failed.is_empty() {
                text.push_str(&format!(" Failed: {}.", failed.join("; ")));
            }
            Some(text)
        });
    render(&state, session, id, None, outcome).await
}

pub(super) async fn recover(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_token(&session.csrf, &form.csrf) {
        return forbidden_form();
    }
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let outcome = events::recover(&state, session.principal, id, None)
        .await
        .map(|requeued| {
            Some(match requeued {
                0 => "Nothing to recover: no delivery has failed.".to_owned(),
                1 => "1 failed notification is queued again.".to_owned(),
                n => format!("{n} failed notifications are queued again."),
            })
        });
    render(&state, session, id, None, outcome).await
}

/// A delivery attempt's line.
struct AttemptRow {
    date: String,
    status: String,
    duration: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage {
    csrf: String,
    instance_id: i64,
    instance_name: String,
    event_id: String,
    event_type: String,
    resource: String,
    object_id: String,
    status: String,
    date: String,
    poll_date: String,
    notification_id: Option<String>,
    attempts: Vec<AttemptRow>,
    body: Option<String>,
    record: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_event(
    state: &AppState,
    session: UiSession,
    id: i64,
    event_id: &str,
    outcome: Result<Option<String>, ServiceError>,
) -> Response {
    let instance = match instances::show(state, session.principal, id).await {
        Ok(instance) => instance,
        Err(error) => return refused(&error),
    };
    let detail = match events::event(state, session.principal, event_id, Some(id)).await {
        Ok(detail) => detail,
        Err(error) => return refused(&error),
    };
    let body = match events::notification_body(state, &detail).await {
        Ok(body) => body.map(|bytes| pretty(&bytes)),
        Err(error) => return failed(error),
    };
    let attempts = detail
        .attempts
        .iter()
        .map(|a| AttemptRow {
            date: event_date(a.at_ms),
            status: a
                .status_code
                .map(|s| s.to_string())
                .unwrap_or_else(|| "no answer".into()),
            duration: format!("{} ms", a.duration_ms),
            detail: a
                .error
                .as_deref()
                .or(a.excerpt.as_deref())
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    let event = detail.event;
    let (status, notice, error) = match outcome {
        Ok(notice) => (StatusCode::OK, notice, None),
        Err(error) => (status(&error), None, Some(error.user_message())),
    };
    page(
        status,
        &EventPage {
            csrf: session.csrf,
            instance_id: id,
            instance_name: instance.name,
            event_id: event.event_id,
            event_type: event.event_type,
            resource: event.resource,
            object_id: event.object_id,
            status: event.status.as_str().to_owned(),
            date: event_date(event.date_ms),
            poll_date: event_date(event.poll_date_ms),
            notification_id: event.notification_id,
            attempts,
            body,
            record: serde_json::to_string_pretty(
                &serde_json::from_str::<Value>(&event.record).unwrap_or(Value::Null),
            )
            .unwrap_or_default(),
            notice,
            error,
        },
    )
}

/// JSON bytes indented for reading (the bytes sent are compact; this is a view of them).
fn pretty(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

pub(super) async fn show_event(
    State(state): State<AppState>,
    session: UiSession,
    Path((id, event_id)): Path<(String, String)>,
) -> Response {
    match instance_id(&id) {
        Ok(id) => render_event(&state, session, id, &event_id, Ok(None)).await,
        Err(response) => *response,
    }
}

pub(super) async fn redeliver(
    State(state): State<AppState>,
    session: UiSession,
    Path((id, event_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_token(&session.csrf, &form.csrf) {
        return forbidden_form();
    }
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let outcome = events::redeliver(&state, session.principal, id, &event_id)
        .await
        .map(|notification| {
            Some(format!(
                "Notification {notification} is queued again and will be sent now."
            ))
        });
    render_event(&state, session, id, &event_id, outcome).await
}
