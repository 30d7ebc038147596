//! Changing an instance from the browser: `/ui/instances/{id}/edit` shows its settings as a
//! form (name, tags, events on or off, where events come from, callback URL, refresh interval,
//! signature key and scheme, the resources polled with each one's poller configuration), and
//! saves it through the same service as the API's PATCH ([`instances::patch`]), each refusal
//! shown next to the field it names in the API's words. The same page switches the instance
//! on or off, and leads to its delete, which asks once more before it acts.
//!
//! Secrets are never sent back into the page: a blank signature key keeps the stored one. The
//! poller configuration is written only when it differs from what the page showed, so an
//! instance whose resources came from the element's defaults (or Cloud Elements' legacy lines)
//! keeps them until the user changes the resources.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use tributary_domain::delivery::DEFAULT_SIGNATURE_SCHEME;
use tributary_domain::instance_config::{
    CALLBACK_URL, DEFAULT_REFRESH_MINUTES, EVENTS_ENABLED, POLLER_CONFIGURATION, REFRESH_INTERVAL,
    SIGNATURE_KEY, SIGNATURE_SCHEME, VENDOR_TYPE,
};
use tributary_elements::Element;
use tributary_store::{InstanceRecord, StoredValue};

use super::{
    CsrfForm, UiSession, failed, forbidden_form, instance_id, message, page, refused,
    session::same_token, status,
};
use crate::services::error::ServiceError;
use crate::services::events;
use crate::services::instances::{self, ChangeInstance};
use crate::state::AppState;

/// The signature schemes, with what each sends.
const SCHEMES: [(&str, &str); 3] = [
    ("elements", "Cloud Elements"),
    ("standard", "Standard Webhooks"),
    ("both", "Both"),
];

/// What the form holds: the instance's settings as shown, or as the user typed them.
#[derive(Debug, Clone, Default)]
struct EditForm {
    name: String,
    tags: String,
    events: bool,
    vendor: String,
    callback_url: String,
    refresh: String,
    /// A new key as typed (never filled from the stored one).
    signature_key: String,
    remove_key: bool,
    scheme: String,
    /// The resources ticked, and each resource's poller configuration as text.
    resources: Vec<String>,
    pollers: BTreeMap<String, String>,
}

impl EditForm {
    fn from_fields(fields: &[(String, String)]) -> EditForm {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        EditForm {
            name: get("name"),
            tags: get("tags"),
            events: get("events") == "on",
            vendor: get("vendor"),
            callback_url: get("callback_url"),
            refresh: get("refresh"),
            signature_key: get("signature_key"),
            remove_key: get("remove_key") == "on",
            scheme: get("scheme"),
            resources: fields
                .iter()
                .filter(|(k, _)| k == "resource")
                .map(|(_, v)| v.clone())
                .collect(),
            pollers: fields
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("poller.")?.to_owned(), v.clone())))
                .collect(),
        }
    }

    /// The poller configuration the ticked resources make, or the problems of their text.
    fn poller_object(&self) -> Result<Map<String, Value>, Vec<String>> {
        let mut object = Map::new();
        let mut errors = Vec::new();
        for resource in &self.resources {
            let text = self.pollers.get(resource).map(String::as_str).unwrap_or("");
            let text = if text.trim().is_empty() { "{}" } else { text };
            match serde_json::from_str::<Value>(text) {
                Ok(value) => {
                    object.insert(resource.clone(), value);
                }
                Err(e) => errors.push(format!(
                    "configuration.{POLLER_CONFIGURATION}.{resource} is not valid JSON: {e}"
                )),
            }
        }
        if errors.is_empty() {
            Ok(object)
        } else {
            Err(errors)
        }
    }
}

/// The plain (not secret) configuration values of an instance.
fn plain(element: Option<&Element>, record: &InstanceRecord) -> BTreeMap<String, String> {
    record
        .configuration
        .iter()
        .filter(|e| element.is_none_or(|el| !el.is_secret(&e.key)))
        .filter_map(|e| match &e.value {
            StoredValue::Plain(value) => Some((e.key.clone(), value.clone())),
            StoredValue::Sealed(_) => None,
        })
        .collect()
}

