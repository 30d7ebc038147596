//! Webhook latency (issue 20): a change at the provider to its notification received, through
//! Keap's REST hooks — the simulator delivers the change's id to the hook URL after its own
//! delay (Keap's 30–60 s, multiplied by [`HOOK_TIME_SCALE`]), Tributary stores it, fetches the
//! record, decides and delivers. Every part runs as in production: the app's own inbound and
//! delivery workers, woken by nudges; no poll is involved (the scheduler is off). The figure
//! stands next to the polling latency (`delivery: latency …, poll asked → received`), against
//! the goal: under one second plus the provider's own delay.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use axum::http::StatusCode;
use indicatif::ProgressBar;
use serde_json::json;
use tokio::sync::mpsc;
use tributary_domain::SystemClock;

use super::delivery::percentile_ms;
use super::{Figure, Harness, number, step};

/// The simulator's hook delays are multiplied by this: Keap's first delivery 30–60 s after a
/// change becomes 0.3–0.6 s.
pub const HOOK_TIME_SCALE: f64 = 0.01;
/// The provider's longest first delay at that scale, in ms.
const PROVIDER_DELAY_MS: f64 = 60_000.0 * HOOK_TIME_SCALE;
/// The goal beyond the provider's own delay.
const GOAL_MS: f64 = 1_000.0;

/// `samples` changes timed from the provider's change to the notification's arrival.
pub(super) async fn run(samples: usize, bar: &ProgressBar) -> anyhow::Result<Vec<Figure>> {
    // Each sample waits for the provider's delay: a hundred at most keep the run short.
    let samples = samples.clamp(1, 100);
    step(bar, "hooks: a webhooks instance, its subscriptions", 1);
    let bench = Harness::start_hooked("hooks", HOOK_TIME_SCALE, Arc::new(SystemClock), |s| {
        s.allow_private_callbacks = true;
    })
    .await?;
    let mut receiver = receiver().await?;
    let outcome = measure(samples, bar, &bench, &mut receiver).await;
    receiver.server.abort();
    bench.stop().await;
    outcome
}

async fn measure(
    samples: usize,
    bar: &ProgressBar,
    bench: &Harness,
    receiver: &mut Receiver,
) -> anyhow::Result<Vec<Figure>> {
    let url = receiver.url.clone();
    let pollers = bench.default_pollers()?;
    let contacts = json!({"contacts": pollers["contacts"].clone()});
    let id = bench.instance_of(contacts, &url, None, "webhooks").await?;
    let subscriptions: serde_json::Value = bench
        .http
        .get(format!("{}/instances/{id}/subscriptions", bench.api))
        .header("Authorization", &bench.auth)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        subscriptions
            .as_array()
            .is_some_and(|s| s.len() == 3 && s.iter().all(|s| s["status"] == "Verified")),
        "the webhooks instance did not subscribe: {subscriptions}"
    );
    step(
        bar,
        format!("hooks: {samples} times a contact created at the provider, its notification"),
        samples as u64,
    );
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let changed = Instant::now();
        bench.contacts(1).await?;
        let received = arrival(&mut receiver.arrivals, "hooks latency").await?;
        latencies.push(received.saturating_duration_since(changed));
        bar.inc(1);
    }
    latencies.sort();
    let ceiling = PROVIDER_DELAY_MS + GOAL_MS;
    Ok([50, 99]
        .into_iter()
        .map(|p| {
            let value = percentile_ms(&latencies, p);
            Figure::against(
                format!("hooks: latency p{p}, provider change → received"),
                value,
                "ms",
                "goal: the provider's delay + 1 s",
                ceiling,
                "the goal",
                false,
                format!(
                    "ratio = latency / the goal; {samples} contacts created at the Keap \
                     simulator, each timed from the change to its notification's arrival at a \
                     local receiver, through the REST hook (the simulator's delays scaled by \
                     {HOOK_TIME_SCALE}: its first delivery 30–60 s × {HOOK_TIME_SCALE}, at most \
                     {} ms, is inside the figure), the stored delivery, the record fetched by \
                     id and the delivery worker; goal: {} ms of the provider's delay + 1 s",
                    number(PROVIDER_DELAY_MS),
                    number(PROVIDER_DELAY_MS),
                ),
            )
        })
        .collect())
}

/// The longest wait for one notification before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A receiver in this process on 127.0.0.1:0 that sends each arrival's instant on a channel
/// (taken before anything else); what it measures is hook latency in
/// hundreds of milliseconds, which a process hop would not change.
struct Receiver {
    url: String,
    arrivals: mpsc::UnboundedReceiver<Instant>,
    server: tokio::task::JoinHandle<()>,
}

async fn receiver() -> anyhow::Result<Receiver> {
    let (tx, arrivals) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let _ = tx.send(Instant::now());
            async { StatusCode::OK }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Receiver {
        url,
        arrivals,
        server,
    })
}

/// The next arrival at the receiver, or an error after [`PATIENCE`].
async fn arrival(
    arrivals: &mut mpsc::UnboundedReceiver<Instant>,
    what: &str,
) -> anyhow::Result<Instant> {
    match tokio::time::timeout(PATIENCE, arrivals.recv()).await {
        Ok(Some(at)) => Ok(at),
        Ok(None) => bail!("the receiver stopped ({what})"),
        Err(_) => bail!(
            "no notification reached the receiver in {} s ({what})",
            PATIENCE.as_secs()
        ),
    }
}
