//! Creating an instance from the browser: the form, "Connect" through the provider's consent
//! page, and the OAuth callback that finishes it.
//!
//! The form becomes the API's create body and gets the API's checks before the browser leaves
//! (each problem shown next to its field, in the API's words). It then waits in the database,
//! sealed (it holds the app secret and the signature key), under the hash of a random OAuth
//! `state` and the session that started it; the consent page's redirect to
//! `/ui/oauth/callback` brings the code and the state back, and only that session can finish
//! it, once, within ten minutes.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::session::same_token;
use super::{UiSession, failed, forbidden_form, message, page_with_form_targets};
use crate::api::instances::{CreateRefused, check_new_instance, create_from_body};
use crate::app::AppState;
use crate::secrets::{hash_secret, random_secret};

const CONNECT_MS: i64 = 10 * 60_000;
/// What the pending form is sealed for (the vault binds a purpose to each sealed value).
const SEAL_PURPOSE: &str = "ui.connect.form";

/// What the user typed (secrets are never sent back into a page).
#[derive(Debug, Clone, Default)]
pub(super) struct NewInstanceForm {
    element: String,
    name: String,
    tags: String,
    api_key: String,
    api_secret: String,
    oauth_callback: String,
    events: bool,
    callback_url: String,
    signature_key: String,
    refresh: String,
    resources: Vec<String>,
    pollers_json: String,
}

impl NewInstanceForm {
    fn from_fields(fields: &[(String, String)]) -> NewInstanceForm {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        NewInstanceForm {
            element: get("element"),
            name: get("name"),
            tags: get("tags"),
            api_key: get("api_key"),
            api_secret: get("api_secret"),
            oauth_callback: get("oauth_callback"),
            events: get("events") == "on",
            callback_url: get("callback_url"),
            signature_key: get("signature_key"),
            refresh: get("refresh"),
            resources: fields
                .iter()
                .filter(|(k, _)| k == "resource")
                .map(|(_, v)| v.clone())
                .collect(),
            pollers_json: get("pollers_json"),
        }
    }

    /// The API's create body; a poller JSON that does not parse is a field error.
    fn body(&self, state: &AppState, code: &str) -> Result<Value, Vec<String>> {
        let pollers = if self.pollers_json.is_empty() {
            let mut map = Map::new();
            if let Some(element) = state.registry.get(&self.element) {
                for resource in &element.resources {
                    if self.resources.contains(&resource.name)
                        && let Some(default) = resource.default_poller(&element.hub)
                    {
                        map.insert(resource.name.clone(), default);
                    }
                }
            }
            Value::Object(map)
        } else {
            serde_json::from_str::<Value>(&self.pollers_json).map_err(|e| {
                vec![format!(
                    "configuration.event.poller.configuration is not valid JSON: {e}"
                )]
            })?
        };
        let mut configuration = json!({
            "oauth.api.key": self.api_key,
            "oauth.api.secret": self.api_secret,
            "oauth.callback.url": self.oauth_callback,
            "event.notification.enabled": self.events,
            "event.vendor.type": "polling",
            "event.poller.refresh_interval": self.refresh,
            "event.poller.configuration": pollers,
        });
        for (key, value) in [
            ("event.notification.callback.url", &self.callback_url),
            ("event.notification.signature.key", &self.signature_key),
        ] {
            if !value.is_empty() {
                configuration[key] = json!(value);
            }
        }
        let tags: Vec<&str> = self
            .tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        Ok(json!({
            "element": {"key": self.element},
            "name": self.name,
            "tags": tags,
            "providerData": {"code": code},
            "configuration": configuration,
        }))
    }

