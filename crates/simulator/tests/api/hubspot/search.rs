//! Search: filters, the sort, paging, the 10,000 cap and the index lag (`providers.md` §3.4,
//! §3.5, §3.6, §3.10).

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::hubspot::Config;

use super::{HsSim, ids, ms, quiet, spawn_hs};
use crate::helpers::T0;

/// No index lag and no search limit, for tests about something else.
fn instant() -> Config {
    Config {
        index_lag_secs: 0,
        search_per_second: 1_000,
        ..quiet()
    }
}

fn modified_since(property: &str, since_ms: i64) -> Value {
    json!({
        "filterGroups": [{"filters": [
            {"propertyName": property, "operator": "GTE", "value": since_ms.to_string()}
        ]}],
        "sorts": [{"propertyName": property, "direction": "ASCENDING"}],
        "limit": 200,
    })
}

#[tokio::test]
async fn filters_compare_epoch_millisecond_strings_and_one_sort_orders_the_results() {
    let sim = spawn_hs(instant()).await;
    let token = sim.access_token().await;
    let mut created = Vec::new();
    for n in 0..4 {
        let record = sim
            .create(&token, "contacts", json!({"firstname": format!("C{n}")}))
            .await;
        created.push(record["id"].as_str().unwrap().to_owned());
        sim.clock.advance_ms(1_000);
    }
    let at = |n: i64| (T0 + n * 1_000).to_string();
    let search = |filters: Value, direction: &str| {
        json!({
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": direction}],
        })
    };
    let cases = [
        (
            json!([{"propertyName": "lastmodifieddate", "operator": "GT", "value": at(1)}]),
            vec![2, 3],
        ),
        (
            json!([{"propertyName": "lastmodifieddate", "operator": "GTE", "value": at(1)}]),
            vec![1, 2, 3],
        ),
        (
            json!([{"propertyName": "lastmodifieddate", "operator": "LT", "value": at(1)}]),
            vec![0],
        ),
        (
            json!([{"propertyName": "lastmodifieddate", "operator": "LTE", "value": at(1)}]),
            vec![0, 1],
        ),
        (
            json!([{"propertyName": "lastmodifieddate", "operator": "EQ", "value": at(2)}]),
            vec![2],
        ),
        (
            json!([{"propertyName": "lastmodifieddate", "operator": "NEQ", "value": at(2)}]),
            vec![0, 1, 3],
        ),
        (
            json!([{"propertyName": "lastmodifieddate", "operator": "BETWEEN",
                    "value": at(1), "highValue": at(2)}]),
            vec![1, 2],
        ),
        (
            json!([{"propertyName": "hs_object_id", "operator": "IN",
                    "values": [created[0].clone(), created[3].clone()]}]),
            vec![0, 3],
        ),
        (
            json!([{"propertyName": "hs_object_id", "operator": "GT", "value": created[1]},
                   {"propertyName": "lastmodifieddate", "operator": "LT", "value": at(3)}]),
            vec![2],
        ),
    ];
    for (filters, expected) in cases {
        let page = sim
            .search_json(&token, "contacts", search(filters.clone(), "ASCENDING"))
            .await;
        let expected_ids: Vec<String> = expected.iter().map(|n| created[*n].clone()).collect();
        assert_eq!(ids(&page), expected_ids, "{filters}");
        assert_eq!(page["total"], expected.len());
    }
    let descending = sim
        .search_json(&token, "contacts", search(json!([]), "DESCENDING"))
        .await;
    let mut reversed = created.clone();
    reversed.reverse();
    assert_eq!(ids(&descending), reversed);
}

#[tokio::test]
async fn contacts_change_on_lastmodifieddate_and_filtering_them_on_hs_lastmodifieddate_finds_nothing()
 {
    let sim = spawn_hs(instant()).await;
    let token = sim.access_token().await;
    sim.create(&token, "contacts", json!({"firstname": "Ann"}))
        .await;
    sim.create(&token, "companies", json!({"name": "Acme"}))
        .await;
    let contacts = sim
        .search_json(&token, "contacts", modified_since("lastmodifieddate", T0))
        .await;
    assert_eq!(contacts["total"], 1);
    let companies = sim
        .search_json(
            &token,
            "companies",
            modified_since("hs_lastmodifieddate", T0),
        )
        .await;
    assert_eq!(companies["total"], 1);
    let silent = sim
        .search_json(
            &token,
            "contacts",
            modified_since("hs_lastmodifieddate", T0),
        )
        .await;
    assert_eq!(silent["total"], 0, "no error, no results (§3.3)");
}

