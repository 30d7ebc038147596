//! `sobjects/{X}` and `sobjects/{X}/{id}`, and the error arrays (`providers.md` §2.3, §2.8).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::salesforce::Config;

use super::{V, error_code, quiet, spawn_sf};

#[tokio::test]
async fn records_are_created_read_updated_and_deleted_through_sobjects() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    let created = sim
        .call(
            Method::POST,
            &token,
            "/sobjects/Opportunity",
            Some(json!({"Name": "Big deal", "StageName": "Prospecting",
                        "CloseDate": "2026-12-31", "Amount": 5000})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body, json!({"id": id, "success": true, "errors": []}));
    assert!(id.starts_with("006") && id.len() == 18, "{id}");

    let path = format!("/sobjects/Opportunity/{id}");
    let record: Value = sim.get(&token, &path).await.json().await.unwrap();
    assert_eq!(record["attributes"]["type"], "Opportunity");
    assert_eq!(record["attributes"]["url"], format!("{V}{path}"));
    assert_eq!(record["Name"], "Big deal");
    assert_eq!(record["IsClosed"], false);
    assert_eq!(record["IsDeleted"], false);
    assert_eq!(record["CreatedDate"], "2026-11-28T10:00:00.000+0000");
    let some: Value = sim
        .get(&token, &format!("{path}?fields=Amount,StageName"))
        .await
        .json()
        .await
        .unwrap();
    let mut keys: Vec<&str> = some
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Amount", "StageName", "attributes"]);

    sim.clock.advance_ms(3_000);
    let patched = sim
        .call(
            Method::PATCH,
            &token,
            &path,
            Some(json!({"StageName": "Closed Won"})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::NO_CONTENT);
    let record: Value = sim.get(&token, &path).await.json().await.unwrap();
    assert_eq!(record["IsWon"], true);
    assert_eq!(record["SystemModstamp"], "2026-11-28T10:00:03.000+0000");
    assert_eq!(record["LastModifiedDate"], "2026-11-28T10:00:03.000+0000");
    assert_eq!(record["CreatedDate"], "2026-11-28T10:00:00.000+0000");

    let deleted = sim.call(Method::DELETE, &token, &path, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for response in [
        sim.get(&token, &path).await,
        sim.call(Method::DELETE, &token, &path, None).await,
    ] {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            error_code(&response.json().await.unwrap()),
            "ENTITY_IS_DELETED"
        );
    }
}

#[tokio::test]
async fn unknown_records_and_urls_get_404_not_found_as_a_json_array() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    for path in [
        "/sobjects/Account/001D00000000009AAA",
        "/sobjects/Account/not-an-id",
        "/sobjects/Widget/001D00000000009AAA",
        "/nothing/here",
    ] {
        let response = sim.get(&token, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!([{"errorCode": "NOT_FOUND",
                    "message": "The requested resource does not exist"}]),
            "{path}"
        );
    }
    let bad_version = sim
        .http
        .get(format!(
            "{}/services/data/latest/query?q=SELECT+Id+FROM+Account",
            sim.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_version.status(), StatusCode::NOT_FOUND);
    let wrong_method = sim
        .call(
            Method::PUT,
            &token,
            "/sobjects/Account/001D00000000009AAA",
            Some(json!({})),
        )
        .await;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        error_code(&wrong_method.json().await.unwrap()),
        "METHOD_NOT_ALLOWED"
    );
}

#[tokio::test]
async fn bad_writes_get_an_error_array_naming_the_field_and_store_nothing() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    for (object, body, code) in [
        (
            "Lead",
            json!({"LastName": "Levy"}),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            "Account",
            json!({"Name": "A", "Colour": "red"}),
            "INVALID_FIELD",
        ),
        (
            "Account",
            json!({"Name": "A", "Id": "001D00000000001AAA"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            "Account",
            json!({"Name": "A", "NumberOfEmployees": "many"}),
            "JSON_PARSER_ERROR",
        ),
        (
            "Account",
            json!(["not", "an", "object"]),
            "JSON_PARSER_ERROR",
        ),
    ] {
        let response = sim
            .call(
                Method::POST,
                &token,
                &format!("/sobjects/{object}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let errors: Value = response.json().await.unwrap();
        assert_eq!(error_code(&errors), code, "{body}: {errors}");
    }
    let missing: Value = sim
        .call(
            Method::POST,
            &token,
            "/sobjects/Lead",
            Some(json!({"LastName": "Levy"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(missing[0]["fields"], json!(["Company"]));
    assert_eq!(
        sim.query_json(&token, "SELECT Id FROM Account").await["totalSize"],
        0
    );
}

#[tokio::test]
async fn seeded_orgs_hold_realistic_records_of_all_five_objects() {
    let sim = spawn_sf(Config {
        seed: 60,
        ..quiet()
    })
    .await;
    let token = sim.access_token().await;
    let mut total = 0;
    for object in ["Account", "Contact", "Lead", "Opportunity", "Case"] {
        let page = sim
            .query_json(
                &token,
                &format!("SELECT Id, OwnerId, CreatedDate FROM {object}"),
            )
            .await;
        let size = page["totalSize"].as_u64().unwrap();
        assert!(size > 0, "{object}");
        total += size;
        let first = &page["records"][0];
        assert!(first["OwnerId"].as_str().unwrap().starts_with("005"));
        assert!(
            first["CreatedDate"]
                .as_str()
                .unwrap()
                .ends_with(".000+0000")
        );
    }
    assert_eq!(total, 60);
    let contacts = sim
        .query_json(&token, "SELECT Id, AccountId, Email FROM Contact")
        .await;
    assert!(
        contacts["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["AccountId"]
                .as_str()
                .is_some_and(|id| id.starts_with("001"))),
        "contacts belong to accounts"
    );
}
