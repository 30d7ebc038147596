//! Polling figures against the simulator on this machine, each next to its ceiling:
//!
//! 1. an idle poll (nothing changed): provider requests per poll (the ideal is one), and CPU and
//!    wall time per poll (informational: no ceiling);
//! 2. polls per second sustained over many idle instance-resources, next to a bare HTTP GET loop
//!    against the same simulator (same concurrency, same request, as many requests as polls);
//! 3. records per second of a backfill poll (one poll finding every record new, stored in one
//!    transaction in SQLite), next to bare paging of the same records with the poll's own
//!    request (GETs of 1000, one after another) measured just before it.
//!
//! Each figure is taken for Keap (`infusionsoftrest`), Salesforce (`sfdc`), HubSpot
//! (`hubspotcrm`) and QuickBooks Online (`quickbooks`), the others' figures named
//! `polling (KEY): …`. Salesforce's polls also sweep deletes once a minute of the provider's has
//! passed, HubSpot's read the archived list at every poll (an idle poll is two requests), so the
//! sustained figure's ceiling makes as many bare requests as the polls made, those of an idle
//! poll in turn. The backfill's ceiling pages the same records bare as a client that knows the
//! provider would (`bare`): HubSpot's records share one modified time (the search's 10,000 cap,
//! re-windowed), QuickBooks' come 500 a second (CDC's 1,000-object cap, narrowed).
//!
//! Tributary runs with a manual clock, so "a minute later" is one call; Keap's and Salesforce's
//! simulators keep real time, HubSpot's and QuickBooks' share the manual clock (a poll reads
//! HubSpot only up to a minute ago, and QuickBooks' dates have one-second resolution: the
//! benchmark moves time instead of waiting for it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::json;
use tributary_domain::{Clock, ManualClock, SystemClock};

use super::bare::{self, Paged, provider_requests, request_log};
use super::{BenchElement, Figure, Harness, count, step};
use tributary_server::scheduler::Scheduler;

/// How big the polling benchmark is.
#[derive(Debug, Clone, Serialize)]
pub struct PollingOptions {
    /// Idle instance-resources polled in the sustained figure (instances of seven resources).
    pub instance_resources: usize,
    /// Records found by the backfill poll.
    pub backfill: usize,
}

impl Default for PollingOptions {
    fn default() -> Self {
        PollingOptions {
            instance_resources: 2_100,
            backfill: 20_000,
        }
    }
}

/// Polls at once in the sustained figure, and requests at once in its ceiling.
const CONCURRENCY: usize = 64;
/// Polls in the idle figure.
const IDLE_POLLS: usize = 200;
/// Where the instances' notifications would go (nothing here is delivered: no event is new,
/// but the backfill's, after its figure is taken).
const CALLBACK: &str = "https://r.example/";

/// CPU time of this process (user + system) in milliseconds, from /proc (0 elsewhere).
pub(super) fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields after the command name: utime is the 12th, stime the 13th (0-based 11, 12).
    (ticks(11) + ticks(12)) * 10.0
}

/// Steps the scheduler until nothing is due; returns (polls, polls that failed, events found).
async fn drain(scheduler: &Scheduler, bar: &ProgressBar) -> (usize, usize, u64) {
    let (mut total, mut failed, mut events) = (0, 0, 0);
    loop {
        let polls = scheduler.run_once().await;
        if polls.is_empty() {
            return (total, failed, events);
        }
        total += polls.len();
        failed += polls.iter().filter(|p| p.error.is_some()).count();
        events += polls.iter().map(|p| p.events).sum::<u64>();
        bar.inc(polls.len() as u64);
    }
}

/// Runs the three polling figures against a fresh simulator and server, for each element.
pub async fn run(options: &PollingOptions, bar: &ProgressBar) -> anyhow::Result<Vec<Figure>> {
    let elements = [
        BenchElement::Infusionsoft,
        BenchElement::Salesforce,
        BenchElement::HubSpot,
        BenchElement::QuickBooks,
    ];
    run_on(options, bar, &elements, None).await
}

