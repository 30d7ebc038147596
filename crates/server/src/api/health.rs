//! `GET /healthz` (the process answers) and `GET /readyz` (and its database does).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::api::error::ApiError;
use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|_| ApiError::Unavailable("the database does not answer".into()))?;
    Ok(Json(json!({"status": "ready"})).into_response())
}

/// Prometheus text exposition of the provider pacers: how often and how long requests waited
/// for their app's budget, and how many 429s the provider still answered.
async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    let series = state.clients.pacers.stats();
    for (name, help, kind) in [
        (
            "tributary_provider_pacing_waits_total",
            "Provider requests that waited for their app's budget.",
            0,
        ),
        (
            "tributary_provider_pacing_wait_seconds_total",
            "Seconds provider requests waited for their app's budget.",
            1,
        ),
        (
            "tributary_provider_throttled_total",
            "429 answers from providers.",
            2,
        ),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (element, waits, waited_ms, throttled) in &series {
            let value = match kind {
                0 => waits.to_string(),
                1 => format!("{:.3}", *waited_ms as f64 / 1000.0),
                _ => throttled.to_string(),
            };
            text.push_str(&format!("{name}{{element=\"{element}\"}} {value}\n"));
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response()
}
