//! The quota benchmark: many instance-resources of one Keap app share its budgets — 1,500
//! requests a rolling minute and 150,000 a day per app (`shared/research/infusionsoft.md`
//! §4.1), 104 a minute when used evenly all day — polled every minute, far more than that
//! allows, and the scheduler stretches their intervals to fit.
//!
//! The simulator enforces both budgets (a 429 past either) on a manual clock it shares with
//! the server; the benchmark moves that clock five seconds at a time and runs every poll due,
//! so hours of a deployment take a few minutes. The server's pacer is set out of the way (it
//! paces on real time), so what keeps the app under its budget is the scheduler's plan alone:
//! polls may use 83 requests a minute (`TRIBUTARY_POLL_QUOTA`'s default 80 % of 104), planned
//! to 90 % of it. A new contact every 30 seconds keeps the contacts pollers busy. Keap's
//! deletes show only by absence, so each resource is also swept whole once an hour
//! (`TRIBUTARY_SWEEP_INTERVAL`): once intervals stretch past the hour, every poll sweeps, and
//! what that costs is learned and planned for like the rest.
//!
//! Figures, over the second half of the run (the first half is the warm-up: every poller's
//! first poll, due within its first minute, waits its turn): requests a minute used against
//! Keap's budget, 429 answers, and the longest gap between two polls of one poller against
//! the stretched interval (the worst lateness is the difference).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::{Clock, ManualClock, SystemClock};
use tributary_server::app::Application;
use tributary_server::scheduler::Scheduler;
use tributary_server::settings::{Bootstrap, PollQuota, Settings};
use tributary_simulator::{Config, RunningSimulator, Simulator};

use super::{APP_ID, APP_SECRET, Figure, ORG, REDIRECT, USER, count, step};

const MINUTE_MS: i64 = 60_000;
/// The manual clock's step: polls due within a step run together at its end (a rolling
/// minute's budget is not troubled by five seconds' bunching; the admission bucket's bursts
/// are a tenth of a minute's allowance).
const STEP_SECONDS: i64 = 5;

/// What the quota benchmark runs.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaOptions {
    /// Instance-resources of the one app (instances of the element's default pollers, seven),
    /// polled every minute.
    pub instance_resources: usize,
    /// Minutes of the manual clock run (the second half is measured; it must be longer than
    /// the stretched interval).
    pub minutes: usize,
}

impl Default for QuotaOptions {
    fn default() -> Self {
        QuotaOptions {
            instance_resources: 5_000,
            minutes: 480,
        }
    }
}

/// One API request the simulator answered: (start ms, instance token, path, status).
type Line = (i64, String, String, u16);

