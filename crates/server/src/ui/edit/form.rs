//! The edit form's values: read from a stored instance or from the posted fields, turned into
//! the configuration entries a save changes, and each refusal tied to the field it names.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tributary_domain::delivery::DEFAULT_SIGNATURE_SCHEME;
use tributary_domain::instance_config::{
    CALLBACK_URL, DEFAULT_REFRESH_MINUTES, EVENTS_ENABLED, POLLER_CONFIGURATION, REFRESH_INTERVAL,
    SIGNATURE_KEY, SIGNATURE_SCHEME, VENDOR_TYPE,
};
use tributary_elements::Element;
use tributary_store::{InstanceRecord, StoredValue};

use crate::services::error::ServiceError;
use crate::services::events;
use crate::state::AppState;
use crate::ui::UiSession;

/// What the form holds: the instance's settings as shown, or as the user typed them.
#[derive(Debug, Clone, Default)]
pub(super) struct EditForm {
    pub(super) name: String,
    pub(super) tags: String,
    pub(super) events: bool,
    pub(super) vendor: String,
    pub(super) callback_url: String,
    pub(super) refresh: String,
    /// A new key as typed (never filled from the stored one).
    pub(super) signature_key: String,
    pub(super) remove_key: bool,
    pub(super) scheme: String,
    /// The resources ticked, and each resource's poller configuration as text.
    pub(super) resources: Vec<String>,
    pub(super) pollers: BTreeMap<String, String>,
    /// The resources whose "checksum mode" box is ticked: it sets (or clears) `checksum` in
    /// their poller configuration, whatever its text says.
    pub(super) checksums: Vec<String>,
}

impl EditForm {
    pub(super) fn from_fields(fields: &[(String, String)]) -> EditForm {
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
            checksums: fields
                .iter()
                .filter(|(k, _)| k == "checksum")
                .map(|(_, v)| v.clone())
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
                Ok(mut value) => {
                    if let Value::Object(fields) = &mut value {
                        if self.checksums.contains(resource) {
                            fields.insert("checksum".into(), Value::Bool(true));
                        } else {
                            fields.remove("checksum");
                        }
                    }
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
pub(super) async fn stored_form(
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
    // A resource in checksum mode (`"checksum": true`, or its text) shows its box ticked.
    let checksums = configured
        .iter()
        .flatten()
        .filter(|(_, entry)| {
            entry
                .get("checksum")
                .is_some_and(|v| v == &Value::Bool(true) || v == "true")
        })
        .map(|(resource, _)| resource.clone())
        .collect();
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
        checksums,
    })
}

/// The form field an API error is about: its subject (the words before the first space) names
/// it; a poller problem names its resource.
pub(super) fn field_of(error: &str) -> String {
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

/// The configuration entries a saved form changes.
pub(super) fn changes(
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
    fn the_checksum_box_sets_or_clears_checksum_in_the_resources_configuration() {
        let text = "{\"idField\": \"id\", \"checksum\": true}";
        let shown = EditForm {
            checksums: vec!["companies".into()],
            ..form(&[("companies", text)])
        };
        let unticked = form(&[("companies", text)]);
        let written = |form: &EditForm| {
            changes(form, &shown, false)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == POLLER_CONFIGURATION)
                .and_then(|(_, v)| v)
        };
        // The box unticked clears the key the text still holds.
        assert_eq!(
            written(&unticked).as_deref(),
            Some(r#"{"companies":{"idField":"id"}}"#)
        );
        let ticked = EditForm {
            checksums: vec!["companies".into()],
            ..form(&[("companies", "{\"idField\": \"id\"}")])
        };
        assert_eq!(
            written(&ticked),
            None,
            "ticked: the same configuration as shown, nothing to write"
        );
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
