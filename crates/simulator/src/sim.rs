//! The simulator's state: tenants and their records, OAuth grants, budgets, faults, the request
//! log, and the clock offset.
//!
//! All of it sits behind one `std::sync::Mutex`. Every critical section is short and never
//! crosses an `.await` (HTTP calls for hooks are made after the lock is released), so a plain
//! mutex is both simpler and faster than an async one here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_domain::Clock;

use crate::config::Config;
use crate::faults::Fault;
use crate::hooks::{Hook, HookStatus, Outbox};
use crate::resources::{Kind, Row};
use crate::seed::{self, ContactRef};
use crate::throttle::{Budget, Usage};

/// A running simulator's shared core. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Simulator {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Wakes the hook delivery worker when a batch is queued.
    pub hook_wake: Notify,
    pub http: reqwest::Client,
    /// Cancelled when the simulator stops; background tasks watch it.
    pub shutdown: CancellationToken,
    /// `http://host:port` of the listener, once bound; used in hook payloads' `apiUrl`.
    pub origin: OnceLock<String>,
}

/// Who an access token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub client_id: String,
    pub tenant: usize,
    pub expires_ms: i64,
    /// For authorization codes: the redirect URI they were issued for.
    pub redirect_uri: Option<String>,
}

/// The caller of an API request, once its token checked out.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub client_id: String,
    pub tenant: usize,
}

#[derive(Debug)]
pub(crate) struct Tenant {
    pub name: String,
    pub tables: BTreeMap<Kind, Table>,
    pub hooks: BTreeMap<String, Hook>,
    pub budget: Budget,
    pub next_hook: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Table {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
    pub deleted: Vec<Deleted>,
    pub creates: u64,
    pub updates: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Deleted {
    pub id: i64,
    pub deleted_ms: i64,
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
    pub resources: Vec<Kind>,
    pub changes: u64,
    #[serde(skip)]
    pub stop: CancellationToken,
}

/// What a change did, for hooks and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Add,
    Edit,
    Delete,
}

impl Action {
    fn hook_suffix(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Edit => "edit",
            Action::Delete => "delete",
        }
    }
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
    pub outbox: Outbox,
}

