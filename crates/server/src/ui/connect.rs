//! Creating an instance from the browser: the form, "Connect" through the provider's consent
//! page, and the OAuth callback that finishes it.
//!
//! The form becomes the service's typed [`CreateInstance`] and gets the same checks as the
//! API's create before the browser leaves (each problem shown next to its field, in the same
//! words). It then waits as a Connect ([`crate::services::connect`]): sealed in the database
//! under a random OAuth `state` and this session; the consent page's redirect to
//! `/ui/oauth/callback` brings the code and the state back — with the other parameters the
//! element declares as coming from the redirect (QuickBooks' `realmId`), which go to the create
//! as `providerData` beside the code — and only this session can finish it, once, within ten
//! minutes.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::session::same_token;
use super::{UiSession, failed, forbidden_form, message, page_with_form_targets, status};
use crate::services::connect::{self, ConsentRequest};
use crate::services::error::ServiceError;
use crate::services::instances::{self, CreateInstance, ProviderData};
use crate::state::AppState;

/// What the user typed (secrets are never sent back into a page). While a Connect waits, the
/// whole form is kept sealed, to create the instance when the consent page answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// `config.KEY` fields: the element's own settings (a login host), as typed.
    #[serde(default)]
    settings: Vec<(String, String)>,
    /// `polling`, or `webhooks` where the element offers them.
    #[serde(default)]
    vendor: String,
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
            vendor: get("vendor"),
            settings: fields
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("config.")?.to_owned(), v.trim())))
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k, v.to_owned()))
                .collect(),
        }
    }

    /// The element's own settings typed for the element chosen (those of other elements'
    /// fields are not sent).
    fn element_settings(&self, state: &AppState) -> Vec<(String, String)> {
        let Some(element) = state.registry.get(&self.element) else {
            return Vec::new();
        };
        let keys = setting_keys(&element);
        self.settings
            .iter()
            .filter(|(k, _)| keys.contains(k))
            .cloned()
            .collect()
    }

    /// The poller configuration: the JSON typed, or the default of each resource ticked; a
    /// poller JSON that does not parse is a field error.
    fn pollers(&self, state: &AppState) -> Result<Value, Vec<String>> {
        if self.pollers_json.is_empty() {
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
            Ok(Value::Object(map))
        } else {
            serde_json::from_str::<Value>(&self.pollers_json).map_err(|e| {
                vec![format!(
                    "configuration.event.poller.configuration is not valid JSON: {e}"
                )]
            })
        }
    }

    /// The tags typed, comma-separated.
    fn tag_list(&self) -> Vec<String> {
        self.tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The service's input for this form, with `code` as the authorization and the consent
    /// redirect's other parameters that the element declares (`provider_data`: QuickBooks'
    /// `realmId`).
    fn input(
        &self,
        state: &AppState,
        code: &str,
        provider_data: Map<String, Value>,
    ) -> Result<CreateInstance, Vec<String>> {
        let pollers = self.pollers(state)?;
        let mut configuration = vec![
            ("oauth.api.key", self.api_key.clone()),
            ("oauth.api.secret", self.api_secret.clone()),
            ("oauth.callback.url", self.oauth_callback.clone()),
            ("event.notification.enabled", self.events.to_string()),
            (
                "event.vendor.type",
                if self.vendor.is_empty() {
                    "polling".to_owned()
                } else {
                    self.vendor.clone()
                },
            ),
            ("event.poller.refresh_interval", self.refresh.clone()),
            ("event.poller.configuration", pollers.to_string()),
        ];
        for (key, value) in [
            ("event.notification.callback.url", &self.callback_url),
            ("event.notification.signature.key", &self.signature_key),
        ] {
            if !value.is_empty() {
                configuration.push((key, value.clone()));
            }
        }
        let mut configuration: Vec<(String, Option<String>)> = configuration
            .into_iter()
            .map(|(key, value)| (key.to_owned(), Some(value)))
            .collect();
        configuration.extend(
            self.element_settings(state)
                .into_iter()
                .map(|(key, value)| (key, Some(value))),
        );
        Ok(CreateInstance {
            element_key: Some(self.element.clone()),
            name: Some(self.name.clone()),
            tags: Some(self.tag_list()),
            configuration: Some(configuration),
            provider_data: Some(ProviderData::Code(code.to_owned(), provider_data)),
            problems: Vec::new(),
        })
    }

    /// The form to show again after the consent page: secrets blank, the poller configuration
    /// that was sent written out.
    fn after_connect(&self, state: &AppState) -> NewInstanceForm {
        let pollers = self.pollers(state).unwrap_or_default();
        NewInstanceForm {
            tags: self.tag_list().join(", "),
            api_secret: String::new(),
            signature_key: String::new(),
            resources: pollers
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            pollers_json: serde_json::to_string_pretty(&pollers).unwrap_or_default(),
            ..self.clone()
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
        _ if config.starts_with("event.vendor.type") => Some("vendor"),
        _ if config.starts_with("oauth.api.key") => Some("api_key"),
        _ if config.starts_with("oauth.api.secret") => Some("api_secret"),
        _ if config.starts_with("oauth.callback.url") => Some("oauth_callback"),
        _ if !config.is_empty() && !config.starts_with("event.") => Some("settings"),
        _ => None,
    }
}

/// A resource's checkbox.
pub(super) struct ResourceBox {
    name: String,
    path: String,
    checked: bool,
    /// The element can see its deletes (`detectDeletes` defaults on).
    deletes: bool,
}

/// An element's own setting: a configuration variable the instance may set (a login host).
pub(super) struct SettingField {
    key: String,
    value: String,
    hint: String,
}

/// One element of the form: its resources, its settings, its default poller configuration.
pub(super) struct ElementChoice {
    key: String,
    label: String,
    /// Its display name, and whether the provider offers webhooks.
    name: String,
    webhooks: bool,
    selected: bool,
    resources: Vec<ResourceBox>,
    settings: Vec<SettingField>,
    defaults: String,
}

/// The configuration keys of an element's configuration variables.
fn setting_keys(element: &tributary_elements::Element) -> Vec<String> {
    element
        .connection
        .values()
        .filter(|v| v.source == tributary_elements::connection::Source::Config)
        .filter_map(|v| v.key.clone())
        .collect()
}

#[derive(Template)]
#[template(path = "new_instance.html")]
struct NewInstancePage {
    csrf: String,
    form: NewInstanceForm,
    elements: Vec<ElementChoice>,
    /// The chosen element's name, and whether it offers webhooks and Tributary receives them.
    element_name: String,
    webhooks_offered: bool,
    webhooks_received: bool,
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

    /// The value of a field's `aria-invalid`.
    fn invalid(&self, field: &str) -> &'static str {
        if self.field_errors.iter().any(|(f, _)| *f == field) {
            "true"
        } else {
            "false"
        }
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
    let chosen_element = state
        .registry
        .get(&form.element)
        .or_else(|| state.registry.all().first().cloned());
    let selected = chosen_element
        .as_ref()
        .map(|e| e.key.clone())
        .unwrap_or_default();
    let elements = state
        .registry
        .all()
        .iter()
        .map(|element| {
            let chosen = element.key == selected;
            let resources = element
                .resources
                .iter()
                .filter(|r| r.default_poller(&element.hub).is_some())
                .map(|r| ResourceBox {
                    name: r.name.clone(),
                    path: format!("/hubs/{}/{}", element.hub, r.name),
                    checked: chosen && form.resources.contains(&r.name),
                    deletes: element.detects_deletes(r),
                })
                .collect();
            let settings = element
                .connection
                .values()
                .filter(|v| v.source == tributary_elements::connection::Source::Config)
                .filter_map(|v| {
                    let key = v.key.clone()?;
                    let mut accepted: Vec<String> = v.choices.keys().cloned().collect();
                    accepted.extend(v.allow.iter().cloned());
                    let hint = match (&v.default, accepted.is_empty()) {
                        (Some(default), true) => format!("default {default}"),
                        (Some(default), false) => {
                            format!("{}; default {default}", accepted.join(", "))
                        }
                        (None, _) => accepted.join(", "),
                    };
                    let value = form
                        .settings
                        .iter()
                        .find(|(k, _)| chosen && *k == key)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    Some(SettingField { key, value, hint })
                })
                .collect();
            ElementChoice {
                key: element.key.clone(),
                label: format!("{} ({})", element.name, element.key),
                name: element.name.clone(),
                webhooks: element.events.webhooks,
                selected: chosen,
                resources,
                settings,
                defaults: serde_json::to_string_pretty(&element.default_poller_configuration())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let mut field_errors = Vec::new();
    let mut general_errors = Vec::new();
    for error in errors {
        match field_of(&error) {
            Some(field) => field_errors.push((field, error)),
            None => general_errors.push(error),
        }
    }
    // The consent pages the form's answer may redirect to (a login host an instance chooses
    // among several: each of them).
    let consent_origins: Vec<String> = state
        .registry
        .all()
        .iter()
        .flat_map(|e| e.consent_origins())
        .collect();
    page_with_form_targets(
        status,
        &NewInstancePage {
            csrf: session.csrf.clone(),
            elements,
            element_name: chosen_element
                .as_ref()
                .map(|e| e.name.clone())
                .unwrap_or_default(),
            webhooks_offered: chosen_element.as_ref().is_some_and(|e| e.events.webhooks),
            webhooks_received: chosen_element
                .as_ref()
                .is_some_and(|e| e.has_webhook_source()),
            own_callback: own_callback(headers),
            form,
            field_errors,
            general_errors,
        },
        &consent_origins,
    )
}

/// `?element=KEY` chooses the element the form opens with (the page works without scripts).
#[derive(Deserialize)]
pub(super) struct NewQuery {
    element: Option<String>,
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Query(query): Query<NewQuery>,
) -> Response {
    let form = NewInstanceForm {
        element: query
            .element
            .and_then(|key| state.registry.get(&key))
            .or_else(|| state.registry.all().first().cloned())
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
    // The create's own checks, with a stand-in code: the real one comes back from the
    // consent page.
    let input = match form.input(&state, "pending", Map::new()) {
        Ok(input) => input,
        Err(errors) => return refuse(errors),
    };
    match instances::check(&state, &input) {
        Ok(()) => {}
        Err(ServiceError::InvalidInstance(errors)) => return refuse(errors),
        Err(error) => return refuse(vec![error.user_message()]),
    }
    let pending = match serde_json::to_string(&form) {
        Ok(pending) => pending,
        Err(error) => return failed(error),
    };
    let consent = ConsentRequest {
        element_key: form.element.clone(),
        api_key: Some(form.api_key.clone()),
        callback_url: Some(form.oauth_callback.clone()),
        state: None,
        scope: None,
        configuration: form.element_settings(&state).into_iter().collect(),
    };
    match connect::begin(&state, &session.token_hash, consent, &pending).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error @ (ServiceError::Internal(_) | ServiceError::Unavailable(_))) => failed(error),
        Err(error) => refuse(vec![error.user_message()]),
    }
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// The redirect's other parameters (QuickBooks adds `realmId`).
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

/// The consent redirect's parameters that `element` declares as connection values (its
/// `redirect` variables), as `providerData` carries them beside the code; the others stay
/// behind.
fn redirect_values(
    state: &AppState,
    element: &str,
    parameters: &std::collections::HashMap<String, String>,
) -> Map<String, Value> {
    let Some(element) = state.registry.get(element) else {
        return Map::new();
    };
    element
        .connection
        .values()
        .filter(|var| var.source == tributary_elements::connection::Source::Redirect)
        .filter_map(|var| {
            let name = var.parameter.as_deref()?;
            let value = parameters.get(name).filter(|v| !v.is_empty())?;
            Some((name.to_owned(), Value::String(value.clone())))
        })
        .collect()
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
    let form: NewInstanceForm = match connect::resume(&state, &oauth_state, &session.token_hash)
        .await
        .map(|pending| pending.map(|p| serde_json::from_str(&p)))
    {
        Ok(Some(Ok(form))) => form,
        Ok(None) => {
            return start_again(
                "This answer does not match a Connect started in this browser session, or it \
                 took longer than ten minutes, or it was used already. Start again from the form.",
            );
        }
        Ok(Some(Err(error))) => return failed(error),
        Err(error) => return failed(error),
    };
    let shown = form.after_connect(&state);
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
            shown,
            vec![format!(
                "the provider did not allow access: {error}{detail}; enter the secrets again \
                 and Connect again"
            )],
        );
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return start_again("The provider's answer carries no code; start again from the form.");
    };
    let provider_data = redirect_values(&state, &form.element, &query.rest);
    let created = match form.input(&state, &code, provider_data) {
        Ok(input) => instances::create(&state, session.principal, input).await,
        Err(errors) => Err(ServiceError::InvalidInstance(errors)),
    };
    match created {
        Ok(created) => {
            Redirect::to(&format!("/ui/instances/{}", created.record.id)).into_response()
        }
        Err(error) => render_form(
            &state,
            &session,
            &headers,
            status(&error),
            shown,
            vec![format!(
                "{}; enter the secrets again and Connect again",
                error.user_message()
            )],
        ),
    }
}
