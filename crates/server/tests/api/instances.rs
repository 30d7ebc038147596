//! The instance API's happy paths, checked field by field.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{CALLBACK, seed_poller, spawn_app};

#[tokio::test]
async fn the_seed_example_creates_an_instance_with_every_field_cloud_elements_returns() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    assert!(created["id"].as_i64().unwrap() > 0);
    assert_eq!(created["name"], "API Instance");
    assert_eq!(created["tags"], json!(["Docs"]));
    assert_eq!(created["valid"], true);
    assert_eq!(created["disabled"], false);
    assert_eq!(created["eventsEnabled"], true);
    assert_eq!(created["externalAuthentication"], "none");
    assert_eq!(created["provisionInteractions"], json!([]));
    assert_eq!(created["user"]["id"], 1);
    let token = created["token"].as_str().unwrap();
    assert!(
        token.len() >= 40 && token != "********",
        "a fresh token: {token}"
    );
    let created_date = created["createdDate"].as_str().unwrap();
    assert_eq!(
        created_date.len(),
        "2017-08-07T18:46:38Z".len(),
        "{created_date}"
    );
    assert!(created_date.ends_with('Z'));
    assert_eq!(created["element"]["key"], "infusionsoftrest");
    assert_eq!(created["element"]["name"], "Infusionsoft REST");
    assert_eq!(created["element"]["hub"], "crm");
    assert_eq!(created["element"]["authentication"]["type"], "oauth2");
    assert_eq!(created["elementId"], created["element"]["id"]);

    let config = created["configuration"].as_object().unwrap();
    assert!(
        config.values().all(Value::is_string),
        "every value a string: {config:?}"
    );
    assert_eq!(config["event.notification.enabled"], "true");
    assert_eq!(config["event.poller.refresh_interval"], "15");
    assert_eq!(
        config["oauth.api.key"], "********",
        "Cloud Elements masks the client id too"
    );
    assert_eq!(config["oauth.callback.url"], CALLBACK);
    assert_eq!(config["oauth.api.secret"], "********");
    assert_eq!(config["event.notification.signature.key"], "********");
    let poller: Value =
        serde_json::from_str(config["event.poller.configuration"].as_str().unwrap()).unwrap();
    assert_eq!(poller, seed_poller());

    // The exchange really happened at the provider, once.
    let requests: Vec<Value> = app.sim_requests().await;
    let token_calls: Vec<&Value> = requests.iter().filter(|r| r["path"] == "/token").collect();
    assert_eq!(token_calls.len(), 1);
    assert_eq!(token_calls[0]["status"], 200);
}

