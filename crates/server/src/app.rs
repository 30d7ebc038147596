//! Building and running the server: `Application::build → port() → run_until_stopped()`, the
//! router of every route (the API, the UI, the operations routes), and the first
//! organization's bootstrap. The top of the crate: it starts the workers and serves the
//! adapters; nothing below imports it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Extension;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tributary_domain::Clock;
use tributary_store::{NewOrganization, Store};

use crate::api;
use crate::clients::ProviderHttp;
use crate::secrets::{Vault, hash_secret, random_secret};
use crate::settings::{Settings, redact_url};
pub use crate::state::AppState;

/// Secrets generated for the first organization, to be shown once.
#[derive(Debug)]
pub struct GeneratedSecrets {
    pub organization_secret: SecretString,
    pub user_secret: SecretString,
}

impl GeneratedSecrets {
    /// `{"organizationSecret": …, "userSecret": …}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "organizationSecret": self.organization_secret.expose_secret(),
            "userSecret": self.user_secret.expose_secret(),
        })
        .to_string()
    }
}

/// A bound, ready server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    generated: Option<GeneratedSecrets>,
}

impl Application {
    /// Opens the database (migrating it), loads the vault and the elements, bootstraps the
    /// first organization on an empty database, and binds the listener.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let registry = crate::services::elements::load(&settings)?;
        // A broken or repeated definition of the elements folder is refused by name; the
        // others serve (an instance of a refused element fails its polls, naming it).
        for refused in registry.refused() {
            tracing::error!(error = %refused, "an element definition was refused");
        }
        let store = tributary_store::open(&settings.database_url, clock.now_ms())
            .await
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    redact_url(&settings.database_url)
                )
            })?;
        let vault = Vault::load(settings.master_key.as_ref(), &settings.database_url)?;
        let http = ProviderHttp::new(settings.provider_timeout, settings.allow_private_origins)
            .context("cannot build the HTTP client")?;
        let generated = bootstrap(store.as_ref(), &settings, clock.now_ms()).await?;
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let state = AppState::new(
            store,
            Arc::new(registry),
            Arc::new(vault),
            clock,
            http,
            Arc::new(settings),
        );
        let router = router(state.clone());
        Ok(Application {
            listener,
            router,
            state,
            generated,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The first organization's secrets when this start generated them (shown once).
    pub fn generated_secrets(&self) -> Option<&GeneratedSecrets> {
        self.generated.as_ref()
    }

    /// Serves (the API and UI with the `api` role, the operations routes always), runs the poll
    /// scheduler (`poller` role, concurrency above 0) and the delivery worker (`delivery` role)
    /// until `shutdown` is cancelled, then lets in-flight requests, polls and sends finish.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let roles = self.state.settings.roles;
        let concurrency = self.state.settings.poll_concurrency;
        let scheduler = (roles.poller && concurrency > 0).then(|| {
            let scheduler = crate::scheduler::Scheduler::new(
                self.state.clone(),
                concurrency,
                self.state.settings.poll_lease,
            );
            tokio::spawn(scheduler.run(shutdown.clone(), std::time::Duration::from_secs(10)))
        });
        let deliverer = match self.state.settings.delivery_concurrency {
            0 => None,
            _ if !roles.delivery => None,
            n => crate::delivery::Deliverer::new(self.state.clone(), n)
                .map(|d| tokio::spawn(d.run(shutdown.clone())))
                .map_err(|e| tracing::error!(error = %e, "the delivery worker cannot start"))
                .ok(),
        };
        // Webhook sources: stored deliveries become events; subscriptions are kept true.
        let hooks = roles.poller.then(|| {
            let inbound =
                crate::hooks::Inbound::new(self.state.clone(), self.state.settings.poll_lease);
            let stop = shutdown.clone();
            let keeper_state = self.state.clone();
            let keeper_stop = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(keeper_state.settings.hooks_keep_interval) => {}
                        _ = keeper_stop.cancelled() => return,
                    }
                    crate::hooks::keep_all(&keeper_state).await;
                }
            });
            tokio::spawn(inbound.run(stop, std::time::Duration::from_secs(10)))
        });
        // Wake-ups from the other processes on this database (PostgreSQL's LISTEN), so their
        // new work starts here at once rather than at the next timer.
        match self.state.store.wake_ups().await {
            Ok(Some(mut wake_ups)) => {
                let (state, stop) = (self.state.clone(), shutdown.clone());
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            topic = wake_ups.recv() => match topic.as_deref() {
                                Some(tributary_store::WAKE_DELIVERY) => {
                                    state.delivery_nudge.notify_one();
                                }
                                Some(tributary_store::WAKE_SCHEDULER) => state.nudge.notify_one(),
                                Some(_) => {}
                                None => return,
                            },
                            _ = stop.cancelled() => return,
                        }
                    }
                });
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "no wake-ups from other processes; timers find their work");
            }
        }
        let limits = crate::listen::Limits {
            header_timeout: self.state.settings.header_timeout,
            max_connections: self.state.settings.max_connections,
        };
        let served = crate::listen::serve(self.listener, self.router, limits, shutdown).await;
        if let Some(scheduler) = scheduler {
            let _ = scheduler.await;
        }
        if let Some(deliverer) = deliverer {
            let _ = deliverer.await;
        }
        if let Some(hooks) = hooks {
            let _ = hooks.await;
        }
        served
    }
}

