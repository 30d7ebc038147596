//! The web UI over plain HTTP: sign-in, sessions, CSRF, the instances list. (The same pages in a
//! real browser: `tests/browser.rs`.)

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    ORG_SECRET, TestApp, USER_SECRET, contacts_poller, csrf_field, seed_body, spawn_app,
    spawn_app_on_manual_clock, submit_sign_in,
};
use tributary_simulator::Config;

mod edit;
mod log;

/// A browser-like client without redirects or a cookie store: the test carries cookies itself.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn origin(app: &TestApp) -> String {
    app.api.trim_end_matches("/elements/api-v2").to_owned()
}

/// The value a response sets for a cookie.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
}

/// Signs in through the form; returns the session cookie.
async fn sign_in(app: &TestApp) -> String {
    let signed_in = submit_sign_in(&client(), &origin(app), USER_SECRET, ORG_SECRET).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/");
    let cookie = set_cookie(&signed_in, "tributary_session").unwrap();
    let header = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("tributary_session="))
        .unwrap();
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax"),
        "{header}"
    );
    cookie
}

async fn get_page(app: &TestApp, path: &str, session: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", origin(app)));
    if let Some(session) = session {
        request = request.header(COOKIE, format!("tributary_session={session}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_signed_out_visitor_reaches_only_the_sign_in_page() {
    let app = spawn_app().await;
    let id = contacts_instance(&app).await;
    for path in [
        "/".to_owned(),
        "/?q=x".to_owned(),
        "/ui/instances/new".to_owned(),
        format!("/ui/instances/{id}"),
        format!("/ui/instances/{id}/live"),
        format!("/ui/instances/{id}/events/some-event"),
        "/ui/oauth/callback?code=c&state=s".to_owned(),
    ] {
        let response = get_page(&app, &path, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/sign-in", "{path}");
    }
    for path in [
        "/ui/instances/new".to_owned(),
        format!("/ui/instances/{id}/poll"),
        format!("/ui/instances/{id}/recover"),
        format!("/ui/instances/{id}/events/some-event/redeliver"),
    ] {
        let response = client()
            .post(format!("{}{path}", origin(&app)))
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[LOCATION], "/sign-in", "POST {path}");
    }
    let polled = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/pollers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(
        polled[0]["lastPollDate"].is_null(),
        "no signed-out request polled: {polled}"
    );
    let forged = get_page(&app, "/", Some("not-a-session")).await;
    assert_eq!(forged.headers()[LOCATION], "/sign-in");
    let sign_out = client()
        .post(format!("{}/sign-out", origin(&app)))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(sign_out.headers()[LOCATION], "/sign-in");
    let page = get_page(&app, "/sign-in", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<label for=\"user\">User secret</label>"),
        "{html}"
    );
}

#[tokio::test]
async fn signing_in_needs_the_forms_csrf_token_and_both_right_secrets() {
    let app = spawn_app().await;
    let http = client();
    let form = http
        .get(format!("{}/sign-in", origin(&app)))
        .send()
        .await
        .unwrap();
    let csrf_cookie = set_cookie(&form, "tributary_csrf").unwrap();
    let csrf = csrf_field(&form.text().await.unwrap());
    assert_eq!(csrf, csrf_cookie);
    let attempt = |cookie: Option<String>, token: &str, user: &str, organization: &str| {
        let mut request = http.post(format!("{}/sign-in", origin(&app)));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, format!("tributary_csrf={cookie}"));
        }
        request
            .form(&[
                ("user", user.to_owned()),
                ("organization", organization.to_owned()),
                ("csrf", token.to_owned()),
            ])
            .send()
    };
    for (cookie, token) in [
        (None, csrf.as_str()),
        (Some(csrf_cookie.clone()), ""),
        (Some(csrf_cookie.clone()), "forged"),
    ] {
        let refused = attempt(cookie, token, USER_SECRET, ORG_SECRET)
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&refused, "tributary_session").is_none());
        let html = refused.text().await.unwrap();
        assert!(html.contains("CSRF token is missing or wrong"), "{html}");
    }
    let wrong = attempt(
        Some(csrf_cookie.clone()),
        &csrf,
        USER_SECRET,
        "wrong-organization",
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong, "tributary_session").is_none());
    let html = wrong.text().await.unwrap();
    assert!(
        html.contains("The user secret or the organization secret is wrong."),
        "{html}"
    );
    assert!(!html.contains(USER_SECRET), "a secret is never echoed");
    let empty = attempt(Some(csrf_cookie.clone()), &csrf, "  ", ORG_SECRET)
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("Enter both"));
}

