//! Delivery figures to a receiver on this machine in a process of its own ([`super::receiver`],
//! which checks every signature), each next to its ceiling:
//!
//! 1. notifications per second drained by the real delivery worker (`Deliverer::run`): each one
//!    signed (`Elements-Webhook-Signature`), POSTed and its attempt persisted on SQLite; next to
//!    a bare HTTP POST loop of the same bodies to the same receiver, as many at once as the
//!    per-host limit, on a pooled keep-alive client built as the worker's, measured in the same
//!    run; the bodies' size is shown beside it. How fast the worker builds and stores them
//!    before (the queue) is shown for information;
//! 2. latency from a "poll now" asked to its notification received, p50 and p99, with the
//!    worker running as in production (woken by the poll); next to a bare POST round trip of
//!    the same body. The clock starts when the poll is asked, not when its answer returns: the
//!    worker, woken by the commit, often delivers before the poll's HTTP answer is read, so the
//!    answer is no bound on when the event was stored. The figure is thus an upper bound that
//!    includes the poll's own request to the provider;
//! 3. latency from an event stored to its notification received, p50 and p99, as the issue
//!    words it: events committed as a poll commits them (`delivery::outbox::commit_poll` on the
//!    same instance's poller, its callback the receiver: with the worker idle, the commit queues
//!    and leases the notification itself and hands it over), timed from the commit's return to
//!    the receiver's arrival; next to the same bare round trip. The commits' own durations are
//!    shown beside it, since the queuing moved into them, and the same samples are timed from
//!    the commit's start too ("poll commit begun → received"), which no such move can flatter.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::body::Bytes;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tributary_domain::SystemClock;
use tributary_domain::delivery::elements_signature;

use super::receiver::{ReceiverProcess, Seen, wall_us};
use super::{Figure, Harness, count, number, step};
use tributary_server::delivery::Deliverer;
use tributary_server::settings::Settings;
use tributary_store::{Committed, NewEvent, PollCommit};

/// How big the delivery benchmark is, and the worker's settings.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryOptions {
    /// Notifications of ten events drained in the throughput figure.
    pub notifications: usize,
    /// Events timed from stored to received in the latency figures.
    pub latency_samples: usize,
    /// Notifications sent at once (`TRIBUTARY_DELIVERY_CONCURRENCY`'s default).
    pub concurrency: usize,
    /// Notifications sent at once to one host (`TRIBUTARY_DELIVERY_PER_HOST`'s default).
    pub per_host: usize,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        let settings = Settings::default();
        DeliveryOptions {
            notifications: 2_000,
            latency_samples: 200,
            concurrency: settings.delivery_concurrency,
            per_host: settings.delivery_per_host,
        }
    }
}

const SIGNING_KEY: &str = "bench-signing-key";
/// Events per notification at most (the envelope's batch size).
const EVENTS_PER_NOTIFICATION: usize = 10;

