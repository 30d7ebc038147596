//! Record shapes, date formats, writes, and the gateway's HTML pages.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tributary_simulator::Config;

use crate::helpers::{T0, spawn_empty, spawn_sim};

#[tokio::test]
async fn contacts_show_dates_rounded_to_the_second_with_plus_0000_and_true_millis_beside() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    sim.clock.set_ms(T0 + 13_217); // the capture: …13.217 shows as …13.000
    let written = sim
        .create_contact(&token, "Erica", "erica@example.com")
        .await;
    // Write responses show the true milliseconds, as the real PATCH response does.
    assert_eq!(written["last_updated"], "2026-11-28T10:00:13.217+0000");
    let id = written["id"].as_i64().unwrap();

    let read = sim.get_json(&token, &format!("/contacts/{id}")).await;
    assert_eq!(read["date_created"], "2026-11-28T10:00:13.000+0000");
    assert_eq!(read["last_updated"], "2026-11-28T10:00:13.000+0000");
    assert_eq!(read["last_updated_utc_millis"], T0 + 13_217);

    sim.clock.set_ms(T0 + 20_544); // …20.544 → …21.000 (half up)
    let patched = sim
        .patch(
            &token,
            &format!("/contacts/{id}"),
            json!({"job_title": "CTO"}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let read = sim.get_json(&token, &format!("/contacts/{id}")).await;
    assert_eq!(read["last_updated"], "2026-11-28T10:00:21.000+0000");
    assert_eq!(read["date_created"], "2026-11-28T10:00:13.000+0000");
    assert_eq!(read["job_title"], "CTO");
    assert_eq!(
        read["given_name"], "Erica",
        "a patch keeps the other fields"
    );
}

#[tokio::test]
async fn tasks_orders_and_appointments_write_millis_with_a_literal_z() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    sim.clock.set_ms(T0 + 217);
    let bodies = [
        ("/tasks", json!({"title": "Call"})),
        ("/orders", json!({"contact_id": 1})),
        (
            "/appointments",
            json!({"title": "Demo", "start_date": "2026-12-01T09:00:00.000Z",
                                 "end_date": "2026-12-01T10:00:00.000Z"}),
        ),
    ];
    for (path, body) in bodies {
        let response = sim.post(&token, path, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{path}");
        let list = sim.get_json(&token, path).await;
        let record = &list[&path[1..]][0];
        assert_eq!(
            record["creation_date"], "2026-11-28T10:00:00.217Z",
            "{path}"
        );
        assert_eq!(
            record["modification_date"], "2026-11-28T10:00:00.217Z",
            "{path}"
        );
    }
}

#[tokio::test]
async fn transactions_have_only_transaction_date_and_companies_and_products_no_dates() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    sim.post(&token, "/transactions", json!({"amount": 10.0}))
        .await;
    sim.post(&token, "/companies", json!({"company_name": "Acme"}))
        .await;
    sim.post(&token, "/products", json!({"product_name": "Plan"}))
        .await;
    let transaction = &sim.get_json(&token, "/transactions").await["transactions"][0];
    assert_eq!(
        transaction["transaction_date"],
        "2026-11-28T10:00:00.000+0000"
    );
    assert!(transaction.get("modification_date").is_none());
    for (path, key) in [("/companies", "companies"), ("/products", "products")] {
        let record = sim.get_json(&token, path).await[key][0].clone();
        for field in [
            "date_created",
            "last_updated",
            "creation_date",
            "modification_date",
        ] {
            assert!(record.get(field).is_none(), "{path} has {field}");
        }
    }
}

