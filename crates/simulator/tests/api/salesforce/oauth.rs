//! The web-server flow and sessions (`providers.md` §2.2, §2.8).

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tributary_simulator::salesforce::Config;

use super::{error_code, quiet, spawn_sf};
use crate::helpers::{REDIRECT, T0};

const CONTACTS: &str = "/query?q=SELECT+Id+FROM+Contact";

fn keys(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn a_token_response_points_instance_url_back_at_the_simulator_and_has_no_expires_in() {
    let sim = spawn_sf(quiet()).await;
    let page = sim
        .http
        .get(format!("{}/services/oauth2/authorize", sim.url))
        .query(&[
            ("response_type", "code"),
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("scope", "api refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"<form method="post" action="/services/oauth2/authorize">"#));

    let code = sim.authorize(None).await;
    let body = sim.exchange(&code).await;
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "id",
            "instance_url",
            "issued_at",
            "refresh_token",
            "scope",
            "signature",
            "token_type"
        ],
        "no expires_in: {body}"
    );
    assert_eq!(body["instance_url"], sim.url.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["issued_at"], T0.to_string(), "ms epoch as a string");
    let id = body["id"].as_str().unwrap();
    let org = sim.state().await["tenants"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(org.starts_with("00D") && org.len() == 18, "{org}");
    assert!(
        id.starts_with(&format!("{}/id/{org}/005", sim.url)),
        "the identity URL: {id}"
    );

    // The instance_url is where the API answers.
    let token = body["access_token"].as_str().unwrap();
    let response = sim
        .http
        .get(format!(
            "{}/services/data/v66.0/query",
            body["instance_url"].as_str().unwrap()
        ))
        .query(&[("q", "SELECT Id FROM Account")])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_rotation_a_refresh_returns_no_refresh_token_and_the_old_one_keeps_working() {
    let sim = spawn_sf(quiet()).await;
    let code = sim.authorize(None).await;
    let first = sim.exchange(&code).await;
    let refresh = first["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let response = sim.refresh(refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert!(body.get("expires_in").is_none(), "{body}");
        assert_eq!(body["instance_url"], sim.url.as_str(), "returned again");
        let token = body["access_token"].as_str().unwrap();
        assert_ne!(token, first["access_token"].as_str().unwrap());
        assert_eq!(
            sim.get(token, "/sobjects/Account/001D00000000001AAA")
                .await
                .status(),
            StatusCode::NOT_FOUND,
            "the new token authenticates (404 for an unknown record, not 401)"
        );
    }
}

#[tokio::test]
async fn with_rotation_every_refresh_returns_a_new_refresh_token_and_kills_the_old_one() {
    let sim = spawn_sf(Config {
        rotate_refresh_tokens: true,
        ..quiet()
    })
    .await;
    let code = sim.authorize(None).await;
    let first = sim.exchange(&code).await;
    let old = first["refresh_token"].as_str().unwrap();
    let second: Value = sim.refresh(old).await.json().await.unwrap();
    let new = second["refresh_token"]
        .as_str()
        .expect("a rotated refresh token");
    assert_ne!(new, old);

    let reused = sim.refresh(old).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    let body: Value = reused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].is_string());
    assert_eq!(sim.refresh(new).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_errors_are_flat_objects_and_a_used_code_is_invalid_grant() {
    let sim = spawn_sf(quiet()).await;
    let code = sim.authorize(None).await;
    sim.exchange(&code).await;
    let again = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "tributary-demo"),
            ("client_secret", "tributary-demo-secret"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let body: Value = again.json().await.unwrap();
    assert_eq!(keys(&body), ["error", "error_description"]);
    assert_eq!(body["error"], "invalid_grant");

    let wrong_secret = sim
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "tributary-demo"),
            ("client_secret", "nope"),
            ("refresh_token", "x"),
        ])
        .await;
    assert_eq!(
        wrong_secret.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let basic_only = sim
        .http
        .post(format!("{}/services/oauth2/token", sim.url))
        .basic_auth("tributary-demo", Some("tributary-demo-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        basic_only.json::<Value>().await.unwrap()["error"],
        "invalid_client_id",
        "client credentials go in the form body"
    );
}

#[tokio::test]
async fn a_session_ends_after_the_inactivity_timeout_and_each_call_resets_it() {
    let sim = spawn_sf(Config {
        session_timeout_secs: 600,
        ..quiet()
    })
    .await;
    let code = sim.authorize(None).await;
    let tokens = sim.exchange(&code).await;
    let token = tokens["access_token"].as_str().unwrap();
    // Calls 500 s apart keep the session alive well past 600 s after login.
    for _ in 0..3 {
        sim.clock.advance_ms(500_000);
        assert_eq!(sim.get(token, CONTACTS).await.status(), StatusCode::OK);
    }
    sim.clock.advance_ms(600_000);
    let expired = sim.get(token, CONTACTS).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired.json::<Value>().await.unwrap(),
        serde_json::json!([{"message": "Session expired or invalid",
                            "errorCode": "INVALID_SESSION_ID"}])
    );

    let refreshed: Value = sim
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let fresh = refreshed["access_token"].as_str().unwrap();
    assert_eq!(sim.get(fresh, CONTACTS).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn expiring_tokens_through_the_control_api_gives_invalid_session_id() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    let expired = sim.control(Method::POST, "/tokens/expire", None).await;
    assert_eq!(expired.json::<Value>().await.unwrap()["expired"], 1);
    let response = sim.get(&token, "/query?q=SELECT+Id+FROM+Lead").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "INVALID_SESSION_ID"
    );
    let none = sim
        .http
        .get(format!(
            "{}/services/data/v66.0/query?q=SELECT+Id+FROM+Lead",
            sim.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_org_chosen_on_the_consent_page_sees_only_its_own_records() {
    let sim = spawn_sf(Config {
        tenants: 2,
        ..quiet()
    })
    .await;
    let orgs: Vec<String> = sim.state().await["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    let first = sim.access_token().await;
    let code = sim.authorize(Some(&orgs[1])).await;
    let tokens = sim.exchange(&code).await;
    assert!(tokens["id"].as_str().unwrap().contains(&orgs[1]));
    let second = tokens["access_token"].as_str().unwrap();
    sim.create(second, "Account", serde_json::json!({"Name": "Only Here"}))
        .await;
    let count = |body: Value| body["totalSize"].as_u64().unwrap();
    assert_eq!(
        count(sim.query_json(second, "SELECT Id FROM Account").await),
        1
    );
    assert_eq!(
        count(sim.query_json(&first, "SELECT Id FROM Account").await),
        0
    );
}