impl Simulator {
    /// A simulator with `config`, reading time from `clock`. Seeds its tenants' records.
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Simulator {
        let now = clock.now_ms();
        let mut rng = StdRng::seed_from_u64(config.random_seed);
        let tenants = (0..config.tenants.max(1))
            .map(|index| {
                let mut tenant = Tenant {
                    name: tenant_name(index),
                    tables: Kind::ALL.iter().map(|k| (*k, Table::default())).collect(),
                    hooks: BTreeMap::new(),
                    budget: Budget::with_window(
                        config.tenant_throttle_per_minute,
                        config.tenant_quota_per_day,
                        config.throttle_window_ms,
                    ),
                    next_hook: 1,
                };
                seed_tenant(&mut tenant, &mut rng, config.seed, now);
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
            outbox: Outbox::new(config.hook_time_scale),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Simulator {
            shared: Arc::new(Shared {
                config,
                clock,
                state: Mutex::new(state),
                hook_wake: Notify::new(),
                http,
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

    pub(crate) fn config(&self) -> &Config {
        &self.shared.config
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
            .or_else(|| self.config().public_origin.clone())
            .unwrap_or_else(|| "http://127.0.0.1".to_owned())
    }

    /// Asks every background task to stop.
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }
}

/// `ab123.infusionsoft.com`, `ab124.infusionsoft.com`, …
pub(crate) fn tenant_name(index: usize) -> String {
    format!("ab{}.infusionsoft.com", 123 + index)
}

fn seed_tenant(tenant: &mut Tenant, rng: &mut StdRng, seed: usize, now: i64) {
    const DAY_MS: i64 = 86_400_000;
    let mut contacts: Vec<ContactRef> = Vec::new();
    for (kind, count) in seed::seed_plan(seed) {
        for _ in 0..count {
            // Created some time in the last 30 days; some edited since.
            let created = now - rng.random_range(DAY_MS..30 * DAY_MS);
            let updated = if rng.random_bool(0.4) {
                created + rng.random_range(0..(now - created).max(1))
            } else {
                created
            };
            let contact = if contacts.is_empty() {
                None
            } else {
                contacts.get(rng.random_range(0..contacts.len())).cloned()
            };
            let fields = seed::new_fields(kind, rng, contact.as_ref(), created);
            let table = tenant.tables.entry(kind).or_default();
            table.next_id += 1;
            let row = Row {
                id: table.next_id,
                created_ms: created,
                updated_ms: updated,
                versions: 1,
                fields,
            };
            if kind == Kind::Contacts {
                contacts.push(contact_ref(&row));
            }
            table.rows.insert(row.id, row);
        }
    }
}

pub(crate) fn contact_ref(row: &Row) -> ContactRef {
    let text = |key: &str| {
        row.fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    ContactRef {
        id: row.id,
        given: text("given_name"),
        family: text("family_name"),
        email: row
            .fields
            .get("email_addresses")
            .and_then(|emails| emails.pointer("/0/email"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
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

    /// Creates a record stamped `now`; queues hook events.
    pub fn create(
        &mut self,
        tenant: usize,
        kind: Kind,
        fields: Map<String, Value>,
        now: i64,
    ) -> Option<Row> {
        let table = self.tenants.get_mut(tenant)?.tables.get_mut(&kind)?;
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
        self.changed(tenant, kind, Action::Add, row.id, now);
        Some(row)
    }

    /// Merges `patch` into a record's fields and bumps its updated time to `now`.
    pub fn update(
        &mut self,
        tenant: usize,
        kind: Kind,
        id: i64,
        patch: Map<String, Value>,
        now: i64,
    ) -> Option<Row> {
        let table = self.tenants.get_mut(tenant)?.tables.get_mut(&kind)?;
        let row = table.rows.get_mut(&id)?;
        for (key, value) in patch {
            row.fields.insert(key, value);
        }
        row.updated_ms = now;
        row.versions += 1;
        let row = row.clone();
        table.updates += 1;
        self.changed(tenant, kind, Action::Edit, id, now);
        Some(row)
    }

    /// Deletes a record; `false` when there was none.
    pub fn delete(&mut self, tenant: usize, kind: Kind, id: i64, now: i64) -> bool {
        let Some(table) = self
            .tenants
            .get_mut(tenant)
            .and_then(|t| t.tables.get_mut(&kind))
        else {
            return false;
        };
        if table.rows.remove(&id).is_none() {
            return false;
        }
        table.deleted.push(Deleted {
            id,
            deleted_ms: now,
        });
        self.changed(tenant, kind, Action::Delete, id, now);
        true
    }

    pub fn row(&self, tenant: usize, kind: Kind, id: i64) -> Option<&Row> {
        self.tenants.get(tenant)?.tables.get(&kind)?.rows.get(&id)
    }

    /// Queues a REST hook delivery for every verified subscription to this change's event key.
    fn changed(&mut self, tenant: usize, kind: Kind, action: Action, id: i64, now: i64) {
        let Some(object) = kind.hook_object() else {
            return;
        };
        let event_key = format!("{object}.{}", action.hook_suffix());
        let Some(t) = self.tenants.get(tenant) else {
            return;
        };
        let keys: Vec<String> = t
            .hooks
            .values()
            .filter(|hook| hook.status == HookStatus::Verified && hook.event_key == event_key)
            .map(|hook| hook.key.clone())
            .collect();
        for key in keys {
            let delay = self.outbox.first_delay(&mut self.rng);
            self.outbox
                .push(tenant, &key, &event_key, object, kind, id, now, delay);
        }
    }

    /// Checks an access token (or API key) at base time `now`.
    pub fn authenticate(&self, token: &str, now: i64) -> Result<Caller, AuthFailure> {
        match self.access_tokens.get(token) {
            None => Err(AuthFailure::Invalid),
            Some(grant) if grant.expires_ms <= now => Err(AuthFailure::Expired),
            Some(grant) => Ok(Caller {
                client_id: grant.client_id.clone(),
                tenant: grant.tenant,
            }),
        }
    }

    /// Admits a request against the app's and the tenant's budgets, or says how long to wait.
    pub fn admit(
        &mut self,
        caller: &Caller,
        config: &Config,
        now: i64,
    ) -> Result<(Usage, Usage), (Usage, Usage, i64)> {
        let app = self
            .app_budgets
            .entry(caller.client_id.clone())
            .or_insert_with(|| {
                Budget::with_window(
                    config.throttle_per_minute,
                    config.quota_per_day,
                    config.throttle_window_ms,
                )
            });
        let app_wait = app.wait_ms(now);
        let tenant_budget = match self.tenants.get_mut(caller.tenant) {
            Some(tenant) => &mut tenant.budget,
            None => return Err((app.usage(now), app.usage(now), 0)),
        };
        let wait = app_wait.max(tenant_budget.wait_ms(now));
        if wait > 0 {
            return Err((app.usage(now), tenant_budget.usage(now), wait));
        }
        app.admit(now);
        tenant_budget.admit(now);
        Ok((app.usage(now), tenant_budget.usage(now)))
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

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    Missing,
    Invalid,
    Expired,
}
