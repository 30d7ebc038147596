//! `tributary soak`: the whole loop under faults for a number of rounds or minutes, then the
//! demo's verdict — nothing lost, nothing duplicated but what a crash explains.
//!
//! On loopback it runs a provider's simulator with changing activity, `serve` as a child
//! process (the real binary, on SQLite or on PostgreSQL with `--database-url`) and a webhook
//! receiver, creates an instance as the demo does, and then, round after round, at random
//! (seeded, so a run can be repeated):
//! - injects provider faults (5xx, 429, resets, malformed JSON, HTML pages, latency) and expires
//!   the provider's tokens;
//! - steps the provider's clock, back and forth;
//! - takes the receiver down for a moment;
//! - asks for a poll and kills `serve` with SIGKILL while the poll or the deliveries run, then
//!   starts it again on the same database.
//!
//! At the end it stops the activity, lets everything drain, and compares the simulator's state
//! export with what the receiver got (`demo::verdict`). A notification may arrive twice only if
//! `serve` was killed while it was in flight (claimed and not settled, read from the database
//! right after the kill, and its first arrival before that kill): those duplicates are reported
//! apart; any other duplicate, and any loss, fails the run.
//!
//! Files: `serve` (the child process), `receiver` (the receiver that goes down), `faults` (what
//! a round does to the provider), this one (the run and the report).

mod faults;
mod receiver;
mod serve;

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tributary_domain::{Clock, SystemClock};

use crate::demo::provider::{APP_ID, APP_SECRET, Provider, REDIRECT};
use crate::demo::verdict::{self, Arrival, Expected, Tally};
use crate::demo::{Receiver, View, checked, delete_one, export, poll_now, poll_request, temp_dir};
use faults::Faults;
use receiver::Downable;
use serve::{Serve, ServeConfig};

/// What `tributary soak` was asked to do.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Stop after this many rounds…
    pub rounds: Option<u64>,
    /// …or after this long (whichever comes first; neither: 20 rounds).
    pub duration: Option<Duration>,
    /// `serve`'s database (default: a fresh SQLite file in a temporary directory). A
    /// PostgreSQL database must exist and should be empty.
    pub database_url: Option<String>,
    /// The element: `infusionsoftrest` (default) or `sfdc`.
    pub element: String,
    /// Changes per second made at the provider.
    pub rate: f64,
    /// The seed of the run's random choices (default: from the clock, printed).
    pub seed: Option<u64>,
}

/// What happened during the run.
#[derive(Debug, Default)]
struct Counts {
    rounds: u64,
    kills: u64,
    kills_mid_poll: u64,
    kills_mid_delivery: u64,
    receiver_outages: u64,
    clock_steps: u64,
    faults: u64,
    token_expiries: u64,
}

/// A kill: how many arrivals had come before it, and the notifications in flight at it.
#[derive(Debug)]
struct Kill {
    arrivals_before: usize,
    in_flight: BTreeSet<String>,
}

