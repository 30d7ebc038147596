//! Connection variables: the per-tenant values of an instance (its API host, its company id, a
//! subdomain), each declared with where it comes from.
//!
//! - `fixed`: a value of the definition itself;
//! - `token_response`: a JSON pointer into the token endpoint's answer (Salesforce's
//!   `instance_url`), read at the code exchange and again at every refresh that carries it;
//! - `redirect`: a query parameter of the OAuth redirect (QuickBooks' `realmId`), which the
//!   client passes in `providerData` beside the code;
//! - `config`: an instance configuration value (a subdomain, a login host).
//!
//! Values from the token response and the redirect belong to the grant and are stored with
//! the credentials (sealed); fixed and configuration values are read afresh when a client is
//! made. Templates name them `{{connection.NAME}}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::definition::Element;
pub use crate::definition::connection::{ConnectionVar, Source};

/// What an instance's requests may read: its connection variables and its plain (not secret)
/// configuration values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceValues {
    pub connection: BTreeMap<String, String>,
    pub config: BTreeMap<String, String>,
}

/// A scalar JSON value as text (strings as they are, numbers and booleans written out).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Element {
    /// The values of the `fixed` variables.
    pub fn fixed_connection(&self) -> BTreeMap<String, String> {
        self.connection
            .iter()
            .filter(|(_, v)| v.source == Source::Fixed)
            .filter_map(|(name, v)| Some((name.clone(), v.value.clone()?)))
            .collect()
    }

    /// The `token_response` variables found in a token endpoint's answer.
    pub fn token_response_values(&self, response: &Value) -> BTreeMap<String, String> {
        self.connection
            .iter()
            .filter(|(_, v)| v.source == Source::TokenResponse)
            .filter_map(|(name, v)| {
                let found = response.pointer(v.pointer.as_deref()?)?;
                Some((name.clone(), scalar(found)?))
            })
            .collect()
    }

    /// The variables a client gave in `providerData`: `redirect` ones by their parameter, and
    /// (for tokens obtained elsewhere) `token_response` ones by their pointer.
    pub fn provider_data_values(
        &self,
        provider_data: &Map<String, Value>,
    ) -> BTreeMap<String, String> {
        let data = Value::Object(provider_data.clone());
        self.connection
            .iter()
            .filter_map(|(name, v)| {
                let found = match v.source {
                    Source::Redirect => provider_data.get(v.parameter.as_deref()?)?,
                    Source::TokenResponse => data.pointer(v.pointer.as_deref()?)?,
                    Source::Fixed | Source::Config => return None,
                };
                Some((name.clone(), scalar(found)?))
            })
            .collect()
    }

    /// Every value an instance's requests may read: fixed variables, configuration variables,
    /// then the stored ones (token response, redirect). A secret configuration value (the
    /// client secret, a signature key, anything named like a secret or declared in
    /// `secret_keys`) is never one of them.
    pub fn instance_values(
        &self,
        stored: &BTreeMap<String, String>,
        config: &BTreeMap<String, String>,
    ) -> InstanceValues {
        let config: BTreeMap<String, String> = config
            .iter()
            .filter(|(key, _)| !self.is_secret(key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut connection = self.fixed_connection();
        for (name, v) in &self.connection {
            if v.source == Source::Config
                && let Ok(Some(value)) = config_value(v, &config)
            {
                connection.insert(name.clone(), value);
            }
        }
        for (name, value) in stored {
            if self
                .connection
                .get(name)
                .is_some_and(|v| matches!(v.source, Source::TokenResponse | Source::Redirect))
            {
                connection.insert(name.clone(), value.clone());
            }
        }
        InstanceValues { connection, config }
    }

    /// The required variables `values` lacks, each with where it should have come from;
    /// `before_tokens` leaves out those the token response will give.
    pub fn missing_connection(&self, values: &InstanceValues, before_tokens: bool) -> Vec<String> {
        let refused = self.config_problems(&values.config);
        if !refused.is_empty() {
            return refused;
        }
        self.connection
            .iter()
            .filter(|(name, v)| v.required && !values.connection.contains_key(*name))
            .filter(|(_, v)| !(before_tokens && v.source == Source::TokenResponse))
            .map(|(name, v)| {
                let from = match v.source {
                    Source::Fixed => "its fixed value".to_owned(),
                    Source::TokenResponse => format!(
                        "the token response at {} (or providerData)",
                        v.pointer.as_deref().unwrap_or("?")
                    ),
                    Source::Redirect => format!(
                        "providerData.{} (the OAuth redirect's {} parameter)",
                        v.parameter.as_deref().unwrap_or("?"),
                        v.parameter.as_deref().unwrap_or("?")
                    ),
                    Source::Config => format!("configuration.{}", v.key.as_deref().unwrap_or("?")),
                };
                format!(
                    "{} needs its connection value {name}, from {from}",
                    self.name
                )
            })
            .collect()
    }

    /// The configuration values a configuration variable refuses (not a choice, not an
    /// allowed URL), each naming its key: `configuration.KEY must be …, got "…"`.
    pub fn config_problems(&self, config: &BTreeMap<String, String>) -> Vec<String> {
        self.connection
            .values()
            .filter_map(|v| {
                let refused = config_value(v, config).err()?;
                Some(format!(
                    "configuration.{} {refused}",
                    v.key.as_deref().unwrap_or("?")
                ))
            })
            .collect()
    }

    /// The origins a consent page may be on, for a browser's form-action policy: the
    /// authorization URL's own, or — when it starts with an origin variable — that variable's
    /// default, choices and allowed patterns (`https://*.my.salesforce.com`).
    pub fn consent_origins(&self) -> Vec<String> {
        let url = &self.auth.authorization_url;
        if let Ok(parsed) = reqwest::Url::parse(url)
            && parsed.host_str().is_some()
        {
            return vec![parsed.origin().ascii_serialization()];
        }
        let Some(name) = url
            .strip_prefix("{{connection.")
            .and_then(|rest| rest.split_once("}}"))
            .map(|(name, _)| name.trim())
        else {
            return Vec::new();
        };
        let Some(var) = self.connection.get(name).filter(|v| v.origin) else {
            return Vec::new();
        };
        if let Some(forced) = &var.forced {
            return vec![forced.clone()];
        }
        let mut origins: Vec<String> = var
            .default
            .iter()
            .chain(var.choices.values())
            .chain(var.allow.iter())
            .cloned()
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    /// The stored part of an instance's connection: what came from the token response or the
    /// redirect.
    pub fn stored_connection(&self, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        values
            .iter()
            .filter(|(name, _)| {
                self.connection
                    .get(*name)
                    .is_some_and(|v| matches!(v.source, Source::TokenResponse | Source::Redirect))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The value of a `config` variable: the configuration's (a choice word read as its value,
/// checked against the allowed patterns), else the default, else none; an error says why a
/// given value is refused. An origin override wins over any accepted value.
fn config_value(
    var: &ConnectionVar,
    config: &BTreeMap<String, String>,
) -> Result<Option<String>, String> {
    if var.source != Source::Config {
        return Ok(None);
    }
    let given = var
        .key
        .as_deref()
        .and_then(|key| config.get(key))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    let value = match given {
        None => var.default.clone(),
        Some(text) => Some(accepted(var, text)?),
    };
    Ok(match (&var.forced, value) {
        (Some(forced), Some(_)) => Some(forced.clone()),
        (_, value) => value,
    })
}

/// A given configuration value as the variable takes it, or why not.
fn accepted(var: &ConnectionVar, text: &str) -> Result<String, String> {
    if let Some(value) = var.choices.get(text) {
        return Ok(value.clone());
    }
    if var.allow.is_empty() && var.choices.is_empty() {
        return if var.origin {
            origin_of(text).ok_or_else(|| refusal(var, text))
        } else {
            Ok(text.to_owned())
        };
    }
    let origin = origin_of(text).ok_or_else(|| refusal(var, text))?;
    if var
        .allow
        .iter()
        .any(|pattern| matches_pattern(pattern, &origin))
    {
        Ok(origin)
    } else {
        Err(refusal(var, text))
    }
}

fn refusal(var: &ConnectionVar, text: &str) -> String {
    let mut accepted: Vec<String> = var.choices.keys().cloned().collect();
    accepted.extend(var.allow.iter().map(|p| format!("a URL such as {p}")));
    if accepted.is_empty() {
        accepted.push("an http or https origin such as https://host.example".into());
    }
    let shown: String = text.chars().take(80).collect();
    format!("must be {}, got {shown:?}", accepted.join(" or "))
}

/// `scheme://host[:port]` of an http(s) URL that is nothing more (a trailing `/` allowed).
pub(crate) fn origin_of(text: &str) -> Option<String> {
    let url = reqwest::Url::parse(text).ok()?;
    let bare = matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some() && bare)
        .then(|| url.origin().ascii_serialization())
}

/// Whether an origin matches `scheme://host-pattern[:port]`, where a `*` label stands for one
/// or more host labels of letters, digits and `-`.
pub(crate) fn matches_pattern(pattern: &str, origin: &str) -> bool {
    let Some((scheme, host)) = pattern.split_once("://") else {
        return false;
    };
    let Some(rest) = origin.strip_prefix(&format!("{scheme}://")) else {
        return false;
    };
    let Some(suffix) = host.strip_prefix("*.") else {
        return rest.eq_ignore_ascii_case(host);
    };
    let rest = rest.to_ascii_lowercase();
    let Some(labels) = rest.strip_suffix(&format!(".{}", suffix.to_ascii_lowercase())) else {
        return false;
    };
    !labels.is_empty()
        && labels.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn element() -> Element {
        let text = format!(
            "{}\n{}",
            crate::validate::tests::MINIMAL,
            r#"
[connection.instance_url]
source = "token_response"
pointer = "/instance_url"

[connection.realm]
source = "redirect"
parameter = "realmId"

[connection.subdomain]
source = "config"
key = "provider.subdomain"
required = false

[connection.version]
source = "fixed"
value = "v60.0"
"#
        );
        crate::registry::parse_definition("test.toml", &text).unwrap()
    }

    #[test]
    fn each_source_gives_its_values_and_stored_ones_win_over_nothing_else() {
        let element = element();
        assert_eq!(
            element.token_response_values(
                &json!({"access_token": "x", "instance_url": "https://na1.example"})
            ),
            BTreeMap::from([("instance_url".to_owned(), "https://na1.example".to_owned())])
        );
        let given = element.provider_data_values(
            json!({"code": "c", "realmId": 4_620_816_365_u64, "instance_url": "https://given.example"})
                .as_object()
                .unwrap(),
        );
        assert_eq!(given["realm"], "4620816365", "numbers are read as text");
        assert_eq!(given["instance_url"], "https://given.example");
        let config = BTreeMap::from([
            ("provider.subdomain".to_owned(), "acme".to_owned()),
            ("oauth.api.secret".to_owned(), "hunter2".to_owned()),
        ]);
        let values = element.instance_values(&given, &config);
        assert!(
            !values.config.contains_key("oauth.api.secret"),
            "secrets are never template values"
        );
        assert_eq!(values.connection["version"], "v60.0");
        assert_eq!(values.connection["subdomain"], "acme");
        assert_eq!(values.connection["realm"], "4620816365");
        assert_eq!(element.stored_connection(&values.connection).len(), 2);
        assert!(element.missing_connection(&values, false).is_empty());
    }

    #[test]
    fn missing_required_values_are_named_with_where_they_come_from() {
        let element = element();
        let values = element.instance_values(&BTreeMap::new(), &BTreeMap::new());
        let before = element.missing_connection(&values, true);
        assert_eq!(before.len(), 1, "{before:?}");
        assert!(before[0].contains("providerData.realmId"), "{before:?}");
        let after = element.missing_connection(&values, false);
        assert_eq!(
            after.len(),
            2,
            "the optional subdomain is not missing: {after:?}"
        );
        assert!(
            after.iter().any(|m| m.contains("/instance_url")),
            "{after:?}"
        );
    }
}
