//! The QuickBooks Online simulator over real HTTP. Each test pins a behaviour to its source in
//! `shared/research/providers.md` §4; time moves with the injected manual clock, never with
//! sleeps.

mod cdc;
mod entities;
mod limits;
mod oauth;
mod query;
mod requests;

use std::sync::Arc;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tributary_domain::ManualClock;
use tributary_simulator::RunningSimulator;
use tributary_simulator::quickbooks::{self, Config};

use crate::helpers::{REDIRECT, T0};

pub struct QbSim {
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    _running: RunningSimulator,
}

/// A QuickBooks simulator on port 0 with a manual clock at [`T0`].
pub async fn spawn_qb(config: Config) -> QbSim {
    let clock = Arc::new(ManualClock::new(T0));
    let running = quickbooks::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts");
    QbSim {
        url: running.url(),
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _running: running,
    }
}

/// No seed data, so tests know every record.
pub fn quiet() -> Config {
    Config {
        seed: 0,
        ..Config::default()
    }
}

/// `Basic base64(client_id:client_secret)` of the default app.
pub fn basic() -> String {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode("tributary-demo:tributary-demo-secret");
    format!("Basic {credentials}")
}

/// Epoch milliseconds of a QuickBooks date-time (`2026-11-28T02:00:00-08:00`).
pub fn ms(text: &Value) -> i64 {
    text.as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

/// A signed-in client of one company.
pub struct Company {
    pub realm: String,
    pub token: String,
}

impl QbSim {
    pub async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth2/v1/tokens/bearer", self.url))
            .header("authorization", basic())
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Consents (in `realm` when given) and exchanges the code.
    pub async fn sign_in(&self, realm: Option<&str>) -> Company {
        let consent = quickbooks::consent(&self.http, &self.url, "tributary-demo", REDIRECT, realm)
            .await
            .expect("a consent");
        let response = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &consent.code),
                ("redirect_uri", REDIRECT),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        Company {
            realm: consent.realm_id,
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A request under `/v3/company/{realm}` with JSON asked for and `minorversion=75`.
    pub async fn api(
        &self,
        company: &Company,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(
                method,
                format!("{}/v3/company/{}{path}", self.url, company.realm),
            )
            .bearer_auth(&company.token)
            .header("accept", "application/json")
            .query(query)
            .query(&[("minorversion", "75")]);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Runs a query that must answer 200; its body.
    pub async fn query(&self, company: &Company, text: &str) -> Value {
        let response = self
            .api(company, Method::GET, "/query", &[("query", text)], None)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{text}");
        response.json().await.unwrap()
    }

    /// `GET /cdc` for `entities` since `changed_since`.
    pub async fn cdc(
        &self,
        company: &Company,
        entities: &str,
        changed_since: &str,
    ) -> reqwest::Response {
        self.api(
            company,
            Method::GET,
            "/cdc",
            &[("entities", entities), ("changedSince", changed_since)],
            None,
        )
        .await
    }

    /// Creates a record of `entity` (`customer`, `invoice`, …); returns it.
    pub async fn create(&self, company: &Company, entity: &str, body: Value) -> Value {
        let response = self
            .api(
                company,
                Method::POST,
                &format!("/{entity}"),
                &[],
                Some(body),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        let name = answer
            .as_object()
            .unwrap()
            .keys()
            .find(|key| *key != "time")
            .unwrap()
            .clone();
        answer[&name].clone()
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/_sim{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{path}");
        response.json().await.unwrap()
    }
}

/// The Fault of an error body: `(type, code, element)`.
pub fn fault(body: &Value) -> (String, String, String) {
    let error = &body["Fault"]["Error"][0];
    (
        body["Fault"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["code"].as_str().unwrap_or_default().to_owned(),
        error["element"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The objects of one entity's group in a CDC answer (empty when there is none).
pub fn cdc_group(body: &Value, entity: &str) -> Vec<Value> {
    body["CDCResponse"][0]["QueryResponse"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|group| group.get(entity))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The time `n` seconds after [`T0`], as a Pacific company writes it.
pub fn pacific(n: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(T0 + n * 1_000).unwrap();
    ts.display_with_offset(jiff::tz::Offset::from_seconds(-8 * 3_600).unwrap())
        .to_string()
}
