//! Another organization reaches nothing of this one: every API route that names an instance
//! (read from `/openapi.json`, so a new route is held to it without editing this file), every
//! lookup of an event or notification by any id it carries, and the UI's pages and actions
//! answer 404 — not 403, which would confirm the object exists — and change nothing. This
//! instance's token presented with another organization's secrets (the token-scoped calls, the
//! hub) is a token of no instance of theirs: 401, as for any wrong token.

use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tributary_server::delivery::Deliverer;

use super::{contacts_instance, manual_clock, origin, poll, quiet, sim};
use crate::helpers::{TestApp, cookie, csrf_field, spawn_app_with_clock, submit_sign_in};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// An instance with two events in one queued notification, and what a client knows of them.
struct Owned {
    id: i64,
    event_id: String,
    notification_id: String,
    number: String,
    entry: String,
}

async fn owned(app: &TestApp, clock: &tributary_domain::ManualClock) -> Owned {
    let id = contacts_instance(app, "https://receiver.example/events", None).await;
    poll(app, id).await;
    clock.advance_ms(2_000);
    sim(
        app,
        Method::POST,
        "/records",
        Some(json!({"resource": "contacts", "count": 2})),
    )
    .await;
    assert_eq!(poll(app, id).await["polls"][0]["events"], 2);
    let deliverer = Deliverer::new(app.state.clone(), 1).unwrap();
    assert_eq!(deliverer.queue().await, 1, "one notification");
    let events = super::events_of(app, id).await;
    let event_id = events[0]["eventId"].as_str().unwrap().to_owned();
    let notification_id = events[0]["notificationId"].as_str().unwrap().to_owned();
    let notification = app
        .expect(
            Method::GET,
            &format!("/instances/events/{notification_id}"),
            None,
            StatusCode::OK,
        )
        .await;
    let number = notification["envelopeId"].as_str().unwrap().to_owned();
    let configuration = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/configuration"),
            None,
            StatusCode::OK,
        )
        .await;
    let entry = configuration[0]["id"]
        .to_string()
        .trim_matches('"')
        .to_owned();
    Owned {
        id,
        event_id,
        notification_id,
        number,
        entry,
    }
}

/// A second organization with its first user; returns their secrets.
async fn another_organization(app: &TestApp) -> (String, String) {
    let other = tributary_server::tenants::create(app.state.store.as_ref(), "Other Co", 0)
        .await
        .unwrap();
    (
        other.user_secret.expose_secret().to_owned(),
        other.organization_secret.expose_secret().to_owned(),
    )
}

