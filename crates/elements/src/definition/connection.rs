//! A declared connection variable: where a per-tenant value comes from (data only;
//! [`crate::connection`] resolves them).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Where a connection variable's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Fixed,
    TokenResponse,
    Redirect,
    Config,
}

/// A declared connection variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionVar {
    pub source: Source,
    /// `fixed`: the value.
    pub value: Option<String>,
    /// `token_response`: a JSON pointer into the token response (`/instance_url`).
    pub pointer: Option<String>,
    /// `redirect`: the redirect's query parameter, given as `providerData.<parameter>`.
    pub parameter: Option<String>,
    /// `config`: the instance configuration key.
    pub key: Option<String>,
    /// Whether an instance without it is refused (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// `config`: the value when the configuration does not give one.
    pub default: Option<String>,
    /// `config`: words the configuration may give instead of a value (`sandbox` →
    /// `https://test.salesforce.com`).
    #[serde(default)]
    pub choices: BTreeMap<String, String>,
    /// `config`: URL patterns a given value must match (`https://*.my.salesforce.com`, where
    /// `*` stands for one or more host labels). Without them, and with `choices`, only the
    /// choices are accepted; with neither, any value is.
    #[serde(default)]
    pub allow: Vec<String>,
    /// `config`: the value is a provider origin (`https://host[:port]`), which
    /// `TRIBUTARY_<KEY>_ORIGIN` replaces like the definition's own URLs.
    #[serde(default)]
    pub origin: bool,
    /// The origin override, when one was given for the element (set by the registry).
    #[serde(skip)]
    pub(crate) forced: Option<String>,
}

fn yes() -> bool {
    true
}
