//! OAuth: the consent page, single-use expiring codes, rotation, and the token endpoint's errors.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tributary_simulator::{ClientApp, Config};

use crate::helpers::{REDIRECT, spawn_empty, spawn_sim};

#[tokio::test]
async fn the_consent_page_names_the_app_and_posts_allow_back_to_itself() {
    let sim = spawn_empty().await;
    let response = sim
        .http
        .get(format!("{}/app/oauth/authorize", sim.url))
        .query(&[
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "full"),
            ("state", "<xyz>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("<strong>tributary-demo</strong>"), "{page}");
    assert!(page.contains(r#"<form method="post" action="/app/oauth/authorize">"#));
    assert!(page.contains(r#"name="allow" value="true""#));
    assert!(
        page.contains(r#"name="state" value="&lt;xyz&gt;""#),
        "state is escaped: {page}"
    );
}

#[tokio::test]
async fn allowing_redirects_with_a_code_the_tenant_scope_and_the_state() {
    let sim = spawn_empty().await;
    let response = sim
        .http
        .post(format!("{}/app/oauth/authorize", sim.url))
        .query(&[
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("state", "abc"),
        ])
        .form(&[("allow", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(&location.as_str()[..REDIRECT.len()], REDIRECT);
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs[0].0, "code");
    assert_eq!(
        pairs[1],
        ("scope".into(), "full|ab123.infusionsoft.com".into())
    );
    assert_eq!(pairs[2], ("state".into(), "abc".into()));
    assert!(
        location
            .as_str()
            .contains("scope=full%7Cab123.infusionsoft.com")
    );
}

#[tokio::test]
async fn denying_redirects_with_access_denied_and_no_code() {
    let sim = spawn_empty().await;
    let response = sim
        .http
        .post(format!("{}/app/oauth/authorize", sim.url))
        .query(&[
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("state", "abc"),
        ])
        .form(&[("allow", "false")])
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("error=access_denied"), "{location}");
    assert!(!location.contains("code="), "{location}");
}

#[tokio::test]
async fn an_unknown_client_or_missing_redirect_gets_an_html_error_not_a_redirect() {
    let sim = spawn_empty().await;
    for query in [
        vec![("client_id", "stranger"), ("redirect_uri", REDIRECT)],
        vec![("client_id", "tributary-demo")],
        vec![
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("response_type", "token"),
        ],
        vec![
            ("client_id", "tributary-demo"),
            ("redirect_uri", "not a url"),
        ],
    ] {
        let response = sim
            .http
            .get(format!("{}/app/oauth/authorize", sim.url))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query:?}");
        assert!(response.headers().get("location").is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Authorization error")
        );
    }
}

#[tokio::test]
async fn a_code_exchange_returns_the_real_token_shape() {
    let sim = spawn_empty().await;
    let code = sim.authorize("tributary-demo", None).await;
    let response = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "tributary-demo"),
            ("client_secret", "tributary-demo-secret"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["scope"], "full|ab123.infusionsoft.com");
    assert!(body["access_token"].as_str().unwrap().len() >= 20);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 20);
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
}

#[tokio::test]
async fn codes_are_single_use() {
    let sim = spawn_empty().await;
    let code = sim.authorize("tributary-demo", None).await;
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
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let sim = spawn_empty().await;
    let code = sim.authorize("tributary-demo", None).await;
    sim.clock.advance_ms(600_001);
    let response = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "tributary-demo"),
            ("client_secret", "tributary-demo-secret"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_code_is_bound_to_its_redirect_uri_and_its_client() {
    let sim = spawn_sim(Config {
        seed: 0,
        clients: vec![
            ClientApp::default_app(),
            ClientApp::parse("other:other-secret").unwrap(),
        ],
        ..Config::default()
    })
    .await;
    let code = sim.authorize("tributary-demo", None).await;
    let wrong_redirect = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "tributary-demo"),
            ("client_secret", "tributary-demo-secret"),
            ("code", &code),
            ("redirect_uri", "https://elsewhere.example/cb"),
        ])
        .await;
    assert_eq!(wrong_redirect.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong_redirect.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let code = sim.authorize("tributary-demo", None).await;
    let other_client = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "other"),
            ("client_secret", "other-secret"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(
        other_client.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

async fn refresh_with_body(sim: &crate::helpers::TestSim, refresh: &str) -> reqwest::Response {
    sim.token(&[
        ("grant_type", "refresh_token"),
        ("client_id", "tributary-demo"),
        ("client_secret", "tributary-demo-secret"),
        ("refresh_token", refresh),
    ])
    .await
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_and_the_old_one_is_dead() {
    let sim = spawn_empty().await;
    let code = sim.authorize("tributary-demo", None).await;
    let first = sim.exchange(&code).await;
    let old_refresh = first["refresh_token"].as_str().unwrap();

    // Basic auth, as infusionsoft-php sends it.
    let response = sim
        .http
        .post(format!("{}/token", sim.url))
        .basic_auth("tributary-demo", Some("tributary-demo-secret"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", old_refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["scope"], "full|ab123.infusionsoft.com");

    let reused = refresh_with_body(&sim, old_refresh).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reused.json::<Value>().await.unwrap(),
        json!({"error": "invalid_grant", "error_description": "Invalid refresh token"})
    );

    // The new one works, with the credentials in the body (n8n's style).
    let third = refresh_with_body(&sim, second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(third.status(), StatusCode::OK);
    let token = third.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.get(&token, "/contacts").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused_and_survives() {
    let sim = spawn_sim(Config {
        seed: 0,
        clients: vec![
            ClientApp::default_app(),
            ClientApp::parse("other:other-secret").unwrap(),
        ],
        ..Config::default()
    })
    .await;
    let code = sim.authorize("tributary-demo", None).await;
    let tokens = sim.exchange(&code).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let stolen = sim
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "other"),
            ("client_secret", "other-secret"),
            ("refresh_token", refresh),
        ])
        .await;
    assert_eq!(
        stolen.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        refresh_with_body(&sim, refresh).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_gets_invalid_grant() {
    let sim = spawn_empty().await;
    let code = sim.authorize("tributary-demo", None).await;
    let tokens = sim.exchange(&code).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let revoked = sim
        .control(
            reqwest::Method::POST,
            "/tokens/revoke",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let response = refresh_with_body(&sim, refresh).await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let unknown = sim
        .control(
            reqwest::Method::POST,
            "/tokens/revoke",
            Some(json!({"refresh_token": "nope"})),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_access_token_gets_401_and_a_refresh_brings_access_back() {
    let sim = spawn_sim(Config {
        seed: 0,
        token_ttl_secs: 60,
        ..Config::default()
    })
    .await;
    let code = sim.authorize("tributary-demo", None).await;
    let tokens = sim.exchange(&code).await;
    assert_eq!(tokens["expires_in"], 60);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(sim.get(access, "/contacts").await.status(), StatusCode::OK);

    sim.clock.advance_ms(60_000);
    let expired = sim.get(access, "/contacts").await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["fault"]["faultstring"], "Access Token expired");

    let refreshed = refresh_with_body(&sim, tokens["refresh_token"].as_str().unwrap()).await;
    let access = refreshed.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.get(&access, "/contacts").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn expiring_all_tokens_through_the_control_api_makes_every_call_401() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let response = sim
        .control(reqwest::Method::POST, "/tokens/expire", None)
        .await;
    assert_eq!(response.json::<Value>().await.unwrap()["expired"], 1);
    assert_eq!(
        sim.get(&token, "/contacts").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn missing_or_unknown_tokens_get_401_and_the_api_key_header_is_accepted() {
    let sim = spawn_empty().await;
    let none = sim
        .http
        .get(format!("{}/crm/rest/v1/contacts", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["fault"]["faultstring"], "Invalid Access Token");
    assert_eq!(
        sim.get("made-up", "/contacts").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let token = sim.access_token().await;
    let keyed = sim
        .http
        .get(format!("{}/crm/rest/v1/contacts", sim.url))
        .header("X-Keap-API-Key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_json_body_to_the_token_endpoint_gets_the_real_invalid_request() {
    let sim = spawn_empty().await;
    let response = sim
        .http
        .post(format!("{}/token", sim.url))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "invalid_request",
               "error_description": "response_type or grant_type is required"})
    );
}

#[tokio::test]
async fn bad_token_requests_get_oauth_errors_never_a_crash() {
    let sim = spawn_empty().await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "invalid_request"),
        (vec![("grant_type", "")], "invalid_request"),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
            ],
            "invalid_request",
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", "x")],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", "tributary-demo"),
                ("client_secret", "wrong"),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
                ("redirect_uri", REDIRECT),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
            ],
            "invalid_request",
        ),
    ];
    for (form, error) in cases {
        let response = sim.token(&form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}: {body}");
        assert!(body["error_description"].is_string());
    }
    // A body that is not a form at all.
    let garbage = sim
        .http
        .post(format!("{}/token", sim.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        garbage.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn each_tenant_chosen_on_the_consent_page_sees_only_its_own_records() {
    let sim = spawn_sim(Config {
        seed: 0,
        tenants: 2,
        ..Config::default()
    })
    .await;
    let page = sim
        .http
        .get(format!("{}/app/oauth/authorize", sim.url))
        .query(&[("client_id", "tributary-demo"), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<option value="ab124.infusionsoft.com">"#),
        "{page}"
    );

    let first = sim.access_token().await;
    let code = sim
        .authorize("tributary-demo", Some("ab124.infusionsoft.com"))
        .await;
    let tokens = sim.exchange(&code).await;
    assert_eq!(tokens["scope"], "full|ab124.infusionsoft.com");
    let second = tokens["access_token"].as_str().unwrap();

    sim.create_contact(second, "Only", "only@second.example")
        .await;
    assert_eq!(sim.get_json(second, "/contacts").await["count"], 1);
    assert_eq!(sim.get_json(&first, "/contacts").await["count"], 0);
    let response = sim.get(second, "/contacts").await;
    assert_eq!(
        response.headers()["x-keap-tenant-id"],
        "ab124.infusionsoft.com"
    );

    let unknown = sim
        .http
        .post(format!("{}/app/oauth/authorize", sim.url))
        .query(&[("client_id", "tributary-demo"), ("redirect_uri", REDIRECT)])
        .form(&[("allow", "true"), ("tenant", "zz999.infusionsoft.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}
