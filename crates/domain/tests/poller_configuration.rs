//! The poller configuration Cloud Elements accepts beside the JSON one: none at all (the
//! element's own resources), resource entries without `idField` or `datesConfiguration` (the
//! element's), and the legacy `event.poller.urls` lines — read through the public API, with
//! an element that knows its resources' change dates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tributary_domain::instance_config::{
    CALLBACK_URL, EVENTS_ENABLED, EventsSettings, POLLER_CONFIGURATION, POLLER_URLS,
    ResourceCatalog, normalize_value,
};

/// A CRM whose element knows no change dates (as a definition without date fields).
struct Crm;
impl ResourceCatalog for Crm {
    fn hub(&self) -> &str {
        "crm"
    }
    fn has_resource(&self, name: &str) -> bool {
        ["contacts", "appointments"].contains(&name)
    }
    fn resource_names(&self) -> Vec<String> {
        vec!["appointments".into(), "contacts".into()]
    }
}

fn config(pairs: &[(&str, Value)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .filter_map(|(k, v)| normalize_value(v).map(|v| ((*k).to_owned(), v)))
        .collect()
}

/// A CRM whose element knows its resources' change dates (contacts and appointments), as
/// an element definition does.
struct CrmWithDefaults;
impl ResourceCatalog for CrmWithDefaults {
    fn hub(&self) -> &str {
        "crm"
    }
    fn has_resource(&self, name: &str) -> bool {
        ["contacts", "appointments", "companies"].contains(&name)
    }
    fn resource_names(&self) -> Vec<String> {
        vec!["appointments".into(), "companies".into(), "contacts".into()]
    }
    fn default_poller(&self, resource: &str) -> Option<Value> {
        let (updated, created) = match resource {
            "contacts" => ("last_updated", "date_created"),
            "appointments" => ("modification_date", "creation_date"),
            _ => return None,
        };
        Some(
            json!({"url": format!("/hubs/crm/{resource}"), "idField": "id",
            "datesConfiguration": {
                "updatedDateField": updated, "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss",
                "updatedDateTimezone": "GMT", "createdDateField": created,
                "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss", "createdDateTimezone": "GMT"}}),
        )
    }
    fn default_resources(&self) -> Vec<String> {
        vec!["appointments".into(), "contacts".into()]
    }
}

fn enabled(extra: &[(&str, Value)]) -> BTreeMap<String, String> {
    let mut pairs = vec![
        (EVENTS_ENABLED, json!(true)),
        (CALLBACK_URL, json!("https://app.example/cb")),
    ];
    pairs.extend(extra.iter().cloned());
    config(&pairs)
}

#[test]
fn without_a_poller_configuration_the_element_s_default_resources_are_polled() {
    let settings = EventsSettings::read(&enabled(&[]), &CrmWithDefaults).expect("valid");
    assert_eq!(
        settings.pollers.keys().collect::<Vec<_>>(),
        ["appointments", "contacts"]
    );
    let contacts = &settings.pollers["contacts"];
    assert_eq!(contacts.url, "/hubs/crm/contacts");
    assert_eq!(contacts.id_field, "id");
    assert_eq!(contacts.dates.updated_field, "last_updated");
    assert_eq!(contacts.dates.created_timezone.as_deref(), Some("GMT"));
    let errors = EventsSettings::read(&enabled(&[]), &Crm).unwrap_err();
    assert!(
        errors[0].message.contains("no default resources"),
        "an element without defaults still needs one: {errors:?}"
    );
}

#[test]
fn a_resource_entry_without_id_field_or_dates_takes_the_element_s() {
    let poller = json!({"contacts": {
        "url": "/hubs/crm/contacts?where=last_updated>'${gmtDate:yyyy-MM-dd}'",
        "pollDelay": 5}});
    let settings = EventsSettings::read(
        &enabled(&[(POLLER_CONFIGURATION, poller)]),
        &CrmWithDefaults,
    )
    .expect("valid");
    let contacts = &settings.pollers["contacts"];
    assert!(contacts.url.contains("where="), "the url as given");
    assert_eq!(contacts.poll_delay_secs, 5);
    assert_eq!(contacts.id_field, "id");
    assert_eq!(contacts.dates.created_field, "date_created");

    // A datesConfiguration given is taken whole: its own gaps are still errors.
    let partial = json!({"contacts": {"url": "/hubs/crm/contacts", "idField": "",
        "datesConfiguration": {"updatedDateField": "x"}}});
    let errors = EventsSettings::read(
        &enabled(&[(POLLER_CONFIGURATION, partial)]),
        &CrmWithDefaults,
    )
    .unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(
        fields
            .contains(&"event.poller.configuration.contacts.datesConfiguration.updatedDateFormat")
            && !fields.iter().any(|f| f.ends_with("idField")),
        "{fields:?}"
    );

    // A resource whose dates the element does not know still needs them.
    let companies = json!({"companies": {"url": "/hubs/crm/companies"}});
    let errors = EventsSettings::read(
        &enabled(&[(POLLER_CONFIGURATION, companies)]),
        &CrmWithDefaults,
    )
    .unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "event.poller.configuration.companies.idField",
            "event.poller.configuration.companies.datesConfiguration"
        ]
    );
}

