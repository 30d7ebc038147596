//! Changing an instance from the web UI over plain HTTP: the edit form and its refusals, the
//! switch, and the delete with its confirmation.

use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{
    client, contacts_instance, csrf_field, field_error, get_page, origin, post_form, sign_in,
    unescape,
};
use crate::helpers::{TestApp, spawn_app};

/// Posts the edit form of instance `id` with these fields (and the session's CSRF token).
async fn post_edit(
    app: &TestApp,
    id: i64,
    session: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    let response = client()
        .post(format!("{}/ui/instances/{id}/edit", origin(app)))
        .header(COOKIE, format!("tributary_session={session}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The form as the page shows it, changed by `changes` (a field named again replaces it).
fn with<'a>(
    base: &[(&'a str, &'a str)],
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = base
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .copied()
        .collect();
    fields.extend_from_slice(changes);
    fields
}

#[tokio::test]
async fn the_edit_form_saves_through_the_patch_service_and_shows_each_refusal_next_to_its_field() {
    let app = spawn_app().await;
    let id = contacts_instance(&app).await;
    let session = sign_in(&app).await;
    let page = get_page(&app, &format!("/ui/instances/{id}/edit"), Some(&session)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let csrf = csrf_field(&html);
    // The settings as stored; the signature key is never sent into the page.
    assert!(html.contains("value=\"Contacts feed\""), "{html}");
    assert!(
        html.contains("value=\"https://receiver.example/events\""),
        "{html}"
    );
    assert!(html.contains("id=\"resource-contacts\" name=\"resource\" value=\"contacts\" checked"));
    // Each resource's checksum box, unticked where its configuration has no `checksum`.
    assert!(
        html.contains("id=\"checksum-contacts\" name=\"checksum\" value=\"contacts\">"),
        "{html}"
    );
    assert!(!html.contains("MySecretEventSignatureKey"), "{html}");
    assert!(
        html.contains("Leave it blank to keep the stored key"),
        "{html}"
    );
    let contacts = unescape(&html)
        .split("name=\"poller.contacts\"")
        .nth(1)
        .and_then(|rest| rest.split('>').nth(1))
        .and_then(|rest| rest.split("</textarea").next())
        .unwrap()
        .to_owned();
    assert!(contacts.contains("\"last_updated\""), "{contacts}");

    let shown: Vec<(&str, &str)> = vec![
        ("name", "Contacts feed"),
        ("tags", "Docs"),
        ("events", "on"),
        ("vendor", "polling"),
        ("callback_url", "https://receiver.example/events"),
        ("refresh", "15"),
        ("scheme", "elements"),
        ("resource", "contacts"),
        ("poller.contacts", contacts.as_str()),
    ];

    // Bad values: each refusal, in the API's words, beside its field; nothing changes.
    let (status, refused) = post_edit(
        &app,
        id,
        &session,
        &csrf,
        &with(
            &shown,
            &[
                ("refresh", "0"),
                ("scheme", "md5"),
                ("name", " "),
                ("resource", "tasks"),
                ("poller.tasks", "{not json"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = unescape(&refused);
    assert!(
        field_error(&refused, "poller-tasks")
            .is_some_and(|e| e.contains("event.poller.configuration.tasks is not valid JSON")),
        "{refused}"
    );
    let (_, refused) = post_edit(
        &app,
        id,
        &session,
        &csrf,
        &with(&shown, &[("refresh", "0"), ("scheme", "md5")]),
    )
    .await;
    let refused = unescape(&refused);
    assert_eq!(
        field_error(&refused, "refresh").as_deref(),
        Some(
            "configuration.event.poller.refresh_interval: must be a whole number of minutes \
             from 1 to 10080, got \"0\""
        )
    );
    assert!(
        field_error(&refused, "scheme")
            .is_some_and(|e| e.contains("must be elements, standard or both")),
        "{refused}"
    );
    let (_, nameless) = post_edit(&app, id, &session, &csrf, &with(&shown, &[("name", " ")])).await;
    assert_eq!(
        field_error(&nameless, "name").as_deref(),
        Some("name must be 1 to 200 characters")
    );
    assert!(
        refused.contains("id=\"refresh\" name=\"refresh\""),
        "{refused}"
    );
    assert!(refused.contains("aria-invalid=\"true\""), "{refused}");
    let unchanged = app.instance(id).await;
    assert_eq!(unchanged["name"], "Contacts feed");

    // Good values: saved through the same service as PATCH. The blank signature key keeps
    // the stored one; a ticked resource starts from the element's defaults.
    let (status, saved) = post_edit(
        &app,
        id,
        &session,
        &csrf,
        &with(
            &shown,
            &[
                ("name", "Renamed feed"),
                ("tags", "east, prod"),
                ("refresh", "30"),
                ("scheme", "both"),
                ("resource", "contacts"),
                ("resource", "tasks"),
                ("poller.tasks", ""),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert!(saved.contains("id=\"notice\">Saved."), "{saved}");
    let stored = app.instance(id).await;
    assert_eq!(stored["name"], "Renamed feed");
    assert_eq!(stored["tags"], json!(["east", "prod"]));
    let config = &stored["configuration"];
    assert_eq!(config["event.poller.refresh_interval"], "30");
    assert_eq!(config["event.notification.signature.scheme"], "both");
    assert_eq!(config["event.notification.signature.key"], "********");
    let pollers: serde_json::Value =
        serde_json::from_str(config["event.poller.configuration"].as_str().unwrap()).unwrap();
    assert_eq!(
        pollers.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["contacts", "tasks"]
    );
    let polled = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/pollers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(polled.as_array().unwrap().len(), 2, "{polled}");

    // Removing the key sends notifications unsigned; a forged form changes nothing.
    let (_, _) = post_edit(
        &app,
        id,
        &session,
        &csrf,
        &with(&shown, &[("name", "Renamed feed"), ("remove_key", "on")]),
    )
    .await;
    let stored = app.instance(id).await;
    assert!(
        stored["configuration"]["event.notification.signature.key"].is_null(),
        "{stored}"
    );
    let (forged, _) = post_edit(&app, id, &session, "forged", &shown).await;
    assert_eq!(forged, StatusCode::FORBIDDEN);
    assert_eq!(app.instance(id).await["name"], "Renamed feed");
    let missing = get_page(&app, "/ui/instances/999/edit", Some(&session)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_instance_is_switched_off_and_on_and_deleted_only_once_the_confirmation_is_sent() {
    let app = spawn_app().await;
    let id = contacts_instance(&app).await;
    let session = sign_in(&app).await;
    let html = get_page(&app, &format!("/ui/instances/{id}/edit"), Some(&session))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&html);
    let path = format!("/ui/instances/{id}");

    let (status, off) = post_form(&app, &format!("{path}/disable"), &session, &csrf).await;
    assert_eq!(status, StatusCode::OK);
    assert!(off.contains("id=\"notice\">Disabled"), "{off}");
    assert!(
        off.contains("id=\"enable\""),
        "the page offers to enable it: {off}"
    );
    assert_eq!(app.instance(id).await["disabled"], true);
    let (_, on) = post_form(&app, &format!("{path}/enable"), &session, &csrf).await;
    assert!(on.contains("id=\"notice\">Enabled"), "{on}");
    assert_eq!(app.instance(id).await["disabled"], false);
    let (forged, _) = post_form(&app, &format!("{path}/disable"), &session, "forged").await;
    assert_eq!(forged, StatusCode::FORBIDDEN);
    assert_eq!(app.instance(id).await["disabled"], false);

    // The confirmation page deletes nothing by being opened.
    let confirm = get_page(&app, &format!("{path}/delete"), Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("Delete Contacts feed?"), "{confirm}");
    assert!(confirm.contains("id=\"confirm-delete\""), "{confirm}");
    app.instance(id).await;
    let (forged, _) = post_form(&app, &format!("{path}/delete"), &session, "forged").await;
    assert_eq!(forged, StatusCode::FORBIDDEN);
    app.instance(id).await;
    let (status, deleted) = post_form(&app, &format!("{path}/delete"), &session, &csrf).await;
    assert_eq!(status, StatusCode::OK);
    assert!(deleted.contains("Instance deleted"), "{deleted}");
    app.expect(
        Method::GET,
        &format!("/instances/{id}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let (gone, _) = post_form(&app, &format!("{path}/delete"), &session, &csrf).await;
    assert_eq!(gone, StatusCode::NOT_FOUND);
}
