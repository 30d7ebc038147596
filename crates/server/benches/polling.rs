//! Polling figures against the simulator on this machine, each next to its ceiling:
//!
//! 1. an idle poll (nothing changed): provider requests and CPU per poll;
//! 2. polls per second sustained over many idle instance-resources, next to a bare HTTP GET loop
//!    against the same simulator (same concurrency, same request) measured in the same run;
//! 3. records per second of a 100,000-record backfill poll into SQLite.
//!
//!   cargo bench -p tributary-server --bench polling
//!   BENCH_INSTANCE_RESOURCES=10000 BENCH_BACKFILL=100000 cargo bench -p tributary-server --bench polling
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::{Clock, ManualClock, SystemClock};
use tributary_server::scheduler::Scheduler;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::{Config, RunningSimulator, Simulator};

const ORG: &str = "bench-organization-secret-0001";
const USER: &str = "bench-user-secret-0000000000001";
const REDIRECT: &str = "https://app.example/oauth";
const CONCURRENCY: usize = 64;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of this process (user + system), from /proc.
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

struct Bench {
    http: reqwest::Client,
    sim: RunningSimulator,
    api: String,
    auth: String,
    clock: Arc<ManualClock>,
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

    async fn instance(&self, pollers: Value) -> i64 {
        let body = json!({"element": {"key": "infusionsoftrest"}, "providerData": {"code": self.code().await},
            "name": "bench", "configuration": {"oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true, "event.notification.callback.url": "https://r.example/",
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

    async fn provider_gets(&self) -> usize {
        let log: Vec<Value> = self
            .http
            .get(format!("{}/_sim/requests", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log.iter().filter(|r| r["method"] == "GET").count()
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
    let dir = std::env::temp_dir().join(format!("tributary-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        origins: BTreeMap::from([("infusionsoftrest".to_owned(), sim.url())]),
        bootstrap: Some(Bootstrap {
            organization_secret: ORG.to_owned().into(),
            user_secret: USER.to_owned().into(),
        }),
        provider_requests_per_minute: Some(u32::MAX / 2),
        poll_concurrency: 0,
        ..Settings::default()
    };
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let app = Application::build(settings, clock.clone()).await.unwrap();
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
        clock,
        state,
        _shutdown: shutdown,
    }
}

fn default_pollers(bench: &Bench) -> Value {
    bench
        .state
        .registry
        .get("infusionsoftrest")
        .unwrap()
        .default_poller_configuration()
}

async fn drain(scheduler: &Scheduler) -> usize {
    let mut total = 0;
    loop {
        let polls = scheduler.run_once().await;
        if polls.is_empty() {
            return total;
        }
        total += polls.len();
    }
}

#[tokio::main]
async fn main() {
    let target = env("BENCH_INSTANCE_RESOURCES", 2_100);
    let backfill = env("BENCH_BACKFILL", 100_000);
    let bench = setup().await;

    // 1. The idle poll.
    let appointments = json!({"appointments": default_pollers(&bench)["appointments"].clone()});
    let idle = bench.instance(appointments).await;
    bench.poll(idle).await; // the first poll also reads the provider's clock
    let (requests, cpu, started) = (bench.provider_gets().await, cpu_ms(), Instant::now());
    const IDLE_POLLS: usize = 200;
    for _ in 0..IDLE_POLLS {
        let summary = bench.poll(idle).await;
        assert_eq!(summary["polls"][0]["events"], 0);
    }
    let per_poll_requests = (bench.provider_gets().await - requests) as f64 / IDLE_POLLS as f64;
    let per_poll_cpu = (cpu_ms() - cpu) / IDLE_POLLS as f64;
    let per_poll_wall = started.elapsed().as_secs_f64() * 1000.0 / IDLE_POLLS as f64;
    println!(
        "idle poll: {per_poll_requests:.2} provider requests per poll, {per_poll_cpu:.2} ms CPU per poll (server and simulator in one process), {per_poll_wall:.2} ms wall"
    );

    // 2. Sustained idle polls over many instance-resources, next to bare GETs.
    let pollers = default_pollers(&bench);
    let per_instance = pollers.as_object().unwrap().len();
    let instances = target.div_ceil(per_instance);
    for _ in 0..instances {
        bench.instance(pollers.clone()).await;
    }
    let scheduler = Scheduler::new(bench.state.clone(), CONCURRENCY, Duration::from_secs(300));
    bench.clock.advance_ms(120_000);
    let first = drain(&scheduler).await; // first polls read the provider's clock too
    bench.clock.advance_ms(120_000);
    let started = Instant::now();
    let polled = drain(&scheduler).await;
    let poll_rate = polled as f64 / started.elapsed().as_secs_f64();

    let token = {
        let code = bench.code().await;
        let tokens: Value = bench
            .http
            .post(format!("{}/token", bench.sim.url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens["access_token"].as_str().unwrap().to_owned()
    };
    let url = format!(
        "{}/crm/rest/v1/contacts?since=2026-01-01T00%3A00%3A00.000Z&limit=1000&offset=0",
        bench.sim.url()
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (http, url, token) = (bench.http.clone(), url.clone(), token.clone());
        let share = polled / CONCURRENCY + usize::from(worker < polled % CONCURRENCY);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let response = http.get(&url).bearer_auth(&token).send().await.unwrap();
                assert!(response.status().is_success());
                let _ = response.bytes().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let get_rate = polled as f64 / started.elapsed().as_secs_f64();
    println!(
        "sustained: {polled} idle instance-resources ({instances} instances x {per_instance}; {first} first polls before), \
         {poll_rate:.0} polls/s; bare GET loop {get_rate:.0} requests/s; polls run at {:.0}% of the ceiling",
        100.0 * poll_rate / get_rate
    );

    // 3. A backfill: one poll that finds 100,000 new records.
    let contacts = json!({"contacts": default_pollers(&bench)["contacts"].clone()});
    let backfilled = bench.instance(contacts).await;
    bench.poll(backfilled).await;
    bench.clock.advance_ms(2_000);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let mut left = backfill;
    while left > 0 {
        let count = left.min(100_000);
        bench
            .http
            .post(format!("{}/_sim/records", bench.sim.url()))
            .json(&json!({"resource": "contacts", "count": count}))
            .send()
            .await
            .unwrap();
        left -= count;
    }
    let started = Instant::now();
    let summary = bench.poll(backfilled).await;
    let elapsed = started.elapsed().as_secs_f64();
    let events = summary["polls"][0]["events"].as_u64().unwrap_or(0);
    assert_eq!(events as usize, backfill, "{summary}");
    println!(
        "backfill: {events} records in {elapsed:.1} s, {:.0} records/s ({} pages), stored in one transaction",
        events as f64 / elapsed,
        summary["polls"][0]["pages"]
    );
}
