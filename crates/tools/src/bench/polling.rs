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
//! Each figure is taken for Keap (`infusionsoftrest`) and for Salesforce (`sfdc`, its figures
//! named `polling (sfdc): …`). Salesforce's polls also sweep deletes once a minute of the
//! provider's has passed, so its sustained figure's ceiling makes as many bare requests as the
//! polls made (list and delete requests), and its bare paging follows `nextRecordsUrl`.
//!
//! Tributary runs with a manual clock, so "a minute later" is one call; the simulator keeps
//! real time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::{Value, json};
use tributary_domain::{Clock, ManualClock, SystemClock};

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
fn cpu_ms() -> f64 {
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

/// The simulator's request log (GET /_sim/requests).
async fn request_log(bench: &Harness) -> anyhow::Result<Vec<Value>> {
    Ok(bench
        .http
        .get(format!("{}/_sim/requests", bench.sim.url()))
        .send()
        .await?
        .json()
        .await?)
}

async fn provider_gets(bench: &Harness) -> anyhow::Result<usize> {
    Ok(request_log(bench)
        .await?
        .iter()
        .filter(|r| r["method"] == "GET")
        .count())
}

/// Runs the three polling figures against a fresh simulator and server, for each element.
pub async fn run(options: &PollingOptions, bar: &ProgressBar) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for element in [BenchElement::Infusionsoft, BenchElement::Salesforce] {
        step(
            bar,
            format!("starting the {} simulator and the server", element.key()),
            1,
        );
        let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
        let bench = Harness::start_for("polling", element, clock.clone(), |_| {}).await?;
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
}

impl Polled {
    fn of(element: BenchElement) -> Polled {
        match element {
            BenchElement::Infusionsoft => Polled {
                prefix: "polling",
                idle: "appointments",
            },
            BenchElement::Salesforce => Polled {
                prefix: "polling (sfdc)",
                idle: "contacts",
            },
        }
    }

    fn name(&self, figure: &str) -> String {
        format!("{}: {figure}", self.prefix)
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
    let (requests, cpu, started) = (provider_gets(bench).await?, cpu_ms(), Instant::now());
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
    let requests = (provider_gets(bench).await? - requests) as f64 / IDLE_POLLS as f64;
    let idle_notes = format!(
        "{IDLE_POLLS} \"poll now\" requests, one at a time, for one instance polling \
         {idle_resource}, with nothing new at the provider"
    );
    figures.push(Figure::against(
        polled.name("provider requests per idle poll"),
        requests,
        "requests/poll",
        "the ideal: one list request",
        1.0,
        "the ideal (one request)",
        false,
        format!("ratio = requests / 1; {idle_notes}"),
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
    let before = provider_gets(bench).await?;
    let started = Instant::now();
    let (polls, failed, events) = drain(&scheduler, bar).await;
    let poll_rate = polls as f64 / started.elapsed().as_secs_f64();
    ensure!(
        polls == expected && failed == 0 && events == 0,
        "the timed polls: {polls} of {expected} ran, {failed} failed, {events} events"
    );
    // As many bare requests as the polls made (Salesforce's also swept deletes).
    let requests = provider_gets(bench).await? - before;

    let token = bench.token().await?;
    let url = bare_url(bench).await?;
    step(
        bar,
        format!("ceiling: a bare GET loop, {CONCURRENCY} at once"),
        requests as u64,
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (http, url, token, bar) = (bench.http.clone(), url.clone(), token.clone(), bar.clone());
        let share = requests / CONCURRENCY + usize::from(worker < requests % CONCURRENCY);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let response = http.get(&url).bearer_auth(&token).send().await?;
                ensure!(
                    response.status().is_success(),
                    "the simulator answered {}",
                    response.status()
                );
                let _ = response.bytes().await?;
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
            match bench.element {
                BenchElement::Infusionsoft => "contacts, since, limit 1000",
                BenchElement::Salesforce => "a poll's own SOQL query",
            }
        ),
    ));

    // 3. A backfill: one poll that finds every record new.
    step(
        bar,
        "backfill: an instance of contacts, its first poll, the next second",
        1,
    );
    let contacts = json!({"contacts": pollers["contacts"].clone()});
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
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/contacts") || p.ends_with("/query"))
        })
        .context("the first poll of contacts made no page request")?;
    clock.advance_ms(2_000);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    step(
        bar,
        format!(
            "backfill: {} new contacts at the simulator",
            count(options.backfill)
        ),
        1,
    );
    bench.contacts(options.backfill).await?;

    // Its ceiling first, while nothing else runs: the poll's request, page by page.
    let Paged {
        records: paged,
        pages,
        page_size,
        seconds: paging_elapsed,
    } = match bench.element {
        BenchElement::Infusionsoft => {
            bare_offset_paging(bench, bar, &page_request, &token, options.backfill).await?
        }
        BenchElement::Salesforce => bare_locator_paging(bench, bar, &page_request, &token).await?,
    };
    ensure!(
        paged == options.backfill,
        "bare paging read {paged} contacts of {}",
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
    ensure!(
        summary["polls"][0]["pages"].as_u64() == Some(pages as u64),
        "the backfill poll read {} pages, bare paging {pages}",
        summary["polls"][0]["pages"]
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
            "ratio = records/s / bare paging's records/s; {} records in {elapsed:.2} s ({pages} \
             pages) read, turned into events and stored in one transaction; ceiling: the \
             poll's own page request ({}) sent bare one after another just before the poll, \
             bodies read ({:.2} s)",
            count(events as usize),
            match bench.element {
                BenchElement::Infusionsoft =>
                    format!("same since, limit {page_size}, offsets in turn, not parsed"),
                BenchElement::Salesforce => format!(
                    "same SOQL, batchSize {page_size}, then each nextRecordsUrl until done"
                ),
            },
            paging_elapsed
        ),
    ));
    Ok(figures)
}

