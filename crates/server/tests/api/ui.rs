//! The web UI over plain HTTP: sign-in, sessions, CSRF, the instances list. (The same pages in a
//! real browser: `tests/browser.rs`.)

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ORG_SECRET, TestApp, USER_SECRET, seed_body, spawn_app};

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

/// The hidden CSRF field of a page.
fn csrf_field(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Signs in through the form; returns the session cookie.
async fn sign_in(app: &TestApp) -> String {
    let http = client();
    let form = http
        .get(format!("{}/sign-in", origin(app)))
        .send()
        .await
        .unwrap();
    let csrf_cookie = set_cookie(&form, "tributary_csrf").unwrap();
    let csrf = csrf_field(&form.text().await.unwrap());
    let signed_in = http
        .post(format!("{}/sign-in", origin(app)))
        .header(COOKIE, format!("tributary_csrf={csrf_cookie}"))
        .form(&[
            ("user", USER_SECRET),
            ("organization", ORG_SECRET),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
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
    for path in ["/", "/?q=x"] {
        let response = get_page(&app, path, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/sign-in", "{path}");
    }
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
    other["name"] = json!("Support <CRM>");
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
        html.contains("Sales CRM") && html.contains("east, prod"),
        "{html}"
    );
    assert!(
        html.contains("Support &#60;CRM&#62;") || html.contains("Support &lt;CRM&gt;"),
        "names are escaped: {html}"
    );
    assert!(html.contains("infusionsoftrest"));
    assert!(html.contains("on (1 resource)"), "{html}");

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
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    body["name"] = json!("Contacts feed");
    body["configuration"]["event.poller.configuration"] = json!({"contacts": {
        "url": "/hubs/crm/contacts", "idField": "id", "datesConfiguration": {
            "updatedDateField": "last_updated", "updatedDateFormat": format,
            "createdDateField": "date_created", "createdDateFormat": format}}});
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
    let app = spawn_app().await;
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
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
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
        event.contains("id=\"attempts\""),
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
        redelivered.contains("<dd id=\"event-status\">QUEUED</dd>"),
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
