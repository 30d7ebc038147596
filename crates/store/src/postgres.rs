//! The PostgreSQL store: one database shared by several Tributary processes.
//!
//! It behaves as [`crate::sqlite::SqliteStore`] does (the contract tests run against both), but
//! where SQLite gets correctness from its one writer at a time, here transactions run side by
//! side at READ COMMITTED, from several processes, and each write says how it stays correct:
//! - claims are one `UPDATE … WHERE … IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`: a row
//!   another worker is claiming is skipped, not waited for, and a row whose lease a committed
//!   claim took is re-checked against the `WHERE` on its newest version and dropped;
//! - guarded writes are conditional (`UPDATE … WHERE version = $n`): the second writer waits for
//!   the first's row lock, re-reads the row, and finds the version moved on (a conflict);
//! - dedupe is `INSERT … ON CONFLICT DO NOTHING` on a unique constraint, as on SQLite;
//! - a transaction that must see a set stay put locks it first (`SELECT … FOR UPDATE`).
//!
//! Transactions that touch several rows take their locks in one order: the instance row, then
//! its notifications (by id), then events. A transaction that touches an instance's rows locks
//! the instance row first (`FOR KEY SHARE`, which an edit of the instance does not block), so it
//! queues behind a delete of that instance instead of deadlocking with the delete's cascade.
//! PostgreSQL detects any deadlock left (pruning the history of an instance being deleted at that
//! moment) and fails one transaction, which its caller retries as it retries any failure.
//!
//! Two behaviours SQLite has for free are kept on purpose:
//! - event ids are handed out in commit order (event-bearing poll commits take a transaction
//!   lock), so a reader paging events by id (`after`) never skips one that commits late;
//! - text sorts byte-wise (`COLLATE "C"` in the schema), whatever the database's collation.
//!
//! And one it cannot keep: PostgreSQL text cannot hold a NUL character. Diagnostic text (a
//! receiver's answer, an error message) has NULs replaced with U+FFFD rather than fail the write
//! that records it; any other text with a NUL is refused with a database error.
//!
//! The database must exist (the store creates its tables, not the database). Connections are
//! plain TCP: sqlx is built without TLS, fine for loopback or a private network; encrypting
//! them needs one of sqlx's rustls features (`tls-rustls-ring-webpki`) in the workspace manifest.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Row};

use tributary_domain::instance_config::CALLBACK_URL;

use crate::migrate;
use crate::{
    AttemptOutcome, AttemptRecord, CallbackCaps, Committed, ConfigEntry, EventFilter, EventRecord,
    InstanceData, InstanceRecord, NewInstance, NewNotification, NewOrganization, NewSession,
    NotificationRecord, PollCommit, PollerRecord, Principal, Result, Session, Store, StoreError,
    StoredValue, Updated,
};

/// The transaction lock that keeps event ids in commit order (the key spells "tribevnt").
const EVENTS_LOCK: &str = "SELECT pg_advisory_xact_lock(8390884927074627188)";

macro_rules! select_instances {
    ($rest:literal) => {
        concat!(
            "SELECT id, organization_id, user_id, element_key, name, tags, credentials, valid,
                    invalid_reason, disabled, events_enabled, version, created_ms, updated_ms
             FROM instances ",
            $rest
        )
    };
}

macro_rules! select_pollers {
    ($rest:literal) => {
        concat!(
            "SELECT instance_id, resource, enabled_ms, cursor_ms, seen, next_due_ms, failures,
                    last_error, last_poll_ms, last_summary, events_emitted, version
             FROM pollers ",
            $rest
        )
    };
}

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT e.id, e.event_id, e.instance_id, e.resource, e.object_id, e.event_type,
                    e.date_ms, e.poll_date_ms, e.date_error, e.record, e.status, e.notification_id
             FROM events e ",
            $rest
        )
    };
}

/// The `LISTEN`/`NOTIFY` channel of wake-ups between processes.
const WAKE_CHANNEL: &str = "tributary_wake";

