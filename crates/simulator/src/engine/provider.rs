//! What a provider module gives the engine: the [`Provider`] hooks.
//!
//! The engine owns everything providers share — tenants and records, the clock, faults, the
//! request log, OAuth grants, budgets, the control API, the accept loop — and asks the provider
//! only what differs: its resources and realistic data, how it spells errors and limits, how its
//! OAuth pages and token responses look. (Its routes and background tasks are the other half,
//! [`crate::engine::sim::Serve`].)
//!
//! Locks: the hooks that receive engine data — `seed`, `new_fields`, `edit_fields`,
//! `on_change`, the `export_*` ones — run under the engine's lock, so they must not take it
//! again. A provider's own lock may be taken inside them; code holding a provider's lock never
//! takes the engine's. The other hooks run with no lock held.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use crate::engine::http::message;
use crate::engine::records::{Change, Deactivation, Deleted, Row, Table, Tenant};
use crate::engine::throttle::Usage;

/// The hooks a provider module implements.
pub(crate) trait Provider: Send + Sync + std::fmt::Debug + 'static {
    // ---- resources and data ----

    /// The tables every tenant holds, in the order the initial data is seeded.
    fn resources(&self) -> &'static [&'static str];

    /// What `/_sim/activity` and `/_sim/activity/burst` change when no resources are named.
    fn active_resources(&self) -> &'static [&'static str];

    /// The name of tenant `index` (`ab123.infusionsoft.com`, an org id).
    fn tenant_name(&self, index: usize) -> String;

    /// Fills a new tenant's tables with the initial data set.
    fn seed(&self, tenant: &mut Tenant, rng: &mut StdRng, now_ms: i64);

    /// The fields of a new record of `resource` (without id and dates). `linked` asks for
    /// references to the tenant's existing records where the resource has them (the activity
    /// generator wants them; exact-count bulk creates do not).
    fn new_fields(
        &self,
        resource: &'static str,
        rng: &mut StdRng,
        tenant: &Tenant,
        now_ms: i64,
        linked: bool,
    ) -> Map<String, Value>;

    /// A plausible edit of an existing record, as a partial update.
    fn edit_fields(&self, resource: &'static str, rng: &mut StdRng) -> Map<String, Value>;

    /// Hears of every change (Keap queues REST hook deliveries).
    fn on_change(&self, _change: &Change) {}

    /// The patch that soft-deletes a record of `resource`, when the provider deactivates such
    /// records instead of deleting them (QuickBooks' list entities: `Active: false`). Bursts with
    /// deletes then apply it as an update, to records it does not already describe.
    fn deactivation(&self, _resource: &'static str) -> Option<Map<String, Value>> {
        None
    }

    // ---- the state export ----

    /// Adds the provider's view of a record (its dates as the API writes them, its own id) to
    /// the export's `{id, created_ms, updated_ms, versions}`.
    fn export_record(
        &self,
        _resource: &'static str,
        _tenant: usize,
        _row: &Row,
        _out: &mut Map<String, Value>,
    ) {
    }

    /// Adds the provider's view of a deletion to the export's `{id, deleted_ms}`.
    fn export_deletion(
        &self,
        _resource: &'static str,
        _tenant: usize,
        _deleted: &Deleted,
        _out: &mut Map<String, Value>,
    ) {
    }

    /// Adds the provider's view of a soft delete to the export's
    /// `{id, deleted_ms, kind: "deactivated"}`.
    fn export_deactivation(
        &self,
        _resource: &'static str,
        _tenant: usize,
        _row: Option<&Row>,
        _deactivation: &Deactivation,
        _out: &mut Map<String, Value>,
    ) {
    }

    /// Adds facts about a whole table to its export entry.
    fn export_table(
        &self,
        _resource: &'static str,
        _tenant: usize,
        _table: &Table,
        _out: &mut Map<String, Value>,
    ) {
    }

    // ---- the gateway: faults and refusals ----

    /// The resource a request path belongs to, for faults aimed at one resource.
    fn resource_of(&self, path: &str) -> Option<String>;

    /// Every resource name a fault may target.
    fn fault_targets(&self) -> Vec<&'static str>;

    /// A refusal the provider's front end makes before anything else (Keap's HTML 400 for a GET
    /// with a body), if any.
    fn reject_early(&self, _method: &Method, _headers: &HeaderMap) -> Option<Response> {
        None
    }

    /// The answer of a `status` fault, in the provider's error style.
    fn fault_status(&self, status: u16) -> Response;

    /// The answer of an `html` or `timeout` fault: a front end's error page.
    fn fault_html(&self, status: u16) -> Response;

    /// The answer of a `malformed` fault: 200 with JSON cut short.
    fn fault_malformed(&self, resource: Option<&str>) -> Response;

    /// The answer of an `error_in_200` fault: HTTP 200 whose body is the provider's error
    /// (QuickBooks answers some failures so).
    fn fault_in_200(&self) -> Response {
        self.fault_status(200)
    }

    // ---- authentication and limits ----

    /// The access token a request carries.
    fn credential(&self, headers: &HeaderMap) -> Option<String>;

    /// The answer to a missing, unknown or expired token.
    fn unauthorized(&self, failure: AuthFailure) -> Response;

    /// Adds the provider's usage headers to an admitted request's response.
    fn limit_headers(&self, headers: &mut HeaderMap, admission: &Admission, tenant: &str);

    /// The answer to a request over budget.
    fn over_limit(&self, admission: &Admission, tenant: &str) -> Response;

    /// How many requests of one tenant may be in flight at once (QuickBooks: 10 per realm), when
    /// the provider limits it.
    fn concurrency_limit(&self) -> Option<u32> {
        None
    }

    /// The answer to a request over the concurrency limit.
    fn too_many_concurrent(&self, _tenant: &str) -> Response {
        message(
            StatusCode::TOO_MANY_REQUESTS,
            "too many concurrent requests",
        )
    }

    // ---- OAuth ----

    /// Paths and words of the consent page and the token endpoint.
    fn oauth(&self) -> &OAuthStyle;

    /// Checks the `scope` of an authorization request (`None` when absent or empty); the error
    /// is the text of the HTML error page.
    fn check_scope(&self, scope: Option<&str>) -> Result<GrantedScope, &'static str>;

    /// Query parameters the consent redirect carries after `code` (Keap adds `scope`).
    fn consent_params(&self, _tenant: &str, _scope: &GrantedScope) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The token endpoint's answer to a refused request.
    fn token_error(&self, error: TokenError) -> Response;

    /// The token endpoint's answer when tokens were issued.
    fn token_issued(&self, issued: &Issued) -> Response;
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    Missing,
    Invalid,
    Expired,
}

