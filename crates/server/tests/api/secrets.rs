//! No client secret, token or signature key in the database file, an API response or the log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_secret_is_stored_in_plain_text_shown_or_logged() {
    let capture = Capture::default();
    let sink = capture.clone();
    tributary_server::telemetry::init(move || sink.clone(), false);

    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let instance_token = created["token"].as_str().unwrap().to_owned();

    let mut secrets: Vec<String> = vec![
        "tributary-demo-secret".into(),
        "MySecretEventSignatureKey".into(),
        instance_token.clone(),
        crate::helpers::ORG_SECRET.into(),
        crate::helpers::USER_SECRET.into(),
    ];
    // The provider tokens of the first exchange, then of a re-authentication.
    secrets.extend(stored_tokens(&app).await);
    let patch = json!({"configuration": {"event.notification.signature.key": "AnotherSignatureKey42"}, "providerData": {"code": app.code().await}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&patch),
        StatusCode::OK,
    )
    .await;
    secrets.push("AnotherSignatureKey42".into());
    secrets.extend(stored_tokens(&app).await);
    assert_eq!(
        secrets.len(),
        10,
        "five known secrets, two token pairs, a new key"
    );

    // Every response the API gives about the instance.
    let mut responses = String::new();
    for path in [
        format!("/instances/{id}"),
        "/instances".into(),
        format!("/instances/{id}/configuration"),
    ] {
        let body = app.expect(Method::GET, &path, None, StatusCode::OK).await;
        responses.push_str(&body.to_string());
    }
    responses.push_str(&created.to_string().replace(&instance_token, ""));
    let bad = app
        .call(
            Method::POST,
            "/instances",
            Some(&json!({"configuration": {"oauth.api.secret": "LeakyLeaky99"}})),
        )
        .await;
    let refused = bad.text().await.unwrap();
    responses.push_str(&refused);
    secrets.push("LeakyLeaky99".into());
    let request_id = serde_json::from_str::<Value>(&refused).unwrap()["requestId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Every byte the database wrote: the file, its WAL and shared memory.
    let mut database = Vec::new();
    for entry in std::fs::read_dir(&app.dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".key") {
            database.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(database.len() > 4096, "the database was read");
    let log = capture.0.lock().unwrap().clone();
    assert!(contains(&log, "instance created"), "the log was captured");
    let refusal_line = String::from_utf8_lossy(&log)
        .lines()
        .find(|line| line.contains(&request_id) && line.contains("request refused"))
        .map(str::to_owned);
    assert!(
        refusal_line.is_some_and(|line| line.contains("status=400")),
        "the error's requestId {request_id} is on its log line"
    );

    for secret in &secrets {
        assert!(
            !contains(&database, secret),
            "{secret:.6}… is in the database in plain text"
        );
        // The instance token is its owner's to read back, as Cloud Elements allows: it is in
        // the owner's responses, and nowhere else.
        if *secret != instance_token {
            assert!(
                !responses.contains(secret.as_str()),
                "{secret:.6}… is in an API response"
            );
        }
        assert!(!contains(&log, secret), "{secret:.6}… is in the log");
    }
    assert!(created.to_string().contains(&instance_token));
    assert!(responses.contains(&instance_token), "shown to its owner");
}

/// The provider's access and refresh tokens as Tributary stored them (the test opens the
/// vault with the key file, as an operator could).
async fn stored_tokens(app: &crate::helpers::TestApp) -> Vec<String> {
    let key_text = std::fs::read_to_string(app.dir.join("tributary.db.key")).unwrap();
    let master = secrecy::SecretString::from(key_text.trim().to_owned());
    let vault = tributary_server::secrets::Vault::load(Some(&master), "sqlite::memory:").unwrap();
    let url = format!("sqlite://{}", app.dir.join("tributary.db").display());
    let store = tributary_store::open(&url, 0).await.unwrap();
    let mut tokens = Vec::new();
    for record in store.instances(1).await.unwrap() {
        let sealed = record.credentials.unwrap();
        let plain: Value =
            serde_json::from_slice(&vault.open("credentials", &sealed).unwrap()).unwrap();
        for key in ["access_token", "refresh_token"] {
            tokens.push(plain[key].as_str().unwrap().to_owned());
        }
    }
    tokens
}
