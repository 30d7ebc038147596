//! Elements as data: the model of a definition file (`FORMAT.md` documents every field).
//!
//! A definition says how to reach a provider (OAuth endpoints, base URL, connection variables),
//! how to ask it for a resource's records (request templates, where the records sit, the pager),
//! how to translate a `where` clause for it (a query dialect), and how to read its rate-limit
//! and error signals. The code that obeys it knows no provider: `validate` checks a definition
//! when it is loaded, and `registry` loads the built-in and the configured ones.

use std::collections::BTreeMap;

use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tributary_domain::dates::DateFormatter;
use tributary_domain::instance_config::{ResourceCatalog, is_secret_key};

use crate::signals::{ErrorSpec, RateLimit};
use crate::template::{Context, Scope, Template};

pub mod connection;
pub mod deletes;
pub mod hooks;
pub mod query;

use self::connection::ConnectionVar;
use self::deletes::DeletesSpec;
use self::query::{Dialect, QuerySpec};

/// Why an element definition, the definitions folder or an override could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ElementError {
    #[error("element definition {file}: {message}")]
    Definition { file: String, message: String },
    #[error(
        "{variable} must be an http or https origin such as http://127.0.0.1:9090, got {value:?}"
    )]
    Origin { variable: String, value: String },
    #[error("element key {key:?} is defined twice: in {first} and in {second}")]
    Duplicate {
        key: String,
        first: String,
        second: String,
    },
    #[error("{variable} names no element; the elements are {known}")]
    UnknownOverride { variable: String, known: String },
    #[error("the elements folder {path}: {message}")]
    Folder { path: String, message: String },
}

/// A provider connector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Element {
    pub key: String,
    pub id: u64,
    pub name: String,
    pub hub: String,
    pub description: String,
    pub auth: OAuth2,
    pub api: Api,
    pub events: EventsSupport,
    /// Per-tenant values (a base URL from the token response, a realm from the redirect …).
    #[serde(default)]
    pub connection: BTreeMap<String, ConnectionVar>,
    /// Named date formatters (a Java pattern in a zone), besides the built-in ones.
    #[serde(default)]
    pub date_formats: BTreeMap<String, DateFormatSpec>,
    /// Instance configuration keys that hold secrets besides those named like one
    /// (`tributary_domain::instance_config::is_secret_key`): sealed at rest, masked in every
    /// response, never a template value.
    #[serde(default)]
    pub secret_keys: Vec<String>,
    pub resources: Vec<Resource>,
    /// How Tributary subscribes to the provider's own webhooks and reads them (`[hooks]`);
    /// `None`: the element has no webhook source.
    #[serde(default)]
    pub hooks: Option<hooks::HooksSpec>,
    /// The named formatters, compiled when the definition is validated.
    #[serde(skip)]
    pub(crate) formats: BTreeMap<String, DateFormatter>,
}

/// A named date formatter: a Java pattern written in a zone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateFormatSpec {
    pub pattern: String,
    pub zone: String,
}

/// OAuth 2.0 endpoints and how the client authenticates at the token endpoint. The URLs may
/// use `{{connection.NAME}}` and `{{config.KEY}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    #[serde(rename = "type")]
    pub kind: String,
    pub authorization_url: String,
    pub token_url: String,
    pub scope: String,
    pub code_client_auth: ClientAuth,
    pub refresh_client_auth: ClientAuth,
}

/// Where the client id and secret go on a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` form fields.
    Body,
    /// `Authorization: Basic base64(id:secret)`.
    Basic,
}

