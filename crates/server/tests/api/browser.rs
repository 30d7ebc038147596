//! The web UI in a real browser: headless Chromium driven through WebDriver (chromedriver), against
//! `serve` and the simulator. Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them). Screenshots of each page go to `$CARGO_TARGET_TMPDIR/ui-screenshots/`, for a reviewer.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ORG_SECRET, TestApp, USER_SECRET, seed_body, spawn_app};

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn executable(name: &str, candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found (looked at {candidates:?}); install Debian's chromium and \
                 chromium-driver packages: apt-get install chromium chromium-driver"
            )
        })
}

async fn driver() -> Driver {
    let binary = executable(
        "chromedriver",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/status", driver.url))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver
}

async fn browser(driver: &Driver) -> Client {
    let chromium = executable(
        "chromium",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    );
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": ["--headless=new", "--no-sandbox",
            "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

fn origin(app: &TestApp) -> String {
    app.api.trim_end_matches("/elements/api-v2").to_owned()
}

/// Waits for an element (pages are server-rendered, but navigation is asynchronous).
async fn find(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

/// Clicks what navigates (a link, a form's button) and waits until the next page has replaced
/// this one, so nothing is read from the page being left.
async fn click_and_wait(client: &Client, locator: Locator<'_>) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    client.find(locator).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while old.tag_name().await.is_ok() {
        assert!(Instant::now() < deadline, "the page did not change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_user_signs_in_creates_an_instance_through_consent_polls_and_redelivers_an_event() {
    let app = spawn_app().await;
    let mut body = seed_body(&app.code().await);
    body["name"] = json!("Sales CRM");
    body["tags"] = json!(["east"]);
    app.expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    let mut other = seed_body(&app.code().await);
    other["name"] = json!("Support CRM");
    other["tags"] = json!(["west"]);
    app.expect(Method::POST, "/instances", Some(&other), StatusCode::OK)
        .await;

    let driver = driver().await;
    let client = browser(&driver).await;
    let site = origin(&app);

    // Signed out, the list sends the browser to sign-in.
    client.goto(&format!("{site}/")).await.unwrap();
    find(&client, "#sign-in").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/sign-in");
    shoot(&client, "1-sign-in").await;

    // Wrong secrets: the form says so.
    find(&client, "#user")
        .await
        .send_keys(USER_SECRET)
        .await
        .unwrap();
    find(&client, "#organization")
        .await
        .send_keys("not-the-organization-secret")
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("#sign-in")).await;
    let error = find(&client, "#sign-in-error").await.text().await.unwrap();
    assert_eq!(
        error,
        "The user secret or the organization secret is wrong."
    );
    shoot(&client, "2-sign-in-refused").await;

    // Right secrets: the instances.
    find(&client, "#user")
        .await
        .send_keys(USER_SECRET)
        .await
        .unwrap();
    find(&client, "#organization")
        .await
        .send_keys(ORG_SECRET)
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("#sign-in")).await;
    let table = find(&client, "#instances").await.text().await.unwrap();
    assert!(
        table.contains("Sales CRM") && table.contains("Support CRM"),
        "{table}"
    );
    assert!(table.contains("2 instances"), "{table}");
    shoot(&client, "3-instances").await;
    client.set_window_size(390, 844).await.unwrap();
    shoot(&client, "4-instances-phone").await;
    client.set_window_size(1280, 900).await.unwrap();

    // Search.
    let search = find(&client, "#q").await;
    search.send_keys("west").await.unwrap();
    click_and_wait(&client, Locator::Css("form[role=search] button")).await;
    let found = find(&client, "#instances").await.text().await.unwrap();
    assert!(
        found.contains("Support CRM") && !found.contains("Sales CRM"),
        "{found}"
    );
    shoot(&client, "5-search").await;

    // Create an instance: the form, then the provider's consent page, then back.
    client.goto(&format!("{site}/")).await.unwrap();
    click_and_wait(&client, Locator::Css("#new-instance-link")).await;
    find(&client, "#name")
        .await
        .send_keys("Browser CRM")
        .await
        .unwrap();
    find(&client, "#api_key")
        .await
        .send_keys("tributary-demo")
        .await
        .unwrap();
    find(&client, "#api_secret")
        .await
        .send_keys("tributary-demo-secret")
        .await
        .unwrap();
    find(&client, "#callback_url")
        .await
        .send_keys("https://receiver.example/events")
        .await
        .unwrap();
    for resource in ["appointments", "contacts"] {
        find(&client, &format!("input[name=resource][value={resource}]"))
            .await
            .click()
            .await
            .unwrap();
    }
    shoot(&client, "6-new-instance").await;
    click_and_wait(&client, Locator::Css("#connect")).await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&app.sim.url()),
        "at the provider's consent page"
    );
    shoot(&client, "7-consent").await;
    click_and_wait(&client, Locator::Css("button[name=allow][value=true]")).await;
    let heading = find(&client, "h1").await.text().await.unwrap();
    assert!(heading.starts_with("Browser CRM"), "{heading}");
    let pollers = find(&client, "#pollers").await.text().await.unwrap();
    assert!(
        pollers.contains("appointments") && pollers.contains("contacts"),
        "{pollers}"
    );

    // Poll now finds a change made at the provider; its event opens with its delivery,
    // which can be sent again.
    click_and_wait(&client, Locator::Css("#poll-now")).await;
    let notice = find(&client, "#notice").await.text().await.unwrap();
    assert_eq!(notice, "Polled 2 resources: 0 new events.");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    app.http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "appointments", "count": 1}))
        .send()
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("#poll-now")).await;
    let notice = find(&client, "#notice").await.text().await.unwrap();
    assert_eq!(notice, "Polled 2 resources: 1 new event.");
    let events = find(&client, "#events").await.text().await.unwrap();
    assert!(
        events.contains("appointments") && events.contains("CREATED"),
        "{events}"
    );
    shoot(&client, "8-instance").await;
    // The delivery worker's pass (stepped here) sends it to a callback that cannot be reached.
    tributary_server::delivery::Deliverer::new(app.state.clone(), 4)
        .unwrap()
        .run_once()
        .await;
    click_and_wait(&client, Locator::LinkText("details")).await;
    let attempts = find(&client, "#attempts").await.text().await.unwrap();
    assert!(attempts.contains("no answer"), "{attempts}");
    let body = find(&client, "#notification-body")
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("\"objectType\": \"appointments\""), "{body}");
    shoot(&client, "9-event").await;
    click_and_wait(&client, Locator::Css("#redeliver")).await;
    let notice = find(&client, "#notice").await.text().await.unwrap();
    assert!(
        notice.ends_with("is queued again and will be sent now."),
        "{notice}"
    );
    assert_eq!(
        find(&client, "#event-status").await.text().await.unwrap(),
        "QUEUED"
    );
    shoot(&client, "10-redelivered").await;

    // Sign out: back to sign-in, and the list is out of reach again.
    click_and_wait(&client, Locator::Css("#sign-out")).await;
    find(&client, "#sign-in").await;
    client.goto(&format!("{site}/")).await.unwrap();
    find(&client, "#sign-in").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/sign-in");
    client.close().await.unwrap();
    eprintln!("screenshots in {}", screenshots().display());
}
