//! One node on PostgreSQL against the SQLite suites' ceilings ([`one_node`]), then several nodes
//! on one PostgreSQL database: polls per second and notifications per second with
//! 1, 2, … `max_nodes` real `tributary serve` processes (this binary) sharing one database, each
//! next to linear scaling from the one-node figure of the same run.
//!
//! For each node count: a fresh database, the simulator and a receiver in this process, the
//! nodes as child processes, and `instances` instances of five resources created through the
//! API. Then two rounds, each started by making every poller due at once (one `UPDATE`, and a
//! `NOTIFY` that wakes the nodes' schedulers):
//! 1. idle: every poll finds nothing — polls per second until every poller has polled;
//! 2. busy: `records` new records per resource at the provider — notifications per second from
//!    the round's start until the receiver has them all (poll, store, queue, sign, send).
//!
//! On a machine with few cores the nodes compete for them with each other, the simulator and
//! PostgreSQL: expect a plateau, and read the ratio as how much of linear scaling remains.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Connection;
use tributary_domain::{Clock, SystemClock};
use tributary_store::{Store, WAKE_SCHEDULER};

use super::delivery::DeliveryOptions;
use super::polling::PollingOptions;
use super::{BenchElement, Figure, MASTER_KEY};

pub(super) const RESOURCES: [&str; 5] = [
    "contacts",
    "opportunities",
    "tasks",
    "appointments",
    "orders",
];
pub(super) const ORG: &str = "bench-nodes-organization-secret";
pub(super) const USER: &str = "bench-nodes-user-secret-000001";
pub(super) const REDIRECT: &str = "https://app.example/oauth";

/// What the nodes benchmark measures.
#[derive(Debug, Clone, Serialize)]
pub struct NodesOptions {
    /// A PostgreSQL server to create the runs' databases on (`postgres://USER@HOST:PORT/DB`);
    /// without it the suite does not run.
    #[serde(skip)]
    pub postgres_url: Option<String>,
    /// Up to how many nodes (1, 2, … this many).
    pub max_nodes: usize,
    /// Instances of five resources each.
    pub instances: usize,
    /// New records per resource in the busy round.
    pub records: usize,
}

impl Default for NodesOptions {
    fn default() -> Self {
        NodesOptions {
            postgres_url: None,
            max_nodes: 3,
            instances: 60,
            records: 50,
        }
    }
}

/// A node process, killed when dropped.
pub(super) struct Node(pub(super) Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Keap's default poller configuration of each of [`RESOURCES`], as the API shows them.
pub(super) async fn default_pollers(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
) -> anyhow::Result<serde_json::Map<String, Value>> {
    let element: Value = http
        .get(format!("{api}/elements/infusionsoftrest"))
        .header("Authorization", auth)
        .send()
        .await?
        .json()
        .await?;
    let pollers: serde_json::Map<String, Value> = element["resources"]
        .as_array()
        .context("the element's resources")?
        .iter()
        .filter(|r| RESOURCES.contains(&r["name"].as_str().unwrap_or_default()))
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["defaultPollerConfiguration"].clone(),
            )
        })
        .collect();
    anyhow::ensure!(
        pollers.len() == RESOURCES.len(),
        "the element lacks some of {RESOURCES:?}"
    );
    Ok(pollers)
}

/// Starts `tributary serve` on the database; returns it and its API base URL once it listens.
pub(super) fn start_node(database_url: &str, origin: &str) -> anyhow::Result<(Node, String)> {
    use std::io::{BufRead, BufReader};
    let exe = std::env::current_exe().context("cannot find this program to start nodes")?;
    let mut child = Command::new(exe)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("TRIBUTARY_INFUSIONSOFTREST_ORIGIN", origin)
        .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", ORG)
        .env("TRIBUTARY_BOOTSTRAP_USER_SECRET", USER)
        .env("TRIBUTARY_MASTER_KEY", MASTER_KEY)
        .env("TRIBUTARY_ALLOW_PRIVATE_CALLBACKS", "true")
        .env("TRIBUTARY_PROVIDER_REQUESTS_PER_MINUTE", "10000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start a node")?;
    let stderr = child.stderr.take().context("the node's stderr")?;
    let node = Node(child);
    let mut lines = BufReader::new(stderr).lines();
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.split("listening on ").nth(1) {
            let api = rest.trim().to_owned();
            // Keep reading, so the node never writes into a closed pipe.
            std::thread::spawn(move || for _ in lines {});
            return Ok((node, api));
        }
    }
    bail!("a node exited before listening")
}

