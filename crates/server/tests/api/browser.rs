//! The web UI in a real browser: headless Chromium driven through WebDriver (chromedriver),
//! against `serve` and the simulator. Needs Debian's `chromium` and `chromium-driver` and npm's
//! `axe-core` (`.ci/run` installs them; the tests install axe-core themselves when npm is
//! there). Every page is looked at in light and dark, at desktop and phone widths: a full-page
//! screenshot of each goes to `target/tmp/ui-screenshots/` for a reviewer, and axe-core audits
//! each; a serious or critical violation anywhere fails the walk.

mod kit;

use std::sync::Arc;

use axum::http::StatusCode as AxumStatus;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_domain::delivery::RetrySchedule;
use tributary_domain::{Clock, ManualClock, SystemClock};
use tributary_server::delivery::Deliverer;
use tributary_simulator::Config;

use crate::helpers::{
    ORG_SECRET, TestApp, USER_SECRET, receiver_answering, seed_body, seed_poller, spawn_app_with,
    spawn_app_with_clocks,
};
use kit::Browser;

const HOUR: i64 = 3_600_000;

/// A receiver answering `status` to every notification; returns its URL.
async fn receiver(status: AxumStatus) -> String {
    receiver_answering(status).await.0
}

/// The server and the simulator on one manual clock, delivering to local receivers with a
/// short retry schedule (so failures finish within the two days the plots show).
async fn app(clock: Arc<ManualClock>) -> TestApp {
    let config = Config {
        seed: 7,
        throttle_per_minute: 1_000_000,
        tenant_throttle_per_minute: 1_000_000,
        quota_per_day: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        ..Config::default()
    };
    spawn_app_with_clocks(config, clock.clone(), clock, |s| {
        s.allow_private_callbacks = true;
        s.retry_schedule = RetrySchedule::parse("10m,1h").unwrap();
        s.provider_requests_per_minute = Some(1_000_000);
    })
    .await
}

/// An instance polling appointments and contacts, delivering to `callback`.
async fn instance(app: &TestApp, name: &str, tags: &[&str], callback: &str) -> i64 {
    let mut body = seed_body(&app.code().await);
    body["name"] = json!(name);
    body["tags"] = json!(tags);
    body["configuration"]["event.notification.callback.url"] = json!(callback);
    let mut pollers = seed_poller();
    pollers["contacts"] = json!({});
    body["configuration"]["event.poller.configuration"] = pollers;
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    created["id"].as_i64().unwrap()
}

