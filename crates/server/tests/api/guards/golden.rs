//! A golden notification: on one manual clock, with the ids a fresh database gives (instance,
//! organization and user 1) and ids derived from data (event and notification ids), the exact
//! body bytes and every signature header of one Cloud Elements notification are compared with
//! checked-in files, `tests/api/golden/notification.json` (the bytes) and
//! `tests/api/golden/notification.headers.json`. Nothing is normalised: no field of either is
//! random. `TRIBUTARY_BLESS=1` rewrites both after a deliberate change (review the diff).

use std::path::PathBuf;

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tributary_domain::ManualClock;
use tributary_server::delivery::Deliverer;

use super::{Reply, contacts_poller, poll, provider, quiet, receiver};
use crate::helpers::{seed_body, spawn_app_with_clocks};

/// 2026-11-28T10:00:00Z.
const T0: i64 = 1_795_860_000_000;

/// The signing key of the Cloud Elements example (and of the spec's test vector).
const KEY: &str = "MySecretEventSignatureKey";

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api/golden")
        .join(name)
}

/// The checked-in file, or (blessing) the file written from what was got.
fn compare(name: &str, got: &[u8]) {
    let path = golden(name);
    if std::env::var_os("TRIBUTARY_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        want == got,
        "{name} differs from the golden file\n got: {}\nwant: {}",
        String::from_utf8_lossy(got),
        String::from_utf8_lossy(&want)
    );
}

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn one_notification_is_byte_for_byte_the_golden_one_with_both_signatures() {
    let clock = std::sync::Arc::new(ManualClock::new(T0));
    let app = spawn_app_with_clocks(quiet(), clock.clone(), clock.clone(), |s| {
        s.allow_private_callbacks = true;
    })
    .await;
    let rx = receiver(Reply::Status(200, vec![])).await;
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.notification.callback.url"] = json!(rx.url);
    body["configuration"]["event.notification.signature.scheme"] = json!("both");
    body["configuration"]["event.poller.configuration"] = contacts_poller(None);
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(id, 1, "a fresh database's first instance");
    poll(&app, id).await;

    // A contact created at T0 + 2 s, found by the poll at T0 + 5 s, sent at T0 + 6 s.
    let token = app.sim_token().await;
    clock.set_ms(T0 + 2_000);
    provider(
        &app,
        Method::POST,
        &token,
        "/contacts",
        json!({"given_name": "Ada", "family_name": "Lovelace",
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]}),
    )
    .await;
    clock.set_ms(T0 + 5_000);
    assert_eq!(poll(&app, id).await["polls"][0]["events"], 1);
    clock.set_ms(T0 + 6_000);
    Deliverer::new(app.state.clone(), 1)
        .unwrap()
        .run_once()
        .await;
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one notification");
    let received = &got[0];
    compare("notification.json", &received.body);

    let header = |name: &str| {
        received.headers[name]
            .to_str()
            .unwrap_or_else(|_| panic!("{name}"))
            .to_owned()
    };
    let headers = json!({
        "content-type": header("content-type"),
        "elements-webhook-id": header("elements-webhook-id"),
        "elements-webhook-signature": header("elements-webhook-signature"),
        "webhook-id": header("webhook-id"),
        "webhook-timestamp": header("webhook-timestamp"),
        "webhook-signature": header("webhook-signature"),
    });
    let mut text = serde_json::to_string_pretty(&headers).unwrap();
    text.push('\n');
    compare("notification.headers.json", text.as_bytes());

    // The golden values are right, not only stable: both signatures verify over the golden
    // bytes, and the body says what its headers say.
    let envelope: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(
        header("elements-webhook-signature"),
        format!("sha256={}", hmac_base64(KEY.as_bytes(), &received.body))
    );
    let signed = [
        header("webhook-id").as_bytes(),
        b".",
        header("webhook-timestamp").as_bytes(),
        b".",
        &received.body,
    ]
    .concat();
    assert_eq!(
        header("webhook-signature"),
        format!("v1,{}", hmac_base64(KEY.as_bytes(), &signed))
    );
    assert_eq!(
        header("webhook-timestamp"),
        ((T0 + 6_000) / 1_000).to_string()
    );
    assert_eq!(
        envelope["message"]["eventId"],
        header("elements-webhook-id")
    );
    assert_eq!(envelope["createdDate"], "Sat Nov 28 10:00:06 UTC 2026");
    assert_eq!(
        envelope["message"]["events"][0]["pollDate"],
        "2026-11-28T10:00:05Z"
    );
    assert_eq!(envelope["message"]["raw"]["pollDate"], T0 + 5_000);
}
