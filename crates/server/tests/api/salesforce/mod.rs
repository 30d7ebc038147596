//! The `sfdc` element — Salesforce as a definition file — against the Salesforce simulator over
//! real HTTP: connecting through the consent page, polling creates, updates and deletes, the
//! quota's pause, lost delete history, ties and short pages, refreshes, and the hub's SOQL.
//!
//! Tributary and the simulator share one manual clock, so a test moves time (a delete window
//! of whole minutes, a session timeout, a pause) instead of waiting for it.

mod deletes;
mod hub;
mod limits;
mod polling;
mod ui;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::salesforce::{self, Config};

use crate::helpers::CALLBACK;
use crate::providers::{Provider, ProviderApp, dates_poller, manual_clock};

/// The simulator's API root.
pub const V: &str = "/services/data/v66.0";
/// Salesforce's record dates: `2013-05-20T20:49:32.000+0000`.
pub const SF_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";

/// The `sfdc` element.
pub struct Salesforce;

impl Provider for Salesforce {
    const ELEMENT: &'static str = "sfdc";
    const NAME: &'static str = "Salesforce org";

    fn poller(resource: &str) -> Value {
        poller(resource)
    }

    async fn provider_data(app: &SfApp) -> Value {
        json!({"code": app.code().await})
    }
}

/// Tributary and a Salesforce simulator on one manual clock.
pub type SfApp = ProviderApp<Salesforce>;

/// The simulator with `config`, and Tributary sending `sfdc`'s login and API calls to it.
pub async fn spawn_sf(config: Config) -> SfApp {
    // A whole minute plus 5 s: delete windows are whole minutes, and tests count them.
    let clock = manual_clock(60_000, 5_000);
    let sim = salesforce::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    ProviderApp::start(clock, sim, |_| {}).await
}

/// No seed records, pages of exactly the batch size.
pub fn quiet() -> Config {
    Config {
        seed: 0,
        short_pages: false,
        ..Config::default()
    }
}

/// Salesforce's datesConfiguration, as a Cloud Elements user writes it.
pub fn poller(resource: &str) -> Value {
    dates_poller(
        "crm",
        resource,
        "Id",
        "SystemModstamp",
        "CreatedDate",
        SF_FORMAT,
    )
}

/// The Cloud Elements-style create body (the seed's shape) for `sfdc`.
pub fn create_body(code: &str, pollers: Value, callback: &str) -> Value {
    crate::providers::create_body::<Salesforce>(json!({"code": code}), pollers, callback)
}

impl SfApp {
    /// A code from the simulator's consent page, as the user's "Allow" gives it.
    pub async fn code(&self) -> String {
        salesforce::consent_code(
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
        self.user_token_at("/services/oauth2/token", &self.code().await)
            .await
    }

    /// A call to the simulator's REST API as a user; returns the status and JSON body.
    pub async fn sf(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.as_user(token, method, &format!("{V}{path}"), body)
            .await
    }

    /// Creates a record as a user; returns its id.
    pub async fn insert(&self, token: &str, object: &str, fields: Value) -> String {
        let (status, body) = self
            .sf(
                token,
                Method::POST,
                &format!("/sobjects/{object}"),
                Some(fields),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}
