//! List endpoints: the envelope quirks, paging, `since`/`until`, filters and ordering, each
//! pinned to the captured real responses in `shared/research/infusionsoft.md` §2.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tributary_simulator::Config;

use crate::helpers::{T0, TestSim, spawn_empty, spawn_sim};

/// A simulator with `n` contacts created one second apart, and a token.
async fn with_contacts(n: usize) -> (TestSim, String) {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    for i in 0..n {
        sim.create_contact(&token, &format!("C{i}"), &format!("c{i}@example.com"))
            .await;
        sim.clock.advance_ms(1_000);
    }
    (sim, token)
}

fn ids(page: &Value, key: &str) -> Vec<i64> {
    page[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

fn link_query(link: &Value) -> String {
    let url = reqwest::Url::parse(link.as_str().unwrap()).unwrap();
    assert!(
        url.path().ends_with('/'),
        "links end the path with a slash: {url}"
    );
    url.query().unwrap_or("").to_owned()
}

#[tokio::test]
async fn count_is_the_total_of_matches_not_the_page_size() {
    // Capture: tags list with limit=1 returned 1 item and count 4.
    let (sim, token) = with_contacts(4).await;
    let page = sim.get_json(&token, "/contacts?limit=1").await;
    assert_eq!(ids(&page, "contacts"), [1]);
    assert_eq!(page["count"], 4);
}

#[tokio::test]
async fn next_is_always_present_with_the_min_of_limit_and_count_as_its_limit() {
    // Capture (S35): count 1, limit 20, offset 0 → next limit=1&offset=20, previous limit=20&offset=0.
    let (sim, token) = with_contacts(1).await;
    let page = sim.get_json(&token, "/contacts?limit=20").await;
    assert_eq!(page["count"], 1);
    assert_eq!(link_query(&page["next"]), "limit=1&offset=20&order=id");
    assert_eq!(link_query(&page["previous"]), "limit=20&offset=0&order=id");

    // Limit 1000 with one result → next ?limit=1&offset=1000, previous ?limit=1000&offset=0.
    let page = sim.get_json(&token, "/contacts").await;
    assert_eq!(link_query(&page["next"]), "limit=1&offset=1000&order=id");
    assert_eq!(
        link_query(&page["previous"]),
        "limit=1000&offset=0&order=id"
    );
}

#[tokio::test]
async fn an_empty_page_past_the_end_keeps_the_total_count_and_a_next_link() {
    // Capture: an empty page at offset 2 returned contacts: [] with count 2.
    let (sim, token) = with_contacts(2).await;
    let page = sim.get_json(&token, "/contacts?limit=2&offset=2").await;
    assert_eq!(page["contacts"], json!([]));
    assert_eq!(page["count"], 2);
    assert_eq!(link_query(&page["next"]), "limit=2&offset=4&order=id");
    assert_eq!(link_query(&page["previous"]), "limit=2&offset=0&order=id");
}

#[tokio::test]
async fn following_next_blindly_never_ends_but_count_tells_where_to_stop() {
    let (sim, token) = with_contacts(5).await;
    let mut url = format!("{}/crm/rest/v1/contacts?limit=2", sim.url);
    let mut seen = Vec::new();
    for _ in 0..6 {
        let page: Value = sim
            .http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(ids(&page, "contacts"));
        assert_eq!(page["count"], 5);
        url = page["next"]
            .as_str()
            .expect("next is always there")
            .to_owned();
    }
    assert_eq!(
        seen,
        [1, 2, 3, 4, 5],
        "pages past the end are empty, next still points on"
    );
}

#[tokio::test]
async fn the_default_and_largest_page_is_1000() {
    let sim = spawn_sim(Config {
        seed: 0,
        ..Config::default()
    })
    .await;
    let token = sim.access_token().await;
    sim.control(
        reqwest::Method::POST,
        "/activity/burst",
        Some(json!({"changes": 4000, "resources": ["notes"]})),
    )
    .await;
    let count = sim.state().await["tenants"][0]["resources"]["notes"]["records"]
        .as_array()
        .unwrap()
        .len();
    assert!(count > 1000, "the burst made {count} notes");
    let page = sim.get_json(&token, "/notes").await;
    assert_eq!(page["notes"].as_array().unwrap().len(), 1000);
    assert_eq!(page["count"], count);
    assert_eq!(link_query(&page["previous"]), "limit=1000&offset=0");
    let page = sim.get_json(&token, "/notes?limit=5000").await;
    assert_eq!(page["notes"].as_array().unwrap().len(), 1000);
    assert_eq!(link_query(&page["next"]), "limit=1000&offset=1000");
}

#[tokio::test]
async fn bad_paging_values_get_a_400_message() {
    let (sim, token) = with_contacts(1).await;
    for query in [
        "limit=-1",
        "limit=0",
        "limit=abc",
        "offset=-5",
        "offset=x",
        "limit=99999999999",
    ] {
        let response = sim.get(&token, &format!("/contacts?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid value for"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn next_keeps_filters_and_order_but_drops_optional_properties() {
    let (sim, token) = with_contacts(3).await;
    let page = sim
        .get_json(&token, "/contacts?limit=1&since=2020-01-01T00:00:00.000Z&optional_properties=custom_fields&email=c1@example.com&unknown=1")
        .await;
    assert_eq!(page["count"], 1);
    assert_eq!(
        link_query(&page["next"]),
        "limit=1&offset=1&since=2020-01-01T00%3A00%3A00.000Z&email=c1%40example.com&order=id"
    );
    let page = sim
        .get_json(&token, "/contacts?order=email&order_direction=DESCENDING")
        .await;
    assert_eq!(
        link_query(&page["next"]),
        "limit=3&offset=1000&order=email&order_direction=DESCENDING"
    );
    // Appointments have no `order` parameter, so no order=id either.
    let page = sim.get_json(&token, "/appointments?limit=5").await;
    assert_eq!(link_query(&page["next"]), "limit=0&offset=5");
}

#[tokio::test]
async fn contacts_since_and_until_are_inclusive_on_the_rounded_last_updated() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    sim.clock.set_ms(T0 + 8_544); // shows as 10:00:09.000
    sim.create_contact(&token, "Rounded", "r@example.com").await;
    let at = |q: &str| format!("/contacts?{q}");
    let count = |page: Value| page["count"].as_u64().unwrap();
    assert_eq!(
        count(
            sim.get_json(&token, &at("since=2026-11-28T10:00:09.000Z"))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            sim.get_json(&token, &at("since=2026-11-28T10:00:09.001Z"))
                .await
        ),
        0
    );
    assert_eq!(
        count(
            sim.get_json(&token, &at("until=2026-11-28T10:00:09.000Z"))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            sim.get_json(&token, &at("until=2026-11-28T10:00:08.999Z"))
                .await
        ),
        0
    );
    // Keap's own date style is accepted as a parameter too.
    assert_eq!(
        count(
            sim.get_json(&token, &at("since=2026-11-28T10:00:09.000%2B0000"))
                .await
        ),
        1
    );
    let bad = sim.get(&token, &at("since=yesterday")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("since")
    );
}

#[tokio::test]
async fn tasks_since_filters_on_modification_date_to_the_millisecond() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let created = sim
        .post(&token, "/tasks", json!({"title": "Call back"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    sim.clock.advance_ms(5_123);
    sim.patch(&token, &format!("/tasks/{id}"), json!({"priority": 2}))
        .await;
    let count = |page: Value| page["count"].as_u64().unwrap();
    assert_eq!(
        count(
            sim.get_json(&token, "/tasks?since=2026-11-28T10:00:05.123Z")
                .await
        ),
        1
    );
    assert_eq!(
        count(
            sim.get_json(&token, "/tasks?since=2026-11-28T10:00:05.124Z")
                .await
        ),
        0
    );
    assert_eq!(
        count(
            sim.get_json(&token, "/tasks?until=2026-11-28T10:00:05.122Z")
                .await
        ),
        0
    );
}

#[tokio::test]
async fn transactions_since_filters_on_transaction_date_and_opportunities_ignore_it() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    sim.post(&token, "/transactions", json!({"amount": 49.0}))
        .await;
    sim.post(
        &token,
        "/opportunities",
        json!({"opportunity_title": "Deal",
        "contact": {"id": 1}, "stage": {"id": 18}}),
    )
    .await;
    let count = |page: Value| page["count"].as_u64().unwrap();
    assert_eq!(
        count(
            sim.get_json(&token, "/transactions?since=2026-11-28T10:00:00.000Z")
                .await
        ),
        1
    );
    assert_eq!(
        count(
            sim.get_json(&token, "/transactions?since=2026-11-28T10:00:00.001Z")
                .await
        ),
        0
    );
    // No `since` on opportunities in v1: the parameter is ignored, not an error.
    assert_eq!(
        count(
            sim.get_json(&token, "/opportunities?since=2030-01-01T00:00:00Z")
                .await
        ),
        1
    );
}

#[tokio::test]
async fn contacts_filter_by_email_and_names_case_insensitively() {
    let (sim, token) = with_contacts(3).await;
    let page = sim.get_json(&token, "/contacts?email=C2@EXAMPLE.com").await;
    assert_eq!(ids(&page, "contacts"), [3]);
    let page = sim
        .get_json(&token, "/contacts?given_name=c0&family_name=TEST")
        .await;
    assert_eq!(ids(&page, "contacts"), [1]);
}

#[tokio::test]
async fn tasks_filter_by_contact_completion_and_due_date() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    sim.post(
        &token,
        "/tasks",
        json!({"title": "a", "contact": {"id": 7}, "completed": true,
                                      "due_date": "2026-12-01T00:00:00.000+0000"}),
    )
    .await;
    sim.post(
        &token,
        "/tasks",
        json!({"title": "b", "contact": {"id": 8}, "completed": false}),
    )
    .await;
    assert_eq!(
        ids(&sim.get_json(&token, "/tasks?contact_id=7").await, "tasks"),
        [1]
    );
    assert_eq!(
        ids(
            &sim.get_json(&token, "/tasks?completed=false").await,
            "tasks"
        ),
        [2]
    );
    assert_eq!(
        ids(
            &sim.get_json(&token, "/tasks?has_due_date=true").await,
            "tasks"
        ),
        [1]
    );
    let bad = sim.get(&token, "/tasks?contact_id=seven").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad = sim.get(&token, "/tasks?completed=maybe").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn contacts_order_by_last_updated_in_either_direction_and_reject_unknown_orders() {
    let (sim, token) = with_contacts(3).await;
    sim.patch(&token, "/contacts/1", json!({"job_title": "CEO"}))
        .await; // now the newest
    let ascending = sim.get_json(&token, "/contacts?order=last_updated").await;
    assert_eq!(ids(&ascending, "contacts"), [2, 3, 1]);
    let descending = sim
        .get_json(
            &token,
            "/contacts?order=last_updated&order_direction=descending",
        )
        .await;
    assert_eq!(ids(&descending, "contacts"), [1, 3, 2]);
    let by_default = sim.get_json(&token, "/contacts").await;
    assert_eq!(
        ids(&by_default, "contacts"),
        [1, 2, 3],
        "default order is by id"
    );
    for query in ["order=shoe_size", "order_direction=sideways"] {
        let response = sim.get(&token, &format!("/contacts?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn lists_with_a_sync_token_carry_it_beside_count() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    for path in ["/tasks", "/appointments", "/products"] {
        assert!(
            sim.get_json(&token, path).await["sync_token"].is_string(),
            "{path}"
        );
    }
    assert!(
        sim.get_json(&token, "/contacts")
            .await
            .get("sync_token")
            .is_none()
    );
}
