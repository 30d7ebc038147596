//! Tributary's storage layer.
//!
//! The [`Store`] trait is the whole contract between the application and its database, with two
//! implementations that behave the same (one contract test suite runs against both):
//! [`sqlite::SqliteStore`], the embedded default, one file for one process; and
//! [`postgres::PostgresStore`], one database shared by several processes. What keeps them
//! interchangeable:
//! - every time is epoch milliseconds passed in by the caller from its injected clock;
//!   no query reads the database's own clock;
//! - secrets arrive already hashed or sealed: the store never sees a plain secret;
//! - concurrency is explicit data (an instance's `version`, a claim's lease), not a held
//!   transaction: a claim is a lease, and a guarded write says which version it read;
//! - no behaviour depends on a backend's quirks (uniqueness comes from constraints; JSON is
//!   stored as text and read by the application).
//!
//! The backend is chosen by the database URL's scheme ([`open`]); each has its own migrations
//! ([`migrate`]).

pub mod migrate;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

/// Storage failures. Callers map `Unavailable` to 503 and the rest to an opaque 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL {0:?}: expected sqlite://PATH, sqlite::memory: or \
         postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )]
    UnsupportedUrl(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("a migration failed: {0}")]
    Migration(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(error.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A new organization with its first user.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub organization_secret_hash: Vec<u8>,
    pub user_secret_hash: Vec<u8>,
    pub now_ms: i64,
}

/// Who is calling: an organization and one of its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub organization_id: i64,
    pub user_id: i64,
}

/// A configuration value as stored.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredValue {
    Plain(String),
    /// Ciphertext of a secret value (the application seals and opens it).
    Sealed(Vec<u8>),
}

impl std::fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredValue::Plain(value) => f.debug_tuple("Plain").field(value).finish(),
            StoredValue::Sealed(bytes) => write!(f, "Sealed({} bytes)", bytes.len()),
        }
    }
}

/// One configuration entry with its stable id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub id: i64,
    pub key: String,
    pub value: StoredValue,
}

/// An instance as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    pub id: i64,
    pub organization_id: i64,
    pub user_id: i64,
    pub element_key: String,
    pub name: String,
    pub tags: Vec<String>,
    /// Entries in key order.
    pub configuration: Vec<ConfigEntry>,
    /// Sealed provider credentials.
    pub credentials: Option<Vec<u8>>,
    pub valid: bool,
    pub invalid_reason: Option<String>,
    pub disabled: bool,
    pub events_enabled: bool,
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl InstanceRecord {
    pub fn entry(&self, key: &str) -> Option<&ConfigEntry> {
        self.configuration.iter().find(|e| e.key == key)
    }
}

/// What an instance is made of, for inserts and full updates.
#[derive(Debug, Clone)]
pub struct InstanceData {
    pub name: String,
    pub tags: Vec<String>,
    /// The whole configuration: keys not listed are removed on update.
    pub configuration: Vec<(String, StoredValue)>,
    pub credentials: Option<Vec<u8>>,
    pub valid: bool,
    pub invalid_reason: Option<String>,
    pub disabled: bool,
    pub events_enabled: bool,
}

/// A new instance.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub principal: Principal,
    pub element_key: String,
    pub token_hash: Vec<u8>,
    pub data: InstanceData,
    pub now_ms: i64,
}

/// The result of an update guarded by the version the writer read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    Done(Box<InstanceRecord>),
    NotFound,
    /// Someone else updated the instance since `expected_version` was read.
    Conflict,
}

/// A poller as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerRecord {
    pub instance_id: i64,
    pub resource: String,
    pub enabled_ms: i64,
    pub cursor_ms: Option<i64>,
    /// JSON object of the dedupe memory.
    pub seen: String,
    pub next_due_ms: i64,
    pub failures: i64,
    pub last_error: Option<String>,
    pub last_poll_ms: Option<i64>,
    pub last_summary: Option<String>,
    pub events_emitted: i64,
    pub version: i64,
}

/// An event to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: String,
    pub object_id: String,
    pub event_type: String,
    pub date_ms: i64,
    pub poll_date_ms: i64,
    pub date_error: Option<String>,
    /// The record, as JSON text.
    pub record: String,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub id: i64,
    pub event_id: String,
    pub instance_id: i64,
    pub resource: String,
    pub object_id: String,
    pub event_type: String,
    pub date_ms: i64,
    pub poll_date_ms: i64,
    pub date_error: Option<String>,
    pub record: String,
    pub status: String,
    /// The notification that carries it, once queued.
    pub notification_id: Option<String>,
}