/// The URL of a logged page request without its `limit` and `offset`, ending in `?` or `&`
/// for them, and its page size.
fn paging_url(bench: &Harness, request: &Value) -> anyhow::Result<(String, usize)> {
    let path = request["path"].as_str().unwrap_or_default();
    let query = request["query"].as_str().unwrap_or_default();
    let logged = reqwest::Url::parse(&format!("{}{path}?{query}", bench.sim.url()))?;
    let mut page_size = None;
    let mut url = logged.clone();
    url.query_pairs_mut().clear();
    for (key, value) in logged.query_pairs() {
        match &*key {
            "limit" => page_size = value.parse::<usize>().ok(),
            "offset" => {}
            _ => {
                url.query_pairs_mut().append_pair(&key, &value);
            }
        }
    }
    let page_size = page_size
        .filter(|&size| size > 0)
        .with_context(|| format!("the poll's page request has no limit: {path}?{query}"))?;
    let mut text = url.to_string();
    if !text.ends_with('?') {
        text.push(if text.contains('?') { '&' } else { '?' });
    }
    Ok((text, page_size))
}

/// The URL of the sustained figure's bare GET loop: Keap's contacts since a date; for
/// Salesforce, a poll's own logged query (nothing new at the provider answers it empty).
async fn bare_url(bench: &Harness) -> anyhow::Result<String> {
    match bench.element {
        BenchElement::Infusionsoft => Ok(format!(
            "{}/crm/rest/v1/contacts?since=2026-01-01T00%3A00%3A00.000Z&limit=1000&offset=0",
            bench.sim.url()
        )),
        BenchElement::Salesforce => {
            let query = request_log(bench)
                .await?
                .into_iter()
                .rfind(|r| {
                    r["method"] == "GET"
                        && r["path"].as_str().is_some_and(|p| p.ends_with("/query"))
                })
                .context("no poll made a query request")?;
            Ok(format!(
                "{}{}?{}",
                bench.sim.url(),
                query["path"].as_str().unwrap_or_default(),
                query["query"].as_str().unwrap_or_default()
            ))
        }
    }
}

/// What bare paging read.
struct Paged {
    records: usize,
    pages: usize,
    page_size: usize,
    seconds: f64,
}

/// Keap: the poll's page request with `limit` and each `offset` in turn.
async fn bare_offset_paging(
    bench: &Harness,
    bar: &ProgressBar,
    page_request: &Value,
    token: &str,
    records: usize,
) -> anyhow::Result<Paged> {
    let (pages_url, page_size) = paging_url(bench, page_request)?;
    let pages = records.div_ceil(page_size);
    step(
        bar,
        format!("ceiling: bare paging, {} GETs of {page_size}", count(pages)),
        pages as u64,
    );
    let mut bodies = Vec::with_capacity(pages);
    let started = Instant::now();
    for page in 0..pages {
        let response = bench
            .http
            .get(format!(
                "{pages_url}limit={page_size}&offset={}",
                page * page_size
            ))
            .bearer_auth(token)
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "the simulator answered {}",
            response.status()
        );
        bodies.push(response.bytes().await?);
        bar.inc(1);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut paged = 0;
    for body in &bodies {
        let page: Value = serde_json::from_slice(body)?;
        paged += page["contacts"].as_array().map_or(0, Vec::len);
    }
    Ok(Paged {
        records: paged,
        pages,
        page_size,
        seconds,
    })
}

/// Salesforce: the poll's query with its batch size, then each `nextRecordsUrl` until `done`
/// (a locator's pages must be read to know the next one, so each body is parsed).
async fn bare_locator_paging(
    bench: &Harness,
    bar: &ProgressBar,
    page_request: &Value,
    token: &str,
) -> anyhow::Result<Paged> {
    // The poll asks for the element's largest batch.
    let page_size = bench
        .state
        .registry
        .get(bench.element.key())
        .map_or(2_000, |e| e.api.max_page_size as usize);
    step(
        bar,
        format!("ceiling: bare paging, batches of {page_size}"),
        1,
    );
    let origin = bench.sim.url();
    let mut url = format!(
        "{origin}{}?{}",
        page_request["path"].as_str().unwrap_or_default(),
        page_request["query"].as_str().unwrap_or_default()
    );
    let (mut records, mut pages) = (0, 0);
    let started = Instant::now();
    loop {
        let response = bench
            .http
            .get(&url)
            .bearer_auth(token)
            .header("Sforce-Query-Options", format!("batchSize={page_size}"))
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "the simulator answered {}",
            response.status()
        );
        let page: Value = serde_json::from_slice(&response.bytes().await?)?;
        pages += 1;
        records += page["records"].as_array().map_or(0, Vec::len);
        match page["nextRecordsUrl"].as_str() {
            Some(next) if page["done"] == false => url = format!("{origin}{next}"),
            _ => break,
        }
    }
    bar.inc(1);
    Ok(Paged {
        records,
        pages,
        page_size,
        seconds: started.elapsed().as_secs_f64(),
    })
}
