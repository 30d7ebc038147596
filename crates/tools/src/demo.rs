//! `tributary demo`: the whole loop on one machine, with nothing installed.
//!
//! In one process and on free local ports it starts the Infusionsoft simulator, `serve` on a
//! fresh SQLite database, and a webhook receiver that verifies every signature. Then it does
//! what a user does, through the public HTTP API only: gets an authorization code from the
//! simulator's consent endpoint, creates an instance with the Cloud Elements example body
//! (appointments, plus contacts, opportunities, tasks and orders), starts simulated CRM
//! activity, and presses "poll now" every second. The terminal shows a line per resource
//! (changes made at the provider / events delivered / signatures verified) and each event as it
//! arrives. At the end it compares the simulator's state export with what the receiver got and
//! exits non-zero unless every change is accounted for:
//!
//! - every record changed during the run has its latest version delivered, exactly once;
//! - no event arrives twice, and none names a record that did not change;
//! - a record never yields more events than it had changes. Polling sees states, not edits: a
//!   record edited twice between two polls is one change to a poller (Cloud Elements behaves
//!   the same), so the summary reports such edits as *merged*, record by record;
//! - every signature verifies.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tributary_domain::{Clock, SystemClock};
use tributary_simulator::{Config, RunningSimulator, Simulator};

use tributary_server::app::Application;
use tributary_server::settings::Settings;

/// The resources the demo polls: the example's appointments, and four more.
const RESOURCES: [&str; 5] = [
    "appointments",
    "contacts",
    "opportunities",
    "tasks",
    "orders",
];
const REDIRECT: &str = "https://demo.tributary.invalid/oauth";
const APP_ID: &str = "tributary-demo";
const APP_SECRET: &str = "tributary-demo-secret";

/// What `tributary demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// How long the simulated activity runs (Ctrl-C ends it sooner).
    pub duration: Duration,
    /// Changes per second made at the simulator.
    pub rate: f64,
    /// A database to use instead of a fresh one in a temporary directory.
    pub database_url: Option<String>,
}

/// Where the web UI is, and the demo organization's secrets to sign in with.
struct Ui {
    url: String,
    user: String,
    organization: String,
}

/// One event as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    resource: String,
    object_id: String,
    event_type: String,
    event_id: String,
    /// The record's updated date as the provider wrote it, from the notification's `raw`.
    updated: Option<String>,
}

/// One notification as the receiver got it.
#[derive(Debug)]
struct Arrival {
    webhook_id: String,
    signature_ok: bool,
    events: Vec<Received>,
}

#[derive(Clone)]
struct Receiver {
    key: Arc<String>,
    /// Resource → the field holding a record's updated date.
    updated_fields: Arc<HashMap<String, String>>,
    arrivals: mpsc::UnboundedSender<Arrival>,
}