/// Which events a listing wants (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this instance's events; `None`: every instance of the organization.
    pub instance_id: Option<i64>,
    pub status: Option<String>,
    pub resource: Option<String>,
    pub event_type: Option<String>,
    /// Events stored at or after this time (epoch ms).
    pub from_ms: Option<i64>,
    /// Events stored before this time (epoch ms).
    pub to_ms: Option<i64>,
    /// Rows after this one (paging).
    pub after_id: i64,
    pub limit: i64,
    /// The newest `limit` events, newest first (a log view), instead of oldest first after
    /// `after_id` (paging through everything).
    pub newest_first: bool,
}

/// A successful poll, written in one transaction.
#[derive(Debug, Clone)]
pub struct PollCommit {
    pub instance_id: i64,
    pub resource: String,
    /// The poller version the poll started from: a concurrent poll makes this one a conflict.
    pub expected_version: i64,
    pub events: Vec<NewEvent>,
    pub cursor_ms: i64,
    pub seen: String,
    pub summary: String,
    pub next_due_ms: i64,
    pub now_ms: i64,
}

/// What a poll commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Stored, with this many new events (repeats of stored event ids are not counted).
    Done { inserted: u64 },
    /// Another poll of the same poller committed first; nothing was written.
    Conflict,
}

/// A notification to queue: built from `event_ids`, body bytes final.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: String,
    pub instance_id: i64,
    pub resource: String,
    pub callback_url: String,
    pub body: Vec<u8>,
    pub event_ids: Vec<String>,
}

/// Events were stored, or notifications queued again: delivery workers should look.
pub const WAKE_DELIVERY: &str = "delivery";
/// Pollers changed (an instance created, changed or deleted): schedulers should look.
pub const WAKE_SCHEDULER: &str = "scheduler";

/// How many notifications a claim may take per callback URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackCaps {
    /// URLs with their own cap (those whose receivers are busy).
    pub per_url: std::collections::BTreeMap<String, i64>,
    /// The cap of every other URL.
    pub default: i64,
}

impl CallbackCaps {
    /// No cap at all.
    pub fn none() -> CallbackCaps {
        CallbackCaps {
            per_url: std::collections::BTreeMap::new(),
            default: i64::MAX,
        }
    }
}

/// A web UI session to store.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: Vec<u8>,
    pub principal: Principal,
    pub csrf: String,
    pub now_ms: i64,
    pub expires_ms: i64,
}

/// A live web UI session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    pub expires_ms: i64,
}

/// A notification claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: String,
    pub instance_id: i64,
    pub resource: String,
    pub callback_url: String,
    pub body: Vec<u8>,
    pub status: String,
    pub attempts: i64,
    /// The instance's version when claimed, so a sender can reuse what it knows of it (the
    /// signing key) until the instance changes.
    pub instance_version: i64,
}

/// One delivery attempt and what follows from it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub notification_id: String,
    /// Where it was sent (a 410 stops this URL, even if the instance's URL changed meanwhile).
    pub url: String,
    pub at_ms: i64,
    pub status_code: Option<u16>,
    pub duration_ms: i64,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
}

/// Where a notification goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(i64),
    Failed,
    /// Failed with 410 Gone: delivery to the notification's URL stops (same transaction) until
    /// the instance's URL changes or the user resumes it.
    Gone,
}

