//! `tributary bench`: our three benchmarks, each figure next to a ceiling measured in the same
//! run on the same machine, so a figure means something on any machine.
//!
//! - [`dates`]: parses per second of our Java date patterns, next to jiff's RFC 3339 parser;
//! - [`polling`]: an idle poll's cost, sustained idle polls per second next to a bare GET loop,
//!   and a backfill's records per second next to bare paging of the same records;
//! - [`delivery`]: signed, persisted notifications per second next to a bare POST loop, and the
//!   latency from a poll asked to its notification received next to a bare round trip, against
//!   a receiver in a process of its own ([`receiver`]);
//! - [`memory`]: a serve process's resident set with many idle instance-resources, and the cost
//!   of one more next to the goal;
//! - [`quota`]: thousands of instance-resources of one Keap app on its 1,500 requests a minute,
//!   on a manual clock: requests a minute used against the budget, 429s, worst lateness;
//! - [`nodes`]: several serve processes on one PostgreSQL database (with `--postgres-url`).
//!
//! Each suite takes its options and a progress bar and returns [`Figure`]s; each checks that
//! its run did what it claims (every poll found what was made, every notification arrived once,
//! signed) and fails otherwise. [`run`] is the command: progress bars on stderr, one table on
//! stdout, the same figures as JSON in a file.
//!
//! Polling and delivery each run in a runtime of their own, against a simulator and a server on
//! a fresh SQLite database of their own, so neither sees what the other left running.

mod bare;
pub mod dates;
pub mod delivery;
mod hooks;
pub mod memory;
pub mod nodes;
pub mod polling;
pub mod quota;
pub mod receiver;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::Clock;
use tributary_simulator::{Config, RunningSimulator, Simulator};

use tributary_server::app::{AppState, Application};
use tributary_server::settings::{Bootstrap, Settings};

/// One measured figure, next to its ceiling.
///
/// `ratio` is what a reader compares across machines; what it means is in `ratio_means`, read
/// as "{ratio}× {ratio_means}": for a rate, `value / ceiling` (the share of the ceiling reached:
/// "0.04× the bare GET loop's rate"); for a latency or a cost, `value / ceiling` too, read as a
/// multiple ("39× the bare round trip"); for date parsing, our time per parse over jiff's, i.e.
/// `ceiling / value` on the rates ("0.72× jiff's time per parse").
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figure {
    /// What was measured, stable across runs (sizes are in `notes`).
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// What the ceiling is, such as "bare POST loop, 4 at once".
    pub ceiling_name: String,
    /// Measured in the same run, in the same unit as `value`.
    pub ceiling: f64,
    pub ratio: f64,
    /// Read as "{ratio}× {ratio_means}".
    pub ratio_means: String,
    /// Whether a higher `value` is better.
    pub higher_is_better: bool,
    /// No ceiling exists for this figure: `ceiling` is the value itself and `ratio` is 1.
    pub informational: bool,
    /// How it was measured, and what the run saw.
    pub notes: String,
}

impl Figure {
    /// A figure next to a measured ceiling, with `ratio = value / ceiling`.
    // One argument per field of a figure, named at each call site's line; a builder would
    // only spread the same eight values over more lines.
    #[allow(clippy::too_many_arguments)]
    pub fn against(
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        ceiling_name: impl Into<String>,
        ceiling: f64,
        ratio_means: impl Into<String>,
        higher_is_better: bool,
        notes: impl Into<String>,
    ) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit: unit.into(),
            ceiling_name: ceiling_name.into(),
            ceiling,
            ratio: value / ceiling,
            ratio_means: ratio_means.into(),
            higher_is_better,
            informational: false,
            notes: notes.into(),
        }
    }

    /// A figure without a ceiling: shown for information, `ceiling = value`, `ratio = 1`.
    pub fn informational(
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        higher_is_better: bool,
        notes: impl Into<String>,
    ) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit: unit.into(),
            ceiling_name: "none (informational: ceiling = value)".into(),
            ceiling: value,
            ratio: 1.0,
            ratio_means: "itself (informational: no ceiling)".into(),
            higher_is_better,
            informational: true,
            notes: notes.into(),
        }
    }
}

