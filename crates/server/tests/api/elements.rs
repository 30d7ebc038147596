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

/// `POST /elements/reload` reads the elements folder again for an administrator: off (403)
/// without `TRIBUTARY_ADMIN_SECRET`, refused (401) with an organization's secrets or a wrong
/// one; with the secret, a new file serves at once, a broken one is refused by name while the
/// rest load, and a folder that cannot be read changes nothing (503).
#[tokio::test]
async fn an_administrator_reloads_the_elements_folder_and_nobody_else_can() {
    use crate::helpers::{TempDir, spawn_app_with};
    use secrecy::SecretString;
    use tributary_simulator::Config;

    const ADMIN: &str = "an-operator-secret-of-some-length";
    let off = spawn_app().await;
    let answer = off
        .expect(
            Method::POST,
            "/elements/reload",
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("TRIBUTARY_ADMIN_SECRET"),
        "{answer}"
    );

    let folder = TempDir::new("tributary-reload");
    let shared = folder.path().to_owned();
    let mut app = spawn_app_with(Config::default(), move |s| {
        s.elements_dir = Some(shared);
        s.admin_secret = Some(SecretString::from(ADMIN));
    })
    .await;
    let keys = |elements: &Value| -> Vec<String> {
        elements
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = app
        .expect(Method::GET, "/elements", None, StatusCode::OK)
        .await;
    assert!(!keys(&listed).contains(&"mykeap".to_owned()));

    let definition = tributary_elements::registry::builtin_definition("infusionsoftrest")
        .unwrap()
        .replacen("key = \"infusionsoftrest\"", "key = \"mykeap\"", 1);
    std::fs::write(folder.path().join("mykeap.toml"), &definition).unwrap();
    for auth in [
        app.auth.clone(),
        format!("Admin {ADMIN}x"),
        format!("Bearer {ADMIN}"),
        String::new(),
    ] {
        let answer = app
            .call_as(&auth, Method::POST, "/elements/reload", None)
            .await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let body = answer.text().await.unwrap();
        assert!(!body.contains(ADMIN), "the secret is never echoed: {body}");
    }
    let listed = app
        .expect(Method::GET, "/elements", None, StatusCode::OK)
        .await;
    assert!(
        !keys(&listed).contains(&"mykeap".to_owned()),
        "a refused reload loads nothing"
    );

    let admin = format!("Admin {ADMIN}");
    let reload = |app: &crate::helpers::TestApp| {
        let admin = admin.clone();
        let (http, api) = (app.http.clone(), app.api.clone());
        async move {
            http.post(format!("{api}/elements/reload"))
                .header("Authorization", admin)
                .send()
                .await
                .unwrap()
        }
    };
    let answer = reload(&app).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let reloaded: Value = answer.json().await.unwrap();
    assert_eq!(
        reloaded["elements"],
        serde_json::json!([
            "infusionsoftrest",
            "sfdc",
            "hubspotcrm",
            "quickbooks",
            "mykeap"
        ])
    );
    assert_eq!(reloaded["refused"], serde_json::json!([]));
    let mykeap = app
        .expect(Method::GET, "/elements/mykeap", None, StatusCode::OK)
        .await;
    assert_eq!(mykeap["builtIn"], false);

    std::fs::write(
        folder.path().join("broken.toml"),
        definition.replacen("key = \"mykeap\"", "key = \"broken\"\nunknown = 1", 1),
    )
    .unwrap();
    let reloaded: Value = reload(&app).await.json().await.unwrap();
    let refused = reloaded["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{reloaded}");
    let refusal = refused[0].as_str().unwrap();
    assert!(refusal.contains("broken.toml"), "{refusal}");
    assert!(
        reloaded["elements"]
            .as_array()
            .unwrap()
            .contains(&Value::from("mykeap")),
        "{reloaded}"
    );

    // The folder gone: the elements in use stay as they were.
    let moved = folder.path().with_extension("moved");
    std::fs::rename(folder.path(), &moved).unwrap();
    let answer = reload(&app).await;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    std::fs::rename(&moved, folder.path()).unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("unchanged"),
        "{body}"
    );
    app.expect(Method::GET, "/elements/mykeap", None, StatusCode::OK)
        .await;
    app.hold(folder);
}