/// The storage contract. Every method is scoped by organization where the data is tenant data:
/// another organization's instance is simply not found.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;

    /// Tells the other processes on this database that work appeared (`topic` is
    /// [`WAKE_DELIVERY`] or [`WAKE_SCHEDULER`]). PostgreSQL: `NOTIFY`; SQLite: nothing (one
    /// process, and the other processes' timers find the work).
    async fn wake_others(&self, topic: &str) -> Result<()>;

    /// Wake-ups from the other processes, as their topics; `None` where the backend has none.
    /// PostgreSQL: a `LISTEN` connection, reconnected when it drops.
    async fn wake_ups(&self) -> Result<Option<tokio::sync::mpsc::Receiver<String>>>;

    /// The newest migration the database has applied, and how many this binary knows.
    async fn schema_version(&self) -> Result<(i64, i64)>;

    async fn organization_count(&self) -> Result<u64>;

    /// Creates an organization and its first user.
    async fn create_organization(&self, new: NewOrganization) -> Result<Principal>;

    /// The principal whose organization and user secrets hash to these values, if the user
    /// belongs to that organization.
    async fn principal(
        &self,
        organization_secret_hash: &[u8],
        user_secret_hash: &[u8],
    ) -> Result<Option<Principal>>;

    /// Starts a web UI session: its token (hashed), who it is, its CSRF token and its end.
    async fn create_session(&self, session: NewSession) -> Result<()>;

    /// The live session whose token hashes to this at `now_ms` (expired ones are not found).
    async fn session(&self, token_hash: &[u8], now_ms: i64) -> Result<Option<Session>>;

    /// Ends a session (sign-out), and every session that expired before `now_ms`.
    async fn end_session(&self, token_hash: &[u8], now_ms: i64) -> Result<()>;

    /// Keeps a sealed new-instance form while the browser visits the consent page.
    async fn put_connect(
        &self,
        state_hash: &[u8],
        session_hash: &[u8],
        sealed_form: Vec<u8>,
        expires_ms: i64,
    ) -> Result<()>;

    /// Takes (and deletes) the form a consent's `state` names, if this session started it and it
    /// has not expired; expired forms are deleted too.
    async fn take_connect(
        &self,
        state_hash: &[u8],
        session_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<Vec<u8>>>;

    /// The principal of a user secret alone (hub calls name the user and the instance token).
    async fn principal_of_user(&self, user_secret_hash: &[u8]) -> Result<Option<Principal>>;

    /// The instance an instance token (hashed) belongs to, in any organization.
    async fn instance_by_token(&self, token_hash: &[u8]) -> Result<Option<InstanceRecord>>;

    /// Stores rotated provider credentials. Does not bump the version: a refresh is not an
    /// edit and must not make a concurrent user edit fail.
    async fn store_credentials(&self, id: i64, sealed: Vec<u8>, now_ms: i64) -> Result<()>;

    /// Marks an instance's authorization dead, with the reason users will see.
    async fn mark_invalid(&self, id: i64, reason: &str, now_ms: i64) -> Result<()>;

    async fn insert_instance(&self, new: NewInstance) -> Result<InstanceRecord>;

    /// Makes the instance's pollers exactly `resources`: adds the missing ones (enabled now,
    /// first due at `first_due_ms(resource)`), removes the others with their state.
    async fn sync_pollers(
        &self,
        instance_id: i64,
        resources: &[(String, i64)],
        now_ms: i64,
    ) -> Result<()>;

    async fn pollers(&self, instance_id: i64) -> Result<Vec<PollerRecord>>;

    /// Takes one poller's lease for a poll on request ("poll now"), due or not: its record when
    /// the lease was free, `None` when another worker holds it (it is being polled).
    async fn claim_poller(
        &self,
        instance_id: i64,
        resource: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<PollerRecord>>;

    async fn poller(&self, instance_id: i64, resource: &str) -> Result<Option<PollerRecord>>;

    /// Writes a poll's events, cursor, memory and summary, or nothing on a version conflict.
    async fn commit_poll(&self, commit: PollCommit) -> Result<Committed>;

    /// Records a failed poll (the cursor stays; the next poll repeats the window).
    async fn record_poll_failure(
        &self,
        instance_id: i64,
        resource: &str,
        error: &str,
        next_due_ms: i64,
        now_ms: i64,
    ) -> Result<()>;

    /// Claims up to `limit` due pollers whose lease is free or expired, leasing them to `owner`
    /// until `now_ms + lease_ms`; returns (instance id, resource) of each, soonest due first.
    /// Workers claiming at once (in any process) never claim the same poller.
    async fn claim_due_pollers(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>>;

    /// Gives a lease back without polling (the poller was skipped).
    async fn release_poller(
        &self,
        instance_id: i64,
        resource: &str,
        next_due_ms: i64,
    ) -> Result<()>;

    /// The earliest due time among pollers not leased (or whose lease expired at `now_ms`).
    async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>>;

    /// Makes every poller due at `due_ms` (benchmarks and operators: "poll everything now");
    /// returns how many. Leases are left alone.
    async fn set_all_pollers_due(&self, due_ms: i64) -> Result<u64>;

    /// How many pollers have polled (successfully or not) at or after `since_ms`.
    async fn count_polled_since(&self, since_ms: i64) -> Result<u64>;

    /// An instance by id alone, for workers (API calls use [`Store::instance`]).
    async fn instance_by_id(&self, id: i64) -> Result<Option<InstanceRecord>>;

    /// Events that no notification carries yet, oldest first.
    async fn unnotified_events(&self, limit: i64) -> Result<Vec<EventRecord>>;

    /// Stores notifications and marks their events QUEUED with the notification's id, in one
    /// transaction (a notification id seen before is skipped).
    async fn queue_notifications(
        &self,
        notifications: Vec<NewNotification>,
        now_ms: i64,
    ) -> Result<()>;

    /// Claims up to `limit` QUEUED notifications due at `now_ms` whose lease is free, soonest
    /// due first. Workers claiming at once (in any process) never claim the same notification.
    async fn claim_due_notifications(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>> {
        self.claim_due_notifications_capped(owner, now_ms, lease_ms, limit, &CallbackCaps::none())
            .await
    }

    /// As [`Store::claim_due_notifications`], taking at most `caps` notifications per callback
    /// URL (soonest due first), so a worker never claims what a busy receiver cannot take yet.
    /// A URL capped at 0 is skipped, and the notifications behind it are reached.
    async fn claim_due_notifications_capped(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        caps: &CallbackCaps,
    ) -> Result<Vec<NotificationRecord>>;

    /// Deletes delivered and failed notifications (with their attempts) and their events stored
    /// before `before_ms`; events still waiting are kept. Returns how many events went.
    async fn prune(&self, before_ms: i64) -> Result<u64>;

    /// The exact bytes a notification sends (its signed body).
    async fn notification_body(&self, notification_id: &str) -> Result<Option<Vec<u8>>>;

    /// How many notifications wait to be sent (QUEUED).
    async fn queued_notifications(&self) -> Result<i64>;

    /// The notifications claimed by a worker and not yet settled at `now_ms` (a lease that has
    /// not ended): the sends in flight, across every process on the database.
    async fn in_flight_notifications(&self, now_ms: i64) -> Result<Vec<String>>;

    /// Resumes delivery to every stopped URL of an instance; returns how many were stopped.
    async fn resume_callbacks(&self, instance_id: i64) -> Result<u64>;

    /// Gives a claimed notification back unsent, due again at `at_ms` (not an attempt).
    async fn defer_notification(&self, notification_id: &str, at_ms: i64) -> Result<()>;

    /// Records an attempt and moves the notification (and its events) on.
    async fn record_attempt(&self, attempt: AttemptRecord) -> Result<()> {
        self.record_attempts(vec![attempt]).await
    }

    /// Records several attempts in one transaction (a sender's group commit): all or none.
    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> Result<()>;

    /// A notification's attempts: (at, status code, duration, excerpt, error), oldest first.
    async fn attempts(
        &self,
        notification_id: &str,
    ) -> Result<Vec<(i64, Option<i64>, i64, Option<String>, Option<String>)>>;

    /// An organization's events matching `filter`, oldest first.
    async fn find_events(
        &self,
        organization_id: i64,
        filter: &EventFilter,
    ) -> Result<Vec<EventRecord>>;

    /// One event of an organization by its event id.
    async fn event(&self, organization_id: i64, event_id: &str) -> Result<Option<EventRecord>>;

    /// Queues a notification again now, with a fresh retry schedule (redelivery).
    async fn requeue_notification(&self, notification_id: &str, now_ms: i64) -> Result<bool>;

    /// Queues again every `FAILED` notification of an instance created at or after `since_ms`;
    /// returns how many.
    async fn requeue_failed(&self, instance_id: i64, since_ms: i64, now_ms: i64) -> Result<u64>;

    /// An instance's events, oldest first, after the given row id.
    async fn events(&self, instance_id: i64, after_id: i64, limit: i64)
    -> Result<Vec<EventRecord>>;

    async fn instance(&self, organization_id: i64, id: i64) -> Result<Option<InstanceRecord>>;

    /// Every instance of an organization, by id.
    async fn instances(&self, organization_id: i64) -> Result<Vec<InstanceRecord>>;

    /// Replaces an instance's data if it is still at `expected_version`.
    async fn update_instance(
        &self,
        organization_id: i64,
        id: i64,
        expected_version: i64,
        data: InstanceData,
        now_ms: i64,
    ) -> Result<Updated>;

    /// Deletes an instance and its configuration; `false` when there was none.
    async fn delete_instance(&self, organization_id: i64, id: i64) -> Result<bool>;
}

/// Opens (creating and migrating if needed) the store a database URL names: `sqlite://PATH`
/// or `sqlite::memory:` for SQLite, `postgres://…` or `postgresql://…` for PostgreSQL (whose
/// database must exist; its tables are created).
pub async fn open(url: &str, now_ms: i64) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::open(url, now_ms).await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PostgresStore::open(url, now_ms).await?;
        Ok(Arc::new(store))
    } else {
        Err(StoreError::UnsupportedUrl(without_password(url)))
    }
}

/// A database URL fit for an error message: its password (`scheme://user:PASSWORD@host`)
/// replaced with `***`.
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let Some((user, _)) = userinfo.split_once(':') else {
        return url.to_owned();
    };
    format!("{scheme}://{user}:***{}", &rest[userinfo.len()..])
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn a_url_in_an_error_message_shows_no_password() {
        for (url, shown) in [
            (
                "postgres://me:s3cret@db:5432/x?sslmode=disable",
                "postgres://me:***@db:5432/x?sslmode=disable",
            ),
            ("mysql://me:p@ss@host/x", "mysql://me:***@host/x"),
            ("postgres://me@db/x", "postgres://me@db/x"),
            ("postgres://db/x?user=a@b", "postgres://db/x?user=a@b"),
            ("sqlite://data/t.db", "sqlite://data/t.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(without_password(url), shown, "{url}");
        }
    }
}
