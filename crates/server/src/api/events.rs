//! An instance's pollers and events: poll now, poller status, and the event log as stored.
//!
//! The event log here is the plain list; filters, delivery status and redelivery arrive with
//! delivery (issue 7).

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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/instances/{id}/events/poll", post(poll_now))
        .route("/instances/{id}/pollers", get(pollers))
        .route("/instances/{id}/events", get(events))
}

/// `POST /instances/{id}/events/poll`: polls every enabled resource now and answers with what
/// each poll did once it is stored.
async fn poll_now(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let instance = load(&state, principal, id).await?;
    let prepared = state.clients.prepared(&state, &instance)?;
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
    let client = state.clients.client(&state, &instance)?;
    let mut polls = Vec::new();
    for record in state.store.pollers(id).await? {
        polls.push(poller::poll_resource(&state, &instance, &client, &prepared, &record).await);
    }
    Ok(Json(json!({"instanceId": id, "polls": polls})).into_response())
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

/// `GET /instances/{id}/events[?after=<row>&pageSize=<n>]`: stored events, oldest first.
async fn events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    load(&state, principal, id).await?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    let number = |key: &str, default: i64, max: i64| -> Result<i64, ApiError> {
        match params.iter().find(|(k, _)| k == key) {
            None => Ok(default),
            Some((_, v)) => match v.trim().parse::<i64>() {
                Ok(n) if (0..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::BadRequest(format!(
                    "{key} must be a whole number from 0 to {max}, got {v:?}"
                ))),
            },
        }
    };
    let after = number("after", 0, i64::MAX)?;
    let page_size = number("pageSize", 200, 1000)?.max(1);
    let events: Vec<Value> = state
        .store
        .events(id, after, page_size)
        .await?
        .into_iter()
        .map(|e| {
            let mut event = json!({
                "id": e.id,
                "eventId": e.event_id,
                "objectType": e.resource,
                "objectId": e.object_id,
                "eventType": e.event_type,
                "date": event_date(e.date_ms),
                "pollDate": event_date(e.poll_date_ms),
                "status": e.status,
                "notificationId": e.notification_id,
                "raw": serde_json::from_str::<Value>(&e.record).unwrap_or(Value::Null),
            });
            if let (Some(error), Some(map)) = (e.date_error, event.as_object_mut()) {
                map.insert("dateError".into(), Value::String(error));
            }
            event
        })
        .collect();
    Ok(Json(events).into_response())
}