/// The form of an instance as stored: the poller configuration written out per resource (or,
/// without one, the resources polled now with the element's defaults).
async fn stored_form(
    state: &AppState,
    session: &UiSession,
    element: Option<&Element>,
    record: &InstanceRecord,
) -> Result<EditForm, ServiceError> {
    let config = plain(element, record);
    let get = |key: &str| config.get(key).cloned().unwrap_or_default();
    let configured = config
        .get(POLLER_CONFIGURATION)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|v| v.as_object().cloned());
    let (resources, mut pollers) = match configured {
        Some(object) => (
            object.keys().cloned().collect(),
            object
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::to_string_pretty(v).unwrap_or_default(),
                    )
                })
                .collect(),
        ),
        None => (
            events::pollers(state, session.principal, record.id)
                .await?
                .into_iter()
                .map(|p| p.resource)
                .collect(),
            BTreeMap::new(),
        ),
    };
    if let Some(element) = element {
        for resource in &element.resources {
            if let Some(default) = resource.default_poller(&element.hub) {
                pollers
                    .entry(resource.name.clone())
                    .or_insert_with(|| serde_json::to_string_pretty(&default).unwrap_or_default());
            }
        }
    }
    Ok(EditForm {
        name: record.name.clone(),
        tags: record.tags.join(", "),
        events: record.events_enabled,
        vendor: Some(get(VENDOR_TYPE))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "polling".into()),
        callback_url: get(CALLBACK_URL),
        refresh: Some(get(REFRESH_INTERVAL))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_REFRESH_MINUTES.to_string()),
        signature_key: String::new(),
        remove_key: false,
        scheme: Some(get(SIGNATURE_SCHEME).to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_SIGNATURE_SCHEME.into()),
        resources,
        pollers,
    })
}

/// The form field an API error is about: its subject (the words before the first space) names
/// it; a poller problem names its resource.
fn field_of(error: &str) -> String {
    let subject = error.split_whitespace().next().unwrap_or_default();
    let subject = subject.trim_end_matches(':');
    let config = subject.strip_prefix("configuration.").unwrap_or("");
    if let Some(rest) = config.strip_prefix(&format!("{POLLER_CONFIGURATION}.")) {
        let resource = rest.split(['.', ':']).next().unwrap_or_default();
        return format!("poller.{resource}");
    }
    let field = match subject {
        "name" => "name",
        "tags" => "tags",
        _ if config.starts_with(POLLER_CONFIGURATION) => "resources",
        _ if config.starts_with("event.poller.urls") => "resources",
        _ if config.starts_with(REFRESH_INTERVAL) => "refresh",
        _ if config.starts_with(CALLBACK_URL) => "callback_url",
        _ if config.starts_with(SIGNATURE_SCHEME) => "scheme",
        _ if config.starts_with(SIGNATURE_KEY) => "signature_key",
        _ if config.starts_with(EVENTS_ENABLED) => "events",
        _ if config.starts_with(VENDOR_TYPE) => "vendor",
        _ => "",
    };
    field.to_owned()
}

/// A resource as the form lists it.
#[derive(Debug)]
struct ResourceEdit {
    name: String,
    path: String,
    checked: bool,
    json: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    csrf: String,
    id: i64,
    title: String,
    element: String,
    disabled: bool,
    form: EditForm,
    has_key: bool,
    schemes: &'static [(&'static str, &'static str)],
    webhooks_offered: bool,
    webhooks_received: bool,
    resources: Vec<ResourceEdit>,
    /// (field, message) pairs.
    field_errors: Vec<(String, String)>,
    general_errors: Vec<String>,
}

impl EditPage {
    fn error_for(&self, field: &str) -> Option<String> {
        let errors: Vec<&str> = self
            .field_errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, e)| e.as_str())
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    }

    /// ` aria-invalid="true"` for a field with an error (the attribute, or nothing).
    fn invalid(&self, field: &str) -> &'static str {
        if self.field_errors.iter().any(|(f, _)| f == field) {
            "true"
        } else {
            "false"
        }
    }
}

