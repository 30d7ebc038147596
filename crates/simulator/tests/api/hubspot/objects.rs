//! Records, the list, writes and archives (`providers.md` §3.1, §3.3, §3.5, §3.6, §3.8).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{ids, ms, quiet, spawn_hs};
use crate::helpers::T0;

#[tokio::test]
async fn records_have_string_properties_and_iso_times_in_the_v3_and_dated_paths() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    let created = sim
        .create(
            &token,
            "deals",
            json!({"dealname": "Big one", "amount": 1500, "dealstage": "qualifiedtobuy"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["properties"]["amount"], "1500",
        "numbers become strings"
    );

    for path in [
        format!("/crm/v3/objects/deals/{id}?properties=amount,dealname"),
        format!("/crm/objects/2026-03/deals/{id}?properties=amount,dealname"),
        format!("/crm/v3/objects/0-3/{id}?properties=amount&properties=dealname"),
    ] {
        let record = sim.get_json(&token, &path).await;
        assert_eq!(
            record,
            json!({
                "id": id,
                "properties": {
                    "amount": "1500",
                    "dealname": "Big one",
                    "createdate": "2026-11-28T10:00:00.000Z",
                    "hs_lastmodifieddate": "2026-11-28T10:00:00.000Z",
                    "hs_object_id": id,
                },
                "createdAt": "2026-11-28T10:00:00.000Z",
                "updatedAt": "2026-11-28T10:00:00.000Z",
                "archived": false,
            }),
            "{path}"
        );
    }
    let contact = sim
        .create(&token, "contacts", json!({"email": "a@example.com"}))
        .await;
    assert!(contact["properties"]["lastmodifieddate"].is_string());
    assert!(
        contact["properties"].get("hs_lastmodifieddate").is_none(),
        "contacts use lastmodifieddate"
    );
}

#[tokio::test]
async fn an_update_moves_the_modified_time_to_the_millisecond() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    let created = sim
        .create(&token, "tickets", json!({"subject": "Help"}))
        .await;
    let id = created["id"].as_str().unwrap();
    sim.clock.advance_ms(1_234);
    let response = sim
        .call(
            Method::PATCH,
            &token,
            &format!("/crm/v3/objects/tickets/{id}"),
            Some(json!({"properties": {"hs_ticket_priority": "HIGH"}})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["updatedAt"], "2026-11-28T10:00:01.234Z");
    assert_eq!(
        updated["properties"]["hs_lastmodifieddate"],
        "2026-11-28T10:00:01.234Z"
    );
    assert_eq!(updated["properties"]["hs_ticket_priority"], "HIGH");
}

#[tokio::test]
async fn the_list_pages_with_an_opaque_cursor_and_drops_paging_on_the_last_page() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    for n in 0..25 {
        sim.create(&token, "companies", json!({"name": format!("Co {n}")}))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = "/crm/v3/objects/companies?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let page = sim.get_json(&token, &path).await;
        pages += 1;
        seen.extend(ids(&page));
        match page["paging"]["next"]["after"].as_str() {
            Some(after) => {
                assert!(after.parse::<i64>().is_err(), "opaque: {after}");
                assert!(page["paging"]["next"]["link"].is_string());
                path = format!("/crm/v3/objects/companies?limit=10&after={after}");
            }
            None => {
                assert!(page.get("paging").is_none(), "no paging on the last page");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1..=25).map(|id| id.to_string()).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn an_archive_leaves_the_modified_time_and_shows_only_with_archived_true() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    let kept = sim
        .create(&token, "contacts", json!({"firstname": "Kept"}))
        .await;
    let gone = sim
        .create(&token, "contacts", json!({"firstname": "Gone"}))
        .await;
    let gone_id = gone["id"].as_str().unwrap();
    sim.clock.advance_ms(60_000);
    let deleted = sim
        .call(
            Method::DELETE,
            &token,
            &format!("/crm/v3/objects/contacts/{gone_id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let live = sim.get_json(&token, "/crm/v3/objects/contacts").await;
    assert_eq!(ids(&live), [kept["id"].as_str().unwrap()]);
    let archived = sim
        .get_json(&token, "/crm/v3/objects/contacts?archived=true")
        .await;
    assert_eq!(ids(&archived), [gone_id]);
    let record = &archived["results"][0];
    assert_eq!(record["archived"], true);
    assert_eq!(record["archivedAt"], "2026-11-28T10:01:00.000Z");
    assert_eq!(
        record["updatedAt"], "2026-11-28T10:00:00.000Z",
        "archiving does not touch the modified time (§3.6)"
    );

    let path = format!("/crm/v3/objects/contacts/{gone_id}");
    let missing = sim.call(Method::GET, &token, &path, None).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["category"],
        "OBJECT_NOT_FOUND"
    );
    let found = sim.get_json(&token, &format!("{path}?archived=true")).await;
    assert_eq!(found["archived"], true);
}

#[tokio::test]
async fn a_bad_write_names_each_property_in_the_error_shape() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    let response = sim
        .call(
            Method::POST,
            &token,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"favourite_colour": "blue", "createdate": "1"}})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["category"], "VALIDATION_ERROR");
    assert!(body["correlationId"].as_str().unwrap().len() == 36);
    let mut codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, ["PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"]);
}

#[tokio::test]
async fn a_burst_with_deletes_archives_records_and_the_state_export_reports_them() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "deals", "count": 5})),
    )
    .await;
    sim.clock.advance_ms(5_000);
    let burst = sim
        .control(
            Method::POST,
            "/activity/burst",
            Some(json!({"changes": 0, "deletes": 2, "resources": ["deals"]})),
        )
        .await;
    assert_eq!(burst["deletes"], 2);

    let state = sim.control(Method::GET, "/state", None).await;
    let deals = &state["tenants"][0]["resources"]["deals"];
    assert_eq!(deals["records"].as_array().unwrap().len(), 3);
    let deleted = deals["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), 2);
    for deletion in deleted {
        assert_eq!(deletion["deleted_ms"], T0 + 5_000);
        assert_eq!(deletion["kind"], "archived");
        assert_eq!(deletion["archivedAt"], "2026-11-28T10:00:05.000Z");
        assert_eq!(ms(&deletion["updatedAt"]), T0);
    }
    let archived = sim
        .get_json(&token, "/crm/v3/objects/deals?archived=true")
        .await;
    let mut listed = ids(&archived);
    let mut exported: Vec<String> = deleted.iter().map(|d| d["id"].to_string()).collect();
    listed.sort();
    exported.sort();
    assert_eq!(listed, exported);
}
