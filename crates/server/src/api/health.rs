//! `GET /healthz` (the process answers) and `GET /readyz` (and its database does).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::api::error::ApiError;
use crate::state::AppState;

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

/// Prometheus text exposition: the provider pacers (how often and how long requests waited for
/// their app's budget, how many 429s the provider still answered), delivery counters since
/// start, the number of notifications waiting, and deletes lost at providers.
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
        family(&mut text, name, help, "counter");
        for (element, waits, waited_ms, throttled) in &series {
            let value = match kind {
                0 => waits.to_string(),
                1 => format!("{:.3}", *waited_ms as f64 / 1000.0),
                _ => throttled.to_string(),
            };
            text.push_str(&format!("{name}{{element=\"{element}\"}} {value}\n"));
        }
    }
    let stats = &state.delivery_stats;
    let read =
        |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);
    let delivered = read(&stats.delivered);
    for (name, help, value) in [
        (
            "tributary_notifications_delivered_total",
            "Notifications a callback accepted with a 2xx.",
            delivered.to_string(),
        ),
        (
            "tributary_delivery_failed_attempts_total",
            "Delivery attempts that failed (non-2xx, timeout, refused or connection error).",
            read(&stats.failed_attempts).to_string(),
        ),
        (
            "tributary_notifications_retried_total",
            "Failed attempts after which the notification was scheduled again.",
            read(&stats.retried).to_string(),
        ),
        (
            "tributary_notifications_failed_total",
            "Notifications left FAILED (schedule exhausted or 410 Gone).",
            read(&stats.given_up).to_string(),
        ),
        (
            "tributary_delivery_latency_seconds_sum",
            "Seconds from the poll that found a change to its delivery, summed over deliveries.",
            format!("{:.3}", read(&stats.latency_ms_sum) as f64 / 1000.0),
        ),
        (
            "tributary_delivery_latency_seconds_count",
            "Deliveries counted in tributary_delivery_latency_seconds_sum.",
            delivered.to_string(),
        ),
    ] {
        family(&mut text, name, help, "counter");
        text.push_str(&format!("{name} {value}\n"));
    }
    let name = "tributary_poll_date_warnings_total";
    family(
        &mut text,
        name,
        "Polled records whose dates had text after their pattern (read as Java reads them).",
        "counter",
    );
    text.push_str(&format!(
        "{name} {}\n",
        read(&state.poll_stats.date_warnings)
    ));
    // The queue depth comes from the database, so it is true across processes and restarts.
    if let Ok(queued) = state.store.queued_notifications().await {
        let name = "tributary_notifications_queued";
        family(
            &mut text,
            name,
            "Notifications waiting to be sent.",
            "gauge",
        );
        text.push_str(&format!("{name} {queued}\n"));
    }
    // Deletes lost at the provider (its delete log purged before a sweep read it): never
    // silent. From the database, so it counts what every process found.
    if let Ok(lost) = state.store.deletes_lost_total().await {
        let name = "tributary_deletes_lost_total";
        family(
            &mut text,
            name,
            "Times a delete sweep found deletes lost at the provider (its delete history purged before Tributary read it).",
            "counter",
        );
        text.push_str(&format!("{name} {lost}\n"));
    }
    if let Ok(in_flight) = state.store.in_flight_notifications(state.now_ms()).await {
        let name = "tributary_notifications_in_flight";
        family(
            &mut text,
            name,
            "Notifications claimed by a delivery worker and not yet settled.",
            "gauge",
        );
        text.push_str(&format!("{name} {}\n", in_flight.len()));
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

/// Writes the `# HELP` and `# TYPE` lines that open a metric family.
fn family(text: &mut String, name: &str, help: &str, kind: &str) {
    text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
}
