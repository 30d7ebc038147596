//! The web UI's create form offers every element of the registry with its resources and its
//! own settings, and connects a Salesforce org through the consent page.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION};
use serde_json::Value;

use super::{quiet, spawn_sf};
use crate::helpers::csrf_field;
use crate::providers::instance_id_of;

/// The form's fieldset of one element (its opening tag through its end).
fn part<'a>(html: &'a str, key: &str) -> &'a str {
    let start = html
        .find(&format!("data-element=\"{key}\""))
        .unwrap_or_else(|| panic!("{key} has a part: {html}"));
    let end = html[start..].find("</fieldset>").unwrap();
    &html[start..start + end]
}

#[tokio::test]
async fn the_form_offers_every_element_with_its_resources_and_connects_a_salesforce_org() {
    let app = spawn_sf(quiet()).await;
    let session = app.sign_in().await;
    let form = app.page("/ui/instances/new", &session).await;
    assert_eq!(form.status(), StatusCode::OK);
    let policy = form.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains(&app.sim.url()),
        "the consent page may be reached: {policy}"
    );
    let html = form.text().await.unwrap();
    let keap = part(&html, "infusionsoftrest");
    assert!(keap.contains("value=\"appointments\"") && !keap.contains(" disabled"));
    let sfdc = part(&html, "sfdc");
    assert!(
        sfdc.contains(" disabled hidden"),
        "not the element chosen: {sfdc}"
    );
    for resource in ["accounts", "contacts", "leads", "opportunities", "cases"] {
        assert!(
            sfdc.contains(&format!("value=\"{resource}\"")),
            "{resource}: {sfdc}"
        );
    }
    assert!(sfdc.contains("deletes too"));
    assert!(sfdc.contains("name=\"config.sfdc.login.url\""), "{sfdc}");
    assert!(html.contains("href=\"/ui/instances/new?element=sfdc\""));

    let chosen = app.page("/ui/instances/new?element=sfdc", &session).await;
    let html = chosen.text().await.unwrap();
    assert!(!part(&html, "sfdc").contains(" disabled"));
    assert!(part(&html, "infusionsoftrest").contains(" disabled hidden"));
    let csrf = csrf_field(&html);

    let post = |fields: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = vec![("csrf", csrf.clone())];
        form.extend(fields);
        app.http
            .post(format!("{}/ui/instances/new", app.origin()))
            .header(COOKIE, format!("tributary_session={session}"))
            .form(&form)
            .send()
    };
    let own_callback = format!("{}/ui/oauth/callback", app.origin());
    let fields = |login: &str| {
        vec![
            ("element", "sfdc".to_owned()),
            ("name", "Acme org".to_owned()),
            ("api_key", "tributary-demo".to_owned()),
            ("api_secret", "tributary-demo-secret".to_owned()),
            ("oauth_callback", own_callback.clone()),
            ("events", "on".to_owned()),
            ("callback_url", "https://receiver.example/events".to_owned()),
            ("refresh", "5".to_owned()),
            ("config.sfdc.login.url", login.to_owned()),
            ("resource", "contacts".to_owned()),
            ("resource", "accounts".to_owned()),
        ]
    };
    let refused = post(fields("https://evil.example")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("id=\"settings-error\">configuration.sfdc.login.url must be"),
        "the setting's problem is shown: {html}"
    );

    let sent = post(fields("sandbox")).await.unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let consent = sent.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        consent.starts_with(&format!("{}/services/oauth2/authorize?", app.sim.url())),
        "TRIBUTARY_SFDC_ORIGIN sends the consent to the simulator: {consent}"
    );
    let back = app.allow(&consent).await;
    assert!(back.starts_with(&own_callback), "{back}");
    let finished = app
        .page(back.trim_start_matches(&app.origin()), &session)
        .await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    let id = instance_id_of(&finished);
    let created = app.instance(id).await;
    assert_eq!(created["element"]["key"], "sfdc");
    assert_eq!(created["configuration"]["sfdc.login.url"], "sandbox");
    let pollers = match &created["configuration"]["event.poller.configuration"] {
        Value::String(text) => serde_json::from_str::<Value>(text).unwrap(),
        other => other.clone(),
    };
    let mut resources: Vec<&String> = pollers.as_object().unwrap().keys().collect();
    resources.sort();
    assert_eq!(resources, ["accounts", "contacts"]);
    let polled = app.poll(id).await;
    assert!(
        polled["polls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["error"].is_null()),
        "{polled}"
    );
}