/// How the provider's API is called.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// The API root; may use `{{connection.NAME}}` and `{{config.KEY}}`.
    pub base_url: String,
    /// The largest page the provider serves.
    pub max_page_size: u32,
    /// Headers on every API request (besides `Authorization: Bearer …`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub rate_limit: RateLimit,
    #[serde(default)]
    pub errors: ErrorSpec,
    pub query: QuerySpec,
    /// Every resource's list request, unless the resource has its own.
    pub list: ListRequest,
    /// Every resource's get-one request, unless the resource has its own.
    pub get: GetRequest,
    /// Every resource's delete detection, unless the resource has its own.
    pub deletes: Option<DeletesSpec>,
    /// Every resource's change feed, unless the resource has its own: the request polls read
    /// instead of the list request (QuickBooks' CDC). Without one, polls read the list.
    pub changes: Option<ListRequest>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Method {
    #[default]
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
}

/// A resource's list request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    #[serde(default)]
    pub method: Method,
    /// Appended to the base URL.
    pub path: String,
    /// Query parameters, after the query dialect's own (sent in name order).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (sent as `application/json`).
    pub body: Option<Value>,
    /// Where the records sit (a JSON pointer); a resource's `records` wins.
    pub records: Option<String>,
    /// Whether a response without the records is an empty page (else it is malformed).
    #[serde(default)]
    pub records_absent_is_empty: bool,
    pub pager: crate::pager::PagerSpec,
    /// How long after a change the provider shows it to this request (a search index's lag):
    /// a poll reads only up to its now minus this (`60s`). Unset: up to its now.
    pub settle: Option<String>,
    /// A change feed's reach into the past (`720h`): a poll whose window starts earlier reads
    /// that part through the list request instead, and says so. Change feeds only.
    pub lookback: Option<String>,
}

impl ListRequest {
    /// `settle` in milliseconds (validated when the definition loads); 0 when unset.
    pub fn settle_ms(&self) -> i64 {
        crate::definition::deletes::duration_ms(self.settle.as_deref()).unwrap_or(0)
    }

    /// `lookback` in milliseconds, when set.
    pub fn lookback_ms(&self) -> Option<i64> {
        crate::definition::deletes::duration_ms(self.lookback.as_deref())
    }
}

/// A resource's get-one request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    #[serde(default)]
    pub method: Method,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Where the record sits (a JSON pointer); the whole body when unset.
    pub record: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSupport {
    pub polling: bool,
    pub webhooks: bool,
}

/// One resource of an element.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// The hub name (`contacts`), also the event `objectType`.
    pub name: String,
    /// The provider path (`{{resource.path}}`).
    pub path: String,
    /// The provider's object name (`{{resource.object}}`: `Account`, `Customer`, `contacts`).
    pub object: Option<String>,
    /// The fields to ask for (`{{resource.fields}}`).
    #[serde(default)]
    pub fields: Vec<String>,
    /// The top-level fields a record of this resource has, when the definition lists them: a
    /// `where` naming any other field is refused (it could never match, or the provider would
    /// refuse it at every poll). Empty: not listed, any field is taken.
    #[serde(default)]
    pub record_fields: Vec<String>,
    /// Where the records sit in a list response (a JSON pointer such as `/contacts`).
    pub records: Option<String>,
    pub id_field: String,
    pub created_field: Option<String>,
    pub updated_field: Option<String>,
    /// The Java date pattern of both date fields.
    pub date_format: Option<String>,
    /// The REST hook object type (`contact` → `contact.add`), when the provider sends hooks.
    pub hook_object: Option<String>,
    /// CEQL field name → the provider's name for it (a parameter, or a field of its query
    /// language or search).
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
    /// The query parameter of the updated field's inclusive lower bound (params dialect).
    pub lower_bound: Option<String>,
    /// The query parameter of the updated field's inclusive upper bound (params dialect).
    pub upper_bound: Option<String>,
    #[serde(default)]
    pub order_by: Vec<String>,
    /// Whether the provider orders both ways.
    #[serde(default)]
    pub order_direction: bool,
    /// This resource's own list request, replacing `api.list`.
    pub list: Option<ListRequest>,
    /// This resource's own get-one request, replacing `api.get`.
    pub get: Option<GetRequest>,
    /// This resource's own delete detection, replacing `api.deletes`.
    pub deletes: Option<DeletesSpec>,
    /// This resource's own change feed, replacing `api.changes`.
    pub changes: Option<ListRequest>,
}

