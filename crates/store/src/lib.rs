//! Tributary's storage layer.
//!
//! The [`Store`] trait is the whole contract between the application and its database, with two
//! backends that behave the same (one contract test suite runs against both):
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
//! The backend is chosen by the database URL's scheme ([`open`]).
//!
//! # Where things are
//! - `lib.rs` (here): the [`Store`] trait, [`StoreError`], [`open`].
//! - `records.rs`: the records that go in and come out ([`InstanceRecord`], [`PollCommit`],
//!   [`Attempt`]…); `activity.rs`: the counts behind the UI's plots ([`Activity`]); `status.rs`: [`EventStatus`] and [`NotificationStatus`], the one place the
//!   status words are spelled.
//! - `sql/`: the one implementation of [`Store`], generic over the backend. `sql/store.rs` has
//!   every method, most of them one statement; the transactions of several statements are by
//!   concern in `sql/instances.rs`, `sql/polling.rs` and `sql/delivery.rs`; `sql/rows.rs` reads
//!   rows into records. Each statement is written once, valid on both backends.
//! - `sqlite.rs`, `postgres.rs`: what truly differs (the `Backend` trait in `sql/mod.rs` lists
//!   it): opening the database, how a writing transaction starts and what it locks, the claims,
//!   the statements that take a list, wake-ups between processes.
//! - `migrate.rs` and `migrations/{sqlite,postgres}/`: each backend's schema, forward only.
//! - `tests/contract.rs`: the contract, run against both backends.

mod activity;
pub mod group;
pub mod hooks;
pub mod migrate;
pub mod postgres;
mod records;
mod sql;
pub mod sqlite;
mod status;

use std::sync::Arc;

use async_trait::async_trait;

pub use activity::{
    Activity, ActivityFilter, LATENCY_BOUNDS_MS, LatencyCount, OutcomeCount, ResourceCount,
};
pub use records::{
    Attempt, AttemptOutcome, AttemptRecord, CallbackCaps, Committed, ConfigEntry, CountFilter,
    DeleteCommit, EventCount, EventFilter, EventRecord, InstanceData, InstanceRecord, NewEvent,
    NewInstance, NewNotification, NewOrganization, NewSession, NotificationRecord,
    NotificationView, Outbox, OutboxQueued, PollCommit, PollerRecord, Principal, QueueLease,
    Session, StoredValue, SweepCommit, SweepRecord, UnnotifiedEvent, Updated, UserProfile,
    UserRecord,
};
pub use status::{EventStatus, NotificationStatus, UnknownStatus};

