//! The records the store reads and writes: what goes in (`New…`, `…Data`, `PollCommit`,
//! `AttemptRecord`) and what comes out (`…Record`, `Principal`, `Session`, `Attempt`).
//!
//! Plain data, the same for both backends; how a row becomes one of these is in
//! [`crate::sql::rows`].

use crate::status::{EventStatus, NotificationStatus};

/// A new organization with its first user.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub organization_secret_hash: Vec<u8>,
    pub user_secret_hash: Vec<u8>,
    /// Who the first user is (what an instance's `user` object shows).
    pub user: UserProfile,
    pub now_ms: i64,
}

/// What is known of a user besides its secret: each part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserProfile {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A user as stored (its secret's hash left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub organization_id: i64,
    pub profile: UserProfile,
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
    /// The instance token, sealed; `None` for instances stored before tokens were kept
    /// readable (only their token's hash exists).
    pub token_sealed: Option<Vec<u8>>,
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
    /// The same token sealed, so that its owner can read it back.
    pub token_sealed: Vec<u8>,
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
    /// The first instant the delete sweep has not read (provider time); `None` before the
    /// first sweep.
    pub delete_cursor_ms: Option<i64>,
    /// How many times deletes were found lost at the provider.
    pub deletes_lost: i64,
    /// The last loss: the span whose deletes are gone, and when it was found.
    pub deletes_lost_from_ms: Option<i64>,
    pub deletes_lost_until_ms: Option<i64>,
    pub deletes_lost_at_ms: Option<i64>,
    /// Until when the poller waits for the provider (a spent quota), if it does.
    pub paused_until_ms: Option<i64>,
    /// What the delete sweep remembers between sweeps, where its kind needs it (JSON; the
    /// archives reported already); `None` before the first.
    pub delete_memory: Option<String>,
    /// When the last complete reconciliation sweep began (Tributary's clock; the `sweeps`
    /// table's, read with the row so a poll need not ask for it apart); `None` before the first.
    pub swept_ms: Option<i64>,
    /// The version of the poller's instance as the row was read (`None`: the instance is
    /// gone), so that a worker holding the instance's client and settings of that version polls
    /// without reading the instance again.
    pub instance_version: Option<i64>,
    /// Whether the instance polled as the row was read: its authorization valid and it not
    /// disabled. (A dead authorization is recorded without a new version:
    /// [`Store::mark_invalid`](crate::Store::mark_invalid).)
    pub instance_polls: bool,
}

/// What a poll's delete sweep writes with the poll (its events go with the poll's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteCommit {
    /// The delete cursor after the sweep.
    pub cursor_ms: i64,
    /// A span whose deletes the provider no longer has: `(from_ms, until_ms)`.
    pub lost: Option<(i64, i64)>,
    /// The sweep's memory after it (JSON), where its kind keeps one; `None` keeps the stored
    /// one.
    pub memory: Option<String>,
}

/// What a reconciliation sweep writes with the poll it ran in (its events go with the poll's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepCommit {
    /// The memory after the sweep (JSON: object id -> token).
    pub memory: String,
    /// How many ids it holds.
    pub records: i64,
    /// When the sweep began (Tributary's clock).
    pub swept_ms: i64,
}

/// The last complete sweep of a resource, without its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRecord {
    pub records: i64,
    pub swept_ms: i64,
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
    pub status: EventStatus,
    /// The notification that carries it, once queued.
    pub notification_id: Option<String>,
    /// When the poll stored it (Tributary's clock).
    pub created_ms: i64,
}

/// An event that no notification carries yet, with its instance's version as the same read
/// found it (so a queue pass can tell whether what it knows of the instance still holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnnotifiedEvent {
    pub event: EventRecord,
    pub instance_version: i64,
}

/// Which events a listing wants (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this instance's events; `None`: every instance of the organization.
    pub instance_id: Option<i64>,
    pub status: Option<EventStatus>,
    pub resource: Option<String>,
    pub event_type: Option<String>,
    /// Events stored at or after this time (epoch ms).
    pub from_ms: Option<i64>,
    /// Events stored before this time (epoch ms).
    pub to_ms: Option<i64>,
    /// Only the events this notification carries.
    pub notification_id: Option<String>,
    /// Rows after this one (paging).
    pub after_id: i64,
    /// Rows before this one (paging back through a log shown newest first).
    pub before_id: Option<i64>,
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

/// A notification as the event log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationView {
    pub id: String,
    /// Its numeric id (the envelope's outer `id`); `None` for notifications queued before
    /// numbers were stored.
    pub number: Option<i64>,
    pub instance_id: i64,
    pub resource: String,
    pub status: NotificationStatus,
    pub attempts: i64,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
    /// The exact bytes sent.
    pub body: Vec<u8>,
}

/// Which events to count, in buckets of `bucket_ms` from `from_ms` (inclusive) to `to_ms`
/// (exclusive), by when they were stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountFilter {
    /// One instance's events; `None`: every instance of the organization.
    pub instance_id: Option<i64>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub bucket_ms: i64,
}

/// How many events of one instance were stored in one bucket, and how many of them were
/// delivered or failed by now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCount {
    /// The bucket's start (epoch ms).
    pub bucket_ms: i64,
    pub instance_id: i64,
    pub count: i64,
    pub notified: i64,
    pub failed: i64,
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
    /// When the poll that found its events ran (its body's `message.raw.pollDate`).
    pub poll_date_ms: Option<i64>,
}

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

/// Which notifications a queue pass leases as it stores them ([`Store::queue_and_lease`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueLease {
    /// The worker that takes them.
    pub owner: String,
    /// When their lease ends.
    pub until_ms: i64,
    /// The notifications to lease, by id; the others are stored due, for any worker's claim.
    pub ids: std::collections::BTreeSet<String>,
}

/// A poll's notifications, queued by its own commit ([`Store::commit_poll_queuing`]): built
/// from the commit's events, at the instance version their callback and envelope were read at.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    /// The instance's version the notifications were built at.
    pub instance_version: i64,
    /// Carrying every event of the commit, in order.
    pub notifications: Vec<NewNotification>,
    /// Which to lease as they are stored, as a queue pass would ([`Store::queue_and_lease`]).
    pub lease: QueueLease,
}

/// What a poll commit that carried an [`Outbox`] did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxQueued {
    /// Queued with the events, these ids leased.
    Queued { leased: Vec<String> },
    /// Not queued: the commit's events wait for a queue pass, as any commit's do (an event
    /// was stored already, the instance changed or is disabled, or the commit conflicted).
    Left,
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
    pub status: NotificationStatus,
    pub attempts: i64,
    /// The instance's version when claimed, so a sender can reuse what it knows of it (the
    /// signing key) until the instance changes.
    pub instance_version: i64,
    /// When the poll that found its events ran; `None` for one stored before it was kept
    /// (SQLite 0018, PostgreSQL 0011), whose body holds it.
    pub poll_date_ms: Option<i64>,
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

/// A delivery attempt as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at_ms: i64,
    /// The receiver's HTTP status; `None` when no answer came (refused, timed out, blocked).
    pub status_code: Option<u16>,
    pub duration_ms: i64,
    /// The first bytes of the answer, or why there was none.
    pub excerpt: Option<String>,
    /// What went wrong, as the sender recorded it.
    pub error: Option<String>,
}