pub async fn run(options: &QuotaOptions, bar: &ProgressBar) -> anyhow::Result<Vec<Figure>> {
    let now = SystemClock.now_ms();
    let clock = Arc::new(ManualClock::new(now - now.rem_euclid(1_000)));
    let shared: Arc<dyn Clock> = clock.clone();
    // Keap's budgets as published: 1,500 a rolling minute and 150,000 a day per app.
    let config = Config {
        seed: 0,
        tenant_throttle_per_minute: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        request_log_capacity: 2_000_000,
        ..Config::default()
    };
    let sim = RunningSimulator::start(
        Simulator::new(config, shared.clone()),
        "127.0.0.1:0".parse()?,
    )
    .await
    .context("cannot start the simulator")?;
    let dir = std::env::temp_dir().join(format!(
        "tributary-bench-quota-{}-{}",
        std::process::id(),
        tributary_server::secrets::random_secret()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let registry = tributary_server::services::elements::load(&Settings::default())?;
    let keap = registry
        .get("infusionsoftrest")
        .context("no infusionsoftrest element")?;
    let sustained = keap.sustained_requests_per_minute();
    // Whole requests: 80 % of 104.2 a minute is 83.
    let allowed = PollQuota::Share(0.8).allowed(sustained).floor().max(1.0) as u32;
    let settings = Settings {
        bind: "127.0.0.1:0".parse()?,
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        origins: BTreeMap::from([("infusionsoftrest".to_owned(), sim.url())]),
        bootstrap: Some(Bootstrap {
            organization_secret: ORG.to_owned().into(),
            user_secret: USER.to_owned().into(),
        }),
        // The pacer paces on real time: out of the way (its override would replace the
        // element's budgets in the plan too, so the plan's allowance is given as a number:
        // the default 80 % of what Keap's budgets allow all day long).
        provider_requests_per_minute: Some(u32::MAX / 2),
        poll_quota: PollQuota::PerMinute(allowed),
        poll_concurrency: 0,
        delivery_concurrency: 0,
        ..Settings::default()
    };
    let app = Application::build(settings, shared).await?;
    let api = format!("http://127.0.0.1:{}/elements/api-v2", app.port());
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let outcome = measure(
        options,
        bar,
        &clock,
        &sim,
        &api,
        &state,
        (allowed, sustained),
    )
    .await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(
    options: &QuotaOptions,
    bar: &ProgressBar,
    clock: &ManualClock,
    sim: &RunningSimulator,
    api: &str,
    state: &tributary_server::AppState,
    (allowed, sustained): (u32, f64),
) -> anyhow::Result<Vec<Figure>> {
    // The consent page redirects to the app's callback: read the code, do not follow.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let auth = format!("User {USER}, Organization {ORG}");
    let element = state
        .registry
        .get("infusionsoftrest")
        .context("no infusionsoftrest element")?;
    // The element's default pollers: Keap's resources with change dates (contacts among them).
    let pollers = element.default_poller_configuration();
    let resources = pollers.as_object().map_or(0, serde_json::Map::len);
    anyhow::ensure!(
        resources > 0 && pollers.get("contacts").is_some(),
        "the element's default pollers lack contacts"
    );
    let instances = options.instance_resources.div_ceil(resources).max(1);
    step(
        bar,
        format!("{} instances of one app", count(instances)),
        instances as u64,
    );
    for _ in 0..instances {
        let code = tributary_simulator::consent_code(&http, &sim.url(), APP_ID, REDIRECT)
            .await
            .map_err(anyhow::Error::msg)?;
        let body = json!({"element": {"key": "infusionsoftrest"},
            "providerData": {"code": code}, "name": "quota bench",
            "configuration": {"oauth.api.key": APP_ID, "oauth.api.secret": APP_SECRET,
                "oauth.callback.url": REDIRECT, "event.notification.enabled": true,
                "event.notification.callback.url": "https://r.example/",
                "event.poller.refresh_interval": 1,
                "event.poller.configuration": pollers.clone()}});
        let created: Value = http
            .post(format!("{api}/instances"))
            .header("Authorization", &auth)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(created["id"].is_i64(), "no instance created: {created}");
        bar.inc(1);
    }
    let total_pollers = instances * resources;

    let steps = options.minutes.max(2) as i64 * 60 / STEP_SECONDS;
    step(bar, "minutes on the manual clock", steps as u64);
    let scheduler = Scheduler::new(state.clone(), 64, Duration::from_secs(300));
    let start = clock.now_ms();
    let mut lines: Vec<Line> = Vec::new();
    let mut seq = 0;
    for step in 0..steps {
        if step % (30 / STEP_SECONDS) == 0 {
            let made = http
                .post(format!("{}/_sim/records", sim.url()))
                .json(&json!({"resource": "contacts", "count": 1}))
                .send()
                .await?;
            anyhow::ensure!(made.status().is_success(), "the simulator made no contact");
        }
        clock.advance_ms(STEP_SECONDS * 1_000);
        while !scheduler.run_once().await.is_empty() {}
        if step % (600 / STEP_SECONDS) == 0 {
            seq = read_log(&http, &sim.url(), seq, &mut lines).await?;
        }
        bar.inc(1);
    }
    read_log(&http, &sim.url(), seq, &mut lines).await?;

    let end = clock.now_ms();
    let from = start + (end - start) / 2;
    let measured_minutes = (end - from) as f64 / MINUTE_MS as f64;
    let steady: Vec<&Line> = lines.iter().filter(|l| l.0 > from).collect();
    let used = steady.len() as f64 / measured_minutes;
    let throttled = steady.iter().filter(|l| l.3 == 429).count();
    let throttled_all = lines.iter().filter(|l| l.3 == 429).count();
    let busiest = busiest_minute(&steady);
    let quota = state
        .quotas
        .snapshot(end)
        .into_iter()
        .find(|q| q.element == "infusionsoftrest")
        .context("the scheduler saw no app")?;
    let stretched_ms = (quota.stretch * MINUTE_MS as f64) as i64;
    // Each poller's polls over the whole run (its requests at one moment are one poll).
    let mut polls: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for line in &lines {
        let moments = polls.entry((&line.1, &line.2)).or_default();
        if moments.last() != Some(&line.0) {
            moments.push(line.0);
        }
    }
    // Lateness: how much longer than the stretched interval a poller waited between two of
    // its polls, the second in the measured half.
    let longest = polls
        .values()
        .flat_map(|m| m.windows(2).filter(|w| w[1] > from).map(|w| w[1] - w[0]))
        .max()
        .unwrap_or(0);
    let worst = (longest - stretched_ms).max(0);
    let polled = polls
        .values()
        .filter(|m| m.last().is_some_and(|at| *at > from))
        .count();
    anyhow::ensure!(
        polled == total_pollers,
        "{polled} of {total_pollers} pollers were polled in the measured half (its {:.0} \
         minutes are shorter than the interval stretched ×{:.2}? run longer: --quota-minutes)",
        measured_minutes,
        quota.stretch
    );
    let sizes = format!(
        "{} instance-resources ({} instances of {resources}) on one Keap app, each every \
         minute as configured; {} simulated minutes, the last {:.0} measured",
        count(total_pollers),
        count(instances),
        options.minutes.max(2),
        measured_minutes
    );
    Ok(vec![
        Figure::against(
            "quota: provider requests/minute used, one app",
            used,
            "requests/min",
            "Keap's budgets used evenly all day",
            sustained,
            "of what Keap's budgets allow all day",
            true,
            format!(
                "{sizes}. Keap allows 1,500 a rolling minute and 150,000 a day per app: \
                 {sustained:.1} a minute all day long. Polls may use {allowed}/min (80 %), \
                 planned to 90 % of it; projected at the configured intervals {:.0}/min, so \
                 every interval stretched ×{:.2}; busiest rolling minute {busiest} requests \
                 (of 1,500); {} of {} pollers with recent changes",
                quota.projected_per_minute, quota.stretch, quota.busy_pollers, quota.pollers
            ),
        ),
        Figure::informational(
            "quota: 429 answers in the steady state",
            throttled as f64,
            "429s",
            false,
            format!(
                "{sizes}. {throttled_all} in the whole run, warm-up included; the simulator \
                 answers 429 past 1,500 requests a rolling minute or 150,000 a day"
            ),
        ),
        Figure::against(
            "quota: longest gap between two polls of a poller (worst lateness)",
            longest as f64 / 1_000.0,
            "s",
            "the stretched interval",
            stretched_ms as f64 / 1_000.0,
            "the stretched interval",
            false,
            format!(
                "{sizes}. Worst lateness {:.1} s: the longest gap ending in the measured half, \
                 less the interval stretched ×{:.2} (1 minute configured); {} polls put off by \
                 the admission bucket in the whole run",
                worst as f64 / 1_000.0,
                quota.stretch,
                quota.deferred
            ),
        ),
    ])
}

/// Appends the simulator's API requests after `since` to `lines`; returns the last sequence
/// number read.
async fn read_log(
    http: &reqwest::Client,
    origin: &str,
    since: u64,
    lines: &mut Vec<Line>,
) -> anyhow::Result<u64> {
    let records: Vec<Value> = http
        .get(format!("{origin}/_sim/requests?since_seq={since}"))
        .send()
        .await?
        .json()
        .await?;
    let mut last = since;
    for record in records {
        last = last.max(record["seq"].as_u64().unwrap_or(0));
        let path = record["path"].as_str().unwrap_or_default();
        let Some(token) = record["token"].as_str() else {
            continue; // OAuth calls carry no bearer token; Keap's budget does not count them
        };
        if path.starts_with("/_sim") {
            continue;
        }
        lines.push((
            record["started_ms"].as_i64().unwrap_or(0),
            token.to_owned(),
            path.to_owned(),
            u16::try_from(record["status"].as_u64().unwrap_or(0)).unwrap_or(0),
        ));
    }
    Ok(last)
}

/// The most requests any rolling minute of `lines` (sorted by start) held.
fn busiest_minute(lines: &[&Line]) -> usize {
    let mut times: Vec<i64> = lines.iter().map(|l| l.0).collect();
    times.sort_unstable();
    let mut busiest = 0;
    let mut first = 0;
    for (last, at) in times.iter().enumerate() {
        while times[first] <= at - MINUTE_MS {
            first += 1;
        }
        busiest = busiest.max(last + 1 - first);
    }
    busiest
}
