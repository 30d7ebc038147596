//! SOQL and paging (`providers.md` §2.3–2.6, §2.11).

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::salesforce::Config;

use super::{SfSim, V, error_code, quiet, spawn_sf};

fn ids(page: &Value) -> Vec<String> {
    page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect()
}

/// Three accounts changed at 10:00:00.000, 10:00:01.500 and 10:00:02.500.
async fn three_accounts() -> (SfSim, String, Vec<String>) {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    let mut made = Vec::new();
    for (name, advance) in [("First", 0), ("Second", 1_500), ("Third", 1_000)] {
        sim.clock.advance_ms(advance);
        made.push(sim.create(&token, "Account", json!({"Name": name})).await);
    }
    (sim, token, made)
}

#[tokio::test]
async fn unquoted_date_time_literals_filter_on_system_modstamp_at_one_second_resolution() {
    let (sim, token, made) = three_accounts().await;
    let select = |condition: &str| format!("SELECT Id FROM Account WHERE {condition} ORDER BY Id");
    let after = sim
        .query_json(&token, &select("SystemModstamp > 2026-11-28T10:00:01Z"))
        .await;
    assert_eq!(ids(&after), [made[2].clone()], "…01.500 is …01 to SOQL");
    let from = sim
        .query_json(&token, &select("SystemModstamp >= 2026-11-28T10:00:01Z"))
        .await;
    assert_eq!(ids(&from), made[1..]);
    let offset = sim
        .query_json(
            &token,
            &select("SystemModstamp >= 2026-11-28T12:00:01+02:00"),
        )
        .await;
    assert_eq!(ids(&offset), made[1..], "an offset with a colon");
    let before = sim
        .query_json(
            &token,
            &select(
                "SystemModstamp < 2026-11-28T10:00:02Z AND SystemModstamp >= 2026-11-28T10:00:00Z",
            ),
        )
        .await;
    assert_eq!(ids(&before), made[..2]);
}

#[tokio::test]
async fn a_quoted_date_literal_or_anything_outside_the_subset_is_malformed_query() {
    let (sim, token, _) = three_accounts().await;
    for soql in [
        "SELECT Id FROM Account WHERE SystemModstamp > '2026-11-28T10:00:01Z'",
        "SELECT Id FROM Account WHERE SystemModstamp > 2026-11-28T10:00:01+0000",
        "SELECT Id FROM Account WHERE SystemModstamp > 2026-11-28T10:00:01.000Z",
        "SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b'",
        "SELECT Id FROM Account WHERE Name LIKE 'a%'",
        "SELECT COUNT() FROM Account",
        "SELECT Id, Account.Name FROM Contact",
        "SELECT Id FROM Account WHERE Name = 5",
    ] {
        let response = sim.query(&token, soql, false, None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{soql}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "MALFORMED_QUERY", "{soql}: {body}");
        assert!(body[0]["message"].is_string());
    }
    let quoted: Value = sim
        .query(
            &token,
            "SELECT Id FROM Account WHERE SystemModstamp > '2026-11-28T10:00:01Z'",
            false,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        quoted[0]["message"]
            .as_str()
            .unwrap()
            .contains("should not be enclosed in quotes"),
        "{quoted}"
    );
    for (soql, code) in [
        ("SELECT Id FROM Widget", "INVALID_TYPE"),
        ("SELECT Id, Colour FROM Account", "INVALID_FIELD"),
    ] {
        let body: Value = sim
            .query(&token, soql, false, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(error_code(&body), code, "{soql}");
    }
}

#[tokio::test]
async fn only_the_selected_fields_come_back_with_attributes_and_whole_second_dates() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    sim.clock.advance_ms(437);
    let id = sim
        .create(&token, "Account", json!({"Name": "Edge Communications"}))
        .await;
    let page = sim
        .query_json(&token, "select id, NAME, SystemModstamp from account")
        .await;
    assert_eq!(page["totalSize"], 1);
    assert_eq!(page["done"], true);
    assert!(page.get("nextRecordsUrl").is_none());
    let record = &page["records"][0];
    let mut keys: Vec<&str> = record
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Id", "Name", "SystemModstamp", "attributes"]);
    assert_eq!(
        record["attributes"],
        json!({"type": "Account", "url": format!("{V}/sobjects/Account/{id}")})
    );
    assert_eq!(record["Id"], id.as_str());
    assert_eq!(record["SystemModstamp"], "2026-11-28T10:00:00.000+0000");
}

#[tokio::test]
async fn string_filters_unescape_quotes_and_ids_match_in_both_lengths() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    let obrien = sim
        .create(
            &token,
            "Contact",
            json!({"FirstName": "Pat", "LastName": "O'Brien"}),
        )
        .await;
    sim.create(&token, "Contact", json!({"LastName": "Green"}))
        .await;
    let found = sim
        .query_json(
            &token,
            r"SELECT Id, Name FROM Contact WHERE LastName = 'o\'brien'",
        )
        .await;
    assert_eq!(ids(&found), [obrien.as_str()], "text compares without case");
    assert_eq!(found["records"][0]["Name"], "Pat O'Brien");
    for id in [&obrien[..15], &obrien[..]] {
        let by_id = sim
            .query_json(&token, &format!("SELECT Id FROM Contact WHERE Id = '{id}'"))
            .await;
        assert_eq!(ids(&by_id), [obrien.as_str()], "{id}");
    }
}