impl Resource {
    /// The poller configuration a user gets by ticking this resource: its dates read with the
    /// element's pattern in GMT. `None` for resources without change dates.
    pub fn default_poller(&self, hub: &str) -> Option<Value> {
        let (created, updated, format) = (
            self.created_field.as_ref()?,
            self.updated_field.as_ref()?,
            self.date_format.as_ref()?,
        );
        let mut config = json!({
            "url": format!("/hubs/{hub}/{}", self.name),
            "idField": self.id_field,
            "datesConfiguration": {
                "updatedDateField": updated,
                "updatedDateFormat": format,
                "updatedDateTimezone": "GMT",
                "createdDateField": created,
                "createdDateFormat": format,
                "createdDateTimezone": "GMT",
            },
        });
        if created == updated
            && let Some(map) = config.as_object_mut()
        {
            // One date only: tell records apart by creation, as CE advises for such resources.
            map.insert("filterByUpdatedDate".into(), Value::Bool(false));
        }
        Some(config)
    }
}

impl Element {
    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// Whether an instance configuration key of this element holds a secret: named like one,
    /// or declared in `secret_keys`.
    pub fn is_secret(&self, key: &str) -> bool {
        is_secret_key(key) || self.secret_keys.iter().any(|k| k == key)
    }

    /// Whether Tributary has a source for this element's own webhooks, so that
    /// `event.vendor.type: webhooks` can produce events: its definition says how (`[hooks]`).
    /// `[events] webhooks` says what the provider offers, not what Tributary receives.
    pub fn has_webhook_source(&self) -> bool {
        self.hooks.is_some()
    }

    /// The list request of a resource: its own, or the element's.
    pub fn list_request<'a>(&'a self, resource: &'a Resource) -> &'a ListRequest {
        resource.list.as_ref().unwrap_or(&self.api.list)
    }

    /// The get-one request of a resource: its own, or the element's.
    pub fn get_request<'a>(&'a self, resource: &'a Resource) -> &'a GetRequest {
        resource.get.as_ref().unwrap_or(&self.api.get)
    }

    /// The change feed of a resource (its own, or the element's): what polls read instead of
    /// the list request; `None` when polls read the list.
    pub fn changes_request<'a>(&'a self, resource: &'a Resource) -> Option<&'a ListRequest> {
        resource.changes.as_ref().or(self.api.changes.as_ref())
    }

    /// The delete detection of a resource: its own, or the element's; `None` when it has
    /// none.
    pub fn deletes_of<'a>(&'a self, resource: &'a Resource) -> Option<&'a DeletesSpec> {
        resource.deletes.as_ref().or(self.api.deletes.as_ref())
    }

    /// Whether Tributary can see a resource's deletes (a kind is declared: every kind is
    /// implemented).
    pub fn detects_deletes(&self, resource: &Resource) -> bool {
        self.deletes_of(resource).is_some()
    }

    /// The JSON pointer to a resource's records in a list response (its
    /// `{{resource.object}}` / `{{resource.name}}` written in).
    pub fn records_pointer(&self, resource: &Resource) -> String {
        let text = resource
            .records
            .as_deref()
            .or(self.list_request(resource).records.as_deref())
            .unwrap_or("");
        resource_pointer(text, resource)
    }

    /// The JSON pointer to a resource's records in a change feed's answer, with its
    /// `{{resource.object}}` / `{{resource.name}}` written in (one feed request serves every
    /// resource, each answer naming its records after the resource).
    pub fn changes_pointer(&self, resource: &Resource) -> Option<String> {
        let request = self.changes_request(resource)?;
        Some(resource_pointer(request.records.as_deref()?, resource))
    }

    /// The provider's published request budget per app and minute.
    pub fn requests_per_minute(&self) -> u32 {
        self.api.rate_limit.requests_per_minute
    }