/// An instance of the other organization; returns its id.
async fn their_instance(app: &TestApp, auth: &str) -> i64 {
    let body = app.seed_body().await;
    let response = app
        .call_as(auth, Method::POST, "/instances", Some(&body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// What the owner sees of the instance: the instance, its configuration, its pollers and its
/// events with their delivery status. Another organization's calls must leave it as it was.
async fn snapshot(app: &TestApp, id: i64) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        format!("/instances/{id}"),
        format!("/instances/{id}/configuration"),
        format!("/instances/{id}/pollers"),
        format!("/instances/{id}/events"),
    ] {
        seen.push(app.expect(Method::GET, &path, None, StatusCode::OK).await);
    }
    seen
}

#[tokio::test]
async fn another_organization_gets_404_from_every_route_of_this_ones_instances_and_events() {
    let clock = manual_clock();
    let app = spawn_app_with_clock(quiet(), clock.clone(), |_| {}).await;
    let mine = owned(&app, &clock).await;
    let before = snapshot(&app, mine.id).await;
    let (user, organization) = another_organization(&app).await;
    let foreign = format!("User {user}, Organization {organization}");

    let document: Value = app
        .http
        .get(format!("{}/openapi.json", origin(&app)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut refused = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(route) = path.strip_prefix("/elements/api-v2") else {
            continue;
        };
        if !route.starts_with("/instances/{id}") {
            continue;
        }
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let concrete = route
                .replace("{id}", &mine.id.to_string())
                .replace("{event_id}", &mine.event_id)
                .replace("{entry}", &mine.entry);
            assert!(!concrete.contains('{'), "a parameter left in {route}");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Bodies a owner's call would succeed with, so a 404 cannot be a 400 in disguise.
            let body = match (method.as_str(), route) {
                ("PUT", "/instances/{id}") => Some(app.seed_body().await),
                ("PATCH", "/instances/{id}") => Some(json!({"name": "stolen"})),
                ("PATCH", _) => Some(json!({"propertyValue": "5"})),
                _ => None,
            };
            let response = app
                .call_as(&foreign, method.clone(), &concrete, body.as_ref())
                .await;
            let status = response.status();
            // The error's message only: a leaked answer would carry the instance's token.
            let message = response.json::<Value>().await.unwrap_or_default()["message"].clone();
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {concrete}: {message}"
            );
            refused.push(format!("{method} {route}"));
        }
    }
    // Every instance route of the document was tried: poll, pollers, the event log, one
    // event, redeliver, recover, resume, analytics, the instance and its configuration.
    for expected in [
        "POST /instances/{id}/events/poll",
        "GET /instances/{id}/pollers",
        "GET /instances/{id}/events",
        "GET /instances/{id}/events/{event_id}",
        "POST /instances/{id}/events/{event_id}/redeliver",
        "POST /instances/{id}/events/recover",
        "POST /instances/{id}/events/resume",
        "GET /instances/{id}/events/analytics",
        "GET /instances/{id}",
        "PUT /instances/{id}",
        "PATCH /instances/{id}",
        "DELETE /instances/{id}",
        "PUT /instances/{id}/enabled",
        "DELETE /instances/{id}/enabled",
        "GET /instances/{id}/configuration",
        "GET /instances/{id}/configuration/{entry}",
        "PATCH /instances/{id}/configuration/{entry}",
    ] {
        assert!(
            refused.contains(&expected.to_owned()),
            "{expected} was tried: {refused:?}"
        );
    }

    // An event or notification by each id a client holds, through the organization's log and
    // through the instance's.
    for key in [&mine.event_id, &mine.notification_id, &mine.number] {
        for path in [
            format!("/instances/events/{key}"),
            format!("/instances/{}/events/{key}", mine.id),
        ] {
            let response = app.call_as(&foreign, Method::GET, &path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {path}");
        }
        // The owner finds each of them (so the 404s above are not for a wrong id).
        app.expect(
            Method::GET,
            &format!("/instances/events/{key}"),
            None,
            StatusCode::OK,
        )
        .await;
    }
    // The organization's lists hold nothing of this one's.
    for path in ["/instances/events", "/instances"] {
        let response = app.call_as(&foreign, Method::GET, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        assert_eq!(response.json::<Value>().await.unwrap(), json!([]), "{path}");
    }
    // Through an instance of its own: this organization's event ids under the other's
    // instance id (the id in the path is theirs; the event is not).
    let theirs = their_instance(&app, &foreign).await;
    for key in [&mine.event_id, &mine.notification_id, &mine.number] {
        for (method, path) in [
            (Method::GET, format!("/instances/{theirs}/events/{key}")),
            (
                Method::POST,
                format!("/instances/{theirs}/events/{key}/redeliver"),
            ),
        ] {
            let response = app.call_as(&foreign, method.clone(), &path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        }
    }
    let by_instance = app
        .call_as(
            &foreign,
            Method::GET,
            "/instances/events/analytics/instances",
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !by_instance.contains(&format!("\"instanceId\":{}", mine.id)),
        "{by_instance}"
    );

    // This instance's token in another organization's hands: the token-scoped calls and the
    // hub refuse it as a token of no instance of that organization (401, as documented).
    let token = app.instance(mine.id).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let scoped = format!("User {user}, Organization {organization}, Element {token}");
    let hub = format!("User {user}, Element {token}");
    let entry = &mine.entry;
    let seed = app.seed_body().await;
    let name = json!({"name": "stolen"});
    let value = json!({"propertyValue": "5"});
    for (auth, method, path, body) in [
        (&scoped, Method::GET, "/instances".to_owned(), None),
        (&scoped, Method::PUT, "/instances".to_owned(), Some(&seed)),
        (&scoped, Method::PATCH, "/instances".to_owned(), Some(&name)),
        (
            &scoped,
            Method::GET,
            "/instances/configuration".to_owned(),
            None,
        ),
        (
            &scoped,
            Method::GET,
            format!("/instances/configuration/{entry}"),
            None,
        ),
        (
            &scoped,
            Method::PATCH,
            format!("/instances/configuration/{entry}"),
            Some(&value),
        ),
        (&scoped, Method::PUT, "/instances/enabled".to_owned(), None),
        (
            &scoped,
            Method::DELETE,
            "/instances/enabled".to_owned(),
            None,
        ),
        (&scoped, Method::GET, "/hubs/crm/contacts".to_owned(), None),
        (&hub, Method::GET, "/hubs/crm/contacts".to_owned(), None),
        (&hub, Method::GET, "/hubs/crm/contacts/1".to_owned(), None),
    ] {
        let response = app.call_as(auth, method.clone(), &path, body).await;
        let status = response.status();
        let message = response.json::<Value>().await.unwrap_or_default()["message"].clone();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with another organization's secrets: {message}"
        );
    }

    assert_eq!(
        snapshot(&app, mine.id).await,
        before,
        "nothing of the instance changed"
    );
}

/// Signs in to the UI with these secrets; returns the session cookie and its CSRF token.
async fn sign_in(app: &TestApp, user: &str, organization: &str) -> (String, String) {
    let origin = origin(app);
    let signed_in = submit_sign_in(&app.http, &origin, user, organization).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = cookie(&signed_in, "tributary_session");
    let home = app
        .http
        .get(format!("{origin}/"))
        .header(COOKIE, format!("tributary_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let csrf = csrf_field(&home.text().await.unwrap());
    (session, csrf)
}

#[tokio::test]
async fn another_organizations_session_gets_404_from_every_page_and_action_of_this_ones_instance() {
    let clock = manual_clock();
    let app = spawn_app_with_clock(quiet(), clock.clone(), |_| {}).await;
    let mine = owned(&app, &clock).await;
    let before = snapshot(&app, mine.id).await;
    let (user, organization) = another_organization(&app).await;
    let theirs = their_instance(&app, &format!("User {user}, Organization {organization}")).await;
    let (session, csrf) = sign_in(&app, &user, &organization).await;
    let id = mine.id;
    let event = &mine.event_id;
    let pages = [
        format!("/ui/instances/{id}"),
        format!("/ui/instances/{id}/live"),
        format!("/ui/instances/{id}/edit"),
        format!("/ui/instances/{id}/delete"),
        format!("/ui/instances/{id}/events/{event}"),
        // This organization's event under the other's own instance.
        format!("/ui/instances/{theirs}/events/{event}"),
    ];
    let actions = [
        format!("/ui/instances/{id}/poll"),
        format!("/ui/instances/{id}/recover"),
        format!("/ui/instances/{id}/enable"),
        format!("/ui/instances/{id}/disable"),
        format!("/ui/instances/{id}/edit"),
        format!("/ui/instances/{id}/delete"),
        format!("/ui/instances/{id}/events/{event}/redeliver"),
        format!("/ui/instances/{theirs}/events/{event}/redeliver"),
    ];
    let origin = origin(&app);
    for path in &pages {
        let response = app
            .http
            .get(format!("{origin}{path}"))
            .header(COOKIE, format!("tributary_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    for path in &actions {
        let response = app
            .http
            .post(format!("{origin}{path}"))
            .header(COOKIE, format!("tributary_session={session}"))
            .form(&[("csrf", csrf.as_str()), ("name", "stolen")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    // The home page lists none of this organization's instances.
    let home = app
        .http
        .get(format!("{origin}/"))
        .header(COOKIE, format!("tributary_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !home.contains(&format!("/ui/instances/{id}")),
        "the home page lists instance {id}"
    );
    assert_eq!(
        snapshot(&app, mine.id).await,
        before,
        "nothing of the instance changed"
    );
}