/// Runs the soak; the exit status says whether anything was lost or duplicated unexplained.
pub fn run(options: SoakOptions) -> ExitCode {
    tributary_server::telemetry::init_with_default(std::io::stderr, false, "warn");
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(soak(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: the soak could not run: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn soak(options: SoakOptions) -> anyhow::Result<bool> {
    let provider = Provider::of(&options.element).with_context(|| {
        format!(
            "the soak runs infusionsoftrest or sfdc, not {:?}",
            options.element
        )
    })?;
    let seed = options
        .seed
        .unwrap_or_else(|| u64::try_from(SystemClock.now_ms()).unwrap_or(0));
    let mut rng = SmallRng::seed_from_u64(seed);
    let sim = provider
        .start()
        .await
        .context("cannot start the simulator")?;
    let origin = sim.url();
    let dir = temp_dir()?;
    let database_url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("soak.db").display()));
    let (organization, user) = (
        tributary_server::secrets::random_secret(),
        tributary_server::secrets::random_secret(),
    );
    let config = ServeConfig {
        binary: serve::binary()?,
        database_url: database_url.clone(),
        env: serve_env(&provider, &origin, &organization, &user),
        log: serve::log_path(&dir),
    };
    let auth = format!("User {user}, Organization {organization}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;

    let key = tributary_server::secrets::random_secret();
    let (sender, mut arrivals_in) = mpsc::unbounded_channel();
    let mut serve = Some(Serve::start(&config)?);
    let api = |serve: &Option<Serve>| serve.as_ref().map(|s| s.api.clone()).unwrap_or_default();
    let (id, updated_fields) = {
        let api = api(&serve);
        let element: Value = checked(
            http.get(format!("{api}/elements/{}", provider.key))
                .header("Authorization", &auth)
                .send()
                .await?,
            "GET /elements/{key}",
        )
        .await?;
        let (pollers, updated_fields) = pollers(&provider, &element);
        let receiver = Downable::start(Receiver {
            key: Arc::new(key.clone()),
            updated_fields: Arc::new(updated_fields.clone()),
            arrivals: sender,
        })
        .await?;
        let id = create_instance(
            &http, &provider, &origin, &api, &auth, &key, &receiver, pollers,
        )
        .await?;
        (id, (updated_fields, receiver))
    };
    let (updated_fields, mut receiver) = updated_fields;
    // A first poll sets every cursor at the provider's now: what existed before is not news.
    poll_now(&http, &api(&serve), &auth, id, &provider).await?;
    let baseline = verdict::versions(&export(&http, &origin).await?, &provider);
    let deleted_before = verdict::deletions(&export(&http, &origin).await?, &provider);
    checked(
        http.post(format!("{origin}/_sim/activity"))
            .json(&json!({"rate": options.rate, "resources": provider.sim_names}))
            .send()
            .await?,
        "starting the simulator's activity",
    )
    .await?;
    println!(
        "soak: {} on {}, seed {seed}; {:.1} changes/s; serve killed, the receiver taken down, \
         the provider's clock stepped and faults injected at random",
        provider.key,
        tributary_server::settings::redact_url(&database_url),
        options.rate,
    );

    let started = Instant::now();
    let rounds = options.rounds.unwrap_or(if options.duration.is_some() {
        u64::MAX
    } else {
        20
    });
    let mut counts = Counts::default();
    let mut arrivals: Vec<Arrival> = Vec::new();
    let mut kills: Vec<Kill> = Vec::new();
    let faults = Faults::new(&http, &origin, &provider);
    let mut stepped_unseen = false;
    while counts.rounds < rounds && options.duration.is_none_or(|d| started.elapsed() < d) {
        counts.rounds += 1;
        if rng.random_bool(0.5) {
            counts.faults += faults.inject(&mut rng).await?;
        }
        if rng.random_bool(0.5) {
            counts.faults += faults.slow_down(&mut rng).await?;
        }
        // One step per successful poll: a step back and a step forward with no poll between
        // them hide the changes made in between from any poller that reads by date (their
        // dates fall before a cursor the forward step already passed), so the promise — and
        // this test of it — is about steps that a poll sees one at a time.
        if !stepped_unseen && rng.random_bool(0.5) && faults.step_clock(&mut rng).await? {
            counts.clock_steps += 1;
            stepped_unseen = true;
        }
        if rng.random_bool(0.15) {
            faults.expire_tokens().await?;
            counts.token_expiries += 1;
        }
        // A delete at the provider (Keap's seen by the sweep each poll asks for, Salesforce's
        // by its delete log, read from a cursor moved back when the provider's clock steps
        // back): the verdict owes each one DELETED event, kills or not — but for a Keap record
        // created and deleted while no poll of it committed, which Tributary never knew.
        // HubSpot's and QuickBooks' deletes have not been soaked yet.
        if provider.deletes && (provider.sweeps || provider.key == "sfdc") && rng.random_bool(0.3) {
            delete_one(&http, &origin, &provider).await?;
        }
        let outage = rng.random_bool(0.2);
        if outage {
            receiver.down().await;
            counts.receiver_outages += 1;
        }
        // A poll, asked for now; the kill (if any) comes while it or the sends it starts run.
        let poll = {
            let (http, api, auth) = (http.clone(), api(&serve), auth.clone());
            tokio::spawn(async move { poll_clean(&http, &api, &auth, id, provider).await })
        };
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..1_000))).await;
        if rng.random_bool(0.6) {
            let mid_poll = !poll.is_finished();
            if let Some(running) = serve.take() {
                running.kill();
            }
            while let Ok(arrival) = arrivals_in.try_recv() {
                arrivals.push(arrival);
            }
            let in_flight = in_flight(&database_url).await?;
            counts.kills += 1;
            counts.kills_mid_poll += u64::from(mid_poll);
            counts.kills_mid_delivery += u64::from(!in_flight.is_empty());
            kills.push(Kill {
                arrivals_before: arrivals.len(),
                in_flight,
            });
            let _ = poll.await;
            serve = Some(Serve::start(&config)?);
        } else if let Ok(Ok(true)) = tokio::time::timeout(Duration::from_secs(30), poll).await {
            stepped_unseen = false;
        }
        if outage {
            tokio::time::sleep(Duration::from_millis(rng.random_range(200..3_000))).await;
            receiver.up().await?;
        }
        while let Ok(arrival) = arrivals_in.try_recv() {
            arrivals.push(arrival);
        }
    }

    // The end: no more activity or faults; everything drains.
    checked(
        http.delete(format!("{origin}/_sim/activity"))
            .send()
            .await?,
        "stopping the simulator's activity",
    )
    .await?;
    faults.clear().await?;
    receiver.up().await?;
    // A record deleted while the provider's clock ran ahead, and not read before it stepped
    // back, is dated in the provider's future: its delete log (Salesforce's) shows it only once
    // the clock passes that date — up to the widest step back (390 s) after the run, longer
    // than the drain. Tributary cannot read it sooner. So, once a poll has seen the last step
    // (one step per successful poll, as above), the clock steps forward to the furthest ahead it
    // ran: every date the run wrote is then in the provider's past, and every deletion is owed
    // within the drain.
    let seen_until = Instant::now() + Duration::from_secs(30);
    while stepped_unseen && Instant::now() < seen_until {
        stepped_unseen = !poll_clean(&http, &api(&serve), &auth, id, provider).await;
        if stepped_unseen {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    if stepped_unseen {
        println!("soak: no poll saw the last step of the provider's clock; it stays where it is");
    } else if faults.step_to_furthest_ahead().await? {
        counts.clock_steps += 1;
    }
    let last = export(&http, &origin).await?;
    let finals = verdict::versions(&last, &provider);
    let expected = Expected {
        latest: verdict::latest_versions(&last, &provider, &updated_fields, &baseline, &finals),
        deleted: verdict::deletions(&last, &provider)
            .difference(&deleted_before)
            .cloned()
            .collect(),
        baseline,
        finals,
    };
    let drain_until = Instant::now() + Duration::from_secs(if provider.deletes { 150 } else { 90 });
    loop {
        let api = api(&serve);
        let _ = poll_now(&http, &api, &auth, id, &provider).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(arrival) = arrivals_in.try_recv() {
            arrivals.push(arrival);
        }
        let tally = tally(&arrivals, &kills).0;
        let arrived = expected.latest.iter().all(|(r, u)| tally.has(r, u))
            && expected.deletions_missing(&tally, &provider) == 0;
        if (arrived && settled(&http, &api).await) || Instant::now() > drain_until {
            break;
        }
    }
    // A late duplicate (a send in flight at the last kill) would come within a lease or two.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok(arrival) = arrivals_in.try_recv() {
        arrivals.push(arrival);
    }
    if let Some(running) = serve.take() {
        running.kill();
    }
    drop(sim);

    let (mut tally, explained) = tally(&arrivals, &kills);
    tally.made = verdict::changes_since(&expected.baseline, &expected.finals);
    let report = verdict::check(&tally, &expected, &provider);
    let lost = expected
        .latest
        .iter()
        .filter(|(r, u)| !tally.has(r, u))
        .count()
        + expected.deletions_missing(&tally, &provider);
    let unexplained: u64 = tally.event_ids.values().map(|n| n - 1).sum();
    let delivered = tally.event_ids.len();
    println!("{}", report.text);
    println!(
        "\nsoak: {} rounds in {:.0} s (seed {seed}); serve killed {} times ({} mid-poll, {} with \
         sends in flight), restarted as often; receiver down {} times; provider clock stepped {} \
         times; {} faults injected; tokens expired {} times.",
        counts.rounds,
        started.elapsed().as_secs_f64(),
        counts.kills,
        counts.kills_mid_poll,
        counts.kills_mid_delivery,
        counts.receiver_outages,
        counts.clock_steps,
        counts.faults,
        counts.token_expiries,
    );
    println!(
        "soak: {} changes made, {} records deleted; {delivered} events delivered; lost {lost}; \
         duplicated {} (in flight at a kill: {} events of {} notifications; unexplained: \
         {unexplained}).",
        tally.made.values().sum::<u64>(),
        expected.deleted.len(),
        explained.events + unexplained,
        explained.events,
        explained.notifications,
    );
    let passed = report.passed && lost == 0 && unexplained == 0;
    println!(
        "soak: {}",
        if passed {
            "OK: nothing lost, no unexplained duplicate"
        } else {
            "FAILED"
        }
    );
    if passed {
        // Its serve log (and the SQLite database, when the soak made one): kept on failure.
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("soak: serve's log is {}", serve::log_path(&dir).display());
    }
    Ok(passed)
}