    /// The requests a minute the provider's published budgets allow when used evenly all day:
    /// the minute's budget, or the day's spread over its 1,440 minutes where that is less
    /// (Keap: 150,000 a day is 104 a minute, against 1,500 a minute). What the scheduler plans
    /// polls within.
    pub fn sustained_requests_per_minute(&self) -> f64 {
        let limits = &self.api.rate_limit;
        let minute = f64::from(limits.requests_per_minute);
        match limits.requests_per_day {
            Some(day) => minute.min(f64::from(day) / 1_440.0),
            None => minute,
        }
    }

    /// The named date formatters of this definition.
    pub fn formats(&self) -> &BTreeMap<String, DateFormatter> {
        &self.formats
    }

    /// `{ resource: poller configuration }` for every resource with change dates.
    pub fn default_poller_configuration(&self) -> Value {
        let map: Map<String, Value> = self
            .resources
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.default_poller(&self.hub)?)))
            .collect();
        Value::Object(map)
    }

    /// The provider's consent URL for a client app (connection variables known before consent
    /// — fixed ones, and configuration ones at their defaults — may appear in it).
    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
        scope: Option<&str>,
    ) -> Result<String, ElementError> {
        self.authorize_url_with(client_id, redirect_uri, state, scope, &BTreeMap::new())
    }

    /// [`Element::authorize_url`] with the instance configuration given so far, which
    /// configuration variables (a login host) are read from.
    pub fn authorize_url_with(
        &self,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
        scope: Option<&str>,
        config: &BTreeMap<String, String>,
    ) -> Result<String, ElementError> {
        let values = self.instance_values(&BTreeMap::new(), config).connection;
        let empty = BTreeMap::new();
        let scope_vars = Scope {
            page: None,
            resource: None,
            id: None,
            connection: &values,
            config: &empty,
            query: None,
            formats: &self.formats,
        };
        let bad = |message: String| ElementError::Definition {
            file: self.key.clone(),
            message: format!("authorization_url: {message}"),
        };
        let text = Template::parse(&self.auth.authorization_url)
            .and_then(|t| t.render(&scope_vars, Context::Text))
            .map_err(|e| bad(e.to_string()))?
            .unwrap_or_default();
        let mut url = Url::parse(&text).map_err(|e| bad(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", scope.unwrap_or(&self.auth.scope))
            .append_pair("state", state);
        Ok(url.into())
    }

    /// Whether the provider bounds this resource's updated field (so a poll can ask only for
    /// changes): the resource has one, and the dialect can say a bound on it (a query
    /// language or search filters always can; query parameters only where one is declared).
    pub fn bounds_updated_field(&self, resource: &Resource) -> bool {
        resource.updated_field.is_some()
            && match self.api.query.dialect {
                Dialect::Params => resource.lower_bound.is_some(),
                Dialect::Where | Dialect::Search => true,
            }
    }

    /// The CEQL names a resource's provider filters take (declared filters, and the bound
    /// aliases where the provider bounds the updated field).
    fn public_filters(&self, resource: &Resource) -> Vec<String> {
        let mut names: Vec<String> = resource.filters.keys().cloned().collect();
        if self.bounds_updated_field(resource) {
            for alias in [&self.api.query.lower_alias, &self.api.query.upper_alias]
                .into_iter()
                .flatten()
            {
                if !names.contains(alias) {
                    names.push(alias.clone());
                }
            }
            names.sort();
        }
        names
    }

    /// The definition as `GET /elements` shows it (Cloud Elements' field names; no secrets).
    pub fn public_json(&self) -> Value {
        let resources: Vec<Value> = self
            .resources
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "path": format!("/hubs/{}/{}", self.hub, r.name),
                    "idField": r.id_field,
                    "createdDateField": r.created_field,
                    "updatedDateField": r.updated_field,
                    "dateFormat": r.date_format,
                    "filters": self.public_filters(r),
                    "orderBy": r.order_by,
                    "defaultPollerConfiguration": r.default_poller(&self.hub),
                    "detectsDeletes": self.detects_deletes(r),
                })
            })
            .collect();
        let methods: Vec<&str> = [
            self.events.polling.then_some("polling"),
            self.events.webhooks.then_some("webhooks"),
        ]
        .into_iter()
        .flatten()
        .collect();
        json!({
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "hub": self.hub,
            "description": self.description,
            "authentication": {"type": self.auth.kind},
            "active": true,
            "deleted": false,
            "typeOauth": self.auth.kind.starts_with("oauth"),
            "trialAccount": false,
            "beta": false,
            "extended": false,
            "private": false,
            "protocolType": "http",
            "events": {
                "supported": self.events.polling || self.events.webhooks,
                "methods": methods,
            },
            "resources": resources,
            "parameters": [],
        })
    }

    /// Replaces the scheme, host and port of every provider URL that starts with one, keeping
    /// paths and templates (a URL that starts with a template, such as a base URL from the
    /// token response, has no origin of its own to replace).
    pub(crate) fn set_origin(&mut self, variable: &str, origin: &str) -> Result<(), ElementError> {
        let bad = || ElementError::Origin {
            variable: variable.to_owned(),
            value: origin.to_owned(),
        };
        let base = Url::parse(origin).map_err(|_| bad())?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(bad());
        }
        let new_origin = base.origin().ascii_serialization();
        let rebase = |url: &mut String| {
            if let Some(rest) = split_origin(url) {
                *url = format!("{new_origin}{rest}");
            }
        };
        rebase(&mut self.auth.authorization_url);
        rebase(&mut self.auth.token_url);
        rebase(&mut self.api.base_url);
        // A configuration variable holding an origin (a login host) is replaced too, whatever
        // an instance configures.
        for var in self.connection.values_mut().filter(|v| v.origin) {
            var.forced = Some(new_origin.clone());
        }
        Ok(())
    }
}

