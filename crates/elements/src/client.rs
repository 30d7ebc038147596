//! The provider client of one instance: bearer auth with refresh, pacing, one page at a time.
//!
//! Token refresh is single-flight: the credentials sit behind an async mutex that a refresh holds
//! across its HTTP call, so twenty requests that meet an expired token cause one refresh and then
//! all use its result. A refresh happens a minute before expiry, and on a 401 if no one has
//! refreshed since the failing request took its token. The rotated refresh token is handed to
//! the [`CredentialSink`] (which persists it) *before* it is used: Keap kills the old one at
//! once, so a crash between the two must not lose the only valid token. `invalid_grant` marks
//! the client dead, tells the sink why, and makes no further provider calls.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;
use tributary_domain::Clock;

use crate::definition::{Element, Resource};
use crate::oauth::{self, ClientCredentials, OAuthError};
use crate::pacer::Pacer;

/// Refresh this long before the provider says the token expires.
pub const REFRESH_MARGIN_MS: i64 = 60_000;
/// Attempts of one request through 429s before giving up.
const THROTTLE_ATTEMPTS: u32 = 4;

/// The tokens of an instance.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Epoch ms when the access token expires, if the provider said.
    pub expires_at_ms: Option<i64>,
}

/// Where a client keeps its instance's credentials.
#[async_trait]
pub trait CredentialSink: Send + Sync + std::fmt::Debug {
    /// Persists rotated credentials; the client uses them only after this returns `Ok`.
    async fn save(&self, credentials: &Credentials) -> Result<(), String>;
    /// Records that the grant is dead and why.
    async fn invalidate(&self, reason: &str) -> Result<(), String>;
}

/// Why a provider call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The authorization is dead (`invalid_grant`, or a 401 that a refresh did not cure).
    #[error("the provider authorization is no longer valid: {0}")]
    Invalid(String),
    /// The provider refused the request (4xx), in its own words.
    #[error("the provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The provider failed (5xx), or kept throttling.
    #[error("the provider failed ({status}): {message}")]
    Failed { status: u16, message: String },
    /// No answer: connection refused or reset, timeout.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not what the API promises (bad JSON, an HTML page).
    #[error("the provider answered something unreadable: {0}")]
    Malformed(String),
}

/// One page of a provider list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub records: Vec<Value>,
    /// The provider's total of matching records, when it says.
    pub count: Option<u64>,
    /// Whether a next page may hold records: not a short or empty page, not past `count`.
    /// Never taken from a `next` link (Keap's is always present).
    pub more: bool,
}

struct TokenState {
    credentials: Credentials,
    /// Bumped at each refresh, so a 401 can tell whether someone already refreshed.
    generation: u64,
    invalid: Option<String>,
}

/// The provider client of one instance.
pub struct InstanceClient {
    /// The provider's clock minus ours, from the last `Date` header seen (1 s resolution).
    skew_ms: std::sync::Mutex<Option<i64>>,
    element: Arc<Element>,
    http: reqwest::Client,
    app: ClientCredentials,
    pacer: Arc<Pacer>,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn CredentialSink>,
    state: Mutex<TokenState>,
}

impl std::fmt::Debug for InstanceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceClient")
            .field("element", &self.element.key)
            .field("app", &self.app.client_id)
            .finish_non_exhaustive()
    }
}

impl InstanceClient {
    pub fn new(
        element: Arc<Element>,
        http: reqwest::Client,
        app: ClientCredentials,
        credentials: Credentials,
        pacer: Arc<Pacer>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn CredentialSink>,
    ) -> InstanceClient {
        InstanceClient {
            skew_ms: std::sync::Mutex::new(None),
            element,
            http,
            app,
            pacer,
            clock,
            sink,
            state: Mutex::new(TokenState {
                credentials,
                generation: 0,
                invalid: None,
            }),
        }
    }

    pub fn element(&self) -> &Element {
        &self.element
    }

    /// A usable access token and its generation; refreshes first when it expires soon or when
    /// `stale` names the generation a 401 was answered to.
    async fn token(&self, stale: Option<u64>) -> Result<(SecretString, u64), ProviderError> {
        let mut state = self.state.lock().await;
        if let Some(reason) = &state.invalid {
            return Err(ProviderError::Invalid(reason.clone()));
        }
        let expiring = state
            .credentials
            .expires_at_ms
            .is_some_and(|at| at - self.clock.now_ms() < REFRESH_MARGIN_MS);
        let rejected = stale == Some(state.generation);
        if expiring || rejected {
            let Some(refresh_token) = state.credentials.refresh_token.clone() else {
                let reason = "the access token expired and there is no refresh token".to_owned();
                return Err(self.kill(&mut state, reason).await);
            };
            match oauth::refresh(&self.http, &self.element, &self.app, &refresh_token).await {
                Ok(tokens) => {
                    let credentials = Credentials {
                        access_token: tokens.access_token,
                        // Keep the old refresh token if the provider did not rotate it.
                        refresh_token: tokens.refresh_token.or(Some(refresh_token)),
                        expires_at_ms: tokens
                            .expires_in
                            .map(|s| self.clock.now_ms() + s.saturating_mul(1000)),
                    };
                    self.sink
                        .save(&credentials)
                        .await
                        .map_err(|e| ProviderError::Failed {
                            status: 0,
                            message: format!("could not store the refreshed token: {e}"),
                        })?;
                    state.credentials = credentials;
                    state.generation += 1;
                }
                Err(error @ OAuthError::Rejected { .. }) => {
                    let reason = format!(
                        "the provider refused the refresh token ({}); authorize the instance again",
                        error.provider_message()
                    );
                    return Err(self.kill(&mut state, reason).await);
                }
                Err(OAuthError::Unavailable(message)) => {
                    return Err(ProviderError::Unreachable(format!(
                        "token refresh: {message}"
                    )));
                }
            }
        }
        Ok((state.credentials.access_token.clone(), state.generation))
    }

