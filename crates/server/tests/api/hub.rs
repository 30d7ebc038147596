//! The hub API over real HTTP: paging, CEQL, tokens, provider faults.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with, spawn_unthrottled};

/// An app with one instance; returns the hub authorization header too.
async fn with_instance(app: &TestApp) -> (i64, String) {
    let created = app.create_seed_instance().await;
    let auth = format!(
        "User {}, Element {}",
        crate::helpers::USER_SECRET,
        created["token"].as_str().unwrap()
    );
    (created["id"].as_i64().unwrap(), auth)
}

impl TestApp {
    async fn hub(&self, auth: &str, path_and_query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/hubs/crm/{path_and_query}", self.api))
            .header("Authorization", auth)
            .send()
            .await
            .unwrap()
    }

    async fn sim(&self, path: &str, body: Value) {
        let response = self
            .http
            .post(format!("{}/_sim{path}", self.sim.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
    }

    /// Follows next-page tokens; returns every id and the number of hub calls.
    async fn read_all(&self, auth: &str, resource: &str, page_size: u32) -> (Vec<i64>, usize) {
        let (mut ids, mut calls, mut token) = (Vec::new(), 0, None::<String>);
        loop {
            let mut query = format!("{resource}?pageSize={page_size}");
            if let Some(token) = &token {
                query.push_str(&format!("&nextPage={token}"));
            }
            let response = self.hub(auth, &query).await;
            assert_eq!(response.status(), StatusCode::OK);
            calls += 1;
            token = response
                .headers()
                .get("elements-next-page-token")
                .map(|v| v.to_str().unwrap().to_owned());
            let returned: usize = response.headers()["elements-returned-count"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let page: Vec<Value> = response.json().await.unwrap();
            assert_eq!(page.len(), returned);
            ids.extend(page.iter().map(|r| r["id"].as_i64().unwrap()));
            if token.is_none() {
                return (ids, calls);
            }
        }
    }
}

#[tokio::test]
async fn the_hub_pages_through_2500_records_with_page_sizes_1_7_and_1000() {
    let app = spawn_unthrottled().await;
    let (_, auth) = with_instance(&app).await;
    app.sim("/records", json!({"resource": "orders", "count": 2500}))
        .await;
    let expected: Vec<i64> = (1..=2500).collect();
    for (size, calls) in [(1000, 3), (7, 358), (1, 2500)] {
        let (ids, used) = app.read_all(&auth, "orders", size).await;
        assert!(
            ids == expected,
            "page size {size}: {} ids from {:?} to {:?}",
            ids.len(),
            ids.first(),
            ids.last()
        );
        assert_eq!(used, calls, "page size {size}");
    }
    // page=N is the same as following tokens.
    let third: Vec<Value> = app
        .hub(&auth, "orders?pageSize=7&page=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        third
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        (15..=21).collect::<Vec<_>>()
    );
    // More than the provider's largest page is capped, not fetched in several requests.
    let response = app.hub(&auth, "orders?pageSize=5000").await;
    assert_eq!(response.headers()["elements-returned-count"], "1000");
}

#[tokio::test]
async fn since_and_updated_date_bounds_reach_the_provider_as_since_and_until() {
    let app = spawn_app().await;
    let (_, auth) = with_instance(&app).await;
    for (clause, expected) in [
        (
            "since='2026-01-01T00:00:00.000Z'",
            "since=2026-01-01T00%3A00%3A00.000Z",
        ),
        (
            "modification_date >= '2026-01-01T00:00:00Z' AND modification_date <= '2030-01-01T00:00:00Z'",
            "since=2026-01-01T00%3A00%3A00Z&until=2030-01-01T00%3A00%3A00Z",
        ),
    ] {
        let query = serde_urlencoded::to_string([("where", clause)]).unwrap();
        let response = app.hub(&auth, &format!("appointments?{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{clause}");
        assert!(response.headers().get("elements-local-filter").is_none());
        let last = app.sim_requests().await.last().unwrap().clone();
        assert_eq!(last["path"], "/crm/rest/v1/appointments");
        assert!(
            last["query"].as_str().unwrap().starts_with(expected),
            "{clause}: {}",
            last["query"]
        );
    }
    let query =
        serde_urlencoded::to_string([("where", "last_updated >= '2026-11-01T00:00:00.000Z'")])
            .unwrap();
    let contacts = app.hub(&auth, &format!("contacts?{query}")).await;
    assert_eq!(contacts.status(), StatusCode::OK);
    let last = app.sim_requests().await.last().unwrap().clone();
    assert!(
        last["query"]
            .as_str()
            .unwrap()
            .contains("since=2026-11-01T00%3A00%3A00.000Z"),
        "{}",
        last["query"]
    );
}

#[tokio::test]
async fn clauses_the_provider_cannot_take_are_refused_or_evaluated_here() {
    let app = spawn_app().await;
    let (_, auth) = with_instance(&app).await;
    for (clause, needle) in [
        (
            "modification_date > '2026-01-01T00:00:00Z'",
            "inclusive bounds only",
        ),
        ("title >= 'B'", "comparing its text here could be wrong"),
        (
            "since = '2026-01-01' OR title = 'x'",
            "only at the top level",
        ),
        ("title = 'unclosed", "at position"),
    ] {
        let query = serde_urlencoded::to_string([("where", clause)]).unwrap();
        let response = app.hub(&auth, &format!("tasks?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{clause}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{clause}: {body}"
        );
    }
    let company = app
        .hub(&auth, "companies?where=since%3D%272026-01-01%27")
        .await;
    assert_eq!(company.status(), StatusCode::BAD_REQUEST);

    // A safe clause the provider lacks: evaluated here, exactly, and said so.
    let all: Vec<Value> = app
        .hub(&auth, "contacts?pageSize=1000")
        .await
        .json()
        .await
        .unwrap();
    let confirmed: Vec<i64> = all
        .iter()
        .filter(|c| c["email_status"] == "Confirmed")
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(
        !confirmed.is_empty() && confirmed.len() < all.len(),
        "the seed has a mix"
    );
    let response = app
        .hub(
            &auth,
            "contacts?pageSize=1000&where=email_status%20%3D%20%27Confirmed%27",
        )
        .await;
    assert_eq!(
        response.headers()["elements-local-filter"],
        "email_status = 'Confirmed'"
    );
    let filtered: Vec<Value> = response.json().await.unwrap();
    assert_eq!(
        filtered
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        confirmed
    );
    let ordered = app.hub(&auth, "contacts?orderBy=shoe_size").await;
    assert_eq!(ordered.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn one_record_by_id_and_the_providers_404_in_its_own_words() {
    let app = spawn_app().await;
    let (id, auth) = with_instance(&app).await;
    let response = app.hub(&auth, "contacts/3").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["elements-element-instance-id"],
        id.to_string().as_str()
    );
    assert_eq!(response.json::<Value>().await.unwrap()["id"], 3);
    let missing = app.hub(&auth, "contacts/99999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["providerMessage"], "Unable to find this Contact");
    assert!(body["requestId"].is_string());
    assert_eq!(
        app.hub(&auth, "widgets").await.status(),
        StatusCode::NOT_FOUND
    );
    let other_hub = app
        .http
        .get(format!("{}/hubs/marketing/contacts", app.api))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(other_hub.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hub_calls_need_the_user_and_a_live_instance_token_of_its_organization() {
    let app = spawn_app().await;
    let (id, auth) = with_instance(&app).await;
    let token = auth.split("Element ").nth(1).unwrap().to_owned();
    let url = format!("sqlite://{}", app.dir.join("tributary.db").display());
    let store = tributary_store::open(&url, 0).await.unwrap();
    let other: Value = serde_json::from_str(
        &tributary_server::tenants::create(store.as_ref(), "Other", 0)
            .await
            .unwrap()
            .to_json(),
    )
    .unwrap();
    for (header, needle) in [
        (
            format!("User {}", crate::helpers::USER_SECRET),
            "need both User and Element",
        ),
        (
            format!("User {}, Element nope", crate::helpers::USER_SECRET),
            "wrong",
        ),
        (
            format!(
                "User {}, Element {token}",
                other["userSecret"].as_str().unwrap()
            ),
            "wrong",
        ),
        (
            format!(
                "User {}, Organization {}, Element {token}",
                crate::helpers::USER_SECRET,
                other["organizationSecret"].as_str().unwrap()
            ),
            "does not match",
        ),
    ] {
        let response = app.hub(&header, "contacts").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
        let body: Value = response.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains(needle), "{body}");
    }
    let with_org = format!(
        "User {}, Organization {}, Element {token}",
        crate::helpers::USER_SECRET,
        crate::helpers::ORG_SECRET
    );
    assert_eq!(
        app.hub(&with_org, "contacts").await.status(),
        StatusCode::OK
    );
    app.expect(
        Method::DELETE,
        &format!("/instances/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.hub(&auth, "contacts").await.status(),
        StatusCode::UNAUTHORIZED,
        "a deleted instance's token is dead"
    );
}

#[tokio::test]
async fn provider_faults_become_errors_with_the_providers_words_and_change_nothing() {
    let app = spawn_app_with(tributary_simulator::Config::default(), |s| {
        s.provider_timeout = Duration::from_millis(700)
    })
    .await;
    let (id, auth) = with_instance(&app).await;
    let before = app.instance(id).await;
    for (fault, status, needle) in [
        (json!({"status": 500}), 502, "Simulated fault"),
        (
            json!({"status": 503, "kind": "html"}),
            502,
            "HTML error page",
        ),
        (json!({"kind": "malformed"}), 502, "not JSON"),
        (json!({"kind": "reset"}), 502, "without an answer"),
        (json!({"kind": "timeout"}), 502, "timed out"),
        (json!({"status": 400}), 400, "Simulated fault"),
    ] {
        let mut body = fault.clone();
        body["resource"] = json!("contacts");
        app.sim("/faults", body).await;
        let response = app.hub(&auth, "contacts").await;
        assert_eq!(response.status().as_u16(), status, "{fault}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{fault}"
        );
        let body: Value = response.json().await.unwrap();
        let provider = body["providerMessage"].as_str().unwrap_or_default();
        assert!(
            provider.contains(needle) && !provider.contains('<'),
            "{fault}: {body}"
        );
        assert_eq!(
            app.hub(&auth, "contacts").await.status(),
            StatusCode::OK,
            "{fault}: recovers"
        );
    }
    let after = app.instance(id).await;
    assert_eq!(before, after, "no stored state changed");
}

#[tokio::test]
async fn twenty_concurrent_calls_with_an_expired_token_refresh_once() {
    let app = spawn_app().await;
    let (_, auth) = with_instance(&app).await;
    app.sim("/tokens/expire", json!({})).await;
    let mut calls = Vec::new();
    for _ in 0..20 {
        let request = app
            .http
            .get(format!("{}/hubs/crm/contacts?pageSize=5", app.api))
            .header("Authorization", &auth);
        calls.push(tokio::spawn(request.send()));
    }
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);
    }
    let token_calls = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/token")
        .count();
    assert_eq!(token_calls, 2, "the code exchange and one refresh");
}

#[tokio::test]
async fn the_rotated_refresh_token_survives_a_restart() {
    let mut app = spawn_app().await;
    let (_, auth) = with_instance(&app).await;
    app.sim("/tokens/expire", json!({})).await;
    assert_eq!(
        app.hub(&auth, "contacts").await.status(),
        StatusCode::OK,
        "refreshed (the first refresh token is now dead)"
    );
    app.restart().await;
    app.sim("/tokens/expire", json!({})).await;
    let response = app.hub(&auth, "contacts").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the stored, rotated refresh token works after a restart"
    );
    let refreshes: Vec<u64> = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/token")
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(refreshes, [200, 200, 200]);
}

#[tokio::test]
async fn a_revoked_refresh_token_marks_the_instance_invalid_and_stops_provider_calls() {
    let app = spawn_app().await;
    let (id, auth) = with_instance(&app).await;
    app.sim("/tokens/revoke", json!({})).await;
    app.sim("/tokens/expire", json!({})).await;
    let response = app.hub(&auth, "contacts").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["providerMessage"]
            .as_str()
            .unwrap()
            .contains("Invalid refresh token"),
        "{body}"
    );
    let instance = app.instance(id).await;
    assert_eq!(instance["valid"], false);
    assert!(
        instance["invalidReason"]
            .as_str()
            .unwrap()
            .contains("authorize the instance again"),
        "{instance}"
    );
    let before = app.sim_requests().await.len();
    let again = app.hub(&auth, "contacts").await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.sim_requests().await.len(),
        before,
        "no provider call for an invalid instance"
    );
    // A new code brings it back.
    let patch = json!({"providerData": {"code": app.code().await}});
    let revived = app
        .expect(
            Method::PATCH,
            &format!("/instances/{id}"),
            Some(&patch),
            StatusCode::OK,
        )
        .await;
    assert_eq!(revived["valid"], true);
    assert!(revived.get("invalidReason").is_none());
    assert_eq!(app.hub(&auth, "contacts").await.status(), StatusCode::OK);
}

/// A simulator whose budget is 60 per rolling "minute" of one second (the 60/min
/// scenario, sixty times faster), and a server pacing each provider app to `server_limit` per
/// second.
async fn sixty_per_window(server_limit: u32) -> TestApp {
    let config = tributary_simulator::Config {
        seed: 0,
        throttle_per_minute: 60,
        throttle_window_ms: 1_000,
        ..tributary_simulator::Config::default()
    };
    spawn_app_with(config, |s| {
        s.provider_requests_per_minute = Some(server_limit);
        s.provider_rate_window = Duration::from_secs(1);
    })
    .await
}

/// Five instances of one app share its budget: paced to 40 a second together (a third under
/// the provider's 60, so that requests bunched up on their way by a loaded machine still fit
/// its rolling window), they meet no throttling. Paced per instance instead (five budgets of
/// 40), they meet it even though the provider's remaining-count headers slow them down: eight
/// 429s when the bucket was keyed by instance on purpose.
#[tokio::test]
async fn a_burst_from_five_instances_of_one_app_is_paced_to_its_budget() {
    let app = sixty_per_window(40).await;
    let mut auths = Vec::new();
    for _ in 0..5 {
        auths.push(with_instance(&app).await.1);
    }
    let mut calls = Vec::new();
    for i in 0..120 {
        let request = app
            .http
            .get(format!("{}/hubs/crm/contacts?pageSize=1", app.api))
            .header("Authorization", &auths[i % 5]);
        calls.push(tokio::spawn(request.send()));
    }
    for call in calls {
        assert_eq!(
            call.await.unwrap().unwrap().status(),
            StatusCode::OK,
            "every call completes"
        );
    }
    let log = app.sim_requests().await;
    let throttled = log.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(throttled, 0, "429s for 120 calls");
    let metrics = app.metrics().await;
    let waits = metrics.value("tributary_provider_pacing_waits_total");
    assert!(
        waits > 60.0,
        "pacing waits are visible in the metrics: {}",
        metrics.0
    );
}

/// After a 429 with `Retry-After: 1`, the app sends nothing until that second has passed. The
/// calls go one at a time, so the request after the refusal is its retry (none was in flight
/// beside it); the provider's log shows when each began and ended, and the gap between them can
/// only grow on a loaded machine, never shrink.
#[tokio::test]
async fn retry_after_is_honoured_before_the_next_request() {
    // Five a second at the provider, and a server that does not pace: it meets the 429.
    let config = tributary_simulator::Config {
        seed: 0,
        throttle_per_minute: 5,
        throttle_window_ms: 1_000,
        retry_after: true,
        ..tributary_simulator::Config::default()
    };
    let app = spawn_app_with(config, |s| {
        s.provider_requests_per_minute = Some(100_000);
        s.provider_rate_window = Duration::from_secs(1);
    })
    .await;
    let (_, auth) = with_instance(&app).await;
    let contacts = async || -> Vec<Value> {
        app.sim_requests()
            .await
            .into_iter()
            .filter(|r| r["path"] == "/crm/rest/v1/contacts")
            .collect()
    };
    for _ in 0..20 {
        assert_eq!(
            app.hub(&auth, "contacts?pageSize=1").await.status(),
            StatusCode::OK,
            "the call is retried after the refusal and succeeds"
        );
        if contacts().await.iter().any(|r| r["status"] == 429) {
            break;
        }
    }
    let log = contacts().await;
    let refusal = log
        .iter()
        .position(|r| r["status"] == 429)
        .expect("the provider throttled within 20 calls of a budget of 5");
    let retry = log.get(refusal + 1).expect("the refused call was retried");
    assert_eq!(retry["status"], 200, "{retry}");
    let refused_at = log[refusal]["finished_ms"].as_i64().unwrap();
    let retried_at = retry["started_ms"].as_i64().unwrap();
    // Both stamps are the simulator's clock, in whole milliseconds.
    assert!(
        retried_at >= refused_at + 999,
        "the retry came {} ms after the 429, inside its Retry-After second",
        retried_at - refused_at
    );
}