/// A request's standing against its budgets: after admission, or with the wait when refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admission {
    /// The OAuth app's budget, when the provider has one.
    pub app: Option<Usage>,
    pub tenant: Usage,
    /// Milliseconds until the request would be admitted (0 when it was).
    pub wait_ms: i64,
}

/// The fixed words and paths of a provider's OAuth.
#[derive(Debug, Clone)]
pub(crate) struct OAuthStyle {
    /// `/app/oauth/authorize`, `/services/oauth2/authorize`.
    pub authorize_path: &'static str,
    /// `/token`, `/services/oauth2/token`.
    pub token_path: &'static str,
    /// The brand in page titles and text: `Keap`, `Salesforce`.
    pub brand: &'static str,
    /// What the consent page calls a tenant: `Keap app`, `Salesforce org`.
    pub tenant_label: &'static str,
    /// `error_description` of the redirect when the user denies access.
    pub denied: &'static str,
    /// Whether the token endpoint reads client credentials from HTTP Basic auth too.
    pub basic_auth: bool,
}

/// What a consent granted, decided by the provider from the requested scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantedScope {
    /// The scope string the token response shows.
    pub scope: String,
    /// Whether a code exchange also returns a refresh token.
    pub refresh: bool,
}

/// Why the token endpoint refused a request. Providers word each their way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// The body is not a form (or not form-encoded).
    NotAForm,
    MissingGrantType,
    UnsupportedGrantType(String),
    MissingClient,
    UnknownClient,
    WrongSecret,
    MissingCode,
    MissingRedirectUri,
    CodeExpired,
    InvalidCode,
    RedirectMismatch,
    MissingRefreshToken,
    InvalidRefreshToken,
}

/// Tokens just issued.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub tenant: usize,
    pub tenant_name: String,
    pub access_token: String,
    /// Absent when a refresh does not rotate, or when the scope gives no refresh token.
    pub refresh_token: Option<String>,
    /// The refresh token a refresh grant presented, for providers that repeat it in the answer
    /// when they do not rotate (HubSpot).
    pub presented_refresh_token: Option<String>,
    pub access_ttl_secs: i64,
    /// Base-clock time of issue.
    pub issued_at_ms: i64,
    pub scope: GrantedScope,
    /// The simulator's origin, for providers that point clients back at it (`instance_url`).
    pub origin: String,
}