/// One of the three benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    Dates,
    Polling,
    Delivery,
    /// The serve process's resident set with many idle instance-resources.
    Memory,
    /// Several nodes on PostgreSQL (runs only with a PostgreSQL server to use).
    Nodes,
    /// Many instances of one provider app within its quota, on a manual clock.
    Quota,
}

impl Suite {
    pub const ALL: [Suite; 6] = [
        Suite::Dates,
        Suite::Polling,
        Suite::Delivery,
        Suite::Quota,
        Suite::Memory,
        Suite::Nodes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Suite::Dates => "dates",
            Suite::Polling => "polling",
            Suite::Delivery => "delivery",
            Suite::Memory => "memory",
            Suite::Nodes => "nodes",
            Suite::Quota => "quota",
        }
    }
}

/// What `tributary bench` was asked to do.
#[derive(Debug, Clone, Serialize)]
pub struct BenchOptions {
    /// The suites to run, in the order dates, polling, delivery (empty: all).
    pub only: Vec<Suite>,
    pub dates: dates::DatesOptions,
    pub polling: polling::PollingOptions,
    pub delivery: delivery::DeliveryOptions,
    pub memory: memory::MemoryOptions,
    pub nodes: nodes::NodesOptions,
    pub quota: quota::QuotaOptions,
    /// Where the figures are written as JSON.
    #[serde(skip)]
    pub json: PathBuf,
}

