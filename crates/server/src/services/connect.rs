//! Connecting a provider account: the provider's consent URL, the exchange of the code it
//! gives back (before anything is stored), and — for the web UI — a Connect waiting for the
//! consent page's answer.
//!
//! A waiting Connect is kept in the database, sealed (what it resumes with holds the app
//! secret and the signature key), under the hash of a random OAuth `state` and the session that
//! started it: only that session can finish it, once, within ten minutes.

use secrecy::{ExposeSecret, SecretString};
use tributary_domain::instance_config::{
    OAUTH_API_KEY, OAUTH_API_SECRET, OAUTH_CALLBACK_URL, check_http_url,
};
use tributary_elements::Element;
use tributary_elements::oauth::{self, ClientCredentials, OAuthError, TokenSet};

use crate::secrets::{hash_secret, random_secret};
use crate::services::error::{ProviderFailure, ServiceError};
use crate::state::AppState;

/// How long a Connect waits for the consent page's answer.
const CONNECT_MS: i64 = 10 * 60_000;
/// What a waiting Connect is sealed for (the vault binds a purpose to each sealed value).
const SEAL_PURPOSE: &str = "ui.connect.form";

/// How the account is authenticated; each with the whole `providerData` object, which may carry
/// connection values beside the code or tokens (the OAuth redirect's `realmId`, say).
#[derive(Debug)]
pub enum ProviderData {
    /// An authorization code to exchange at the provider's token endpoint.
    Code(String, serde_json::Map<String, serde_json::Value>),
    /// Tokens obtained elsewhere.
    Tokens(TokenSet, serde_json::Map<String, serde_json::Value>),
}

/// A consent page to send the account's owner to.
#[derive(Debug, Clone, Default)]
pub struct ConsentRequest {
    pub element_key: String,
    /// The provider app's client id.
    pub api_key: Option<String>,
    /// The app's registered redirect URL.
    pub callback_url: Option<String>,
    /// The OAuth `state` (default: the element's key).
    pub state: Option<String>,
    pub scope: Option<String>,
    /// The instance configuration given so far: an element's configuration variables (a login
    /// host) may be part of its consent URL.
    pub configuration: std::collections::BTreeMap<String, String>,
}

/// The consent page's URL, for an element.
#[derive(Debug, Clone)]
pub struct ConsentUrl {
    pub url: String,
    pub element_key: String,
}

/// The provider's consent URL, every missing or bad input named.
pub fn consent_url(state: &AppState, request: &ConsentRequest) -> Result<ConsentUrl, ServiceError> {
    let key = &request.element_key;
    let element = state
        .registry
        .get(key)
        .ok_or_else(|| ServiceError::NotFound(format!("no element {key:?}")))?;
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut errors = Vec::new();
    let api_key = given(&request.api_key);
    if api_key.is_none() {
        errors.push("apiKey is required (the provider app's client id)".to_owned());
    }
    let callback = given(&request.callback_url);
    match &callback {
        None => errors.push("callbackUrl is required (the app's registered redirect URL)".into()),
        Some(url) => {
            if let Err(message) = check_http_url(url) {
                errors.push(format!("callbackUrl {message}"));
            }
        }
    }
    errors.extend(element.config_problems(&request.configuration));
    let (Some(api_key), Some(callback), true) = (api_key, callback, errors.is_empty()) else {
        return Err(ServiceError::BadInput(errors.join("; ")));
    };
    let state_param = given(&request.state).unwrap_or_else(|| element.key.clone());
    let url = element
        .authorize_url_with(
            &api_key,
            &callback,
            &state_param,
            given(&request.scope).as_deref(),
            &request.configuration,
        )
        .map_err(ServiceError::internal)?;
    Ok(ConsentUrl {
        url,
        element_key: element.key.clone(),
    })
}

/// Turns provider data into tokens: exchanges a code at the provider (with the app of `config`),
/// or takes the tokens given.
pub async fn exchange(
    state: &AppState,
    element: &Element,
    config: &std::collections::BTreeMap<String, String>,
    data: ProviderData,
) -> Result<TokenSet, ServiceError> {
    let missing = |error: OAuthError| ServiceError::BadInput(error.provider_message());
    let (code, data) = match data {
        ProviderData::Tokens(tokens, data) => {
            return oauth::accept_tokens(element, tokens, &data, config).map_err(missing);
        }
        ProviderData::Code(code, data) => (code, data),
    };
    let client = ClientCredentials {
        client_id: config.get(OAUTH_API_KEY).cloned().unwrap_or_default(),
        client_secret: SecretString::from(
            config.get(OAUTH_API_SECRET).cloned().unwrap_or_default(),
        ),
    };
    let redirect = config.get(OAUTH_CALLBACK_URL).cloned().unwrap_or_default();
    let redirect = oauth::Redirect {
        uri: &redirect,
        provider_data: &data,
        config,
    };
    let http = state.http.for_element(&state.registry, &element.key);
    oauth::exchange_code(&http, element, &client, &code, &redirect)
        .await
        .map_err(|error| match &error {
            OAuthError::Missing(_) => missing(error),
            // OAuth's `invalid_client` is about the app, not the code: say so, or the user
            // fetches code after code with a wrong client secret.
            OAuthError::Rejected { error: kind, .. } if kind == "invalid_client" => {
                ServiceError::Provider {
                    failure: ProviderFailure::Refused { status: None },
                    message: format!(
                        "{} refused the client credentials: check configuration.{OAUTH_API_KEY} \
                         and configuration.{OAUTH_API_SECRET} (the provider app's client id and \
                         secret)",
                        element.name
                    ),
                    provider: error.provider_message(),
                }
            }
            OAuthError::Rejected { .. } => ServiceError::Provider {
                failure: ProviderFailure::Refused { status: None },
                message: format!(
                    "{} refused the authorization code; get a new code and try again",
                    element.name
                ),
                provider: error.provider_message(),
            },
            OAuthError::Unavailable(_) => ServiceError::Provider {
                failure: ProviderFailure::Failed,
                message: format!("{} could not be reached to exchange the code", element.name),
                provider: error.provider_message(),
            },
        })
}

/// Starts a Connect for a browser session: keeps `pending` (what [`resume`] gives back, sealed
/// at rest) under a fresh OAuth state, and returns the consent page's URL carrying that state.
pub async fn begin(
    state: &AppState,
    session_token_hash: &[u8],
    consent: ConsentRequest,
    pending: &str,
) -> Result<String, ServiceError> {
    let oauth_state = random_secret();
    let url = consent_url(
        state,
        &ConsentRequest {
            state: Some(oauth_state.clone()),
            ..consent
        },
    )?
    .url;
    let sealed = state.vault.seal_str(SEAL_PURPOSE, pending);
    state
        .store
        .put_connect(
            &hash_secret(&oauth_state),
            session_token_hash,
            sealed,
            state.now_ms() + CONNECT_MS,
        )
        .await?;
    Ok(url)
}

/// Takes the Connect that `oauth_state` names, if this session started it less than ten
/// minutes ago and it was not taken already; returns what it was begun with.
pub async fn resume(
    state: &AppState,
    oauth_state: &str,
    session_token_hash: &[u8],
) -> Result<Option<String>, ServiceError> {
    let Some(sealed) = state
        .store
        .take_connect(
            &hash_secret(oauth_state),
            session_token_hash,
            state.now_ms(),
        )
        .await?
    else {
        return Ok(None);
    };
    let pending = state
        .vault
        .open_string(SEAL_PURPOSE, &sealed)
        .map_err(ServiceError::internal)?;
    Ok(Some(pending.expose_secret().to_owned()))
}