/// A database of its own for one run, dropped afterwards.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(admin: &str, tag: &str) -> anyhow::Result<Database> {
        let name = format!(
            "tributary_bench_{tag}_{}_{}",
            std::process::id(),
            SystemClock.now_ms() % 1_000_000_000
        );
        let mut connection = sqlx::PgConnection::connect(admin)
            .await
            .context("cannot connect to --postgres-url")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await?;
        let mut url = reqwest::Url::parse(admin).context("--postgres-url does not parse")?;
        url.set_path(&format!("/{name}"));
        Ok(Database {
            admin: admin.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    async fn drop_it(self) {
        if let Ok(mut connection) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut connection)
            .await;
        }
    }
}

/// The polling suite's Keap figures and the delivery suite's figures with the server on a fresh
/// PostgreSQL database, each against the same ceiling as on SQLite (the bare GET loop, bare
/// paging, the bare POST loop and round trip, measured in the same run), named
/// `polling (postgres): …` and `delivery (postgres): …`.
async fn one_node(
    admin: &str,
    polling: &PollingOptions,
    delivery: &DeliveryOptions,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    let database = Database::create(admin, "polling").await?;
    let polled = super::polling::run_on(
        polling,
        bar,
        &[BenchElement::Infusionsoft],
        Some(&database.url),
    )
    .await;
    database.drop_it().await;
    figures.extend(renamed(polled?, "polling"));
    let database = Database::create(admin, "delivery").await?;
    let delivered = super::delivery::run_on(delivery, bar, Some(&database.url)).await;
    database.drop_it().await;
    figures.extend(renamed(delivered?, "delivery"));
    Ok(figures)
}

/// `prefix: what` becomes `prefix (postgres): what`.
fn renamed(figures: Vec<Figure>, prefix: &str) -> Vec<Figure> {
    figures
        .into_iter()
        .map(|mut figure| {
            if let Some(what) = figure.name.strip_prefix(&format!("{prefix}: ")) {
                figure.name = format!("{prefix} (postgres): {what}");
            }
            figure.notes = format!("{}; on PostgreSQL, one server", figure.notes);
            figure
        })
        .collect()
}

/// One node count's figures: (polls/s, notifications/s).
async fn one_run(
    options: &NodesOptions,
    admin: &str,
    nodes: usize,
    bar: &ProgressBar,
) -> anyhow::Result<(f64, f64)> {
    let database = Database::create(admin, &nodes.to_string()).await?;
    let outcome = measure(options, &database.url, nodes, bar).await;
    database.drop_it().await;
    outcome
}

