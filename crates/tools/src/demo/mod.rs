//! `tributary demo`: the whole loop on one machine, with nothing installed.
//!
//! In one process and on free local ports it starts a provider's simulator (Infusionsoft by
//! default; Salesforce, HubSpot or QuickBooks Online with `--element sfdc`, `hubspotcrm` or
//! `quickbooks`), `serve` on a fresh SQLite database, and a
//! webhook receiver that verifies every signature. Then it does what a user does, through the
//! public HTTP API only: gets an authorization code from the simulator's consent endpoint,
//! creates an instance with the Cloud Elements example body (for Keap: appointments, plus
//! contacts, opportunities, tasks and orders; for the others: every resource), starts
//! simulated CRM activity (with deletes where the provider shows them), and presses "poll now"
//! every second. The terminal shows a line per resource (changes made at the provider / events
//! delivered / signatures verified) and each event as it arrives. At the end it compares the
//! simulator's state export with what the receiver got and exits non-zero unless every change
//! is accounted for (`verdict` says exactly what that means).
//!
//! Files: `provider` (what differs between the providers), `verdict` (the tally and the check),
//! this one (the run, the receiver, the live view).

pub(crate) mod provider;
pub(crate) mod verdict;

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

use tributary_server::app::Application;
use tributary_server::settings::Settings;

pub use provider::ELEMENTS;
use provider::{APP_ID, APP_SECRET, Provider};
use verdict::{Arrival, Expected, Received, Tally};

/// What `tributary demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// How long the simulated activity runs (Ctrl-C ends it sooner).
    pub duration: Duration,
    /// Changes per second made at the simulator.
    pub rate: f64,
    /// A database to use instead of a fresh one in a temporary directory.
    pub database_url: Option<String>,
    /// The element to run: `infusionsoftrest` (the default), `sfdc`, `hubspotcrm` or
    /// `quickbooks` (see [`ELEMENTS`]).
    pub element: String,
    /// Events from the provider's own webhooks (`event.vendor.type: webhooks`, Keap only)
    /// instead of a "poll now" every second; the scheduler's safety-net poll runs every minute.
    pub webhooks: bool,
}

/// The demo's simulator runs Keap's REST hook delays (30–60 s) × this: 0.6–1.2 s.
const DEMO_HOOK_TIME_SCALE: f64 = 0.02;

/// Where the web UI is, and the demo organization's secrets to sign in with.
struct Ui {
    url: String,
    user: String,
    organization: String,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) key: Arc<String>,
    /// Resource → the field holding a record's updated date.
    pub(crate) updated_fields: Arc<HashMap<String, String>>,
    pub(crate) arrivals: mpsc::UnboundedSender<Arrival>,
}

