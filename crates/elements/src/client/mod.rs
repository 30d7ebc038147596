//! The provider client of one instance: bearer auth with refresh, pacing, requests built from
//! the element's templates, answers read by its classifier, one page at a time.
//!
//! Token refresh is single-flight: the credentials sit behind an async mutex that a refresh holds
//! across its HTTP call, so twenty requests that meet an expired token cause one refresh and then
//! all use its result. A refresh happens a minute before expiry, and when the classifier says so
//! (a 401, typically) if no one has refreshed since the failing request took its token. The
//! rotated refresh token, and any connection variable the token response carries again, are
//! handed to the [`CredentialSink`] (which persists them) *before* they are used: a provider may
//! kill the old refresh token at once, so a crash between the two must not lose the only valid
//! one. `invalid_grant` marks the client dead, tells the sink why, and makes no further provider
//! calls. An HTML page is never passed on; the provider's own words are (`errors.messages`).

mod answer;
mod build;
mod deletes;
mod hooks;
mod records;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::Mutex;
use tributary_domain::Clock;

use crate::budgets::{BudgetScope, RequestKind};
use crate::connection::InstanceValues;
use crate::definition::{Element, ListRequest, Resource};
use crate::oauth::{self, ClientCredentials, OAuthError};
use crate::pacer::{MAX_RETRY_AFTER, Pacer};
use crate::pager::{self, Position};
use crate::query::Translated;
use crate::signals::{Action, PauseScope};
use answer::{Answer, describe, retry_after};
use records::Found;
use tributary_domain::record::Record;

tokio::task_local! {
    /// The provider requests sent by the task inside [`count_requests`].
    static REQUESTS: std::cell::Cell<u32>;
}

/// Runs `work` and counts the provider requests it sends through any instance client (every
/// attempt, retries included, as a provider's budget counts them) — in its own task, not in
/// tasks it spawns. The scheduler learns each poll's cost from it.
pub async fn count_requests<F: Future>(work: F) -> (F::Output, u32) {
    REQUESTS
        .scope(std::cell::Cell::new(0), async {
            let output = work.await;
            (output, REQUESTS.with(std::cell::Cell::get))
        })
        .await
}
use build::{Outgoing, bad_request};
pub use deletes::{ArchivedPage, DeletedPage, Deletion};
pub use hooks::Subscription;

/// Refresh this long before the provider says the token expires.
pub const REFRESH_MARGIN_MS: i64 = 60_000;

/// The tokens of an instance, and the connection values that came with its grant.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Epoch ms when the access token expires, if the provider said.
    pub expires_at_ms: Option<i64>,
    /// Connection variables from the token response and the OAuth redirect.
    pub connection: BTreeMap<String, String>,
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
    /// The authorization is dead (`invalid_grant`, or an answer the classifier calls so).
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
    /// Tributary refused to send the request: what the caller gave cannot make a request the
    /// definition allows (an id with `/` or `..`, a next-page URL off the API's base). The
    /// provider never saw it, so it is the caller's error, not the provider's.
    #[error("Tributary refused the request before sending it: {0}")]
    Unsent(String),
}

/// One page of a provider list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub records: Vec<Value>,
    /// The provider's total of matching records, when it says.
    pub total: Option<u64>,
    /// Where the next page starts, when the pager says there is one.
    pub next: Option<Position>,
}

impl ListPage {
    /// Whether a next page may hold records.
    pub fn more(&self) -> bool {
        self.next.is_some()
    }
}

/// One page of a provider list for a poll: its records as the JSON text events store.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPage {
    pub records: Vec<Record>,
    /// The provider's total of matching records, when it says.
    pub total: Option<u64>,
    /// Where the next page starts, when the pager says there is one.
    pub next: Option<Position>,
}

/// Which of a resource's requests a page is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// The list request (hub lists, and polls of elements without a change feed).
    List,
    /// The change feed (`api.changes`, or the resource's).
    Changes,
}

