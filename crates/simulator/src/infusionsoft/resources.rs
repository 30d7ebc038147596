//! The nine v1 resources: their names, date fields and formats, filters and orderings.
//!
//! Everything that differs between resources is declared here as data, so the HTTP handlers in
//! `api.rs` stay generic. Each quirk is taken from `shared/research/infusionsoft.md`:
//! contacts, opportunities and notes write `….000+0000` with `last_updated` rounded to the
//! second; tasks, orders and appointments write `….SSS'Z'` (the Cloud Elements example parses
//! them that way); transactions have only `transaction_date`; companies and products carry no
//! change dates at all.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::engine::dates::{format_offset, format_zulu, parse_lenient, round_to_second};
use crate::engine::records::Row;

/// One v1 resource of the simulated API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Contacts,
    Companies,
    Opportunities,
    Tasks,
    Notes,
    Appointments,
    Orders,
    Products,
    Transactions,
}

/// How a resource writes its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `date_created` / `last_updated` as `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, rounded half-up to the
    /// second in reads (write responses show the true milliseconds).
    Rounded,
    /// `creation_date` / `modification_date` as `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`, true milliseconds.
    Modification,
    /// `transaction_date` only (the creation time), as `yyyy-MM-dd'T'HH:mm:ss.SSSZ`.
    TransactionDate,
    /// No date fields on the record.
    None,
}

/// What a list filter does with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    /// Records changed at or after the value (inclusive).
    Since,
    /// Records changed at or before the value (inclusive).
    Until,
    /// Case-insensitive equality with any `email_addresses[].email`.
    AnyEmail,
    /// Case-insensitive equality with a string at a path.
    Text(&'static str),
    /// Integer equality with a number at a path.
    Integer(&'static str),
    /// Equality of a boolean at a path.
    Boolean(&'static str),
    /// `true` keeps records whose `due_date` is set, `false` those without.
    HasDueDate,
    /// `true` keeps orders with status `PAID`, `false` the others.
    Paid,
    /// Orders with an item of this product id.
    ProductId,
    /// `true` keeps products whose `status` is 1.
    Active,
    /// Case-insensitive substring of the opportunity title or its contact's name.
    SearchTerm,
}

/// How a resource can be ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ordering_ {
    /// No `order` parameter: always by id.
    None,
    /// An enumerated set of `order` values, each sorting by a key.
    Enumerated(&'static [(&'static str, SortKey)]),
    /// A free string naming a record field.
    Free,
}

/// A key to sort records by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Created,
    Updated,
    Field(&'static str),
    /// Two fields, the first deciding.
    Fields(&'static str, &'static str),
}

/// The error a bad query parameter gets: a 400 `{"message": …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter(pub String);

impl Kind {
    /// Every resource, in the order the simulator lists them.
    pub const ALL: [Kind; 9] = [
        Kind::Contacts,
        Kind::Companies,
        Kind::Opportunities,
        Kind::Tasks,
        Kind::Notes,
        Kind::Appointments,
        Kind::Orders,
        Kind::Products,
        Kind::Transactions,
    ];