/// Every route, with the request context (ids, logs, error bodies) around them: the API and the
/// web UI with the `api` role, the operations routes always.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    let (documented, openapi) = api::documented().split_for_parts();
    // A worker-only node answers the operations routes alone (and still describes the API).
    let routes = if state.settings.roles.api {
        documented.merge(crate::ui::router())
    } else {
        api::health::router().split_for_parts().0
    };
    routes
        .layer(Extension(api::openapi::Document::new(&openapi)))
        .fallback(api::error::not_found)
        // Slightly above the limit, so the JSON extractor can name the limit itself.
        .layer(DefaultBodyLimit::max(limit + 1))
        .layer(from_fn_with_state(state.clone(), crate::ui::secure_cookies))
        // NUL in the path, the query or a form, refused before any handler (`api::nul`).
        .layer(from_fn_with_state(state.clone(), api::nul::refuse_nul))
        .layer(from_fn(api::error::request_context))
        .with_state(state)
}

/// Creates the first organization on an empty database, from the configured secrets or fresh
/// ones (returned so the caller can show them once). Several processes starting together on
/// one empty database create one organization between them (the store takes turns); the
/// others start normally (issue 16).
async fn bootstrap(
    store: &dyn Store,
    settings: &Settings,
    now_ms: i64,
) -> anyhow::Result<Option<GeneratedSecrets>> {
    if store.organization_count().await? > 0 {
        return Ok(None);
    }
    let (organization_secret, user_secret, generated) = match &settings.bootstrap {
        Some(b) => (b.organization_secret.clone(), b.user_secret.clone(), false),
        None => (
            SecretString::from(random_secret()),
            SecretString::from(random_secret()),
            true,
        ),
    };
    // Another process starting on the same empty database may create it first: then this one
    // starts normally, with nothing to show.
    let created = store
        .create_first_organization(NewOrganization {
            name: "default".into(),
            organization_secret_hash: hash_secret(organization_secret.expose_secret()),
            user_secret_hash: hash_secret(user_secret.expose_secret()),
            user: tributary_store::UserProfile::default(),
            now_ms,
        })
        .await?;
    if created.is_none() {
        tracing::info!("another process created the first organization");
        return Ok(None);
    }
    tracing::info!(generated, "created the first organization");
    Ok(generated.then_some(GeneratedSecrets {
        organization_secret,
        user_secret,
    }))
}