/// Duplicates a kill explains: notifications in flight at a kill that had arrived before it.
#[derive(Debug, Default)]
struct Explained {
    notifications: u64,
    events: u64,
}

/// The tally of what arrived, leaving out the second arrivals a kill explains.
fn tally(arrivals: &[Arrival], kills: &[Kill]) -> (Tally, Explained) {
    let view = View::quiet();
    let mut tally = Tally::default();
    let mut explained = Explained::default();
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (index, arrival) in arrivals.iter().enumerate() {
        let id = arrival.webhook_id.as_str();
        if let Some(&before) = first.get(id) {
            let in_flight_at_a_kill = kills.iter().any(|kill| {
                kill.in_flight.contains(id)
                    && before < kill.arrivals_before
                    && kill.arrivals_before <= index
            });
            if in_flight_at_a_kill {
                explained.notifications += 1;
                explained.events += arrival.events.len() as u64;
                continue;
            }
        } else {
            first.insert(id, index);
        }
        tally.add(arrival.clone(), &view);
    }
    (tally, explained)
}

/// Polls now (sweeping where the provider needs it); whether every resource's poll, and its
/// sweep, succeeded.
async fn poll_clean(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
    id: i64,
    provider: Provider,
) -> bool {
    let answer = poll_request(http, api, auth, id, &provider).send().await;
    let Ok(answer) = answer else {
        return false;
    };
    let ok = answer.status().is_success();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    ok && body["polls"].as_array().is_some_and(|polls| {
        polls
            .iter()
            .all(|p| p["error"].is_null() && p["sweep"]["error"].is_null())
    })
}

