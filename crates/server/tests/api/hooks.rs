//! Webhook sources over real HTTP against the Keap simulator's REST hooks (issue 20): an
//! instance with `event.vendor.type: webhooks` subscribes and verifies; creates, edits and
//! deletes arrive once each, also when the provider loses a delivery (the safety-net poll) or
//! sends one twice; stale URLs answer 410; the keeper mends subscriptions; PATCH and DELETE
//! change them.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::Config;

use crate::helpers::{
    TestApp, contacts_poller, eventually, seed_body, spawn_app_on_manual_clock, tasks_poller,
};

/// An app reachable at its public URL (the simulator delivers there), the simulator's hook
/// delays scaled by 1/1000 (30–60 ms), on a manual clock moved between changes so that each
/// change has its own second (Keap's contacts round `last_updated` to it).
async fn app() -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    spawn_app_on_manual_clock(
        Config {
            seed: 0,
            hook_time_scale: 0.001,
            ..Config::default()
        },
        move |s| {
            s.bind = format!("127.0.0.1:{port}").parse().unwrap();
            s.public_url = Some(format!("http://127.0.0.1:{port}"));
            s.allow_private_callbacks = true;
        },
    )
    .await
}

fn pollers(resources: &[&str]) -> Value {
    let mut all = serde_json::Map::new();
    for resource in resources {
        let one = match *resource {
            "contacts" => contacts_poller(),
            "tasks" => tasks_poller(),
            other => panic!("no poller for {other}"),
        };
        all.extend(one.as_object().unwrap().clone());
    }
    Value::Object(all)
}

/// A webhooks instance of `resources`; its id.
async fn instance(app: &TestApp, resources: &[&str]) -> i64 {
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.vendor.type"] = json!("webhooks");
    body["configuration"]["event.poller.configuration"] = pollers(resources);
    app.expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await["id"]
        .as_i64()
        .unwrap()
}

