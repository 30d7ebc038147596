//! The Salesforce REST API on the engine, from `shared/research/providers.md` §2: the OAuth
//! web-server flow with `instance_url` and no `expires_in`, sessions that time out after
//! inactivity, SOQL `query`/`queryAll` with locator paging, the five core SObjects with
//! `attributes` and `….000+0000` dates at one-second resolution, getUpdated/getDeleted with their
//! windows and a purgeable delete log, the daily API allocation with `Sforce-Limit-Info` and 403
//! `REQUEST_LIMIT_EXCEEDED`, errors as `[{message, errorCode}]` arrays. One origin serves what
//! Salesforce spreads over the login host and the instance host.
//!
//! Files, from the bottom up: `config`, `ids`, `errors`, `soql` (the parser), `schema` (the
//! SObjects as data), `data` (realistic records), `state` (the provider's own state), `select`
//! (running a query), `query` (paging), `sobjects`, `replication`, `limits`, then `provider`
//! (the engine's hooks and the router). Each file that decides something the research leaves
//! open says so under "Choices where undocumented".
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use tributary_simulator::salesforce;
//! let clock = Arc::new(tributary_domain::SystemClock);
//! let running =
//!     salesforce::start(salesforce::Config::default(), clock, "127.0.0.1:0".parse().unwrap())
//!         .await?;
//! println!("Salesforce at {}", running.url());
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tributary_domain::{Clock, SystemClock};

use crate::engine::server::{RunningSimulator, scripted_consent, serve_until_stopped};
use crate::engine::sim::Simulator;
use crate::salesforce::state::Salesforce;

pub mod config;
pub(crate) mod data;
pub(crate) mod errors;
pub(crate) mod ids;
pub(crate) mod limits;
pub(crate) mod provider;
pub(crate) mod query;
pub(crate) mod replication;
pub(crate) mod schema;
pub(crate) mod select;
pub(crate) mod sobjects;
pub(crate) mod soql;
pub(crate) mod state;

pub use config::{Args, Config};

/// The API version the printed URLs and the docs use (Spring '26).
pub const API_VERSION: &str = "v66.0";

/// A Salesforce simulator with `config`, reading time from `clock`. Seeds its orgs' records.
pub fn simulator(config: Config, clock: Arc<dyn Clock>) -> Simulator {
    let settings = config.settings();
    let provider = Arc::new(Salesforce::new(config));
    Simulator::with_provider(settings, provider.clone(), provider, clock)
}

/// Starts a Salesforce simulator on `addr` (port 0 for a free one), in the background.
pub async fn start(
    config: Config,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
) -> io::Result<RunningSimulator> {
    RunningSimulator::start(simulator(config, clock), addr).await
}

/// What a user's "Allow" on the consent page gives: posts the scripted consent of the Salesforce
/// simulator at `origin` for `client_id` and `redirect_uri` (in `org` when given, the first org
/// otherwise), and returns the authorization code of the redirect. `http` must not follow
/// redirects.
pub async fn consent_code(
    http: &reqwest::Client,
    origin: &str,
    client_id: &str,
    redirect_uri: &str,
    org: Option<&str>,
) -> Result<String, String> {
    let extra: Vec<(&str, &str)> = org.map(|org| ("tenant", org)).into_iter().collect();
    scripted_consent(
        http,
        &format!("{origin}/services/oauth2/authorize"),
        client_id,
        redirect_uri,
        &extra,
    )
    .await
}

/// `tributary simulate salesforce`: serves until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> ExitCode {
    let config = args.config();
    let clients: Vec<String> = config.clients.iter().map(|c| c.id.clone()).collect();
    let first = clients.first().cloned().unwrap_or_default();
    serve_until_stopped(simulator(config, Arc::new(SystemClock)), args.bind, |url| {
        [
            format!("Salesforce simulator listening on {url}"),
            format!("  connected apps: {}", clients.join(", ")),
            format!("  consent: {url}/services/oauth2/authorize?client_id={first}&redirect_uri=…"),
            format!("  token:   {url}/services/oauth2/token"),
            format!("  API:     {url}/services/data/{API_VERSION}/query?q=SELECT+Id+FROM+Account"),
            format!("  control: {url}/_sim/state, /_sim/faults, /_sim/clock, /_sim/activity, /_sim/limits, /_sim/deletes/purge"),
        ]
        .join("\n")
    })
}