#[tokio::test]
async fn the_instances_list_shows_the_organizations_instances_and_searches_them() {
    let app = spawn_app().await;
    let mut body = seed_body(&app.code().await);
    body["name"] = json!("Sales CRM");
    body["tags"] = json!(["east", "prod"]);
    app.expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    let mut other = seed_body(&app.code().await);
    // `<` that opens no tag stays (a tag would be stripped, as Cloud Elements strips them).
    other["name"] = json!("Support <3 CRM");
    other["tags"] = json!(["west"]);
    app.expect(Method::POST, "/instances", Some(&other), StatusCode::OK)
        .await;

    let session = sign_in(&app).await;
    let page = get_page(&app, "/", Some(&session)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("2 instances"), "{html}");
    assert!(
        html.contains("Sales CRM")
            && html.contains("<span class=\"tag\">east</span> <span class=\"tag\">prod</span>"),
        "{html}"
    );
    assert!(
        html.contains("Support &#60;3 CRM") || html.contains("Support &lt;3 CRM"),
        "names are escaped: {html}"
    );
    assert!(html.contains("Infusionsoft REST · #1"), "{html}");
    assert!(
        html.contains("<span class=\"badge info\">events on</span>")
            && html.contains("1 resource polled"),
        "{html}"
    );

    let found = get_page(&app, "/?q=WEST", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        found.contains("1 instance<") || found.contains("1 instance\n"),
        "{found}"
    );
    assert!(
        found.contains("Support") && !found.contains("Sales CRM"),
        "{found}"
    );
    let none = get_page(&app, "/?q=nothing-like-this", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No instance matches"), "{none}");
}

#[tokio::test]
async fn signing_out_needs_the_sessions_csrf_token_and_ends_the_session() {
    let app = spawn_app().await;
    let session = sign_in(&app).await;
    let page = get_page(&app, "/", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&page);
    let sign_out = |token: String| {
        client()
            .post(format!("{}/sign-out", origin(&app)))
            .header(COOKIE, format!("tributary_session={session}"))
            .form(&[("csrf", token)])
            .send()
    };
    let refused = sign_out("forged".into()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get_page(&app, "/", Some(&session)).await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let done = sign_out(csrf).await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()[LOCATION], "/sign-in");
    assert_eq!(set_cookie(&done, "tributary_session").as_deref(), Some(""));
    let after = get_page(&app, "/", Some(&session)).await;
    assert_eq!(
        after.headers()[LOCATION],
        "/sign-in",
        "the old cookie no longer works"
    );
}

/// An instance polling contacts (delivering to a callback that cannot be reached); returns its
/// id after a first poll has set the cursor.
async fn contacts_instance(app: &TestApp) -> i64 {
    let mut body = seed_body(&app.code().await);
    body["name"] = json!("Contacts feed");
    body["configuration"]["event.poller.configuration"] = contacts_poller();
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    created["id"].as_i64().unwrap()
}

async fn post_form(app: &TestApp, path: &str, session: &str, csrf: &str) -> (StatusCode, String) {
    let response = client()
        .post(format!("{}{path}", origin(app)))
        .header(COOKIE, format!("tributary_session={session}"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_instance_page_polls_lists_filters_and_opens_events_with_their_deliveries() {
    let app = spawn_app_on_manual_clock(Config::default(), |_| {}).await;
    let id = contacts_instance(&app).await;
    let session = sign_in(&app).await;
    let path = format!("/ui/instances/{id}");
    let html = get_page(&app, &path, Some(&session))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&html);
    assert!(html.contains("Contacts feed"), "{html}");
    assert!(
        html.contains("<code>oauth.api.secret</code></td><td><code class=\"wrap\">********</code>"),
        "secrets are masked: {html}"
    );
    assert!(!html.contains("tributary-demo-secret"), "{html}");

    let (status, polled) = post_form(&app, &format!("{path}/poll"), &session, &csrf).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        polled.contains("Polled 1 resource: 0 new events."),
        "{polled}"
    );
    app.advance_ms(1_000); // the new records in a later second than the cursor
    app.http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "contacts", "count": 2}))
        .send()
        .await
        .unwrap();
    let (_, polled) = post_form(&app, &format!("{path}/poll"), &session, &csrf).await;
    assert!(
        polled.contains("Polled 1 resource: 2 new events."),
        "{polled}"
    );
    assert!(polled.contains("The latest 2 events"), "{polled}");
    let (refused, _) = post_form(&app, &format!("{path}/poll"), &session, "forged").await;
    assert_eq!(refused, StatusCode::FORBIDDEN);

    // Filters: a bad one gets the API's message; a narrow one can find nothing.
    let bad = get_page(&app, &format!("{path}?status=bogus"), Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        bad.contains("status must be NEW, QUEUED, NOTIFIED or FAILED, got &#34;BOGUS&#34;")
            || bad
                .contains("status must be NEW, QUEUED, NOTIFIED or FAILED, got &quot;BOGUS&quot;"),
        "{bad}"
    );
    let none = get_page(&app, &format!("{path}?eventType=DELETED"), Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No events match these filters."), "{none}");
    let live = get_page(&app, &format!("{path}/live?status=NEW"), Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        live.contains("The latest 2 events") && !live.contains("<html"),
        "{live}"
    );

    // Delivery (the callback cannot be reached): the event page shows the body and attempt.
    let deliverer = tributary_server::delivery::Deliverer::new(app.state.clone(), 4).unwrap();
    deliverer.run_once().await;
    let events = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/events"),
            None,
            StatusCode::OK,
        )
        .await;
    let event_id = events[0]["eventId"].as_str().unwrap().to_owned();
    let event_path = format!("{path}/events/{event_id}");
    let event = get_page(&app, &event_path, Some(&session))
        .await
        .text()
        .await
        .unwrap();
    assert!(event.contains("id=\"notification-body\""), "{event}");
    assert!(
        event.contains("instance-") && event.contains("events"),
        "{event}"
    );
    assert!(
        event.contains("id=\"attempts\"") && event.contains("<strong>no answer</strong>"),
        "an attempt was made: {event}"
    );
    let (status, redelivered) =
        post_form(&app, &format!("{event_path}/redeliver"), &session, &csrf).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        redelivered.contains("is queued again and will be sent now."),
        "{redelivered}"
    );
    assert!(
        redelivered.contains("id=\"event-status\">QUEUED</span>"),
        "{redelivered}"
    );
    let (status, recovered) = post_form(&app, &format!("{path}/recover"), &session, &csrf).await;
    assert_eq!(status, StatusCode::OK);
    assert!(recovered.contains("Nothing to recover") || recovered.contains("queued again"));

    // Someone else's (or no) instance is a 404 page.
    let missing = get_page(&app, "/ui/instances/999", Some(&session)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let unknown = get_page(&app, &format!("{path}/events/nope"), Some(&session)).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get_page(&app, &path, None).await.headers()[LOCATION],
        "/sign-in"
    );
}

