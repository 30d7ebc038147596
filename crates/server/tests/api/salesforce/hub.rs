//! The hub over Salesforce: CEQL becomes a SOQL `WHERE` (the safe subset; every literal
//! escaped, so a value never becomes query text), `pageSize` the batch size, `nextPage` the
//! locator, and `/{id}` one record with the same fields.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{SfApp, quiet, spawn_sf};
use crate::helpers::USER_SECRET;

async fn hub(app: &SfApp, token: &str, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .get(format!("{}/hubs/crm{path}", app.api))
        .query(query)
        .header(
            "Authorization",
            format!("User {USER_SECRET}, Element {token}"),
        )
        .send()
        .await
        .unwrap()
}

/// The SOQL of the simulator's last query request.
async fn last_soql(app: &SfApp) -> String {
    let log = app.requests().await;
    let query = log
        .iter()
        .rev()
        .find(|r| r["path"].as_str().unwrap_or_default().ends_with("/query"))
        .expect("a query request");
    let text = query["query"].as_str().unwrap_or_default();
    let params: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap();
    params
        .into_iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[tokio::test]
async fn ceql_becomes_soql_and_a_value_can_never_end_its_literal() {
    let app = spawn_sf(quiet()).await;
    let user = app.user_token().await;
    let obrien = app
        .insert(
            &user,
            "Contact",
            json!({"LastName": "O'Brien", "Title": "CTO"}),
        )
        .await;
    app.insert(
        &user,
        "Contact",
        json!({"LastName": "Smith", "Title": "CTO"}),
    )
    .await;
    let (_, token) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;

    let found = hub(
        &app,
        &token,
        "/contacts",
        &[("where", "LastName = 'O''Brien' AND Title = 'CTO'")],
    )
    .await;
    assert_eq!(found.status(), StatusCode::OK);
    let records: Vec<Value> = found.json().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["Id"], obrien.as_str());
    assert_eq!(
        last_soql(&app).await,
        r"SELECT Id,FirstName,LastName,Name,Email,Phone,Title,AccountId,OwnerId,CreatedDate,LastModifiedDate,SystemModstamp FROM Contact WHERE LastName = 'O\'Brien' AND Title = 'CTO' ORDER BY SystemModstamp, Id"
    );

    // A value written to close its literal and add a condition stays one literal: naively
    // quoted, `x\' OR LastName != '` would match every contact; escaped, it matches none.
    let injected = hub(
        &app,
        &token,
        "/contacts",
        &[("where", r"LastName = 'x\'' OR LastName != '''")],
    )
    .await;
    assert_eq!(injected.status(), StatusCode::OK);
    let records: Vec<Value> = injected.json().await.unwrap();
    assert!(records.is_empty(), "{records:?}");
    let soql = last_soql(&app).await;
    assert!(
        soql.contains(r"WHERE LastName = 'x\\\' OR LastName != \'' ORDER BY"),
        "{soql}"
    );

    // The updated field's bounds go to SOQL as unquoted date-time literals.
    let since = hub(
        &app,
        &token,
        "/contacts",
        &[("where", "SystemModstamp >= '2020-01-01T00:00:00Z'")],
    )
    .await;
    assert_eq!(since.status(), StatusCode::OK);
    let soql = last_soql(&app).await;
    assert!(
        soql.contains("WHERE SystemModstamp >= 2020-01-01T00:00:00Z ORDER BY"),
        "{soql}"
    );
    // A clause Tributary can neither send nor evaluate safely is a 400 naming it.
    let refused = hub(&app, &token, "/contacts", &[("where", "Phone > 'a'")]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("Phone"),
        "{body}"
    );
}

#[tokio::test]
async fn the_hub_pages_with_next_page_tokens_and_gets_one_record_with_its_fields() {
    let app = spawn_sf(quiet()).await;
    app.add_records("Opportunity", 450).await;
    let (_, token) = app
        .create(&["opportunities"], "https://receiver.example/events")
        .await;
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..10 {
        let mut query = vec![("pageSize", "200")];
        if let Some(page) = &next {
            query.push(("nextPage", page.as_str()));
        }
        let response = hub(&app, &token, "/opportunities", &query).await;
        assert_eq!(response.status(), StatusCode::OK);
        next = response
            .headers()
            .get("elements-next-page-token")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Vec<Value> = response.json().await.unwrap();
        assert!(page.len() <= 200);
        seen.extend(
            page.into_iter()
                .map(|r| r["Id"].as_str().unwrap().to_owned()),
        );
        if next.is_none() {
            break;
        }
    }
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!((seen.len(), distinct.len()), (450, 450));
    let queries = app
        .requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().ends_with("/query"))
        .count();
    assert_eq!(queries, 1, "one query, then its locator's pages");

    let one = hub(&app, &token, &format!("/opportunities/{}", seen[0]), &[]).await;
    assert_eq!(one.status(), StatusCode::OK);
    let record: Value = one.json().await.unwrap();
    assert_eq!(record["Id"], seen[0].as_str());
    assert!(record["StageName"].is_string() && record["SystemModstamp"].is_string());
    assert!(
        record.get("Description").is_none(),
        "only the definition's fields: {record}"
    );
    let bad = hub(&app, &token, "/opportunities/not'an'id", &[]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