/// Whether nothing waits to be sent or is in flight (from `/metrics`).
async fn settled(http: &reqwest::Client, api: &str) -> bool {
    let url = format!("{}/metrics", api.trim_end_matches("/elements/api-v2"));
    let Ok(response) = http.get(url).send().await else {
        return false;
    };
    let text = response.text().await.unwrap_or_default();
    [
        "tributary_notifications_queued ",
        "tributary_notifications_in_flight ",
    ]
    .iter()
    .all(|name| text.lines().any(|l| l.strip_prefix(name) == Some("0")))
}

/// The notifications claimed and not settled, read from the database right after a kill.
async fn in_flight(database_url: &str) -> anyhow::Result<BTreeSet<String>> {
    let now = SystemClock.now_ms();
    let store = tributary_store::open(database_url, now)
        .await
        .context("cannot open the database after a kill")?;
    Ok(store
        .in_flight_notifications(now)
        .await
        .context("cannot read the notifications in flight")?
        .into_iter()
        .collect())
}

/// `serve`'s settings for the soak: short leases and a short retry schedule, so a crash or an
/// outage is made good in seconds rather than minutes.
fn serve_env(
    provider: &Provider,
    origin: &str,
    organization: &str,
    user: &str,
) -> Vec<(String, String)> {
    let retries = std::iter::once("500ms")
        .chain(std::iter::repeat_n("1s", 60))
        .collect::<Vec<_>>()
        .join(",");
    [
        (
            format!("TRIBUTARY_{}_ORIGIN", provider.key.to_ascii_uppercase()),
            origin.to_owned(),
        ),
        ("TRIBUTARY_BOOTSTRAP_ORG_SECRET".into(), organization.into()),
        ("TRIBUTARY_BOOTSTRAP_USER_SECRET".into(), user.into()),
        ("TRIBUTARY_MASTER_KEY".into(), serve::master_key()),
        ("TRIBUTARY_ALLOW_PRIVATE_CALLBACKS".into(), "true".into()),
        ("TRIBUTARY_POLL_LEASE".into(), "5s".into()),
        ("TRIBUTARY_DELIVERY_TIMEOUT".into(), "2s".into()),
        ("TRIBUTARY_DELIVERY_LEASE".into(), "3s".into()),
        ("TRIBUTARY_RETRY_SCHEDULE".into(), retries),
    ]
    .into_iter()
    .collect()
}

