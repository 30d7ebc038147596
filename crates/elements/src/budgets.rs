//! Whose a request budget is, and which requests it counts: the data of `[api.rate_limit]`'s
//! `scope`, `concurrent` and `[[api.rate_limit.budgets]]` (the pacer enforces them, the
//! client picks the buckets).
//!
//! Providers budget by different owners (`shared/research/providers.md` §7.5): Keap by the
//! client app across its tenants; QuickBooks by company (500 a minute and 10 at once per
//! realm); HubSpot by app and account, with a separate budget for search (5 a second per
//! account). So a budget says whose it is — the app's, shared by every instance, or each
//! instance's — and an extra budget says which of the definition's requests it counts.

use serde::Deserialize;

/// Whose a budget is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    /// The client app's, shared by all its instances (Keap's 1,500 a minute).
    #[default]
    App,
    /// Each instance's (a tenant's own: a QuickBooks company, a HubSpot account).
    Instance,
}

/// The requests of a definition, as a budget names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// The list request (`api.list`, or a resource's): hub lists and polls.
    List,
    /// The get-one request.
    Get,
    /// A delete detection's request.
    Deletes,
    /// The change feed (`api.changes`).
    Changes,
}

impl RequestKind {
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::List => "list",
            RequestKind::Get => "get",
            RequestKind::Deletes => "deletes",
            RequestKind::Changes => "changes",
        }
    }
}

/// A budget besides the element's main one, for some of its requests (HubSpot's search).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Names the budget in messages and metrics.
    pub name: String,
    /// Requests allowed `per` window.
    pub requests: u32,
    /// The window: `1s`, `10s`, `1m`.
    pub per: String,
    /// The requests it counts (each also counts against the main budget).
    pub requests_of: Vec<RequestKind>,
    /// Whose it is (default: the app's).
    #[serde(default)]
    pub scope: BudgetScope,
}

impl Budget {
    pub fn counts(&self, kind: RequestKind) -> bool {
        self.requests_of.contains(&kind)
    }
}
