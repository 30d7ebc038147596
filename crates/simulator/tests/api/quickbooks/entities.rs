//! Reading and writing entities: local offsets, sync tokens, the two kinds of delete
//! (`providers.md` §4.3, §4.6).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::quickbooks::{CompanyOffset, Config, realm_id};

use super::{fault, quiet, spawn_qb};

#[tokio::test]
async fn dates_are_written_in_each_companys_own_offset_to_the_second() {
    let sim = spawn_qb(Config {
        tenants: 2,
        offsets: vec![
            CompanyOffset::parse("-08:00").unwrap(),
            CompanyOffset::parse("+05:30").unwrap(),
        ],
        ..quiet()
    })
    .await;
    let pacific = sim.sign_in(None).await;
    let india = sim.sign_in(Some(&realm_id(1))).await;
    sim.clock.advance_ms(789);
    for (company, expected, time) in [
        (
            &pacific,
            "2026-11-28T02:00:00-08:00",
            "2026-11-28T02:00:00.789-08:00",
        ),
        (
            &india,
            "2026-11-28T15:30:00+05:30",
            "2026-11-28T15:30:00.789+05:30",
        ),
    ] {
        let response = sim
            .api(
                company,
                Method::POST,
                "/customer",
                &[],
                Some(json!({"DisplayName": "Amy"})),
            )
            .await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["Customer"]["MetaData"]["CreateTime"], expected);
        assert_eq!(body["Customer"]["MetaData"]["LastUpdatedTime"], expected);
        assert_eq!(body["time"], time, "the response time has milliseconds");
        assert_eq!(body["Customer"]["Active"], true);
        assert_eq!(body["Customer"]["SyncToken"], "0");
    }
}

#[tokio::test]
async fn an_update_needs_the_current_sync_token_and_a_full_update_replaces_the_fields() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    let created = sim
        .create(
            &company,
            "vendor",
            json!({"DisplayName": "Cal Telephone", "CompanyName": "Cal Tel Inc"}),
        )
        .await;
    let id = created["Id"].as_str().unwrap();
    let write = async |body: Value| {
        sim.api(&company, Method::POST, "/vendor", &[], Some(body))
            .await
    };
    let sparse =
        write(json!({"Id": id, "SyncToken": "0", "sparse": true, "Vendor1099": true})).await;
    assert_eq!(sparse.status(), StatusCode::OK);
    let sparse: Value = sparse.json().await.unwrap();
    assert_eq!(sparse["Vendor"]["SyncToken"], "1");
    assert_eq!(
        sparse["Vendor"]["CompanyName"], "Cal Tel Inc",
        "a sparse update merges"
    );

    let stale =
        write(json!({"Id": id, "SyncToken": "0", "sparse": true, "Vendor1099": false})).await;
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fault(&stale.json::<Value>().await.unwrap()).1, "5010");

    let full = write(json!({"Id": id, "SyncToken": "1", "DisplayName": "Cal Telephone"})).await;
    let full: Value = full.json().await.unwrap();
    assert!(
        full["Vendor"].get("CompanyName").is_none(),
        "a full update replaces"
    );
    assert_eq!(full["Vendor"]["Active"], true);

    let unknown = write(json!({"DisplayName": "X", "Shoe": "red"})).await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fault(&unknown.json::<Value>().await.unwrap()).2, "Shoe");
    let missing = write(json!({"CompanyName": "No display name"})).await;
    assert_eq!(fault(&missing.json::<Value>().await.unwrap()).1, "2020");
}

#[tokio::test]
async fn transactions_are_deleted_for_good_and_list_entities_can_only_be_made_inactive() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    let payment = sim
        .create(
            &company,
            "payment",
            json!({"CustomerRef": {"value": "1"}, "TotalAmt": 55.0}),
        )
        .await;
    let id = payment["Id"].as_str().unwrap();
    let deleted = sim
        .api(
            &company,
            Method::POST,
            "/payment",
            &[("operation", "delete")],
            Some(json!({"Id": id, "SyncToken": "0"})),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let body: Value = deleted.json().await.unwrap();
    assert_eq!(
        body["Payment"],
        json!({"domain": "QBO", "status": "Deleted", "Id": id})
    );
    let gone = sim
        .api(&company, Method::GET, &format!("/payment/{id}"), &[], None)
        .await;
    assert_eq!(gone.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fault(&gone.json::<Value>().await.unwrap()).1, "610");

    let customer = sim
        .create(&company, "customer", json!({"DisplayName": "Stays"}))
        .await;
    let refused = sim
        .api(
            &company,
            Method::POST,
            "/customer",
            &[("operation", "delete")],
            Some(json!({"Id": customer["Id"], "SyncToken": "0"})),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["Fault"]["Error"][0]["Detail"]
            .as_str()
            .unwrap()
            .contains("Active")
    );
}
