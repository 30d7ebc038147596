//! The query language: filters, order, paging, inactive hiding, offsets (`providers.md` §4.3,
//! §4.4, §4.5, §4.6).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Company, QbSim, fault, pacific, quiet, spawn_qb};

/// The `Id`s of a query answer's records of `entity`.
fn ids(body: &Value, entity: &str) -> Vec<String> {
    body["QueryResponse"][entity]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|record| record["Id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn customers(sim: &QbSim, company: &Company, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for name in names {
        let customer = sim
            .create(company, "customer", json!({"DisplayName": name}))
            .await;
        ids.push(customer["Id"].as_str().unwrap().to_owned());
        sim.clock.advance_ms(1_000);
    }
    ids
}

#[tokio::test]
async fn pages_follow_startposition_and_maxresults_until_an_empty_query_response() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "Vendor", "count": 25})),
    )
    .await;
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = sim
            .query(
                &company,
                &format!("SELECT * FROM Vendor ORDERBY Id STARTPOSITION {start} MAXRESULTS 10"),
            )
            .await;
        let found = ids(&page, "Vendor");
        if found.is_empty() {
            assert_eq!(page["QueryResponse"], json!({}), "an empty envelope");
            break;
        }
        assert_eq!(page["QueryResponse"]["startPosition"], start);
        assert_eq!(page["QueryResponse"]["maxResults"], found.len());
        seen.extend(found);
        start += 10;
    }
    let expected: Vec<String> = (1..=25).map(|id| id.to_string()).collect();
    assert_eq!(seen, expected);
    let default = sim.query(&company, "select * from Vendor").await;
    assert_eq!(
        ids(&default, "Vendor").len(),
        25,
        "maxresults defaults to 100"
    );
    let count = sim.query(&company, "select count(*) from Vendor").await;
    assert_eq!(count["QueryResponse"]["totalCount"], 25);
}

#[tokio::test]
async fn conditions_compare_by_type_and_last_updated_time_in_any_offset_to_the_second() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    sim.clock.advance_ms(700); // stored times carry milliseconds; QuickBooks shows seconds
    let made = customers(
        &sim,
        &company,
        &["Amy's Bird Sanctuary", "Bill's Windsurf Shop", "Cool Cars"],
    )
    .await;
    let cases = [
        (
            format!("Metadata.LastUpdatedTime >= '{}'", pacific(1)),
            vec![1, 2],
        ),
        (
            "Metadata.LastUpdatedTime >= '2026-11-28T10:00:01Z'".to_owned(),
            vec![1, 2],
        ),
        (
            "MetaData.LastUpdatedTime > '2026-11-28T15:30:01+05:30'".to_owned(),
            vec![2],
        ),
        (
            format!("Metadata.LastUpdatedTime < '{}'", pacific(1)),
            vec![0],
        ),
        (
            format!("Metadata.CreateTime <= '{}'", pacific(1)),
            vec![0, 1],
        ),
        ("Id IN ('1', '3')".to_owned(), vec![0, 2]),
        ("Id > '1' AND Id < '3'".to_owned(), vec![1]),
        (r"DisplayName = 'amy\'s bird sanctuary'".to_owned(), vec![0]),
        ("DisplayName LIKE '%w%'".to_owned(), vec![1]),
        (
            "Metadata.LastUpdatedTime >= '2026-11-28'".to_owned(),
            vec![0, 1, 2],
        ),
    ];
    for (condition, expected) in cases {
        let page = sim
            .query(
                &company,
                &format!("select * from Customer where {condition}"),
            )
            .await;
        let expected: Vec<String> = expected.iter().map(|n| made[*n].clone()).collect();
        assert_eq!(ids(&page, "Customer"), expected, "{condition}");
    }
    let newest_first = sim
        .query(
            &company,
            "select * from Customer orderby Metadata.LastUpdatedTime desc",
        )
        .await;
    let mut reversed = made.clone();
    reversed.reverse();
    assert_eq!(ids(&newest_first, "Customer"), reversed);
    let projected = sim
        .query(&company, "select DisplayName from Customer where Id = '1'")
        .await;
    let record = &projected["QueryResponse"]["Customer"][0];
    assert_eq!(record["sparse"], true);
    assert!(record.get("GivenName").is_none() && record.get("DisplayName").is_some());
}

#[tokio::test]
async fn inactive_list_entities_are_hidden_unless_the_query_names_active() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    let made = customers(&sim, &company, &["Kept", "Gone"]).await;
    let deactivated = sim
        .api(
            &company,
            Method::POST,
            "/customer",
            &[],
            Some(json!({"Id": made[1], "SyncToken": "0", "sparse": true, "Active": false})),
        )
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    assert_eq!(
        ids(
            &sim.query(&company, "select * from Customer").await,
            "Customer"
        ),
        [made[0].clone()]
    );
    assert_eq!(
        ids(
            &sim.query(
                &company,
                "select * from Customer where Active IN (true, false)"
            )
            .await,
            "Customer"
        ),
        made
    );
    assert_eq!(
        ids(
            &sim.query(&company, "select * from Customer where Active = false")
                .await,
            "Customer"
        ),
        [made[1].clone()]
    );
    let by_id = sim
        .api(
            &company,
            Method::GET,
            &format!("/customer/{}", made[1]),
            &[],
            None,
        )
        .await;
    assert_eq!(
        by_id.status(),
        StatusCode::OK,
        "read by id, inactive or not"
    );
}

#[tokio::test]
async fn queries_that_do_not_parse_or_name_unknown_things_are_faults() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    for (query, code, says) in [
        (
            "select * from Customer where Id = '1' or Id = '2'",
            "4000",
            "\"or\"",
        ),
        ("select * from Customer where Shoe = 'red'", "4001", "Shoe"),
        ("select * from Spaceship", "4001", "Spaceship"),
        (
            "select * from Customer where Metadata.LastUpdatedTime > 'soon'",
            "4001",
            "soon",
        ),
        (
            "select * from Customer where BillAddr = 'x'",
            "4001",
            "BillAddr",
        ),
    ] {
        let response = sim
            .api(&company, Method::GET, "/query", &[("query", query)], None)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(fault(&body).1, code, "{query}");
        let detail = body["Fault"]["Error"][0]["Detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
    }
}