/// Runs the demo; the exit status says whether every change was accounted for.
pub fn run(options: DemoOptions) -> ExitCode {
    tributary_server::telemetry::init_with_default(
        std::io::stderr,
        std::io::stderr().is_terminal(),
        "warn",
    );
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
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
    let provider = Provider::of(&options.element).with_context(|| {
        format!(
            "the demo runs {}, not {:?}",
            ELEMENTS.join(" or "),
            options.element
        )
    })?;
    if options.webhooks && provider.key != "infusionsoftrest" {
        anyhow::bail!("--webhooks runs Keap's REST hooks: use it with --element infusionsoftrest");
    }
    // 1. The provider stand-in, with enough records that edits rarely hit the same one twice.
    let sim = provider
        .start_scaled(if options.webhooks {
            DEMO_HOOK_TIME_SCALE
        } else {
            1.0
        })
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
    // With webhooks the provider must reach the server at a known URL: a free port, named.
    let port = if options.webhooks {
        std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port()
    } else {
        0
    };
    let settings = Settings {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        public_url: options.webhooks.then(|| format!("http://127.0.0.1:{port}")),
        database_url: database_url.clone(),
        allow_private_callbacks: true,
        origins: BTreeMap::from([(provider.key.to_owned(), origin.clone())]),
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
    let outcome = drive(&options, &provider, &http, &origin, &api, &auth, &ui).await;

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
// The run's whole context, passed explicitly rather than bundled into a struct used once.
#[allow(clippy::too_many_arguments)]
async fn drive(
    options: &DemoOptions,
    provider: &Provider,
    http: &reqwest::Client,
    origin: &str,
    api: &str,
    auth: &str,
    ui: &Ui,
) -> anyhow::Result<bool> {
    // The element's resources, as any client would read them.
    let element_key = provider.key;
    let element: Value = checked(
        http.get(format!("{api}/elements/{element_key}"))
            .header("Authorization", auth)
            .send()
            .await?,
        &format!("GET /elements/{element_key}"),
    )
    .await?;
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
    // Exactly as in the Cloud Elements example, where the demo follows one.
    if let Some((name, example)) = provider.example_poller() {
        pollers.insert(name.into(), example);
    }

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
    let provider_data = provider
        .consent(http, origin)
        .await
        .map_err(anyhow::Error::msg)?;
    let body = json!({
        "element": {"key": element_key},
        "providerData": provider_data,
        "name": "API Instance",
        "tags": ["Docs"],
        "configuration": {
            "oauth.api.key": APP_ID,
            "oauth.api.secret": APP_SECRET,
            "oauth.callback.url": provider::REDIRECT,
            "event.notification.enabled": true,
            "event.vendor.type": if options.webhooks { "webhooks" } else { "polling" },
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
    poll_now(http, api, auth, id, provider).await?;
    let first = export(http, origin).await?;
    let baseline = verdict::versions(&first, provider);
    let deleted_before = verdict::deletions(&first, provider);

    checked(
        http.post(format!("{origin}/_sim/activity"))
            .json(&json!({"rate": options.rate, "resources": provider.sim_names}))
            .send()
            .await?,
        "starting the simulator's activity",
    )
    .await?;

    let terminal = std::io::stdout().is_terminal();
    let view = View::new(terminal, provider.resources);
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
         Instance {id} {} {} every minute{}. \
         {:.1} changes/s for {} s{} (Ctrl-C ends sooner).\n",
        ui.url,
        if options.webhooks {
            "gets Keap's REST hooks for"
        } else {
            "polls"
        },
        provider.resources.join(", "),
        if options.webhooks {
            " polled as the safety net (hooks arrive 0.6–1.2 s after a change: Keap's 30–60 s \
             × 0.02)"
        } else {
            ", and on \"poll now\" every second"
        },
        options.rate,
        options.duration.as_secs(),
        if provider.deletes {
            ", and a delete every few seconds"
        } else {
            ""
        }
    ));
    let mut tally = Tally::default();
    let deadline = tokio::time::sleep(options.duration);
    tokio::pin!(deadline);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut poll_errors = 0usize;
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = &mut ctrl_c => {
                view.line("Ctrl-C: stopping the activity and checking what arrived…".into());
                break;
            }
            Some(arrival) = arrivals.recv() => tally.add(arrival, &view),
            _ = tick.tick() => {
                ticks += 1;
                if provider.deletes && ticks.is_multiple_of(DELETE_EVERY) {
                    delete_one(http, origin, provider).await?;
                }
                if !options.webhooks && poll_now(http, api, auth, id, provider).await.is_err() {
                    poll_errors += 1;
                }
                if let Ok(state) = export(http, origin).await {
                    tally.made = verdict::changes_since(&baseline, &verdict::versions(&state, provider));
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

    // Drain: poll until every change has arrived (or a minute has passed; a delete log read
    // in whole minutes, or a search index's settle time, may need one more).
    let last = export(http, origin).await?;
    let finals = verdict::versions(&last, provider);
    tally.made = verdict::changes_since(&baseline, &finals);
    let expected = Expected {
        latest: verdict::latest_versions(&last, provider, &updated_fields, &baseline, &finals),
        deleted: verdict::deletions(&last, provider)
            .difference(&deleted_before)
            .cloned()
            .collect(),
        baseline,
        finals,
    };
    if !expected.deleted.is_empty() {
        view.line(format!(
            "Waiting for the last changes and the deletions ({} deletions to come): a delete \
             log read in whole minutes, or a search index's settle time, may hold them a minute.",
            expected.deleted.len()
        ));
    }
    let drain_until = Instant::now() + Duration::from_secs(if provider.deletes { 100 } else { 60 });
    loop {
        // With webhooks the hooks (and the scheduler's safety net) bring the rest.
        if !options.webhooks {
            let _ = poll_now(http, api, auth, id, provider).await;
        }
        let pause = tokio::time::sleep(Duration::from_millis(500));
        tokio::pin!(pause);
        loop {
            tokio::select! {
                _ = &mut pause => break,
                Some(arrival) = arrivals.recv() => tally.add(arrival, &view),
            }
        }
        view.progress(&tally);
        let arrived = expected
            .latest
            .iter()
            .all(|(record, updated)| tally.has(record, updated))
            && expected.deletions_missing(&tally, provider) == 0;
        if arrived || Instant::now() > drain_until {
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
    let report = verdict::check(&tally, &expected, provider);
    println!("{}", report.text);
    if poll_errors > 0 {
        println!(
            "({poll_errors} \"poll now\" requests failed during the run; the scheduler covered them.)"
        );
    }
    Ok(report.passed)
}

/// Hands the receiver's requests to the live view, answering 401 to a bad signature.
pub(crate) async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
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
        let event_type = event["eventType"].as_str().unwrap_or_default().to_owned();
        // `raw` holds the notification's records in the order of its events; a deletion's
        // record is the provider's entry, so its date is the event's.
        let updated = if event_type == "DELETED" {
            event["date"].as_str().map(str::to_owned)
        } else {
            // A dotted field (`MetaData.LastUpdatedTime`) is a path into the record.
            receiver.updated_fields.get(&resource).and_then(|field| {
                tributary_domain::poll::field_text(&message["raw"][&resource][index], field)
            })
        };
        events.push(Received {
            object_id: event["objectId"].as_str().unwrap_or_default().to_owned(),
            event_type,
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

/// The terminal: a progress line per resource when it is one, plain lines otherwise (none when
/// quiet: the soak keeps its own report).
pub(crate) struct View {
    multi: Option<MultiProgress>,
    resources: &'static [&'static str],
    bars: BTreeMap<&'static str, ProgressBar>,
    quiet: bool,
}

impl View {
    /// A view that shows nothing.
    pub(crate) fn quiet() -> View {
        View {
            quiet: true,
            ..View::new(false, &[])
        }
    }

    fn new(terminal: bool, resources: &'static [&'static str]) -> View {
        if !terminal {
            return View {
                multi: None,
                resources,
                bars: BTreeMap::new(),
                quiet: false,
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let style = ProgressStyle::with_template("{prefix:>14} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bars = resources
            .iter()
            .map(|resource| {
                let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
                bar.set_prefix(*resource);
                (*resource, bar)
            })
            .collect();
        View {
            multi: Some(multi),
            resources,
            bars,
            quiet: false,
        }
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
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
            for resource in self.resources {
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

/// A fresh directory for the demo's database.
pub(crate) fn temp_dir() -> anyhow::Result<std::path::PathBuf> {
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
pub(crate) async fn checked(response: reqwest::Response, step: &str) -> anyhow::Result<Value> {
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

/// "Poll now", with the reconciliation sweeps where the provider's deletes need them.
pub(crate) async fn poll_now(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
    id: i64,
    provider: &Provider,
) -> anyhow::Result<()> {
    checked(
        poll_request(http, api, auth, id, provider).send().await?,
        "poll now",
    )
    .await
    .map(|_| ())
}

/// The "poll now" request; with `{"sweep": true}` where the provider's deletes show only to a
/// sweep.
pub(crate) fn poll_request(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
    id: i64,
    provider: &Provider,
) -> reqwest::RequestBuilder {
    let request = http
        .post(format!("{api}/instances/{id}/events/poll"))
        .header("Authorization", auth);
    if provider.sweeps {
        request.json(&json!({"sweep": true}))
    } else {
        request
    }
}

pub(crate) async fn export(http: &reqwest::Client, origin: &str) -> anyhow::Result<Value> {
    checked(
        http.get(format!("{origin}/_sim/state")).send().await?,
        "GET /_sim/state",
    )
    .await
}

/// How often (in one-second ticks) the demo deletes a record, where the provider shows deletes.
const DELETE_EVERY: u64 = 4;

/// Deletes one record at the provider, as a user would.
pub(crate) async fn delete_one(
    http: &reqwest::Client,
    origin: &str,
    provider: &Provider,
) -> anyhow::Result<()> {
    checked(
        http.post(format!("{origin}/_sim/activity/burst"))
            .json(&json!({"changes": 0, "deletes": 1, "resources": provider.sim_names}))
            .send()
            .await?,
        "deleting a record at the simulator",
    )
    .await
    .map(|_| ())
}
