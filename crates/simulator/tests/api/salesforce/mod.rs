//! The Salesforce simulator over real HTTP. Each test pins a behaviour to its source in
//! `shared/research/providers.md` §2; time moves with the injected manual clock, never with
//! sleeps.

mod control;
mod limits;
mod oauth;
mod query;
mod records;
mod replication;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tributary_domain::ManualClock;
use tributary_simulator::RunningSimulator;
use tributary_simulator::salesforce::{self, Config};

use crate::helpers::{REDIRECT, T0};

/// The API version the tests call.
pub const V: &str = "/services/data/v66.0";

pub struct SfSim {
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    _running: RunningSimulator,
}

/// A Salesforce simulator on port 0 with a manual clock at [`T0`].
pub async fn spawn_sf(config: Config) -> SfSim {
    let clock = Arc::new(ManualClock::new(T0));
    let running = salesforce::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts");
    SfSim {
        url: running.url(),
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _running: running,
    }
}

/// No seed data and pages of exactly the batch size, so tests know every record and page.
pub fn quiet() -> Config {
    Config {
        seed: 0,
        short_pages: false,
        ..Config::default()
    }
}

/// The JSON array error body's first `errorCode`.
pub fn error_code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or_default()
}

impl SfSim {
    /// Consents as a script would (in `org` when given) and returns the authorization code.
    pub async fn authorize(&self, org: Option<&str>) -> String {
        salesforce::consent_code(&self.http, &self.url, "tributary-demo", REDIRECT, org)
            .await
            .expect("a code")
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/services/oauth2/token", self.url))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Exchanges a code of the default app; returns the token response body.
    pub async fn exchange(&self, code: &str) -> Value {
        let response = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "tributary-demo"),
            ("client_secret", "tributary-demo-secret"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// A fresh access token of the default app in the first org.
    pub async fn access_token(&self) -> String {
        let code = self.authorize(None).await;
        self.exchange(&code).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A request to `path` under the API version, with the token.
    pub async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{V}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.call(Method::GET, token, path, None).await
    }

    /// `GET …/query?q=` (or `queryAll`), with `Sforce-Query-Options: batchSize=N` when given.
    pub async fn query(
        &self,
        token: &str,
        soql: &str,
        all: bool,
        batch: Option<usize>,
    ) -> reqwest::Response {
        let resource = if all { "queryAll" } else { "query" };
        let mut request = self
            .http
            .get(format!("{}{V}/{resource}", self.url))
            .query(&[("q", soql)])
            .bearer_auth(token);
        if let Some(batch) = batch {
            request = request.header("Sforce-Query-Options", format!("batchSize={batch}"));
        }
        request.send().await.unwrap()
    }

    /// Runs a query and parses its 200 first page.
    pub async fn query_json(&self, token: &str, soql: &str) -> Value {
        let response = self.query(token, soql, false, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{soql}");
        response.json().await.unwrap()
    }

    /// GETs a `nextRecordsUrl` (relative, on the instance host).
    pub async fn follow(&self, token: &str, next: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{next}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Creates a record; returns its id.
    pub async fn create(&self, token: &str, object: &str, body: Value) -> String {
        let response = self
            .call(
                Method::POST,
                token,
                &format!("/sobjects/{object}"),
                Some(body),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        created["id"].as_str().unwrap().to_owned()
    }

    pub async fn control(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}/_sim{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn state(&self) -> Value {
        self.control(Method::GET, "/state", None)
            .await
            .json()
            .await
            .unwrap()
    }
}