async fn measure(
    options: &NodesOptions,
    database_url: &str,
    nodes: usize,
    bar: &ProgressBar,
) -> anyhow::Result<(f64, f64)> {
    let sim = BenchElement::Infusionsoft
        .simulator(Arc::new(SystemClock))
        .await?;
    let origin = sim.url();
    let received = Arc::new(AtomicUsize::new(0));
    let count = received.clone();
    let router = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let callback = format!("http://{}/events", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The first node bootstraps the organization; the others find it.
    let mut running = vec![start_node(database_url, &origin)?];
    for _ in 1..nodes {
        running.push(start_node(database_url, &origin)?);
    }
    let api = running[0].1.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let auth = format!("User {USER}, Organization {ORG}");
    let pollers = default_pollers(&http, &api, &auth).await?;
    for i in 0..options.instances {
        let code = tributary_simulator::consent_code(&http, &origin, "tributary-demo", REDIRECT)
            .await
            .map_err(anyhow::Error::msg)?;
        let body = json!({"element": {"key": "infusionsoftrest"}, "providerData": {"code": code},
            "name": format!("bench {i}"), "configuration": {"oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true, "event.notification.callback.url": callback,
            "event.notification.signature.key": "bench-signing-key",
            "event.poller.refresh_interval": "60", "event.poller.configuration": pollers}});
        let created = http
            .post(format!("{}/instances", running[i % nodes].1))
            .header("Authorization", &auth)
            .json(&body)
            .send()
            .await?;
        if !created.status().is_success() {
            bail!("creating an instance answered {}", created.status());
        }
        bar.inc(1);
    }
    let total = options.instances * RESOURCES.len();
    let store = tributary_store::open(database_url, SystemClock.now_ms()).await?;
    // Every first poll sets a cursor (and reads the provider's clock): not measured.
    round(store.as_ref(), total, None).await?;
    bar.inc(1);

    // 1. Idle polls.
    let started = Instant::now();
    round(store.as_ref(), total, None).await?;
    let polls_per_second = total as f64 / started.elapsed().as_secs_f64();
    bar.inc(1);

    // 2. Busy: records at the provider, then every notification to the receiver.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for resource in RESOURCES {
        http.post(format!("{origin}/_sim/records"))
            .json(&json!({"resource": resource, "count": options.records}))
            .send()
            .await?;
    }
    let before = received.load(Ordering::Relaxed);
    let expected = total * options.records.div_ceil(10);
    let started = Instant::now();
    round(store.as_ref(), total, Some((&received, before + expected))).await?;
    let notifications_per_second = expected as f64 / started.elapsed().as_secs_f64();
    bar.inc(1);
    let delivered = received.load(Ordering::Relaxed) - before;
    if delivered != expected {
        bail!("{delivered} notifications arrived, {expected} expected");
    }
    drop(store);
    drop(running);
    Ok((polls_per_second, notifications_per_second))
}

/// Makes every poller due now, wakes the nodes, and waits until each has polled (and, when
/// given, until the receiver's count reaches the target).
async fn round(
    store: &dyn Store,
    total: usize,
    arrivals: Option<(&AtomicUsize, usize)>,
) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    store.set_all_pollers_due(now).await?;
    store.wake_others(WAKE_SCHEDULER).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let polled = store.count_polled_since(now).await?;
        let arrived =
            arrivals.is_none_or(|(count, target)| count.load(Ordering::Relaxed) >= target);
        if usize::try_from(polled).unwrap_or(usize::MAX) >= total && arrived {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("after 5 minutes only {polled} of {total} pollers had polled");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn run(
    options: &NodesOptions,
    polling: &PollingOptions,
    delivery: &DeliveryOptions,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<Figure>> {
    let admin = options
        .postgres_url
        .clone()
        .context("the nodes benchmark needs a PostgreSQL server: --postgres-url")?;
    let mut figures = one_node(&admin, polling, delivery, bar).await?;
    bar.set_length((options.max_nodes * (options.instances + 3)) as u64);
    bar.set_position(0);
    let mut runs = Vec::new();
    for nodes in 1..=options.max_nodes {
        bar.set_message(format!("{nodes} node(s)"));
        runs.push(one_run(options, &admin, nodes, bar).await?);
    }
    let (one_polls, one_sends) = runs[0];
    for (i, (polls, sends)) in runs.into_iter().enumerate() {
        let nodes = i + 1;
        let note = format!(
            "{nodes} serve process(es) on one PostgreSQL database, {} instance-resources; the \
             ceiling is linear scaling from the 1-node figure of this run",
            options.instances * RESOURCES.len()
        );
        figures.push(Figure::against(
            format!("nodes: idle polls/s, {nodes} node(s)"),
            polls,
            "polls/s",
            format!("{nodes} × the 1-node rate"),
            one_polls * nodes as f64,
            "linear scaling",
            true,
            note.clone(),
        ));
        figures.push(Figure::against(
            format!("nodes: notifications/s end to end, {nodes} node(s)"),
            sends,
            "notifications/s",
            format!("{nodes} × the 1-node rate"),
            one_sends * nodes as f64,
            "linear scaling",
            true,
            format!(
                "{note}; {} records per resource polled, stored, queued, signed and sent",
                options.records
            ),
        ));
    }
    Ok(figures)
}
