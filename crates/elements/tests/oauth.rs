//! The token endpoint client against the simulator over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tributary_domain::SystemClock;
use tributary_elements::connection::InstanceValues;
use tributary_elements::oauth::{self, ClientCredentials, OAuthError};
use tributary_elements::{Element, Registry};
use tributary_simulator::{Config, RunningSimulator, Simulator};

const REDIRECT: &str = "https://client.example/cb";

/// A redirect with nothing beside the code and no configuration (Keap needs neither).
fn redirect(uri: &str) -> oauth::Redirect<'_> {
    static EMPTY: std::sync::LazyLock<(
        serde_json::Map<String, serde_json::Value>,
        std::collections::BTreeMap<String, String>,
    )> = std::sync::LazyLock::new(Default::default);
    oauth::Redirect {
        uri,
        provider_data: &EMPTY.0,
        config: &EMPTY.1,
    }
}

async fn setup() -> (RunningSimulator, Arc<Element>, reqwest::Client) {
    let sim = Simulator::new(
        Config {
            seed: 0,
            ..Config::default()
        },
        Arc::new(SystemClock),
    );
    let running = RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let origin = running.url();
    let element = Registry::builtin(|_| Some(origin.clone()))
        .unwrap()
        .get("infusionsoftrest")
        .unwrap();
    let http = tributary_elements::http::provider_client(Duration::from_secs(5)).unwrap();
    (running, element, http)
}

fn demo_app() -> ClientCredentials {
    ClientCredentials {
        client_id: "tributary-demo".into(),
        client_secret: SecretString::from("tributary-demo-secret"),
    }
}

/// Consents through the element's own authorize URL, as a script would.
async fn code(element: &Element) -> String {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = element
        .authorize_url("tributary-demo", REDIRECT, "s", None)
        .unwrap();
    let response = no_redirects
        .post(url)
        .form(&[("allow", "true")])
        .send()
        .await
        .unwrap();
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn a_code_is_exchanged_and_the_rotated_refresh_token_works() {
    let (_sim, element, http) = setup().await;
    let code = code(&element).await;
    let tokens = oauth::exchange_code(&http, &element, &demo_app(), &code, &redirect(REDIRECT))
        .await
        .unwrap();
    assert_eq!(tokens.expires_in, Some(86_400));
    assert_eq!(tokens.scope.as_deref(), Some("full|ab123.infusionsoft.com"));
    let refresh = tokens.refresh_token.unwrap();
    let renewed = oauth::refresh(
        &http,
        &element,
        &demo_app(),
        &refresh,
        &InstanceValues::default(),
    )
    .await
    .unwrap();
    assert_ne!(
        renewed.access_token.expose_secret(),
        tokens.access_token.expose_secret()
    );
    // The old refresh token died in the rotation.
    let error = oauth::refresh(
        &http,
        &element,
        &demo_app(),
        &refresh,
        &InstanceValues::default(),
    )
    .await
    .unwrap_err();
    assert!(error.is_invalid_grant(), "{error:?}");
    assert_eq!(error.provider_message(), "Invalid refresh token");
}

#[tokio::test]
async fn a_rejected_code_is_a_rejection_with_the_providers_words() {
    let (_sim, element, http) = setup().await;
    let error = oauth::exchange_code(&http, &element, &demo_app(), "made-up", &redirect(REDIRECT))
        .await
        .unwrap_err();
    match &error {
        OAuthError::Rejected { status, error, .. } => {
            assert_eq!((*status, error.as_str()), (400, "invalid_grant"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(error.provider_message(), "Invalid authorization code");
    let wrong_secret = ClientCredentials {
        client_id: "tributary-demo".into(),
        client_secret: SecretString::from("nope"),
    };
    let error = oauth::exchange_code(&http, &element, &wrong_secret, "x", &redirect(REDIRECT))
        .await
        .unwrap_err();
    assert_eq!(error.provider_message(), "Invalid client credentials");
}

#[tokio::test]
async fn an_unreachable_or_failing_token_endpoint_is_unavailable() {
    let (sim, element, http) = setup().await;
    reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.url()))
        .json(&serde_json::json!({"status": 503, "resource": "token"}))
        .send()
        .await
        .unwrap();
    let error = oauth::exchange_code(&http, &element, &demo_app(), "x", &redirect(REDIRECT))
        .await
        .unwrap_err();
    assert!(matches!(error, OAuthError::Unavailable(_)), "{error:?}");

    let closed = Registry::builtin(|_| Some("http://127.0.0.1:9".into()))
        .unwrap()
        .get("infusionsoftrest")
        .unwrap();
    let error = oauth::exchange_code(&http, &closed, &demo_app(), "x", &redirect(REDIRECT))
        .await
        .unwrap_err();
    assert!(matches!(error, OAuthError::Unavailable(_)), "{error:?}");
    assert!(!format!("{error:?}").contains("tributary-demo-secret"));
}
