//! The event log, the envelope and the analytics as a Cloud Elements client reads them, and
//! dates read as Java reads them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{SENDER, app, body_to, create, deliver_until, get, poll, receiver, records};

/// The fields `event.schema.json` of Cloud Elements' suite requires, with the status it
/// expects once the callback answered.
fn assert_cloud_elements_event(item: &Value, status: &str) {
    assert!(item["id"].is_string(), "id is a string: {item}");
    assert!(item["eventDate"].is_string(), "{item}");
    assert_eq!(item["status"], status, "{item}");
    let provider_data = item["providerData"]
        .as_str()
        .expect("providerData a string");
    serde_json::from_str::<Value>(provider_data).expect("the raw payload, as JSON text");
}

#[tokio::test]
async fn every_id_a_notification_carries_finds_it_in_the_event_log() {
    let app = app().await;
    let (url, inbox) = receiver().await;
    let created = create(&app, &body_to(&app, &url).await).await;
    let id = created["id"].as_i64().unwrap();
    let other = create(&app, &body_to(&app, &url).await).await["id"]
        .as_i64()
        .unwrap();
    records(&app, "appointments", 3).await;
    let polled = poll(&app, id).await;
    assert_eq!(polled["polls"][0]["events"], 3, "{polled}");
    deliver_until(&app, &inbox, 1).await;

    let (headers, raw) = inbox.received().remove(0);
    let body: Value = serde_json::from_slice(&raw).unwrap();
    let event_id = body["message"]["eventId"].as_str().unwrap().to_owned();
    let webhook_id = headers["elements-webhook-id"].to_str().unwrap().to_owned();
    let outer_id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(webhook_id, event_id);
    assert!(
        outer_id.parse::<i64>().is_ok_and(|n| n > 0),
        "the outer id is a numeric string: {outer_id}"
    );
    assert_ne!(outer_id, event_id, "an id of its own");

    for path in [
        format!("/instances/events/{event_id}"),
        format!("/instances/{id}/events/{webhook_id}"),
        format!("/instances/events/{outer_id}"),
        format!("/instances/{id}/events/{outer_id}"),
    ] {
        let found = get(&app, &path).await;
        assert_cloud_elements_event(&found, "NOTIFIED");
        assert_eq!(found["id"], event_id.as_str(), "{path}");
        assert_eq!(found["envelopeId"], outer_id.as_str(), "{path}");
        assert_eq!(found["deliveryStatus"], "NOTIFIED");
        assert_eq!(found["instanceId"], id);
        assert_eq!(found["objectType"], "appointments");
        assert_eq!(found["events"].as_array().unwrap().len(), 3);
        assert_eq!(found["notifiedData"][0]["statusCode"], 200);
        let provider: Value =
            serde_json::from_str(found["providerData"].as_str().unwrap()).unwrap();
        assert_eq!(
            provider, body["message"]["raw"],
            "the raw payload it carried"
        );
    }
    // Another instance's path does not find it.
    app.expect(
        Method::GET,
        &format!("/instances/{other}/events/{event_id}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Each event of the log, as listed and as found by its own id.
    let listed = get(&app, &format!("/instances/{id}/events?pageSize=10")).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let everywhere = get(&app, "/instances/events?pageSize=10").await;
    assert_eq!(everywhere.as_array().unwrap().len(), 3);
    for item in listed {
        assert_cloud_elements_event(item, "NOTIFIED");
        assert_eq!(item["id"], item["eventId"]);
        assert!(item["sequence"].is_i64(), "Tributary's paging position");
        let one = get(
            &app,
            &format!("/instances/events/{}", item["id"].as_str().unwrap()),
        )
        .await;
        assert_cloud_elements_event(&one, "NOTIFIED");
        assert_eq!(one["notificationId"], event_id.as_str());
        let record: Value = serde_json::from_str(one["providerData"].as_str().unwrap()).unwrap();
        assert_eq!(record["id"].to_string(), one["objectId"].as_str().unwrap());
    }
}

#[tokio::test]
async fn the_envelope_s_outer_fields_are_cloud_elements() {
    let app = app().await;
    let (url, inbox) = receiver().await;
    let id = create(&app, &body_to(&app, &url).await).await["id"]
        .as_i64()
        .unwrap();
    records(&app, "appointments", 1).await;
    poll(&app, id).await;
    deliver_until(&app, &inbox, 1).await;
    let body = &inbox.bodies()[0];
    assert_eq!(body["user"], SENDER, "the deployment's sender address");
    let created = body["createdDate"].as_str().unwrap();
    let parsed = jiff::fmt::strtime::parse("%a %b %d %H:%M:%S UTC %Y", created)
        .and_then(|p| p.to_datetime())
        .unwrap_or_else(|e| panic!("{created:?} is Java's Date.toString() in UTC: {e}"));
    let now = jiff::tz::Offset::UTC.to_datetime(jiff::Timestamp::now());
    let age = now.duration_since(parsed).as_secs().abs();
    assert!(age < 600, "{created} is about now");
    assert_eq!(created.split(' ').nth(4), Some("UTC"));
    assert_eq!(
        body["id"].as_str().unwrap().parse::<i64>().ok(),
        Some(tributary_domain::delivery::notification_number(
            body["message"]["eventId"].as_str().unwrap()
        ))
    );
    let defaults = tributary_server::Settings::default().notification_sender;
    assert_eq!(defaults, "notifications@tributary.invalid", "the default");
}

#[tokio::test]
async fn analytics_count_events_per_interval_in_cloud_elements_shapes() {
    let app = app().await;
    let (url, _inbox) = receiver().await;
    let id = create(&app, &body_to(&app, &url).await).await["id"]
        .as_i64()
        .unwrap();
    records(&app, "appointments", 3).await;
    poll(&app, id).await;
    let now = jiff::Timestamp::now();
    let hour_ago = now - jiff::SignedDuration::from_hours(1);
    let window = format!("from={hour_ago}&to={now}&interval=minute");

    // An hour by the minute is 61 intervals, as Cloud Elements' suite expects.
    let totals = get(&app, &format!("/instances/events/analytics?{window}")).await;
    let totals = totals.as_array().unwrap();
    assert_eq!(totals.len(), 61);
    let sum: i64 = totals.iter().map(|t| t["count"].as_i64().unwrap()).sum();
    assert_eq!(sum, 3);
    assert!(totals.iter().all(|t| t["timestamp"].is_string()));
    let mine = get(&app, &format!("/instances/{id}/events/analytics?{window}")).await;
    assert_eq!(
        &mine,
        &Value::Array(totals.clone()),
        "one instance: the same"
    );
    let defaults = get(&app, "/instances/events/analytics").await;
    assert_eq!(
        defaults.as_array().unwrap().len(),
        61,
        "the last hour by default"
    );

    let by_instance = get(
        &app,
        &format!("/instances/events/analytics/instances?{window}"),
    )
    .await;
    let by_instance = by_instance.as_array().unwrap();
    assert_eq!(by_instance.len(), 61);
    let records: Vec<&Value> = by_instance
        .iter()
        .flat_map(|b| b["records"].as_array().unwrap())
        .collect();
    assert_eq!(records.len(), 1, "{by_instance:?}");
    assert_eq!(
        records[0],
        &json!({"instanceId": id, "count": 3, "success": 0, "failed": 0})
    );
    assert!(by_instance.iter().all(|b| b["total"] == b["count"]));
    let by_account = get(
        &app,
        &format!("/instances/events/analytics/accounts?{window}"),
    )
    .await;
    let accounts: Vec<&Value> = by_account
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["records"].as_array().unwrap())
        .collect();
    assert_eq!(accounts[0]["accountId"], 1);
    assert_eq!(accounts[0]["count"], 3);

    // Refusals as Cloud Elements' suite expects them.
    let backwards = format!("from={now}&to={hour_ago}&interval=minute");
    let seconds = format!("from={hour_ago}&to={now}&interval=second");
    for (path, status) in [
        (
            format!("/instances/events/analytics?{backwards}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/instances/events/analytics/instances?{seconds}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/instances/events/analytics?accountIds[]=0".to_owned(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/instances/events/analytics/accounts?accountIds[]=0".to_owned(),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let refused = app.expect(Method::GET, &path, None, status).await;
        assert!(
            refused["requestId"].is_string() && refused["message"].is_string(),
            "{path}: {refused}"
        );
    }
}

#[tokio::test]
async fn dates_with_text_after_the_pattern_are_read_as_java_reads_them_with_a_warning() {
    let app = app().await;
    let (url, _inbox) = receiver().await;
    let mut body = body_to(&app, &url).await;
    // Appointments write `2026-11-28T10:00:00.123Z`; the pattern stops at the seconds.
    let pattern = "yyyy-MM-dd'T'HH:mm:ss";
    let dates = &mut body["configuration"]["event.poller.configuration"]["appointments"]["datesConfiguration"];
    dates["updatedDateFormat"] = json!(pattern);
    dates["createdDateFormat"] = json!(pattern);
    let id = create(&app, &body).await["id"].as_i64().unwrap();
    records(&app, "appointments", 2).await;
    let polled = poll(&app, id).await;
    let summary = &polled["polls"][0];
    assert_eq!(summary["events"], 2, "{polled}");
    assert_eq!(summary["dateErrors"], 0, "not flagged as errors");
    assert_eq!(summary["dateWarnings"], 2, "{polled}");
    let warning = summary["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("modification_date")
            && warning.contains("after the pattern \"yyyy-MM-dd'T'HH:mm:ss\" was ignored"),
        "{warning}"
    );
    for event in get(&app, &format!("/instances/{id}/events"))
        .await
        .as_array()
        .unwrap()
    {
        assert!(event.get("dateError").is_none(), "{event}");
        let record: Value = serde_json::from_str(event["providerData"].as_str().unwrap()).unwrap();
        let written = record["creation_date"].as_str().unwrap();
        assert_eq!(
            event["date"].as_str().unwrap(),
            format!("{}Z", &written[..19]),
            "the prefix the pattern reads"
        );
    }
    let pollers = get(&app, &format!("/instances/{id}/pollers")).await;
    assert_eq!(pollers[0]["dateWarnings"], 2);
    assert_eq!(pollers[0]["lastPoll"]["warnings"][0], warning);
    assert_eq!(
        app.metrics()
            .await
            .value("tributary_poll_date_warnings_total"),
        2.0
    );
    let live = super::ui_page(&app, &format!("/ui/instances/{id}/live")).await;
    assert!(
        live.contains(">2 date warnings</span> modification_date"),
        "{live}"
    );
}