/// Runs the demo; the exit status says whether every change was accounted for.
pub fn run(options: DemoOptions) -> ExitCode {
    tributary_server::telemetry::init_with_default(
        std::io::stderr,
        std::io::stderr().is_terminal(),
        "warn",
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(demo(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: the demo could not run: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(options: DemoOptions) -> anyhow::Result<bool> {
    // 1. The provider stand-in, with enough records that edits rarely hit the same one twice.
    let sim = Simulator::new(
        Config {
            seed: 2_000,
            ..Config::default()
        },
        Arc::new(SystemClock),
    );
    let sim = RunningSimulator::start(sim, "127.0.0.1:0".parse()?)
        .await
        .context("cannot start the simulator")?;
    let origin = sim.url();

    // 2. Tributary itself, on a fresh embedded database.
    let temp = match &options.database_url {
        Some(_) => None,
        None => Some(temp_dir()?),
    };
    let database_url = match (&options.database_url, &temp) {
        (Some(url), _) => url.clone(),
        (None, Some(dir)) => format!("sqlite://{}", dir.join("demo.db").display()),
        (None, None) => unreachable!("a temporary directory exists without --database-url"),
    };
    let settings = Settings {
        bind: "127.0.0.1:0".parse()?,
        database_url: database_url.clone(),
        allow_private_callbacks: true,
        origins: BTreeMap::from([("infusionsoftrest".to_owned(), origin.clone())]),
        // A PostgreSQL --database-url needs the deployment's key, as serve does.
        master_key: std::env::var("TRIBUTARY_MASTER_KEY").ok().map(Into::into),
        ..Settings::default()
    };
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let secrets =
        tributary_server::tenants::create(app.state().store.as_ref(), "demo", SystemClock.now_ms())
            .await?;
    let auth = format!(
        "User {}, Organization {}",
        secrets.user_secret.expose_secret(),
        secrets.organization_secret.expose_secret()
    );
    let app_port = app.port();
    let api = format!("http://127.0.0.1:{app_port}/elements/api-v2");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;

    let ui = Ui {
        url: format!("http://127.0.0.1:{}/", app_port),
        user: secrets.user_secret.expose_secret().to_owned(),
        organization: secrets.organization_secret.expose_secret().to_owned(),
    };
    let outcome = drive(&options, &http, &origin, &api, &auth, &ui).await;

    shutdown.cancel();
    let _ = server.await;
    drop(sim);
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    } else {
        println!("The database stays at {database_url}.");
    }
    outcome
}

/// Everything after the start: the user's steps, the live view, the check.
async fn drive(
    options: &DemoOptions,
    http: &reqwest::Client,
    origin: &str,
    api: &str,
    auth: &str,
    ui: &Ui,
) -> anyhow::Result<bool> {
    // The element's resources, as any client would read them.
    let element: Value = checked(
        http.get(format!("{api}/elements/infusionsoftrest"))
            .header("Authorization", auth)
            .send()
            .await?,
        "GET /elements/infusionsoftrest",
    )
    .await?;
    let mut pollers = serde_json::Map::new();
    let mut updated_fields = HashMap::new();
    for resource in element["resources"].as_array().into_iter().flatten() {
        let name = resource["name"].as_str().unwrap_or_default();
        if RESOURCES.contains(&name) {
            pollers.insert(name.into(), resource["defaultPollerConfiguration"].clone());
            if let Some(field) = resource["updatedDateField"].as_str() {
                updated_fields.insert(name.to_owned(), field.to_owned());
            }
        }
    }
    // Appointments exactly as in the Cloud Elements example.
    pollers.insert(
        "appointments".into(),
        json!({"url": "/hubs/crm/appointments", "idField": "id", "datesConfiguration": {
            "updatedDateField": "modification_date",
            "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "updatedDateTimezone": "GMT",
            "createdDateField": "creation_date",
            "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "createdDateTimezone": "GMT"}}),
    );

    // The webhook receiver, verifying each signature with the instance's key.
    let key = tributary_server::secrets::random_secret();
    let (sender, mut arrivals) = mpsc::unbounded_channel();
    let receiver = Receiver {
        key: Arc::new(key.clone()),
        updated_fields: Arc::new(updated_fields.clone()),
        arrivals: sender,
    };
    let router = axum::Router::new()
        .route("/webhooks", axum::routing::post(receive))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let callback = format!("http://{}/webhooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });

    // Consent, as the user's browser would give it, then the example's create body.
    let code = tributary_simulator::consent_code(http, origin, APP_ID, REDIRECT)
        .await
        .map_err(anyhow::Error::msg)?;
    let body = json!({
        "element": {"key": "infusionsoftrest"},
        "providerData": {"code": code},
        "name": "API Instance",
        "tags": ["Docs"],
        "configuration": {
            "oauth.api.key": APP_ID,
            "oauth.api.secret": APP_SECRET,
            "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true,
            "event.vendor.type": "polling",
            "event.notification.callback.url": callback,
            "event.notification.signature.key": key,
            "event.poller.refresh_interval": "1",
            "event.poller.configuration": pollers,
        }
    });
    let created: Value = checked(
        http.post(format!("{api}/instances"))
            .header("Authorization", auth)
            .json(&body)
            .send()
            .await?,
        "POST /instances",
    )
    .await?;
    let id = created["id"]
        .as_i64()
        .context("the created instance has no id")?;
    // A first poll sets every cursor at the provider's now: what existed before is not news.
    poll_now(http, api, auth, id).await?;
    let baseline = versions(&export(http, origin).await?);

    checked(
        http.post(format!("{origin}/_sim/activity"))
            .json(&json!({"rate": options.rate, "resources": RESOURCES}))
            .send()
            .await?,
        "starting the simulator's activity",
    )
    .await?;

    let terminal = std::io::stdout().is_terminal();
    let view = View::new(terminal);
    // The demo organization's secrets sign in to the UI; they are shown to a person at a
    // terminal, never written into a log or a captured output.
    let sign_in = if terminal {
        format!(
            "sign in with user secret {} and organization secret {}",
            ui.user, ui.organization
        )
    } else {
        "its sign-in secrets are shown when the demo runs in a terminal".to_owned()
    };
    view.line(format!(
        "Tributary demo — simulator {origin}, API {api}, receiver {callback}\n\
         Web UI {} while the demo runs: {sign_in}.\n\
         Instance {id} polls {} every minute, and on \"poll now\" every second. \
         {:.1} changes/s for {} s (Ctrl-C ends sooner).\n",
        ui.url,
        RESOURCES.join(", "),
        options.rate,
        options.duration.as_secs()
    ));
    let mut tally = Tally::default();
    let deadline = tokio::time::sleep(options.duration);
    tokio::pin!(deadline);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut poll_errors = 0usize;
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = &mut ctrl_c => {
                view.line("Ctrl-C: stopping the activity and checking what arrived…".into());
                break;
            }
            Some(arrival) = arrivals.recv() => tally.add(arrival, &view),
            _ = tick.tick() => {
                if poll_now(http, api, auth, id).await.is_err() {
                    poll_errors += 1;
                }
                if let Ok(state) = export(http, origin).await {
                    tally.made = changes_since(&baseline, &versions(&state));
                }
                view.progress(&tally);
            }
        }
    }
    checked(
        http.delete(format!("{origin}/_sim/activity"))
            .send()
            .await?,
        "stopping the simulator's activity",
    )
    .await?;

    // Drain: poll until every change has arrived (or a minute has passed).
    let last = export(http, origin).await?;
    let finals = versions(&last);
    tally.made = changes_since(&baseline, &finals);
    let expected = latest_versions(&last, &updated_fields, &baseline, &finals);
    let drain_until = Instant::now() + Duration::from_secs(60);
    loop {
        let _ = poll_now(http, api, auth, id).await;
        let pause = tokio::time::sleep(Duration::from_millis(500));
        tokio::pin!(pause);
        loop {
            tokio::select! {
                _ = &mut pause => break,
                Some(arrival) = arrivals.recv() => tally.add(arrival, &view),
            }
        }
        view.progress(&tally);
        if expected
            .iter()
            .all(|(record, updated)| tally.has(record, updated))
            || Instant::now() > drain_until
        {
            break;
        }
    }
    // Anything still on its way (a duplicate would be) arrives within a second.
    let settle = tokio::time::sleep(Duration::from_secs(1));
    tokio::pin!(settle);
    loop {
        tokio::select! {
            _ = &mut settle => break,
            Some(arrival) = arrivals.recv() => tally.add(arrival, &view),
        }
    }
    view.finish(&tally);
    let report = check(&tally, &expected, &baseline, &finals);
    println!("{}", report.text);
    if poll_errors > 0 {
        println!(
            "({poll_errors} \"poll now\" requests failed during the run; the scheduler covered them.)"
        );
    }
    Ok(report.passed)
}

/// Hands the receiver's requests to the live view, answering 401 to a bad signature.
async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature_ok = headers
        .get("elements-webhook-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .is_some_and(|expected| {
            Hmac::<Sha256>::new_from_slice(receiver.key.as_bytes())
                .map(|mut mac| {
                    mac.update(&body);
                    mac.verify_slice(&expected).is_ok()
                })
                .unwrap_or(false)
        });
    let webhook_id = headers
        .get("elements-webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let message = &message["message"];
    let mut events = Vec::new();
    for (index, event) in message["events"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let resource = event["objectType"].as_str().unwrap_or_default().to_owned();
        // `raw` holds the notification's records in the order of its events.
        let updated = receiver
            .updated_fields
            .get(&resource)
            .and_then(|field| message["raw"][&resource][index][field].as_str())
            .map(str::to_owned);
        events.push(Received {
            object_id: event["objectId"].as_str().unwrap_or_default().to_owned(),
            event_type: event["eventType"].as_str().unwrap_or_default().to_owned(),
            event_id: event["eventId"].as_str().unwrap_or_default().to_owned(),
            resource,
            updated,
        });
    }
    let _ = receiver.arrivals.send(Arrival {
        webhook_id,
        signature_ok,
        events,
    });
    if signature_ok {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// (resource, record id).
type RecordKey = (String, String);

/// What has arrived so far.
#[derive(Debug, Default)]
struct Tally {
    /// Changes made at the provider since the start, per resource.
    made: BTreeMap<String, u64>,
    notifications: u64,
    signatures_ok: u64,
    /// Per resource: (notifications, signatures verified).
    signed: BTreeMap<String, (u64, u64)>,
    webhook_ids: HashMap<String, u64>,
    event_ids: HashMap<String, u64>,
    /// Per record: the updated dates of its events, as the provider wrote them.
    per_record: HashMap<RecordKey, Vec<Option<String>>>,
    /// Distinct events per resource.
    events: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, arrival: Arrival, view: &View) {
        self.notifications += 1;
        if arrival.signature_ok {
            self.signatures_ok += 1;
        }
        if let Some(first) = arrival.events.first() {
            let signed = self.signed.entry(first.resource.clone()).or_default();
            signed.0 += 1;
            signed.1 += u64::from(arrival.signature_ok);
        }
        *self.webhook_ids.entry(arrival.webhook_id).or_default() += 1;
        for event in arrival.events {
            let seen = self.event_ids.entry(event.event_id.clone()).or_default();
            *seen += 1;
            if *seen > 1 {
                view.line(format!(
                    "  duplicate event {} ({} #{})",
                    event.event_id, event.resource, event.object_id
                ));
                continue;
            }
            *self.events.entry(event.resource.clone()).or_default() += 1;
            view.line(format!(
                "  {}  {:<13} #{:<6} {:<8} {}  signature {}",
                jiff::Timestamp::now().strftime("%H:%M:%S"),
                event.resource,
                event.object_id,
                event.event_type,
                event.updated.as_deref().unwrap_or("(no date)"),
                if arrival.signature_ok {
                    "verified"
                } else {
                    "INVALID"
                },
            ));
            self.per_record
                .entry((event.resource, event.object_id))
                .or_default()
                .push(event.updated);
        }
    }

    /// Whether the record's event with this updated date has arrived.
    fn has(&self, record: &RecordKey, updated: &Option<String>) -> bool {
        self.per_record
            .get(record)
            .is_some_and(|dates| dates.contains(updated))
    }
}

/// The terminal: a progress line per resource when it is one, plain lines otherwise.
struct View {
    multi: Option<MultiProgress>,
    bars: BTreeMap<&'static str, ProgressBar>,
}

impl View {
    fn new(terminal: bool) -> View {
        if !terminal {
            return View {
                multi: None,
                bars: BTreeMap::new(),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let style = ProgressStyle::with_template("{prefix:>14} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bars = RESOURCES
            .iter()
            .map(|resource| {
                let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
                bar.set_prefix(*resource);
                (*resource, bar)
            })
            .collect();
        View {
            multi: Some(multi),
            bars,
        }
    }

    fn line(&self, text: String) {
        match &self.multi {
            Some(multi) => {
                if multi.println(&text).is_err() {
                    println!("{text}");
                }
            }
            None => println!("{text}"),
        }
    }

    fn progress(&self, tally: &Tally) {
        for (resource, bar) in &self.bars {
            bar.set_message(progress_text(tally, resource));
        }
    }

    fn finish(&self, tally: &Tally) {
        self.progress(tally);
        for bar in self.bars.values() {
            bar.finish();
        }
        if self.multi.is_none() {
            for resource in RESOURCES {
                println!("{resource:>14} {}", progress_text(tally, resource));
            }
        }
    }
}

fn progress_text(tally: &Tally, resource: &str) -> String {
    let (notifications, verified) = tally.signed.get(resource).copied().unwrap_or_default();
    format!(
        "{:>5} changes made at the provider · {:>5} events delivered · {verified}/{notifications} \
         signatures verified",
        tally.made.get(resource).copied().unwrap_or(0),
        tally.events.get(resource).copied().unwrap_or(0),
    )
}

/// Record → its version count, from a state export (first tenant: the demo's).
fn versions(state: &Value) -> HashMap<RecordKey, u64> {
    let mut versions = HashMap::new();
    for resource in RESOURCES {
        let records = &state["tenants"][0]["resources"][resource]["records"];
        for record in records.as_array().into_iter().flatten() {
            versions.insert(
                (resource.to_owned(), record["id"].to_string()),
                record["versions"].as_u64().unwrap_or(0),
            );
        }
    }
    versions
}

/// Changes per resource between two version maps.
fn changes_since(
    baseline: &HashMap<RecordKey, u64>,
    now: &HashMap<RecordKey, u64>,
) -> BTreeMap<String, u64> {
    let mut made = BTreeMap::new();
    for (key, versions) in now {
        let before = baseline.get(key).copied().unwrap_or(0);
        if *versions > before {
            *made.entry(key.0.clone()).or_default() += versions - before;
        }
    }
    made
}

/// Each record changed during the run → its latest updated date, as the provider writes it.
fn latest_versions(
    state: &Value,
    updated_fields: &HashMap<String, String>,
    baseline: &HashMap<RecordKey, u64>,
    finals: &HashMap<RecordKey, u64>,
) -> BTreeMap<RecordKey, Option<String>> {
    let mut latest = BTreeMap::new();
    for resource in RESOURCES {
        let records = &state["tenants"][0]["resources"][resource]["records"];
        for record in records.as_array().into_iter().flatten() {
            let key = (resource.to_owned(), record["id"].to_string());
            if finals.get(&key) > baseline.get(&key) {
                let updated = updated_fields
                    .get(resource)
                    .and_then(|field| record[field].as_str())
                    .map(str::to_owned);
                latest.insert(key, updated);
            }
        }
    }
    latest
}

/// The verdict and the summary table.
struct Report {
    passed: bool,
    text: String,
}

fn check(
    tally: &Tally,
    expected: &BTreeMap<RecordKey, Option<String>>,
    baseline: &HashMap<RecordKey, u64>,
    finals: &HashMap<RecordKey, u64>,
) -> Report {
    let mut problems: Vec<String> = Vec::new();
    let mut rows = String::new();
    let (mut made_total, mut events_total, mut merged_total, mut records_total) = (0, 0, 0, 0);
    let mut latest_total = 0;
    for resource in RESOURCES {
        let made = tally.made.get(resource).copied().unwrap_or(0);
        let events = tally.events.get(resource).copied().unwrap_or(0);
        let mut records = 0u64;
        let mut latest = 0u64;
        let mut merged = 0u64;
        for (key, updated) in expected.iter().filter(|(k, _)| k.0 == resource) {
            records += 1;
            let changes =
                finals.get(key).copied().unwrap_or(0) - baseline.get(key).copied().unwrap_or(0);
            let got = tally.per_record.get(key).map(Vec::as_slice).unwrap_or(&[]);
            match got.iter().filter(|d| *d == updated).count() {
                1 => latest += 1,
                0 => problems.push(format!(
                    "{resource} #{}: its latest change ({}) never arrived",
                    key.1,
                    updated.as_deref().unwrap_or("no date")
                )),
                n => problems.push(format!(
                    "{resource} #{}: its latest change arrived {n} times",
                    key.1
                )),
            }
            match changes.checked_sub(got.len() as u64) {
                Some(fewer) => merged += fewer,
                None => problems.push(format!(
                    "{resource} #{}: {} events for {changes} changes",
                    key.1,
                    got.len()
                )),
            }
        }
        for (key, _) in tally.per_record.iter().filter(|(k, _)| k.0 == resource) {
            if !expected.contains_key(key) {
                problems.push(format!(
                    "{resource} #{}: an event for a record that did not change",
                    key.1
                ));
            }
        }
        let (notifications, verified) = tally.signed.get(resource).copied().unwrap_or_default();
        rows.push_str(&format!(
            "  {resource:<14}{made:>9}{records:>9}{events:>9}{merged:>9}{:>12}{:>12}\n",
            format!("{latest}/{records}"),
            format!("{verified}/{notifications}")
        ));
        made_total += made;
        events_total += events;
        merged_total += merged;
        records_total += records;
        latest_total += latest;
    }
    let duplicate_events: u64 = tally.event_ids.values().map(|n| n - 1).sum();
    let duplicate_notifications: u64 = tally.webhook_ids.values().map(|n| n - 1).sum();
    if duplicate_events > 0 || duplicate_notifications > 0 {
        problems.push(format!(
            "{duplicate_events} events and {duplicate_notifications} notifications arrived more \
             than once"
        ));
    }
    if tally.signatures_ok != tally.notifications {
        problems.push(format!(
            "{} of {} signatures did not verify",
            tally.notifications - tally.signatures_ok,
            tally.notifications
        ));
    }
    if made_total == 0 {
        problems.push("the simulator made no changes".into());
    }
    let mut text = format!(
        "\nSummary\n  {:<14}{:>9}{:>9}{:>9}{:>9}{:>12}{:>12}\n{rows}  {:<14}{made_total:>9}\
         {records_total:>9}{events_total:>9}{merged_total:>9}{:>12}{:>12}\n\n",
        "resource",
        "changes",
        "records",
        "events",
        "merged",
        "latest",
        "signatures",
        "total",
        format!("{latest_total}/{records_total}"),
        format!("{}/{}", tally.signatures_ok, tally.notifications),
    );
    let passed = problems.is_empty();
    if passed {
        text.push_str(&format!(
            "OK: {made_total} changes made at the provider = {events_total} events delivered, \
             each once + {merged_total} merged (a record changed again before a poll saw it); \
             signatures verified {}/{}; every changed record's latest version delivered \
             ({latest_total}/{records_total}).",
            tally.signatures_ok, tally.notifications
        ));
    } else {
        text.push_str(&format!("FAILED: {} problems\n", problems.len()));
        for problem in problems.iter().take(20) {
            text.push_str(&format!("  - {problem}\n"));
        }
    }
    Report { passed, text }
}

/// A fresh directory for the demo's database.
fn temp_dir() -> anyhow::Result<std::path::PathBuf> {
    // Letters and digits only: the secret's alphabet has `/`, which would nest a directory.
    let suffix: String = tributary_server::secrets::random_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let dir = std::env::temp_dir().join(format!("tributary-demo-{}-{suffix}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The JSON body of a 2xx response, or an error naming the step and the API's message.
async fn checked(response: reqwest::Response, step: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = if status == reqwest::StatusCode::NO_CONTENT {
        Value::Null
    } else {
        response.json().await.unwrap_or(Value::Null)
    };
    if !status.is_success() {
        bail!("{step} answered {status}: {}", body["message"]);
    }
    Ok(body)
}

async fn poll_now(http: &reqwest::Client, api: &str, auth: &str, id: i64) -> anyhow::Result<()> {
    checked(
        http.post(format!("{api}/instances/{id}/events/poll"))
            .header("Authorization", auth)
            .send()
            .await?,
        "poll now",
    )
    .await
    .map(|_| ())
}

async fn export(http: &reqwest::Client, origin: &str) -> anyhow::Result<Value> {
    checked(
        http.get(format!("{origin}/_sim/state")).send().await?,
        "GET /_sim/state",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(resource: &str, id: u64) -> RecordKey {
        (resource.to_owned(), id.to_string())
    }

    fn event(resource: &str, id: u64, updated: &str, event_id: &str) -> Received {
        Received {
            resource: resource.into(),
            object_id: id.to_string(),
            event_type: "UPDATED".into(),
            event_id: event_id.into(),
            updated: Some(updated.into()),
        }
    }

    fn arrival(webhook_id: &str, signature_ok: bool, events: Vec<Received>) -> Arrival {
        Arrival {
            webhook_id: webhook_id.into(),
            signature_ok,
            events,
        }
    }

    /// Contacts #1 changed twice (seen by two polls), #2 twice (merged into one poll), #3 was
    /// created; the receiver got the right events.
    type Run = (
        Tally,
        BTreeMap<RecordKey, Option<String>>,
        HashMap<RecordKey, u64>,
        HashMap<RecordKey, u64>,
    );

    fn run() -> Run {
        let baseline = HashMap::from([(key("contacts", 1), 1), (key("contacts", 2), 3)]);
        let finals = HashMap::from([
            (key("contacts", 1), 3),
            (key("contacts", 2), 5),
            (key("contacts", 3), 1),
        ]);
        let expected = BTreeMap::from([
            (key("contacts", 1), Some("t2".to_owned())),
            (key("contacts", 2), Some("t3".to_owned())),
            (key("contacts", 3), Some("t1".to_owned())),
        ]);
        let view = View::new(false);
        let mut tally = Tally {
            made: BTreeMap::from([("contacts".to_owned(), 5)]),
            ..Tally::default()
        };
        tally.add(
            arrival(
                "n1",
                true,
                vec![
                    event("contacts", 1, "t1", "e1"),
                    event("contacts", 3, "t1", "e3"),
                ],
            ),
            &view,
        );
        tally.add(
            arrival(
                "n2",
                true,
                vec![
                    event("contacts", 1, "t2", "e2"),
                    event("contacts", 2, "t3", "e4"),
                ],
            ),
            &view,
        );
        (tally, expected, baseline, finals)
    }

    #[test]
    fn every_change_accounted_for_passes_and_counts_the_merged_edit() {
        let (tally, expected, baseline, finals) = run();
        let report = check(&tally, &expected, &baseline, &finals);
        assert!(report.passed, "{}", report.text);
        assert!(
            report.text.contains(
                "OK: 5 changes made at the provider = 4 events delivered, each once + 1 merged"
            ),
            "{}",
            report.text
        );
        assert!(report.text.contains("2/2"), "{}", report.text);
    }

    #[test]
    fn a_missing_latest_version_fails_naming_the_record() {
        let (mut tally, expected, baseline, finals) = run();
        tally.per_record.remove(&key("contacts", 2));
        let report = check(&tally, &expected, &baseline, &finals);
        assert!(!report.passed);
        assert!(
            report
                .text
                .contains("contacts #2: its latest change (t3) never arrived"),
            "{}",
            report.text
        );
    }

    #[test]
    fn a_duplicate_a_bad_signature_or_an_unexplained_event_fails() {
        let view = View::new(false);
        let (mut tally, expected, baseline, finals) = run();
        tally.add(
            arrival("n2", true, vec![event("contacts", 1, "t2", "e2")]),
            &view,
        );
        let report = check(&tally, &expected, &baseline, &finals);
        assert!(!report.passed);
        assert!(
            report
                .text
                .contains("1 events and 1 notifications arrived more than once"),
            "{}",
            report.text
        );

        let (mut tally, expected, baseline, finals) = run();
        tally.add(
            arrival("n3", false, vec![event("contacts", 9, "t9", "e9")]),
            &view,
        );
        let report = check(&tally, &expected, &baseline, &finals);
        assert!(!report.passed);
        assert!(
            report.text.contains("1 of 3 signatures did not verify"),
            "{}",
            report.text
        );
        assert!(
            report
                .text
                .contains("contacts #9: an event for a record that did not change"),
            "{}",
            report.text
        );

        let (mut tally, expected, baseline, finals) = run();
        tally.add(
            arrival("n4", true, vec![event("contacts", 3, "t0", "e5")]),
            &view,
        );
        let report = check(&tally, &expected, &baseline, &finals);
        assert!(!report.passed);
        assert!(
            report.text.contains("contacts #3: 2 events for 1 changes"),
            "{}",
            report.text
        );
    }
}