/// Runs the benchmarks: progress on stderr, the table on stdout, the JSON file.
pub fn run(options: BenchOptions) -> ExitCode {
    tributary_server::telemetry::init_with_default(
        std::io::stderr,
        std::io::stderr().is_terminal(),
        "warn",
    );
    let release = !cfg!(debug_assertions);
    if !release {
        eprintln!(
            "warning: this tributary is a debug build (no optimizations); its figures are not \
             comparable with a release build's (cargo run --release -- bench)"
        );
    }
    let started = jiff::Timestamp::now();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let suites: Vec<Suite> = Suite::ALL
        .into_iter()
        .filter(|s| options.only.is_empty() || options.only.contains(s))
        // Several nodes need a PostgreSQL server; asked for by name without one, it fails
        // below with the reason.
        .filter(|s| {
            *s != Suite::Nodes
                || options.nodes.postgres_url.is_some()
                || options.only.contains(&Suite::Nodes)
        })
        .collect();
    if !suites.contains(&Suite::Nodes) && options.only.is_empty() {
        eprintln!("note: the nodes benchmark needs --postgres-url; it did not run");
    }

    let multi = MultiProgress::new();
    let bars: Vec<(Suite, ProgressBar)> = suites
        .iter()
        .map(|suite| {
            let bar = multi.add(ProgressBar::new(1).with_style(bar_style()));
            bar.set_prefix(suite.name());
            bar.set_message("waiting");
            (*suite, bar)
        })
        .collect();

    let clock = Instant::now();
    let mut figures = Vec::new();
    for (suite, bar) in &bars {
        bar.reset_elapsed();
        bar.enable_steady_tick(Duration::from_millis(120));
        let suite_started = Instant::now();
        let outcome = match suite {
            Suite::Dates => dates::run(&options.dates, bar),
            Suite::Polling => in_runtime(polling::run(&options.polling, bar)),
            Suite::Delivery => in_runtime(async {
                let mut figures = delivery::run(&options.delivery, bar).await?;
                // Right after the polling latency (before the queueing figure, the last): a
                // provider change to its notification through hooks.
                let at = figures.len().saturating_sub(1);
                let hooked = hooks::run(options.delivery.latency_samples, bar).await?;
                figures.splice(at..at, hooked);
                Ok(figures)
            }),
            Suite::Memory => in_runtime(memory::run(&options.memory, bar)),
            Suite::Nodes => in_runtime(nodes::run(
                &options.nodes,
                &options.polling,
                &options.delivery,
                bar,
            )),
            Suite::Quota => in_runtime(quota::run(&options.quota, bar)),
        };
        match outcome {
            Ok(mut more) => {
                bar.set_position(bar.length().unwrap_or(1));
                bar.finish_with_message(format!(
                    "done in {:.1} s",
                    suite_started.elapsed().as_secs_f64()
                ));
                figures.append(&mut more);
            }
            Err(error) => {
                bar.abandon_with_message("failed");
                let _ = multi.clear();
                eprintln!("error: the {} benchmark failed: {error:#}", suite.name());
                return ExitCode::FAILURE;
            }
        }
    }
    let elapsed = clock.elapsed();
    let _ = multi.clear();

    println!(
        "Tributary {} bench, {} build, {cpus} CPUs, started {}, {:.0} s\n",
        env!("CARGO_PKG_VERSION"),
        if release {
            "release"
        } else {
            "DEBUG (not comparable)"
        },
        started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        elapsed.as_secs_f64()
    );
    print!("{}", table(&figures));

    let document = Report {
        version: env!("CARGO_PKG_VERSION"),
        release_build: release,
        machine: Machine { cpus },
        started: started.to_string(),
        seconds: elapsed.as_secs_f64(),
        options: &options,
        figures: &figures,
    };
    let written = serde_json::to_vec_pretty(&document)
        .context("cannot serialize the figures")
        .and_then(|mut text| {
            text.push(b'\n');
            std::fs::write(&options.json, text)
                .with_context(|| format!("cannot write {}", options.json.display()))
        });
    match written {
        Ok(()) => {
            println!("\nFigures written to {}", options.json.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The JSON file, in this order.
#[derive(Debug, Serialize)]
struct Report<'a> {
    version: &'static str,
    release_build: bool,
    machine: Machine,
    /// RFC 3339.
    started: String,
    seconds: f64,
    options: &'a BenchOptions,
    figures: &'a [Figure],
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
}

/// Runs one suite in a runtime of its own, dropped afterwards with whatever it left running.
fn in_runtime<F: Future<Output = anyhow::Result<Vec<Figure>>>>(
    suite: F,
) -> anyhow::Result<Vec<Figure>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(suite);
    runtime.shutdown_timeout(Duration::from_secs(5));
    outcome
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:>8} {spinner} [{bar:24}] {pos:>7}/{len:<7} {elapsed:>4} {wide_msg}",
    )
    .map(|style| style.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Starts a step of a suite on its bar: what it does, and how many things it counts.
pub(crate) fn step(bar: &ProgressBar, message: impl Into<Cow<'static, str>>, length: u64) {
    bar.set_message(message);
    bar.set_length(length.max(1));
    bar.set_position(0);
}

/// The figures as one text table: figure, value, ceiling, ratio.
pub fn table(figures: &[Figure]) -> String {
    let rows: Vec<[String; 4]> = figures
        .iter()
        .map(|f| {
            let value = format!("{} {}", number(f.value), f.unit);
            if f.informational {
                [
                    f.name.clone(),
                    value,
                    "—".into(),
                    "— (informational)".into(),
                ]
            } else {
                [
                    f.name.clone(),
                    value,
                    format!("{} {}", number(f.ceiling), f.unit),
                    format!("{}× {}", number(f.ratio), f.ratio_means),
                ]
            }
        })
        .collect();
    let header = ["figure", "value", "ceiling", "ratio"].map(String::from);
    let mut widths = [0usize; 4];
    for row in rows.iter().chain(std::iter::once(&header)) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 4]| {
        let pad = |cell: &str, width: usize, right: bool| {
            let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
            if right {
                format!("{fill}{cell}")
            } else {
                format!("{cell}{fill}")
            }
        };
        format!(
            "{}  {}  {}  {}\n",
            pad(&row[0], widths[0], false),
            pad(&row[1], widths[1], true),
            pad(&row[2], widths[2], true),
            row[3]
        )
        .trim_end()
        .to_owned()
            + "\n"
    };
    let mut text = line(&header);
    let mut last_suite = "";
    for (row, figure) in rows.iter().zip(figures) {
        let suite = figure.name.split(':').next().unwrap_or_default();
        if !last_suite.is_empty() && suite != last_suite {
            text.push('\n');
        }
        last_suite = suite;
        text.push_str(&line(row));
    }
    text
}

/// A figure for people: thousands separated above 100, three significant digits or so below.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value.abs() >= 100.0 {
        let digits = format!("{:.0}", value.abs());
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        return if value < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        };
    }
    if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// A thousands-separated count, for names and notes.
pub(crate) fn count(n: usize) -> String {
    if n < 1_000 {
        n.to_string()
    } else {
        number(n as f64)
    }
}