fn render(
    session: &UiSession,
    element: Option<&Element>,
    record: &InstanceRecord,
    form: EditForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let mut field_errors = Vec::new();
    let mut general_errors = Vec::new();
    for error in errors {
        match field_of(&error) {
            field if field.is_empty() => general_errors.push(error),
            field => field_errors.push((field, error)),
        }
    }
    let mut names: Vec<String> = element
        .map(|e| {
            e.resources
                .iter()
                .filter(|r| r.default_poller(&e.hub).is_some() || form.resources.contains(&r.name))
                .map(|r| r.name.clone())
                .collect()
        })
        .unwrap_or_default();
    for name in form.resources.iter().chain(form.pollers.keys()) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let hub = element.map(|e| e.hub.as_str()).unwrap_or("crm");
    let resources = names
        .into_iter()
        .map(|name| ResourceEdit {
            path: format!("/hubs/{hub}/{name}"),
            checked: form.resources.contains(&name),
            json: form.pollers.get(&name).cloned().unwrap_or_default(),
            error: field_errors
                .iter()
                .filter(|(f, _)| *f == format!("poller.{name}"))
                .map(|(_, e)| e.clone())
                .reduce(|a, b| format!("{a}; {b}")),
            name,
        })
        .collect();
    page(
        status,
        &EditPage {
            csrf: session.csrf.clone(),
            id: record.id,
            title: record.name.clone(),
            element: element
                .map(|e| e.name.clone())
                .unwrap_or_else(|| record.element_key.clone()),
            disabled: record.disabled,
            has_key: record.entry(SIGNATURE_KEY).is_some(),
            schemes: &SCHEMES,
            webhooks_offered: element.is_some_and(|e| e.events.webhooks),
            webhooks_received: element.is_some_and(Element::has_webhook_source),
            resources,
            form,
            field_errors,
            general_errors,
        },
    )
}

pub(super) async fn show(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let record = match instances::show(&state, session.principal, id).await {
        Ok(record) => record,
        Err(error) => return refused(&error),
    };
    let element = state.registry.get(&record.element_key);
    match stored_form(&state, &session, element.as_deref(), &record).await {
        Ok(form) => render(
            &session,
            element.as_deref(),
            &record,
            form,
            Vec::new(),
            StatusCode::OK,
        ),
        Err(error) => refused(&error),
    }
}

/// The configuration entries a saved form changes.
fn changes(
    form: &EditForm,
    shown: &EditForm,
    webhooks_offered: bool,
) -> Result<Vec<(String, Option<String>)>, Vec<String>> {
    let mut entries: Vec<(String, Option<String>)> = vec![
        (EVENTS_ENABLED.into(), Some(form.events.to_string())),
        (REFRESH_INTERVAL.into(), Some(form.refresh.clone())),
        (SIGNATURE_SCHEME.into(), Some(form.scheme.clone())),
        (
            CALLBACK_URL.into(),
            Some(form.callback_url.clone()).filter(|u| !u.is_empty()),
        ),
    ];
    if webhooks_offered || form.vendor != shown.vendor {
        entries.push((VENDOR_TYPE.into(), Some(form.vendor.clone())));
    }
    if form.remove_key {
        entries.push((SIGNATURE_KEY.into(), None));
    } else if !form.signature_key.is_empty() {
        entries.push((SIGNATURE_KEY.into(), Some(form.signature_key.clone())));
    }
    let object = form.poller_object()?;
    let unchanged = shown.poller_object().is_ok_and(|before| before == object);
    if !unchanged {
        entries.push((
            POLLER_CONFIGURATION.into(),
            Some(Value::Object(object).to_string()),
        ));
    }
    Ok(entries)
}

