//! Memory: the resident set (VmRSS, from `/proc/PID/status`) of a real `tributary serve`
//! process on SQLite holding many idle instance-resources, each polled once, and what one more
//! instance-resource costs.
//!
//! The serve process is a child (this binary), so the simulator and the bench's own client,
//! which run in this process, are not counted. Its instances (of five Keap resources each,
//! polled every hour) are created through the API, several at once; then every poller is made
//! due in one `UPDATE` and the bench waits until each has polled (an idle poll: the provider has
//! nothing new), so whatever a poller keeps in memory after polling is there. (The last
//! instance of each step is created after that `UPDATE`, which its creation makes the server's
//! scheduler see: its resources count, unpolled.) The resident set
//! is read at the smaller count and at the larger; the cost of one instance-resource is the
//! difference over the difference of counts, which leaves out what every process holds
//! whatever its load (the binary, the runtime, SQLite's page cache, the allocator's arenas).
//! The goal is 3 KiB at 100,000 (issue 21); RSS is what the operating system charges, so it
//! includes memory the allocator keeps after a peak.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tributary_domain::{Clock, SystemClock};

use super::nodes::{ORG, REDIRECT, RESOURCES, USER, default_pollers, start_node};
use super::{BenchElement, Figure, count, number, step};

/// How big the memory benchmark is.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryOptions {
    /// The two counts of idle instance-resources the resident set is read at, smaller first.
    pub instance_resources: Vec<usize>,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            instance_resources: vec![10_000, 100_000],
        }
    }
}

/// The goal per instance-resource, in bytes (issue 21: ≤ 3 KB at 100,000).
const GOAL_BYTES: f64 = 3.0 * 1024.0;
/// Instances created at once.
const CREATORS: usize = 8;
/// Where notifications would go: nothing is new, so nothing is sent.
const CALLBACK: &str = "https://r.example/";

/// A process's resident set in bytes, from `/proc/PID/status` (Linux only).
fn rss_bytes(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("cannot read /proc/PID/status (the memory benchmark needs Linux)")?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no VmRSS in /proc/PID/status")?;
    Ok(kb * 1024.0)
}

