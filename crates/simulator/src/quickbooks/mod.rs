//! The QuickBooks Online Accounting API on the engine, from `shared/research/providers.md` §4:
//! OAuth with `realmId` on the consent redirect and rotating refresh tokens; CDC with its
//! 30-day horizon, deletes as stubs and a silent 1,000-object cap; the query language with
//! offset paging and hidden inactive list entities; `Customer`, `Vendor`, `Item` (soft-deleted)
//! and `Invoice`, `Payment` (hard-deleted); dates in each company's own UTC offset at one-second
//! resolution; `minorversion` ≥ 75; 500 requests a minute and 10 at once per realm, answered
//! with 429 Fault 3001; Faults in their mixed-case shape, a lowercase one on 401, and sometimes
//! inside HTTP 200. One origin serves what Intuit spreads over `appcenter.intuit.com`,
//! `oauth.platform.intuit.com` and `quickbooks.api.intuit.com`.
//!
//! Files, from the bottom up: `config`, `time`, `faults`, `schema` (the entities as data),
//! `data` (realistic records), `state` (the provider's own state), `qql` (the query parser),
//! `gate` (the checks on every API request), `query`, `cdc`, `entities`, then `provider` (the
//! engine's hooks and the router). Each file that decides something the research leaves open
//! says so under "Choices where undocumented".
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use tributary_simulator::quickbooks;
//! let clock = Arc::new(tributary_domain::SystemClock);
//! let running =
//!     quickbooks::start(quickbooks::Config::default(), clock, "127.0.0.1:0".parse().unwrap())
//!         .await?;
//! println!("QuickBooks at {}", running.url());
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tributary_domain::{Clock, SystemClock};

use crate::engine::server::{RunningSimulator, scripted_redirect, serve_until_stopped};
use crate::engine::sim::Simulator;
use crate::quickbooks::state::QuickBooks;

pub(crate) mod cdc;
pub mod config;
pub(crate) mod data;
pub(crate) mod entities;
pub(crate) mod faults;
pub(crate) mod gate;
pub(crate) mod provider;
pub(crate) mod qql;
pub(crate) mod query;
pub(crate) mod schema;
pub(crate) mod state;
pub(crate) mod time;

pub use config::{Args, CompanyOffset, Config};
pub use gate::MIN_MINOR_VERSION;
pub use state::realm_id;

/// A QuickBooks simulator with `config`, reading time from `clock`. Seeds its companies'
/// records.
pub fn simulator(config: Config, clock: Arc<dyn Clock>) -> Simulator {
    let settings = config.settings();
    let provider = Arc::new(QuickBooks::new(config));
    Simulator::with_provider(settings, provider.clone(), provider, clock)
}

/// Starts a QuickBooks simulator on `addr` (port 0 for a free one), in the background.
pub async fn start(
    config: Config,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
) -> io::Result<RunningSimulator> {
    RunningSimulator::start(simulator(config, clock), addr).await
}

/// What a consent gives a QuickBooks client: the code, and the company it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub code: String,
    pub realm_id: String,
}

/// What a user's "Allow" on the consent page gives: posts the scripted consent of the
/// QuickBooks simulator at `origin` for `client_id` and `redirect_uri` (in the company with
/// realm id `realm` when given, the first otherwise), and returns the code and the `realmId` of
/// the redirect. `http` must not follow redirects.
pub async fn consent(
    http: &reqwest::Client,
    origin: &str,
    client_id: &str,
    redirect_uri: &str,
    realm: Option<&str>,
) -> Result<Consent, String> {
    let extra: Vec<(&str, &str)> = realm.map(|realm| ("tenant", realm)).into_iter().collect();
    let mut redirect = scripted_redirect(
        http,
        &format!("{origin}/connect/oauth2"),
        client_id,
        redirect_uri,
        &extra,
    )
    .await?;
    let code = redirect
        .remove("code")
        .ok_or_else(|| "the consent redirect carries no code".to_owned())?;
    let realm_id = redirect
        .remove("realmId")
        .ok_or_else(|| "the consent redirect carries no realmId".to_owned())?;
    Ok(Consent { code, realm_id })
}

/// `tributary simulate quickbooks`: serves until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> ExitCode {
    let config = args.config();
    let clients: Vec<String> = config.clients.iter().map(|c| c.id.clone()).collect();
    let companies: Vec<String> = (0..config.tenants.max(1))
        .map(|i| format!("{} ({})", realm_id(i), config.offset(i)))
        .collect();
    let first = clients.first().cloned().unwrap_or_default();
    let realm = realm_id(0);
    serve_until_stopped(simulator(config, Arc::new(SystemClock)), args.bind, |url| {
        [
            format!("QuickBooks Online simulator listening on {url}"),
            format!("  apps:      {}", clients.join(", ")),
            format!("  companies: {}", companies.join(", ")),
            format!("  consent:   {url}/connect/oauth2?client_id={first}&redirect_uri=…&scope=com.intuit.quickbooks.accounting"),
            format!("  token:     {url}/oauth2/v1/tokens/bearer (Basic auth)"),
            format!("  API:       {url}/v3/company/{realm}/query?query=select+*+from+Customer&minorversion=75 (Accept: application/json)"),
            format!("  control:   {url}/_sim/state, /_sim/faults, /_sim/clock, /_sim/activity, /_sim/hold"),
        ]
        .join("\n")
    })
}