pub(super) async fn save(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
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
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let record = match instances::show(&state, session.principal, id).await {
        Ok(record) => record,
        Err(error) => return refused(&error),
    };
    let element = state.registry.get(&record.element_key);
    let shown = match stored_form(&state, &session, element.as_deref(), &record).await {
        Ok(form) => form,
        Err(error) => return refused(&error),
    };
    let mut form = EditForm::from_fields(&fields);
    let refuse = |form: &mut EditForm, errors: Vec<String>, status: StatusCode| {
        form.signature_key.clear();
        render(
            &session,
            element.as_deref(),
            &record,
            form.clone(),
            errors,
            status,
        )
    };
    let entries = match changes(
        &form,
        &shown,
        element.as_ref().is_some_and(|e| e.events.webhooks),
    ) {
        Ok(entries) => entries,
        Err(errors) => return refuse(&mut form, errors, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let change = ChangeInstance {
        name: Some(form.name.clone()),
        tags: Some(
            form.tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        configuration: Some(entries),
        ..ChangeInstance::default()
    };
    match instances::patch(&state, session.principal, id, change).await {
        Ok(changed) => {
            let mut text = "Saved.".to_owned();
            for warning in changed.warnings {
                text.push(' ');
                text.push_str(&warning);
            }
            super::instance::render(&state, session.clone(), id, None, Ok(Some(text))).await
        }
        Err(ServiceError::InvalidInstance(errors)) => {
            refuse(&mut form, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(error @ ServiceError::Internal(_)) => failed(error),
        Err(error) => {
            let code = status(&error);
            refuse(&mut form, vec![error.user_message()], code)
        }
    }
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage {
    csrf: String,
    id: i64,
    name: String,
    element: String,
    resources: usize,
}

/// The confirmation: what goes with the instance, and the one button that deletes.
pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let record = match instances::show(&state, session.principal, id).await {
        Ok(record) => record,
        Err(error) => return refused(&error),
    };
    let resources = match events::pollers(&state, session.principal, id).await {
        Ok(pollers) => pollers.len(),
        Err(error) => return refused(&error),
    };
    page(
        StatusCode::OK,
        &DeletePage {
            csrf: session.csrf,
            id,
            element: state
                .registry
                .get(&record.element_key)
                .map(|e| e.name.clone())
                .unwrap_or(record.element_key),
            name: record.name,
            resources,
        },
    )
}

pub(super) async fn delete(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_token(&session.csrf, &form.csrf) {
        return forbidden_form();
    }
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    match instances::delete(&state, session.principal, id).await {
        Ok(()) => message(
            StatusCode::OK,
            "Instance deleted",
            &format!(
                "Instance #{id} is deleted: nothing more is polled or sent for it, and its events \
                 are gone."
            ),
            "/",
        ),
        Err(error) => refused(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_field_and_a_poller_problem_its_resource() {
        for (error, field) in [
            ("name must be 1 to 200 characters", "name"),
            (
                "configuration.event.poller.configuration.contacts.idField: is required",
                "poller.contacts",
            ),
            (
                "configuration.event.poller.configuration.tasks: unknown resource",
                "poller.tasks",
            ),
            (
                "configuration.event.poller.configuration is required when events are enabled",
                "resources",
            ),
            (
                "configuration.event.poller.refresh_interval: must be",
                "refresh",
            ),
            (
                "configuration.event.notification.signature.scheme: must",
                "scheme",
            ),
            (
                "configuration.event.notification.signature.key: must",
                "signature_key",
            ),
            ("configuration.event.vendor.type: no source", "vendor"),
            ("something else entirely", ""),
        ] {
            assert_eq!(field_of(error), field, "{error}");
        }
    }

    fn form(resources: &[(&str, &str)]) -> EditForm {
        EditForm {
            events: true,
            vendor: "polling".into(),
            refresh: "15".into(),
            scheme: "elements".into(),
            resources: resources.iter().map(|(r, _)| (*r).to_owned()).collect(),
            pollers: resources
                .iter()
                .map(|(r, j)| ((*r).to_owned(), (*j).to_owned()))
                .collect(),
            ..EditForm::default()
        }
    }

    #[test]
    fn the_poller_configuration_is_written_only_when_it_changed() {
        let shown = form(&[("contacts", "{\"idField\": \"id\"}")]);
        let same = form(&[("contacts", "{ \"idField\":\"id\" }")]);
        let keys = |entries: Vec<(String, Option<String>)>| -> Vec<String> {
            entries.into_iter().map(|(k, _)| k).collect()
        };
        assert!(
            !keys(changes(&same, &shown, false).unwrap()).contains(&POLLER_CONFIGURATION.into())
        );
        let more = form(&[("contacts", "{\"idField\": \"id\"}"), ("tasks", "")]);
        let entries = changes(&more, &shown, false).unwrap();
        let written = entries
            .iter()
            .find(|(k, _)| k == POLLER_CONFIGURATION)
            .and_then(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(written, r#"{"contacts":{"idField":"id"},"tasks":{}}"#);
        let bad = form(&[("contacts", "{nope")]);
        let errors = changes(&bad, &shown, false).unwrap_err();
        assert!(
            errors[0]
                .starts_with("configuration.event.poller.configuration.contacts is not valid JSON"),
            "{errors:?}"
        );
        assert_eq!(field_of(&errors[0]), "poller.contacts");
    }

    #[test]
    fn a_blank_signature_key_keeps_the_stored_one_and_removing_it_says_so() {
        let shown = form(&[]);
        let mut typed = form(&[]);
        let key_of = |entries: &[(String, Option<String>)]| {
            entries
                .iter()
                .find(|(k, _)| k == SIGNATURE_KEY)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(key_of(&changes(&typed, &shown, false).unwrap()), None);
        typed.signature_key = "new-key".into();
        assert_eq!(
            key_of(&changes(&typed, &shown, false).unwrap()),
            Some(Some("new-key".into()))
        );
        typed.remove_key = true;
        assert_eq!(key_of(&changes(&typed, &shown, false).unwrap()), Some(None));
    }
}