    /// The path segment and list envelope key (`contacts`).
    pub fn path(self) -> &'static str {
        match self {
            Kind::Contacts => "contacts",
            Kind::Companies => "companies",
            Kind::Opportunities => "opportunities",
            Kind::Tasks => "tasks",
            Kind::Notes => "notes",
            Kind::Appointments => "appointments",
            Kind::Orders => "orders",
            Kind::Products => "products",
            Kind::Transactions => "transactions",
        }
    }

    /// The resource named by a path segment.
    pub fn from_path(segment: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.path() == segment)
    }

    /// The noun in messages such as `Unable to find this Contact`.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Contacts => "Contact",
            Kind::Companies => "Company",
            Kind::Opportunities => "Opportunity",
            Kind::Tasks => "Task",
            Kind::Notes => "Note",
            Kind::Appointments => "Appointment",
            Kind::Orders => "Order",
            Kind::Products => "Product",
            Kind::Transactions => "Transaction",
        }
    }

    /// The REST hook object type and event-key prefix (`contact` → `contact.add`), for the
    /// resources Keap sends hooks for.
    pub fn hook_object(self) -> Option<&'static str> {
        match self {
            Kind::Contacts => Some("contact"),
            Kind::Companies => Some("company"),
            Kind::Opportunities => Some("opportunity"),
            Kind::Tasks => Some("task"),
            Kind::Notes => Some("note"),
            Kind::Appointments => Some("appointment"),
            Kind::Orders => Some("order"),
            Kind::Products => Some("product"),
            Kind::Transactions => None,
        }
    }

    pub fn date_style(self) -> DateStyle {
        match self {
            Kind::Contacts | Kind::Opportunities | Kind::Notes => DateStyle::Rounded,
            Kind::Tasks | Kind::Orders | Kind::Appointments => DateStyle::Modification,
            Kind::Transactions => DateStyle::TransactionDate,
            Kind::Companies | Kind::Products => DateStyle::None,
        }
    }

    /// Whether the list carries a `sync_token` beside `count` (as the real schemas say).
    pub fn has_sync_token(self) -> bool {
        matches!(self, Kind::Appointments | Kind::Tasks | Kind::Products)
    }

    /// The query parameters the list endpoint understands (besides `limit` and `offset`).
    fn filters(self) -> &'static [(&'static str, Filter)] {
        match self {
            Kind::Contacts => &[
                ("email", Filter::AnyEmail),
                ("given_name", Filter::Text("given_name")),
                ("family_name", Filter::Text("family_name")),
                ("since", Filter::Since),
                ("until", Filter::Until),
            ],
            Kind::Companies => &[("company_name", Filter::Text("company_name"))],
            Kind::Opportunities => &[
                ("user_id", Filter::Integer("user.id")),
                ("stage_id", Filter::Integer("stage.id")),
                ("search_term", Filter::SearchTerm),
            ],
            Kind::Tasks => &[
                ("contact_id", Filter::Integer("contact.id")),
                ("has_due_date", Filter::HasDueDate),
                ("user_id", Filter::Integer("user_id")),
                ("completed", Filter::Boolean("completed")),
                ("since", Filter::Since),
                ("until", Filter::Until),
            ],
            Kind::Appointments => &[
                ("since", Filter::Since),
                ("until", Filter::Until),
                ("contact_id", Filter::Integer("contact_id")),
            ],
            Kind::Notes => &[
                ("user_id", Filter::Integer("user_id")),
                ("contact_id", Filter::Integer("contact_id")),
            ],
            Kind::Orders => &[
                ("since", Filter::Since),
                ("until", Filter::Until),
                ("paid", Filter::Paid),
                ("contact_id", Filter::Integer("contact.id")),
                ("product_id", Filter::ProductId),
            ],
            Kind::Products => &[("active", Filter::Active)],
            Kind::Transactions => &[
                ("since", Filter::Since),
                ("until", Filter::Until),
                ("contact_id", Filter::Integer("contact_id")),
            ],
        }
    }

    fn ordering(self) -> Ordering_ {
        match self {
            Kind::Contacts => Ordering_::Enumerated(&[
                ("id", SortKey::Id),
                ("date_created", SortKey::Created),
                ("last_updated", SortKey::Updated),
                ("name", SortKey::Fields("family_name", "given_name")),
                ("firstName", SortKey::Field("given_name")),
                ("email", SortKey::Field("email_addresses.0.email")),
            ]),
            Kind::Companies => Ordering_::Enumerated(&[
                ("id", SortKey::Id),
                ("date_created", SortKey::Created),
                ("name", SortKey::Field("company_name")),
                ("email", SortKey::Field("email_address")),
            ]),
            Kind::Opportunities => Ordering_::Enumerated(&[
                ("next_action", SortKey::Field("next_action_date")),
                ("opportunity_name", SortKey::Field("opportunity_title")),
                (
                    "contact_name",
                    SortKey::Fields("contact.last_name", "contact.first_name"),
                ),
                ("date_created", SortKey::Created),
            ]),
            Kind::Tasks | Kind::Orders => Ordering_::Free,
            _ => Ordering_::None,
        }
    }

    /// Whether `order_direction` is understood (contacts and companies).
    fn has_direction(self) -> bool {
        matches!(self, Kind::Contacts | Kind::Companies)
    }

    /// Whether the `order` parameter exists on this list (and so `order=id` shows in `next`).
    pub fn has_order(self) -> bool {
        self.ordering() != Ordering_::None
    }

    /// The names of the list's filter parameters that `next`/`previous` links keep.
    pub fn is_link_parameter(self, name: &str) -> bool {
        self.filters().iter().any(|(param, _)| *param == name)
            || (self.has_order() && name == "order")
            || (self.has_direction() && name == "order_direction")
    }

    /// Fields a create must carry, with the message the API answers when one is missing.
    pub fn validate_create(self, body: &Map<String, Value>) -> Result<(), String> {
        let present = |key: &str| body.get(key).is_some_and(|value| !value.is_null());
        match self {
            Kind::Contacts => {
                let has_email = body
                    .get("email_addresses")
                    .and_then(Value::as_array)
                    .is_some_and(|emails| emails.iter().any(|e| e.get("email").is_some()));
                let has_phone = body
                    .get("phone_numbers")
                    .and_then(Value::as_array)
                    .is_some_and(|phones| phones.iter().any(|p| p.get("number").is_some()));
                if has_email || has_phone {
                    Ok(())
                } else {
                    Err("Contact must contain an e-mail address or phone number".into())
                }
            }
            Kind::Companies if !present("company_name") => Err("Company name is required".into()),
            Kind::Opportunities if !present("opportunity_title") => {
                Err("Opportunity title is required".into())
            }
            Kind::Opportunities if !present("contact") => Err("Contact is required".into()),
            Kind::Opportunities if !present("stage") => Err("Stage is required".into()),
            Kind::Tasks if !present("title") => Err("Title is required".into()),
            Kind::Notes if !present("contact_id") => Err("Contact id is required".into()),
            Kind::Appointments if !present("title") => Err("Title is required".into()),
            Kind::Appointments if !present("start_date") || !present("end_date") => {
                Err("Start date and end date are required".into())
            }
            Kind::Orders if !present("contact_id") && !present("contact") => {
                Err("Contact is required".into())
            }
            Kind::Products if !present("product_name") => Err("Product name is required".into()),
            Kind::Transactions if !present("amount") => Err("Amount is required".into()),
            _ => Ok(()),
        }
    }
}

