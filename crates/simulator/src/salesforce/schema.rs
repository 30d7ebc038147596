//! The five standard SObjects the simulator serves — Account, Contact, Lead, Opportunity, Case —
//! as data: their key prefixes and fields, each with a type and who may write it
//! (`shared/research/providers.md` §2.3). Also how a stored row reads as a record: system fields
//! (`Id`, `IsDeleted`, `CreatedDate`, `LastModifiedDate`, `SystemModstamp`, `CreatedById`,
//! `LastModifiedById`) come from the engine's facts, derived ones (`Name` of a Contact,
//! `IsClosed`, `IsWon`) from other fields, the rest from the stored JSON.
//!
//! Dates are written `2013-05-20T20:49:32.000+0000` and kept at one-second resolution: the
//! engine's millisecond times are truncated to the second on the way out, so ties within a
//! second are as common as at Salesforce. A delete moves `SystemModstamp` (so `queryAll … WHERE
//! IsDeleted = TRUE AND SystemModstamp > …` finds it); choice where undocumented: it leaves
//! `LastModifiedDate` alone.

use serde_json::Value;

use crate::engine::dates::{floor_to_second, format_offset};
use crate::engine::records::Row;
use crate::salesforce::ids;

/// A field's type, as far as filters and writes care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Id,
    /// An id of another record (`AccountId`, `OwnerId`).
    Reference,
    Text,
    Bool,
    Int,
    /// Double, currency and percent fields.
    Number,
    /// `2024-05-31`.
    Date,
    DateTime,
}

/// Who writes a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Set by the platform from the engine's facts.
    System,
    /// Computed from other fields on every read.
    Derived,
    /// Set by the platform once, at create (`CaseNumber`, a Lead's `IsConverted`).
    Auto,
    Writable,
    /// Writable, and a create must give it.
    Required,
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub access: Access,
}

impl Field {
    pub fn writable(&self) -> bool {
        matches!(self.access, Access::Writable | Access::Required)
    }
}

const fn field(name: &'static str, ty: Type, access: Access) -> Field {
    Field { name, ty, access }
}

use Access::{Auto, Derived, Required, System, Writable};
use Type::{Bool, Date, DateTime, Id, Int, Number, Reference, Text};

/// Fields every SObject has.
const SYSTEM_FIELDS: &[Field] = &[
    field("Id", Id, System),
    field("IsDeleted", Bool, System),
    field("CreatedDate", DateTime, System),
    field("CreatedById", Reference, System),
    field("LastModifiedDate", DateTime, System),
    field("LastModifiedById", Reference, System),
    field("SystemModstamp", DateTime, System),
];

#[derive(Debug)]
pub struct SObject {
    pub name: &'static str,
    /// The key prefix of its ids.
    pub prefix: &'static str,
    fields: &'static [Field],
}

pub const ACCOUNT: SObject = SObject {
    name: "Account",
    prefix: "001",
    fields: &[
        field("Name", Text, Required),
        field("Type", Text, Writable),
        field("Industry", Text, Writable),
        field("Rating", Text, Writable),
        field("Phone", Text, Writable),
        field("Website", Text, Writable),
        field("BillingStreet", Text, Writable),
        field("BillingCity", Text, Writable),
        field("BillingState", Text, Writable),
        field("BillingPostalCode", Text, Writable),
        field("BillingCountry", Text, Writable),
        field("AnnualRevenue", Number, Writable),
        field("NumberOfEmployees", Int, Writable),
        field("Description", Text, Writable),
        field("OwnerId", Reference, Writable),
    ],
};

pub const CONTACT: SObject = SObject {
    name: "Contact",
    prefix: "003",
    fields: &[
        field("FirstName", Text, Writable),
        field("LastName", Text, Required),
        field("Name", Text, Derived),
        field("Email", Text, Writable),
        field("Phone", Text, Writable),
        field("Title", Text, Writable),
        field("Department", Text, Writable),
        field("AccountId", Reference, Writable),
        field("MailingCity", Text, Writable),
        field("MailingCountry", Text, Writable),
        field("LeadSource", Text, Writable),
        field("OwnerId", Reference, Writable),
    ],
};

pub const LEAD: SObject = SObject {
    name: "Lead",
    prefix: "00Q",
    fields: &[
        field("FirstName", Text, Writable),
        field("LastName", Text, Required),
        field("Name", Text, Derived),
        field("Company", Text, Required),
        field("Title", Text, Writable),
        field("Email", Text, Writable),
        field("Phone", Text, Writable),
        field("Status", Text, Writable),
        field("LeadSource", Text, Writable),
        field("Industry", Text, Writable),
        field("Rating", Text, Writable),
        field("IsConverted", Bool, Auto),
        field("OwnerId", Reference, Writable),
    ],
};

