//! The `quickbooks` element — QuickBooks Online as a definition file — against the QuickBooks
//! simulator over real HTTP: connecting with the realm from the consent redirect (the API's
//! providerData and the web UI's callback), creates, updates, deactivations and deletes from
//! the change feed arriving once each, 2,500 changes in one CDC window past its 1,000-object
//! cap, the 30-day look-back, Faults (inside a 200 too), the 429 that pauses an instance, and
//! the hub's query language.

mod feed;
mod limits;
mod polling;
mod ui;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::quickbooks::{self, Config};

use crate::helpers::CALLBACK;
use crate::providers::{Provider, ProviderApp, dates_poller, manual_clock};

/// QuickBooks' metadata dates: `2015-12-23T12:55:50-08:00`.
pub const QB_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ssXXX";

/// The `quickbooks` element.
pub struct QuickBooks;

impl Provider for QuickBooks {
    const ELEMENT: &'static str = "quickbooks";
    const NAME: &'static str = "QuickBooks company";

    fn poller(resource: &str) -> Value {
        poller(resource)
    }

    /// The code and the realm of the consent redirect.
    async fn provider_data(app: &QbApp) -> Value {
        let consent = app.consent().await;
        json!({"code": consent.code, "realmId": consent.realm_id})
    }
}

/// Tributary and a QuickBooks simulator on one manual clock.
pub type QbApp = ProviderApp<QuickBooks>;

/// The simulator with `config`, and Tributary sending `quickbooks`'s consent, token and API
/// calls to it (one origin for Intuit's three hosts).
pub async fn spawn_qb(config: Config) -> QbApp {
    let clock = manual_clock(1_000, 0);
    let sim = quickbooks::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    ProviderApp::start(clock, sim, |_| {}).await
}

/// No seed records, and a per-minute limit a test's frozen clock never refills (tests of the
/// limits set their own).
pub fn quiet() -> Config {
    Config {
        seed: 0,
        requests_per_minute: 1_000_000,
        ..Config::default()
    }
}

/// QuickBooks' datesConfiguration, as a Cloud Elements user writes it.
pub fn poller(resource: &str) -> Value {
    dates_poller(
        "finance",
        resource,
        "Id",
        "MetaData.LastUpdatedTime",
        "MetaData.CreateTime",
        QB_FORMAT,
    )
}

/// The Cloud Elements-style create body for `quickbooks`, with the realm of the redirect.
pub fn create_body(code: &str, realm: &str, pollers: Value, callback: &str) -> Value {
    crate::providers::create_body::<QuickBooks>(
        json!({"code": code, "realmId": realm}),
        pollers,
        callback,
    )
}

/// A user of one company, to change records as QuickBooks' own UI would.
pub struct User {
    pub realm: String,
    pub token: String,
}

impl QbApp {
    /// A code and the realm id from the simulator's consent redirect.
    pub async fn consent(&self) -> quickbooks::Consent {
        quickbooks::consent(
            &self.http,
            &self.sim.url(),
            "tributary-demo",
            CALLBACK,
            None,
        )
        .await
        .unwrap()
    }

    /// A user of the first company, signed in with the default app.
    pub async fn user(&self) -> User {
        let consent = self.consent().await;
        let basic = base64::engine::general_purpose::STANDARD
            .encode("tributary-demo:tributary-demo-secret");
        let response: Value = self
            .http
            .post(format!("{}/oauth2/v1/tokens/bearer", self.sim.url()))
            .header("authorization", format!("Basic {basic}"))
            .header("accept", "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", consent.code.as_str()),
                ("redirect_uri", CALLBACK),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        User {
            realm: consent.realm_id,
            token: response["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A call under the user's company; returns the status and JSON body.
    pub async fn qb(
        &self,
        user: &User,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(
                method,
                format!("{}/v3/company/{}{path}", self.sim.url(), user.realm),
            )
            .bearer_auth(&user.token)
            .header("accept", "application/json")
            .query(query)
            .query(&[("minorversion", "75")]);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates (or, with `Id` and `SyncToken`, updates) a record of `entity`; returns it.
    pub async fn write(&self, user: &User, entity: &str, body: Value) -> Value {
        let (status, answer) = self
            .qb(user, Method::POST, &format!("/{entity}"), &[], Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let name = answer
            .as_object()
            .unwrap()
            .keys()
            .find(|key| *key != "time")
            .unwrap()
            .clone();
        answer[&name].clone()
    }

    /// Deletes a transaction (an invoice, a payment).
    pub async fn delete(&self, user: &User, entity: &str, record: &Value) {
        let (status, answer) = self
            .qb(
                user,
                Method::POST,
                &format!("/{entity}"),
                &[("operation", "delete")],
                Some(json!({"Id": record["Id"], "SyncToken": record["SyncToken"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
}

/// An invoice of `customer` for `amount`.
pub fn invoice(customer: &str, amount: f64) -> Value {
    json!({
        "CustomerRef": {"value": customer},
        "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}],
    })
}
