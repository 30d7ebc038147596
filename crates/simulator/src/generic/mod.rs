//! A provider played from plain data ([`Spec`]) rather than written as a module: what
//! `tributary simulate --element FILE` serves, so a user can try an element definition of their
//! own end to end before pointing it at the real API.
//!
//! It runs on the engine like the other simulators — OAuth (consent page, codes, token
//! exchange and refresh), tenants and records, the budget, faults, the clock, activity and
//! bursts with deletes, the state export, the request log, `/_sim` — and takes from the spec
//! what a module would hard-code: the consent and token paths, each resource's list and get
//! paths, where its records, id and dates sit and how the dates are written, its filter, bound,
//! order and paging parameters, a query language's text (`language`) or a JSON search body
//! (`search`), a change feed with its delete stubs, a delete log or an archived list, values of
//! its token response (an API host: the simulator's own origin) and of its consent redirect (a
//! company id: the tenant's name, a path segment), its pager (`offset`, `page_number`, `next_url`, `cursor`,
//! `link_header`, `none`), its rate-limit headers and where error bodies carry their message.
//! Field values are invented (`data` says how). This crate knows no element definition: the
//! `tools` crate translates one into a [`Spec`] and refuses, by name, what the spec cannot say.
//!
//! Files: `spec` (the data), `data` (records and dates), `language` (a query language's text
//! read back into conditions, and conditions evaluated), `search` (a search body read back),
//! `provider` (the engine's hooks), `requests` (every API request), `router` (the routes).

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tributary_domain::{Clock, SystemClock};

use crate::engine::server::{
    RunningSimulator, scripted_consent, scripted_redirect, serve_until_stopped,
};
use crate::engine::sim::Simulator;
use crate::generic::provider::Generic;

mod data;
mod language;
mod provider;
mod requests;
mod router;
mod search;
pub mod spec;

pub use spec::{
    ArchiveList, ChangeFeed, DateField, DeleteLog, ErrorMark, Language, Limits, Options, Pager,
    PagerKind, Paging, ResetUnit, ResourceSpec, Search, Spec, TextPart, TokenValue,
};

/// A simulator of `spec`, reading time from `clock`. Seeds its tenants' records.
pub fn simulator(spec: Spec, options: &Options, clock: Arc<dyn Clock>) -> Simulator {
    let settings = options.settings(&spec);
    let provider = Arc::new(Generic::new(spec, options.seed, clock.clone()));
    Simulator::with_provider(settings, provider.clone(), provider, clock)
}

/// Starts a simulator of `spec` on `addr` (port 0 for a free one), in the background.
pub async fn start(
    spec: Spec,
    options: &Options,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
) -> io::Result<RunningSimulator> {
    RunningSimulator::start(simulator(spec, options, clock), addr).await
}

/// What a user's "Allow" on the consent page at `authorize_path` gives: the authorization code
/// of the redirect. `http` must not follow redirects.
pub async fn consent_code(
    http: &reqwest::Client,
    origin: &str,
    authorize_path: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<String, String> {
    scripted_consent(
        http,
        &format!("{origin}{authorize_path}"),
        client_id,
        redirect_uri,
        &[],
    )
    .await
}

/// Like [`consent_code`], but every query parameter of the consent redirect: the code, and what
/// the definition reads beside it (a `realmId`).
pub async fn consent_redirect(
    http: &reqwest::Client,
    origin: &str,
    authorize_path: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<std::collections::HashMap<String, String>, String> {
    scripted_redirect(
        http,
        &format!("{origin}{authorize_path}"),
        client_id,
        redirect_uri,
        &[],
    )
    .await
}

/// `tributary simulate --element FILE`: serves `spec` until Ctrl-C or SIGTERM.
pub fn run(spec: Spec, options: Options, title: &str) -> ExitCode {
    let clients: Vec<String> = options.clients.iter().map(|c| c.id.clone()).collect();
    let first = clients.first().cloned().unwrap_or_default();
    let (authorize, token) = (spec.authorize_path.clone(), spec.token_path.clone());
    let lists: Vec<String> = spec
        .resources
        .iter()
        .map(|r| format!("{} ({})", r.list_path, r.name))
        .collect();
    let title = title.to_owned();
    let bind = options.bind;
    serve_until_stopped(
        simulator(spec, &options, Arc::new(SystemClock)),
        bind,
        |url| {
            [
            format!("{title} simulator listening on {url}"),
            format!("  apps:    {}", clients.join(", ")),
            format!("  consent: {url}{authorize}?client_id={first}&redirect_uri=…"),
            format!("  token:   {url}{token}"),
            format!("  API:     {}", lists.join(", ")),
            format!("  control: {url}/_sim/state, /_sim/faults, /_sim/clock, /_sim/activity, /_sim/requests"),
        ]
        .join("\n")
        },
    )
}
