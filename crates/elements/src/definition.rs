//! Elements as data: the TOML model, the built-in registry, and origin overrides.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tributary_domain::instance_config::ResourceCatalog;

/// Built-in element definitions, embedded in the binary.
const BUILTIN: &[(&str, &str)] = &[(
    "infusionsoftrest.toml",
    include_str!("../definitions/infusionsoftrest.toml"),
)];

/// Why an element definition or override could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ElementError {
    #[error("element definition {file}: {message}")]
    Definition { file: String, message: String },
    #[error(
        "{variable} must be an http or https origin such as http://127.0.0.1:9090, got {value:?}"
    )]
    Origin { variable: String, value: String },
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
    pub resources: Vec<Resource>,
}

/// OAuth 2.0 endpoints and how the client authenticates at the token endpoint.
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub base_url: String,
    pub paging: String,
    pub max_page_size: u32,
    /// The provider's request budget per client app and minute.
    pub requests_per_minute: u32,
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
    /// The provider path under the API base (`/contacts`).
    pub path: String,
    /// The list response's array key.
    pub envelope: String,
    pub id_field: String,
    pub created_field: Option<String>,
    pub updated_field: Option<String>,
    /// The Java date pattern of both date fields.
    pub date_format: Option<String>,
    /// The REST hook object type (`contact` → `contact.add`), when the provider sends hooks.
    pub hook_object: Option<String>,
    /// CEQL field name → provider query parameter.
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
    #[serde(default)]
    pub order_by: Vec<String>,
    /// Whether the provider takes `order_direction` (ascending and descending).
    #[serde(default)]
    pub order_direction: bool,
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

    /// `{ resource: poller configuration }` for every resource with change dates.
    pub fn default_poller_configuration(&self) -> Value {
        let map: Map<String, Value> = self
            .resources
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.default_poller(&self.hub)?)))
            .collect();
        Value::Object(map)
    }

    /// The provider's consent URL for a client app.
    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
        scope: Option<&str>,
    ) -> Result<String, ElementError> {
        let mut url =
            Url::parse(&self.auth.authorization_url).map_err(|e| ElementError::Definition {
                file: self.key.clone(),
                message: format!("authorization_url: {e}"),
            })?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", scope.unwrap_or(&self.auth.scope))
            .append_pair("state", state);
        Ok(url.into())
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
                    "filters": r.filters.keys().collect::<Vec<_>>(),
                    "orderBy": r.order_by,
                    "defaultPollerConfiguration": r.default_poller(&self.hub),
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

    /// Replaces the scheme, host and port of every provider URL with `origin`, keeping paths.
    fn set_origin(&mut self, variable: &str, origin: &str) -> Result<(), ElementError> {
        let bad = || ElementError::Origin {
            variable: variable.to_owned(),
            value: origin.to_owned(),
        };
        let base = Url::parse(origin).map_err(|_| bad())?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(bad());
        }
        let rebase = |url: &str| -> Result<String, ElementError> {
            let old = Url::parse(url).map_err(|_| bad())?;
            let mut new = base.clone();
            new.set_path(old.path());
            new.set_query(old.query());
            Ok(new.into())
        };
        self.auth.authorization_url = rebase(&self.auth.authorization_url)?;
        self.auth.token_url = rebase(&self.auth.token_url)?;
        self.api.base_url = rebase(&self.api.base_url)?;
        Ok(())
    }
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
}

/// The elements this server knows.
#[derive(Debug, Clone)]
pub struct Registry {
    elements: Vec<Arc<Element>>,
}

impl Registry {
    /// The built-in elements, with origins replaced where `origin_of(key)` says so (the server
    /// passes `TRIBUTARY_<KEY>_ORIGIN`).
    pub fn builtin(origin_of: impl Fn(&str) -> Option<String>) -> Result<Registry, ElementError> {
        let mut elements = Vec::new();
        for (file, text) in BUILTIN {
            let mut element: Element =
                toml::from_str(text).map_err(|e| ElementError::Definition {
                    file: (*file).to_owned(),
                    message: e.to_string(),
                })?;
            if let Some(origin) = origin_of(&element.key) {
                let variable = origin_variable(&element.key);
                element.set_origin(&variable, &origin)?;
            }
            elements.push(Arc::new(element));
        }
        Ok(Registry { elements })
    }