/// A JSON pointer that may name `{{resource.object}}` or `{{resource.name}}`, written for
/// `resource` (validation allows no other variable in one).
pub fn resource_pointer(text: &str, resource: &Resource) -> String {
    text.replace(
        "{{resource.object}}",
        resource.object.as_deref().unwrap_or(""),
    )
    .replace("{{resource.name}}", &resource.name)
}

/// What follows `scheme://authority` in a URL that starts with a literal http(s) origin.
fn split_origin(url: &str) -> Option<&str> {
    let after_scheme = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..authority_end];
    if authority.is_empty() || authority.contains("{{") {
        return None;
    }
    Some(&after_scheme[authority_end..])
}

impl ResourceCatalog for Element {
    fn hub(&self) -> &str {
        &self.hub
    }

    fn has_resource(&self, name: &str) -> bool {
        self.resource(name).is_some()
    }

    fn resource_names(&self) -> Vec<String> {
        self.resources.iter().map(|r| r.name.clone()).collect()
    }

    fn default_poller(&self, resource: &str) -> Option<Value> {
        self.resource(resource)?.default_poller(&self.hub)
    }

    fn default_resources(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|r| r.default_poller(&self.hub).is_some())
            .map(|r| r.name.clone())
            .collect()
    }

    fn detects_deletes(&self, name: &str) -> bool {
        self.resource(name)
            .is_some_and(|resource| Element::detects_deletes(self, resource))
    }
}

/// `TRIBUTARY_INFUSIONSOFTREST_ORIGIN` for `infusionsoftrest`.
pub fn origin_variable(key: &str) -> String {
    format!("TRIBUTARY_{}_ORIGIN", key.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_literal_origin_is_split_off() {
        assert_eq!(split_origin("https://api.example/v1/x?y"), Some("/v1/x?y"));
        assert_eq!(split_origin("http://127.0.0.1:9/"), Some("/"));
        assert_eq!(split_origin("https://api.example"), Some(""));
        assert_eq!(split_origin("{{connection.instance_url}}/services"), None);
        assert_eq!(split_origin("https://{{config.subdomain}}.example/x"), None);
    }
}
