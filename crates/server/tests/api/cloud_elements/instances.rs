//! The instance API as a Cloud Elements client uses it: the token read back, secrets masked,
//! enabling and disabling, the token-scoped calls, the `user` object, names stripped of HTML,
//! the echoed `providerData`, and a refused client secret named as such.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tributary_server::configuration::open_configuration;
use tributary_server::scheduler::Scheduler;
use tributary_store::StoredValue;

use super::{app, body_to, call_as, create, deliver_until, get, poll, receiver, records, scoped};
use crate::helpers::{TestApp, USER_SECRET};

/// A hub call with an instance's token; its status.
async fn hub_status(app: &TestApp, token: &str) -> StatusCode {
    app.call_as(
        &format!("User {USER_SECRET}, Element {token}"),
        Method::GET,
        "/hubs/crm/appointments?pageSize=1",
        None,
    )
    .await
    .status()
}

#[tokio::test]
async fn the_owner_reads_the_token_back_and_every_secret_is_masked_and_sealed() {
    let app = app().await;
    let mut body = body_to(&app, "https://receiver.example/events").await;
    let config = &mut body["configuration"];
    config["x.apikey"] = json!("k-123");
    config["x.private_key"] = json!("pk-456");
    config["x.credential"] = json!("cred-789");
    config["x.region"] = json!("eu");
    let created = create(&app, &body).await;
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap();

    let read = app.instance(id).await;
    assert_eq!(
        read["token"], token,
        "Cloud Elements returns it to its owner"
    );
    let listed = app.instances().await;
    assert_eq!(listed[0]["token"], token);
    assert_eq!(
        hub_status(&app, read["token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    let shown = &read["configuration"];
    for key in [
        "oauth.api.key",
        "oauth.api.secret",
        "event.notification.signature.key",
        "x.apikey",
        "x.private_key",
        "x.credential",
    ] {
        assert_eq!(shown[key], "********", "{key}");
    }
    assert_eq!(shown["x.region"], "eu");
    let entries = get(&app, &format!("/instances/{id}/configuration")).await;
    let entry = |key: &str| {
        entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("oauth.api.key")["propertyValue"], "********");
    assert_eq!(entry("x.apikey")["propertyValue"], "********");

    // Sending the mask back keeps the stored value; every secret is sealed at rest.
    let patch = json!({"configuration": {"x.apikey": "********", "oauth.api.key": "********",
                                         "x.region": "us"}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&patch),
        StatusCode::OK,
    )
    .await;
    let record = app.state.store.instance(1, id).await.unwrap().unwrap();
    for key in ["x.apikey", "x.private_key", "x.credential", "oauth.api.key"] {
        assert!(
            matches!(record.entry(key).unwrap().value, StoredValue::Sealed(_)),
            "{key} is sealed"
        );
    }
    let plain = open_configuration(&app.state.vault, &record).unwrap();
    assert_eq!(plain["x.apikey"], "k-123");
    assert_eq!(plain["oauth.api.key"], "tributary-demo");
    assert_eq!(plain["x.region"], "us");
    assert!(
        record
            .token_sealed
            .as_ref()
            .is_some_and(|sealed| !sealed.windows(token.len()).any(|w| w == token.as_bytes())),
        "the token is sealed, not stored as it is"
    );
    assert_eq!(hub_status(&app, token).await, StatusCode::OK, "still works");
}

#[tokio::test]
async fn an_instance_stored_before_tokens_were_sealed_shows_its_token_masked() {
    let app = app().await;
    let created = create(&app, &body_to(&app, "https://receiver.example/e").await).await;
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap();
    // What migration 0009 leaves of an instance created before it: the token's hash alone.
    let url = format!("sqlite://{}", app.dir.join("tributary.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE instances SET token_sealed = NULL WHERE id = ?")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let read = app.instance(id).await;
    assert_eq!(
        read["token"], "********",
        "only a hash of it was kept: it cannot be shown"
    );
    assert_eq!(
        hub_status(&app, token).await,
        StatusCode::OK,
        "it still works"
    );
    let (status, patched) = call_as(
        &app,
        &scoped(token),
        Method::PATCH,
        "/instances",
        Some(&json!({"name": "Still mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["token"], "********");
}

#[tokio::test]
async fn a_disabled_instance_polls_and_sends_nothing_new_and_resumes_from_its_cursor() {
    let app = app().await;
    let (url, inbox) = receiver().await;
    let id = create(&app, &body_to(&app, &url).await).await["id"]
        .as_i64()
        .unwrap();
    let token = app.instance(id).await["token"].as_str().unwrap().to_owned();
    // Two changes polled and stored, not yet sent, when the instance is disabled.
    records(&app, "appointments", 2).await;
    assert_eq!(poll(&app, id).await["polls"][0]["events"], 2);
    let disabled = app
        .expect(
            Method::DELETE,
            &format!("/instances/{id}/enabled"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(disabled["disabled"], true);

    let scheduler = Scheduler::new(app.state.clone(), 4, std::time::Duration::from_secs(60));
    app.state.store.set_all_pollers_due(0).await.unwrap();
    assert!(scheduler.run_once().await.is_empty(), "nothing is polled");
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        hub_status(&app, &token).await,
        StatusCode::FORBIDDEN,
        "hub calls refused as Cloud Elements refuses them"
    );
    let deliverer = tributary_server::delivery::Deliverer::new(app.state.clone(), 4).unwrap();
    for _ in 0..3 {
        deliverer.run_once().await;
    }
    assert!(inbox.received().is_empty(), "nothing new is sent");
    // Changes made while disabled.
    records(&app, "appointments", 3).await;

    let enabled = app
        .expect(
            Method::PUT,
            &format!("/instances/{id}/enabled"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(enabled["disabled"], false);
    assert_eq!(hub_status(&app, &token).await, StatusCode::OK);
    let polls = scheduler.run_once().await;
    assert_eq!(polls.len(), 1, "due at once after enabling");
    assert_eq!(polls[0].events, 3, "every change made meanwhile: {polls:?}");
    deliver_until(&app, &inbox, 2).await;
    let mut delivered: Vec<String> = inbox
        .bodies()
        .iter()
        .flat_map(|b| b["message"]["events"].as_array().unwrap().clone())
        .map(|e| e["objectId"].as_str().unwrap().to_owned())
        .collect();
    delivered.sort_unstable();
    assert_eq!(delivered, ["1", "2", "3", "4", "5"], "nothing lost");
}

#[tokio::test]
async fn token_scoped_calls_act_on_the_instance_the_element_token_names() {
    let app = app().await;
    let first = create(&app, &body_to(&app, "https://receiver.example/a").await).await;
    let second = create(&app, &body_to(&app, "https://receiver.example/b").await).await;
    let (id, other) = (
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    );
    let auth = scoped(first["token"].as_str().unwrap());

    let (status, listed) = call_as(&app, &auth, Method::GET, "/instances", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "that instance: {listed}"
    );
    assert_eq!(listed[0]["id"], id);

    let (status, entries) =
        call_as(&app, &auth, Method::GET, "/instances/configuration", None).await;
    assert_eq!(status, StatusCode::OK);
    let enabled = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "event.notification.enabled")
        .unwrap()
        .clone();
    assert_eq!(enabled["propertyValue"], "true");
    let entry_path = format!("/instances/configuration/{}", enabled["id"]);
    let (status, patched) = call_as(
        &app,
        &auth,
        Method::PATCH,
        &entry_path,
        Some(&json!({"key": "event.notification.enabled", "propertyValue": "false"})),
    )
    .await;
    assert_eq!(
        (status, &patched["propertyValue"]),
        (StatusCode::OK, &json!("false"))
    );
    let (_, entry) = call_as(&app, &auth, Method::GET, &entry_path, None).await;
    assert_eq!(entry["propertyValue"], "false");

    let (status, renamed) = call_as(
        &app,
        &auth,
        Method::PATCH,
        "/instances",
        Some(&json!({"id": id, "name": "Renamed", "tags": ["scoped"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(
        (renamed["id"].as_i64(), &renamed["name"]),
        (Some(id), &json!("Renamed"))
    );
    assert_eq!(
        app.instance(other).await["name"],
        "API Instance",
        "the other untouched"
    );

    let (status, off) = call_as(&app, &auth, Method::DELETE, "/instances/enabled", None).await;
    assert_eq!((status, &off["disabled"]), (StatusCode::OK, &json!(true)));
    assert_eq!(app.instance(other).await["disabled"], false);
    let (status, on) = call_as(&app, &auth, Method::PUT, "/instances/enabled", None).await;
    assert_eq!((status, &on["disabled"]), (StatusCode::OK, &json!(false)));

    // Without an Element token, with a wrong one, or another organization's.
    let (status, refused) = call_as(
        &app,
        &app.auth,
        Method::PATCH,
        "/instances",
        Some(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("Element <instanceToken>")
    );
    let (status, _) = call_as(
        &app,
        &scoped("not-a-token"),
        Method::GET,
        "/instances/configuration",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let foreign = tributary_server::tenants::create(app.state.store.as_ref(), "Other", 0)
        .await
        .unwrap();
    let (status, _) = call_as(
        &app,
        &format!(
            "User {}, Organization {}, Element {}",
            secrecy::ExposeSecret::expose_secret(&foreign.user_secret),
            secrecy::ExposeSecret::expose_secret(&foreign.organization_secret),
            first["token"].as_str().unwrap()
        ),
        Method::GET,
        "/instances/configuration",
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "another organization's token"
    );
}

#[tokio::test]
async fn the_user_object_names_the_tenant_s_user() {
    let app = app().await;
    let created = create(&app, &body_to(&app, "https://receiver.example/e").await).await;
    assert_eq!(
        created["user"],
        json!({"id": 1, "emailAddress": "", "firstName": "", "lastName": ""}),
        "the bootstrap user was given no name: every field present, as the schema requires"
    );
    let profile = tributary_store::UserProfile {
        email: Some("ada@acme.example".into()),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
    };
    let secrets =
        tributary_server::tenants::create_with_user(app.state.store.as_ref(), "Acme", profile, 0)
            .await
            .unwrap();
    let auth = format!(
        "User {}, Organization {}",
        secrecy::ExposeSecret::expose_secret(&secrets.user_secret),
        secrecy::ExposeSecret::expose_secret(&secrets.organization_secret)
    );
    let body = body_to(&app, "https://receiver.example/e").await;
    let (status, theirs) = call_as(&app, &auth, Method::POST, "/instances", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    let user = &theirs["user"];
    assert!(user["id"].as_i64().unwrap() > 1);
    assert_eq!(
        (&user["emailAddress"], &user["firstName"], &user["lastName"]),
        (
            &json!("ada@acme.example"),
            &json!("Ada"),
            &json!("Lovelace")
        )
    );
}

#[tokio::test]
async fn names_and_tags_are_stripped_of_html_as_cloud_elements_strips_them() {
    let app = app().await;
    let xss = |text: &str| {
        format!("<a href=\"#\" onClick=\"javascript:alert('xss');return false;\">{text}</a>")
    };
    let mut body = body_to(&app, "https://receiver.example/e").await;
    body["name"] = json!(xss("churros-xss"));
    body["tags"] = json!([xss("@churros-xss"), "a < b"]);
    let created = create(&app, &body).await;
    assert_eq!(created["name"], "churros-xss");
    assert_eq!(created["tags"], json!(["@churros-xss", "a < b"]));
    let id = created["id"].as_i64().unwrap();
    let patched = app
        .expect(
            Method::PATCH,
            &format!("/instances/{id}"),
            Some(&json!({"name": xss("churros-xss-updated")})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(patched["name"], "churros-xss-updated");
    let (_, scoped_patch) = call_as(
        &app,
        &scoped(created["token"].as_str().unwrap()),
        Method::PATCH,
        "/instances",
        Some(&json!({"name": xss("churros-xsss-updated")})),
    )
    .await;
    assert_eq!(scoped_patch["name"], "churros-xsss-updated");
    let empty = app
        .expect(
            Method::PATCH,
            &format!("/instances/{id}"),
            Some(&json!({"name": "<b></b>"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(empty["message"].as_str().unwrap().contains("name must be"));
}

#[tokio::test]
async fn the_create_response_echoes_provider_data_without_its_secrets() {
    let app = app().await;
    let mut body = body_to(&app, "https://receiver.example/e").await;
    let code = body["providerData"]["code"].clone();
    body["providerData"]["state"] = json!("infusionsoftrest");
    let created = create(&app, &body).await;
    assert_eq!(
        created["providerData"],
        json!({"code": code, "state": "infusionsoftrest"}),
        "as Cloud Elements echoes it"
    );
    let id = created["id"].as_i64().unwrap();
    assert!(
        app.instance(id).await.get("providerData").is_none(),
        "a read does not"
    );

    let mut given = body_to(&app, "https://receiver.example/e").await;
    given["providerData"] = json!({"access_token": "at-secret-1", "refresh_token": "rt-secret-2",
                                   "expires_in": 3600});
    let created = create(&app, &given).await;
    assert_eq!(
        created["providerData"],
        json!({"access_token": "********", "refresh_token": "********", "expires_in": 3600})
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_named_as_refused_client_credentials() {
    let app = app().await;
    let mut body = body_to(&app, "https://receiver.example/e").await;
    body["configuration"]["oauth.api.secret"] = json!("not-the-secret");
    let refused = app
        .expect(
            Method::POST,
            "/instances",
            Some(&body),
            StatusCode::BAD_REQUEST,
        )
        .await;
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("Infusionsoft REST refused the client credentials")
            && message.contains("oauth.api.secret")
            && !message.contains("authorization code"),
        "{message}"
    );
    assert_eq!(refused["providerMessage"], "Invalid client credentials");
    assert!(app.instances().await.is_empty(), "nothing stored");
}
