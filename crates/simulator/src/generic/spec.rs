//! What the generic simulator is told: a provider described in plain data — its OAuth paths, its
//! resources with their paths, id and date fields, query parameters and pager, its rate-limit
//! headers and where its error messages sit. Nothing here knows element definitions; the
//! `tools` crate translates a definition into a [`Spec`] (and refuses what cannot be played).

use std::net::SocketAddr;

use tributary_domain::dates::DateFormatter;

use crate::engine::settings::{ClientApp, NEVER_MS, Settings, secs_to_ms};
use crate::engine::throttle::BudgetSpec;

/// A provider for the generic simulator.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The brand on the consent page and in error pages (`Infusionsoft REST`).
    pub brand: String,
    /// The consent page's path (`/app/oauth/authorize`).
    pub authorize_path: String,
    /// The token endpoint's path (`/token`).
    pub token_path: String,
    /// The scope granted when an authorization request names none.
    pub scope: String,
    /// Whether the token endpoint also takes client credentials as HTTP Basic auth (it always
    /// takes them in the form body).
    pub basic_auth: bool,
    /// The resources, in the order their initial records are made.
    pub resources: Vec<ResourceSpec>,
    /// The largest page served; also the page size when a request names none.
    pub max_page_size: u32,
    /// The budget and its headers.
    pub limits: Limits,
    /// Values the token response carries besides the tokens: (JSON pointer, value). An origin
    /// value is the simulator's own (a per-tenant API host from the token response).
    pub token_extras: Vec<(String, TokenValue)>,
    /// Query parameters the consent redirect carries besides the code, each the tenant's name
    /// (QuickBooks' `realmId`).
    pub consent_params: Vec<String>,
    /// A path segment standing for the caller's tenant name in the paths below (a company id in
    /// the base URL).
    pub tenant_segment: Option<String>,
    /// JSON pointer where error bodies carry their message (`/message`, `/0/message`,
    /// `/fault/faultstring`); `/message` when the definition names none.
    pub message_pointer: String,
    /// What error bodies of a status carry besides the message, so that the definition's
    /// classifier rules that test a body match them (Salesforce-like `INVALID_SESSION_ID` on a
    /// 401; a Fault inside an HTTP 200, for the `error_in_200` fault).
    pub error_marks: Vec<ErrorMark>,
}

/// A value of the token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenValue {
    /// The simulator's origin (`http://127.0.0.1:PORT`).
    Origin,
    /// The tenant's name.
    Tenant,
}

/// A value error bodies of one status carry at a pointer.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorMark {
    pub status: u16,
    pub pointer: String,
    pub value: serde_json::Value,
}

/// One resource.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    /// The resource's name (`contacts`): `/_sim` calls and the state export use it.
    pub name: String,
    /// The path of its list request (`/crm/rest/v1/contacts`).
    pub list_path: String,
    /// The path of its get-one request around the id: (`/crm/rest/v1/contacts/`, ``).
    pub get_path: Option<(String, String)>,
    /// JSON pointer to the record in a get answer (`""`: the whole body).
    pub get_record: String,
    /// JSON pointer to the records in a list answer (`/contacts`).
    pub records: String,
    /// The record's id field (a dotted path).
    pub id_field: String,
    pub created: Option<DateField>,
    pub updated: Option<DateField>,
    /// The record's other top-level fields (`record_fields`), filled with generated values.
    pub fields: Vec<String>,
    /// Query parameters that filter the list by equality: (parameter, record field).
    pub filters: Vec<(String, String)>,
    /// Parameters of the updated date's inclusive bounds, and how their dates are written.
    pub lower_bound: Option<String>,
    pub upper_bound: Option<String>,
    pub bound_format: Option<DateFormatter>,
    /// Ordering: the parameter naming the field, the parameter asking for a direction, and its
    /// word for descending order.
    pub order_parameter: Option<String>,
    pub direction_parameter: Option<String>,
    pub descending: Option<String>,
    /// The list request's paging parameters and its pager.
    pub paging: Paging,
    pub pager: Pager,
    /// A query language's text in one query parameter (the `where` dialect), when the
    /// definition has one.
    pub language: Option<Language>,
    /// A log of deletions over a time window, when the definition reads one.
    pub delete_log: Option<DeleteLog>,
    /// A search in a JSON body (the `search` dialect): the list is then a `POST`.
    pub search: Option<Search>,
    /// A list of the archived (deleted) records, when the definition reads one.
    pub archive: Option<ArchiveList>,
    /// A change feed polls read instead of the list, when the definition has one.
    pub changes: Option<ChangeFeed>,
}

