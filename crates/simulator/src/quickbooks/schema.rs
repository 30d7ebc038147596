//! The five entities the simulator serves (`shared/research/providers.md` §4.3) as data — the
//! list entities `Customer`, `Vendor`, `Item`, soft-deleted by `Active: false`, and the
//! transactions `Invoice`, `Payment`, deleted for good — and how a stored row reads:
//! its fields plus `Id` (a string), `SyncToken` (the version, from 0), `domain: "QBO"`,
//! `sparse: false` and `MetaData {CreateTime, LastUpdatedTime}` in the company's offset, to the
//! second. A deleted transaction reads, in CDC, as the stub
//! `{"domain": "QBO", "status": "Deleted", "Id", "MetaData": {"LastUpdatedTime"}}` (§4.6).
//!
//! Choices where undocumented: the fields are a realistic subset of Intuit's; `Balance`,
//! `TotalAmt` of an invoice and `FullyQualifiedName` are the platform's (computed at each write,
//! ignored when a client sends them).

use serde_json::{Map, Value, json};

use crate::engine::records::Row;
use crate::quickbooks::config::CompanyOffset;
use crate::quickbooks::time::local;

/// Whether deleting a record removes it or deactivates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Soft delete: `Active: false`, an update; hidden from queries by default.
    List,
    /// Hard delete: gone, a stub in CDC.
    Transaction,
}

/// A field's type, as far as queries and writes care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Text,
    Number,
    Bool,
    /// `2015-12-23`, a local calendar date (compares as text).
    Date,
    /// `{"value": "42", "name"?: …}`: queries compare its `value`.
    Ref,
    /// An object such as `PrimaryEmailAddr`; not queryable.
    Object,
    /// `Line`: an array of line objects; not queryable.
    Lines,
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    /// Set by the platform (clients' values are ignored).
    pub computed: bool,
}

const fn f(name: &'static str, ty: Type) -> Field {
    Field {
        name,
        ty,
        required: false,
        computed: false,
    }
}

const fn required(name: &'static str, ty: Type) -> Field {
    Field {
        name,
        ty,
        required: true,
        computed: false,
    }
}

const fn computed(name: &'static str, ty: Type) -> Field {
    Field {
        name,
        ty,
        required: false,
        computed: true,
    }
}

use Type::{Bool, Date, Lines, Number, Object, Ref, Text};

#[derive(Debug)]
pub struct Entity {
    pub name: &'static str,
    pub class: Class,
    pub fields: &'static [Field],
}

pub const CUSTOMER: Entity = Entity {
    name: "Customer",
    class: Class::List,
    fields: &[
        required("DisplayName", Text),
        f("GivenName", Text),
        f("FamilyName", Text),
        f("CompanyName", Text),
        f("PrimaryEmailAddr", Object),
        f("PrimaryPhone", Object),
        f("BillAddr", Object),
        f("Notes", Text),
        f("Taxable", Bool),
        f("Active", Bool),
        computed("FullyQualifiedName", Text),
        computed("Balance", Number),
    ],
};

pub const VENDOR: Entity = Entity {
    name: "Vendor",
    class: Class::List,
    fields: &[
        required("DisplayName", Text),
        f("CompanyName", Text),
        f("GivenName", Text),
        f("FamilyName", Text),
        f("PrimaryEmailAddr", Object),
        f("PrimaryPhone", Object),
        f("Vendor1099", Bool),
        f("Active", Bool),
        computed("Balance", Number),
    ],
};

pub const ITEM: Entity = Entity {
    name: "Item",
    class: Class::List,
    fields: &[
        required("Name", Text),
        required("Type", Text),
        f("Description", Text),
        f("UnitPrice", Number),
        f("Sku", Text),
        f("Taxable", Bool),
        f("IncomeAccountRef", Ref),
        f("Active", Bool),
        computed("FullyQualifiedName", Text),
    ],
};