#[tokio::test]
async fn a_record_becomes_searchable_only_after_the_index_lag() {
    let sim = spawn_hs(quiet()).await; // the default lag, 10 s (§3.10)
    let token = sim.access_token().await;
    let created = sim
        .create(&token, "deals", json!({"dealname": "Fresh"}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let found = async || {
        ids(&sim
            .search_json(&token, "deals", modified_since("hs_lastmodifieddate", T0))
            .await)
    };
    assert!(found().await.is_empty(), "just written");
    sim.clock.advance_ms(9_999);
    assert!(found().await.is_empty());
    sim.clock.advance_ms(1);
    assert_eq!(found().await, std::slice::from_ref(&id));

    let updated = sim
        .call(
            Method::PATCH,
            &token,
            &format!("/crm/v3/objects/deals/{id}"),
            Some(json!({"properties": {"dealstage": "closedwon"}})),
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    assert!(found().await.is_empty(), "re-indexing after the update");
    sim.clock.advance_ms(10_000);
    assert_eq!(found().await, [id]);
}

#[tokio::test]
async fn archived_records_are_never_found_by_search_but_are_listed_with_archived_true() {
    let sim = spawn_hs(instant()).await;
    let token = sim.access_token().await;
    let gone = sim
        .create(&token, "tickets", json!({"subject": "Gone"}))
        .await;
    let gone_id = gone["id"].as_str().unwrap();
    sim.create(&token, "tickets", json!({"subject": "Kept"}))
        .await;
    let archived = sim
        .call(
            Method::DELETE,
            &token,
            &format!("/crm/v3/objects/tickets/{gone_id}"),
            None,
        )
        .await;
    assert_eq!(archived.status(), StatusCode::NO_CONTENT);
    let page = sim
        .search_json(&token, "tickets", modified_since("hs_lastmodifieddate", 0))
        .await;
    assert_eq!(page["total"], 1);
    assert!(!ids(&page).contains(&gone_id.to_owned()));
    let listed = sim
        .get_json(&token, "/crm/v3/objects/tickets?archived=true")
        .await;
    assert_eq!(ids(&listed), [gone_id]);
}

#[tokio::test]
async fn pages_follow_an_opaque_after_clamp_limit_to_200_and_drop_paging_at_the_end() {
    let sim = spawn_hs(instant()).await;
    let token = sim.access_token().await;
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "companies", "count": 450})),
    )
    .await;
    let mut body = json!({"limit": 1000});
    let mut pages = Vec::new();
    loop {
        let page = sim.search_json(&token, "companies", body.clone()).await;
        assert_eq!(page["total"], 450);
        pages.push(page["results"].as_array().unwrap().len());
        match page["paging"]["next"]["after"].as_str() {
            Some(after) => body["after"] = after.into(),
            None => {
                assert!(page.get("paging").is_none());
                break;
            }
        }
    }
    assert_eq!(pages, [200, 200, 50], "limit 1000 is clamped to 200");
}

#[tokio::test]
async fn bad_search_bodies_are_400_naming_what_is_wrong() {
    let sim = spawn_hs(instant()).await;
    let token = sim.access_token().await;
    for (body, says) in [
        (json!({"sorts": ["lastmodifieddate"]}), "propertyName"),
        (
            json!({"filterGroups": [{"filters": [
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "last tuesday"}]}]}),
            "lastmodifieddate",
        ),
        (json!({"after": "soon"}), "after"),
    ] {
        let response = sim.search(&token, "contacts", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["category"], "VALIDATION_ERROR");
        assert!(error["message"].as_str().unwrap().contains(says), "{error}");
    }
}

/// One search page of the restartable client below: the records modified at or after
/// `since`, or — once it has read some — after `last` (modified time, id), sorted by the
/// modified time (ties by id).
async fn page_after(
    sim: &HsSim,
    token: &str,
    since: i64,
    last: Option<(i64, i64)>,
    after: usize,
) -> reqwest::Response {
    let groups = match last {
        None => json!([{"filters": [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": since.to_string()}
        ]}]),
        Some((time, id)) => json!([
            {"filters": [
                {"propertyName": "lastmodifieddate", "operator": "GT", "value": time.to_string()}
            ]},
            {"filters": [
                {"propertyName": "lastmodifieddate", "operator": "EQ", "value": time.to_string()},
                {"propertyName": "hs_object_id", "operator": "GT", "value": id.to_string()}
            ]}
        ]),
    };
    sim.search(
        token,
        "contacts",
        json!({
            "filterGroups": groups,
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": 200,
            "after": after.to_string(),
        }),
    )
    .await
}

#[tokio::test]
async fn twelve_thousand_records_sharing_one_modified_time_are_read_once_by_restarting_with_an_id_tie_breaker()
 {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "contacts", "count": 12_000})),
    )
    .await;
    sim.clock.advance_ms(1_000);
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "contacts", "count": 5})),
    )
    .await;
    sim.clock.advance_ms(10_000); // past the index lag

    // A client that only follows `after` meets the cap (§3.5).
    let capped = page_after(&sim, &token, T0, None, 10_000).await;
    assert_eq!(capped.status(), StatusCode::BAD_REQUEST);
    let error: Value = capped.json().await.unwrap();
    assert_eq!(error["message"], "There was a problem with the request.");

    // The restarting client: page until the next page would reach the cap, then search again
    // from the last record read, (modified time, id).
    let mut seen = HashSet::new();
    let mut repeats = 0;
    let mut last: Option<(i64, i64)> = None;
    let mut searches = 0;
    'windows: loop {
        let from = last;
        let mut after = 0;
        loop {
            // Five searches a second at most: the client paces itself (§3.7).
            sim.clock.advance_ms(200);
            let response = page_after(&sim, &token, T0, from, after).await;
            assert_eq!(response.status(), StatusCode::OK, "search {searches}");
            searches += 1;
            let page: Value = response.json().await.unwrap();
            for record in page["results"].as_array().unwrap() {
                let id: i64 = record["id"].as_str().unwrap().parse().unwrap();
                if !seen.insert(id) {
                    repeats += 1;
                }
                last = Some((ms(&record["properties"]["lastmodifieddate"]), id));
            }
            match page["paging"]["next"]["after"].as_str() {
                None => break 'windows,
                Some(next) => after = next.parse().unwrap(),
            }
            if after + 200 > 10_000 {
                continue 'windows;
            }
        }
    }
    assert_eq!(seen.len(), 12_005, "every record read");
    assert_eq!(repeats, 0, "none read twice");
    assert_eq!(searches, 61, "50 pages, a restart, 11 more");
}