/// An instance-scoped pause: until when, and the refusal that started it.
#[derive(Debug, Clone)]
struct Paused {
    until_ms: i64,
    status: u16,
    message: String,
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
    /// Until when (our clock, epoch ms) this instance's requests are held by an
    /// instance-scoped pause (a tenant's spent quota), with the refusal's status and words.
    paused: std::sync::Mutex<Option<Paused>>,
    element: Arc<Element>,
    http: reqwest::Client,
    app: ClientCredentials,
    pacer: Arc<Pacer>,
    /// The pacers of the element's extra budgets, in `api.rate_limit.budgets` order.
    budgets: Vec<Arc<Pacer>>,
    /// What tells this instance apart in budgets that are each instance's own.
    tenant: String,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn CredentialSink>,
    /// The instance's plain (not secret) configuration values, for templates.
    config: Arc<BTreeMap<String, String>>,
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
            paused: std::sync::Mutex::new(None),
            element,
            http,
            app,
            pacer,
            budgets: Vec::new(),
            tenant: String::new(),
            clock,
            sink,
            config: Arc::default(),
            state: Mutex::new(TokenState {
                credentials,
                generation: 0,
                invalid: None,
            }),
        }
    }

    /// Gives templates the instance's plain configuration values (`{{config.KEY}}` and
    /// configuration-sourced connection variables).
    /// The map may be shared by many instances configured alike.
    pub fn with_config(mut self, config: impl Into<Arc<BTreeMap<String, String>>>) -> Self {
        self.config = config.into();
        self
    }

    /// Paces this instance's requests also by the element's extra budgets (`budgets`, from
    /// [`crate::pacer::Pacers::for_budgets`]), and keys the budgets that are each instance's
    /// own by `tenant` (the instance's id, say).
    pub fn with_pacing(mut self, tenant: impl Into<String>, budgets: Vec<Arc<Pacer>>) -> Self {
        self.tenant = tenant.into();
        self.budgets = budgets;
        self
    }

    pub fn element(&self) -> &Element {
        &self.element
    }

    /// Who owns this instance's main budget, as its pacer keys it: the app's client id, or the
    /// app and the instance where each tenant has its own budget. The scheduler plans each
    /// owner's polls within its budget; never show it as it is (a fingerprint will do).
    pub fn quota_key(&self) -> String {
        self.budget_key(self.element.api.rate_limit.scope)
    }

    /// The bucket key of a budget with this scope.
    fn budget_key(&self, scope: BudgetScope) -> String {
        match scope {
            BudgetScope::App => self.app.client_id.clone(),
            BudgetScope::Instance => format!("{}/{}", self.app.client_id, self.tenant),
        }
    }

    /// Waits for every budget `kind` counts against, then for a place among the requests in
    /// flight where the element caps them; the permit holds that place.
    async fn pace(
        &self,
        kind: RequestKind,
        main_key: &str,
    ) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let _ = REQUESTS.try_with(|count| count.set(count.get().saturating_add(1)));
        let limits = &self.element.api.rate_limit;
        for (budget, pacer) in limits.budgets.iter().zip(&self.budgets) {
            if budget.counts(kind) {
                pacer.acquire(&self.budget_key(budget.scope)).await;
            }
        }
        self.pacer.acquire(main_key).await;
        match limits.concurrent {
            Some(limit) => self.pacer.slot(main_key, limit).await,
            None => None,
        }
    }

    /// A usable access token, its generation and the instance's values; refreshes first when
    /// the token expires soon or when `stale` names the generation a request was refused with.
    async fn token(
        &self,
        stale: Option<u64>,
    ) -> Result<(SecretString, u64, InstanceValues), ProviderError> {
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
            let values = self.values(&state.credentials);
            match oauth::refresh(
                &self.http,
                &self.element,
                &self.app,
                &refresh_token,
                &values,
            )
            .await
            {
                Ok(tokens) => {
                    let mut connection = state.credentials.connection.clone();
                    // A refresh may carry the tenant's values again (a moved instance URL).
                    connection.extend(tokens.connection);
                    let credentials = Credentials {
                        access_token: tokens.access_token,
                        // Keep the old refresh token if the provider did not rotate it.
                        refresh_token: tokens.refresh_token.or(Some(refresh_token)),
                        expires_at_ms: tokens
                            .expires_in
                            .map(|s| self.clock.now_ms() + s.saturating_mul(1000)),
                        connection,
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
                Err(OAuthError::Missing(message)) => {
                    return Err(ProviderError::Invalid(message));
                }
            }
        }
        let values = self.values(&state.credentials);
        Ok((
            state.credentials.access_token.clone(),
            state.generation,
            values,
        ))
    }

    fn values(&self, credentials: &Credentials) -> InstanceValues {
        self.element
            .instance_values(&credentials.connection, &self.config)
    }

    async fn kill(&self, state: &mut TokenState, reason: String) -> ProviderError {
        state.invalid = Some(reason.clone());
        if let Err(error) = self.sink.invalidate(&reason).await {
            tracing::warn!(%error, "could not record an invalid instance");
        }
        ProviderError::Invalid(reason)
    }

    /// Sends the request `build` makes (again after a refresh, which may change the base URL):
    /// paced, classified, retried as the element's rules say. Returns a 2xx's JSON body and
    /// its headers.
    async fn send(
        &self,
        kind: RequestKind,
        build: impl Fn(&InstanceValues) -> Result<Outgoing, ProviderError>,
    ) -> Result<(Value, HeaderMap), ProviderError> {
        let (json, (), headers) = self
            .send_with(kind, build, |body| {
                serde_json::from_slice(body).ok().map(|json| (json, ()))
            })
            .await?;
        Ok((json, headers))
    }

    /// [`Self::send`], with a 2xx's body read by `read`: its JSON (what the classifier and the
    /// pager see), and what `read` took apart from it (a poll's records, kept as text).
    async fn send_with<X: Default>(
        &self,
        kind: RequestKind,
        build: impl Fn(&InstanceValues) -> Result<Outgoing, ProviderError>,
        read: impl Fn(&[u8]) -> Option<(Value, X)>,
    ) -> Result<(Value, X, HeaderMap), ProviderError> {
        let rules = &self.element.api.errors;
        let mut counts = vec![0u32; rules.rules.len()];
        let mut stale = None;
        let mut refreshed = false;
        let main_key = self.budget_key(self.element.api.rate_limit.scope);
        loop {
            self.check_paused()?;
            let (token, generation, values) = self.token(stale).await?;
            let outgoing = build(&values)?;
            // Held until the answer is read: a place among the requests in flight.
            let _slot = self.pace(kind, &main_key).await;
            let started = std::time::Instant::now();
            let response = match outgoing.request(&self.http, &token).send().await {
                Ok(response) => response,
                Err(error) => {
                    self.pacer.record(None, started.elapsed());
                    return Err(ProviderError::Unreachable(describe(&error)));
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            self.observe_date(&headers);
            let observed = self
                .element
                .api
                .rate_limit
                .observe(&headers, self.clock.now_ms());
            self.pacer
                .observe(&main_key, observed.remaining, status.is_success());
            if let (Some(left), Some(reset)) = (observed.remaining, observed.reset)
                && left < 1.0
            {
                self.pacer.pause(&main_key, reset);
            }
            let body = response.bytes().await;
            // The whole answer, body included: what a p99 alert on provider latency means.
            self.pacer.record(
                Some(status.as_u16()).filter(|_| body.is_ok()),
                started.elapsed(),
            );
            let body = body.map_err(|e| ProviderError::Unreachable(describe(&e)))?;
            let answer = Answer::read_with(status, &headers, &body, &read);
            let code = status.as_u16();
            if let Some((index, rule)) = rules.classify(code, answer.json.as_ref()) {
                let message = || answer.message(&self.element);
                // Refreshed once already: the rule's `then` decides, or the answer stands.
                let action = match rule.action {
                    Action::Refresh if refreshed => rule.then.unwrap_or(Action::Refresh),
                    action => action,
                };
                match action {
                    Action::Refresh if !refreshed => {
                        refreshed = true;
                        stale = Some(generation);
                        continue;
                    }
                    Action::Refresh => {}
                    Action::Backoff => {
                        counts[index] += 1;
                        self.pacer.throttled(&main_key, retry_after(&headers));
                        if counts[index] < rule.attempts.unwrap_or(1) {
                            continue;
                        }
                        return Err(ProviderError::Failed {
                            status: code,
                            message: "the provider kept throttling the requests".into(),
                        });
                    }
                    Action::Retry => {
                        counts[index] += 1;
                        if counts[index] < rule.attempts.unwrap_or(1) {
                            let wait = retry_after(&headers)
                                .or(rule.wait())
                                .unwrap_or(Duration::from_secs(1))
                                .min(MAX_RETRY_AFTER);
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    Action::Pause => {
                        let wait = observed
                            .reset
                            .or(rule.wait())
                            .unwrap_or(Duration::from_secs(60));
                        let message = message();
                        if rule.scope == Some(PauseScope::Instance) {
                            self.pause_instance(wait, code, &message);
                        } else {
                            self.pacer.pause(&main_key, wait);
                        }
                        return Err(ProviderError::Failed {
                            status: code,
                            message,
                        });
                    }
                    Action::Fail => {
                        return Err(ProviderError::Failed {
                            status: code,
                            message: message(),
                        });
                    }
                    Action::Reject => {
                        return Err(ProviderError::Rejected {
                            status: code,
                            message: message(),
                        });
                    }
                    Action::Invalid => {
                        let reason = format!(
                            "the provider no longer accepts the authorization ({}); authorize \
                             the instance again",
                            message()
                        );
                        let mut state = self.state.lock().await;
                        return Err(self.kill(&mut state, reason).await);
                    }
                }
            }
            return answer
                .into_result(&self.element)
                .map(|(json, extra)| (json, extra, headers));
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

    /// Holds this instance's requests for `wait` (capped at a day), on the injected clock.
    fn pause_instance(&self, wait: Duration, status: u16, message: &str) {
        let wait_ms =
            i64::try_from(wait.min(crate::pacer::MAX_PAUSE).as_millis()).unwrap_or(i64::MAX);
        let until_ms = self.clock.now_ms().saturating_add(wait_ms);
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        if paused.as_ref().is_none_or(|p| p.until_ms < until_ms) {
            *paused = Some(Paused {
                until_ms,
                status,
                message: message.to_owned(),
            });
        }
    }

    /// Refuses a request while an instance-scoped pause holds, without calling the provider.
    fn check_paused(&self) -> Result<(), ProviderError> {
        let paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        match paused.as_ref() {
            Some(p) if p.until_ms > self.clock.now_ms() => Err(ProviderError::Failed {
                status: p.status,
                message: p.message.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Until when (epoch ms, our clock) an instance-scoped pause holds this instance's
    /// requests; `None` when none does now.
    pub fn paused_until_ms(&self) -> Option<i64> {
        let paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        paused
            .as_ref()
            .map(|p| p.until_ms)
            .filter(|until| *until > self.clock.now_ms())
    }

    /// The provider's clock minus ours, as its last `Date` header said (whole seconds, so up to
    /// a second low); `None` before any answer.
    pub fn provider_skew_ms(&self) -> Option<i64> {
        *self.skew_ms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One page of a resource's list: up to `size` records from `at` (the pager's start or a
    /// position a page gave), with the translated query.
    pub async fn list(
        &self,
        resource: &Resource,
        query: &Translated,
        at: &Position,
        size: u32,
    ) -> Result<ListPage, ProviderError> {
        self.page(Feed::List, resource, query, at, size).await
    }

    /// One page of `feed` for a resource: its list, or its change feed.
    pub async fn page(
        &self,
        feed: Feed,
        resource: &Resource,
        query: &Translated,
        at: &Position,
        size: u32,
    ) -> Result<ListPage, ProviderError> {
        let (records, total, next) = self
            .page_with(feed, resource, query, at, size, |body, pointer| {
                let mut json: Value = serde_json::from_slice(body).ok()?;
                // Taken out, not copied: the pager reads only the rest.
                let found = match json.pointer_mut(pointer) {
                    Some(Value::Array(records)) => Found::Records(std::mem::take(records)),
                    None | Some(Value::Null) => Found::Absent,
                    Some(_) => Found::Other,
                };
                Some((json, found))
            })
            .await?;
        Ok(ListPage {
            records,
            total,
            next,
        })
    }

    /// [`Self::page`] for a poll: each record kept as the JSON text an event stores
    /// ([`Record`]), never parsed into a `Value` tree (see `records.rs`).
    pub async fn page_records(
        &self,
        feed: Feed,
        resource: &Resource,
        query: &Translated,
        at: &Position,
        size: u32,
    ) -> Result<RecordPage, ProviderError> {
        let (records, total, next) = self
            .page_with(feed, resource, query, at, size, records::split)
            .await?;
        Ok(RecordPage {
            records,
            total,
            next,
        })
    }

    /// A page's request and answer; `read` parses a 2xx's body, taking its records apart.
    // The page's request, and the reader of its answer: one more than clippy's default.
    #[allow(clippy::too_many_arguments)]
    async fn page_with<R>(
        &self,
        feed: Feed,
        resource: &Resource,
        query: &Translated,
        at: &Position,
        size: u32,
        read: impl Fn(&[u8], &str) -> Option<(Value, Found<R>)>,
    ) -> Result<(Vec<R>, Option<u64>, Option<Position>), ProviderError> {
        let size = size.clamp(1, self.element.api.max_page_size);
        let (request, pointer, kind): (&ListRequest, String, RequestKind) = match feed {
            Feed::List => (
                self.element.list_request(resource),
                self.element.records_pointer(resource),
                RequestKind::List,
            ),
            Feed::Changes => {
                let request = self.element.changes_request(resource).ok_or_else(|| {
                    ProviderError::Rejected {
                        status: 400,
                        message: format!(
                            "{} has no change feed for {}",
                            self.element.name, resource.name
                        ),
                    }
                })?;
                let pointer = self.element.changes_pointer(resource).unwrap_or_default();
                (request, pointer, RequestKind::Changes)
            }
        };
        let page = at.vars(size);
        let (body, found, headers) = self
            .send_with(
                kind,
                |values| self.list_outgoing(request, resource, query, at, &page, values),
                |body| read(body, &pointer),
            )
            .await?;
        let records = match found {
            Found::Records(records) => records,
            Found::Absent if request.records_absent_is_empty => Vec::new(),
            _ => {
                return Err(ProviderError::Malformed(format!(
                    "the list has no {pointer:?} array"
                )));
            }
        };
        let advance = pager::advance(&request.pager, at, size, records.len(), &body, &headers);
        Ok((records, advance.total, advance.next))
    }

    /// One record by id.
    pub async fn get(&self, resource: &Resource, id: &str) -> Result<Value, ProviderError> {
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad_request(format!("{id:?} is not a record id")));
        }
        let request = self.element.get_request(resource);
        let (body, _) = self
            .send(RequestKind::Get, |values| {
                self.get_outgoing(request, resource, id, values)
            })
            .await?;
        match &request.record {
            None => Ok(body),
            Some(pointer) => {
                let pointer = crate::definition::resource_pointer(pointer, resource);
                body.pointer(&pointer).cloned().ok_or_else(|| {
                    ProviderError::Malformed(format!("the answer has no record at {pointer:?}"))
                })
            }
        }
    }
}