/// The record as the API shows it. `write` selects the write-response form, where the rounded
/// styles show true milliseconds (as PATCH responses do on the real API).
pub fn render(row: &Row, kind: Kind, write: bool) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::from(row.id));
    for (key, value) in &row.fields {
        out.insert(key.clone(), value.clone());
    }
    match kind.date_style() {
        DateStyle::Rounded => {
            let (created, updated) = if write {
                (row.created_ms, row.updated_ms)
            } else {
                (
                    round_to_second(row.created_ms),
                    round_to_second(row.updated_ms),
                )
            };
            out.insert("date_created".into(), format_offset(created).into());
            out.insert("last_updated".into(), format_offset(updated).into());
            if kind == Kind::Contacts {
                out.insert("last_updated_utc_millis".into(), row.updated_ms.into());
            }
        }
        DateStyle::Modification => {
            out.insert("creation_date".into(), format_zulu(row.created_ms).into());
            out.insert(
                "modification_date".into(),
                format_zulu(row.updated_ms).into(),
            );
        }
        DateStyle::TransactionDate => {
            out.insert(
                "transaction_date".into(),
                format_offset(row.created_ms).into(),
            );
        }
        DateStyle::None => {}
    }
    Value::Object(out)
}

/// The time `since`/`until` compare against: the shown `last_updated` (rounded) for the rounded
/// styles, `modification_date` or `transaction_date` otherwise.
pub fn change_time(row: &Row, kind: Kind) -> i64 {
    match kind.date_style() {
        DateStyle::Rounded => round_to_second(row.updated_ms),
        DateStyle::Modification | DateStyle::None => row.updated_ms,
        DateStyle::TransactionDate => row.created_ms,
    }
}

fn sort_value(row: &Row, kind: Kind, key: SortKey) -> Value {
    match key {
        SortKey::Id => Value::from(row.id),
        SortKey::Created => Value::from(row.created_ms),
        SortKey::Updated => Value::from(change_time(row, kind)),
        SortKey::Field(path) => row.field(path).cloned().unwrap_or(Value::Null),
        SortKey::Fields(first, _) => row.field(first).cloned().unwrap_or(Value::Null),
    }
}