const ORG: &str = "bench-organization-secret-0001";
const USER: &str = "bench-user-secret-0000000000001";
const REDIRECT: &str = "https://app.example/oauth";
const APP_ID: &str = "tributary-demo";
const APP_SECRET: &str = "tributary-demo-secret";
/// Seals the instances' secrets where a database needs one key for every process (PostgreSQL,
/// several nodes).
pub(crate) const MASTER_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// The provider a harness runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BenchElement {
    /// Keap, `infusionsoftrest`.
    Infusionsoft,
    /// Salesforce, `sfdc`.
    Salesforce,
    /// HubSpot, `hubspotcrm`.
    HubSpot,
    /// QuickBooks Online, `quickbooks`.
    QuickBooks,
}

impl BenchElement {
    pub fn key(self) -> &'static str {
        match self {
            BenchElement::Infusionsoft => "infusionsoftrest",
            BenchElement::Salesforce => "sfdc",
            BenchElement::HubSpot => "hubspotcrm",
            BenchElement::QuickBooks => "quickbooks",
        }
    }

    /// The simulator's name for contacts (QuickBooks' nearest: customers).
    fn contacts(self) -> &'static str {
        match self {
            BenchElement::Infusionsoft | BenchElement::HubSpot => "contacts",
            BenchElement::Salesforce => "Contact",
            BenchElement::QuickBooks => "Customer",
        }
    }

    /// Whether the simulator keeps Tributary's (manual) clock rather than real time: where a
    /// poll reads only up to a settle time, or a feed's dates have one-second resolution, the
    /// benchmark moves both clocks instead of waiting.
    pub fn shares_the_clock(self) -> bool {
        matches!(self, BenchElement::HubSpot | BenchElement::QuickBooks)
    }

    /// The simulator, without throttles or quotas, seeded with nothing.
    async fn simulator(self, clock: Arc<dyn Clock>) -> anyhow::Result<RunningSimulator> {
        self.simulator_scaled(clock, 1.0).await
    }

    /// [`BenchElement::simulator`] with Keap's REST hook delays multiplied by `hook_time_scale`.
    async fn simulator_scaled(
        self,
        clock: Arc<dyn Clock>,
        hook_time_scale: f64,
    ) -> anyhow::Result<RunningSimulator> {
        let real: Arc<dyn Clock> = Arc::new(tributary_domain::SystemClock);
        let addr = "127.0.0.1:0".parse()?;
        let sim = match self {
            BenchElement::Infusionsoft => {
                let config = Config {
                    seed: 0,
                    throttle_per_minute: u32::MAX,
                    tenant_throttle_per_minute: u32::MAX,
                    quota_per_day: u32::MAX,
                    tenant_quota_per_day: u32::MAX,
                    hook_time_scale,
                    ..Config::default()
                };
                RunningSimulator::start(Simulator::new(config, real), addr).await
            }
            BenchElement::Salesforce => {
                let config = tributary_simulator::salesforce::Config {
                    seed: 0,
                    daily_quota: u32::MAX,
                    short_pages: false,
                    ..tributary_simulator::salesforce::Config::default()
                };
                tributary_simulator::salesforce::start(config, real, addr).await
            }
            BenchElement::HubSpot => {
                let config = tributary_simulator::hubspot::Config {
                    seed: 0,
                    index_lag_secs: 0,
                    ten_secondly_limit: u32::MAX,
                    search_per_second: u32::MAX,
                    ..tributary_simulator::hubspot::Config::default()
                };
                tributary_simulator::hubspot::start(config, clock, addr).await
            }
            BenchElement::QuickBooks => {
                let config = tributary_simulator::quickbooks::Config {
                    seed: 0,
                    requests_per_minute: u32::MAX,
                    concurrent: u32::MAX,
                    ..tributary_simulator::quickbooks::Config::default()
                };
                tributary_simulator::quickbooks::start(config, clock, addr).await
            }
        };
        sim.context("cannot start the simulator")
    }
}

/// The simulator, without throttles or quotas, and Tributary on a fresh SQLite database, with
/// the HTTP client a user would have.
pub(crate) struct Harness {
    pub element: BenchElement,
    pub http: reqwest::Client,
    pub sim: RunningSimulator,
    pub api: String,
    pub auth: String,
    pub state: AppState,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    dir: PathBuf,
}

