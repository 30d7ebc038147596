//! Delivery figures to a local receiver on this machine, each next to its ceiling:
//!
//! 1. notifications per second drained by the real delivery worker (`Deliverer::run`): each one
//!    signed (`Elements-Webhook-Signature`), POSTed and its attempt persisted on SQLite; next to
//!    a bare HTTP POST loop of the same bodies to the same receiver, as many at once as the
//!    per-host limit, measured in the same run;
//! 2. latency from an event stored (a poll's HTTP response) to its notification received, p50
//!    and p99, with the worker running as in production (woken by the poll); next to a bare
//!    POST round trip of the same body.
//!
//!   cargo bench -p tributary-server --bench delivery
//!   BENCH_NOTIFICATIONS=10000 BENCH_LATENCY_SAMPLES=500 cargo bench -p tributary-server --bench delivery
//!   BENCH_CONCURRENCY=16 BENCH_PER_HOST=16 cargo bench -p tributary-server --bench delivery
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tributary_domain::SystemClock;
use tributary_domain::delivery::elements_signature;
use tributary_server::delivery::Deliverer;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::{Config, RunningSimulator, Simulator};

const ORG: &str = "bench-organization-secret-0001";
const USER: &str = "bench-user-secret-0000000000001";
const REDIRECT: &str = "https://app.example/oauth";
const SIGNING_KEY: &str = "bench-signing-key";
/// Events per notification at most (the envelope's batch size).
const EVENTS_PER_NOTIFICATION: usize = 10;
/// The longest wait for one notification before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(60);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the receiver saw: a count, the bodies (while capturing), and each arrival's instant on a
/// channel.
#[derive(Clone)]
struct Inbox {
    received: Arc<AtomicUsize>,
    unsigned: Arc<AtomicUsize>,
    capture: Arc<AtomicBool>,
    bodies: Arc<Mutex<Vec<Bytes>>>,
    arrivals: mpsc::UnboundedSender<Instant>,
}

/// Answers 200 at once; the arrival instant is taken before anything else.
async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    if !headers.contains_key("elements-webhook-signature") {
        inbox.unsigned.fetch_add(1, Ordering::Relaxed);
    }
    if inbox.capture.load(Ordering::Relaxed) {
        inbox.bodies.lock().unwrap().push(body);
    }
    inbox.received.fetch_add(1, Ordering::SeqCst);
    let _ = inbox.arrivals.send(at);
    StatusCode::OK
}

/// A receiver on 127.0.0.1:0: its URL, its inbox, and the arrivals.
async fn receiver() -> (String, Inbox, mpsc::UnboundedReceiver<Instant>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let inbox = Inbox {
        received: Arc::default(),
        unsigned: Arc::default(),
        capture: Arc::new(AtomicBool::new(true)),
        bodies: Arc::default(),
        arrivals: tx,
    };
    let app = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox, rx)
}

struct Bench {
    http: reqwest::Client,
    sim: RunningSimulator,
    api: String,
    auth: String,
    state: tributary_server::AppState,
    _shutdown: CancellationToken,
}