pub const OPPORTUNITY: SObject = SObject {
    name: "Opportunity",
    prefix: "006",
    fields: &[
        field("Name", Text, Required),
        field("StageName", Text, Required),
        field("CloseDate", Date, Required),
        field("Amount", Number, Writable),
        field("Probability", Number, Writable),
        field("Type", Text, Writable),
        field("LeadSource", Text, Writable),
        field("ForecastCategoryName", Text, Writable),
        field("IsClosed", Bool, Derived),
        field("IsWon", Bool, Derived),
        field("AccountId", Reference, Writable),
        field("OwnerId", Reference, Writable),
    ],
};

pub const CASE: SObject = SObject {
    name: "Case",
    prefix: "500",
    fields: &[
        field("CaseNumber", Text, Auto),
        field("Subject", Text, Writable),
        field("Description", Text, Writable),
        field("Status", Text, Writable),
        field("Priority", Text, Writable),
        field("Origin", Text, Writable),
        field("Type", Text, Writable),
        field("Reason", Text, Writable),
        field("IsClosed", Bool, Derived),
        field("AccountId", Reference, Writable),
        field("ContactId", Reference, Writable),
        field("OwnerId", Reference, Writable),
    ],
};

/// Every SObject, in the order the initial data is seeded (accounts first, so the others can
/// point at them).
pub const ALL: [&SObject; 5] = [&ACCOUNT, &CONTACT, &LEAD, &OPPORTUNITY, &CASE];

/// Their names, as the engine's resources.
pub const NAMES: [&str; 5] = ["Account", "Contact", "Lead", "Opportunity", "Case"];

impl SObject {
    /// The SObject named `name`, in any case (SOQL and REST paths are case-insensitive).
    pub fn named(name: &str) -> Option<&'static SObject> {
        ALL.into_iter()
            .find(|object| object.name.eq_ignore_ascii_case(name))
    }

    /// Every field: the system fields first, then the object's own.
    pub fn fields(&self) -> impl Iterator<Item = &'static Field> {
        SYSTEM_FIELDS.iter().chain(self.fields.iter())
    }

    /// The field named `name`, in any case.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// The fields a create must give.
    pub fn required(&self) -> impl Iterator<Item = &'static Field> {
        self.fields.iter().filter(|field| field.access == Required)
    }
}

/// A row as a record of one org: live, or deleted at a time (still in the Recycle Bin).
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub object: &'static SObject,
    pub row: &'a Row,
    pub org: usize,
    pub deleted_ms: Option<i64>,
}

/// The id of the org's one user, who owns and changes everything.
pub fn user_id(org: usize) -> String {
    ids::encode("005", i64::try_from(org).unwrap_or(0) + 1)
}

/// The id of org `index`.
pub fn org_id(index: usize) -> String {
    ids::encode("00D", i64::try_from(index).unwrap_or(0) + 1)
}

impl View<'_> {
    pub fn id(&self) -> String {
        ids::encode(self.object.prefix, self.row.id)
    }

    /// `SystemModstamp` in epoch ms (whole seconds): the last change, the deletion included.
    pub fn modstamp_ms(&self) -> i64 {
        floor_to_second(self.row.updated_ms.max(self.deleted_ms.unwrap_or(i64::MIN)))
    }

    /// A date-time field in epoch ms (whole seconds), for filters and ordering.
    pub fn time_ms(&self, field: &Field) -> Option<i64> {
        match field.name {
            "CreatedDate" => Some(floor_to_second(self.row.created_ms)),
            "LastModifiedDate" => Some(floor_to_second(self.row.updated_ms)),
            "SystemModstamp" => Some(self.modstamp_ms()),
            _ => None,
        }
    }

    /// A field's value as the API writes it.
    pub fn value(&self, field: &Field) -> Value {
        if let Some(ms) = self.time_ms(field) {
            return format_offset(ms).into();
        }
        let text = |name: &str| {
            self.row
                .fields
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        match (field.access, field.name) {
            (System, "Id") => self.id().into(),
            (System, "IsDeleted") => self.deleted_ms.is_some().into(),
            (System, _) => user_id(self.org).into(),
            (Derived, "Name") => {
                let name = format!("{} {}", text("FirstName"), text("LastName"));
                name.trim().to_owned().into()
            }
            (Derived, "IsWon") => (text("StageName") == "Closed Won").into(),
            (Derived, "IsClosed") if self.object.name == "Case" => {
                (text("Status") == "Closed").into()
            }
            (Derived, "IsClosed") => text("StageName").starts_with("Closed").into(),
            _ => self
                .row
                .fields
                .get(field.name)
                .cloned()
                .unwrap_or(Value::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_fields_are_found_in_any_case_and_system_fields_come_first() {
        let account = SObject::named("account").expect("Account");
        assert_eq!(account.name, "Account");
        assert_eq!(
            account.field("systemmodstamp").map(|f| f.name),
            Some("SystemModstamp")
        );
        assert_eq!(account.fields().next().map(|f| f.name), Some("Id"));
        assert!(account.field("Email").is_none());
        assert!(SObject::named("Widget").is_none());
        let required: Vec<&str> = OPPORTUNITY.required().map(|f| f.name).collect();
        assert_eq!(required, ["Name", "StageName", "CloseDate"]);
    }
}
