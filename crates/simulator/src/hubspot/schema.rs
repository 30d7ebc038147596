//! The four CRM objects the simulator serves — contacts, companies, deals, tickets — as data
//! (`shared/research/providers.md` §3.3), and how a stored row reads as a `SimplePublicObject`:
//! `{"id", "properties", "createdAt", "updatedAt", "archived", "archivedAt"?}`.
//!
//! Every property value is a string. Three properties come from the engine's facts rather than
//! the stored JSON: `hs_object_id` (the id), `createdate` and the modified property, which is
//! `lastmodifieddate` on contacts and `hs_lastmodifieddate` on the others (§3.3). Top-level times
//! are ISO-8601 UTC with milliseconds and `Z`.
//!
//! Choices where undocumented: date-time properties inside `properties` are written in the same
//! ISO style as `updatedAt` (filters take epoch milliseconds or ISO); a contact has no
//! `hs_lastmodifieddate` at all, so a search filtering contacts on it matches nothing — the
//! "silent failure" integrators report (§3.3); `hs_object_id`, `createdate` and the modified
//! property are always among the properties returned, the others only when asked for (or in the
//! object's default set); a property asked for that the record lacks reads `null`, one the object
//! does not know is left out.

use serde_json::{Map, Value};

use crate::engine::dates::format_zulu;
use crate::engine::records::Row;

/// How filters and sorts compare a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    /// Epoch milliseconds (or ISO) in filters; ISO on the way out.
    DateTime,
}

/// One CRM object type.
#[derive(Debug)]
pub struct Object {
    /// The path name: `contacts`.
    pub name: &'static str,
    /// The numeric type id the spec also accepts in paths: `0-1`.
    pub type_id: &'static str,
    /// The modified property (§3.3).
    pub modified: &'static str,
    /// Properties returned when none are asked for.
    pub defaults: &'static [&'static str],
    /// Properties a client may write, with their kinds.
    pub writable: &'static [(&'static str, Kind)],
}

use Kind::{DateTime, Number, Text};

pub const CONTACTS: Object = Object {
    name: "contacts",
    type_id: "0-1",
    modified: "lastmodifieddate",
    defaults: &[
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ],
    writable: &[
        ("email", Text),
        ("firstname", Text),
        ("lastname", Text),
        ("phone", Text),
        ("company", Text),
        ("jobtitle", Text),
        ("city", Text),
        ("lifecyclestage", Text),
        ("hs_lead_status", Text),
    ],
};

pub const COMPANIES: Object = Object {
    name: "companies",
    type_id: "0-2",
    modified: "hs_lastmodifieddate",
    defaults: &[
        "createdate",
        "domain",
        "hs_lastmodifieddate",
        "hs_object_id",
        "name",
    ],
    writable: &[
        ("name", Text),
        ("domain", Text),
        ("industry", Text),
        ("city", Text),
        ("phone", Text),
        ("numberofemployees", Number),
        ("annualrevenue", Number),
    ],
};

pub const DEALS: Object = Object {
    name: "deals",
    type_id: "0-3",
    modified: "hs_lastmodifieddate",
    defaults: &[
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ],
    writable: &[
        ("dealname", Text),
        ("amount", Number),
        ("dealstage", Text),
        ("pipeline", Text),
        ("closedate", DateTime),
        ("hubspot_owner_id", Text),
    ],
};

pub const TICKETS: Object = Object {
    name: "tickets",
    type_id: "0-5",
    modified: "hs_lastmodifieddate",
    defaults: &[
        "content",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "subject",
    ],
    writable: &[
        ("subject", Text),
        ("content", Text),
        ("hs_pipeline", Text),
        ("hs_pipeline_stage", Text),
        ("hs_ticket_category", Text),
        ("hs_ticket_priority", Text),
    ],
};

pub const ALL: [&Object; 4] = [&CONTACTS, &COMPANIES, &DEALS, &TICKETS];

/// The engine's resource names, in seeding order.
pub const NAMES: [&str; 4] = ["contacts", "companies", "deals", "tickets"];