/// Storage failures. Callers map `Unavailable` to 503, `InvalidInput` to 400 and the rest to an
/// opaque 500. (`Clone`: a batch written for several callers fails for each of them.)
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL {0:?}: expected sqlite://PATH, sqlite::memory: or \
         postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )]
    UnsupportedUrl(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database refused a value the caller gave (PostgreSQL's class 22, "data exception":
    /// a NUL in text, a number out of range). The edges refuse such input first; this keeps a
    /// value they missed a 400 rather than a 500.
    #[error("the database refused a value: {0}")]
    InvalidInput(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("a migration failed: {0}")]
    Migration(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::Database(db) => match db.code().as_deref().map(sqlstate_kind) {
                Some(SqlState::Unavailable) => StoreError::Unavailable(error.to_string()),
                Some(SqlState::InvalidInput) => StoreError::InvalidInput(db.message().to_owned()),
                _ => StoreError::Database(error.to_string()),
            },
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// What a PostgreSQL SQLSTATE says about who is at fault (SQLite's codes are numbers and never
/// match these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqlState {
    /// The server cannot take the work now: too many connections (53300) or other
    /// insufficient resources (class 53), shutting down or starting (57P01–57P03), the
    /// connection failed (class 08). Worth a 503 and a retry.
    Unavailable,
    /// A data exception (class 22): a value the caller sent.
    InvalidInput,
    Other,
}

fn sqlstate_kind(code: &str) -> SqlState {
    match code {
        "57P01" | "57P02" | "57P03" => SqlState::Unavailable,
        _ if code.starts_with("53") || code.starts_with("08") => SqlState::Unavailable,
        _ if code.starts_with("22") => SqlState::InvalidInput,
        _ => SqlState::Other,
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Events were stored, or notifications queued again: delivery workers should look.
pub const WAKE_DELIVERY: &str = "delivery";
/// Pollers changed (an instance created, changed or deleted): schedulers should look.
pub const WAKE_SCHEDULER: &str = "scheduler";

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

    /// Creates the first organization and its first user, unless an organization exists:
    /// `None` then. Processes starting at once on an empty database take turns, so exactly one
    /// creates it and the others start normally.
    async fn create_first_organization(&self, new: NewOrganization) -> Result<Option<Principal>>;

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

    /// A user of an organization (another organization's is not found).
    async fn user(&self, organization_id: i64, user_id: i64) -> Result<Option<UserRecord>>;

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
    /// An idle poll's (no events) is written by group commit: with the other idle commits
    /// waiting by then, in one statement.
    async fn commit_poll(&self, commit: PollCommit) -> Result<Committed>;

    /// [`Store::commit_poll`] with the poll's delete sweep: its events are among the commit's,
    /// and the delete cursor and any loss found are written in the same transaction.
    async fn commit_poll_with_deletes(
        &self,
        commit: PollCommit,
        deletes: DeleteCommit,
    ) -> Result<Committed>;

    /// [`Store::commit_poll`] with a reconciliation sweep: its events are among the commit's
    /// (with those of the poll's other delete detection, if any), and its memory replaces the
    /// stored one in the same transaction.
    async fn commit_poll_with_sweep(
        &self,
        commit: PollCommit,
        deletes: Option<DeleteCommit>,
        sweep: SweepCommit,
    ) -> Result<Committed>;

    /// [`Store::commit_poll_with_sweep`] (either sweep optional) that also queues `outbox`'s
    /// notifications in the same transaction, leasing those `outbox.lease` names as
    /// [`Store::queue_and_lease`] does, where every event of the commit is new and the instance
    /// is enabled and still at `outbox.instance_version`; otherwise the events are stored
    /// unqueued, for a queue pass, as any commit's are. The outbox of a poll: its events and
    /// their notifications become durable together, with no queue pass between.
    async fn commit_poll_queuing(
        &self,
        commit: PollCommit,
        deletes: Option<DeleteCommit>,
        sweep: Option<SweepCommit>,
        outbox: Outbox,
    ) -> Result<(Committed, OutboxQueued)>;

    /// The last complete sweep of a resource (how many ids, when), `None` before the first.
    async fn last_sweep(&self, instance_id: i64, resource: &str) -> Result<Option<SweepRecord>>;

    /// The ids of a resource with a `CREATED` or `UPDATED` event stored at or after `since_ms`
    /// (Tributary's clock), each with its latest change date, unless a `DELETED` event of it
    /// was stored since, at or after that report: what the polls reported since a sweep began,
    /// which the next sweep asks about too when it no longer lists them.
    async fn reported_since(
        &self,
        instance_id: i64,
        resource: &str,
        since_ms: i64,
    ) -> Result<Vec<(String, i64)>>;

    /// What the last complete sweep of a resource remembered (JSON), `None` before the first.
    async fn sweep_memory(&self, instance_id: i64, resource: &str) -> Result<Option<String>>;

    /// Records that a poller waits for the provider until `until_ms` (a spent quota) — not a
    /// failure: no back-off, no failure count. The lease is given back; the poller is due then.
    async fn record_poll_pause(
        &self,
        instance_id: i64,
        resource: &str,
        reason: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<()>;

    /// How many times deletes were found lost, over every poller (for `/metrics`).
    async fn deletes_lost_total(&self) -> Result<i64>;

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
    ) -> Result<Vec<(i64, String)>> {
        Ok(self
            .claim_due_poller_records(owner, now_ms, lease_ms, limit)
            .await?
            .into_iter()
            .map(|poller| (poller.instance_id, poller.resource))
            .collect())
    }

    /// [`Store::claim_due_pollers`], returning each claimed poller's row as the claim left it
    /// (its lease taken): the scheduler polls from it without reading it again.
    async fn claim_due_poller_records(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<PollerRecord>>;

    /// Gives a lease back without polling (the poller was skipped).
    async fn release_poller(
        &self,
        instance_id: i64,
        resource: &str,
        next_due_ms: i64,
    ) -> Result<()>;

    /// Makes an instance's pollers due at `due_ms` at the latest (leases untouched: a poll
    /// under way finishes first); returns how many moved. Enabling an instance resumes its
    /// polls at once, from their cursors.
    async fn make_pollers_due(&self, instance_id: i64, due_ms: i64) -> Result<u64>;

    /// The earliest due time among pollers not leased (or whose lease expired at `now_ms`).
    async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>>;

    /// Makes every poller due at `due_ms` (leases untouched: a poll under way finishes first);
    /// returns how many there are. For benchmarks, which poll everything at once.
    async fn set_all_pollers_due(&self, due_ms: i64) -> Result<u64>;

    /// How many pollers polled (successfully or not) at or after `since_ms`.
    async fn count_polled_since(&self, since_ms: i64) -> Result<u64>;

    /// An instance by id alone, for workers (API calls use [`Store::instance`]).
    async fn instance_by_id(&self, id: i64) -> Result<Option<InstanceRecord>>;

    /// Events that no notification carries yet, oldest first, each with its instance's
    /// version; a disabled instance's wait (they are not returned until it is enabled again).
    async fn unnotified_events(&self, limit: i64) -> Result<Vec<UnnotifiedEvent>>;

    /// Stores notifications and marks their events QUEUED with the notification's id, in one
    /// transaction (a notification id seen before is skipped).
    async fn queue_notifications(
        &self,
        notifications: Vec<NewNotification>,
        now_ms: i64,
    ) -> Result<()> {
        self.queue_and_lease(notifications, now_ms, &QueueLease::default())
            .await
            .map(drop)
    }

    /// As [`Store::queue_notifications`], and in the same transaction leases to `lease.owner`
    /// (until `lease.until_ms`) each notification named in `lease.ids` that it stores, unless
    /// its callback URL is stopped for its instance (a `410 Gone`): as if claimed at once, so a
    /// worker that queues for a receiver with room starts the send without a claim. Returns
    /// the ids leased.
    async fn queue_and_lease(
        &self,
        notifications: Vec<NewNotification>,
        now_ms: i64,
        lease: &QueueLease,
    ) -> Result<Vec<String>>;

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
    /// A URL capped at 0 is skipped, and the notifications behind it are reached. With
    /// `caps.default` 0, only the URLs `caps` names are claimed from, each by a read of its own
    /// queued notifications in due order, URL after URL, `limit` in all (a worker refilling
    /// what it keeps ahead for the receivers it is sending to).
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

    /// A notification's attempts, oldest first.
    async fn attempts(&self, notification_id: &str) -> Result<Vec<Attempt>>;

    /// An organization's events matching `filter`, oldest first.
    async fn find_events(
        &self,
        organization_id: i64,
        filter: &EventFilter,
    ) -> Result<Vec<EventRecord>>;

    /// One event of an organization by its event id.
    async fn event(&self, organization_id: i64, event_id: &str) -> Result<Option<EventRecord>>;

    /// What an organization's instances (or one of them) did in a stretch of time, counted in
    /// buckets: events per resource, notifications by outcome, delivery latency.
    async fn activity(&self, organization_id: i64, filter: &ActivityFilter) -> Result<Activity>;
    /// A notification of an organization by its id or by its number (`key` in decimal).
    async fn find_notification(
        &self,
        organization_id: i64,
        key: &str,
    ) -> Result<Option<NotificationView>>;

    /// An organization's events counted per bucket and instance (buckets and instances without
    /// events are left out), in bucket then instance order.
    async fn count_events(
        &self,
        organization_id: i64,
        filter: &CountFilter,
    ) -> Result<Vec<EventCount>>;

    /// Queues a notification again now, with a fresh retry schedule (redelivery). A send in
    /// flight keeps its lease: the notification is not claimed again until it ends, so a
    /// redelivery never sends twice at once.
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

    // Webhook sources (issue 20).

    /// Creates an instance's subscription to an event key, or replaces it (a new token, the
    /// provider's key and error forgotten); returns its id.
    async fn put_subscription(&self, new: hooks::NewSubscription) -> Result<i64>;

    /// Records what the provider said of a subscription (`provider_key` kept when `None`).
    async fn set_subscription(
        &self,
        id: i64,
        provider_key: Option<String>,
        status: &str,
        last_error: Option<String>,
        now_ms: i64,
    ) -> Result<()>;

    /// An instance's subscriptions, by resource.
    async fn subscriptions(&self, instance_id: i64) -> Result<Vec<hooks::SubscriptionRecord>>;

    /// The subscription whose hook URL carries the token with this hash.
    async fn subscription_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<hooks::SubscriptionRecord>>;

    async fn delete_subscription(&self, id: i64) -> Result<()>;

    /// The instances that have subscriptions, by id.
    async fn subscribed_instances(&self) -> Result<Vec<i64>>;

    /// Stores a delivery (and counts it on its subscription) before it is acknowledged.
    async fn insert_inbound(&self, new: hooks::NewInbound) -> Result<i64>;

    /// Claims up to `limit` stored deliveries with a lease until `now_ms + lease_ms`.
    async fn claim_inbound(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<hooks::InboundRecord>>;

    /// Stores a delivery's events (once per event id) and forgets the delivery, in one
    /// transaction; returns how many events were new.
    async fn commit_inbound(
        &self,
        inbound_id: i64,
        instance_id: i64,
        resource: &str,
        events: Vec<NewEvent>,
        now_ms: i64,
    ) -> Result<u64>;

    /// A delivery that could not be processed now: tried again from `retry_ms`.
    async fn fail_inbound(&self, inbound_id: i64, error: &str, retry_ms: i64) -> Result<()>;

    /// Deliveries of an instance stored and not yet processed.
    async fn inbound_waiting(&self, instance_id: i64) -> Result<i64>;

    /// What the event log says of one object (its last report, its last deletion).
    async fn object_reports(
        &self,
        instance_id: i64,
        resource: &str,
        object_id: &str,
    ) -> Result<hooks::ObjectReports>;
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
    use super::{SqlState, sqlstate_kind, without_password};

    #[test]
    fn overload_and_shutdown_are_unavailable_and_bad_values_are_the_callers() {
        for (code, kind) in [
            ("53300", SqlState::Unavailable),  // too_many_connections
            ("53200", SqlState::Unavailable),  // out_of_memory
            ("57P01", SqlState::Unavailable),  // admin_shutdown
            ("57P03", SqlState::Unavailable),  // cannot_connect_now
            ("08006", SqlState::Unavailable),  // connection_failure
            ("22021", SqlState::InvalidInput), // character_not_in_repertoire (a NUL)
            ("22P05", SqlState::InvalidInput), // untranslatable_character
            ("22003", SqlState::InvalidInput), // numeric_value_out_of_range
            ("23505", SqlState::Other),        // unique_violation: the code decides
            ("42P01", SqlState::Other),        // undefined_table: a bug
            ("2067", SqlState::Other),         // SQLite's unique constraint
        ] {
            assert_eq!(sqlstate_kind(code), kind, "{code}");
        }
    }

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