/// A change feed (QuickBooks' CDC): the records changed since a time, and a stub for each
/// record deleted since then.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    pub path: String,
    /// Literal parameters that tell the resources apart (`entities=Customer`).
    pub flags: Vec<(String, String)>,
    /// The parameter of the time, and how it is written.
    pub since: (String, Option<DateFormatter>),
    /// JSON pointer to the records.
    pub records: String,
    /// A stub's mark: the pointer and the value that tell it apart (`/status` = `Deleted`).
    pub stub: Option<(String, serde_json::Value)>,
}

/// A search request's JSON body: where its parts sit (JSON pointers into the body), and the
/// words of its filters and sorts.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub filter_groups: Option<String>,
    pub filters: Option<String>,
    pub sorts: Option<String>,
    pub page_size: Option<String>,
    pub cursor: Option<String>,
    pub offset: Option<String>,
    /// A filter object's keys: field, operator, value, values (for `IN`).
    pub field_key: String,
    pub operator_key: String,
    pub value_key: String,
    /// A sort object's keys, and the word for descending order.
    pub sort_field_key: Option<String>,
    pub sort_direction_key: Option<String>,
    pub descending: Option<String>,
    /// The provider's operator words with the CEQL operator each stands for.
    pub operators: Vec<(String, String)>,
    pub date_format: Option<DateFormatter>,
    /// (provider field, record field) where a filter renames one.
    pub fields: Vec<(String, String)>,
}

/// A list of archived records (HubSpot's `?archived=true`): its path, the literal parameters
/// that ask for it, its paging parameters, and where the answer puts each thing.
#[derive(Debug, Clone)]
pub struct ArchiveList {
    pub path: String,
    pub flags: Vec<(String, String)>,
    pub size: Option<String>,
    pub cursor: Option<String>,
    /// JSON pointers: the archives, the next page's cursor, and inside each its id and date.
    pub records: String,
    pub next_cursor: Option<String>,
    pub id: String,
    pub date: String,
    pub date_format: DateFormatter,
}

/// A query parameter whose text is a query language's (`SELECT … FROM Account WHERE … ORDER BY
/// …`): its parts as the definition writes them, and the words of its conditions.
#[derive(Debug, Clone)]
pub struct Language {
    pub param: String,
    pub parts: Vec<TextPart>,
    /// What starts the condition text (` WHERE `), joins conditions (` AND `), starts the order
    /// text (` ORDER BY `).
    pub where_prefix: String,
    pub joiner: String,
    pub order_prefix: String,
    /// The provider's operator words with the CEQL operator each stands for (`= null` → `IS
    /// NULL`).
    pub operators: Vec<(String, String)>,
    /// The string quote and its escapes: (replacement, the character it stands for).
    pub quote: String,
    pub escapes: Vec<(String, String)>,
    /// How date literals are written.
    pub date_format: Option<DateFormatter>,
    /// The provider's field names that are not the record's: (provider field, record field),
    /// from the definition's filters (CEQL name → provider field).
    pub fields: Vec<(String, String)>,
}

/// A piece of a query language's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPart {
    Text(String),
    Where,
    Order,
    PageSize,
    PageOffset,
    PageStart,
    PageNumber,
}

/// A request answering the deletions of a time window (Salesforce's `…/deleted/?start&end`).
#[derive(Debug, Clone)]
pub struct DeleteLog {
    pub path: String,
    /// The window's bounds: each parameter, and how its date is written.
    pub start: Option<(String, Option<DateFormatter>)>,
    pub end: Option<(String, Option<DateFormatter>)>,
    /// JSON pointers: the deletions, and inside each its id and date.
    pub records: String,
    pub id: String,
    pub date: String,
    pub date_format: DateFormatter,
    /// JSON pointers to where the answer says it ends, and to the oldest deletion kept.
    pub covered: Option<String>,
    pub earliest: Option<String>,
}

