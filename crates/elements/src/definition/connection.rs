//! A declared connection variable: where a per-tenant value comes from (data only;
//! [`crate::connection`] resolves them).

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
}

fn yes() -> bool {
    true
}