    /// The form again from a pending body (when the provider's answer failed the create).
    fn from_body(body: &Value) -> NewInstanceForm {
        let config = &body["configuration"];
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let pollers = &config["event.poller.configuration"];
        NewInstanceForm {
            element: text(&body["element"]["key"]),
            name: text(&body["name"]),
            tags: body["tags"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            api_key: text(&config["oauth.api.key"]),
            api_secret: String::new(),
            oauth_callback: text(&config["oauth.callback.url"]),
            events: config["event.notification.enabled"] == json!(true),
            callback_url: text(&config["event.notification.callback.url"]),
            signature_key: String::new(),
            refresh: text(&config["event.poller.refresh_interval"]),
            resources: pollers
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            pollers_json: serde_json::to_string_pretty(pollers).unwrap_or_default(),
        }
    }
}

/// The form field an API error is about (the part before its first space names it).
fn field_of(error: &str) -> Option<&'static str> {
    let subject = error.split_whitespace().next().unwrap_or_default();
    let subject = subject.trim_end_matches(':');
    let config = subject.strip_prefix("configuration.").unwrap_or("");
    match subject {
        "name" => Some("name"),
        "tags" => Some("tags"),
        _ if config.starts_with("event.poller.configuration") => Some("pollers_json"),
        _ if config.starts_with("event.poller.refresh_interval") => Some("refresh"),
        _ if config.starts_with("event.notification.callback.url") => Some("callback_url"),
        _ if config.starts_with("event.notification.signature") => Some("signature_key"),
        _ if config.starts_with("event.notification.enabled") => Some("events"),
        _ if config.starts_with("oauth.api.key") => Some("api_key"),
        _ if config.starts_with("oauth.api.secret") => Some("api_secret"),
        _ if config.starts_with("oauth.callback.url") => Some("oauth_callback"),
        _ => None,
    }
}

/// A resource's checkbox.
pub(super) struct ResourceBox {
    name: String,
    path: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "new_instance.html")]
struct NewInstancePage {
    csrf: String,
    form: NewInstanceForm,
    elements: Vec<(String, String)>,
    resources: Vec<ResourceBox>,
    defaults: String,
    own_callback: String,
    /// (field, message) pairs.
    field_errors: Vec<(&'static str, String)>,
    general_errors: Vec<String>,
}

impl NewInstancePage {
    fn error_for(&self, field: &str) -> Option<String> {
        let errors: Vec<&str> = self
            .field_errors
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    }
}

/// Tributary's own OAuth callback, as the browser reaches this server.
fn own_callback(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}/ui/oauth/callback")
}

fn render_form(
    state: &AppState,
    session: &UiSession,
    headers: &HeaderMap,
    status: StatusCode,
    form: NewInstanceForm,
    errors: Vec<String>,
) -> Response {
    let element = state
        .registry
        .get(&form.element)
        .or_else(|| state.registry.all().first().cloned());
    let (resources, defaults) = match &element {
        Some(element) => {
            let defaults = element.default_poller_configuration();
            let boxes = element
                .resources
                .iter()
                .filter(|r| r.default_poller(&element.hub).is_some())
                .map(|r| ResourceBox {
                    name: r.name.clone(),
                    path: format!("/hubs/{}/{}", element.hub, r.name),
                    checked: form.resources.contains(&r.name),
                })
                .collect();
            (
                boxes,
                serde_json::to_string_pretty(&defaults).unwrap_or_default(),
            )
        }
        None => (Vec::new(), String::new()),
    };
    let mut field_errors = Vec::new();
    let mut general_errors = Vec::new();
    for error in errors {
        match field_of(&error) {
            Some(field) => field_errors.push((field, error)),
            None => general_errors.push(error),
        }
    }
    // The consent pages the form's answer may redirect to.
    let consent_origins: Vec<String> = state
        .registry
        .all()
        .iter()
        .filter_map(|e| reqwest::Url::parse(&e.auth.authorization_url).ok())
        .map(|url| url.origin().ascii_serialization())
        .collect();
    page_with_form_targets(
        status,
        &NewInstancePage {
            csrf: session.csrf.clone(),
            elements: state
                .registry
                .all()
                .iter()
                .map(|e| (e.key.clone(), format!("{} ({})", e.name, e.key)))
                .collect(),
            resources,
            defaults,
            own_callback: own_callback(headers),
            form,
            field_errors,
            general_errors,
        },
        &consent_origins,
    )
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
) -> Response {
    let form = NewInstanceForm {
        element: state
            .registry
            .all()
            .first()
            .map(|e| e.key.clone())
            .unwrap_or_default(),
        oauth_callback: own_callback(&headers),
        events: true,
        refresh: "15".into(),
        ..NewInstanceForm::default()
    };
    render_form(&state, &session, &headers, StatusCode::OK, form, Vec::new())
}