/// The PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Opens `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (an existing database) and
    /// migrates it.
    pub async fn open(url: &str, now_ms: i64) -> Result<PostgresStore> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(crate::without_password(url)))?
            .application_name("tributary");
        // Each process has its own pool; 16 connections is plenty for one process's workers and
        // API, and leaves room under PostgreSQL's default 100 for several processes. Waiting
        // longer than 10 s for one means the database is in trouble: callers see `Unavailable`.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Duration::from_secs(600))
            .max_lifetime(Duration::from_secs(3600))
            .connect_with(options)
            .await?;
        migrate::run(&pool, migrate::POSTGRES_LEDGER, migrate::POSTGRES, now_ms).await?;
        Ok(PostgresStore { pool })
    }

    async fn load(&self, row: PgRow) -> Result<InstanceRecord> {
        let id: i64 = row.try_get("id")?;
        let tags_json: String = row.try_get("tags")?;
        let tags: Vec<String> = serde_json::from_str(&tags_json)
            .map_err(|e| StoreError::Corrupt(format!("instance {id} tags: {e}")))?;
        let entries = sqlx::query(
            "SELECT id, key, value, sealed FROM instance_configuration
             WHERE instance_id = $1 ORDER BY key",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut configuration = Vec::with_capacity(entries.len());
        for entry in entries {
            let value: Option<String> = entry.try_get("value")?;
            let sealed: Option<Vec<u8>> = entry.try_get("sealed")?;
            let key: String = entry.try_get("key")?;
            let value = match (value, sealed) {
                (Some(value), None) => StoredValue::Plain(value),
                (None, Some(sealed)) => StoredValue::Sealed(sealed),
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "instance {id} configuration {key}: needs exactly one of value and sealed"
                    )));
                }
            };
            configuration.push(ConfigEntry {
                id: entry.try_get("id")?,
                key,
                value,
            });
        }
        Ok(InstanceRecord {
            id,
            organization_id: row.try_get("organization_id")?,
            user_id: row.try_get("user_id")?,
            element_key: row.try_get("element_key")?,
            name: row.try_get("name")?,
            tags,
            configuration,
            credentials: row.try_get("credentials")?,
            valid: row.try_get("valid")?,
            invalid_reason: row.try_get("invalid_reason")?,
            disabled: row.try_get("disabled")?,
            events_enabled: row.try_get("events_enabled")?,
            version: row.try_get("version")?,
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
        })
    }

    async fn load_optional(&self, row: Option<PgRow>) -> Result<Option<InstanceRecord>> {
        match row {
            Some(row) => Ok(Some(self.load(row).await?)),
            None => Ok(None),
        }
    }

    /// Writes an instance's whole configuration. The caller holds the instance's row lock (its
    /// insert or its version-guarded update), so no other writer changes these rows meanwhile.
    async fn write_configuration(
        conn: &mut PgConnection,
        instance_id: i64,
        configuration: &[(String, StoredValue)],
    ) -> Result<()> {
        let keys: Vec<String> = configuration.iter().map(|(k, _)| k.clone()).collect();
        sqlx::query("DELETE FROM instance_configuration WHERE instance_id = $1 AND key <> ALL($2)")
            .bind(instance_id)
            .bind(keys)
            .execute(&mut *conn)
            .await?;
        for (key, value) in configuration {
            let (plain, sealed) = match value {
                StoredValue::Plain(text) => (Some(text.as_str()), None),
                StoredValue::Sealed(bytes) => (None, Some(bytes.as_slice())),
            };
            // An upsert keeps the entry's id stable across updates.
            sqlx::query(
                "INSERT INTO instance_configuration (instance_id, key, value, sealed)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (instance_id, key)
                 DO UPDATE SET value = EXCLUDED.value, sealed = EXCLUDED.sealed",
            )
            .bind(instance_id)
            .bind(key.as_str())
            .bind(plain)
            .bind(sealed)
            .execute(&mut *conn)
            .await?;
        }
        // Notifications not yet delivered follow the instance's callback URL: a new URL takes
        // them (and lifts a 410 stop, which named the old one). They are locked in id order
        // first, the order a sender's group commit locks them in, so the two cannot deadlock.
        sqlx::query(
            "SELECT id FROM notifications
             WHERE instance_id = $1 AND status <> 'NOTIFIED'
               AND callback_url <> (SELECT value FROM instance_configuration
                   WHERE instance_id = $1 AND key = $2)
             ORDER BY id FOR UPDATE",
        )
        .bind(instance_id)
        .bind(CALLBACK_URL)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE notifications SET callback_url = (SELECT value FROM instance_configuration
                 WHERE instance_id = $1 AND key = $2)
             WHERE instance_id = $1 AND status <> 'NOTIFIED'
               AND callback_url <> (SELECT value FROM instance_configuration
                   WHERE instance_id = $1 AND key = $2)",
        )
        .bind(instance_id)
        .bind(CALLBACK_URL)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM stopped_callbacks WHERE instance_id = $1
               AND url <> (SELECT value FROM instance_configuration
                   WHERE instance_id = $1 AND key = $2)",
        )
        .bind(instance_id)
        .bind(CALLBACK_URL)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// A `LIMIT` value as SQLite reads it: SQLite takes a negative limit for "no limit", where
/// PostgreSQL refuses it; `NULL` is PostgreSQL's "no limit".
fn limit(limit: i64) -> Option<i64> {
    (limit >= 0).then_some(limit)
}

/// Diagnostic text as PostgreSQL can store it: NUL characters (which a receiver's binary answer
/// can carry into an excerpt) become U+FFFD instead of failing the write.
fn diagnostic(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

fn event_row(row: PgRow) -> Result<EventRecord> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        instance_id: row.try_get("instance_id")?,
        resource: row.try_get("resource")?,
        object_id: row.try_get("object_id")?,
        event_type: row.try_get("event_type")?,
        date_ms: row.try_get("date_ms")?,
        poll_date_ms: row.try_get("poll_date_ms")?,
        date_error: row.try_get("date_error")?,
        record: row.try_get("record")?,
        status: row.try_get("status")?,
        notification_id: row.try_get("notification_id")?,
    })
}

