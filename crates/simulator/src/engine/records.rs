//! Tenants and their records, as every provider stores them: a table per resource, rows with an
//! id, their true change times (epoch ms on the provider's clock), a version count and the
//! provider's own fields as JSON, and the deletions with their times (and the row as it was, so
//! a provider that keeps a recycle bin can still show it).
//!
//! How a row looks on the wire — field names, date formats, id spelling — is the provider's
//! business; this module only keeps the facts.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::throttle::Budget;

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1, 2, 3, … per table; providers spell it their way (Salesforce's `001…` ids).
    pub id: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// How many times the record was written: 1 when created, one more per update.
    pub versions: u64,
    pub fields: Map<String, Value>,
}

impl Row {
    /// The value at a dotted path (`contact.id`, `email_addresses.0.email`).
    pub fn field(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut current = self.fields.get(first)?;
        for part in parts {
            current = match part.parse::<usize>() {
                Ok(index) => current.get(index)?,
                Err(_) => current.get(part)?,
            };
        }
        Some(current)
    }
}

/// A deleted record: its id and time (what the state export shows), and the row as it was.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Deleted {
    pub id: i64,
    pub deleted_ms: i64,
    #[serde(skip)]
    pub row: Row,
}

/// A soft delete: the record stays in the table, marked by the provider's patch (QuickBooks'
/// `Active: false`); the time is kept so the state export can report it beside the deletions.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Deactivation {
    pub id: i64,
    pub deactivated_ms: i64,
}

/// One resource of one tenant.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
    pub deleted: Vec<Deleted>,
    /// Soft deletes, for providers that deactivate records instead of deleting them.
    pub deactivated: Vec<Deactivation>,
    pub creates: u64,
    pub updates: u64,
}

impl Table {
    /// Adds a record of the initial data set: not counted as a create, no change event.
    pub fn seed(&mut self, created_ms: i64, updated_ms: i64, fields: Map<String, Value>) -> &Row {
        self.next_id += 1;
        let row = Row {
            id: self.next_id,
            created_ms,
            updated_ms,
            versions: 1,
            fields,
        };
        self.rows.entry(row.id).or_insert(row)
    }

    /// A live record chosen by `probe` (the first at or after it, else the first of all).
    pub fn near(&self, probe: i64) -> Option<&Row> {
        self.rows
            .range(probe..)
            .next()
            .or_else(|| self.rows.iter().next())
            .map(|(_, row)| row)
    }
}

/// A Keap app, a Salesforce org: its records and its budget.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub name: String,
    /// One table per resource the provider declares, by resource name.
    pub tables: BTreeMap<&'static str, Table>,
    pub budget: Budget,
    /// Requests of this tenant being answered now (past authentication), for providers that
    /// limit concurrency.
    pub in_flight: u32,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Add,
    Edit,
    Delete,
}

/// One change to one record, as providers hear of it (Keap queues REST hook deliveries).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Change {
    pub tenant: usize,
    pub resource: &'static str,
    pub action: Action,
    pub id: i64,
    /// Provider time of the change.
    pub at_ms: i64,
}
