//! The HubSpot simulator over real HTTP. Each test pins a behaviour to its source in
//! `shared/research/providers.md` §3; time moves with the injected manual clock, never with
//! sleeps.

mod limits;
mod oauth;
mod objects;
mod search;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_domain::ManualClock;
use tributary_simulator::RunningSimulator;
use tributary_simulator::hubspot::{self, Config};

use crate::helpers::{REDIRECT, T0};

pub struct HsSim {
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    _running: RunningSimulator,
}

/// A HubSpot simulator on port 0 with a manual clock at [`T0`].
pub async fn spawn_hs(config: Config) -> HsSim {
    let clock = Arc::new(ManualClock::new(T0));
    let running = hubspot::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts");
    HsSim {
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

/// The epoch milliseconds of an ISO `updatedAt`.
pub fn ms(iso: &Value) -> i64 {
    iso.as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

impl HsSim {
    pub async fn token(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Consents as a script would and exchanges the code at `/oauth/v1/token`.
    pub async fn tokens(&self) -> Value {
        let code = hubspot::consent_code(&self.http, &self.url, "tributary-demo", REDIRECT, None)
            .await
            .expect("a code");
        let response = self
            .token(
                "/oauth/v1/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", "tributary-demo"),
                    ("client_secret", "tributary-demo-secret"),
                    ("redirect_uri", REDIRECT),
                    ("code", &code),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn access_token(&self) -> String {
        self.tokens().await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let response = self.call(Method::GET, token, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// Creates a record of `object` with `properties`; returns it.
    pub async fn create(&self, token: &str, object: &str, properties: Value) -> Value {
        let response = self
            .call(
                Method::POST,
                token,
                &format!("/crm/v3/objects/{object}"),
                Some(json!({ "properties": properties })),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn search(&self, token: &str, object: &str, body: Value) -> reqwest::Response {
        self.call(
            Method::POST,
            token,
            &format!("/crm/v3/objects/{object}/search"),
            Some(body),
        )
        .await
    }

    /// A search that must answer 200; its body.
    pub async fn search_json(&self, token: &str, object: &str, body: Value) -> Value {
        let response = self.search(token, object, body).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
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

/// The ids of a search or list page's results.
pub fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}
