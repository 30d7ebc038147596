//! The HubSpot CRM v3 API on the engine, from `shared/research/providers.md` §3: OAuth with
//! 30-minute access tokens at `/oauth/v1/token` and `/oauth/v3/token`; contacts, companies,
//! deals and tickets in the v3 and dated paths, with string-valued `properties` and ISO
//! `createdAt`/`updatedAt`; search with filters on epoch milliseconds, one sort, an offset
//! cursor, the 400 past 10,000 results and an index lag; archives seen only through
//! `?archived=true`; `X-HubSpot-RateLimit-*` headers, the ten-secondly limit and the separate
//! search limit, each with its 429 body; errors in the spec's `Error` shape. One origin serves
//! what HubSpot spreads over `app.hubspot.com` (consent) and `api.hubapi.com`.
//!
//! Files, from the bottom up: `config`, `schema` (the objects as data), `errors`, `data`
//! (realistic records), `state` (the provider's own state), `filters`, `limits` (authentication
//! and the budgets), `objects`, `search`, then `provider` (the engine's hooks and the router).
//! Each file that decides something the research leaves open says so under "Choices where
//! undocumented".
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use tributary_simulator::hubspot;
//! let clock = Arc::new(tributary_domain::SystemClock);
//! let running =
//!     hubspot::start(hubspot::Config::default(), clock, "127.0.0.1:0".parse().unwrap()).await?;
//! println!("HubSpot at {}", running.url());
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tributary_domain::{Clock, SystemClock};

use crate::engine::server::{RunningSimulator, scripted_consent, serve_until_stopped};
use crate::engine::sim::Simulator;
use crate::hubspot::state::HubSpot;

pub mod config;
pub(crate) mod data;
pub(crate) mod errors;
pub(crate) mod filters;
pub(crate) mod limits;
pub(crate) mod objects;
pub(crate) mod provider;
pub(crate) mod schema;
pub(crate) mod search;
pub(crate) mod state;

pub use config::{Args, Config};
pub use provider::hub_id;

/// A HubSpot simulator with `config`, reading time from `clock`. Seeds its accounts' records.
pub fn simulator(config: Config, clock: Arc<dyn Clock>) -> Simulator {
    let settings = config.settings();
    let provider = Arc::new(HubSpot::new(config));
    Simulator::with_provider(settings, provider.clone(), provider, clock)
}

/// Starts a HubSpot simulator on `addr` (port 0 for a free one), in the background.
pub async fn start(
    config: Config,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
) -> io::Result<RunningSimulator> {
    RunningSimulator::start(simulator(config, clock), addr).await
}

/// What a user's "Allow" on the consent page gives: posts the scripted consent of the HubSpot
/// simulator at `origin` for `client_id` and `redirect_uri` (in the account with hub id `hub`
/// when given, the first otherwise), and returns the authorization code of the redirect. `http`
/// must not follow redirects.
pub async fn consent_code(
    http: &reqwest::Client,
    origin: &str,
    client_id: &str,
    redirect_uri: &str,
    hub: Option<&str>,
) -> Result<String, String> {
    let extra: Vec<(&str, &str)> = hub.map(|hub| ("tenant", hub)).into_iter().collect();
    scripted_consent(
        http,
        &format!("{origin}/oauth/authorize"),
        client_id,
        redirect_uri,
        &extra,
    )
    .await
}

/// `tributary simulate hubspot`: serves until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> ExitCode {
    let config = args.config();
    let clients: Vec<String> = config.clients.iter().map(|c| c.id.clone()).collect();
    let first = clients.first().cloned().unwrap_or_default();
    serve_until_stopped(simulator(config, Arc::new(SystemClock)), args.bind, |url| {
        [
            format!("HubSpot simulator listening on {url}"),
            format!("  apps:    {}", clients.join(", ")),
            format!("  consent: {url}/oauth/authorize?client_id={first}&redirect_uri=…&scope=oauth"),
            format!("  token:   {url}/oauth/v1/token, {url}/oauth/v3/token"),
            format!("  API:     {url}/crm/v3/objects/contacts, POST {url}/crm/v3/objects/contacts/search"),
            format!("  control: {url}/_sim/state, /_sim/faults, /_sim/clock, /_sim/activity, /_sim/hold"),
        ]
        .join("\n")
    })
}