pub const INVOICE: Entity = Entity {
    name: "Invoice",
    class: Class::Transaction,
    fields: &[
        required("CustomerRef", Ref),
        required("Line", Lines),
        f("TxnDate", Date),
        f("DueDate", Date),
        f("DocNumber", Text),
        f("CustomerMemo", Object),
        f("EmailStatus", Text),
        computed("TotalAmt", Number),
        computed("Balance", Number),
    ],
};

pub const PAYMENT: Entity = Entity {
    name: "Payment",
    class: Class::Transaction,
    fields: &[
        required("CustomerRef", Ref),
        required("TotalAmt", Number),
        f("TxnDate", Date),
        f("PaymentRefNum", Text),
        f("Line", Lines),
        computed("UnappliedAmt", Number),
    ],
};

pub const ALL: [&Entity; 5] = [&CUSTOMER, &VENDOR, &ITEM, &INVOICE, &PAYMENT];

/// The engine's resource names, in seeding order.
pub const NAMES: [&str; 5] = ["Customer", "Vendor", "Item", "Invoice", "Payment"];

impl Entity {
    /// The entity named `name` in any case (`customer` in paths, `estimate,customer` in CDC).
    pub fn named(name: &str) -> Option<&'static Entity> {
        ALL.into_iter()
            .find(|entity| entity.name.eq_ignore_ascii_case(name))
    }

    /// The field named `name`, in any case.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    pub fn is_list(&self) -> bool {
        self.class == Class::List
    }
}

/// Whether a stored row of a list entity is inactive.
pub fn inactive(row: &Row) -> bool {
    row.fields.get("Active") == Some(&Value::Bool(false))
}

/// How a record reads in the API.
pub fn render(row: &Row, company: CompanyOffset) -> Value {
    let mut record: Map<String, Value> = row.fields.clone();
    record.insert("domain".into(), "QBO".into());
    record.insert("sparse".into(), false.into());
    record.insert("Id".into(), row.id.to_string().into());
    record.insert(
        "SyncToken".into(),
        row.versions.saturating_sub(1).to_string().into(),
    );
    record.insert(
        "MetaData".into(),
        json!({
            "CreateTime": local(row.created_ms, company),
            "LastUpdatedTime": local(row.updated_ms, company),
        }),
    );
    Value::Object(record)
}

/// A deleted transaction as CDC shows it.
pub fn stub(id: i64, deleted_ms: i64, company: CompanyOffset) -> Value {
    json!({
        "domain": "QBO",
        "status": "Deleted",
        "Id": id.to_string(),
        "MetaData": {"LastUpdatedTime": local(deleted_ms, company)},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_found_in_any_case_and_know_how_they_are_deleted() {
        assert_eq!(
            Entity::named("customer").map(|e| e.class),
            Some(Class::List)
        );
        assert_eq!(
            Entity::named("INVOICE").map(|e| e.class),
            Some(Class::Transaction)
        );
        assert!(Entity::named("Estimate").is_none());
        assert_eq!(ITEM.field("unitprice").map(|f| f.ty), Some(Type::Number));
    }

    #[test]
    fn a_record_reads_with_its_id_sync_token_and_local_metadata() {
        let row = Row {
            id: 63,
            created_ms: 1_450_904_150_196,
            updated_ms: 1_450_904_160_999,
            versions: 3,
            fields: json!({"DisplayName": "Amy's Bird Sanctuary", "Active": true})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let pacific = CompanyOffset::parse("-08:00").expect("valid");
        assert_eq!(
            render(&row, pacific),
            json!({
                "DisplayName": "Amy's Bird Sanctuary",
                "Active": true,
                "domain": "QBO",
                "sparse": false,
                "Id": "63",
                "SyncToken": "2",
                "MetaData": {
                    "CreateTime": "2015-12-23T12:55:50-08:00",
                    "LastUpdatedTime": "2015-12-23T12:56:00-08:00",
                },
            })
        );
    }
}