async fn changes(app: &TestApp, resource: &str, count: i64) {
    if count > 0 {
        let response = app
            .http
            .post(format!("{}/_sim/records", app.sim.url()))
            .json(&json!({"resource": resource, "count": count}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{resource}");
    }
}

/// Delivery passes until nothing more is due at the clock's time.
async fn deliver(deliverer: &Deliverer) {
    for _ in 0..100 {
        if deliverer.run_once().await == (0, 0) {
            return;
        }
    }
    panic!("delivery never ran out of due work");
}

async fn poll(app: &TestApp, id: i64) -> Value {
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await
}

/// Two days of history, hour by hour: changes at the provider in a daily rhythm, a poll of
/// each instance, and a delivery pass a little later (longer at busy hours, so latency moves).
async fn history(app: &TestApp, clock: &ManualClock, ids: &[i64], hours: i64) {
    let deliverer = Deliverer::new(app.state.clone(), 4).unwrap();
    for hour in 0..hours {
        let rhythm = (hour as f64 * std::f64::consts::TAU / 24.0).sin();
        changes(app, "appointments", (2.0 + 2.0 * rhythm).round() as i64).await;
        changes(
            app,
            "contacts",
            (3.0 + 3.0 * rhythm + (hour % 3) as f64).round() as i64,
        )
        .await;
        for id in ids {
            poll(app, *id).await;
        }
        clock.advance_ms(150 + 400 * ((hour * 7) % 5));
        deliver(&deliverer).await;
        clock.advance_ms(HOUR - 150 - 400 * ((hour * 7) % 5));
    }
    deliver(&deliverer).await;
}

/// The origin of the UI.
fn site(app: &TestApp) -> String {
    app.api.trim_end_matches("/elements/api-v2").to_owned()
}

#[tokio::test]
async fn a_user_signs_in_creates_edits_polls_and_redelivers_on_pages_axe_finds_nothing_serious_on()
{
    // Two days ago on the hour, a little past, so that the plots fill their 48 hours.
    let now = SystemClock.now_ms();
    let start = (now / HOUR - 47) * HOUR + 5 * 60_000;
    let clock = Arc::new(ManualClock::new(start));
    let app = app(clock.clone()).await;
    let healthy = receiver(AxumStatus::OK).await;
    let down = receiver(AxumStatus::SERVICE_UNAVAILABLE).await;
    let sales = instance(&app, "Sales CRM", &["east", "prod"], &healthy).await;
    let support = instance(&app, "Support CRM", &["west"], &down).await;
    history(&app, &clock, &[sales, support], 47).await;

    let browser = Browser::start().await;
    let site = site(&app);

    // Signed out, the home page sends the browser to sign-in.
    browser.goto(&format!("{site}/")).await;
    browser.find("#sign-in").await;
    assert_eq!(browser.path().await, "/sign-in");
    browser.look("01-sign-in").await;

    // Wrong secrets: the form says so.
    browser
        .find("#user")
        .await
        .send_keys(USER_SECRET)
        .await
        .unwrap();
    browser
        .find("#organization")
        .await
        .send_keys("not-the-organization-secret")
        .await
        .unwrap();
    browser.click_and_wait("#sign-in").await;
    assert_eq!(
        browser.text("#sign-in-error").await,
        "The user secret or the organization secret is wrong."
    );
    browser.look("02-sign-in-refused").await;

    // Right secrets: the organization's two days, and its instances.
    browser
        .find("#user")
        .await
        .send_keys(USER_SECRET)
        .await
        .unwrap();
    browser
        .find("#organization")
        .await
        .send_keys(ORG_SECRET)
        .await
        .unwrap();
    browser.click_and_wait("#sign-in").await;
    let table = browser.text("#instances").await;
    assert!(
        table.contains("Sales CRM") && table.contains("Support CRM"),
        "{table}"
    );
    assert!(table.contains("2 instances"), "{table}");
    let events_plot = browser.find("#home-events svg.plot").await;
    assert!(
        events_plot
            .attr("aria-labelledby")
            .await
            .unwrap()
            .is_some_and(|ids| ids == "home-events-title home-events-desc")
    );
    let described = browser.text("#home-outcomes details summary").await;
    assert_eq!(described, "The numbers");
    browser.look("03-home").await;

    // Search.
    browser.find("#q").await.send_keys("west").await.unwrap();
    browser.click_and_wait("form[role=search] button").await;
    let found = browser.text("#instances").await;
    assert!(
        found.contains("Support CRM") && !found.contains("Sales CRM"),
        "{found}"
    );
    browser.look("04-search").await;

    // The create form of every element, and its refusals beside their fields.
    browser
        .goto(&format!("{site}/ui/instances/new?element=sfdc"))
        .await;
    assert!(browser.text("#element-sfdc").await.contains("accounts"));
    browser.look("05a-new-instance-salesforce").await;
    browser
        .find("#callback_url")
        .await
        .send_keys("ftp://x")
        .await
        .unwrap();
    browser.click_and_wait("#connect").await;
    assert!(browser.text("#callback_url-error").await.contains("http"));
    browser.look("05b-new-instance-refused").await;

    // Create an instance: the form, the provider's consent page, and back.
    browser.goto(&format!("{site}/")).await;
    browser.click_and_wait("#new-instance-link").await;
    let choices = browser.text("#element-choices").await;
    assert!(
        choices.contains("Infusionsoft REST") && choices.contains("contacts"),
        "every element with its resources: {choices}"
    );
    browser
        .find("#name")
        .await
        .send_keys("Browser CRM")
        .await
        .unwrap();
    browser
        .find("#api_key")
        .await
        .send_keys("tributary-demo")
        .await
        .unwrap();
    browser
        .find("#api_secret")
        .await
        .send_keys("tributary-demo-secret")
        .await
        .unwrap();
    browser
        .find("#callback_url")
        .await
        .send_keys(&healthy)
        .await
        .unwrap();
    for resource in ["appointments", "contacts"] {
        browser
            .find(&format!("input[name=resource][value={resource}]"))
            .await
            .click()
            .await
            .unwrap();
    }
    browser.look("05c-new-instance").await;
    browser.click_and_wait("#connect").await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&app.sim.url()),
        "at the provider's consent page"
    );
    // The simulator's page, not Tributary's: a screenshot only.
    browser.shoot("06-consent-at-the-provider").await;
    browser
        .click_and_wait("button[name=allow][value=true]")
        .await;
    let heading = browser.text("h1").await;
    assert!(heading.starts_with("Browser CRM"), "{heading}");
    let pollers = browser.text("#pollers").await;
    assert!(
        pollers.contains("appointments") && pollers.contains("contacts"),
        "{pollers}"
    );

    // Poll now finds a change made at the provider.
    browser.click_and_wait("#poll-now").await;
    assert_eq!(
        browser.text("#notice").await,
        "Polled 2 resources: 0 new events."
    );
    clock.advance_ms(2_000);
    changes(&app, "appointments", 1).await;
    browser.click_and_wait("#poll-now").await;
    assert_eq!(
        browser.text("#notice").await,
        "Polled 2 resources: 1 new event."
    );
    let events = browser.text("#events").await;
    assert!(
        events.contains("appointments") && events.contains("CREATED"),
        "{events}"
    );
    browser.look("07-instance-new").await;

    // Edit it: a bad interval is refused next to its field, then a good one is saved.
    browser.click_and_wait("#edit-link").await;
    browser.look("08-edit").await;
    let refresh = browser.find("#refresh").await;
    refresh.clear().await.unwrap();
    refresh.send_keys("0").await.unwrap();
    let callback = browser.find("#callback_url").await;
    callback.clear().await.unwrap();
    callback.send_keys("ftp://nowhere").await.unwrap();
    // The browser's own checks would stop the form first; the server's are the ones tested.
    browser
        .client
        .execute(
            "document.getElementById('edit-instance').noValidate = true;",
            vec![],
        )
        .await
        .unwrap();
    browser.click_and_wait("#save").await;
    let refused = browser.text("#refresh-error").await;
    assert!(
        refused.contains("event.poller.refresh_interval") && refused.contains("1 to 10080"),
        "{refused}"
    );
    assert!(browser.text("#callback_url-error").await.contains("http"));
    browser.look("09-edit-refused").await;
    let refresh = browser.find("#refresh").await;
    refresh.clear().await.unwrap();
    refresh.send_keys("30").await.unwrap();
    let callback = browser.find("#callback_url").await;
    callback.clear().await.unwrap();
    callback.send_keys(&down).await.unwrap();
    browser.click_and_wait("#save").await;
    assert!(browser.text("#notice").await.starts_with("Saved."));
    let id: i64 = browser
        .path()
        .await
        .trim_start_matches("/ui/instances/")
        .trim_end_matches("/edit")
        .parse()
        .unwrap();
    let stored = app.instance(id).await;
    assert_eq!(
        stored["configuration"]["event.poller.refresh_interval"],
        json!("30")
    );

    // The event: its notification fails at the receiver, and is sent again on request.
    deliver(&Deliverer::new(app.state.clone(), 4).unwrap()).await;
    browser.goto(&format!("{site}/ui/instances/{id}")).await;
    browser.look("10-instance").await;
    browser.click_and_wait("#events td.primary a").await;
    let attempts = browser.text("#attempts").await;
    assert!(attempts.contains("503 Service Unavailable"), "{attempts}");
    let body = browser.text("#notification-body").await;
    assert!(body.contains("\"objectType\": \"appointments\""), "{body}");
    browser.look("11-event").await;
    browser.click_and_wait("#redeliver").await;
    assert!(
        browser
            .text("#notice")
            .await
            .ends_with("is queued again and will be sent now."),
    );
    assert_eq!(browser.text("#event-status").await, "QUEUED");
    browser.look("12-redelivered").await;

    // The event log: filtered to failures, and paged.
    browser
        .goto(&format!("{site}/ui/instances/{support}?status=FAILED"))
        .await;
    let failed = browser.text("#events").await;
    assert!(
        failed.contains("FAILED") && !failed.contains("NOTIFIED"),
        "{failed}"
    );
    browser.look("13-event-log-filtered").await;
    browser.goto(&format!("{site}/ui/instances/{sales}")).await;
    browser.click_and_wait("#older").await;
    assert!(
        browser
            .text("#events caption")
            .await
            .starts_with("A page of")
    );
    browser.look("14-event-log-older").await;

    // Switch it off and on, then delete it after saying so.
    browser
        .goto(&format!("{site}/ui/instances/{id}/edit"))
        .await;
    browser.click_and_wait("#disable").await;
    assert!(browser.text("#notice").await.starts_with("Disabled"));
    browser.look("15-disabled").await;
    browser.click_and_wait("#enable").await;
    assert!(browser.text("#notice").await.starts_with("Enabled"));
    browser
        .goto(&format!("{site}/ui/instances/{id}/edit"))
        .await;
    browser.click_and_wait("#delete-link").await;
    browser.look("16-delete-confirm").await;
    browser.click_and_wait("#confirm-delete").await;
    assert_eq!(browser.text("h1").await, "Instance deleted");
    browser.look("17-deleted").await;
    app.expect(
        Method::GET,
        &format!("/instances/{id}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // A page that is not there.
    browser.goto(&format!("{site}/ui/instances/999999")).await;
    browser.look("18-not-found").await;

    // Sign out: back to sign-in, and the home page is out of reach again.
    browser.goto(&format!("{site}/")).await;
    browser.click_and_wait("#sign-out").await;
    browser.find("#sign-in").await;
    browser.goto(&format!("{site}/")).await;
    assert_eq!(browser.path().await, "/sign-in");
    eprintln!("screenshots in {}", kit::screenshots().display());
    browser.assert_accessible();
    browser.close().await;
}

const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";
const SPACE: &str = " ";
/// Shift and Tab together: the focus goes back.
const SHIFT_TAB: &str = "\u{e008}\u{e004}";

/// Tabs once and checks where the focus went (and that it shows).
async fn next(browser: &Browser, expected: &str) {
    browser.press(TAB).await;
    let (at, tag, ring) = browser.focused().await;
    assert_eq!(at, expected, "the focus went to {tag} {at:?}");
    assert!(ring, "the focus on {at:?} is not visible");
}

#[tokio::test]
async fn the_create_and_edit_flows_work_from_the_keyboard_alone_with_the_focus_always_visible() {
    let app = spawn_app_with(Config::default(), |s| s.allow_private_callbacks = true).await;
    let healthy = receiver(AxumStatus::OK).await;
    let browser = Browser::start().await;
    let site = site(&app);

    // Sign in: the skip link comes first, then the fields; Enter submits.
    browser.goto(&format!("{site}/sign-in")).await;
    next(&browser, "#main").await;
    browser.tab_to("user", 5).await;
    browser.press(USER_SECRET).await;
    next(&browser, "organization").await;
    browser.press(ORG_SECRET).await;
    browser.navigating(browser.press(ENTER)).await;
    assert_eq!(browser.path().await, "/");

    // To the create form by its link.
    browser.tab_to("new-instance-link", 12).await;
    browser.navigating(browser.press(ENTER)).await;
    assert_eq!(browser.path().await, "/ui/instances/new");

    // The create form, field by field in reading order, typed into as the focus arrives.
    let before = browser.tab_to("name", 20).await;
    assert!(
        before
            .iter()
            .any(|stop| stop.starts_with("/ui/instances/new?element=")),
        "the element cards come before the form: {before:?}"
    );
    browser.press("Keyboard CRM").await;
    next(&browser, "tags").await;
    browser.press("keys, only").await;
    next(&browser, "api_key").await;
    browser.press("tributary-demo").await;
    next(&browser, "api_secret").await;
    browser.press("tributary-demo-secret").await;
    next(&browser, "oauth_callback").await;
    next(&browser, "events").await;
    next(&browser, "vendor").await;
    next(&browser, "callback_url").await;
    browser.press(&healthy).await;
    next(&browser, "signature_key").await;
    next(&browser, "refresh").await;
    // The first resource (contacts) ticked with the space bar, the rest passed.
    next(&browser, "resource").await;
    browser.press(SPACE).await;
    for _ in 0..6 {
        next(&browser, "resource").await;
    }
    next(&browser, "summary").await;
    next(&browser, "summary").await;
    next(&browser, "connect").await;
    browser.navigating(browser.press(ENTER)).await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&app.sim.url()),
        "Enter on Connect leads to the provider's consent page"
    );
    browser
        .click_and_wait("button[name=allow][value=true]")
        .await;
    assert!(browser.text("h1").await.starts_with("Keyboard CRM"));
    let pollers = browser.text("#pollers").await;
    assert!(pollers.contains("contacts"), "{pollers}");

    // The edit form: Tab reaches Edit; the fields follow in reading order; Enter in a field
    // saves.
    browser.tab_to("edit-link", 20).await;
    browser.navigating(browser.press(ENTER)).await;
    assert!(browser.path().await.ends_with("/edit"));
    browser.tab_to("name", 12).await;
    next(&browser, "tags").await;
    next(&browser, "events").await;
    next(&browser, "vendor").await;
    next(&browser, "callback_url").await;
    next(&browser, "refresh").await;
    // Tabbing into a field selects what it holds: typing replaces it.
    browser.press("45").await;
    next(&browser, "signature_key").await;
    next(&browser, "scheme").await;
    next(&browser, "resource-contacts").await;
    next(&browser, "summary").await;
    for _ in 0..3 {
        browser.chord(SHIFT_TAB).await;
    }
    assert_eq!(browser.focused().await.0, "signature_key");
    browser.navigating(browser.press(ENTER)).await;
    assert!(browser.text("#notice").await.starts_with("Saved."));
    let id = app.instances().await.last().unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.instance(id).await["configuration"]["event.poller.refresh_interval"],
        json!("45")
    );
    browser.close().await;
}
