//! The engine's state and its handle, [`Simulator`]: tenants and their records, OAuth grants,
//! budgets, faults, the request log, the clock offset, and the provider it serves.
//!
//! All of it sits behind one `std::sync::Mutex`. Every critical section is short and never
//! crosses an `.await` (providers make their own HTTP calls after the lock is released), so a
//! plain mutex is both simpler and faster than an async one here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use tributary_domain::Clock;

use crate::engine::faults::Fault;
use crate::engine::provider::{Admission, AuthFailure, GrantedScope, Provider};
use crate::engine::records::{Action, Change, Deactivation, Deleted, Row, Table, Tenant};
use crate::engine::settings::Settings;
use crate::engine::throttle::{Budget, Holds};

/// A running simulator's shared core, whatever the provider. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Simulator {
    pub(crate) shared: Arc<Shared>,
}

/// How a provider serves: its whole router over the engine, and its background tasks. (Kept
/// apart from [`Provider`] so that the hooks never need to name [`Simulator`].)
pub(crate) trait Serve: Send + Sync + std::fmt::Debug + 'static {
    /// Every route: the provider's, the engine's OAuth and control routes, the fallback.
    fn router(self: Arc<Self>, sim: &Simulator) -> Router;

    /// Starts the provider's background tasks (they stop on [`Simulator::shutdown`]).
    fn spawn_background(self: Arc<Self>, _sim: &Simulator) {}
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    state: Mutex<State>,
    pub provider: Arc<dyn Provider>,
    pub serve: Arc<dyn Serve>,
    /// Cancelled when the simulator stops; background tasks watch it.
    pub shutdown: CancellationToken,
    /// `http://host:port` of the listener, once bound.
    pub origin: OnceLock<String>,
}

/// Who a code or token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub client_id: String,
    pub tenant: usize,
    pub expires_ms: i64,
    /// For authorization codes: the redirect URI they were issued for.
    pub redirect_uri: Option<String>,
    pub scope: GrantedScope,
}

/// The caller of an API request, once its token checked out.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub client_id: String,
    pub tenant: usize,
}

/// One line of `GET /_sim/requests`.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub seq: u64,
    /// Start of the request, ISO-8601 on the simulator's base clock.
    pub time: String,
    pub started_ms: i64,
    pub finished_ms: i64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// The bearer token or API key the request carried, if any.
    pub token: Option<String>,
    pub client_id: Option<String>,
    pub tenant: Option<String>,
    pub status: u16,
    /// The injected fault this request met, if any.
    pub fault: Option<String>,
}

/// The activity generator's settings and progress.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Activity {
    pub rate: f64,
    pub resources: Vec<&'static str>,
    pub changes: u64,
    #[serde(skip)]
    pub stop: CancellationToken,
}

#[derive(Debug)]
pub(crate) struct State {
    pub tenants: Vec<Tenant>,
    pub codes: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub app_budgets: HashMap<String, Budget>,
    pub faults: Vec<Fault>,
    pub requests: VecDeque<RequestRecord>,
    pub next_request: u64,
    pub offset_ms: i64,
    pub rng: StdRng,
    pub activity: Option<Activity>,
    /// Requests held in flight on purpose (`/_sim/hold`).
    pub holds: Holds,
}

