//! The Infusionsoft (Keap) REST API on the engine: the nine v1 resources with their envelopes,
//! date styles, filters and paging quirks, Keap's gateway (API keys, throttle headers, HTML
//! pages), its OAuth words, and REST hooks. The contract is
//! `shared/spec/infusionsoft-simulator.md`; every quirk is sourced in
//! `shared/research/infusionsoft.md`.
//!
//! Files, from the bottom up: `config`, `resources` (the resources as data), `seed` (realistic
//! records), `http` (Keap's bodies and pages), `gateway`, `api` (the record routes), `outbox`,
//! `keap` (the provider's own state), `hooks` and `deliveries`, then `provider` (the engine's
//! hooks and the router).

use std::sync::Arc;

use tributary_domain::Clock;

use crate::engine::server::scripted_consent;
use crate::engine::sim::Simulator;
use crate::infusionsoft::config::Config;
use crate::infusionsoft::keap::Infusionsoft;

pub(crate) mod api;
pub mod config;
pub(crate) mod deliveries;
pub(crate) mod gateway;
pub(crate) mod hooks;
pub(crate) mod http;
pub(crate) mod keap;
pub(crate) mod outbox;
pub(crate) mod provider;
pub mod resources;
pub(crate) mod seed;

impl Simulator {
    /// An Infusionsoft simulator with `config`, reading time from `clock`. Seeds its tenants'
    /// records.
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Simulator {
        let settings = config.settings();
        let provider = Arc::new(Infusionsoft::new(config));
        Simulator::with_provider(settings, provider.clone(), provider, clock)
    }
}

/// What a user's "Allow" on the consent page gives: posts the scripted consent of the
/// Infusionsoft simulator at `origin` for `client_id` and `redirect_uri`, and returns the
/// authorization code of the redirect. `http` must not follow redirects (the redirect URI is the
/// client's, not served).
pub async fn consent_code(
    http: &reqwest::Client,
    origin: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<String, String> {
    scripted_consent(
        http,
        &format!("{origin}/app/oauth/authorize"),
        client_id,
        redirect_uri,
        &[],
    )
    .await
}