impl Bench {
    async fn code(&self) -> String {
        let response = self
            .http
            .post(format!("{}/app/oauth/authorize", self.sim.url()))
            .query(&[("client_id", "tributary-demo"), ("redirect_uri", REDIRECT)])
            .form(&[("allow", "true")])
            .send()
            .await
            .unwrap();
        let location =
            reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    /// An instance polling `pollers`, delivering signed notifications to `callback`.
    async fn instance(&self, pollers: Value, callback: &str) -> i64 {
        let body = json!({"element": {"key": "infusionsoftrest"}, "providerData": {"code": self.code().await},
            "name": "bench", "configuration": {"oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true, "event.notification.callback.url": callback,
            "event.notification.signature.key": SIGNING_KEY,
            "event.poller.refresh_interval": 1, "event.poller.configuration": pollers}});
        let created: Value = self
            .http
            .post(format!("{}/instances", self.api))
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_i64().expect("instance created")
    }

    async fn poll(&self, id: i64) -> Value {
        self.http
            .post(format!("{}/instances/{id}/events/poll", self.api))
            .header("Authorization", &self.auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn contacts(&self, count: usize) {
        let response = self
            .http
            .post(format!("{}/_sim/records", self.sim.url()))
            .json(&json!({"resource": "contacts", "count": count}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

async fn setup() -> Bench {
    let config = Config {
        seed: 0,
        throttle_per_minute: u32::MAX,
        tenant_throttle_per_minute: u32::MAX,
        quota_per_day: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        ..Config::default()
    };
    let sim = Simulator::new(config, Arc::new(SystemClock));
    let sim = RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("tributary-bench-delivery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        allow_private_callbacks: true,
        origins: BTreeMap::from([("infusionsoftrest".to_owned(), sim.url())]),
        bootstrap: Some(Bootstrap {
            organization_secret: ORG.to_owned().into(),
            user_secret: USER.to_owned().into(),
        }),
        provider_requests_per_minute: Some(u32::MAX / 2),
        // No scheduler and no delivery worker: the bench starts its own worker when it times it.
        poll_concurrency: 0,
        delivery_concurrency: 0,
        delivery_per_host: env("BENCH_PER_HOST", Settings::default().delivery_per_host),
        ..Settings::default()
    };
    // The system clock: delivery compares due times with `now_ms`.
    let app = Application::build(settings, Arc::new(SystemClock))
        .await
        .unwrap();
    let api = format!("http://127.0.0.1:{}/elements/api-v2", app.port());
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Bench {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        sim,
        api,
        auth: format!("User {USER}, Organization {ORG}"),
        state,
        _shutdown: shutdown,
    }
}

/// Nearest-rank percentile of sorted durations, in milliseconds.
fn percentile_ms(sorted: &[Duration], p: usize) -> f64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1) - 1;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// The next arrival at the receiver, or a panic after [`PATIENCE`].
async fn arrival(arrivals: &mut mpsc::UnboundedReceiver<Instant>, what: &str) -> Instant {
    tokio::time::timeout(PATIENCE, arrivals.recv())
        .await
        .unwrap_or_else(|_| panic!("no notification reached the receiver in time ({what})"))
        .expect("the receiver is running")
}

/// POSTs `body` signed, as the ceiling does; returns when the answer is read.
async fn bare_post(http: &reqwest::Client, url: &str, body: &Bytes) {
    let response = http
        .post(url)
        .header("Content-Type", "application/json")
        .header(
            "Elements-Webhook-Signature",
            elements_signature(SIGNING_KEY, body),
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let _ = response.bytes().await.unwrap();
}

#[tokio::main]
async fn main() {
    let notifications = env("BENCH_NOTIFICATIONS", 2_000);
    let samples = env("BENCH_LATENCY_SAMPLES", 200).max(1);
    // The worker's defaults (`TRIBUTARY_DELIVERY_CONCURRENCY`, `TRIBUTARY_DELIVERY_PER_HOST`).
    let concurrency = env(
        "BENCH_CONCURRENCY",
        Settings::default().delivery_concurrency,
    );
    let bench = setup().await;
    let per_host = bench.state.settings.delivery_per_host.max(1);
    let (url, inbox, mut arrivals) = receiver().await;

    // One instance polling contacts; its first poll sets the cursor (and reads the provider's
    // clock), and the provider's second-resolution `last_updated` needs the next second.
    let pollers = bench
        .state
        .registry
        .get("infusionsoftrest")
        .unwrap()
        .default_poller_configuration();
    let contacts = json!({"contacts": pollers["contacts"].clone()});
    let id = bench.instance(contacts, &url).await;
    bench.poll(id).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    // 1. Throughput: N×10 events stored by one poll, queued, then drained by the worker.
    let events = notifications * EVENTS_PER_NOTIFICATION;
    let mut left = events;
    while left > 0 {
        let count = left.min(100_000);
        bench.contacts(count).await;
        left -= count;
    }
    let summary = bench.poll(id).await;
    assert_eq!(
        summary["polls"][0]["events"].as_u64(),
        Some(events as u64),
        "{summary}"
    );
    let deliverer = Deliverer::new(bench.state.clone(), concurrency).unwrap();
    let started = Instant::now();
    let mut queued = 0;
    loop {
        let more = deliverer.queue().await;
        if more == 0 {
            break;
        }
        queued += more;
    }
    let queue_elapsed = started.elapsed().as_secs_f64();
    assert_eq!(
        queued, notifications,
        "10 events of one poll per notification"
    );
    println!(
        "queue: {queued} notifications built and stored in {queue_elapsed:.2} s, {:.0}/s (not part of the drain below)",
        queued as f64 / queue_elapsed
    );

    let delivered_before = bench.state.delivery_stats.delivered.load(Ordering::Relaxed);
    let worker = CancellationToken::new();
    let started = Instant::now();
    let running = tokio::spawn(deliverer.clone().run(worker.clone()));
    let mut last = started;
    for _ in 0..notifications {
        last = arrival(&mut arrivals, "throughput").await;
    }
    let drain_elapsed = last.duration_since(started).as_secs_f64();
    worker.cancel();
    running.await.unwrap();
    assert_eq!(
        inbox.received.load(Ordering::SeqCst),
        notifications,
        "no notification sent twice"
    );
    let delivered = bench.state.delivery_stats.delivered.load(Ordering::Relaxed) - delivered_before;
    assert_eq!(
        delivered as usize, notifications,
        "every notification delivered once, its attempt recorded"
    );
    assert_eq!(
        inbox.unsigned.load(Ordering::Relaxed),
        0,
        "every notification signed"
    );
    let rate = notifications as f64 / drain_elapsed;

    // Its ceiling: the same bodies, POSTed by `per_host` plain loops to the same receiver;
    // passes over them repeat for a second at least, so a short run is not noise.
    inbox.capture.store(false, Ordering::Relaxed);
    let bodies: Arc<Vec<Bytes>> = Arc::new(std::mem::take(&mut *inbox.bodies.lock().unwrap()));
    let body_bytes: usize = bodies.iter().map(Bytes::len).sum();
    let bare = reqwest::Client::new();
    let (started, mut posted) = (Instant::now(), 0);
    while posted == 0 || started.elapsed() < Duration::from_secs(1) {
        let mut tasks = Vec::new();
        for worker in 0..per_host {
            let (http, url, bodies) = (bare.clone(), url.clone(), bodies.clone());
            tasks.push(tokio::spawn(async move {
                for body in bodies.iter().skip(worker).step_by(per_host) {
                    bare_post(&http, &url, body).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        posted += bodies.len();
    }
    let bare_rate = posted as f64 / started.elapsed().as_secs_f64();
    println!(
        "delivery: {notifications} notifications ({events} events, {:.1} KB a body) in {drain_elapsed:.2} s, \
         {rate:.0}/s signed and persisted; bare POST loop ({per_host} at once) {bare_rate:.0}/s; \
         {:.1}% of the ceiling",
        body_bytes as f64 / bodies.len() as f64 / 1024.0,
        100.0 * rate / bare_rate
    );

    // 2. Latency: one contact, one poll, its notification received; the worker runs meanwhile.
    while arrivals.try_recv().is_ok() {}
    inbox.capture.store(true, Ordering::Relaxed);
    let worker = CancellationToken::new();
    let running = tokio::spawn(deliverer.clone().run(worker.clone()));
    let (mut latencies, mut empty_polls, mut early, mut batched) = (Vec::new(), 0, 0, 0);
    while latencies.len() < samples {
        bench.contacts(1).await;
        let summary = bench.poll(id).await;
        let stored = Instant::now();
        match summary["polls"][0]["events"].as_u64() {
            Some(0) => {
                // The change is seen by a later poll (the provider's clock ties); no notification.
                empty_polls += 1;
                continue;
            }
            Some(n) if n > 1 => batched += 1,
            Some(_) => {}
            None => panic!("the poll failed: {summary}"),
        }
        let received = arrival(&mut arrivals, "latency").await;
        if received < stored {
            early += 1;
        }
        latencies.push(received.saturating_duration_since(stored));
    }
    worker.cancel();
    running.await.unwrap();
    latencies.sort();

    // Its ceiling: a bare POST round trip of the same (one-event) body, one at a time.
    let body = inbox.bodies.lock().unwrap().last().cloned().unwrap();
    bare_post(&bare, &url, &body).await; // a warm connection, as the worker has
    let mut round_trips = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        bare_post(&bare, &url, &body).await;
        round_trips.push(started.elapsed());
    }
    round_trips.sort();
    let (p50, p99) = (percentile_ms(&latencies, 50), percentile_ms(&latencies, 99));
    let (bare_p50, bare_p99) = (
        percentile_ms(&round_trips, 50),
        percentile_ms(&round_trips, 99),
    );
    println!(
        "latency event stored → received: p50 {p50:.1} ms, p99 {p99:.1} ms ({samples} samples; \
         {empty_polls} polls found nothing yet, {batched} carried two changes, {early} arrived before the poll's answer); \
         bare POST round trip p50 {bare_p50:.2} ms, p99 {bare_p99:.2} ms; p50 {:.0}x, p99 {:.0}x the bare round trip",
        p50 / bare_p50,
        p99 / bare_p99
    );
}