/// [`run`] for `elements`, with the server on `database_url` (a fresh database) rather than on
/// a fresh SQLite file: the nodes suite's PostgreSQL figures.
pub(super) async fn run_on(
    options: &PollingOptions,
    bar: &ProgressBar,
    elements: &[BenchElement],
    database_url: Option<&str>,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for &element in elements {
        step(
            bar,
            format!("starting the {} simulator and the server", element.key()),
            1,
        );
        let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
        let bench = Harness::start_for("polling", element, clock.clone(), |settings| {
            if let Some(url) = database_url {
                settings.database_url = url.to_owned();
                settings.master_key = Some(super::MASTER_KEY.into());
            }
        })
        .await?;
        let measured = measure(options, bar, &bench, &clock).await;
        bench.stop().await;
        figures.extend(measured?);
    }
    Ok(figures)
}

/// What differs between the elements' figures.
struct Polled {
    /// The figures' name prefix.
    prefix: &'static str,
    /// The resource of the idle poll.
    idle: &'static str,
    /// The resource of the backfill.
    backfill: &'static str,
    /// The requests an idle poll needs at least, and what they are.
    ideal: (f64, &'static str),
    /// The sustained figure's bare request, in words.
    bare: &'static str,
    /// The backfill's bare paging, in words.
    paging: &'static str,
}

impl Polled {
    fn of(element: BenchElement) -> Polled {
        match element {
            BenchElement::Infusionsoft => Polled {
                prefix: "polling",
                idle: "appointments",
                backfill: "contacts",
                ideal: (1.0, "one list request"),
                bare: "contacts, since, limit 1000",
                paging: "same since, limit {page_size}, offsets in turn, not parsed",
            },
            BenchElement::Salesforce => Polled {
                prefix: "polling (sfdc)",
                idle: "contacts",
                backfill: "contacts",
                ideal: (1.0, "one list request"),
                bare: "a poll's own SOQL query",
                paging: "same SOQL, batchSize {page_size}, then each nextRecordsUrl until done",
            },
            BenchElement::HubSpot => Polled {
                prefix: "polling (hubspotcrm)",
                idle: "contacts",
                backfill: "contacts",
                ideal: (2.0, "one search and the archived list"),
                bare: "a poll's search, then its archived list",
                paging: "search pages of {page_size} sorted by modified time, restarted after \
                         the last (time, id) before the 10,000 cap, one query of two filter groups",
            },
            BenchElement::QuickBooks => Polled {
                prefix: "polling (quickbooks)",
                idle: "customers",
                backfill: "customers",
                ideal: (1.0, "one change-feed request"),
                bare: "a poll's own CDC request",
                paging: "CDC answers of up to {page_size}, each full one narrowed from its \
                         last second",
            },
        }
    }