fn poller_row(row: PgRow) -> Result<PollerRecord> {
    Ok(PollerRecord {
        instance_id: row.try_get("instance_id")?,
        resource: row.try_get("resource")?,
        enabled_ms: row.try_get("enabled_ms")?,
        cursor_ms: row.try_get("cursor_ms")?,
        seen: row.try_get("seen")?,
        next_due_ms: row.try_get("next_due_ms")?,
        failures: row.try_get("failures")?,
        last_error: row.try_get("last_error")?,
        last_poll_ms: row.try_get("last_poll_ms")?,
        last_summary: row.try_get("last_summary")?,
        events_emitted: row.try_get("events_emitted")?,
        version: row.try_get("version")?,
    })
}

fn tags_json(tags: &[String]) -> String {
    serde_json::Value::from(tags.to_vec()).to_string()
}

#[async_trait]
impl Store for PostgresStore {
    async fn wake_others(&self, topic: &str) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(WAKE_CHANNEL)
            .bind(topic)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn wake_ups(&self) -> Result<Option<tokio::sync::mpsc::Receiver<String>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(WAKE_CHANNEL).await?;
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                // `recv` reconnects after a dropped connection (notifications sent meanwhile
                // are lost: the workers' timers are the fallback).
                match listener.recv().await {
                    Ok(notification) => {
                        if sender
                            .send(notification.payload().to_owned())
                            .await
                            .is_err()
                        {
                            return; // nobody listens any more
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the wake-up listener lost its connection");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(receiver))
    }

    async fn schema_version(&self) -> Result<(i64, i64)> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _tributary_migrations")
                .fetch_one(&self.pool)
                .await?;
        let known = crate::migrate::POSTGRES
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        Ok((applied, known))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn organization_count(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn create_organization(&self, new: NewOrganization) -> Result<Principal> {
        let mut tx = self.pool.begin().await?;
        let organization_id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, secret_hash, created_ms) VALUES ($1, $2, $3)
             RETURNING id",
        )
        .bind(new.name)
        .bind(new.organization_secret_hash)
        .bind(new.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (organization_id, secret_hash, created_ms) VALUES ($1, $2, $3)
             RETURNING id",
        )
        .bind(organization_id)
        .bind(new.user_secret_hash)
        .bind(new.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Principal {
            organization_id,
            user_id,
        })
    }

    async fn principal(
        &self,
        organization_secret_hash: &[u8],
        user_secret_hash: &[u8],
    ) -> Result<Option<Principal>> {
        let row = sqlx::query(
            "SELECT o.id AS organization_id, u.id AS user_id
             FROM organizations o JOIN users u ON u.organization_id = o.id
             WHERE o.secret_hash = $1 AND u.secret_hash = $2",
        )
        .bind(organization_secret_hash)
        .bind(user_secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(Principal {
                organization_id: row.try_get("organization_id")?,
                user_id: row.try_get("user_id")?,
            })),
            None => Ok(None),
        }
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO ui_sessions (token_hash, organization_id, user_id, csrf, created_ms,
                 expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.token_hash)
        .bind(session.principal.organization_id)
        .bind(session.principal.user_id)
        .bind(session.csrf)
        .bind(session.now_ms)
        .bind(session.expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8], now_ms: i64) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT organization_id, user_id, csrf, expires_ms FROM ui_sessions
             WHERE token_hash = $1 AND expires_ms > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Session {
                principal: Principal {
                    organization_id: row.try_get("organization_id")?,
                    user_id: row.try_get("user_id")?,
                },
                csrf: row.try_get("csrf")?,
                expires_ms: row.try_get("expires_ms")?,
            })
        })
        .transpose()
    }

    async fn end_session(&self, token_hash: &[u8], now_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM ui_sessions WHERE token_hash = $1 OR expires_ms <= $2")
            .bind(token_hash)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_connect(
        &self,
        state_hash: &[u8],
        session_hash: &[u8],
        sealed_form: Vec<u8>,
        expires_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO ui_connects (state_hash, session_hash, sealed_form, expires_ms)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(state_hash)
        .bind(session_hash)
        .bind(sealed_form)
        .bind(expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_connect(
        &self,
        state_hash: &[u8],
        session_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<Vec<u8>>> {
        // One statement takes the form and sweeps the expired ones: two takers of the same form
        // meet on its row lock, and the second finds it gone.
        let rows = sqlx::query(
            "DELETE FROM ui_connects
             WHERE (state_hash = $1 AND session_hash = $2) OR expires_ms <= $3
             RETURNING state_hash, session_hash, expires_ms, sealed_form",
        )
        .bind(state_hash)
        .bind(session_hash)
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let state: Vec<u8> = row.try_get("state_hash")?;
            let session: Vec<u8> = row.try_get("session_hash")?;
            let expires_ms: i64 = row.try_get("expires_ms")?;
            if state == state_hash && session == session_hash && expires_ms > now_ms {
                return Ok(Some(row.try_get("sealed_form")?));
            }
        }
        Ok(None)
    }

    async fn principal_of_user(&self, user_secret_hash: &[u8]) -> Result<Option<Principal>> {
        let row = sqlx::query("SELECT organization_id, id FROM users WHERE secret_hash = $1")
            .bind(user_secret_hash)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(Principal {
                organization_id: row.try_get("organization_id")?,
                user_id: row.try_get("id")?,
            })),
            None => Ok(None),
        }
    }

    async fn instance_by_token(&self, token_hash: &[u8]) -> Result<Option<InstanceRecord>> {
        let row = sqlx::query(select_instances!("WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        self.load_optional(row).await
    }

    async fn store_credentials(&self, id: i64, sealed: Vec<u8>, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE instances SET credentials = $1, updated_ms = $2 WHERE id = $3")
            .bind(sealed)
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_invalid(&self, id: i64, reason: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE instances SET valid = FALSE, invalid_reason = $1, updated_ms = $2
             WHERE id = $3",
        )
        .bind(diagnostic(reason))
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sync_pollers(
        &self,
        instance_id: i64,
        resources: &[(String, i64)],
        now_ms: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // Two syncs of one instance take turns: interleaved, each would keep the poller the
        // other added, leaving a set neither asked for.
        sqlx::query("SELECT 1 FROM instances WHERE id = $1 FOR NO KEY UPDATE")
            .bind(instance_id)
            .execute(&mut *tx)
            .await?;
        let keep: Vec<String> = resources.iter().map(|(r, _)| r.clone()).collect();
        sqlx::query("DELETE FROM pollers WHERE instance_id = $1 AND resource <> ALL($2)")
            .bind(instance_id)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        for (resource, first_due_ms) in resources {
            sqlx::query(
                "INSERT INTO pollers (instance_id, resource, enabled_ms, seen, next_due_ms)
                 VALUES ($1, $2, $3, '{}', $4)
                 ON CONFLICT (instance_id, resource) DO NOTHING",
            )
            .bind(instance_id)
            .bind(resource.as_str())
            .bind(now_ms)
            .bind(*first_due_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pollers(&self, instance_id: i64) -> Result<Vec<PollerRecord>> {
        let rows = sqlx::query(select_pollers!("WHERE instance_id = $1 ORDER BY resource"))
            .bind(instance_id)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(poller_row).collect()
    }

    async fn claim_poller(
        &self,
        instance_id: i64,
        resource: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<PollerRecord>> {
        // A conditional UPDATE of one row: a second claimer waits for the first's commit, then
        // re-reads the lease and finds it taken.
        let row = sqlx::query(
            "UPDATE pollers SET lease_owner = $1, lease_until_ms = $2
             WHERE instance_id = $3 AND resource = $4
               AND (lease_until_ms IS NULL OR lease_until_ms <= $5)
             RETURNING instance_id, resource, enabled_ms, cursor_ms, seen, next_due_ms, failures,
                       last_error, last_poll_ms, last_summary, events_emitted, version",
        )
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(instance_id)
        .bind(resource)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(poller_row).transpose()
    }

    async fn poller(&self, instance_id: i64, resource: &str) -> Result<Option<PollerRecord>> {
        let row = sqlx::query(select_pollers!("WHERE instance_id = $1 AND resource = $2"))
            .bind(instance_id)
            .bind(resource)
            .fetch_optional(&self.pool)
            .await?;
        row.map(poller_row).transpose()
    }

    async fn commit_poll(&self, commit: PollCommit) -> Result<Committed> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM instances WHERE id = $1 FOR KEY SHARE")
            .bind(commit.instance_id)
            .execute(&mut *tx)
            .await?;
        if !commit.events.is_empty() {
            // Ids come from a sequence when a row is inserted, not when it commits: two
            // commits side by side could make id 11 visible before id 10, and a reader paging
            // by id past 11 would never see 10. Event-bearing commits take turns instead, as
            // every write does on SQLite.
            sqlx::query(EVENTS_LOCK).execute(&mut *tx).await?;
        }
        // A concurrent commit from the same version waits for this row lock, then re-reads the
        // row, finds the version moved on, and updates nothing: a conflict.
        let updated = sqlx::query(
            "UPDATE pollers SET cursor_ms = $1, seen = $2, next_due_ms = $3, failures = 0,
                 last_error = NULL, last_poll_ms = $4, last_summary = $5, version = version + 1,
                 lease_owner = NULL, lease_until_ms = NULL
             WHERE instance_id = $6 AND resource = $7 AND version = $8",
        )
        .bind(commit.cursor_ms)
        .bind(commit.seen)
        .bind(commit.next_due_ms)
        .bind(commit.now_ms)
        .bind(commit.summary)
        .bind(commit.instance_id)
        .bind(commit.resource.as_str())
        .bind(commit.expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(Committed::Conflict);
        }
        let mut inserted = 0;
        for event in commit.events {
            inserted += sqlx::query(
                "INSERT INTO events (event_id, instance_id, resource, object_id, event_type,
                     date_ms, poll_date_ms, date_error, record, status, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'NEW', $10)
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event.event_id)
            .bind(commit.instance_id)
            .bind(commit.resource.as_str())
            .bind(event.object_id)
            .bind(event.event_type)
            .bind(event.date_ms)
            .bind(event.poll_date_ms)
            .bind(event.date_error.as_deref().map(diagnostic))
            .bind(event.record)
            .bind(commit.now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        sqlx::query(
            "UPDATE pollers SET events_emitted = events_emitted + $1
             WHERE instance_id = $2 AND resource = $3",
        )
        .bind(i64::try_from(inserted).unwrap_or(i64::MAX))
        .bind(commit.instance_id)
        .bind(commit.resource)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Committed::Done { inserted })
    }

    async fn record_poll_failure(
        &self,
        instance_id: i64,
        resource: &str,
        error: &str,
        next_due_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE pollers SET failures = failures + 1, last_error = $1, next_due_ms = $2,
                 last_poll_ms = $3, lease_owner = NULL, lease_until_ms = NULL
             WHERE instance_id = $4 AND resource = $5",
        )
        .bind(diagnostic(error))
        .bind(next_due_ms)
        .bind(now_ms)
        .bind(instance_id)
        .bind(resource)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_due_pollers(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        // SKIP LOCKED: a poller another worker is claiming right now is passed over, not
        // waited for; one whose claim committed since this statement began is re-checked
        // against the WHERE on its newest version (its lease is now live) and dropped.
        let rows = sqlx::query(
            "WITH claimed AS (
                 UPDATE pollers SET lease_owner = $1, lease_until_ms = $2
                 WHERE (instance_id, resource) IN (
                     SELECT instance_id, resource FROM pollers
                     WHERE next_due_ms <= $3 AND (lease_until_ms IS NULL OR lease_until_ms <= $3)
                     ORDER BY next_due_ms LIMIT $4
                     FOR UPDATE SKIP LOCKED)
                 RETURNING instance_id, resource, next_due_ms)
             SELECT instance_id, resource FROM claimed
             ORDER BY next_due_ms, instance_id, resource",
        )
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(self::limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| Ok((row.try_get("instance_id")?, row.try_get("resource")?)))
            .collect()
    }

    async fn release_poller(
        &self,
        instance_id: i64,
        resource: &str,
        next_due_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE pollers SET lease_owner = NULL, lease_until_ms = NULL, next_due_ms = $1
             WHERE instance_id = $2 AND resource = $3",
        )
        .bind(next_due_ms)
        .bind(instance_id)
        .bind(resource)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > $1
                             THEN GREATEST(next_due_ms, lease_until_ms) ELSE next_due_ms END)
             FROM pollers",
        )
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(next)
    }

    async fn set_all_pollers_due(&self, due_ms: i64) -> Result<u64> {
        let done = sqlx::query("UPDATE pollers SET next_due_ms = $1")
            .bind(due_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn count_polled_since(&self, since_ms: i64) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pollers WHERE last_poll_ms >= $1")
                .bind(since_ms)
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn instance_by_id(&self, id: i64) -> Result<Option<InstanceRecord>> {
        let row = sqlx::query(select_instances!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        self.load_optional(row).await
    }

    async fn unnotified_events(&self, limit: i64) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(select_events!(
            "WHERE e.notification_id IS NULL ORDER BY e.id LIMIT $1"
        ))
        .bind(self::limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(event_row).collect()
    }

    async fn queue_notifications(
        &self,
        notifications: Vec<NewNotification>,
        now_ms: i64,
    ) -> Result<()> {
        // Two processes queuing the same events meet on the notification's primary key (the
        // second waits for the first to commit, then does nothing) and on each event's row
        // (the second waits, re-reads it, and finds it taken): the outcome of one after the
        // other, as on SQLite.
        let mut tx = self.pool.begin().await?;
        for notification in notifications {
            // Its events first: a notification is stored only if it takes every one of them,
            // or two queue passes that read different windows could each send some event.
            let taken = sqlx::query(
                "UPDATE events SET notification_id = $1, status = 'QUEUED'
                 WHERE event_id = ANY($2) AND notification_id IS NULL",
            )
            .bind(notification.id.as_str())
            .bind(&notification.event_ids)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let taken = usize::try_from(taken).unwrap_or(0);
            if taken == 0 {
                continue; // queued before
            }
            if taken < notification.event_ids.len() {
                // Some went into another notification meanwhile: give the rest back, to be
                // grouped afresh by the next pass.
                sqlx::query(
                    "UPDATE events SET notification_id = NULL, status = 'NEW'
                     WHERE notification_id = $1",
                )
                .bind(notification.id.as_str())
                .execute(&mut *tx)
                .await?;
                continue;
            }
            sqlx::query(
                "INSERT INTO notifications (id, instance_id, resource, callback_url, body, status,
                     next_attempt_ms, created_ms)
                 VALUES ($1, $2, $3, $4, $5, 'QUEUED', $6, $6)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(notification.id.as_str())
            .bind(notification.instance_id)
            .bind(notification.resource)
            .bind(notification.callback_url)
            .bind(notification.body)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_due_notifications_capped(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        caps: &CallbackCaps,
    ) -> Result<Vec<NotificationRecord>> {
        let per_url = serde_json::to_string(&caps.per_url).unwrap_or_else(|_| "{}".into());
        // As on SQLite: the soonest-due candidates (URLs capped at 0 left out, so what waits
        // behind a busy receiver is reached; a few times the limit, so a URL with a small cap
        // cannot fill the window for long), ranked within their URL, and the first of each URL
        // up to its cap taken. The candidates are locked SKIP LOCKED: what another worker is
        // claiming right now neither fills this window nor counts against a cap here.
        let rows = sqlx::query(
            "WITH claimed AS (
                 UPDATE notifications SET lease_owner = $1, lease_until_ms = $2
                 WHERE id IN (
                     SELECT id FROM (
                         SELECT c.id, c.next_attempt_ms,
                                ROW_NUMBER() OVER (PARTITION BY c.callback_url
                                                   ORDER BY c.next_attempt_ms, c.id) AS rank,
                                COALESCE(j.value::bigint, $5) AS cap
                         FROM (SELECT n.id, n.callback_url, n.next_attempt_ms
                               FROM notifications n
                               WHERE n.status = 'QUEUED' AND n.next_attempt_ms <= $3
                                 AND (n.lease_until_ms IS NULL OR n.lease_until_ms <= $3)
                                 AND n.callback_url NOT IN
                                     (SELECT z.key FROM jsonb_each_text($4::jsonb) z
                                      WHERE z.value::bigint <= 0)
                                 AND NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                                 WHERE s.instance_id = n.instance_id
                                                   AND s.url = n.callback_url)
                               ORDER BY n.next_attempt_ms LIMIT $7
                               FOR UPDATE OF n SKIP LOCKED) c
                         LEFT JOIN jsonb_each_text($4::jsonb) j ON j.key = c.callback_url
                     ) ranked
                     WHERE rank <= cap
                     ORDER BY next_attempt_ms LIMIT $6)
                 RETURNING id, instance_id, resource, callback_url, body, status, attempts,
                     next_attempt_ms,
                     (SELECT i.version FROM instances i WHERE i.id = notifications.instance_id)
                         AS instance_version)
             SELECT id, instance_id, resource, callback_url, body, status, attempts,
                    instance_version
             FROM claimed ORDER BY next_attempt_ms, id",
        )
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(per_url)
        .bind(caps.default)
        .bind(self::limit(limit))
        .bind(self::limit(limit.saturating_mul(4).saturating_add(64)))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(NotificationRecord {
                    id: row.try_get("id")?,
                    instance_id: row.try_get("instance_id")?,
                    resource: row.try_get("resource")?,
                    callback_url: row.try_get("callback_url")?,
                    body: row.try_get("body")?,
                    status: row.try_get("status")?,
                    attempts: row.try_get("attempts")?,
                    instance_version: row
                        .try_get::<Option<i64>, _>("instance_version")?
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    async fn prune(&self, before_ms: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        // Notifications before events: the order every other transaction locks them in.
        sqlx::query(
            "DELETE FROM notifications
             WHERE created_ms < $1 AND status IN ('NOTIFIED', 'FAILED')",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?;
        let events = sqlx::query(
            "DELETE FROM events WHERE created_ms < $1 AND status IN ('NOTIFIED', 'FAILED')",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(events)
    }

    async fn resume_callbacks(&self, instance_id: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM stopped_callbacks WHERE instance_id = $1")
                .bind(instance_id)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn defer_notification(&self, notification_id: &str, at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET next_attempt_ms = $1, lease_owner = NULL,
                 lease_until_ms = NULL
             WHERE id = $2 AND status = 'QUEUED'",
        )
        .bind(at_ms)
        .bind(notification_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn queued_notifications(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE status = 'QUEUED'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn notification_body(&self, notification_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT body FROM notifications WHERE id = $1")
                .bind(notification_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn in_flight_notifications(&self, now_ms: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM notifications
             WHERE status = 'QUEUED' AND lease_until_ms > $1 ORDER BY id",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> Result<()> {
        let ids: Vec<String> = attempts.iter().map(|a| a.notification_id.clone()).collect();
        let mut tx = self.pool.begin().await?;
        // Lock what the batch settles, instances then notifications, each in id order (the
        // order an instance's edit takes them in). A notification deleted meanwhile (its
        // instance was) is not found here, and has nothing left to settle; skipping it keeps
        // the rest of the batch. One being deleted right now is waited for, then not found.
        sqlx::query(
            "SELECT id FROM instances
             WHERE id IN (SELECT instance_id FROM notifications WHERE id = ANY($1))
             ORDER BY id FOR KEY SHARE",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM notifications WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        for attempt in attempts {
            if !present.contains(&attempt.notification_id) {
                continue;
            }
            sqlx::query(
                "INSERT INTO delivery_attempts (notification_id, at_ms, status_code, duration_ms,
                     excerpt, error)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(attempt.notification_id.as_str())
            .bind(attempt.at_ms)
            .bind(attempt.status_code.map(i64::from))
            .bind(attempt.duration_ms)
            .bind(attempt.excerpt.as_deref().map(diagnostic))
            .bind(attempt.error.as_deref().map(diagnostic))
            .execute(&mut *tx)
            .await?;
            let (status, next, delivered) = match attempt.outcome {
                AttemptOutcome::Delivered => ("NOTIFIED", attempt.at_ms, Some(attempt.at_ms)),
                AttemptOutcome::RetryAt(at) => ("QUEUED", at, None),
                AttemptOutcome::Failed | AttemptOutcome::Gone => ("FAILED", attempt.at_ms, None),
            };
            if attempt.outcome == AttemptOutcome::Gone {
                sqlx::query(
                    "INSERT INTO stopped_callbacks (instance_id, url, stopped_ms)
                     SELECT instance_id, $3, $1 FROM notifications WHERE id = $2
                     ON CONFLICT (instance_id, url) DO NOTHING",
                )
                .bind(attempt.at_ms)
                .bind(attempt.notification_id.as_str())
                .bind(attempt.url.as_str())
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE notifications SET status = $1, attempts = attempts + 1,
                     next_attempt_ms = $2, lease_owner = NULL, lease_until_ms = NULL,
                     last_status = $3, last_error = $4,
                     delivered_ms = COALESCE($5, delivered_ms)
                 WHERE id = $6",
            )
            .bind(status)
            .bind(next)
            .bind(attempt.status_code.map(i64::from))
            .bind(attempt.error.as_deref().map(diagnostic))
            .bind(delivered)
            .bind(attempt.notification_id.as_str())
            .execute(&mut *tx)
            .await?;
            if status != "QUEUED" {
                sqlx::query("UPDATE events SET status = $1 WHERE notification_id = $2")
                    .bind(status)
                    .bind(attempt.notification_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn attempts(
        &self,
        notification_id: &str,
    ) -> Result<Vec<(i64, Option<i64>, i64, Option<String>, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT at_ms, status_code, duration_ms, excerpt, error FROM delivery_attempts
             WHERE notification_id = $1 ORDER BY id",
        )
        .bind(notification_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok((
                    row.try_get("at_ms")?,
                    row.try_get("status_code")?,
                    row.try_get("duration_ms")?,
                    row.try_get("excerpt")?,
                    row.try_get("error")?,
                ))
            })
            .collect()
    }

    async fn find_events(
        &self,
        organization_id: i64,
        filter: &EventFilter,
    ) -> Result<Vec<EventRecord>> {
        macro_rules! find_events {
            ($order:literal) => {
                concat!(
                    select_events!(
                        "JOIN instances i ON i.id = e.instance_id
                         WHERE i.organization_id = $1
                           AND ($2::bigint IS NULL OR e.instance_id = $2)
                           AND ($3::text IS NULL OR e.status = $3)
                           AND ($4::text IS NULL OR e.resource = $4)
                           AND ($5::text IS NULL OR e.event_type = $5)
                           AND ($6::bigint IS NULL OR e.created_ms >= $6)
                           AND ($7::bigint IS NULL OR e.created_ms < $7)
                           AND e.id > $8
                         ORDER BY e.id "
                    ),
                    $order,
                    " LIMIT $9"
                )
            };
        }
        let sql = if filter.newest_first {
            find_events!("DESC")
        } else {
            find_events!("ASC")
        };
        let rows = sqlx::query(sql)
            .bind(organization_id)
            .bind(filter.instance_id)
            .bind(filter.status.as_deref())
            .bind(filter.resource.as_deref())
            .bind(filter.event_type.as_deref())
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.after_id)
            .bind(self::limit(filter.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(event_row).collect()
    }

    async fn event(&self, organization_id: i64, event_id: &str) -> Result<Option<EventRecord>> {
        let row = sqlx::query(select_events!(
            "JOIN instances i ON i.id = e.instance_id
             WHERE i.organization_id = $1 AND e.event_id = $2"
        ))
        .bind(organization_id)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(event_row).transpose()
    }

    async fn requeue_notification(&self, notification_id: &str, now_ms: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "SELECT 1 FROM instances
             WHERE id = (SELECT instance_id FROM notifications WHERE id = $1)
             FOR KEY SHARE",
        )
        .bind(notification_id)
        .execute(&mut *tx)
        .await?;
        // Sent again to where the instance's events go now.
        let changed = sqlx::query(
            "UPDATE notifications SET status = 'QUEUED', attempts = 0, next_attempt_ms = $1,
                 lease_owner = NULL, lease_until_ms = NULL,
                 callback_url = COALESCE((SELECT value FROM instance_configuration c
                     WHERE c.instance_id = notifications.instance_id AND c.key = $2),
                     callback_url)
             WHERE id = $3",
        )
        .bind(now_ms)
        .bind(CALLBACK_URL)
        .bind(notification_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE events SET status = 'QUEUED' WHERE notification_id = $1")
            .bind(notification_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed > 0)
    }

    async fn requeue_failed(&self, instance_id: i64, since_ms: i64, now_ms: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM instances WHERE id = $1 FOR KEY SHARE")
            .bind(instance_id)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM notifications
             WHERE instance_id = $1 AND status = 'FAILED' AND created_ms >= $2
             ORDER BY id FOR UPDATE",
        )
        .bind(instance_id)
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE notifications SET status = 'QUEUED', attempts = 0, next_attempt_ms = $1,
                 lease_owner = NULL, lease_until_ms = NULL
             WHERE id = ANY($2)",
        )
        .bind(now_ms)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE events SET status = 'QUEUED' WHERE notification_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn events(
        &self,
        instance_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(select_events!(
            "WHERE e.instance_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"
        ))
        .bind(instance_id)
        .bind(after_id)
        .bind(self::limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(event_row).collect()
    }

    async fn insert_instance(&self, new: NewInstance) -> Result<InstanceRecord> {
        let mut tx = self.pool.begin().await?;
        let data = &new.data;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO instances (organization_id, user_id, element_key, name, token_hash, tags,
                 credentials, valid, invalid_reason, disabled, events_enabled, version,
                 created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12) RETURNING id",
        )
        .bind(new.principal.organization_id)
        .bind(new.principal.user_id)
        .bind(new.element_key.as_str())
        .bind(data.name.as_str())
        .bind(new.token_hash.as_slice())
        .bind(tags_json(&data.tags))
        .bind(data.credentials.as_deref())
        .bind(data.valid)
        .bind(data.invalid_reason.as_deref())
        .bind(data.disabled)
        .bind(data.events_enabled)
        .bind(new.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        Self::write_configuration(&mut tx, id, &data.configuration).await?;
        tx.commit().await?;
        self.instance(new.principal.organization_id, id)
            .await?
            .ok_or_else(|| StoreError::Database(format!("instance {id} vanished after insert")))
    }

    async fn instance(&self, organization_id: i64, id: i64) -> Result<Option<InstanceRecord>> {
        let row = sqlx::query(select_instances!("WHERE organization_id = $1 AND id = $2"))
            .bind(organization_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        self.load_optional(row).await
    }

    async fn instances(&self, organization_id: i64) -> Result<Vec<InstanceRecord>> {
        let rows = sqlx::query(select_instances!("WHERE organization_id = $1 ORDER BY id"))
            .bind(organization_id)
            .fetch_all(&self.pool)
            .await?;
        let mut instances = Vec::with_capacity(rows.len());
        for row in rows {
            instances.push(self.load(row).await?);
        }
        Ok(instances)
    }

    async fn update_instance(
        &self,
        organization_id: i64,
        id: i64,
        expected_version: i64,
        data: InstanceData,
        now_ms: i64,
    ) -> Result<Updated> {
        let mut tx = self.pool.begin().await?;
        // A concurrent update from the same version waits for this row lock, then re-reads
        // the row and finds the version moved on: a conflict. The lock is held to the commit,
        // so the configuration below is written by one updater at a time.
        let changed = sqlx::query(
            "UPDATE instances SET name = $1, tags = $2, credentials = $3, valid = $4,
                 invalid_reason = $5, disabled = $6, events_enabled = $7, version = version + 1,
                 updated_ms = $8
             WHERE organization_id = $9 AND id = $10 AND version = $11",
        )
        .bind(data.name.as_str())
        .bind(tags_json(&data.tags))
        .bind(data.credentials.as_deref())
        .bind(data.valid)
        .bind(data.invalid_reason.as_deref())
        .bind(data.disabled)
        .bind(data.events_enabled)
        .bind(now_ms)
        .bind(organization_id)
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM instances WHERE organization_id = $1 AND id = $2",
            )
            .bind(organization_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            return Ok(if exists.is_some() {
                Updated::Conflict
            } else {
                Updated::NotFound
            });
        }
        Self::write_configuration(&mut tx, id, &data.configuration).await?;
        tx.commit().await?;
        match self.instance(organization_id, id).await? {
            Some(record) => Ok(Updated::Done(Box::new(record))),
            None => Ok(Updated::NotFound),
        }
    }

    async fn delete_instance(&self, organization_id: i64, id: i64) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM instances WHERE organization_id = $1 AND id = $2")
            .bind(organization_id)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }
}
