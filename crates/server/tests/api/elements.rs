//! `/elements` and the operations routes.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn elements_are_listed_with_their_resources_and_default_pollers() {
    let app = spawn_app().await;
    let all = app
        .expect(Method::GET, "/elements", None, StatusCode::OK)
        .await;
    let keys: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["infusionsoftrest", "sfdc", "hubspotcrm", "quickbooks"],
        "the built-in elements"
    );
    let element = app
        .expect(
            Method::GET,
            "/elements/infusionsoftrest",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(element, all[0]);
    assert_eq!(element["hub"], "crm");
    let resources = element["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 9);
    let appointments = resources
        .iter()
        .find(|r| r["name"] == "appointments")
        .unwrap();
    assert_eq!(
        appointments["defaultPollerConfiguration"],
        crate::helpers::seed_poller()["appointments"]
    );
    let companies = resources.iter().find(|r| r["name"] == "companies").unwrap();
    assert_eq!(companies["defaultPollerConfiguration"], Value::Null);
    let text = element.to_string();
    assert!(
        !text.contains("secret"),
        "no secrets in element definitions"
    );
    app.expect(
        Method::GET,
        "/elements/salesforce",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_oauth_url_points_at_the_providers_consent_page() {
    let app = spawn_app().await;
    let body = app
        .expect(Method::GET, "/elements/infusionsoftrest/oauth/url?apiKey=my-app&apiSecret=s3cret&callbackUrl=https%3A%2F%2Fapp.example%2Fcb", None, StatusCode::OK)
        .await;
    assert_eq!(body["element"], "infusionsoftrest");
    let url = reqwest::Url::parse(body["oauthUrl"].as_str().unwrap()).unwrap();
    assert_eq!(
        url.as_str().split('?').next().unwrap(),
        format!("{}/app/oauth/authorize", app.sim.url())
    );
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        [
            ("client_id", "my-app"),
            ("redirect_uri", "https://app.example/cb"),
            ("response_type", "code"),
            ("scope", "full"),
            ("state", "infusionsoftrest")
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    assert!(!body.to_string().contains("s3cret"));
    let custom = app
        .expect(Method::GET, "/elements/infusionsoftrest/oauth/url?apiKey=a&callbackUrl=https%3A%2F%2Fx.example%2F&state=mine", None, StatusCode::OK)
        .await;
    assert!(custom["oauthUrl"].as_str().unwrap().ends_with("state=mine"));
    let missing = app
        .expect(
            Method::GET,
            "/elements/infusionsoftrest/oauth/url",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    let message = missing["message"].as_str().unwrap();
    assert!(
        message.contains("apiKey") && message.contains("callbackUrl"),
        "{message}"
    );
}

#[tokio::test]
async fn health_and_readiness_answer_without_credentials() {
    let app = spawn_app().await;
    let base = app.api.trim_end_matches("/elements/api-v2");
    for path in ["/healthz", "/readyz"] {
        let response = app.http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}