/// A parsed list query: filters to apply, the ordering, and the page.
#[derive(Debug)]
pub struct ListQuery {
    predicates: Vec<(Filter, String)>,
    since: Option<i64>,
    until: Option<i64>,
    sort: SortKey,
    descending: bool,
    pub limit: usize,
    pub offset: usize,
}

/// The largest (and default) page size.
pub const MAX_LIMIT: usize = 1000;

impl ListQuery {
    /// Reads the query parameters of a list call. Unknown parameters are ignored, as the real
    /// API ignores them; bad values of known ones are a 400.
    pub fn parse(kind: Kind, params: &[(String, String)]) -> Result<ListQuery, BadParameter> {
        let mut query = ListQuery {
            predicates: Vec::new(),
            since: None,
            until: None,
            sort: SortKey::Id,
            descending: false,
            limit: MAX_LIMIT,
            offset: 0,
        };
        let mut sort_name: Option<&str> = None;
        for (name, value) in params {
            match name.as_str() {
                "limit" => {
                    let limit = parse_int32(name, value)?;
                    if limit < 1 {
                        return Err(BadParameter(format!(
                            "Invalid value for limit: {value}. limit must be greater than 0"
                        )));
                    }
                    query.limit = usize::try_from(limit).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
                }
                "offset" => {
                    let offset = parse_int32(name, value)?;
                    if offset < 0 {
                        return Err(BadParameter(format!(
                            "Invalid value for offset: {value}. offset must not be negative"
                        )));
                    }
                    query.offset = usize::try_from(offset).unwrap_or(0);
                }
                "order" if kind.has_order() => sort_name = Some(value.as_str()),
                "order_direction" if kind.has_direction() => {
                    query.descending = match value.to_ascii_uppercase().as_str() {
                        "ASCENDING" => false,
                        "DESCENDING" => true,
                        _ => {
                            return Err(BadParameter(format!(
                                "Invalid value for order_direction: {value}. \
                                 Expected ASCENDING or DESCENDING"
                            )));
                        }
                    }
                }
                _ => {
                    let Some((_, filter)) = kind.filters().iter().find(|(p, _)| p == name) else {
                        continue; // unknown parameters are ignored
                    };
                    match filter {
                        Filter::Since | Filter::Until => {
                            let ms = parse_lenient(value).ok_or_else(|| {
                                BadParameter(format!(
                                    "Invalid date for {name}: {value}. \
                                     Expected a date such as 2017-01-01T22:17:59.039Z"
                                ))
                            })?;
                            if *filter == Filter::Since {
                                query.since = Some(ms);
                            } else {
                                query.until = Some(ms);
                            }
                        }
                        Filter::Integer(_) | Filter::ProductId => {
                            parse_int64(name, value)?;
                            query.predicates.push((*filter, value.clone()));
                        }
                        Filter::Boolean(_) | Filter::HasDueDate | Filter::Paid | Filter::Active => {
                            parse_bool(name, value)?;
                            query.predicates.push((*filter, value.clone()));
                        }
                        Filter::AnyEmail | Filter::Text(_) | Filter::SearchTerm => {
                            query.predicates.push((*filter, value.clone()));
                        }
                    }
                }
            }
        }
        if let Some(name) = sort_name {
            query.sort = match kind.ordering() {
                Ordering_::Enumerated(choices) => choices
                    .iter()
                    .find(|(choice, _)| choice.eq_ignore_ascii_case(name))
                    .map(|(_, key)| *key)
                    .ok_or_else(|| {
                        let names: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
                        BadParameter(format!(
                            "Invalid value for order: {name}. Expected one of {}",
                            names.join(", ")
                        ))
                    })?,
                Ordering_::Free => match name {
                    "id" => SortKey::Id,
                    "creation_date" | "date_created" => SortKey::Created,
                    "modification_date" | "last_updated" => SortKey::Updated,
                    other => SortKey::Field(free_sort_field(kind, other)),
                },
                Ordering_::None => SortKey::Id,
            };
        }
        Ok(query)
    }

    /// Whether a record passes every filter.
    pub fn matches(&self, kind: Kind, row: &Row) -> bool {
        let changed = change_time(row, kind);
        if self.since.is_some_and(|since| changed < since) {
            return false;
        }
        if self.until.is_some_and(|until| changed > until) {
            return false;
        }
        self.predicates
            .iter()
            .all(|(filter, value)| predicate(*filter, value, row))
    }