/// A record's date field and how the API writes it.
#[derive(Debug, Clone)]
pub struct DateField {
    pub field: String,
    pub format: DateFormatter,
}

/// The query parameters a list request pages with (each the name of the parameter carrying
/// that `page.*` value, when the request sends it).
#[derive(Debug, Clone, Default)]
pub struct Paging {
    pub size: Option<String>,
    pub offset: Option<String>,
    pub start: Option<String>,
    pub number: Option<String>,
    pub cursor: Option<String>,
}

/// How a list answer says that more pages follow.
#[derive(Debug, Clone)]
pub struct Pager {
    pub kind: PagerKind,
    /// JSON pointer to the count of matching records.
    pub total: Option<String>,
    /// `next_url`: JSON pointers to the next page's URL and to a "last page" boolean.
    pub next: Option<String>,
    pub done: Option<String>,
    /// `cursor`: JSON pointer to the next page's cursor.
    pub cursor: Option<String>,
}

/// The pager kinds of the element format (`crates/elements/FORMAT.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerKind {
    Offset,
    PageNumber,
    NextUrl,
    Cursor,
    LinkHeader,
    None,
}

/// The budget and the headers that tell a client about it.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests per rolling minute.
    pub per_minute: u32,
    /// Whose budget: the client app's (shared by its tenants) or each tenant's.
    pub per_tenant: bool,
    /// Headers holding the requests left.
    pub remaining: Vec<String>,
    /// A header holding the window's limit.
    pub limit: Option<String>,
    /// A header saying when the window resets, and in what unit.
    pub reset: Option<(String, ResetUnit)>,
    /// Headers written with a pattern of `{used}`, `{limit}`, `{remaining}`.
    pub usage: Vec<(String, String)>,
    /// Requests of one tenant in flight at once, beyond which a request is refused with 429.
    pub concurrent: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetUnit {
    Seconds,
    Milliseconds,
    EpochSeconds,
}

/// How the simulator runs: apps, tenants, data, token lifetime.
#[derive(Debug, Clone)]
pub struct Options {
    pub clients: Vec<ClientApp>,
    pub tenants: usize,
    /// Initial records per tenant, shared between the resources.
    pub seed: usize,
    pub random_seed: u64,
    pub token_ttl_secs: i64,
    /// Replaces the budget's requests per minute.
    pub per_minute: Option<u32>,
    pub bind: SocketAddr,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clients: vec![ClientApp::default_app()],
            tenants: 1,
            seed: 60,
            random_seed: 0x5EED,
            token_ttl_secs: 3_600,
            per_minute: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 9094)),
        }
    }
}

impl Options {
    pub(crate) fn settings(&self, spec: &Spec) -> Settings {
        let clients = if self.clients.is_empty() {
            vec![ClientApp::default_app()]
        } else {
            self.clients.clone()
        };
        let budget = BudgetSpec {
            per_window: self.per_minute.unwrap_or(spec.limits.per_minute).max(1),
            window_ms: 60_000,
            per_day: u32::MAX,
        };
        let unlimited = BudgetSpec {
            per_window: u32::MAX,
            window_ms: 60_000,
            per_day: u32::MAX,
        };
        let (app_budget, tenant_budget) = if spec.limits.per_tenant {
            (None, budget)
        } else {
            (Some(budget), unlimited)
        };
        Settings {
            clients,
            tenants: self.tenants.max(1),
            random_seed: self.random_seed,
            code_ttl_ms: secs_to_ms(600),
            access_ttl_ms: secs_to_ms(self.token_ttl_secs),
            sliding_access: false,
            refresh_ttl_ms: NEVER_MS,
            rotate_refresh_tokens: true,
            app_budget,
            tenant_budget,
            request_log_capacity: 100_000,
            public_origin: None,
        }
    }
}