/// Posts the new-instance form with these fields (and the session's CSRF token).
async fn post_new_instance(
    app: &TestApp,
    session: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    client()
        .post(format!("{}/ui/instances/new", origin(app)))
        .header(COOKIE, format!("tributary_session={session}"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A field's error paragraph, if the page has one.
fn field_error(html: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split("</p>").next()?.to_owned())
}

#[tokio::test]
async fn bad_input_in_the_new_instance_form_gets_the_apis_message_next_to_the_field() {
    let app = spawn_app().await;
    let session = sign_in(&app).await;
    let page = get_page(&app, "/ui/instances/new", Some(&session)).await;
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&app.sim.url()),
        "the form may lead to the provider's consent page"
    );
    let html = page.text().await.unwrap();
    let csrf = csrf_field(&html);
    assert!(
        html.contains("name=\"resource\" value=\"contacts\""),
        "{html}"
    );
    assert!(html.contains("type=\"range\""), "{html}");
    assert!(html.contains("/ui/oauth/callback"), "{html}");

    let bad_json = post_new_instance(
        &app,
        &session,
        &csrf,
        &[
            ("element", "infusionsoftrest"),
            ("name", "x"),
            ("pollers_json", "{\"contacts\": "),
        ],
    )
    .await;
    assert_eq!(bad_json.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad_json.text().await.unwrap();
    assert!(
        field_error(&html, "pollers_json")
            .unwrap()
            .starts_with("configuration.event.poller.configuration is not valid JSON"),
        "{html}"
    );

    let bad = post_new_instance(
        &app,
        &session,
        &csrf,
        &[
            ("element", "infusionsoftrest"),
            ("name", ""),
            ("api_key", "tributary-demo"),
            ("api_secret", "the-secret-typed"),
            ("oauth_callback", "https://app.example/oauth"),
            ("events", "on"),
            ("callback_url", "ftp://receiver.example/x"),
            ("refresh", "0"),
            ("resource", "contacts"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert_eq!(
        field_error(&html, "name").as_deref(),
        Some("name must be 1 to 200 characters"),
        "{html}"
    );
    assert!(
        field_error(&html, "callback_url")
            .unwrap()
            .starts_with("configuration.event.notification.callback.url"),
        "{html}"
    );
    assert!(
        field_error(&html, "refresh")
            .unwrap()
            .starts_with("configuration.event.poller.refresh_interval"),
        "{html}"
    );
    assert!(
        !html.contains("the-secret-typed"),
        "a secret is never sent back"
    );
    assert!(
        html.contains("value=\"tributary-demo\""),
        "the rest is kept: {html}"
    );
    // The API says the same about the same body.
    let api = app
        .call(
            Method::POST,
            "/instances",
            Some(&json!({"element": {"key": "infusionsoftrest"}, "name": "",
                "providerData": {"code": "x"}, "configuration": {
                "oauth.api.key": "tributary-demo", "oauth.api.secret": "s",
                "oauth.callback.url": "https://app.example/oauth",
                "event.notification.enabled": true,
                "event.notification.callback.url": "ftp://receiver.example/x",
                "event.poller.refresh_interval": "0",
                "event.poller.configuration": {}}})),
        )
        .await;
    let api: serde_json::Value = api.json().await.unwrap();
    let api_message = api["message"].as_str().unwrap();
    for field in ["name", "callback_url", "refresh"] {
        let shown = field_error(&html, field).unwrap().replace("&#34;", "\"");
        assert!(
            api_message.contains(&shown),
            "{shown} is not in {api_message}"
        );
    }
    let forged = post_new_instance(&app, &session, "forged", &[("name", "x")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn connect_goes_through_the_consent_page_and_comes_back_to_create_the_instance_once() {
    let app = spawn_app().await;
    let session = sign_in(&app).await;
    let html = get_page(&app, "/ui/instances/new", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_field(&html);
    let own_callback = format!("{}/ui/oauth/callback", origin(&app));
    let sent = post_new_instance(
        &app,
        &session,
        &csrf,
        &[
            ("element", "infusionsoftrest"),
            ("name", "From the browser"),
            ("tags", "ui, demo"),
            ("api_key", "tributary-demo"),
            ("api_secret", "tributary-demo-secret"),
            ("oauth_callback", own_callback.as_str()),
            ("events", "on"),
            ("callback_url", "https://receiver.example/events"),
            ("signature_key", "ui-signing-key"),
            ("refresh", "5"),
            ("resource", "contacts"),
            ("resource", "tasks"),
        ],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let consent = sent.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        consent.starts_with(&format!("{}/app/oauth/authorize?", app.sim.url())),
        "{consent}"
    );
    assert!(!consent.contains("tributary-demo-secret"), "{consent}");
    // The user allows access at the provider, which sends the browser back.
    let allowed = client()
        .post(&consent)
        .form(&[("allow", "true")])
        .send()
        .await
        .unwrap();
    let back = allowed.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(back.starts_with(&own_callback), "{back}");
    let path = back.trim_start_matches(&origin(&app)).to_owned();

    let other = sign_in(&app).await;
    let stolen = get_page(&app, &path, Some(&other)).await;
    assert_eq!(
        stolen.status(),
        StatusCode::BAD_REQUEST,
        "another session cannot finish it"
    );
    let finished = get_page(&app, &path, Some(&session)).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    let instance_page = finished.headers()[LOCATION].to_str().unwrap().to_owned();
    let id: i64 = instance_page
        .trim_start_matches("/ui/instances/")
        .parse()
        .unwrap();
    let created = app
        .expect(
            Method::GET,
            &format!("/instances/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(created["name"], "From the browser");
    assert_eq!(created["tags"], json!(["ui", "demo"]));
    assert_eq!(
        created["configuration"]["event.poller.refresh_interval"],
        "5"
    );
    assert_eq!(
        created["configuration"]["event.notification.signature.key"],
        "********"
    );
    let pollers = &created["configuration"]["event.poller.configuration"];
    let pollers: serde_json::Value = match pollers {
        serde_json::Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    let mut resources: Vec<&String> = pollers.as_object().unwrap().keys().collect();
    resources.sort();
    assert_eq!(resources, ["contacts", "tasks"]);
    let again = get_page(&app, &path, Some(&session)).await;
    assert_eq!(
        again.status(),
        StatusCode::BAD_REQUEST,
        "a consent is used once"
    );
    let instances = app
        .expect(Method::GET, "/instances", None, StatusCode::OK)
        .await;
    assert_eq!(instances.as_array().unwrap().len(), 1, "created once");
}

/// HTML text as the user reads it (askama escapes quotes and brackets).
fn unescape(html: &str) -> String {
    html.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The form and `POST /instances` reach the same service: the same bad values read the same
/// through both, word for word.
#[tokio::test]
async fn a_bad_value_reads_the_same_in_the_new_instance_form_and_through_the_api() {
    let app = spawn_app().await;
    let session = sign_in(&app).await;
    let page = get_page(&app, "/ui/instances/new", Some(&session)).await;
    let csrf = csrf_field(&page.text().await.unwrap());
    let form = post_new_instance(
        &app,
        &session,
        &csrf,
        &[
            ("element", "infusionsoftrest"),
            ("name", "   "),
            ("api_key", "tributary-demo"),
            ("api_secret", "tributary-demo-secret"),
            ("oauth_callback", "https://app.example/oauth"),
            ("events", "on"),
            ("callback_url", "https://receiver.example/events"),
            ("refresh", "0"),
            ("resource", "appointments"),
        ],
    )
    .await;
    assert_eq!(form.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = form.text().await.unwrap();

    let mut body = seed_body("a-code-never-exchanged");
    body["name"] = json!("   ");
    body["configuration"]["event.poller.refresh_interval"] = json!("0");
    let api = app
        .expect(
            Method::POST,
            "/instances",
            Some(&body),
            StatusCode::BAD_REQUEST,
        )
        .await;
    let message = api["message"].as_str().unwrap();
    let problems: Vec<&str> = message
        .strip_prefix("invalid instance: ")
        .unwrap()
        .split("; ")
        .collect();
    for field in ["name", "refresh"] {
        let shown = unescape(&field_error(&html, field).unwrap());
        assert!(
            problems.contains(&shown.as_str()),
            "{shown:?} in {problems:?}"
        );
    }
    assert_eq!(problems.len(), 2, "nothing else is wrong: {problems:?}");
}