/// The resources the demo polls, with their default poller configurations (the Cloud Elements
/// example's where the demo follows one), and each resource's updated-date field.
fn pollers(
    provider: &Provider,
    element: &Value,
) -> (serde_json::Map<String, Value>, HashMap<String, String>) {
    let mut pollers = serde_json::Map::new();
    let mut updated_fields = HashMap::new();
    for resource in element["resources"].as_array().into_iter().flatten() {
        let name = resource["name"].as_str().unwrap_or_default();
        if provider.resources.contains(&name) {
            pollers.insert(name.into(), resource["defaultPollerConfiguration"].clone());
            if let Some(field) = resource["updatedDateField"].as_str() {
                updated_fields.insert(name.to_owned(), field.to_owned());
            }
        }
    }
    if let Some((name, example)) = provider.example_poller() {
        pollers.insert(name.into(), example);
    }
    (pollers, updated_fields)
}

/// The instance, created as the demo creates it (consent, then the example body), polling every
/// minute and delivering to the receiver, signed.
// The run's whole context, passed explicitly rather than bundled into a struct used once.
#[allow(clippy::too_many_arguments)]
async fn create_instance(
    http: &reqwest::Client,
    provider: &Provider,
    origin: &str,
    api: &str,
    auth: &str,
    key: &str,
    receiver: &Downable,
    pollers: serde_json::Map<String, Value>,
) -> anyhow::Result<i64> {
    // The consent's redirect gives the create body's `providerData` (the code, and for
    // QuickBooks the realm beside it).
    let provider_data = provider
        .consent(http, origin)
        .await
        .map_err(anyhow::Error::msg)?;
    let body = json!({
        "element": {"key": provider.key},
        "providerData": provider_data,
        "name": "Soak",
        "tags": ["soak"],
        "configuration": {
            "oauth.api.key": APP_ID,
            "oauth.api.secret": APP_SECRET,
            "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true,
            "event.vendor.type": "polling",
            "event.notification.callback.url": receiver.url(),
            "event.notification.signature.key": key,
            "event.poller.refresh_interval": "1",
            "event.poller.configuration": pollers,
        }
    });
    let created = checked(
        http.post(format!("{api}/instances"))
            .header("Authorization", auth)
            .json(&body)
            .send()
            .await?,
        "POST /instances",
    )
    .await?;
    created["id"]
        .as_i64()
        .context("the created instance has no id")
}