#[tokio::test]
async fn reads_show_the_instance_with_its_token_and_lists_filter_by_tag_and_text() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let mut other = app.seed_body().await;
    other["name"] = json!("Second shop");
    other["tags"] = json!(["Prod", "EU"]);
    app.expect(Method::POST, "/instances", Some(&other), StatusCode::OK)
        .await;

    let read = app.instance(id).await;
    assert_eq!(
        read["token"], created["token"],
        "the token is sealed at rest and shown to its owner, as Cloud Elements shows it"
    );
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("providerData");
    assert_eq!(
        read, expected,
        "a read shows what the create returned, but the echoed providerData"
    );

    let all = app.instances().await;
    assert_eq!(all.len(), 2);
    let by_tag = app
        .expect(
            Method::GET,
            "/instances?tags%5B%5D=EU",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(by_tag.as_array().unwrap().len(), 1);
    assert_eq!(by_tag[0]["name"], "Second shop");
    let by_text = app
        .expect(
            Method::GET,
            "/instances?searchText=api%20INST",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(by_text[0]["id"], id);
    let none = app
        .expect(
            Method::GET,
            "/instances?searchText=nothing-like-this",
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(none["message"].as_str().unwrap().contains("no instance"));
    let of_element = app
        .expect(
            Method::GET,
            "/elements/infusionsoftrest/instances",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(of_element.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_element_path_variant_creates_too() {
    let app = spawn_app().await;
    let mut body = app.seed_body().await;
    body.as_object_mut().unwrap().remove("element");
    let created = app
        .expect(
            Method::POST,
            "/elements/infusionsoftrest/instances",
            Some(&body),
            StatusCode::OK,
        )
        .await;
    assert_eq!(created["element"]["key"], "infusionsoftrest");
}

#[tokio::test]
async fn patch_replaces_tags_merges_configuration_and_keeps_masked_secrets() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let patch = json!({
        "name": "Renamed",
        "tags": ["A", "B"],
        "configuration": {
            "event.poller.refresh_interval": 5,
            "event.notification.callback.url": "https://receiver.example/v2",
            "event.notification.signature.key": "********",
            "event.vendor.type": null
        }
    });
    let patched = app
        .expect(
            Method::PATCH,
            &format!("/instances/{id}"),
            Some(&patch),
            StatusCode::OK,
        )
        .await;
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(
        patched["tags"],
        json!(["A", "B"]),
        "tags are replaced, not merged"
    );
    let config = &patched["configuration"];
    assert_eq!(config["event.poller.refresh_interval"], "5");
    assert_eq!(
        config["event.notification.callback.url"],
        "https://receiver.example/v2"
    );
    assert_eq!(
        config["oauth.callback.url"], CALLBACK,
        "keys not named are kept"
    );
    assert_eq!(
        config["event.notification.signature.key"], "********",
        "the secret is kept"
    );
    assert!(
        config.get("event.vendor.type").is_none(),
        "null removes a key"
    );
    assert!(patched["updatedDate"].as_str().unwrap() >= created["updatedDate"].as_str().unwrap());

    // Switching events off needs nothing else.
    let off = app
        .expect(
            Method::PATCH,
            &format!("/instances/{id}"),
            Some(&json!({"configuration": {"event.notification.enabled": "false"}})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(off["eventsEnabled"], false);
}

#[tokio::test]
async fn put_replaces_the_whole_instance_and_may_reauthenticate_with_a_new_code() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let read = app.instance(id).await;

    // GET, edit, PUT back: masked secrets survive, unlisted keys go, tags default to none.
    let mut body = json!({
        "name": "Replaced",
        "configuration": read["configuration"].clone(),
        "providerData": {"code": app.code().await}
    });
    body["configuration"]
        .as_object_mut()
        .unwrap()
        .remove("event.poller.refresh_interval");
    let replaced = app
        .expect(
            Method::PUT,
            &format!("/instances/{id}"),
            Some(&body),
            StatusCode::OK,
        )
        .await;
    assert_eq!(replaced["name"], "Replaced");
    assert_eq!(replaced["tags"], json!([]));
    assert!(
        replaced["configuration"]
            .get("event.poller.refresh_interval")
            .is_none()
    );
    assert_eq!(replaced["configuration"]["oauth.api.secret"], "********");
    assert_eq!(replaced["valid"], true);
    let requests: Vec<Value> = app.sim_requests().await;
    assert_eq!(
        requests
            .iter()
            .filter(|r| r["path"] == "/token" && r["status"] == 200)
            .count(),
        2,
        "the new code was exchanged"
    );

    // The kept secret is still the real one: a later re-authentication with it succeeds.
    let again = json!({"providerData": {"code": app.code().await}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&again),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn the_configuration_endpoints_list_read_and_patch_entries_by_id() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let entries = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/configuration"),
            None,
            StatusCode::OK,
        )
        .await;
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 9);
    for entry in entries {
        assert!(
            entry["id"].as_i64().is_some()
                && entry["key"].is_string()
                && entry["propertyValue"].is_string(),
            "{entry}"
        );
    }
    let secret = entries
        .iter()
        .find(|e| e["key"] == "oauth.api.secret")
        .unwrap();
    assert_eq!(secret["propertyValue"], "********");
    let interval = entries
        .iter()
        .find(|e| e["key"] == "event.poller.refresh_interval")
        .unwrap();
    let entry_id = interval["id"].as_i64().unwrap();

    let one = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/configuration/{entry_id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(one, *interval);
    let patched = app
        .expect(
            Method::PATCH,
            &format!("/instances/{id}/configuration/{entry_id}"),
            Some(&json!({"propertyValue": 30})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        patched,
        json!({"id": entry_id, "key": "event.poller.refresh_interval", "propertyValue": "30"})
    );
    let instance = app.instance(id).await;
    assert_eq!(
        instance["configuration"]["event.poller.refresh_interval"],
        "30"
    );

    // Switching events off through an entry updates eventsEnabled too.
    let enabled = entries
        .iter()
        .find(|e| e["key"] == "event.notification.enabled")
        .unwrap();
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}/configuration/{}", enabled["id"]),
        Some(&json!({"propertyValue": "false"})),
        StatusCode::OK,
    )
    .await;
    let instance = app.instance(id).await;
    assert_eq!(instance["eventsEnabled"], false);
}

#[tokio::test]
async fn delete_removes_the_instance_and_its_configuration() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let deleted = app
        .expect(
            Method::DELETE,
            &format!("/instances/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(deleted, json!({}));
    app.expect(
        Method::GET,
        &format!("/instances/{id}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.expect(
        Method::GET,
        &format!("/instances/{id}/configuration"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.expect(
        Method::DELETE,
        &format!("/instances/{id}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(app.instances().await.is_empty());
}

#[tokio::test]
async fn externally_obtained_tokens_are_accepted_instead_of_a_code() {
    let app = spawn_app().await;
    let mut body = app.seed_body().await;
    body["providerData"] = json!({"access_token": "external-access", "refresh_token": "external-refresh", "expires_in": 3600});
    body["configuration"]
        .as_object_mut()
        .unwrap()
        .remove("oauth.callback.url");
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    assert_eq!(created["valid"], true);
    let requests: Vec<Value> = app.sim_requests().await;
    assert!(
        requests.iter().all(|r| r["path"] != "/token"),
        "no exchange for given tokens"
    );
}

#[tokio::test]
async fn another_organizations_instances_are_invisible() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let url = format!("sqlite://{}", app.dir.join("tributary.db").display());
    let store = tributary_store::open(&url, 0).await.unwrap();
    let other = tributary_server::tenants::create(store.as_ref(), "Other Co", 0)
        .await
        .unwrap();
    let secrets: Value = serde_json::from_str(&other.to_json()).unwrap();
    let auth = format!(
        "Organization {}, User {}",
        secrets["organizationSecret"].as_str().unwrap(),
        secrets["userSecret"].as_str().unwrap()
    );
    for (method, path) in [
        (Method::GET, format!("/instances/{id}")),
        (Method::GET, format!("/instances/{id}/configuration")),
        (Method::PATCH, format!("/instances/{id}")),
        (Method::DELETE, format!("/instances/{id}")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"name": "stolen"}));
        let response = app
            .call_as(&auth, method.clone(), &path, body.as_ref())
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let list = app.call_as(&auth, Method::GET, "/instances", None).await;
    assert_eq!(list.json::<Value>().await.unwrap(), json!([]));
    let mine = app.instance(id).await;
    assert_eq!(mine["name"], "API Instance", "untouched");
}

#[tokio::test]
async fn a_worker_only_node_answers_the_operations_routes_and_nothing_else() {
    let app = crate::helpers::spawn_app_with(tributary_simulator::Config::default(), |s| {
        s.roles = tributary_server::settings::Roles::parse("poller,delivery").unwrap();
    })
    .await;
    let api = app.call(Method::GET, "/instances", None).await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let origin = app.api.trim_end_matches("/elements/api-v2");
    for (path, status) in [
        ("/healthz", 200),
        ("/metrics", 200),
        ("/", 404),
        ("/sign-in", 404),
    ] {
        let response = app
            .http
            .get(format!("{origin}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
}
