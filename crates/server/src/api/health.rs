//! `GET /healthz` (the process answers), `GET /readyz` (and its database does), `GET /metrics`
//! (Prometheus), and `GET /openapi.json` (the API described): the operations routes, which
//! every node answers whatever its roles.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::openapi::{self, ErrorBody, StatusOut};
use crate::metrics::{self, Scraped};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi::openapi_json))
}

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The process answers.", body = StatusOut)))]
async fn healthz() -> Json<StatusOut> {
    Json(StatusOut {
        status: "ok".into(),
    })
}

/// `GET /readyz`: the process and its database answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses(
        (status = 200, description = "The database answers.", body = StatusOut),
        (status = 503, description = "The database does not answer.", body = ErrorBody),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<Json<StatusOut>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|_| ApiError::Unavailable("the database does not answer".into()))?;
    Ok(Json(StatusOut {
        status: "ready".into(),
    }))
}

/// The Prometheus exposition (OpenMetrics text, [`crate::metrics`]): the latency histograms,
/// the provider pacers (how often and how long requests waited for their app's budget, how many
/// 429s the provider still answered), delivery counters since start, the number of
/// notifications waiting and in flight, deletes lost at providers, and each provider app's
/// quota as the scheduler plans it (allowed and projected requests a minute, the stretch).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "OpenMetrics text.", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut scraped = Scraped::default();
    let series = state.clients.pacers.stats();
    let per_element = |value: fn(&(String, u64, u64, u64)) -> f64| -> Vec<(String, f64)> {
        series.iter().map(|s| (s.0.clone(), value(s))).collect()
    };
    scraped.element_counter(
        "tributary_provider_pacing_waits",
        "Provider requests that waited for their app's budget.",
        &per_element(|s| s.1 as f64),
    );
    scraped.element_counter(
        "tributary_provider_pacing_wait_seconds",
        "Seconds provider requests waited for their app's budget.",
        &per_element(|s| s.2 as f64 / 1000.0),
    );
    scraped.element_counter(
        "tributary_provider_throttled",
        "429 answers from providers.",
        &per_element(|s| s.3 as f64),
    );
    let quotas = state.quotas.snapshot(state.now_ms());
    for (name, help, value) in [
        (
            "tributary_quota_allowed_per_minute",
            "Requests a minute scheduled polls of a provider app may use (TRIBUTARY_POLL_QUOTA).",
            (|q| q.allowed_per_minute) as fn(&crate::quota::AppQuotaView) -> f64,
        ),
        (
            "tributary_quota_projected_per_minute",
            "Requests a minute a provider app's pollers would use at their configured intervals.",
            |q| q.projected_per_minute,
        ),
        (
            "tributary_quota_stretch",
            "The factor a provider app's poll intervals are stretched by to fit its quota (1: none).",
            |q| q.stretch,
        ),
        (
            "tributary_quota_used_last_minute",
            "Requests the polls of a provider app that ended in the last minute made.",
            |q| q.used_last_minute as f64,
        ),
    ] {
        let values: Vec<(String, String, f64)> = quotas
            .iter()
            .map(|q| (q.element.clone(), q.app.clone(), value(q)))
            .collect();
        scraped.app_gauge(name, help, &values);
    }
    let stats = &state.delivery_stats;
    let read =
        |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);
    for (name, help, value) in [
        (
            "tributary_notifications_delivered",
            "Notifications a callback accepted with a 2xx.",
            read(&stats.delivered),
        ),
        (
            "tributary_delivery_failed_attempts",
            "Delivery attempts that failed (non-2xx, timeout, refused or connection error).",
            read(&stats.failed_attempts),
        ),
        (
            "tributary_notifications_retried",
            "Failed attempts after which the notification was scheduled again.",
            read(&stats.retried),
        ),
        (
            "tributary_notifications_failed",
            "Notifications left FAILED (schedule exhausted or 410 Gone).",
            read(&stats.given_up),
        ),
        (
            "tributary_notifications_leased_at_queue",
            "Notifications leased by the transaction that queued them (their receiver had room), \
             so sent without a claim.",
            read(&stats.leased_at_queue),
        ),
        (
            "tributary_notifications_leased_at_commit",
            "Notifications queued and leased by the poll commit that stored their events (the \
             worker was idle), so sent without a queue pass or a claim.",
            read(&stats.leased_at_commit),
        ),
        (
            "tributary_poll_date_warnings",
            "Polled records whose dates had text after their pattern (read as Java reads them).",
            read(&state.poll_stats.date_warnings),
        ),
        (
            "tributary_sweeps_completed",
            "Reconciliation sweeps that completed (deletes by absence, checksum mode).",
            read(&state.poll_stats.sweeps_completed),
        ),
        (
            "tributary_sweeps_interrupted",
            "Reconciliation sweeps a provider fault interrupted; they decided nothing.",
            read(&state.poll_stats.sweeps_interrupted),
        ),
        (
            "tributary_sweep_requests",
            "Provider requests made by sweeps: list pages and missing ids asked for.",
            read(&state.poll_stats.sweep_requests),
        ),
    ] {
        scraped.counter(name, help, value);
    }
    // From the database, so they are true across processes and restarts.
    if let Ok(queued) = state.store.queued_notifications().await {
        scraped.gauge(
            "tributary_notifications_queued",
            "Notifications waiting to be sent.",
            queued,
        );
    }
    // Deletes lost at the provider (its delete log purged before a sweep read it): never
    // silent, and counted over every process.
    if let Ok(lost) = state.store.deletes_lost_total().await {
        scraped.counter(
            "tributary_deletes_lost",
            "Times a delete sweep found deletes lost at the provider (its delete history purged \
             before Tributary read it).",
            u64::try_from(lost).unwrap_or(0),
        );
    }
    if let Ok(in_flight) = state.store.in_flight_notifications(state.now_ms()).await {
        scraped.gauge(
            "tributary_notifications_in_flight",
            "Notifications claimed by a delivery worker and not yet settled.",
            i64::try_from(in_flight.len()).unwrap_or(i64::MAX),
        );
    }
    let text = state
        .metrics
        .encode(&scraped)
        .map_err(|_| ApiError::internal("the metrics could not be written"))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        text,
    )
        .into_response())
}