    /// Sorts matching records: by the chosen key, then by id so the order is total.
    pub fn sort(&self, kind: Kind, rows: &mut [&Row]) {
        if self.sort == SortKey::Id && !self.descending {
            return; // rows come from the table in id order already
        }
        rows.sort_by(|a, b| {
            let mut ordering = cmp_json(
                &sort_value(a, kind, self.sort),
                &sort_value(b, kind, self.sort),
            );
            if let (Ordering::Equal, SortKey::Fields(_, second)) = (ordering, self.sort) {
                ordering = cmp_json(
                    a.field(second).unwrap_or(&Value::Null),
                    b.field(second).unwrap_or(&Value::Null),
                );
            }
            let ordering = if self.descending {
                ordering.reverse()
            } else {
                ordering
            };
            ordering.then(a.id.cmp(&b.id))
        });
    }
}

/// Free-string `order` values name record fields; only the known top-level field names of a
/// resource are accepted as sort keys (others sort by id), so no arbitrary string is kept.
fn free_sort_field(kind: Kind, name: &str) -> &'static str {
    const FIELDS: &[&str] = &[
        "title",
        "due_date",
        "completion_date",
        "priority",
        "type",
        "order_date",
        "total",
        "status",
        "invoice_number",
    ];
    let _ = kind;
    FIELDS
        .iter()
        .find(|field| **field == name)
        .copied()
        .unwrap_or("id")
}

fn parse_int32(name: &str, value: &str) -> Result<i64, BadParameter> {
    value.trim().parse::<i32>().map(i64::from).map_err(|_| {
        BadParameter(format!(
            "Invalid value for {name}: {value}. Expected an integer"
        ))
    })
}

fn parse_int64(name: &str, value: &str) -> Result<i64, BadParameter> {
    value.trim().parse::<i64>().map_err(|_| {
        BadParameter(format!(
            "Invalid value for {name}: {value}. Expected an integer"
        ))
    })
}

fn parse_bool(name: &str, value: &str) -> Result<bool, BadParameter> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(BadParameter(format!(
            "Invalid value for {name}: {value}. Expected true or false"
        ))),
    }
}

fn predicate(filter: Filter, value: &str, row: &Row) -> bool {
    let wanted_bool = || value.trim().eq_ignore_ascii_case("true");
    let wanted_int = || value.trim().parse::<i64>().ok();
    match filter {
        Filter::Since | Filter::Until => true,
        Filter::AnyEmail => row
            .fields
            .get("email_addresses")
            .and_then(Value::as_array)
            .is_some_and(|emails| {
                emails.iter().any(|email| {
                    email
                        .get("email")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.eq_ignore_ascii_case(value))
                })
            }),
        Filter::Text(path) => row
            .field(path)
            .and_then(Value::as_str)
            .is_some_and(|text| text.eq_ignore_ascii_case(value)),
        Filter::Integer(path) => row.field(path).and_then(Value::as_i64) == wanted_int(),
        Filter::Boolean(path) => row.field(path).and_then(Value::as_bool) == Some(wanted_bool()),
        Filter::HasDueDate => row.field("due_date").is_some_and(|v| !v.is_null()) == wanted_bool(),
        Filter::Paid => {
            (row.field("status").and_then(Value::as_str) == Some("PAID")) == wanted_bool()
        }
        Filter::Active => (row.field("status").and_then(Value::as_i64) == Some(1)) == wanted_bool(),
        Filter::ProductId => row
            .field("order_items")
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items
                    .iter()
                    .any(|item| item.pointer("/product/id").and_then(Value::as_i64) == wanted_int())
            }),
        Filter::SearchTerm => {
            let needle = value.to_lowercase();
            [
                "opportunity_title",
                "contact.first_name",
                "contact.last_name",
            ]
            .iter()
            .filter_map(|path| row.field(path).and_then(Value::as_str))
            .any(|text| text.to_lowercase().contains(&needle))
        }
    }
}

/// Orders JSON values: nulls first, then booleans, numbers, strings; others compare equal.
fn cmp_json(a: &Value, b: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) | Value::Object(_) => 4,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        _ => rank(a).cmp(&rank(b)),
    }
}
