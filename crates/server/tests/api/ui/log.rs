//! The instance page's event log over plain HTTP (pages back and forth, the time filter), and
//! the plots of the home and instance pages with their words.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{contacts_instance, get_page, sign_in, unescape};
use crate::helpers::{TestApp, spawn_app_on_manual_clock};
use tributary_simulator::Config;

async fn page(app: &TestApp, session: &str, path: &str) -> String {
    let response = get_page(app, path, Some(session)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    unescape(&response.text().await.unwrap())
}

/// The rows of the events table: each row's record link text (`contacts #12`).
fn rows(html: &str) -> Vec<String> {
    html.split("<td class=\"primary\"><a href=\"/ui/instances/")
        .skip(1)
        .filter_map(|rest| rest.split('>').nth(1)?.split("</a").next())
        .filter(|text| text.starts_with("contacts #"))
        .map(str::to_owned)
        .collect()
}

/// The target of the link with this `rel`, if the page has one.
fn link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("rel=\"{rel}\""))?;
    let start = html[..at].rfind("href=\"")? + "href=\"".len();
    Some(html[start..].split('"').next()?.to_owned())
}

#[tokio::test]
async fn the_event_log_pages_back_and_forth_newest_first_and_filters_by_when_events_were_stored() {
    let app = spawn_app_on_manual_clock(Config::default(), |_| {}).await;
    let id = contacts_instance(&app).await;
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await;
    app.advance_ms(1_000); // the new records in a later second than the cursor
    app.http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "contacts", "count": 60}))
        .send()
        .await
        .unwrap();
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await;
    let stored = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/events?pageSize=1000"),
            None,
            StatusCode::OK,
        )
        .await;
    let total = stored.as_array().unwrap().len();
    assert!(total > 50, "{total} events");
    let session = sign_in(&app).await;
    let path = format!("/ui/instances/{id}");

    let first = page(&app, &session, &path).await;
    let newest = rows(&first);
    assert_eq!(newest.len(), 50, "{first}");
    assert!(
        first.contains("The latest 50 events, newest first"),
        "{first}"
    );
    assert_eq!(
        link(&first, "prev"),
        None,
        "nothing is newer than the newest page"
    );
    let older = link(&first, "next").expect("an older page");
    assert!(older.starts_with(&format!("{path}?before=")), "{older}");

    let second = page(&app, &session, &older).await;
    let rest = rows(&second);
    assert_eq!(rest.len(), total - 50, "{second}");
    assert!(
        second.contains(&format!("A page of {} event", total - 50)),
        "{second}"
    );
    assert!(
        rest.iter().all(|row| !newest.contains(row)),
        "no event on both pages"
    );
    assert_eq!(
        link(&second, "next"),
        None,
        "nothing is older than the last page"
    );
    let newer = link(&second, "prev").expect("a newer page");
    assert!(newer.starts_with(&format!("{path}?after=")), "{newer}");
    let back = page(&app, &session, &newer).await;
    assert_eq!(rows(&back), newest, "the newer page is the newest again");

    // Filters stay on the page links; the time filter reads the form's UTC values.
    let filtered = page(
        &app,
        &session,
        &format!("{path}?status=NEW&eventType=created"),
    )
    .await;
    assert!(
        link(&filtered, "next").is_some_and(|l| l.contains("status=NEW&eventType=created&before=")),
        "{filtered}"
    );
    let future = page(&app, &session, &format!("{path}?from=2999-01-01T00%3A00")).await;
    assert!(
        future.contains("No events match these filters."),
        "{future}"
    );
    assert!(
        future.contains("value=\"2999-01-01T00:00\""),
        "the form keeps it: {future}"
    );
    let past = page(&app, &session, &format!("{path}?to=2999-01-01T00%3A00")).await;
    assert_eq!(rows(&past).len(), 50);
    let bad = page(&app, &session, &format!("{path}?from=yesterday")).await;
    assert!(
        bad.contains(
            "from must be an RFC 3339 time such as 2026-11-28T10:00:00Z, got \"yesterday\""
        ),
        "{bad}"
    );
    let live = page(
        &app,
        &session,
        &format!("{path}/live?{}", older.split('?').nth(1).unwrap()),
    )
    .await;
    assert_eq!(rows(&live), rest, "the refresh keeps the page it shows");
}

#[tokio::test]
async fn the_plots_carry_their_words_and_numbers_and_the_quota_has_its_line() {
    let app = spawn_app_on_manual_clock(Config::default(), |_| {}).await;
    let id = contacts_instance(&app).await;
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await;
    app.advance_ms(1_000); // the new records in a later second than the cursor
    app.http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "contacts", "count": 3}))
        .send()
        .await
        .unwrap();
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await;
    let session = sign_in(&app).await;

    let instance = page(&app, &session, &format!("/ui/instances/{id}")).await;
    for plot in ["events", "outcomes", "latency"] {
        let prefix = format!("i{id}-{plot}");
        assert!(
            instance.contains(&format!(
                "role=\"img\" aria-labelledby=\"{prefix}-title {prefix}-desc\""
            )),
            "{plot}: {instance}"
        );
        assert!(
            instance.contains(&format!("<desc id=\"{prefix}-desc\">")),
            "{plot}"
        );
    }
    assert!(
        instance.contains("contacts: 3 in all, most in the hour from"),
        "the description counts the events: {instance}"
    );
    assert!(
        instance.contains("No notifications in the last 48 hours"),
        "nothing was delivered yet: {instance}"
    );
    assert!(
        instance.contains("<th scope=\"row\" class=\"nowrap\">")
            && instance.contains("<td class=\"num\">3</td>"),
        "the numbers as a table: {instance}"
    );
    assert!(
        !instance.contains("style="),
        "no inline styles under the CSP"
    );

    let home = page(&app, &session, "/").await;
    assert!(home.contains("aria-labelledby=\"home-events-title home-events-desc\""));
    assert!(
        home.contains("Events of every instance stored per hour"),
        "{home}"
    );
    assert!(home.contains("id=\"quotas\""), "{home}");
    assert!(
        home.contains("requests/min projected of 83 allowed, intervals as configured"),
        "the app polled, within its quota (80 % of Keap's 150,000 a day over its minutes): {home}"
    );
}
