//! The web UI connects a QuickBooks company: the consent redirect's `realmId` reaches the
//! instance through the callback, beside the code, and polls use it.

use reqwest::header::{COOKIE, LOCATION};
use reqwest::{Method, StatusCode};

use super::{quiet, spawn_qb};
use crate::helpers::csrf_field;
use crate::providers::instance_id_of;

#[tokio::test]
async fn the_consent_callback_brings_the_realm_id_and_the_company_is_polled() {
    let app = spawn_qb(quiet()).await;
    let session = app.sign_in().await;
    let html = app
        .page("/ui/instances/new?element=quickbooks", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"invoices\""), "{html}");
    let csrf = csrf_field(&html);
    let own_callback = format!("{}/ui/oauth/callback", app.origin());
    let sent = app
        .http
        .post(format!("{}/ui/instances/new", app.origin()))
        .header(COOKIE, format!("tributary_session={session}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("element", "quickbooks"),
            ("name", "Books"),
            ("api_key", "tributary-demo"),
            ("api_secret", "tributary-demo-secret"),
            ("oauth_callback", own_callback.as_str()),
            ("events", "on"),
            ("callback_url", "https://receiver.example/events"),
            ("refresh", "5"),
            ("resource", "customers"),
            ("resource", "invoices"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let consent = sent.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        consent.starts_with(&format!("{}/connect/oauth2?", app.sim.url())),
        "TRIBUTARY_QUICKBOOKS_ORIGIN sends the consent to the simulator: {consent}"
    );
    let back = app.allow(&consent).await;
    assert!(
        back.starts_with(&own_callback) && back.contains("realmId="),
        "{back}"
    );
    let finished = app
        .page(back.trim_start_matches(&app.origin()), &session)
        .await;
    assert_eq!(
        finished.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        finished.text().await
    );
    let id = instance_id_of(&finished);
    let created = app.instance(id).await;
    assert_eq!(created["element"]["key"], "quickbooks");
    let polled = app.poll(id).await;
    assert!(
        polled["polls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["error"].is_null()),
        "the realm reached the poller's URLs: {polled}"
    );
    let realm = tributary_simulator::quickbooks::realm_id(0);
    assert!(
        app.requests()
            .await
            .iter()
            .any(|r| r["path"] == format!("/v3/company/{realm}/cdc")),
        "polls read the company's own feed"
    );
}

#[tokio::test]
async fn a_create_without_the_realm_id_is_refused_naming_where_it_comes_from() {
    let app = spawn_qb(quiet()).await;
    let consent = app.consent().await;
    let mut body = super::create_body(
        &consent.code,
        &consent.realm_id,
        serde_json::json!({"customers": super::poller("customers")}),
        "https://receiver.example/events",
    );
    body["providerData"]
        .as_object_mut()
        .unwrap()
        .remove("realmId");
    let refused = app
        .expect(
            Method::POST,
            "/instances",
            Some(&body),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("providerData.realmId (the OAuth redirect's realmId parameter)"),
        "{refused}"
    );
}
