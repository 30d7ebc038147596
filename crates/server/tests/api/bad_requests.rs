//! Bad requests: each gets the right status and a message naming the problem, and nothing that
//! was stored changes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A request body: JSON, or raw bytes with a content type.
enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    auth: Option<String>,
    body: Body,
    status: StatusCode,
    /// Every one of these must be in the message.
    needles: Vec<&'static str>,
}

fn case(
    what: &'static str,
    method: Method,
    path: &str,
    body: Body,
    status: StatusCode,
    needles: &[&'static str],
) -> Case {
    Case {
        what,
        method,
        path: path.to_owned(),
        auth: None,
        body,
        status,
        needles: needles.to_vec(),
    }
}

/// The seed body with one change applied.
fn seed_with(base: &Value, change: impl FnOnce(&mut Value)) -> Body {
    let mut body = base.clone();
    change(&mut body);
    Body::Json(body)
}

fn config_with(base: &Value, key: &str, value: Value) -> Body {
    seed_with(base, |b| {
        b["configuration"][key] = value;
    })
}

fn without_config(base: &Value, key: &str) -> Body {
    seed_with(base, |b| {
        b["configuration"].as_object_mut().unwrap().remove(key);
    })
}

fn poller(base: &Value, poller: Value) -> Body {
    config_with(base, "event.poller.configuration", poller)
}

async fn send(app: &TestApp, case: &Case) -> (StatusCode, Value) {
    let auth = case.auth.clone().unwrap_or_else(|| app.auth.clone());
    let mut request = app
        .http
        .request(case.method.clone(), format!("{}{}", app.api, case.path));
    if !auth.is_empty() {
        request = request.header("Authorization", auth);
    }
    request = match &case.body {
        Body::None => request,
        Body::Json(value) => request.json(value),
        Body::Raw(content_type, bytes) => request
            .header("Content-Type", *content_type)
            .body(bytes.clone()),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        body["requestId"].as_str(),
        request_id.as_deref(),
        "{}: the body names the request id",
        case.what
    );
    (status, body)
}

#[tokio::test]
async fn bad_requests_get_a_clear_error_and_change_nothing() {
    let app = spawn_app().await;
    let existing = app.create_seed_instance().await;
    let id = existing["id"].as_i64().unwrap();
    let entry = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/configuration"),
            None,
            StatusCode::OK,
        )
        .await[0]["id"]
        .as_i64()
        .unwrap();
    let snapshot = app.instances().await;
    let base = app.seed_body().await; // a valid body with an unused code
    let instance = format!("/instances/{id}");
    let valid_poller = crate::helpers::seed_poller()["appointments"].clone();

    let mut cases = vec![
        case(
            "malformed JSON",
            Method::POST,
            "/instances",
            Body::Raw("application/json", b"{\"name\": ".to_vec()),
            StatusCode::BAD_REQUEST,
            &["not valid JSON"],
        ),
        case(
            "a JSON array",
            Method::POST,
            "/instances",
            Body::Json(json!([1, 2])),
            StatusCode::BAD_REQUEST,
            &["JSON object"],
        ),
        case(
            "not JSON at all",
            Method::POST,
            "/instances",
            Body::Raw("text/plain", b"name=x".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &["Content-Type: application/json"],
        ),
        case(
            "no element",
            Method::POST,
            "/instances",
            seed_with(&base, |b| {
                b.as_object_mut().unwrap().remove("element");
            }),
            StatusCode::BAD_REQUEST,
            &["element.key is required"],
        ),
        case(
            "unknown element",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["element"]["key"] = json!("salesforce")),
            StatusCode::BAD_REQUEST,
            &["unknown element", "salesforce", "infusionsoftrest"],
        ),
        case(
            "element as a string",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["element"] = json!("infusionsoftrest")),
            StatusCode::BAD_REQUEST,
            &["element must be an object"],
        ),
        case(
            "no name",
            Method::POST,
            "/instances",
            seed_with(&base, |b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            StatusCode::BAD_REQUEST,
            &["name is required"],
        ),
        case(
            "name of the wrong type",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["name"] = json!(42)),
            StatusCode::BAD_REQUEST,
            &["name must be a string"],
        ),
        case(
            "blank name",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["name"] = json!("   ")),
            StatusCode::BAD_REQUEST,
            &["name must be 1 to 200"],
        ),
        case(
            "tags not an array",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["tags"] = json!("Docs")),
            StatusCode::BAD_REQUEST,
            &["tags must be an array"],
        ),
        case(
            "a tag that is a number",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["tags"] = json!(["ok", 7])),
            StatusCode::BAD_REQUEST,
            &["tags must be an array"],
        ),
        case(
            "no providerData",
            Method::POST,
            "/instances",
            seed_with(&base, |b| {
                b.as_object_mut().unwrap().remove("providerData");
            }),
            StatusCode::BAD_REQUEST,
            &["providerData is required"],
        ),
        case(
            "an empty code",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["providerData"]["code"] = json!("")),
            StatusCode::BAD_REQUEST,
            &["providerData.code"],
        ),
        case(
            "a code the provider rejects",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["providerData"]["code"] = json!("made-up-code")),
            StatusCode::BAD_REQUEST,
            &["refused the authorization code"],
        ),
        case(
            "no client id",
            Method::POST,
            "/instances",
            without_config(&base, "oauth.api.key"),
            StatusCode::BAD_REQUEST,
            &["configuration.oauth.api.key is required"],
        ),
        case(
            "no client secret",
            Method::POST,
            "/instances",
            without_config(&base, "oauth.api.secret"),
            StatusCode::BAD_REQUEST,
            &["configuration.oauth.api.secret is required"],
        ),
        case(
            "no callback URL for the code",
            Method::POST,
            "/instances",
            without_config(&base, "oauth.callback.url"),
            StatusCode::BAD_REQUEST,
            &["oauth.callback.url is required"],
        ),
        case(
            "refresh interval 0",
            Method::POST,
            "/instances",
            config_with(&base, "event.poller.refresh_interval", json!(0)),
            StatusCode::BAD_REQUEST,
            &["event.poller.refresh_interval", "whole number of minutes"],
        ),
        case(
            "refresh interval abc",
            Method::POST,
            "/instances",
            config_with(&base, "event.poller.refresh_interval", json!("abc")),
            StatusCode::BAD_REQUEST,
            &["event.poller.refresh_interval", "\"abc\""],
        ),
        case(
            "callback URL not http(s)",
            Method::POST,
            "/instances",
            config_with(
                &base,
                "event.notification.callback.url",
                json!("ftp://files.example/in"),
            ),
            StatusCode::BAD_REQUEST,
            &["event.notification.callback.url", "http or https"],
        ),
        case(
            "events on without a callback URL",
            Method::POST,
            "/instances",
            without_config(&base, "event.notification.callback.url"),
            StatusCode::BAD_REQUEST,
            &["event.notification.callback.url: is required when events are enabled"],
        ),
        case(
            "poller for an unknown resource",
            Method::POST,
            "/instances",
            poller(&base, json!({"widgets": valid_poller.clone()})),
            StatusCode::BAD_REQUEST,
            &["event.poller.configuration.widgets", "unknown resource"],
        ),
        case(
            "poller URL outside the hub",
            Method::POST,
            "/instances",
            poller(
                &base,
                json!({"appointments": {"url": "https://evil.example/x", "idField": "id", "datesConfiguration": valid_poller["datesConfiguration"].clone()}}),
            ),
            StatusCode::BAD_REQUEST,
            &["event.poller.configuration.appointments.url", "/hubs/crm/"],
        ),
        case(
            // A resource whose dates the element knows takes its idField from the element
            // (tests/api/cloud_elements.rs); one whose dates it does not know needs both.
            "poller without idField or dates for a resource without change dates",
            Method::POST,
            "/instances",
            poller(&base, json!({"companies": {"url": "/hubs/crm/companies"}})),
            StatusCode::BAD_REQUEST,
            &["companies.idField", "companies.datesConfiguration"],
        ),
        case(
            "poller without dates for a resource whose dates the element does not know",
            Method::POST,
            "/instances",
            poller(
                &base,
                json!({"products": {"url": "/hubs/crm/products", "idField": "id"}}),
            ),
            StatusCode::BAD_REQUEST,
            &["products.datesConfiguration", "is required"],
        ),
        case(
            "poller JSON string that is not JSON",
            Method::POST,
            "/instances",
            poller(&base, json!("{\"appointments\": ")),
            StatusCode::BAD_REQUEST,
            &["event.poller.configuration", "not valid JSON"],
        ),
        case(
            "unknown vendor type",
            Method::POST,
            "/instances",
            config_with(&base, "event.vendor.type", json!("carrier-pigeon")),
            StatusCode::BAD_REQUEST,
            &["event.vendor.type", "polling or webhooks"],
        ),
        case(
            "events switch that is not a boolean",
            Method::POST,
            "/instances",
            config_with(&base, "event.notification.enabled", json!("yes")),
            StatusCode::BAD_REQUEST,
            &["event.notification.enabled", "true or false"],
        ),
        case(
            "configuration not an object",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["configuration"] = json!(["a"])),
            StatusCode::BAD_REQUEST,
            &["configuration must be an object"],
        ),
        case(
            "several problems at once",
            Method::POST,
            "/instances",
            seed_with(&base, |b| {
                b["name"] = json!(1);
                b["configuration"]["event.poller.refresh_interval"] = json!("0");
                // Products have no change dates the element knows: nothing to default from.
                b["configuration"]["event.poller.configuration"] =
                    json!({"products": {"url": "/x"}});
            }),
            StatusCode::BAD_REQUEST,
            &[
                "name must be a string",
                "refresh_interval",
                "products.url",
                "products.idField",
                "products.datesConfiguration",
            ],
        ),
        case(
            "a body over the size limit",
            Method::POST,
            "/instances",
            Body::Raw("application/json", {
                let mut big = b"{\"name\": \"".to_vec();
                big.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
                big.extend(b"\"}");
                big
            }),
            StatusCode::PAYLOAD_TOO_LARGE,
            &["larger than 1048576 bytes"],
        ),
        case(
            "an instance that does not exist",
            Method::GET,
            "/instances/999999",
            Body::None,
            StatusCode::NOT_FOUND,
            &["no instance 999999"],
        ),
        case(
            "an id that is not a number",
            Method::GET,
            "/instances/abc",
            Body::None,
            StatusCode::NOT_FOUND,
            &["positive integers"],
        ),
        case(
            "changing the element",
            Method::PATCH,
            &instance,
            Body::Json(json!({"element": {"key": "other"}})),
            StatusCode::BAD_REQUEST,
            &["element.key cannot change"],
        ),
        case(
            "patching bad tags",
            Method::PATCH,
            &instance,
            Body::Json(json!({"tags": [""]})),
            StatusCode::BAD_REQUEST,
            &["tags must be an array"],
        ),
        case(
            "patching refresh interval 0",
            Method::PATCH,
            &instance,
            Body::Json(json!({"configuration": {"event.poller.refresh_interval": "0"}})),
            StatusCode::BAD_REQUEST,
            &["event.poller.refresh_interval"],
        ),
        case(
            "patching away the callback URL of enabled events",
            Method::PATCH,
            &instance,
            Body::Json(json!({"configuration": {"event.notification.callback.url": null}})),
            StatusCode::BAD_REQUEST,
            &["event.notification.callback.url"],
        ),
        case(
            "patching with a rejected code",
            Method::PATCH,
            &instance,
            Body::Json(json!({"providerData": {"code": "stale"}})),
            StatusCode::BAD_REQUEST,
            &["refused the authorization code"],
        ),
        case(
            "an unknown configuration entry",
            Method::PATCH,
            &format!("{instance}/configuration/999999"),
            Body::Json(json!({"propertyValue": "1"})),
            StatusCode::NOT_FOUND,
            &["no configuration entry 999999"],
        ),
        case(
            "an entry patch without a value",
            Method::PATCH,
            &format!("{instance}/configuration/{entry}"),
            Body::Json(json!({"value": "1"})),
            StatusCode::BAD_REQUEST,
            &["propertyValue is required"],
        ),
        case(
            "a PUT without configuration",
            Method::PUT,
            &instance,
            Body::Json(json!({"name": "x"})),
            StatusCode::BAD_REQUEST,
            &["configuration is required"],
        ),
        case(
            "a method the route lacks",
            Method::DELETE,
            "/instances",
            Body::None,
            StatusCode::METHOD_NOT_ALLOWED,
            &["DELETE is not allowed on /elements/api-v2/instances"],
        ),
        case(
            "an unknown route",
            Method::GET,
            "/nothing-here",
            Body::None,
            StatusCode::NOT_FOUND,
            &["no such resource"],
        ),
        case(
            "an unknown element in the path",
            Method::POST,
            "/elements/salesforce/instances",
            Body::Json(base.clone()),
            StatusCode::NOT_FOUND,
            &["no element \"salesforce\""],
        ),
        case(
            "an oauth URL without callback",
            Method::GET,
            "/elements/infusionsoftrest/oauth/url?apiKey=a",
            Body::None,
            StatusCode::BAD_REQUEST,
            &["callbackUrl is required"],
        ),
    ];
    let auth_cases: [(&str, &str, &[&str]); 5] = [
        (
            "wrong secrets",
            "User nope-nope-nope, Organization nope-nope-nope",
            &["secret is wrong"],
        ),
        (
            "no Authorization header",
            "",
            &["missing Authorization header"],
        ),
        (
            "only a user secret",
            "User test-user-secret-00000000001",
            &["needs both User and Organization"],
        ),
        (
            "a bearer token",
            "Bearer abc",
            &["expected User, Organization or Element"],
        ),
        (
            "a user of the right org swapped",
            "User test-organization-secret-0001, Organization test-user-secret-00000000001",
            &["secret is wrong"],
        ),
    ];
    for (what, auth, needles) in auth_cases {
        let mut c = case(
            what,
            Method::POST,
            "/instances",
            Body::Json(base.clone()),
            StatusCode::UNAUTHORIZED,
            needles,
        );
        c.auth = Some(auth.to_owned());
        cases.push(c);
    }
    assert!(cases.len() >= 30, "{} cases", cases.len());

    for case in &cases {
        let (status, body) = send(&app, case).await;
        assert_eq!(status, case.status, "{}: {body}", case.what);
        let message = body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no message in {body}", case.what));
        for needle in &case.needles {
            assert!(
                message.contains(needle),
                "{}: {needle:?} not in {message:?}",
                case.what
            );
        }
        assert_eq!(
            app.instances().await,
            snapshot,
            "{}: stored data changed",
            case.what
        );
    }

    // The provider's own words come back as providerMessage.
    let (_, body) = send(
        &app,
        &case(
            "rejected code",
            Method::POST,
            "/instances",
            seed_with(&base, |b| b["providerData"]["code"] = json!("made-up-code")),
            StatusCode::BAD_REQUEST,
            &[],
        ),
    )
    .await;
    assert_eq!(body["providerMessage"], "Invalid authorization code");
}

#[tokio::test]
async fn a_provider_outage_during_the_exchange_is_a_502_and_stores_nothing() {
    let app = spawn_app().await;
    let body = app.seed_body().await;
    app.http
        .post(format!("{}/_sim/faults", app.sim.url()))
        .json(&json!({"status": 503, "resource": "token"}))
        .send()
        .await
        .unwrap();
    let response = app.call(Method::POST, "/instances", Some(&body)).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{error}"
    );
    assert!(
        error["providerMessage"].as_str().unwrap().contains("503"),
        "{error}"
    );
    assert!(app.instances().await.is_empty());
}
