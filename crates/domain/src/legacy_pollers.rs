//! Cloud Elements' legacy poller configuration, `event.poller.urls`, read as the equivalent
//! `event.poller.configuration` object (the archived polling guide, `_archive/events/polling.md`
//! in `shared/research/cloud-elements.md` §2.6).
//!
//! Two forms are in use, one resource per line:
//! - the documented one, nine fields separated by `|`:
//!   `<resource>|<pollerUrl>|<xPathFilter>|<updatedDateField>|<updatedDateFormat>|`
//!   `<updatedDateTimeZone>|<createdDateField>|<createdDateFormat>|<createdDateTimeZone>`;
//!   empty fields are left out (an empty time zone is UTC; empty date fields take the
//!   element's), and the resource's id field is always the element's (the form has none);
//! - the one Cloud Elements' own provisioning writes: resource names separated by `|` (or one
//!   per line), each polled with the element's own configuration of it.
//!
//! A line is the first form when its second field is a hub path (starts with `/`). Choices
//! where the guide is silent: an `xPathFilter` is refused (its meaning is undocumented, and
//! dropping it would deliver events the configuration meant to filter out); fewer than nine
//! fields are read as given, more are refused; a resource named twice is refused.

use serde_json::{Map, Value, json};

/// What reading the lines needs to know of the element (`instance_config` gives it from the
/// element's `ResourceCatalog`).
pub trait Resources {
    /// Whether the element has a resource of this name.
    fn has(&self, name: &str) -> bool;
    /// The resource names, for error messages.
    fn names(&self) -> Vec<String>;
    /// The element's own configuration entry of a resource, when it knows its change dates.
    fn default_entry(&self, name: &str) -> Option<Value>;
}

/// A line that cannot be read: its number (from 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// The names of the documented form's fields, in order.
const FIELDS: [&str; 9] = [
    "resource",
    "pollerUrl",
    "xPathFilter",
    "updatedDateField",
    "updatedDateFormat",
    "updatedDateTimeZone",
    "createdDateField",
    "createdDateFormat",
    "createdDateTimeZone",
];

/// The `datesConfiguration` key of each date field of the documented form.
const DATES: [(usize, &str); 6] = [
    (3, "updatedDateField"),
    (4, "updatedDateFormat"),
    (5, "updatedDateTimezone"),
    (6, "createdDateField"),
    (7, "createdDateFormat"),
    (8, "createdDateTimezone"),
];

/// Reads `event.poller.urls` into a poller configuration object, or names every line that
/// cannot be read.
pub fn read(text: &str, catalog: &dyn Resources) -> Result<Map<String, Value>, Vec<LineError>> {
    let mut object = Map::new();
    let mut errors = Vec::new();
    let mut error = |line: usize, message: String| errors.push(LineError { line, message });
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty());
    for (number, line) in lines {
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let entries: Vec<(String, Value)> = if fields.get(1).is_some_and(|f| f.starts_with('/')) {
            match documented(&fields) {
                Ok(entry) => vec![entry],
                Err(message) => {
                    error(number, message);
                    continue;
                }
            }
        } else {
            let mut named = Vec::new();
            for name in fields.iter().filter(|f| !f.is_empty()) {
                match catalog.default_entry(name) {
                    Some(entry) => named.push(((*name).to_owned(), entry)),
                    None if catalog.has(name) => error(
                        number,
                        format!(
                            "{name}: the element has no poller configuration of its own for \
                             this resource; give its url and dates as \
                             resource|url||updatedDateField|updatedDateFormat|zone|\
                             createdDateField|createdDateFormat|zone"
                        ),
                    ),
                    None => error(
                        number,
                        format!(
                            "{name}: unknown resource; the element has {}",
                            catalog.names().join(", ")
                        ),
                    ),
                }
            }
            named
        };
        for (resource, entry) in entries {
            if object.contains_key(&resource) {
                error(number, format!("{resource} is configured twice"));
            } else {
                object.insert(resource, entry);
            }
        }
    }
    if errors.is_empty() {
        Ok(object)
    } else {
        Err(errors)
    }
}

/// One line of the documented form as a resource and its entry.
fn documented(fields: &[&str]) -> Result<(String, Value), String> {
    if fields.len() > FIELDS.len() {
        return Err(format!(
            "has {} fields separated by |; the form has at most {}: {}",
            fields.len(),
            FIELDS.len(),
            FIELDS.join("|")
        ));
    }
    let resource = fields[0];
    if resource.is_empty() {
        return Err("the resource (the first field) is empty".into());
    }
    if let Some(filter) = fields.get(2).filter(|f| !f.is_empty()) {
        return Err(format!(
            "{resource}: an xPathFilter ({filter:?}) is not supported; filter in the url's \
             where clause instead"
        ));
    }
    let mut entry = json!({"url": fields[1]});
    let dates: Map<String, Value> = DATES
        .iter()
        .filter_map(|(index, key)| {
            let value = fields.get(*index).filter(|v| !v.is_empty())?;
            Some(((*key).to_owned(), Value::String((*value).to_owned())))
        })
        .collect();
    // No date field given: the element's datesConfiguration applies (as for an entry of the
    // JSON form without one).
    if !dates.is_empty() {
        entry["datesConfiguration"] = Value::Object(dates);
    }
    Ok((resource.to_owned(), entry))
}