pub(super) async fn connect(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if !same_token(&session.csrf, csrf) {
        return forbidden_form();
    }
    let form = NewInstanceForm::from_fields(&fields);
    let refuse = |errors: Vec<String>| {
        let mut form = form.clone();
        (form.api_secret, form.signature_key) = (String::new(), String::new());
        render_form(
            &state,
            &session,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
        )
    };
    // The API's checks, with a stand-in code: the real one comes back from the consent page.
    let body = match form.body(&state, "pending") {
        Ok(body) => body,
        Err(errors) => return refuse(errors),
    };
    match check_new_instance(&state, &body) {
        Ok(()) => {}
        Err(CreateRefused::Invalid(errors)) => return refuse(errors),
        Err(CreateRefused::Other(error)) => return refuse(vec![error.user_message()]),
    }
    let Some(element) = state.registry.get(&form.element) else {
        return refuse(vec![format!(
            "element.key: unknown element {:?}",
            form.element
        )]);
    };
    let oauth_state = random_secret();
    let consent =
        match element.authorize_url(&form.api_key, &form.oauth_callback, &oauth_state, None) {
            Ok(url) => url,
            Err(error) => return refuse(vec![error.to_string()]),
        };
    let sealed = state.vault.seal_str(SEAL_PURPOSE, &body.to_string());
    if let Err(error) = state
        .store
        .put_connect(
            &hash_secret(&oauth_state),
            &session.token_hash,
            sealed,
            state.now_ms() + CONNECT_MS,
        )
        .await
    {
        return failed(error);
    }
    Redirect::to(&consent).into_response()
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub(super) async fn callback(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let start_again = |text: &str| {
        message(
            StatusCode::BAD_REQUEST,
            "Not connected",
            text,
            "/ui/instances/new",
        )
    };
    let Some(oauth_state) = query.state.filter(|s| !s.is_empty()) else {
        return start_again("The provider's answer carries no state; start again from the form.");
    };
    let sealed = match state
        .store
        .take_connect(
            &hash_secret(&oauth_state),
            &session.token_hash,
            state.now_ms(),
        )
        .await
    {
        Ok(Some(sealed)) => sealed,
        Ok(None) => {
            return start_again(
                "This answer does not match a Connect started in this browser session, or it \
                 took longer than ten minutes, or it was used already. Start again from the form.",
            );
        }
        Err(error) => return failed(error),
    };
    let body: Value = match state
        .vault
        .open_string(SEAL_PURPOSE, &sealed)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            use secrecy::ExposeSecret;
            serde_json::from_str(text.expose_secret()).map_err(|e| e.to_string())
        }) {
        Ok(body) => body,
        Err(error) => return failed(error),
    };
    let form = NewInstanceForm::from_body(&body);
    if let Some(error) = query.error {
        let detail = query
            .error_description
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return render_form(
            &state,
            &session,
            &headers,
            StatusCode::BAD_REQUEST,
            form,
            vec![format!(
                "the provider did not allow access: {error}{detail}; enter the secrets again \
                 and Connect again"
            )],
        );
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return start_again("The provider's answer carries no code; start again from the form.");
    };
    let mut body = body;
    body["providerData"] = json!({"code": code});
    match create_from_body(&state, session.principal, &body).await {
        Ok(created) => {
            let id = created["id"].as_i64().unwrap_or_default();
            Redirect::to(&format!("/ui/instances/{id}")).into_response()
        }
        Err(error) => render_form(
            &state,
            &session,
            &headers,
            error.status(),
            form,
            vec![format!(
                "{}; enter the secrets again and Connect again",
                error.user_message()
            )],
        ),
    }
}
