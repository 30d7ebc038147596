//! Change data capture: groups, stubs, the horizon and the silent cap (`providers.md` §4.4,
//! §4.5, §4.6, §4.10), and bursts with deletes in the state export.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{cdc_group, fault, ms, pacific, quiet, spawn_qb};
use crate::helpers::T0;

const DAY_MS: i64 = 86_400_000;

fn invoice(customer: &str, amount: f64) -> Value {
    json!({
        "CustomerRef": {"value": customer},
        "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}],
    })
}

#[tokio::test]
async fn changes_come_grouped_per_entity_by_last_update_with_deleted_stubs_last() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    let customer = sim
        .create(
            &company,
            "customer",
            json!({"DisplayName": "Amy's Bird Sanctuary"}),
        )
        .await;
    let customer_id = customer["Id"].as_str().unwrap();
    sim.clock.advance_ms(1_000);
    let doomed = sim
        .create(&company, "invoice", invoice(customer_id, 50.0))
        .await;
    sim.clock.advance_ms(1_000);
    let kept = sim
        .create(&company, "invoice", invoice(customer_id, 75.0))
        .await;
    sim.clock.advance_ms(1_000);
    let deleted = sim
        .api(
            &company,
            Method::POST,
            "/invoice",
            &[("operation", "delete")],
            Some(json!({"Id": doomed["Id"], "SyncToken": "0"})),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    sim.clock.advance_ms(1_000);
    // An edit of the first invoice's sibling after the delete: still before the stub.
    let edited = sim
        .api(
            &company,
            Method::POST,
            "/invoice",
            &[],
            Some(json!({"Id": kept["Id"], "SyncToken": "0", "sparse": true, "EmailStatus": "EmailSent"})),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);

    let response = sim.cdc(&company, "invoice,Customer", &pacific(0)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let groups = body["CDCResponse"][0]["QueryResponse"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert!(groups[0].get("Invoice").is_some(), "in the order asked");
    assert_eq!(groups[0]["startPosition"], 1);
    assert_eq!(groups[0]["maxResults"], 2);
    let invoices = cdc_group(&body, "Invoice");
    assert_eq!(invoices[0]["Id"], kept["Id"]);
    assert_eq!(invoices[0]["TotalAmt"], 75.0);
    assert_eq!(
        invoices[1],
        json!({"domain": "QBO", "status": "Deleted", "Id": doomed["Id"],
               "MetaData": {"LastUpdatedTime": pacific(3)}}),
        "the stub comes last, with nothing but its id and time"
    );
    assert_eq!(cdc_group(&body, "Customer").len(), 1);
    assert!(body["time"].as_str().unwrap().ends_with("-08:00"));

    let later = sim.cdc(&company, "Customer", &pacific(1)).await;
    let later: Value = later.json().await.unwrap();
    assert_eq!(
        later["CDCResponse"],
        json!([{"QueryResponse": [{}]}]),
        "nothing changed"
    );
}

#[tokio::test]
async fn changed_since_more_than_30_days_back_is_a_fault() {
    let sim = spawn_qb(quiet()).await;
    sim.clock.advance_ms(31 * DAY_MS);
    let company = sim.sign_in(None).await;
    let too_old = sim.cdc(&company, "Customer", &pacific(0)).await;
    assert_eq!(too_old.status(), StatusCode::BAD_REQUEST);
    let body: Value = too_old.json().await.unwrap();
    assert_eq!(
        fault(&body),
        (
            "ValidationFault".into(),
            "2010".into(),
            "changedSince".into()
        )
    );
    assert!(
        body["Fault"]["Error"][0]["Detail"]
            .as_str()
            .unwrap()
            .contains("older than fixed days")
    );
    let within = sim
        .cdc(
            &company,
            "Customer",
            &pacific((31 * DAY_MS - 30 * DAY_MS) / 1_000),
        )
        .await;
    assert_eq!(
        within.status(),
        StatusCode::OK,
        "exactly 30 days back is allowed"
    );
    for (entities, since) in [
        ("Customer,Spaceship", pacific(0)),
        ("Customer", "soon".into()),
    ] {
        let response = sim.cdc(&company, entities, &since).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{entities} {since}"
        );
    }
}

#[tokio::test]
async fn twenty_five_hundred_changes_are_cut_to_one_thousand_silently_and_narrower_windows_read_each_once()
 {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    for _ in 0..10 {
        sim.control(
            Method::POST,
            "/records",
            Some(json!({"resource": "Customer", "count": 250})),
        )
        .await;
        sim.clock.advance_ms(1_000);
    }

    let all: Value = sim
        .cdc(&company, "Customer", &pacific(0))
        .await
        .json()
        .await
        .unwrap();
    let group = &all["CDCResponse"][0]["QueryResponse"][0];
    assert_eq!(
        group["Customer"].as_array().unwrap().len(),
        1_000,
        "cut to 1,000"
    );
    assert_eq!(group["maxResults"], 1_000);
    assert!(group.get("totalCount").is_none(), "and nothing says so");

    // The client: a full answer may be cut, so keep what is older than its last second and
    // ask again from that second (changedSince is inclusive).
    let mut seen = HashSet::new();
    let mut repeats = 0;
    let mut since_s = 0;
    let mut calls = 0;
    loop {
        let body: Value = sim
            .cdc(&company, "Customer", &pacific(since_s))
            .await
            .json()
            .await
            .unwrap();
        calls += 1;
        let objects = cdc_group(&body, "Customer");
        let full = objects.len() == 1_000;
        let last_ms = objects
            .iter()
            .map(|object| ms(&object["MetaData"]["LastUpdatedTime"]))
            .max()
            .unwrap_or(T0);
        for object in &objects {
            if full && ms(&object["MetaData"]["LastUpdatedTime"]) == last_ms {
                continue; // read again from that second on the next call
            }
            if !seen.insert(object["Id"].as_str().unwrap().to_owned()) {
                repeats += 1;
            }
        }
        if !full {
            break;
        }
        since_s = (last_ms - T0) / 1_000;
    }
    assert_eq!(seen.len(), 2_500, "every change read");
    assert_eq!(repeats, 0, "none twice");
    assert_eq!(calls, 4);
}

#[tokio::test]
async fn a_burst_with_deletes_deletes_transactions_and_deactivates_list_entities() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    for resource in ["Customer", "Invoice"] {
        sim.control(
            Method::POST,
            "/records",
            Some(json!({"resource": resource, "count": 4})),
        )
        .await;
    }
    sim.clock.advance_ms(5_000);
    let burst = sim
        .control(
            Method::POST,
            "/activity/burst",
            Some(json!({"changes": 0, "deletes": 6, "resources": ["Customer", "Invoice"]})),
        )
        .await;
    assert_eq!(burst["deletes"], 6);

    let state = sim.control(Method::GET, "/state", None).await;
    let resources = &state["tenants"][0]["resources"];
    let customers = &resources["Customer"];
    let invoices = &resources["Invoice"];
    let deactivated = customers["deleted"].as_array().unwrap();
    let deleted = invoices["deleted"].as_array().unwrap();
    assert_eq!(deactivated.len() + deleted.len(), 6);
    assert_eq!(
        customers["records"].as_array().unwrap().len(),
        4,
        "deactivated, not gone"
    );
    assert_eq!(
        invoices["records"].as_array().unwrap().len() + deleted.len(),
        4
    );
    for entry in deactivated {
        assert_eq!(entry["kind"], "deactivated");
        assert_eq!(entry["deleted_ms"], T0 + 5_000);
        assert_eq!(entry["LastUpdatedTime"], pacific(5));
    }
    for entry in deleted {
        assert_eq!(entry["kind"], "deleted");
        assert_eq!(entry["LastUpdatedTime"], pacific(5));
    }

    let body: Value = sim
        .cdc(&company, "Customer,Invoice", &pacific(5))
        .await
        .json()
        .await
        .unwrap();
    let changed_customers = cdc_group(&body, "Customer");
    assert_eq!(changed_customers.len(), deactivated.len());
    assert!(changed_customers.iter().all(|c| c["Active"] == false));
    let stubs = cdc_group(&body, "Invoice");
    assert_eq!(stubs.len(), deleted.len());
    assert!(stubs.iter().all(|s| s["status"] == "Deleted"));
}
