//! The `hubspotcrm` element — HubSpot as a definition file — against the HubSpot simulator over
//! real HTTP: connecting through the consent page, creates, updates and archives arriving once
//! each, 12,000 records sharing one modified time read past the search's 10,000-result cap,
//! the index lag, the 429s that pause an instance, and the hub's search.
//!
//! Tributary and the simulator share one manual clock, so a test moves time (past the settle
//! time, past a pause) instead of waiting for it.

mod deletes;
mod limits;
mod polling;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_server::Settings;
use tributary_simulator::hubspot::{self, Config};

use crate::helpers::CALLBACK;
use crate::providers::{Provider, ProviderApp, dates_poller, manual_clock};

/// HubSpot's record dates: `2019-12-07T16:50:06.678Z`.
pub const HS_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSX";

/// The `hubspotcrm` element.
pub struct HubSpot;

impl Provider for HubSpot {
    const ELEMENT: &'static str = "hubspotcrm";
    const NAME: &'static str = "HubSpot account";

    fn poller(resource: &str) -> Value {
        poller(resource)
    }

    async fn provider_data(app: &HsApp) -> Value {
        json!({"code": app.code().await})
    }
}

/// Tributary and a HubSpot simulator on one manual clock.
pub type HsApp = ProviderApp<HubSpot>;

/// The simulator with `config`, and Tributary sending `hubspotcrm`'s consent, token and API
/// calls to it (one origin for HubSpot's three hosts).
pub async fn spawn_hs(config: Config) -> HsApp {
    spawn_hs_with(config, |_| {}).await
}

pub async fn spawn_hs_with(config: Config, tweak: impl FnOnce(&mut Settings)) -> HsApp {
    let clock = manual_clock(1_000, 0);
    let sim = hubspot::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    ProviderApp::start(clock, sim, tweak).await
}

/// No seed records, no index lag, and limits that a test's frozen clock never refills
/// (tests of the limits set their own).
pub fn quiet() -> Config {
    Config {
        seed: 0,
        index_lag_secs: 0,
        ten_secondly_limit: 1_000_000,
        search_per_second: 1_000_000,
        ..Config::default()
    }
}

/// HubSpot's datesConfiguration, as a Cloud Elements user writes it.
pub fn poller(resource: &str) -> Value {
    dates_poller("crm", resource, "id", "updatedAt", "createdAt", HS_FORMAT)
}

impl HsApp {
    /// A code from the simulator's consent page, as the user's "Allow" gives it.
    pub async fn code(&self) -> String {
        hubspot::consent_code(
            &self.http,
            &self.sim.url(),
            "tributary-demo",
            CALLBACK,
            None,
        )
        .await
        .unwrap()
    }

    /// An access token of the simulator's default app, to change records as a user would.
    pub async fn user_token(&self) -> String {
        self.user_token_at("/oauth/v3/token", &self.code().await)
            .await
    }

    /// Creates a record as a user; returns its id.
    pub async fn insert(&self, token: &str, object: &str, properties: Value) -> String {
        let (status, body) = self
            .as_user(
                token,
                Method::POST,
                &format!("/crm/v3/objects/{object}"),
                Some(json!({ "properties": properties })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Updates a record as a user.
    pub async fn update(&self, token: &str, object: &str, id: &str, properties: Value) {
        let (status, body) = self
            .as_user(
                token,
                Method::PATCH,
                &format!("/crm/v3/objects/{object}/{id}"),
                Some(json!({ "properties": properties })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Archives (deletes) a record as a user.
    pub async fn archive(&self, token: &str, object: &str, id: &str) {
        let (status, body) = self
            .as_user(
                token,
                Method::DELETE,
                &format!("/crm/v3/objects/{object}/{id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    /// Moves both clocks past the element's settle time (a minute), so changes made until
    /// now are read by the next poll.
    pub fn settle(&self) {
        self.advance_secs(61);
    }
}