impl Harness {
    /// Starts both; `adjust` sets what the suite needs on top of the shared settings (the
    /// simulator's origin, the bootstrap organization, no provider pacing, no scheduler).
    pub async fn start(
        tag: &str,
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<Harness> {
        Harness::start_for(tag, BenchElement::Infusionsoft, clock, adjust).await
    }

    /// [`Harness::start`] against `element`'s simulator.
    pub async fn start_for(
        tag: &str,
        element: BenchElement,
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<Harness> {
        let sim = element.simulator(clock.clone()).await?;
        Harness::start_on(tag, element, sim, clock, adjust).await
    }

    /// [`Harness::start`] against a Keap simulator whose REST hook delays are multiplied by
    /// `hook_time_scale`, the server reachable at its public URL (the hooks' target).
    pub async fn start_hooked(
        tag: &str,
        hook_time_scale: f64,
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<Harness> {
        let element = BenchElement::Infusionsoft;
        let sim = element
            .simulator_scaled(clock.clone(), hook_time_scale)
            .await?;
        // A free port, known before the server binds it: the public URL names it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Harness::start_on(tag, element, sim, clock, |settings| {
            settings.bind = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            settings.public_url = Some(format!("http://127.0.0.1:{port}"));
            adjust(settings);
        })
        .await
    }

    async fn start_on(
        tag: &str,
        element: BenchElement,
        sim: RunningSimulator,
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<Harness> {
        let dir = std::env::temp_dir().join(format!(
            "tributary-bench-{tag}-{}-{}",
            std::process::id(),
            // Base64 holds '/' and '+': keep letters and digits, so the name is one directory.
            tributary_server::secrets::random_secret()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut settings = Settings {
            bind: "127.0.0.1:0".parse()?,
            database_url: format!("sqlite://{}", dir.join("bench.db").display()),
            origins: BTreeMap::from([(element.key().to_owned(), sim.url())]),
            bootstrap: Some(Bootstrap {
                organization_secret: ORG.to_owned().into(),
                user_secret: USER.to_owned().into(),
            }),
            provider_requests_per_minute: Some(u32::MAX / 2),
            poll_concurrency: 0,
            ..Settings::default()
        };
        adjust(&mut settings);
        let app = Application::build(settings, clock).await?;
        let api = format!("http://127.0.0.1:{}/elements/api-v2", app.port());
        let state = app.state().clone();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Ok(Harness {
            element,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            sim,
            api,
            auth: format!("User {USER}, Organization {ORG}"),
            state,
            shutdown,
            server,
            dir,
        })
    }

    /// Stops the server (a few seconds at most), then the simulator, and removes the database.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        drop(self.sim);
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// What the simulator's consent page redirects with, answered "allow": an instance's
    /// `providerData` (the code, and QuickBooks' realm beside it).
    pub async fn provider_data(&self) -> anyhow::Result<Value> {
        let origin = self.sim.url();
        let code = |code: String| json!({ "code": code });
        match self.element {
            BenchElement::Infusionsoft => {
                tributary_simulator::consent_code(&self.http, &origin, APP_ID, REDIRECT)
                    .await
                    .map(code)
            }
            BenchElement::Salesforce => tributary_simulator::salesforce::consent_code(
                &self.http, &origin, APP_ID, REDIRECT, None,
            )
            .await
            .map(code),
            BenchElement::HubSpot => tributary_simulator::hubspot::consent_code(
                &self.http, &origin, APP_ID, REDIRECT, None,
            )
            .await
            .map(code),
            BenchElement::QuickBooks => tributary_simulator::quickbooks::consent(
                &self.http, &origin, APP_ID, REDIRECT, None,
            )
            .await
            .map(|c| json!({"code": c.code, "realmId": c.realm_id})),
        }
        .map_err(anyhow::Error::msg)
    }

    /// An access token for the simulator's API, as the bare loops use it.
    pub async fn token(&self) -> anyhow::Result<String> {
        let data = self.provider_data().await?;
        let code = data["code"].as_str().unwrap_or_default().to_owned();
        let path = match self.element {
            BenchElement::Infusionsoft => "/token",
            BenchElement::Salesforce => "/services/oauth2/token",
            BenchElement::HubSpot => "/oauth/v3/token",
            BenchElement::QuickBooks => "/oauth2/v1/tokens/bearer",
        };
        let mut request = self.http.post(format!("{}{path}", self.sim.url()));
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if self.element == BenchElement::QuickBooks {
            // Intuit takes the client in HTTP Basic only.
            request = request
                .basic_auth(APP_ID, Some(APP_SECRET))
                .header("accept", "application/json");
        } else {
            form.extend([("client_id", APP_ID), ("client_secret", APP_SECRET)]);
        }
        let tokens: Value = request.form(&form).send().await?.json().await?;
        tokens["access_token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the token exchange answered {tokens}"))
    }

    /// An instance polling `pollers` every minute, delivering to `callback` (signed with
    /// `signing_key` when given).
    pub async fn instance(
        &self,
        pollers: Value,
        callback: &str,
        signing_key: Option<&str>,
    ) -> anyhow::Result<i64> {
        self.instance_of(pollers, callback, signing_key, "polling")
            .await
    }

    /// [`Harness::instance`] with `event.vendor.type` = `vendor` (`webhooks`).
    pub async fn instance_of(
        &self,
        pollers: Value,
        callback: &str,
        signing_key: Option<&str>,
        vendor: &str,
    ) -> anyhow::Result<i64> {
        let mut configuration = json!({"oauth.api.key": APP_ID,
            "oauth.api.secret": APP_SECRET, "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true, "event.notification.callback.url": callback,
            "event.poller.refresh_interval": 1, "event.poller.configuration": pollers,
            "event.vendor.type": vendor});
        if let Some(key) = signing_key {
            configuration["event.notification.signature.key"] = key.into();
        }
        let body = json!({"element": {"key": self.element.key()},
            "providerData": self.provider_data().await?,
            "name": "bench", "configuration": configuration});
        let created: Value = self
            .http
            .post(format!("{}/instances", self.api))
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        created["id"]
            .as_i64()
            .with_context(|| format!("no instance created: {created}"))
    }

    /// "Poll now": the poll summary, once its events are stored.
    pub async fn poll(&self, id: i64) -> anyhow::Result<Value> {
        Ok(self
            .http
            .post(format!("{}/instances/{id}/events/poll", self.api))
            .header("Authorization", &self.auth)
            .send()
            .await?
            .json()
            .await?)
    }

    /// The element's default poller configuration, every resource.
    pub fn default_pollers(&self) -> anyhow::Result<Value> {
        let key = self.element.key();
        Ok(self
            .state
            .registry
            .get(key)
            .with_context(|| format!("no {key} element"))?
            .default_poller_configuration())
    }

    /// Exactly `count` new contacts at the simulator, in requests of 100,000 at most.
    pub async fn contacts(&self, count: usize) -> anyhow::Result<()> {
        let mut left = count;
        while left > 0 {
            let chunk = left.min(100_000);
            let response = self
                .http
                .post(format!("{}/_sim/records", self.sim.url()))
                .json(&json!({"resource": self.element.contacts(), "count": chunk}))
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "the simulator refused to create {chunk} contacts: {}",
                response.status()
            );
            left -= chunk;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(38_989_015.4), "38,989,015");
        assert_eq!(number(1_146.0), "1,146");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(39.24), "39.2");
        assert_eq!(number(1.0), "1.00");
        assert_eq!(number(0.0131), "0.013");
        assert_eq!(number(-1_234.0), "-1,234");
        assert_eq!(count(7), "7");
        assert_eq!(count(2_101), "2,101");
    }

    #[test]
    fn the_table_has_a_row_per_figure_and_no_ratio_for_informational_ones() {
        let figures = [
            Figure::against(
                "delivery: latency p50",
                1.2,
                "ms",
                "bare POST round trip p50",
                0.03,
                "the bare round trip",
                false,
                "",
            ),
            Figure::informational("delivery: queued/s", 1_585.0, "notifications/s", true, ""),
        ];
        assert!((figures[0].ratio - 40.0).abs() < 1e-9);
        assert_eq!(figures[1].ceiling, figures[1].value);
        let text = table(&figures);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].contains("1.20 ms") && lines[1].contains("0.030 ms"));
        assert!(lines[1].ends_with("40.0× the bare round trip"), "{text}");
        assert!(lines[2].contains("1,585 notifications/s") && lines[2].contains("informational"));
    }
}