impl Object {
    /// The object of a path segment: its name (any case) or its type id.
    pub fn named(segment: &str) -> Option<&'static Object> {
        ALL.into_iter()
            .find(|object| object.name.eq_ignore_ascii_case(segment) || object.type_id == segment)
    }

    /// The kind of a property this object has, whether stored or computed.
    pub fn kind(&self, property: &str) -> Option<Kind> {
        match property {
            "hs_object_id" => Some(Number),
            "createdate" => Some(DateTime),
            name if name == self.modified => Some(DateTime),
            name => self
                .writable
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, kind)| *kind),
        }
    }

    /// Whether a client may not write `property` (it is the platform's).
    pub fn read_only(&self, property: &str) -> bool {
        matches!(
            property,
            "hs_object_id" | "createdate" | "lastmodifieddate" | "hs_lastmodifieddate"
        )
    }
}

/// A record's property as a string: computed from the engine's facts, or stored.
pub fn property(object: &Object, row: &Row, name: &str) -> Option<String> {
    match name {
        "hs_object_id" => Some(row.id.to_string()),
        "createdate" => Some(format_zulu(row.created_ms)),
        name if name == object.modified => Some(format_zulu(row.updated_ms)),
        name => match row.fields.get(name)? {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        },
    }
}

/// How a record reads: `{"id", "properties", "createdAt", "updatedAt", "archived"}`, plus
/// `archivedAt` for an archived one. `asked` are the properties requested (the object's
/// defaults when empty).
pub fn render(object: &Object, row: &Row, asked: &[String], archived_ms: Option<i64>) -> Value {
    let mut properties = Map::new();
    let always = ["createdate", object.modified, "hs_object_id"];
    let names: Vec<&str> = if asked.is_empty() {
        object.defaults.to_vec()
    } else {
        asked.iter().map(String::as_str).collect()
    };
    for name in always.into_iter().chain(names) {
        if properties.contains_key(name) || object.kind(name).is_none() {
            continue;
        }
        let value = property(object, row, name).map_or(Value::Null, Value::String);
        properties.insert(name.to_owned(), value);
    }
    let mut record = Map::new();
    record.insert("id".into(), row.id.to_string().into());
    record.insert("properties".into(), Value::Object(properties));
    record.insert("createdAt".into(), format_zulu(row.created_ms).into());
    record.insert("updatedAt".into(), format_zulu(row.updated_ms).into());
    record.insert("archived".into(), archived_ms.is_some().into());
    if let Some(at) = archived_ms {
        record.insert("archivedAt".into(), format_zulu(at).into());
    }
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_found_by_name_or_type_id_and_know_their_modified_property() {
        assert_eq!(
            Object::named("Contacts").map(|o| o.modified),
            Some("lastmodifieddate")
        );
        assert_eq!(Object::named("0-3").map(|o| o.name), Some("deals"));
        assert_eq!(
            Object::named("tickets").map(|o| o.modified),
            Some("hs_lastmodifieddate")
        );
        assert!(Object::named("widgets").is_none());
        assert_eq!(
            CONTACTS.kind("hs_lastmodifieddate"),
            None,
            "contacts lack it"
        );
        assert_eq!(DEALS.kind("amount"), Some(Kind::Number));
    }

    #[test]
    fn a_record_reads_with_string_properties_and_iso_times() {
        let row = Row {
            id: 512,
            created_ms: 1_572_406_217_883,
            updated_ms: 1_575_737_406_678,
            versions: 2,
            fields: serde_json::json!({"email": "a@example.com", "firstname": "Ann"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let record = render(&CONTACTS, &row, &["email".into(), "phone".into()], None);
        assert_eq!(
            record,
            serde_json::json!({
                "id": "512",
                "properties": {
                    "createdate": "2019-10-30T03:30:17.883Z",
                    "lastmodifieddate": "2019-12-07T16:50:06.678Z",
                    "hs_object_id": "512",
                    "email": "a@example.com",
                    "phone": null,
                },
                "createdAt": "2019-10-30T03:30:17.883Z",
                "updatedAt": "2019-12-07T16:50:06.678Z",
                "archived": false,
            })
        );
    }
}
