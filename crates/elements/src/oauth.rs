//! The provider's token endpoint: exchanging an authorization code, refreshing a token.
//!
//! Errors keep the provider's own words (`error_description`) so the API can pass them on as
//! `providerMessage`, and tell a rejection (the provider said no: a client error, 400) from an
//! outage (no usable answer: 502). Tokens are [`SecretString`]s: never in `Debug` output.
//!
//! The token URL may name connection variables and configuration values (a login host); the
//! connection variables a token response carries (Salesforce's `instance_url`) come back in
//! [`TokenSet::connection`], at the code exchange and at every refresh.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connection::InstanceValues;
use crate::definition::{ClientAuth, Element};
use crate::template::{Context, Scope, Template};

/// The client app's credentials at the provider.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// What the token endpoint granted.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Seconds the access token lives, as the provider said.
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
    /// Connection variables learned with the tokens: from the token response, and (at the
    /// code exchange) from the redirect's parameters the client passed on.
    pub connection: BTreeMap<String, String>,
}

/// Why the token endpoint gave no tokens.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The provider answered and refused (`invalid_grant`, `invalid_client`, …).
    #[error("the provider refused the grant ({error})")]
    Rejected {
        status: u16,
        error: String,
        description: String,
    },
    /// No usable answer: connection failure, timeout, 5xx, or a body that is not a token.
    #[error("the provider's token endpoint is unavailable: {0}")]
    Unavailable(String),
    /// The instance lacks a connection value the provider needs (named, with its source).
    #[error("{0}")]
    Missing(String),
}

impl OAuthError {
    /// The provider's message, for `providerMessage`.
    pub fn provider_message(&self) -> String {
        match self {
            OAuthError::Rejected {
                error, description, ..
            } if description.is_empty() => error.clone(),
            OAuthError::Rejected { description, .. } => description.clone(),
            OAuthError::Unavailable(message) | OAuthError::Missing(message) => message.clone(),
        }
    }

    /// Whether the grant itself is dead (the user must authorize again).
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, OAuthError::Rejected { error, .. } if error == "invalid_grant")
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: Option<String>,
    error_description: Option<String>,
}

/// What comes with an authorization code: the redirect URI it was issued for, what the client
/// sent beside it (`providerData`: the redirect's other parameters), and the instance
/// configuration.
#[derive(Debug, Clone, Copy)]
pub struct Redirect<'a> {
    pub uri: &'a str,
    pub provider_data: &'a Map<String, Value>,
    pub config: &'a BTreeMap<String, String>,
}

/// Exchanges an authorization code for tokens, with the connection values the redirect and
/// the token response give.
pub async fn exchange_code(
    http: &reqwest::Client,
    element: &Element,
    client: &ClientCredentials,
    code: &str,
    redirect: &Redirect<'_>,
) -> Result<TokenSet, OAuthError> {
    let Redirect {
        uri: redirect_uri,
        provider_data,
        config,
    } = *redirect;
    let given = element.provider_data_values(provider_data);
    let values = element.instance_values(&given, config);
    let missing = element.missing_connection(&values, true);
    if !missing.is_empty() {
        return Err(OAuthError::Missing(missing.join("; ")));
    }
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    let mut tokens = token_request(
        http,
        element,
        &values,
        element.auth.code_client_auth,
        client,
        form,
    )
    .await?;
    let mut connection = element.stored_connection(&values.connection);
    connection.append(&mut tokens.connection);
    tokens.connection = connection;
    require_all(element, &tokens, config)?;
    Ok(tokens)
}

/// Takes tokens obtained elsewhere, with the connection values `provider_data` gives.
pub fn accept_tokens(
    element: &Element,
    mut tokens: TokenSet,
    provider_data: &Map<String, Value>,
    config: &BTreeMap<String, String>,
) -> Result<TokenSet, OAuthError> {
    tokens.connection = element.provider_data_values(provider_data);
    require_all(element, &tokens, config)?;
    Ok(tokens)
}

fn require_all(
    element: &Element,
    tokens: &TokenSet,
    config: &BTreeMap<String, String>,
) -> Result<(), OAuthError> {
    let values = element.instance_values(&tokens.connection, config);
    let missing = element.missing_connection(&values, false);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(OAuthError::Missing(missing.join("; ")))
    }
}

/// Trades a refresh token for a new token set (the provider may rotate the refresh token, and
/// may send connection variables again).
pub async fn refresh(
    http: &reqwest::Client,
    element: &Element,
    client: &ClientCredentials,
    refresh_token: &SecretString,
    values: &InstanceValues,
) -> Result<TokenSet, OAuthError> {
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
    ];
    token_request(
        http,
        element,
        values,
        element.auth.refresh_client_auth,
        client,
        form,
    )
    .await
}

/// The token URL with the instance's values.
fn token_url(element: &Element, values: &InstanceValues) -> Result<String, OAuthError> {
    let scope = Scope {
        page: None,
        resource: None,
        id: None,
        connection: &values.connection,
        config: &values.config,
        query: None,
        formats: element.formats(),
    };
    Template::parse(&element.auth.token_url)
        .and_then(|t| t.render(&scope, Context::Text))
        .map_err(|e| OAuthError::Missing(format!("the token URL: {e}")))?
        .ok_or_else(|| OAuthError::Missing("the token URL has no value".into()))
}

async fn token_request(
    http: &reqwest::Client,
    element: &Element,
    values: &InstanceValues,
    auth: ClientAuth,
    client: &ClientCredentials,
    mut form: Vec<(&str, &str)>,
) -> Result<TokenSet, OAuthError> {
    let mut request = http.post(token_url(element, values)?);
    match auth {
        ClientAuth::Basic => {
            request = request.basic_auth(
                &client.client_id,
                Some(client.client_secret.expose_secret()),
            );
        }
        ClientAuth::Body => {
            form.push(("client_id", &client.client_id));
            form.push(("client_secret", client.client_secret.expose_secret()));
        }
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| OAuthError::Unavailable(describe(&e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| OAuthError::Unavailable(describe(&e)))?;
    if status.is_success() {
        let unusable = || {
            OAuthError::Unavailable(format!(
                "the token endpoint answered {status} without a token"
            ))
        };
        let value: Value = serde_json::from_slice(&body).map_err(|_| unusable())?;
        let token = TokenResponse::deserialize(&value).map_err(|_| unusable())?;
        return Ok(TokenSet {
            access_token: SecretString::from(token.access_token),
            refresh_token: token.refresh_token.map(SecretString::from),
            expires_in: token.expires_in,
            scope: token.scope,
            connection: element.token_response_values(&value),
        });
    }
    if status.is_client_error() {
        let parsed: Option<ErrorResponse> = serde_json::from_slice(&body).ok();
        let (error, description) = match parsed {
            Some(e) => (
                e.error.unwrap_or_else(|| "invalid_request".into()),
                e.error_description.unwrap_or_default(),
            ),
            None => ("invalid_request".into(), format!("HTTP {status}")),
        };
        return Err(OAuthError::Rejected {
            status: status.as_u16(),
            error,
            description,
        });
    }
    Err(OAuthError::Unavailable(format!(
        "the token endpoint answered HTTP {status}"
    )))
}

/// A transport error in words, without the URL's query (which never holds secrets here, but
/// reqwest's Display includes the full URL).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match error.url() {
        Some(url) => format!(
            "{kind}: {}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.path()
        ),
        None => kind.to_owned(),
    }
}