    async fn kill(&self, state: &mut TokenState, reason: String) -> ProviderError {
        state.invalid = Some(reason.clone());
        if let Err(error) = self.sink.invalidate(&reason).await {
            tracing::warn!(%error, "could not record an invalid instance");
        }
        ProviderError::Invalid(reason)
    }

    /// GETs `url` with the instance's token: paced, refreshed once on a 401, retried through
    /// 429s. Returns the body of a 2xx.
    async fn get_json(
        &self,
        url: &str,
        query: &[(String, String)],
    ) -> Result<Value, ProviderError> {
        let mut stale = None;
        let mut refreshed = false;
        let mut throttled = 0;
        loop {
            let (token, generation) = self.token(stale).await?;
            self.pacer.acquire(&self.app.client_id).await;
            let response = self
                .http
                .get(url)
                .query(query)
                .bearer_auth(token.expose_secret())
                .send()
                .await
                .map_err(|e| ProviderError::Unreachable(describe(&e)))?;
            let status = response.status();
            let headers = response.headers().clone();
            self.observe_date(&headers);
            self.pacer
                .observe(&self.app.client_id, &headers, status.is_success());
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                stale = Some(generation);
                continue;
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                throttled += 1;
                let retry_after = retry_after(&headers);
                self.pacer.throttled(&self.app.client_id, retry_after);
                if throttled < THROTTLE_ATTEMPTS {
                    continue;
                }
                return Err(ProviderError::Failed {
                    status: 429,
                    message: "the provider kept throttling the requests".into(),
                });
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| ProviderError::Unreachable(describe(&e)))?;
            return interpret(status, &headers, &body);
        }
    }

    fn observe_date(&self, headers: &HeaderMap) {
        let provider = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
            .map(|zoned| zoned.timestamp().as_millisecond());
        if let Some(provider) = provider {
            let skew = provider - self.clock.now_ms();
            *self.skew_ms.lock().unwrap_or_else(|p| p.into_inner()) = Some(skew);
        }
    }

    /// The provider's clock minus ours, as its last `Date` header said (whole seconds, so up to
    /// a second low); `None` before any answer.
    pub fn provider_skew_ms(&self) -> Option<i64> {
        *self.skew_ms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One page of a resource: `limit` records from `offset`, with provider parameters.
    pub async fn list(
        &self,
        resource: &Resource,
        params: &[(String, String)],
        offset: u64,
        limit: u32,
    ) -> Result<ListPage, ProviderError> {
        let limit = limit.clamp(1, self.element.api.max_page_size);
        let mut query = params.to_vec();
        query.push(("limit".into(), limit.to_string()));
        query.push(("offset".into(), offset.to_string()));
        let url = format!("{}{}", self.element.api.base_url, resource.path);
        let body = self.get_json(&url, &query).await?;
        let records = match body.get(&resource.envelope) {
            Some(Value::Array(records)) => records.clone(),
            _ => {
                return Err(ProviderError::Malformed(format!(
                    "the list has no {:?} array",
                    resource.envelope
                )));
            }
        };
        let count = body.get("count").and_then(Value::as_u64);
        let got = records.len() as u64;
        let more = got > 0 && got >= u64::from(limit) && count.is_none_or(|c| offset + got < c);
        Ok(ListPage {
            records,
            count,
            more,
        })
    }

    /// One record by id.
    pub async fn get(&self, resource: &Resource, id: &str) -> Result<Value, ProviderError> {
        let encoded: String = id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            .then(|| id.to_owned())
            .ok_or_else(|| ProviderError::Rejected {
                status: 400,
                message: format!("{id:?} is not a record id"),
            })?;
        let url = format!("{}{}/{encoded}", self.element.api.base_url, resource.path);
        self.get_json(&url, &[]).await
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Turns a provider answer into JSON or an error that never forwards an HTML page.
fn interpret(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<Value, ProviderError> {
    let is_html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("html"))
        || body.trim_ascii_start().starts_with(b"<");
    let parsed: Option<Value> = if is_html {
        None
    } else {
        serde_json::from_slice(body).ok()
    };
    if status.is_success() {
        return parsed.ok_or_else(|| {
            ProviderError::Malformed(if is_html {
                format!("an HTML page with status {status}")
            } else {
                format!("a body that is not JSON with status {status}")
            })
        });
    }
    let message = match &parsed {
        Some(value) => value
            .get("message")
            .or_else(|| value.pointer("/fault/faultstring"))
            .or_else(|| value.get("error_description"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP {status}")),
        None if is_html => format!("HTTP {status} (an HTML error page)"),
        None => format!("HTTP {status}"),
    };
    let code = status.as_u16();
    if status.is_client_error() {
        Err(ProviderError::Rejected {
            status: code,
            message,
        })
    } else {
        Err(ProviderError::Failed {
            status: code,
            message,
        })
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if error.is_decode() || error.is_body() {
        "the connection broke while reading the answer".into()
    } else {
        "the connection closed without an answer".into()
    }
}