/// Nearest-rank percentile of sorted durations, in milliseconds.
pub(super) fn percentile_ms(sorted: &[Duration], p: usize) -> f64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1) - 1;
    sorted
        .get(rank.min(sorted.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The p50 and p99 figures of one latency (`latencies` and `round_trips` sorted), each against
/// the bare round trip of the same body at the same percentile.
fn latency_figures(
    name: &str,
    latencies: &[Duration],
    round_trips: &[Duration],
    seen: &str,
    body_bytes: usize,
) -> Vec<Figure> {
    [50, 99]
        .into_iter()
        .map(|p| {
            let (value, ceiling) = (percentile_ms(latencies, p), percentile_ms(round_trips, p));
            Figure::against(
                format!("delivery: latency p{p}, {name}"),
                value,
                "ms",
                format!("bare POST round trip p{p}"),
                ceiling,
                format!("the bare round trip (p{p})"),
                false,
                format!(
                    "ratio = latency / the bare round trip; {seen}; ceiling: {} POSTs of the \
                     last one-event body ({body_bytes} bytes), signed, one at a time on a warm \
                     connection (p{p} {} ms)",
                    round_trips.len(),
                    number(ceiling)
                ),
            )
        })
        .collect()
}

/// The bare loops' client: pooled and kept alive, built as the delivery worker builds its own
/// (no proxy, no redirects, the same timeouts), so the ceiling is the machine's, not a weaker
/// client's.
fn bare_client(settings: &Settings) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.delivery_timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// POSTs `body` signed, as the ceiling does; returns when the answer is read.
async fn bare_post(http: &reqwest::Client, url: &str, body: &Bytes) -> anyhow::Result<()> {
    let response = http
        .post(url)
        .header("Content-Type", "application/json")
        .header(
            "Elements-Webhook-Signature",
            elements_signature(SIGNING_KEY, body),
        )
        .body(body.clone())
        .send()
        .await?;
    ensure!(
        response.status().is_success(),
        "the receiver answered {}",
        response.status()
    );
    let _ = response.bytes().await?;
    Ok(())
}

/// Runs the delivery figures against a fresh simulator, server and receiver process.
pub async fn run(options: &DeliveryOptions, bar: &ProgressBar) -> anyhow::Result<Vec<Figure>> {
    run_on(options, bar, None).await
}

/// [`run`] with the server on `database_url` (a fresh database) rather than on a fresh SQLite
/// file: the nodes suite's PostgreSQL figures.
pub(super) async fn run_on(
    options: &DeliveryOptions,
    bar: &ProgressBar,
    database_url: Option<&str>,
) -> anyhow::Result<Vec<Figure>> {
    step(
        bar,
        "starting the simulator, the server and a receiver process",
        1,
    );
    let per_host = options.per_host.max(1);
    // The system clock: delivery compares due times with `now_ms`. No scheduler and no delivery
    // worker: the benchmark starts its own worker when it times it.
    let bench = Harness::start("delivery", Arc::new(SystemClock), |settings| {
        settings.allow_private_callbacks = true;
        settings.delivery_concurrency = 0;
        settings.delivery_per_host = per_host;
        if let Some(url) = database_url {
            settings.database_url = url.to_owned();
            settings.master_key = Some(super::MASTER_KEY.into());
        }
    })
    .await?;
    let figures = match ReceiverProcess::start(SIGNING_KEY) {
        Ok(receiver) => measure(options, bar, &bench, &receiver).await,
        Err(error) => Err(error),
    };
    bench.stop().await;
    figures
}

/// Checks that every arrival so far was signed, and signed right.
fn signed(seen: &Seen) -> anyhow::Result<()> {
    ensure!(
        seen.unsigned == 0,
        "{} notifications arrived unsigned",
        seen.unsigned
    );
    ensure!(
        seen.bad_signature == 0,
        "{} notifications arrived with a wrong signature",
        seen.bad_signature
    );
    Ok(())
}

/// Microseconds between two wall-clock readings, as a duration.
fn between(from_us: i64, to_us: i64) -> Duration {
    Duration::from_micros(u64::try_from(to_us - from_us).unwrap_or(0))
}

async fn measure(
    options: &DeliveryOptions,
    bar: &ProgressBar,
    bench: &Harness,
    receiver: &ReceiverProcess,
) -> anyhow::Result<Vec<Figure>> {
    let notifications = options.notifications;
    let samples = options.latency_samples.max(1);
    let concurrency = options.concurrency;
    let per_host = bench.state.settings.delivery_per_host.max(1);
    let url = receiver.url();
    // Every notification the receiver has had, the bare loops' included.
    let mut arrived = 0;

    // One instance polling contacts; its first poll sets the cursor (and reads the provider's
    // clock), and the provider's second-resolution `last_updated` needs the next second.
    step(
        bar,
        "an instance of contacts, its first poll, the next second",
        1,
    );
    let pollers = bench.default_pollers()?;
    let contacts = json!({"contacts": pollers["contacts"].clone()});
    let id = bench
        .instance(contacts.clone(), &url, Some(SIGNING_KEY))
        .await?;
    bench.poll(id).await?;
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    // 1. Throughput: N×10 events stored by one poll, queued, then drained by the worker.
    let events = notifications * EVENTS_PER_NOTIFICATION;
    step(
        bar,
        format!(
            "{} new contacts, one poll storing their events",
            count(events)
        ),
        1,
    );
    bench.contacts(events).await?;
    let summary = bench.poll(id).await?;
    ensure!(
        summary["polls"][0]["events"].as_u64() == Some(events as u64),
        "the poll stored {} events of {events}: {summary}",
        summary["polls"][0]["events"]
    );
    let deliverer = Deliverer::new(bench.state.clone(), concurrency)?;
    step(
        bar,
        format!(
            "timed: queueing {} notifications of {EVENTS_PER_NOTIFICATION} events",
            count(notifications)
        ),
        notifications as u64,
    );
    let started = Instant::now();
    let mut queued = 0;
    loop {
        let more = deliverer.queue().await;
        if more == 0 {
            break;
        }
        queued += more;
        bar.inc(more as u64);
    }
    let queue_elapsed = started.elapsed().as_secs_f64();
    ensure!(
        queued == notifications,
        "{queued} notifications queued for {events} events of one poll, not {notifications} \
         (10 events a notification)"
    );

    step(
        bar,
        format!(
            "timed: delivering {} notifications, signed and persisted",
            count(notifications)
        ),
        1,
    );
    receiver.capture(true).await?;
    let delivered_before = bench.state.delivery_stats.delivered.load(Ordering::Relaxed);
    let worker = CancellationToken::new();
    let cpu_before = super::polling::cpu_ms();
    let started_us = wall_us();
    let running = tokio::spawn(deliverer.clone().run(worker.clone()));
    let last = receiver.wait(arrived + notifications).await;
    worker.cancel();
    running.await.context("the delivery worker stopped")?;
    // This process's CPU over the drain: the worker's, with the idle simulator's and the
    // bench's waiting (the receiver runs in a process of its own).
    let cpu_per_notification = (super::polling::cpu_ms() - cpu_before) / notifications as f64;
    let last_us = last?.at_us.context("no arrival time")?;
    bar.inc(1);
    arrived += notifications;
    let drain_elapsed = between(started_us, last_us).as_secs_f64();
    let seen = receiver.seen().await?;
    ensure!(
        seen.received == arrived,
        "{} notifications received for {notifications}: none may be sent twice",
        seen.received
    );
    signed(&seen)?;
    let delivered = bench.state.delivery_stats.delivered.load(Ordering::Relaxed) - delivered_before;
    ensure!(
        delivered as usize == notifications,
        "{delivered} deliveries recorded for {notifications}: each must be delivered once, its \
         attempt recorded"
    );
    let rate = notifications as f64 / drain_elapsed;
    let queue = Figure::informational(
        "delivery: notifications queued/s (built and stored)",
        queued as f64 / queue_elapsed,
        "notifications/s",
        true,
        format!(
            "informational, no ceiling (ceiling = value, ratio 1): {} notifications built from \
             one poll's events and stored in {queue_elapsed:.2} s by Deliverer::queue, before \
             and not part of the drain above",
            count(queued)
        ),
    );

    // Its ceiling: the same bodies, POSTed by `per_host` plain loops to the same receiver;
    // passes over them repeat for a second at least, so a short run is not noise.
    receiver.capture(false).await?;
    let bodies: Arc<Vec<Bytes>> = Arc::new(receiver.take_bodies().await?);
    ensure!(
        bodies.len() == notifications,
        "{} bodies captured",
        bodies.len()
    );
    let body_bytes: usize = bodies.iter().map(Bytes::len).sum();
    let body_size = body_bytes as f64 / bodies.len() as f64;
    let bare = bare_client(&bench.state.settings)?;
    step(
        bar,
        format!("ceiling: a bare POST loop, {per_host} at once, for 1 s at least"),
        bodies.len() as u64,
    );
    let (started, mut posted) = (Instant::now(), 0);
    while posted == 0 || started.elapsed() < Duration::from_secs(1) {
        bar.set_length((posted + bodies.len()) as u64);
        let mut tasks = Vec::new();
        for worker in 0..per_host {
            let (http, url, bodies, bar) = (bare.clone(), url.clone(), bodies.clone(), bar.clone());
            tasks.push(tokio::spawn(async move {
                for body in bodies.iter().skip(worker).step_by(per_host) {
                    bare_post(&http, &url, body).await?;
                    bar.inc(1);
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await.context("a POST loop stopped")??;
        }
        posted += bodies.len();
    }
    let bare_rate = posted as f64 / started.elapsed().as_secs_f64();
    arrived += posted;
    signed(&receiver.wait(arrived).await?)?;
    let mut figures = vec![
        Figure::against(
            format!("delivery: notifications/s (signed, persisted, {per_host} per host)"),
            rate,
            "notifications/s",
            format!("bare POST loop, {per_host} at once"),
            bare_rate,
            "the bare POST loop's rate",
            true,
            format!(
                "ratio = notifications/s / bare POSTs/s; {} notifications ({} events, {} bytes a \
                 body) drained in {drain_elapsed:.2} s by the delivery worker (Deliverer::run, \
                 concurrency {concurrency}), each signed, POSTed to a receiver in a process of \
                 its own (which checks each signature) and its attempt recorded in the database; \
                 ceiling: the same bodies signed and POSTed by {per_host} plain loops on one \
                 pooled keep-alive client built as the worker's, to the same receiver, {} POSTs \
                 over {:.2} s; this process (the worker, the idle simulator) used {:.3} ms of \
                 CPU per notification over the drain",
                count(notifications),
                count(events),
                number(body_size),
                count(posted),
                posted as f64 / bare_rate,
                cpu_per_notification
            ),
        ),
        Figure::informational(
            "delivery: body size of the notifications above",
            body_size,
            "bytes",
            false,
            format!(
                "informational, no ceiling (ceiling = value, ratio 1): the mean size of the {} \
                 bodies of the throughput figure ({EVENTS_PER_NOTIFICATION} contacts each, in \
                 the Cloud Elements envelope), {:.1} MB in all",
                count(notifications),
                body_bytes as f64 / 1e6
            ),
        ),
    ];
    // 2. Latency: one task, one poll, its notification received; the worker runs meanwhile.
    // On an instance of its own, polling tasks, which nothing above touched: the throughput's
    // poller remembers its 20,000 records' ids (the dedupe memory of its cursor's second),
    // which every later poll of it reads and rewrites, and a new poller of contacts would
    // first find those 20,000 records; either would measure that rather than delivery.
    step(
        bar,
        "latency: a fresh instance of tasks, its first poll, the next second",
        1,
    );
    let tasks = json!({"tasks": pollers["tasks"].clone()});
    let id = bench.instance(tasks, &url, Some(SIGNING_KEY)).await?;
    let first = bench.poll(id).await?;
    ensure!(
        first["polls"][0]["events"].as_u64() == Some(0),
        "the tasks instance's first poll found events: {first}"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let worker = CancellationToken::new();
    let running = tokio::spawn(deliverer.clone().run(worker.clone()));
    receiver.capture(true).await?;
    step(
        bar,
        format!("latency: {samples} times a task, a poll, its notification"),
        samples as u64,
    );
    let (mut latencies, mut empty_polls, mut early, mut batched) = (Vec::new(), 0, 0, 0);
    let outcome = async {
        while latencies.len() < samples {
            let made = bench
                .http
                .post(format!("{}/_sim/records", bench.sim.url()))
                .json(&json!({"resource": "tasks", "count": 1}))
                .send()
                .await?;
            ensure!(
                made.status().is_success(),
                "the simulator refused a task: {}",
                made.status()
            );
            let asked_us = wall_us();
            let summary = bench.poll(id).await?;
            let answered_us = wall_us();
            match summary["polls"][0]["events"].as_u64() {
                Some(0) => {
                    // The change is seen by a later poll (the provider's clock ties); no
                    // notification.
                    empty_polls += 1;
                    continue;
                }
                Some(n) if n > 1 => batched += 1,
                Some(_) => {}
                None => bail!("the poll failed: {summary}"),
            }
            arrived += 1;
            let received_us = receiver.wait(arrived).await?.at_us.context("no arrival")?;
            if received_us < answered_us {
                early += 1;
            }
            latencies.push(between(asked_us, received_us));
            bar.inc(1);
        }
        anyhow::Ok(())
    }
    .await;
    if let Err(error) = outcome {
        worker.cancel();
        let _ = running.await;
        return Err(error);
    }
    latencies.sort();

    // 2b. Latency as the issue words it: from an event stored to its notification received.
    // Events are committed through the store as a poll commits them (`commit_poll`, on the same
    // instance and poller, so its callback is the receiver) and the worker nudged as a poll
    // nudges it; the clock starts when the commit returns.
    step(
        bar,
        format!("latency: {samples} times an event stored by a poll commit, its notification"),
        samples as u64,
    );
    let (mut stored, mut stored_early) = (Vec::with_capacity(samples), 0);
    let (mut commits, mut whole) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    let at_commit = || {
        bench
            .state
            .delivery_stats
            .leased_at_commit
            .load(Ordering::Relaxed)
    };
    let leased_before = at_commit();
    let outcome = async {
        for sample in 0..samples {
            let poller = bench
                .state
                .store
                .poller(id, "tasks")
                .await?
                .context("the tasks poller")?;
            let now = bench.state.now_ms();
            let commit = PollCommit {
                instance_id: id,
                resource: "tasks".into(),
                expected_version: poller.version,
                events: vec![NewEvent {
                    event_id: format!("bench-stored-{sample}"),
                    object_id: format!("bench-{sample}"),
                    event_type: "CREATED".into(),
                    date_ms: now,
                    poll_date_ms: now,
                    date_error: None,
                    record: json!({"id": format!("bench-{sample}")}).to_string(),
                }],
                cursor_ms: poller.cursor_ms.unwrap_or(now),
                seen: poller.seen.clone(),
                summary: poller.last_summary.clone().unwrap_or_default(),
                next_due_ms: poller.next_due_ms,
                now_ms: now,
            };
            let (started, begun_us) = (Instant::now(), wall_us());
            let committed = tributary_server::delivery::outbox::commit_poll(
                &bench.state,
                poller.instance_version,
                commit,
                None,
                None,
            )
            .await?;
            let committed_us = wall_us();
            commits.push(started.elapsed());
            ensure!(
                committed == Committed::Done { inserted: 1 },
                "the commit stored {committed:?}, not one event"
            );
            arrived += 1;
            let received_us = receiver.wait(arrived).await?.at_us.context("no arrival")?;
            if received_us < committed_us {
                stored_early += 1;
            }
            stored.push(between(committed_us, received_us));
            whole.push(between(begun_us, received_us));
            bar.inc(1);
        }
        anyhow::Ok(())
    }
    .await;
    worker.cancel();
    running.await.context("the delivery worker stopped")?;
    outcome?;
    stored.sort();
    commits.sort();
    whole.sort();
    let leased_at_commit = at_commit() - leased_before;

    // Its ceiling: a bare POST round trip of the same (one-event) body, one at a time.
    receiver.capture(false).await?;
    let body = receiver
        .take_bodies()
        .await?
        .pop()
        .context("no notification body captured")?;
    step(
        bar,
        format!("ceiling: {samples} bare POST round trips, one at a time"),
        samples as u64,
    );
    bare_post(&bare, &url, &body).await?; // a warm connection, as the worker has
    let mut round_trips = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        bare_post(&bare, &url, &body).await?;
        round_trips.push(started.elapsed());
        bar.inc(1);
    }
    round_trips.sort();
    signed(&receiver.seen().await?)?;
    let seen = format!(
        "{samples} samples on an instance of their own polling tasks: each a new task, a \
         \"poll now\" and its notification received by the receiver process with the delivery worker running as in production (woken by \
         the poll), timed from the \"poll now\" asked to the receiver's arrival (one wall clock \
         for both processes), so the poll's own provider request is included; {empty_polls} \
         polls found nothing yet, {batched} carried two changes, {early} arrived before the \
         poll's answer was read (counted like the others: the clock starts at the asking)"
    );
    let seen_stored = format!(
        "{samples} samples on the same instance: each one event committed as a poll commits it \
         (delivery::outbox::commit_poll on its poller: {leased_at_commit} of them queued and \
         leased by the commit itself, the worker being idle, the rest left to its queue pass), \
         timed from the commit's return to the receiver's arrival (one wall clock for both \
         processes); {stored_early} arrived before the commit returned (counted as 0); the \
         commits themselves took p50 {:.3} ms, p99 {:.3} ms",
        percentile_ms(&commits, 50),
        percentile_ms(&commits, 99),
    );
    figures.extend(latency_figures(
        "event stored → received",
        &stored,
        &round_trips,
        &seen_stored,
        body.len(),
    ));
    // The same samples with their commits in: where the queuing happens (the commit or a
    // queue pass after it) does not move what this figure holds.
    figures.extend(latency_figures(
        "poll commit begun → received",
        &whole,
        &round_trips,
        &format!("{seen_stored}; timed here from the commit's start"),
        body.len(),
    ));
    figures.extend(latency_figures(
        "poll asked → received",
        &latencies,
        &round_trips,
        &seen,
        body.len(),
    ));
    figures.push(queue);
    Ok(figures)
}
