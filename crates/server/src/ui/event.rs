//! An event's page: what changed, the notification that carries it (its other events, its
//! exact body), its delivery as a timeline of attempts, and "redeliver".

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::log::tone;
use super::{
    CsrfForm, UiSession, failed, forbidden_form, instance_id, page, refused, session::same_token,
    status, time,
};
use crate::services::error::ServiceError;
use crate::services::events::{self, LogEntry};
use crate::services::instances;
use crate::state::AppState;

/// One step of the delivery timeline.
#[derive(Debug)]
struct Step {
    /// `ok`, `bad` or `idle`: the dot's colour; `mark` is its shape.
    tone: &'static str,
    mark: &'static str,
    what: String,
    when: String,
    took: Option<String>,
    detail: Option<String>,
}

/// The notification that carries the event.
#[derive(Debug)]
struct Carrier {
    id: String,
    number: Option<i64>,
    status: String,
    tone: &'static str,
    created: String,
    delivered: Option<String>,
    /// The other events it carries: (event id, line).
    others: Vec<(String, String)>,
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
    tone: &'static str,
    date: String,
    poll_date: String,
    date_error: Option<String>,
    carrier: Option<Carrier>,
    timeline: Vec<Step>,
    body: Option<String>,
    record: String,
    notice: Option<String>,
    error: Option<String>,
}

/// A receiver's answer as people read it: `200 OK`, `503 Service Unavailable`, `no answer`.
fn answer(code: Option<u16>) -> String {
    match code {
        Some(code) => {
            let reason = StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            format!("{code} {reason}").trim_end().to_owned()
        }
        None => "no answer".into(),
    }
}

async fn render(
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
    let carrier = match &detail.event.notification_id {
        Some(notification) => {
            match events::lookup(state, session.principal, notification, Some(id)).await {
                Ok(LogEntry::Notification(found)) => Some(Carrier {
                    id: found.notification.id.clone(),
                    number: found.notification.number,
                    status: found.notification.status.as_str().to_owned(),
                    tone: tone(found.notification.status.as_str()),
                    created: time(found.notification.created_ms),
                    delivered: found.notification.delivered_ms.map(time),
                    others: found
                        .events
                        .iter()
                        .filter(|e| e.event_id != detail.event.event_id)
                        .map(|e| {
                            (
                                e.event_id.clone(),
                                format!("{} {} #{}", e.event_type, e.resource, e.object_id),
                            )
                        })
                        .collect(),
                }),
                Ok(LogEntry::Event(_)) | Err(ServiceError::NotFound(_)) => None,
                Err(error) => return refused(&error),
            }
        }
        None => None,
    };
    let mut timeline = Vec::new();
    if let Some(carrier) = &carrier {
        timeline.push(Step {
            tone: "idle",
            mark: "•",
            what: "Queued".into(),
            when: carrier.created.clone(),
            took: None,
            detail: None,
        });
    }
    for attempt in &detail.attempts {
        let delivered = attempt.status_code.is_some_and(|c| (200..300).contains(&c));
        timeline.push(Step {
            tone: if delivered { "ok" } else { "bad" },
            mark: if delivered { "✓" } else { "✕" },
            what: answer(attempt.status_code),
            when: time(attempt.at_ms),
            took: Some(format!("{} ms", attempt.duration_ms)),
            detail: attempt
                .error
                .as_deref()
                .or(attempt.excerpt.as_deref())
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
        });
    }
    let event = detail.event;
    let (status, notice, error) = match outcome {
        Ok(notice) => (StatusCode::OK, notice, None),
        Err(error) => (status(&error), None, Some(error.user_message())),
    };
    let event_status = event.status.as_str().to_owned();
    page(
        status,
        &EventPage {
            csrf: session.csrf,
            instance_id: id,
            instance_name: instance.name,
            tone: tone(&event_status),
            status: event_status,
            event_id: event.event_id,
            event_type: event.event_type,
            resource: event.resource,
            object_id: event.object_id,
            date: time(event.date_ms),
            poll_date: time(event.poll_date_ms),
            date_error: event.date_error,
            carrier,
            timeline,
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

pub(super) async fn show(
    State(state): State<AppState>,
    session: UiSession,
    Path((id, event_id)): Path<(String, String)>,
) -> Response {
    match instance_id(&id) {
        Ok(id) => render(&state, session, id, &event_id, Ok(None)).await,
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
    render(&state, session, id, &event_id, outcome).await
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn answers_are_named_with_their_reason() {
        assert_eq!(answer(Some(200)), "200 OK");
        assert_eq!(answer(Some(503)), "503 Service Unavailable");
        assert_eq!(answer(Some(599)), "599");
        assert_eq!(answer(None), "no answer");
    }
}