    pub fn get(&self, key: &str) -> Option<Arc<Element>> {
        self.elements.iter().find(|e| e.key == key).cloned()
    }

    pub fn all(&self) -> &[Arc<Element>] {
        &self.elements
    }
}

/// `TRIBUTARY_INFUSIONSOFTREST_ORIGIN` for `infusionsoftrest`.
pub fn origin_variable(key: &str) -> String {
    format!("TRIBUTARY_{}_ORIGIN", key.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infusionsoft(origin: Option<&str>) -> Arc<Element> {
        let origin = origin.map(str::to_owned);
        Registry::builtin(|_| origin.clone())
            .expect("built-in definitions parse")
            .get("infusionsoftrest")
            .expect("infusionsoftrest is built in")
    }

    #[test]
    fn infusionsoftrest_declares_the_nine_resources_on_the_crm_hub() {
        let element = infusionsoft(None);
        assert_eq!(element.hub, "crm");
        assert_eq!(element.auth.token_url, "https://api.infusionsoft.com/token");
        let names = element.resource_names();
        assert_eq!(
            names,
            [
                "contacts",
                "companies",
                "opportunities",
                "tasks",
                "notes",
                "appointments",
                "orders",
                "products",
                "transactions"
            ]
        );
        assert_eq!(
            element.resource("contacts").unwrap().filters["email"],
            "email"
        );
    }

    #[test]
    fn default_pollers_exist_exactly_for_resources_with_change_dates() {
        let element = infusionsoft(None);
        let defaults = element.default_poller_configuration();
        let mut keys: Vec<&String> = defaults.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "appointments",
                "contacts",
                "notes",
                "opportunities",
                "orders",
                "tasks",
                "transactions"
            ]
        );
        // The seed's own appointments configuration, verbatim.
        assert_eq!(
            defaults["appointments"],
            json!({"url": "/hubs/crm/appointments", "idField": "id", "datesConfiguration": {
                "updatedDateField": "modification_date", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
                "updatedDateTimezone": "GMT", "createdDateField": "creation_date",
                "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "createdDateTimezone": "GMT"}})
        );
        assert_eq!(defaults["transactions"]["filterByUpdatedDate"], false);
    }

    #[test]
    fn the_default_pollers_pass_instance_validation() {
        use std::collections::BTreeMap;
        use tributary_domain::instance_config::{EventsSettings, POLLER_CONFIGURATION};
        let element = infusionsoft(None);
        let config = BTreeMap::from([(
            POLLER_CONFIGURATION.to_owned(),
            element.default_poller_configuration().to_string(),
        )]);
        let settings = EventsSettings::read(&config, element.as_ref()).expect("defaults are valid");
        assert_eq!(settings.pollers.len(), 7);
    }

    #[test]
    fn an_origin_override_moves_every_provider_url_and_keeps_the_paths() {
        let element = infusionsoft(Some("http://127.0.0.1:9090"));
        assert_eq!(
            element.auth.authorization_url,
            "http://127.0.0.1:9090/app/oauth/authorize"
        );
        assert_eq!(element.auth.token_url, "http://127.0.0.1:9090/token");
        assert_eq!(element.api.base_url, "http://127.0.0.1:9090/crm/rest/v1");
    }

    #[test]
    fn a_bad_origin_override_is_refused_naming_the_variable() {
        for origin in ["ftp://x", "not a url", "http://"] {
            let error = Registry::builtin(|_| Some(origin.to_owned())).expect_err(origin);
            assert!(
                error
                    .to_string()
                    .contains("TRIBUTARY_INFUSIONSOFTREST_ORIGIN"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_authorize_url_carries_the_client_redirect_scope_and_state() {
        let element = infusionsoft(None);
        let url = element
            .authorize_url(
                "my-app",
                "https://client.example/cb?x=1",
                "infusionsoftrest",
                None,
            )
            .unwrap();
        assert_eq!(
            url,
            "https://accounts.infusionsoft.com/app/oauth/authorize?client_id=my-app\
             &redirect_uri=https%3A%2F%2Fclient.example%2Fcb%3Fx%3D1&response_type=code&scope=full\
             &state=infusionsoftrest"
        );
    }
}