impl Simulator {
    /// A simulator of `provider`, reading time from `clock`; seeds its tenants' records.
    pub(crate) fn with_provider(
        settings: Settings,
        provider: Arc<dyn Provider>,
        serve: Arc<dyn Serve>,
        clock: Arc<dyn Clock>,
    ) -> Simulator {
        let now = clock.now_ms();
        let mut rng = StdRng::seed_from_u64(settings.random_seed);
        let tenants = (0..settings.tenants.max(1))
            .map(|index| {
                let mut tenant = Tenant {
                    name: provider.tenant_name(index),
                    tables: provider
                        .resources()
                        .iter()
                        .map(|resource| (*resource, Table::default()))
                        .collect::<BTreeMap<_, _>>(),
                    budget: Budget::new(settings.tenant_budget),
                    in_flight: 0,
                };
                provider.seed(&mut tenant, &mut rng, now);
                tenant
            })
            .collect();
        let state = State {
            tenants,
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            app_budgets: HashMap::new(),
            faults: Vec::new(),
            requests: VecDeque::new(),
            next_request: 1,
            offset_ms: 0,
            rng,
            activity: None,
            holds: Holds::default(),
        };
        Simulator {
            shared: Arc::new(Shared {
                settings,
                clock,
                state: Mutex::new(state),
                provider,
                serve,
                shutdown: CancellationToken::new(),
                origin: OnceLock::new(),
            }),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters for a test double, so a poisoned lock is simply taken over.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    pub(crate) fn provider(&self) -> &dyn Provider {
        self.shared.provider.as_ref()
    }

    /// Every route of this simulator, ready to serve.
    pub fn router(&self) -> Router {
        self.shared.serve.clone().router(self)
    }

    /// The base clock (Tributary's time): request log times, budgets, token expiry.
    pub(crate) fn base_now(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    /// The provider's clock: base clock plus the offset set through `/_sim/clock`. Record dates
    /// are stamped with it.
    pub(crate) fn provider_now(&self, state: &State) -> i64 {
        self.shared.clock.now_ms() + state.offset_ms
    }

    /// The simulator's origin (`http://127.0.0.1:PORT`) once it listens.
    pub(crate) fn origin(&self) -> String {
        self.shared
            .origin
            .get()
            .cloned()
            .or_else(|| self.settings().public_origin.clone())
            .unwrap_or_else(|| "http://127.0.0.1".to_owned())
    }

    /// The tenant named `name` (or given by its index, `0`, `1`, …).
    pub(crate) fn tenant_index(&self, name: &str) -> Option<usize> {
        let state = self.state();
        state
            .tenants
            .iter()
            .enumerate()
            .find(|(index, tenant)| tenant.name == name || index.to_string() == name)
            .map(|(index, _)| index)
    }

    /// The name of tenant `index`.
    pub(crate) fn tenant_name(&self, index: usize) -> String {
        self.provider().tenant_name(index)
    }

    /// Asks every background task to stop.
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    /// Creates a record stamped `now`; tells the provider.
    pub(crate) fn create(
        &self,
        state: &mut State,
        tenant: usize,
        resource: &'static str,
        fields: Map<String, Value>,
        now: i64,
    ) -> Option<Row> {
        let table = state.tenants.get_mut(tenant)?.tables.get_mut(resource)?;
        table.next_id += 1;
        table.creates += 1;
        let row = Row {
            id: table.next_id,
            created_ms: now,
            updated_ms: now,
            versions: 1,
            fields,
        };
        table.rows.insert(row.id, row.clone());
        self.changed(tenant, resource, Action::Add, row.id, now);
        Some(row)
    }

    /// Merges `patch` into a record's fields and bumps its updated time to `now`.
    pub(crate) fn update(
        &self,
        state: &mut State,
        tenant: usize,
        resource: &'static str,
        id: i64,
        patch: Map<String, Value>,
        now: i64,
    ) -> Option<Row> {
        let table = state.tenants.get_mut(tenant)?.tables.get_mut(resource)?;
        let row = table.rows.get_mut(&id)?;
        for (key, value) in patch {
            row.fields.insert(key, value);
        }
        row.updated_ms = now;
        row.versions += 1;
        let row = row.clone();
        table.updates += 1;
        self.changed(tenant, resource, Action::Edit, id, now);
        Some(row)
    }

    /// Deletes a record, keeping it in the table's deletions; `false` when there was none.
    pub(crate) fn delete(
        &self,
        state: &mut State,
        tenant: usize,
        resource: &'static str,
        id: i64,
        now: i64,
    ) -> bool {
        let Some(table) = state
            .tenants
            .get_mut(tenant)
            .and_then(|t| t.tables.get_mut(resource))
        else {
            return false;
        };
        let Some(row) = table.rows.remove(&id) else {
            return false;
        };
        table.deleted.push(Deleted {
            id,
            deleted_ms: now,
            row,
        });
        self.changed(tenant, resource, Action::Delete, id, now);
        true
    }

    /// Soft-deletes a record: applies the provider's deactivation `patch` as an update and keeps
    /// the time among the table's deactivations.
    pub(crate) fn deactivate(
        &self,
        state: &mut State,
        tenant: usize,
        resource: &'static str,
        id: i64,
        patch: Map<String, Value>,
        now: i64,
    ) -> Option<Row> {
        let row = self.update(state, tenant, resource, id, patch, now)?;
        let table = state.tenants.get_mut(tenant)?.tables.get_mut(resource)?;
        table.deactivated.push(Deactivation {
            id,
            deactivated_ms: now,
        });
        Some(row)
    }

    fn changed(&self, tenant: usize, resource: &'static str, action: Action, id: i64, at_ms: i64) {
        self.provider().on_change(&Change {
            tenant,
            resource,
            action,
            id,
            at_ms,
        });
    }
}

impl State {
    /// A random token of 28 letters and digits.
    pub fn random_token(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..28)
            .map(|_| char::from(ALPHABET[self.rng.random_range(0..ALPHABET.len())]))
            .collect()
    }

    pub fn row(&self, tenant: usize, resource: &str, id: i64) -> Option<&Row> {
        self.tenants
            .get(tenant)?
            .tables
            .get(resource)?
            .rows
            .get(&id)
    }

    /// Checks an access token at base time `now`; with sliding sessions, a good token's expiry
    /// moves to now + the lifetime.
    pub fn authenticate(
        &mut self,
        token: &str,
        now: i64,
        settings: &Settings,
    ) -> Result<Caller, AuthFailure> {
        match self.access_tokens.get_mut(token) {
            None => Err(AuthFailure::Invalid),
            Some(grant) if grant.expires_ms <= now => Err(AuthFailure::Expired),
            Some(grant) => {
                if settings.sliding_access {
                    grant.expires_ms = now.saturating_add(settings.access_ttl_ms);
                }
                Ok(Caller {
                    client_id: grant.client_id.clone(),
                    tenant: grant.tenant,
                })
            }
        }
    }

    /// Admits a request against the app's (if any) and the tenant's budgets, or says how long
    /// to wait.
    pub fn admit(
        &mut self,
        caller: &Caller,
        settings: &Settings,
        now: i64,
    ) -> Result<Admission, Admission> {
        let mut app = settings.app_budget.map(|spec| {
            self.app_budgets
                .entry(caller.client_id.clone())
                .or_insert_with(|| Budget::new(spec))
        });
        let app_wait = app.as_mut().map_or(0, |budget| budget.wait_ms(now));
        let Some(tenant) = self.tenants.get_mut(caller.tenant) else {
            // Grants only name tenants that exist; refuse rather than panic if one did not.
            let mut orphan = Budget::new(settings.tenant_budget);
            return Err(Admission {
                app: app.map(|budget| budget.usage(now)),
                tenant: orphan.usage(now),
                wait_ms: 0,
            });
        };
        let wait_ms = app_wait.max(tenant.budget.wait_ms(now));
        if wait_ms == 0 {
            if let Some(budget) = app.as_mut() {
                budget.admit(now);
            }
            tenant.budget.admit(now);
        }
        let admission = Admission {
            app: app.map(|budget| budget.usage(now)),
            tenant: tenant.budget.usage(now),
            wait_ms,
        };
        if wait_ms > 0 {
            Err(admission)
        } else {
            Ok(admission)
        }
    }

    /// Appends to the request log, dropping the oldest line past `capacity`.
    pub fn log_request(&mut self, mut record: RequestRecord, capacity: usize) {
        record.seq = self.next_request;
        self.next_request += 1;
        if self.requests.len() >= capacity.max(1) {
            self.requests.pop_front();
        }
        self.requests.push_back(record);
    }
}