#[tokio::test]
async fn a_full_read_of_5000_records_by_locator_never_loses_or_repeats_a_record() {
    let sim = spawn_sf(Config {
        seed: 0,
        short_pages: true,
        ..Config::default()
    })
    .await;
    let token = sim.access_token().await;
    let made = sim
        .control(
            Method::POST,
            "/records",
            Some(json!({"resource": "Account", "count": 5000})),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);

    let soql = "SELECT Id, Name FROM Account ORDER BY SystemModstamp, Id";
    let response = sim.query(&token, soql, false, Some(500)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut page: Value = response.json().await.unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    loop {
        assert_eq!(
            page["totalSize"], 5000,
            "the total of matches on every page"
        );
        let got = ids(&page);
        sizes.push(got.len());
        seen.extend(got);
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_owned();
        assert!(next.starts_with(&format!("{V}/query/01g")), "{next}");
        let response = sim.follow(&token, &next).await;
        assert_eq!(response.status(), StatusCode::OK, "{next}");
        page = response.json().await.unwrap();
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 5000, "nothing lost or repeated: {sizes:?}");
    assert_eq!(unique.len(), 5000);
    assert!(sizes.iter().all(|size| *size <= 500), "{sizes:?}");
    assert!(
        sizes[..sizes.len() - 1].iter().any(|size| *size < 500),
        "some pages came short: {sizes:?}"
    );
}

#[tokio::test]
async fn the_batch_size_is_clamped_to_200_through_2000() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "Lead", "count": 2500})),
    )
    .await;
    for (batch, expected) in [
        (None, 2000),
        (Some(50), 200),
        (Some(700), 700),
        (Some(5000), 2000),
    ] {
        let page: Value = sim
            .query(&token, "SELECT Id FROM Lead", false, batch)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ids(&page).len(), expected, "batchSize {batch:?}");
        assert_eq!(page["done"], false);
        let next = page["nextRecordsUrl"].as_str().unwrap();
        assert!(next.ends_with(&format!("-{expected}")), "{next}");
    }
}

#[tokio::test]
async fn an_unknown_or_expired_locator_is_invalid_query_locator() {
    let sim = spawn_sf(Config {
        session_timeout_secs: 10 * 86_400,
        ..quiet()
    })
    .await;
    let token = sim.access_token().await;
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "Case", "count": 300})),
    )
    .await;
    let page: Value = sim
        .query(&token, "SELECT Id FROM Case", false, Some(200))
        .await
        .json()
        .await
        .unwrap();
    let next = page["nextRecordsUrl"].as_str().unwrap().to_owned();
    for bad in [
        format!("{V}/query/01gD00000000zzzAAA-200"),
        format!("{V}/query/nonsense"),
        next.replace("-200", "-301"),
    ] {
        let response = sim.follow(&token, &bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            error_code(&response.json().await.unwrap()),
            "INVALID_QUERY_LOCATOR"
        );
    }
    // A locator and its results stay available two days.
    sim.clock.advance_ms(2 * 86_400_000 - 1);
    assert_eq!(sim.follow(&token, &next).await.status(), StatusCode::OK);
    sim.clock.advance_ms(1);
    let expired = sim.follow(&token, &next).await;
    assert_eq!(
        error_code(&expired.json().await.unwrap()),
        "INVALID_QUERY_LOCATOR"
    );
}

#[tokio::test]
async fn query_all_shows_deleted_records_with_is_deleted_and_query_never_does() {
    let (sim, token, made) = three_accounts().await;
    sim.clock.advance_ms(4_000);
    let deleted = sim
        .call(
            Method::DELETE,
            &token,
            &format!("/sobjects/Account/{}", made[0]),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let soql = "SELECT Id, IsDeleted, SystemModstamp FROM Account WHERE IsDeleted = TRUE";
    assert_eq!(sim.query_json(&token, soql).await["totalSize"], 0);

    let response = sim.query(&token, soql, true, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let all: Value = response.json().await.unwrap();
    assert_eq!(ids(&all), [made[0].clone()]);
    assert_eq!(all["records"][0]["IsDeleted"], true);
    assert_eq!(
        all["records"][0]["SystemModstamp"], "2026-11-28T10:00:06.000+0000",
        "a delete moves SystemModstamp"
    );
    let everything: Value = sim
        .query(&token, "SELECT Id FROM Account", true, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(everything["totalSize"], 3);
    assert_eq!(
        sim.query_json(&token, "SELECT Id FROM Account").await["totalSize"],
        2
    );
}