#[tokio::test]
async fn seeded_records_carry_the_real_field_names_of_each_resource() {
    let sim = spawn_sim(Config::default()).await;
    let token = sim.access_token().await;
    let expectations: [(&str, &[&str]); 9] = [
        (
            "contacts",
            &[
                "given_name",
                "family_name",
                "email_addresses",
                "date_created",
                "last_updated",
                "last_updated_utc_millis",
            ],
        ),
        ("companies", &["company_name", "email_address", "address"]),
        (
            "opportunities",
            &[
                "opportunity_title",
                "stage",
                "contact",
                "date_created",
                "last_updated",
            ],
        ),
        (
            "tasks",
            &[
                "title",
                "due_date",
                "completed",
                "creation_date",
                "modification_date",
            ],
        ),
        (
            "notes",
            &[
                "title",
                "body",
                "contact_id",
                "date_created",
                "last_updated",
            ],
        ),
        (
            "appointments",
            &[
                "title",
                "start_date",
                "end_date",
                "creation_date",
                "modification_date",
            ],
        ),
        (
            "orders",
            &[
                "title",
                "status",
                "order_items",
                "creation_date",
                "modification_date",
            ],
        ),
        ("products", &["product_name", "sku", "product_price"]),
        ("transactions", &["amount", "currency", "transaction_date"]),
    ];
    let mut total = 0;
    for (resource, fields) in expectations {
        let page = sim.get_json(&token, &format!("/{resource}")).await;
        let records = page[resource].as_array().unwrap();
        assert!(!records.is_empty(), "{resource} is seeded");
        total += records.len();
        for field in fields {
            assert!(records[0].get(*field).is_some(), "{resource} lacks {field}");
        }
        assert!(records[0]["id"].is_i64(), "{resource} ids are integers");
    }
    assert_eq!(total, 75, "the default seed is 75 records");
}

#[tokio::test]
async fn creating_a_contact_without_email_or_phone_gets_the_real_validation_message() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let response = sim
        .post(&token, "/contacts", json!({"given_name": "Nobody"}))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Contact must contain an e-mail address or phone number"})
    );
    let phone_only = sim
        .post(
            &token,
            "/contacts",
            json!({"phone_numbers": [{"number": "555-0100", "field": "PHONE1"}]}),
        )
        .await;
    assert_eq!(phone_only.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn malformed_or_non_object_bodies_get_a_400_message_and_store_nothing() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let broken = sim
        .http
        .post(format!("{}/crm/rest/v1/contacts", sim.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"given_name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert!(
        broken.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let array = sim.post(&token, "/contacts", json!([1, 2])).await;
    assert_eq!(array.status(), StatusCode::BAD_REQUEST);
    let patch = sim.patch(&token, "/contacts/1", json!("text")).await;
    assert_eq!(patch.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.get_json(&token, "/contacts").await["count"], 0);
    let missing_title = sim
        .post(&token, "/tasks", json!({"description": "no title"}))
        .await;
    assert_eq!(missing_title.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn ids_and_dates_in_a_write_body_are_ignored() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let created = sim
        .post(
            &token,
            "/contacts",
            json!({"id": 999, "last_updated": "2001-01-01T00:00:00.000+0000",
              "email_addresses": [{"email": "x@example.com", "field": "EMAIL1"}]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(created["id"], 1);
    assert_eq!(created["last_updated"], "2026-11-28T10:00:00.000+0000");
}

#[tokio::test]
async fn missing_records_get_the_real_404_message_and_deletes_answer_204() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let missing = sim.get(&token, "/contacts/12345").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"message": "Unable to find this Contact"})
    );
    let missing = sim.get(&token, "/opportunities/5").await;
    assert_eq!(
        missing.json::<Value>().await.unwrap()["message"],
        "Unable to find this Opportunity"
    );

    sim.create_contact(&token, "Gone", "gone@example.com").await;
    let delete = sim
        .http
        .delete(format!("{}/crm/rest/v1/contacts/1", sim.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sim.get(&token, "/contacts/1").await.status(),
        StatusCode::NOT_FOUND
    );
    let again = sim
        .http
        .delete(format!("{}/crm/rest/v1/contacts/1", sim.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let patch = sim
        .patch(&token, "/contacts/1", json!({"job_title": "x"}))
        .await;
    assert_eq!(patch.status(), StatusCode::NOT_FOUND);
    let bad_id = sim.get(&token, "/contacts/abc").await;
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_urls_get_the_gateways_html_404() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    for path in [
        "/crm/rest/v1/widgets",
        "/crm/rest/v2/contacts",
        "/nothing/here",
    ] {
        let response = sim
            .http
            .get(format!("{}{path}", sim.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>Keap - Page Not Found</title>")
        );
    }
}

#[tokio::test]
async fn a_get_with_a_body_gets_the_front_ends_html_400() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let response = sim
        .http
        .get(format!("{}/crm/rest/v1/contacts", sim.url))
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Your client has issued a malformed or illegal request."),
        "{page}"
    );
}
