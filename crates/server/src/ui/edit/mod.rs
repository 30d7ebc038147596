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

mod form;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tributary_domain::instance_config::SIGNATURE_KEY;
use tributary_elements::Element;
use tributary_store::InstanceRecord;

use super::{
    CsrfForm, UiSession, failed, forbidden_form, instance_id, message, page, refused,
    session::same_token, status,
};
use crate::services::error::ServiceError;
use crate::services::events;
use crate::services::instances::{self, ChangeInstance};
use crate::state::AppState;
use form::{EditForm, changes, field_of, stored_form};

/// The signature schemes, with what each sends.
const SCHEMES: [(&str, &str); 3] = [
    ("elements", "Cloud Elements"),
    ("standard", "Standard Webhooks"),
    ("both", "Both"),
];

/// A resource as the form lists it.
#[derive(Debug)]
struct ResourceEdit {
    name: String,
    path: String,
    checked: bool,
    /// Checksum mode: every poll reads the whole list and compares content hashes.
    checksum: bool,
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
            checksum: form.checksums.contains(&name),
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