pub async fn run(options: &MemoryOptions, bar: &ProgressBar) -> anyhow::Result<Vec<Figure>> {
    let &[small, large] = options.instance_resources.as_slice() else {
        bail!(
            "the memory benchmark takes two counts of instance-resources, SMALL,LARGE: {:?}",
            options.instance_resources
        );
    };
    ensure!(
        0 < small && small < large,
        "the memory benchmark's counts must grow: {small}, then {large}"
    );
    step(bar, "starting the simulator and a serve process", 1);
    let sim = BenchElement::Infusionsoft
        .simulator(Arc::new(SystemClock))
        .await?;
    let dir = std::env::temp_dir().join(format!(
        "tributary-bench-memory-{}-{}",
        std::process::id(),
        SystemClock.now_ms()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let database_url = format!("sqlite://{}", dir.join("memory.db").display());
    let outcome = measure(small, large, &database_url, &sim.url(), bar).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(
    small: usize,
    large: usize,
    database_url: &str,
    origin: &str,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<Figure>> {
    let (node, api) = start_node(database_url, origin)?;
    let pid = node.0.id();
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let auth = format!("User {USER}, Organization {ORG}");
    let pollers = default_pollers(&http, &api, &auth).await?;
    let per_instance = RESOURCES.len();
    let started_rss = rss_bytes(pid)?;
    let store = tributary_store::open(database_url, SystemClock.now_ms()).await?;

    let mut instances = 0;
    let mut readings = Vec::new();
    for target in [small, large] {
        let wanted = target.div_ceil(per_instance);
        step(
            bar,
            format!(
                "creating instances up to {} instance-resources",
                count(wanted * per_instance)
            ),
            (wanted - instances) as u64,
        );
        // All but the last instance, then every poller made due, then the last instance: its
        // creation wakes the serve process's scheduler (on SQLite nothing else reaches it).
        create_all(
            &http,
            &api,
            &auth,
            origin,
            &pollers,
            instances,
            wanted - 1,
            bar,
        )
        .await?;
        let total = wanted * per_instance;
        step(
            bar,
            format!("every one of {} instance-resources polled", count(total)),
            1,
        );
        let due = SystemClock.now_ms();
        store.set_all_pollers_due(due).await?;
        create(&http, &api, &auth, origin, &pollers, wanted - 1).await?;
        instances = wanted;
        let polled = (wanted - 1) * per_instance;
        let deadline = Instant::now() + Duration::from_secs(600);
        while store.count_polled_since(due).await? < polled as u64 {
            ensure!(
                Instant::now() < deadline,
                "after 10 minutes not every poller had polled"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Polls finishing their tasks after their commits.
        tokio::time::sleep(Duration::from_millis(500)).await;
        readings.push((total, rss_bytes(pid)?));
        bar.inc(1);
    }
    drop(store);
    drop(node);

    let [(small_n, small_rss), (large_n, large_rss)] = [readings[0], readings[1]];
    let per = (large_rss - small_rss) / (large_n - small_n) as f64;
    let mb = |bytes: f64| bytes / (1024.0 * 1024.0);
    let how = format!(
        "VmRSS of a `tributary serve` child process on SQLite (not the bench's, which runs the \
         simulator), {} MB when it started; idle instance-resources are Keap instances of \
         {per_instance} resources created through the API, then every poller made due and \
         polled once (nothing new)",
        number(mb(started_rss))
    );
    Ok(vec![
        Figure::informational(
            "memory: serve RSS at the smaller count of idle instance-resources",
            mb(small_rss),
            "MiB",
            false,
            format!(
                "informational, no ceiling (ceiling = value, ratio 1): at {} idle \
                 instance-resources; {how}",
                count(small_n)
            ),
        ),
        Figure::informational(
            "memory: serve RSS at the larger count of idle instance-resources",
            mb(large_rss),
            "MiB",
            false,
            format!(
                "informational, no ceiling (ceiling = value, ratio 1): at {} idle \
                 instance-resources; {how}",
                count(large_n)
            ),
        ),
        Figure::against(
            "memory: RSS per idle instance-resource",
            per.max(1.0),
            "bytes",
            "the goal, 3 KiB",
            GOAL_BYTES,
            "the goal (3 KiB)",
            false,
            format!(
                "ratio = bytes / 3,072; (RSS at {} − RSS at {}) / {} more instance-resources \
                 ({} MiB − {} MiB), so what every process holds whatever its load is left out \
                 (shown as 1 byte if the difference is not positive); {how}",
                count(large_n),
                count(small_n),
                count(large_n - small_n),
                number(mb(large_rss)),
                number(mb(small_rss)),
            ),
        ),
    ])
}

/// Creates the `i`-th instance: a consent code from the simulator, then `POST /instances`.
/// Creates instances `from..to`, [`CREATORS`] at once.
#[allow(clippy::too_many_arguments)]
async fn create_all(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
    origin: &str,
    pollers: &serde_json::Map<String, Value>,
    from: usize,
    to: usize,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let mut creators = JoinSet::new();
    let next = Arc::new(AtomicUsize::new(from));
    for _ in 0..CREATORS {
        let (http, api, auth, origin, pollers, next, bar) = (
            http.clone(),
            api.to_owned(),
            auth.to_owned(),
            origin.to_owned(),
            pollers.clone(),
            next.clone(),
            bar.clone(),
        );
        creators.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    return anyhow::Ok(());
                }
                create(&http, &api, &auth, &origin, &pollers, i).await?;
                bar.inc(1);
            }
        });
    }
    while let Some(created) = creators.join_next().await {
        created.context("an instance creator stopped")??;
    }
    Ok(())
}

async fn create(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
    origin: &str,
    pollers: &serde_json::Map<String, Value>,
    i: usize,
) -> anyhow::Result<()> {
    let code = tributary_simulator::consent_code(http, origin, "tributary-demo", REDIRECT)
        .await
        .map_err(anyhow::Error::msg)?;
    let body = json!({"element": {"key": "infusionsoftrest"}, "providerData": {"code": code},
        "name": format!("memory {i}"), "configuration": {"oauth.api.key": "tributary-demo",
        "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": REDIRECT,
        "event.notification.enabled": true, "event.notification.callback.url": CALLBACK,
        "event.poller.refresh_interval": "60", "event.poller.configuration": pollers}});
    let created = http
        .post(format!("{api}/instances"))
        .header("Authorization", auth)
        .json(&body)
        .send()
        .await?;
    if !created.status().is_success() {
        bail!("creating an instance answered {}", created.status());
    }
    Ok(())
}