#[test]
fn legacy_poller_urls_read_as_the_equivalent_json_configuration() {
    let lines = "contacts|/hubs/crm/contacts?where=last_updated>='${date}'||last_updated|\
                 yyyy-MM-dd'T'HH:mm:ssZ||date_created|yyyy-MM-dd'T'HH:mm:ssZ|\n\
                 appointments|/hubs/crm/appointments\n";
    let settings = EventsSettings::read(&enabled(&[(POLLER_URLS, json!(lines))]), &CrmWithDefaults)
        .expect("valid");
    let contacts = &settings.pollers["contacts"];
    assert_eq!(
        contacts.url,
        "/hubs/crm/contacts?where=last_updated>='${date}'"
    );
    assert_eq!(contacts.id_field, "id", "the element's: the form has none");
    assert_eq!(contacts.dates.updated_format, "yyyy-MM-dd'T'HH:mm:ssZ");
    assert_eq!(
        contacts.dates.updated_timezone, None,
        "an empty zone is UTC"
    );
    let appointments = &settings.pollers["appointments"];
    assert_eq!(appointments.dates.updated_field, "modification_date");

    // Cloud Elements' provisioning form: resource names.
    let named = EventsSettings::read(
        &enabled(&[(POLLER_URLS, json!("contacts|appointments"))]),
        &CrmWithDefaults,
    )
    .expect("valid");
    assert_eq!(
        named.pollers.keys().collect::<Vec<_>>(),
        ["appointments", "contacts"]
    );

    // The JSON form wins when both are given.
    let both = EventsSettings::read(
        &enabled(&[
            (POLLER_URLS, json!("contacts|appointments")),
            (
                POLLER_CONFIGURATION,
                json!({"contacts": {"url": "/hubs/crm/contacts"}}),
            ),
        ]),
        &CrmWithDefaults,
    )
    .expect("valid");
    assert_eq!(both.pollers.keys().collect::<Vec<_>>(), ["contacts"]);
}

#[test]
fn a_legacy_line_that_cannot_be_read_is_named_by_its_number() {
    let lines = "contacts\n\
                 widgets|appointments\n\
                 companies\n\
                 appointments|/hubs/crm/appointments|//record[x]\n\
                 contacts|/hubs/crm/contacts|||||||||\n\
                 contacts|/hubs/crm/contacts?where=x='1'";
    let errors = EventsSettings::read(&enabled(&[(POLLER_URLS, json!(lines))]), &CrmWithDefaults)
        .unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 5, "{text:#?}");
    for (line, needle) in [
        ("line 2", "widgets: unknown resource"),
        (
            "line 3",
            "companies: the element has no poller configuration",
        ),
        ("line 4", "xPathFilter"),
        ("line 5", "has 11 fields"),
        ("line 6", "contacts is configured twice"),
    ] {
        assert!(
            text.iter()
                .any(|t| t.starts_with(&format!("event.poller.urls {line}:"))
                    && t.contains(needle)),
            "{line} {needle}: {text:#?}"
        );
    }
    // A documented line's own problems name the resource under event.poller.urls.
    let bad_pattern = "contacts|/hubs/crm/contacts||last_updated|yyyy-qq|GMT|date_created|yyyy|GMT";
    let errors = EventsSettings::read(
        &enabled(&[(POLLER_URLS, json!(bad_pattern))]),
        &CrmWithDefaults,
    )
    .unwrap_err();
    assert_eq!(
        errors[0].field,
        "event.poller.urls.contacts.datesConfiguration.updatedDateFormat"
    );
}