    fn name(&self, figure: &str) -> String {
        format!("{}: {figure}", self.prefix)
    }
}

/// The backfill's records at the simulator: `count` new ones of its resource, as the element
/// makes them worth measuring (HubSpot's all at one modified time, QuickBooks' 500 a second),
/// then time moved past what a poll would not read yet.
async fn backfill_records(
    bench: &Harness,
    clock: &ManualClock,
    count: usize,
) -> anyhow::Result<()> {
    match bench.element {
        BenchElement::QuickBooks => {
            let mut left = count;
            while left > 0 {
                let chunk = left.min(500);
                bench.contacts(chunk).await?;
                clock.advance_ms(1_000);
                left -= chunk;
            }
            Ok(())
        }
        BenchElement::HubSpot => {
            bench.contacts(count).await?;
            // A poll reads up to a minute ago (the search index's settle time).
            clock.advance_ms(61_000);
            Ok(())
        }
        BenchElement::Infusionsoft | BenchElement::Salesforce => bench.contacts(count).await,
    }
}

async fn measure(
    options: &PollingOptions,
    bar: &ProgressBar,
    bench: &Harness,
    clock: &ManualClock,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    let pollers = bench.default_pollers()?;
    let polled = Polled::of(bench.element);
    let idle_resource = polled.idle;

    // 1. The idle poll.
    let one = json!({ idle_resource: pollers[idle_resource].clone() });
    let idle = bench.instance(one, CALLBACK, None).await?;
    bench.poll(idle).await?; // the first poll also reads the provider's clock
    step(
        bar,
        format!("idle poll: {IDLE_POLLS} polls of one resource, nothing new"),
        IDLE_POLLS as u64,
    );
    let (requests, cpu, started) = (provider_requests(bench).await?, cpu_ms(), Instant::now());
    for _ in 0..IDLE_POLLS {
        let summary = bench.poll(idle).await?;
        ensure!(
            summary["polls"][0]["events"] == 0 && summary["polls"][0]["error"].is_null(),
            "an idle poll found events or failed: {summary}"
        );
        bar.inc(1);
    }
    let wall = started.elapsed().as_secs_f64() * 1000.0 / IDLE_POLLS as f64;
    let cpu = (cpu_ms() - cpu) / IDLE_POLLS as f64;
    let requests = (provider_requests(bench).await? - requests) as f64 / IDLE_POLLS as f64;
    let idle_notes = format!(
        "{IDLE_POLLS} \"poll now\" requests, one at a time, for one instance polling \
         {idle_resource}, with nothing new at the provider"
    );
    let (ideal, ideal_words) = polled.ideal;
    figures.push(Figure::against(
        polled.name("provider requests per idle poll"),
        requests,
        "requests/poll",
        format!("the ideal: {ideal_words}"),
        ideal,
        format!("the ideal ({ideal} requests)"),
        false,
        format!("ratio = requests / {ideal}; {idle_notes}"),
    ));
    figures.push(Figure::informational(
        polled.name("CPU per idle poll (server and simulator)"),
        cpu,
        "ms/poll",
        false,
        format!(
            "informational, no ceiling (ceiling = value, ratio 1): user + system CPU of this \
             process, which runs the server, the simulator and the client, from /proc at 10 ms \
             resolution; {idle_notes}"
        ),
    ));
    figures.push(Figure::informational(
        polled.name("wall time per idle poll"),
        wall,
        "ms/poll",
        false,
        format!(
            "informational, no ceiling (ceiling = value, ratio 1): from the \"poll now\" request \
             sent to its answer; {idle_notes}"
        ),
    ));

    // 2. Sustained idle polls over many instance-resources, next to bare GETs.
    let per_instance = pollers.as_object().map_or(0, |p| p.len());
    ensure!(per_instance > 0, "the element has no default pollers");
    let instances = options.instance_resources.div_ceil(per_instance);
    step(
        bar,
        format!(
            "creating {} instances of {per_instance} resources",
            count(instances)
        ),
        instances as u64,
    );
    for _ in 0..instances {
        bench.instance(pollers.clone(), CALLBACK, None).await?;
        bar.inc(1);
    }
    // Every instance's resources, and the idle instance's one.
    let expected = instances * per_instance + 1;
    let scheduler = Scheduler::new(bench.state.clone(), CONCURRENCY, Duration::from_secs(300));
    step(
        bar,
        format!(
            "first polls of {} instance-resources (they read the provider's clock)",
            count(expected)
        ),
        expected as u64,
    );
    clock.advance_ms(120_000);
    let (first, failed, events) = drain(&scheduler, bar).await;
    ensure!(
        first == expected && failed == 0 && events == 0,
        "the first polls: {first} of {expected} ran, {failed} failed, {events} events"
    );
    clock.advance_ms(120_000);
    step(
        bar,
        format!(
            "timed: {} idle polls, {CONCURRENCY} at once",
            count(expected)
        ),
        expected as u64,
    );
    let before = provider_requests(bench).await?;
    let started = Instant::now();
    let (polls, failed, events) = drain(&scheduler, bar).await;
    let poll_rate = polls as f64 / started.elapsed().as_secs_f64();
    ensure!(
        polls == expected && failed == 0 && events == 0,
        "the timed polls: {polls} of {expected} ran, {failed} failed, {events} events"
    );
    // As many bare requests as the polls made (Salesforce's also swept deletes).
    let requests = provider_requests(bench).await? - before;

    let token = bench.token().await?;
    let loop_requests = bare::idle_requests(bench).await?;
    step(
        bar,
        format!("ceiling: a bare GET loop, {CONCURRENCY} at once"),
        requests as u64,
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (http, loop_requests, token, bar) = (
            bench.http.clone(),
            loop_requests.clone(),
            token.clone(),
            bar.clone(),
        );
        let share = requests / CONCURRENCY + usize::from(worker < requests % CONCURRENCY);
        tasks.push(tokio::spawn(async move {
            for (request, _) in loop_requests.iter().cycle().zip(0..share) {
                request.send(&http, &token).await?;
                bar.inc(1);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("a GET loop stopped")??;
    }
    // The loop's rate in "polls' worth" of requests: a poll that made two requests is worth
    // two bare GETs.
    let get_rate = polls as f64 / started.elapsed().as_secs_f64();
    figures.push(Figure::against(
        polled.name("idle polls/s sustained"),
        poll_rate,
        "polls/s",
        format!("bare GET loop, {CONCURRENCY} at once"),
        get_rate,
        "the bare GET loop's rate",
        true,
        format!(
            "ratio = polls/s / bare GETs/s (counted per poll); {} idle instance-resources ({} \
             instances × {per_instance} and one; {} first polls before), drained by the \
             scheduler {CONCURRENCY} at once, {} provider requests in all; ceiling: a list \
             request ({}, nothing new) as often as the polls requested, {CONCURRENCY} plain \
             loops against the same simulator",
            count(polls),
            count(instances),
            count(first),
            count(requests),
            polled.bare
        ),
    ));

    // 3. A backfill: one poll that finds every record new.
    let backfill = polled.backfill;
    step(
        bar,
        format!("backfill: an instance of {backfill}, its first poll, the next second"),
        1,
    );
    let contacts = json!({ backfill: pollers[backfill].clone() });
    let backfilled = bench.instance(contacts, CALLBACK, None).await?;
    // The request log from here on holds this instance's first poll, whose page request is the
    // one the backfill poll repeats (with a later `since`, which finds the same new records).
    let cleared = bench
        .http
        .delete(format!("{}/_sim/requests", bench.sim.url()))
        .send()
        .await?;
    ensure!(
        cleared.status().is_success(),
        "cannot clear the request log"
    );
    bench.poll(backfilled).await?;
    let page_request = request_log(bench)
        .await?
        .into_iter()
        .rfind(|r| {
            r["method"] == "GET"
                && r["path"].as_str().is_some_and(|p| {
                    p.ends_with("/contacts") || p.ends_with("/query") || p.ends_with("/cdc")
                })
        })
        .or_else(|| {
            // HubSpot's first poll searches (a POST, its body not logged): `bare` builds it.
            (bench.element == BenchElement::HubSpot).then(|| json!({}))
        })
        .context("the first poll made no page request")?;
    clock.advance_ms(2_000);
    if !bench.element.shares_the_clock() {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    // The backfill's start at the provider (the clock the simulator keeps).
    let since_ms = if bench.element.shares_the_clock() {
        clock.now_ms()
    } else {
        SystemClock.now_ms()
    };
    step(
        bar,
        format!(
            "backfill: {} new {backfill} at the simulator",
            count(options.backfill)
        ),
        1,
    );
    backfill_records(bench, clock, options.backfill).await?;

    // Its ceiling first, while nothing else runs: the poll's request, page by page.
    let Paged {
        records: paged,
        pages,
        page_size,
        seconds: paging_elapsed,
    } = bare::backfill(
        bench,
        bar,
        &page_request,
        &token,
        options.backfill,
        since_ms,
    )
    .await?;
    ensure!(
        paged == options.backfill,
        "bare paging read {paged} {backfill} of {}",
        options.backfill
    );
    let paging_rate = paged as f64 / paging_elapsed;

    step(
        bar,
        format!(
            "timed: the backfill poll of {} records",
            count(options.backfill)
        ),
        1,
    );
    let started = Instant::now();
    let summary = bench.poll(backfilled).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let events = summary["polls"][0]["events"].as_u64().unwrap_or(0);
    ensure!(
        events as usize == options.backfill,
        "the backfill poll found {events} of {} records: {summary}",
        options.backfill
    );
    let poll_pages = summary["polls"][0]["pages"].as_u64().unwrap_or(0);
    // Where the provider caps a query, the poll's way past the cap is not the bare client's
    // (HubSpot's ties are read on their own), so only the uncapped read the same pages.
    ensure!(
        bench.element.shares_the_clock() || poll_pages == pages as u64,
        "the backfill poll read {poll_pages} pages, bare paging {pages}"
    );
    bar.inc(1);
    figures.push(Figure::against(
        polled.name("backfill records/s (one poll, one transaction)"),
        events as f64 / elapsed,
        "records/s",
        format!("bare paging of the same records, GETs of {page_size}"),
        paging_rate,
        "bare paging's rate",
        true,
        format!(
            "ratio = records/s / bare paging's records/s; {} records in {elapsed:.2} s \
             ({poll_pages} pages) read, turned into events and stored in one transaction; \
             ceiling: the records paged bare ({}; {pages} pages) one request after another just \
             before the poll, bodies read ({:.2} s)",
            count(events as usize),
            polled.paging.replace("{page_size}", &page_size.to_string()),
            paging_elapsed
        ),
    ));
    Ok(figures)
}