async fn subscriptions(app: &TestApp, id: i64) -> Vec<Value> {
    app.expect(
        Method::GET,
        &format!("/instances/{id}/subscriptions"),
        None,
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

/// Every subscription the simulator holds, with its status.
async fn sim_hooks(app: &TestApp) -> Value {
    app.http
        .get(format!("{}/_sim/hooks/faults", app.sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn sim_faults(app: &TestApp, body: Value) {
    let response = app
        .http
        .post(format!("{}/_sim/hooks/faults", app.sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

/// A call of the Keap API at the simulator, as a user of the CRM makes it.
async fn keap(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let token = app.sim_token().await;
    let mut request = app
        .http
        .request(method, format!("{}/crm/rest/v1{path}", app.sim.url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

/// The instance's events as (resource, object id, type), sorted.
async fn events(app: &TestApp, id: i64) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/events?pageSize=1000"),
            None,
            StatusCode::OK,
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["objectType"].as_str().unwrap_or_default().to_owned(),
                e["objectId"].as_str().unwrap().to_owned(),
                e["eventType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn wait_for_events(app: &TestApp, id: i64, count: usize) {
    eventually(Duration::from_secs(20), "the hooked events", async || {
        events(app, id).await.len() >= count
    })
    .await;
}

fn count(events: &[(String, String, String)], resource: &str, object: &str, kind: &str) -> usize {
    events
        .iter()
        .filter(|(r, o, k)| r == resource && o == object && k == kind)
        .count()
}

/// A contact Keap accepts (it needs an e-mail address or a phone number).
fn person(name: &str) -> Value {
    json!({"given_name": name,
        "email_addresses": [{"email": format!("{}@example.com", name.to_lowercase()), "field": "EMAIL1"}]})
}

fn contact_id(record: &Value) -> String {
    record["id"].as_i64().unwrap().to_string()
}

#[tokio::test]
async fn a_webhooks_instance_subscribes_and_delivers_every_change_of_every_resource_once() {
    let app = app().await;
    let id = instance(&app, &["contacts", "tasks"]).await;
    let subs = subscriptions(&app, id).await;
    let mut keys: Vec<&str> = subs
        .iter()
        .map(|s| s["eventKey"].as_str().unwrap())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "contact.add",
            "contact.delete",
            "contact.edit",
            "task.add",
            "task.delete",
            "task.edit"
        ]
    );
    assert!(
        subs.iter()
            .all(|s| s["status"] == "Verified" && s["key"].is_string()),
        "verified through the X-Hook-Secret handshake: {subs:?}"
    );

    app.advance_ms(2_000);
    let contact = keap(&app, Method::POST, "/contacts", Some(person("Ada"))).await;
    let task = keap(&app, Method::POST, "/tasks", Some(json!({"title": "Call"}))).await;
    let (c, t) = (contact_id(&contact), contact_id(&task));
    wait_for_events(&app, id, 2).await;
    app.advance_ms(2_000);
    keap(
        &app,
        Method::PATCH,
        &format!("/contacts/{c}"),
        Some(json!({"given_name": "Ada L."})),
    )
    .await;
    keap(
        &app,
        Method::PATCH,
        &format!("/tasks/{t}"),
        Some(json!({"title": "Call back"})),
    )
    .await;
    wait_for_events(&app, id, 4).await;
    // A safety-net poll with a first reconciliation sweep: the sweep remembers both records
    // (the memory a later sweep finds them missing from), the poll repeats nothing.
    let polled = app.poll_now(id, true).await;
    assert!(
        polled["polls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["events"] == 0
                && p["sweep"]["seeded"] == true
                && p["sweep"]["records"] == 1),
        "{polled}"
    );
    app.advance_ms(2_000);
    keap(&app, Method::DELETE, &format!("/contacts/{c}"), None).await;
    keap(&app, Method::DELETE, &format!("/tasks/{t}"), None).await;
    wait_for_events(&app, id, 6).await;

    // The next sweep finds both ids gone, and its DELETED events are the hooks' (same ids).
    let swept = app.poll_now(id, true).await;
    assert!(
        swept["polls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["events"] == 0 && p["sweep"]["deleted"] == 1),
        "the sweep decided the deletions, and stored none anew: {swept}"
    );
    let all = events(&app, id).await;
    for (resource, object) in [("contacts", &c), ("tasks", &t)] {
        for kind in ["CREATED", "UPDATED", "DELETED"] {
            assert_eq!(
                count(&all, resource, object, kind),
                1,
                "{resource} {kind}: {all:?}"
            );
        }
    }
    assert_eq!(all.len(), 6, "{all:?}");
    let subs = subscriptions(&app, id).await;
    assert!(
        subs.iter()
            .all(|s| s["deliveries"].as_i64() == Some(1) && s["lastDeliveryDate"].is_string()),
        "{subs:?}"
    );
}

#[tokio::test]
async fn a_lost_delivery_is_caught_by_the_safety_net_poll_and_a_duplicated_one_is_one_event() {
    let app = app().await;
    let id = instance(&app, &["contacts"]).await;
    app.advance_ms(2_000);
    sim_faults(&app, json!({"lose": 1})).await;
    let lost = keap(&app, Method::POST, "/contacts", Some(person("Lost"))).await;
    eventually(Duration::from_secs(20), "the delivery lost", async || {
        sim_hooks(&app).await["lose"] == 0 && sim_hooks(&app).await["waiting"] == 0
    })
    .await;
    assert!(events(&app, id).await.is_empty(), "the hook never came");
    app.poll_now(id, false).await;
    let all = events(&app, id).await;
    assert_eq!(
        count(&all, "contacts", &contact_id(&lost), "CREATED"),
        1,
        "{all:?}"
    );

    app.advance_ms(2_000);
    sim_faults(&app, json!({"duplicate": 1})).await;
    let twice = keap(&app, Method::POST, "/contacts", Some(person("Twice"))).await;
    eventually(Duration::from_secs(20), "both copies stored", async || {
        subscriptions(&app, id)
            .await
            .iter()
            .any(|s| s["eventKey"] == "contact.add" && s["deliveries"].as_i64() == Some(2))
    })
    .await;
    eventually(
        Duration::from_secs(20),
        "both copies processed",
        async || app.state.store.inbound_waiting(id).await.unwrap() == 0,
    )
    .await;
    let all = events(&app, id).await;
    assert_eq!(
        count(&all, "contacts", &contact_id(&twice), "CREATED"),
        1,
        "{all:?}"
    );
    // And the next safety-net poll repeats neither.
    app.poll_now(id, false).await;
    assert_eq!(events(&app, id).await, all);
}

#[tokio::test]
async fn a_stale_hook_url_answers_410_and_the_keeper_re_creates_the_inactive_subscription() {
    let app = app().await;
    let id = instance(&app, &["contacts"]).await;
    let before = app.state.store.subscriptions(id).await.unwrap();
    let add = before
        .iter()
        .find(|s| s.event_key == "contact.add")
        .unwrap();
    // Forgotten here, still at the provider: its URL is stale.
    app.state.store.delete_subscription(add.id).await.unwrap();
    app.advance_ms(2_000);
    keap(&app, Method::POST, "/contacts", Some(person("Stale"))).await;
    let key = add.provider_key.clone().unwrap();
    eventually(
        Duration::from_secs(20),
        "the subscription made Inactive",
        async || {
            sim_hooks(&app).await["subscriptions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["key"] == key.as_str() && h["status"] == "Inactive")
        },
    )
    .await;

    // The keeper subscribes contact.add again (a new token, a new key at the provider), and
    // removes the stale one: nothing here knows its token.
    tributary_server::hooks::keep_all(&app.state).await;
    assert!(
        !sim_hooks(&app).await["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["key"] == key.as_str()),
        "the stale subscription removed at the provider"
    );
    let subs = subscriptions(&app, id).await;
    let again = subs
        .iter()
        .find(|s| s["eventKey"] == "contact.add")
        .unwrap();
    assert_eq!(again["status"], "Verified", "{subs:?}");
    assert_ne!(again["key"], json!(key), "{subs:?}");

    // A subscription gone at the provider (made Inactive and removed there) is re-created.
    let edit_key = before
        .iter()
        .find(|s| s.event_key == "contact.edit")
        .and_then(|s| s.provider_key.clone())
        .unwrap();
    keap(&app, Method::DELETE, &format!("/hooks/{edit_key}"), None).await;
    tributary_server::hooks::keep_all(&app.state).await;
    let subs = subscriptions(&app, id).await;
    let edit = subs
        .iter()
        .find(|s| s["eventKey"] == "contact.edit")
        .unwrap();
    assert_eq!(edit["status"], "Verified", "{subs:?}");
    assert_ne!(edit["key"], json!(edit_key), "re-created: {subs:?}");
    // And it delivers: an edit arrives through it.
    app.advance_ms(2_000);
    let contact = keap(&app, Method::POST, "/contacts", Some(person("Kept"))).await;
    wait_for_events(&app, id, 1).await;
    app.advance_ms(2_000);
    let c = contact_id(&contact);
    keap(
        &app,
        Method::PATCH,
        &format!("/contacts/{c}"),
        Some(json!({"given_name": "Kept!"})),
    )
    .await;
    eventually(
        Duration::from_secs(20),
        "the edit through the new subscription",
        async || count(&events(&app, id).await, "contacts", &c, "UPDATED") == 1,
    )
    .await;
}

/// A subscribe that crashed after the provider answered left a hook at Keap whose key was never
/// stored: the keeper adopts it (its token is the stored one waiting for its key) rather than
/// making another, and removes the hooks under the instance's URLs that nothing here knows.
#[tokio::test]
async fn the_keeper_adopts_a_subscription_made_before_a_crash_and_removes_stray_ones() {
    use tributary_server::hooks::{hook_url, new_token};
    use tributary_store::hooks::NewSubscription;

    let app = app().await;
    let id = instance(&app, &["contacts"]).await;
    let public = app.state.settings.public_url.clone().unwrap();
    let before = app.state.store.subscriptions(id).await.unwrap();
    let old_add = before
        .iter()
        .find(|s| s.event_key == "contact.add")
        .and_then(|s| s.provider_key.clone())
        .unwrap();
    // contact.add re-subscribed, and the process killed between Keap's answer and storing its
    // key: the new token stored, the hook made at Keap (verified against it), no key here.
    let token = new_token();
    app.state
        .store
        .put_subscription(NewSubscription {
            instance_id: id,
            resource: "contacts".into(),
            event_key: "contact.add".into(),
            action: "created".into(),
            token_hash: tributary_server::secrets::hash_secret(&token),
            status: "Pending".into(),
            now_ms: app.state.now_ms(),
        })
        .await
        .unwrap();
    let made = keap(
        &app,
        Method::POST,
        "/hooks",
        Some(json!({"eventKey": "contact.add",
            "hookUrl": hook_url(&public, "infusionsoftrest", id, &token)})),
    )
    .await;
    let made_key = made["key"].as_str().unwrap().to_owned();
    assert_eq!(made["status"], "Verified", "{made}");
    // And a stray from an older crash: under this instance's URLs, a token nothing here knows.
    let stray = keap(
        &app,
        Method::POST,
        "/hooks",
        Some(json!({"eventKey": "contact.edit",
            "hookUrl": hook_url(&public, "infusionsoftrest", id, &new_token())})),
    )
    .await;
    let stray_key = stray["key"].as_str().unwrap().to_owned();

    tributary_server::hooks::keep_all(&app.state).await;

    let listed = sim_hooks(&app).await["subscriptions"]
        .as_array()
        .unwrap()
        .clone();
    let keys = |event: &str| -> Vec<String> {
        listed
            .iter()
            .filter(|h| h["eventKey"] == event)
            .map(|h| h["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        keys("contact.add"),
        vec![made_key.clone()],
        "adopted, not made again; the replaced one removed (was {old_add}): {listed:?}"
    );
    let stored = app.state.store.subscriptions(id).await.unwrap();
    let edit = stored
        .iter()
        .find(|s| s.event_key == "contact.edit")
        .unwrap();
    assert_eq!(
        keys("contact.edit"),
        vec![edit.provider_key.clone().unwrap()],
        "the stray {stray_key} removed: {listed:?}"
    );
    let subs = subscriptions(&app, id).await;
    let add = subs
        .iter()
        .find(|s| s["eventKey"] == "contact.add")
        .unwrap();
    assert_eq!(add["key"], json!(made_key), "{subs:?}");
    assert_eq!(add["status"], "Verified", "{subs:?}");

    // And it delivers: a new contact arrives once, through the adopted subscription.
    app.advance_ms(2_000);
    let contact = keap(&app, Method::POST, "/contacts", Some(person("Adopted"))).await;
    let c = contact_id(&contact);
    eventually(
        Duration::from_secs(20),
        "the create through the adopted subscription",
        async || {
            let delivered = app
                .state
                .store
                .subscriptions(id)
                .await
                .unwrap()
                .iter()
                .any(|s| s.provider_key.as_deref() == Some(made_key.as_str()) && s.deliveries >= 1);
            delivered && count(&events(&app, id).await, "contacts", &c, "CREATED") == 1
        },
    )
    .await;
}

#[tokio::test]
async fn an_unknown_hook_url_answers_410_and_an_oversized_delivery_413() {
    let app = app().await;
    let id = instance(&app, &["contacts"]).await;
    let url = format!("{}/events/infusionsoftrest/{id}/not-a-token", app.api);
    let small = app
        .http
        .post(&url)
        .json(&json!({"object_keys": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), StatusCode::GONE);
    let big = vec![b' '; 1024 * 1024 + 10];
    let large = app.http.post(&url).body(big).send().await.unwrap();
    assert_eq!(large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let handshake = app
        .http
        .post(&url)
        .header("X-Hook-Secret", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(
        handshake.status(),
        StatusCode::GONE,
        "no handshake for a stranger"
    );
}

#[tokio::test]
async fn patch_changes_the_subscriptions_and_delete_removes_them_at_the_provider() {
    let app = app().await;
    let id = instance(&app, &["contacts"]).await;
    assert_eq!(subscriptions(&app, id).await.len(), 3);
    let patch = json!({"configuration": {"event.poller.configuration": pollers(&["tasks"])}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&patch),
        StatusCode::OK,
    )
    .await;
    let subs = subscriptions(&app, id).await;
    let mut keys: Vec<&str> = subs
        .iter()
        .map(|s| s["eventKey"].as_str().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, ["task.add", "task.delete", "task.edit"]);
    let at_sim = sim_hooks(&app).await["subscriptions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        at_sim.len(),
        3,
        "the contacts' removed at the provider: {at_sim:?}"
    );

    // Switched to polling: no subscription is left.
    let polling = json!({"configuration": {"event.vendor.type": "polling"}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&polling),
        StatusCode::OK,
    )
    .await;
    assert!(subscriptions(&app, id).await.is_empty());
    assert!(
        sim_hooks(&app).await["subscriptions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let again = json!({"configuration": {"event.vendor.type": "webhook"}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&again),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        subscriptions(&app, id).await.len(),
        3,
        "CE's spelling `webhook` too"
    );
    // The instance page shows them.
    let origin = app.api.trim_end_matches("/elements/api-v2").to_owned();
    let signed_in = crate::helpers::submit_sign_in(
        &app.http,
        &origin,
        crate::helpers::USER_SECRET,
        crate::helpers::ORG_SECRET,
    )
    .await;
    let session = crate::helpers::cookie(&signed_in, "tributary_session");
    let html = app
        .http
        .get(format!("{origin}/ui/instances/{id}"))
        .header("cookie", format!("tributary_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Webhook subscriptions")
            && html.contains("task.edit")
            && html.contains("Verified"),
        "{html}"
    );
    app.expect(
        Method::DELETE,
        &format!("/instances/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
    assert!(
        sim_hooks(&app).await["subscriptions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_webhooks_instance_s_notifications_carry_up_to_twenty_events() {
    let app = app().await;
    let (callback, inbox) = crate::helpers::receiver().await;
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.vendor.type"] = json!("webhooks");
    body["configuration"]["event.notification.callback.url"] = json!(callback);
    body["configuration"]["event.poller.configuration"] = pollers(&["contacts"]);
    let id = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await["id"]
        .as_i64()
        .unwrap();
    app.advance_ms(2_000);
    // 25 contacts in one burst: one delivery of 25 ids, one processing, 25 events.
    let response = app
        .http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "contacts", "count": 25}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    wait_for_events(&app, id, 25).await;
    app.deliver(0, 0).await;
    let sizes: Vec<usize> = inbox
        .bodies()
        .iter()
        .map(|n| n["message"]["events"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 25, "{sizes:?}");
    assert!(sizes.iter().all(|n| *n <= 20), "{sizes:?}");
    assert!(
        sizes.contains(&20),
        "a polled instance's ten would not do: {sizes:?}"
    );
}

#[tokio::test]
async fn subscriptions_the_provider_refused_are_shown_with_their_error_and_made_by_the_keeper() {
    let app = app().await;
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.vendor.type"] = json!("webhooks");
    body["configuration"]["event.poller.configuration"] = pollers(&["contacts"]);
    // The code's exchange goes through; the three subscriptions fail.
    let response = app
        .http
        .post(format!("{}/_sim/faults", app.sim.url()))
        .json(&json!({"status": 500, "count": 3, "after": 1}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let id = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await["id"]
        .as_i64()
        .unwrap();
    let subs = subscriptions(&app, id).await;
    assert_eq!(subs.len(), 3, "{subs:?}");
    assert!(
        subs.iter().all(|s| s["status"] == "Failed"
            && s["lastError"].as_str().is_some_and(|e| e.contains("500"))),
        "visible, with the provider's answer: {subs:?}"
    );
    tributary_server::hooks::keep_all(&app.state).await;
    let subs = subscriptions(&app, id).await;
    assert!(
        subs.iter()
            .all(|s| s["status"] == "Verified" && s["lastError"].is_null()),
        "made by the keeper: {subs:?}"
    );
}
