//! The SQLite store: one file (WAL mode), created and migrated on first open.
//!
//! SQLite allows one writer at a time; WAL lets readers go on meanwhile, and `busy_timeout`
//! makes a writer wait for the lock instead of failing. Every writing transaction starts with
//! `BEGIN IMMEDIATE`: a transaction that reads first and writes later could otherwise find,
//! at its first write, that another writer committed since its read (`SQLITE_BUSY_SNAPSHOT`),
//! which no waiting can cure. Foreign keys are switched on per
//! connection (SQLite's default is off), so deleting an instance deletes its configuration.

use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use tributary_domain::instance_config::CALLBACK_URL;

use crate::migrate;
use crate::{
    AttemptOutcome, AttemptRecord, CallbackCaps, Committed, ConfigEntry, EventFilter, EventRecord,
    InstanceData, InstanceRecord, NewInstance, NewNotification, NewOrganization, NewSession,
    NotificationRecord, PollCommit, PollerRecord, Principal, Result, Session, Store, StoreError,
    StoredValue, Updated,
};

/// Whether SQLite said "the database is locked" (`SQLITE_BUSY`, or one of its extended codes).
fn is_busy(error: &dyn sqlx::error::DatabaseError) -> bool {
    const SQLITE_BUSY: i32 = 5;
    error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens `sqlite://PATH` (creating the file) or `sqlite::memory:`, and migrates it.
    pub async fn open(url: &str, now_ms: i64) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(url.to_owned()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Every connection to an in-memory database is a database of its own: keep one.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool_options = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(3600))
            });
        // The first connection to a new file switches it to WAL, which takes an exclusive lock
        // that `busy_timeout` does not wait for: a second process opening the same new file at
        // that moment is told the database is locked. It waits and tries again instead.
        let deadline = Instant::now() + Duration::from_secs(10);
        let pool = loop {
            match pool_options.clone().connect_with(options.clone()).await {
                Err(sqlx::Error::Database(error))
                    if is_busy(error.as_ref()) && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                connected => break connected?,
            }
        };
        migrate::run(&pool, migrate::SQLITE_LEDGER, migrate::SQLITE, now_ms).await?;
        Ok(SqliteStore { pool })
    }

    async fn load(&self, row: SqliteRow) -> Result<InstanceRecord> {
        let id: i64 = row.try_get("id")?;
        let tags_json: String = row.try_get("tags")?;
        let tags: Vec<String> = serde_json::from_str(&tags_json)
            .map_err(|e| StoreError::Corrupt(format!("instance {id} tags: {e}")))?;
        let entries = sqlx::query(
            "SELECT id, key, value, sealed FROM instance_configuration
             WHERE instance_id = ? ORDER BY key",
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

    async fn write_configuration(
        tx: &mut Transaction<'_, Sqlite>,
        instance_id: i64,
        configuration: &[(String, StoredValue)],
    ) -> Result<()> {
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT key FROM instance_configuration WHERE instance_id = ?")
                .bind(instance_id)
                .fetch_all(&mut **tx)
                .await?;
        for key in existing {
            if !configuration.iter().any(|(k, _)| *k == key) {
                sqlx::query("DELETE FROM instance_configuration WHERE instance_id = ? AND key = ?")
                    .bind(instance_id)
                    .bind(key)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        for (key, value) in configuration {
            let (plain, sealed) = match value {
                StoredValue::Plain(text) => (Some(text.clone()), None),
                StoredValue::Sealed(bytes) => (None, Some(bytes.clone())),
            };
            // An upsert keeps the entry's id stable across updates.
            sqlx::query(
                "INSERT INTO instance_configuration (instance_id, key, value, sealed)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (instance_id, key)
                 DO UPDATE SET value = excluded.value, sealed = excluded.sealed",
            )
            .bind(instance_id)
            .bind(key.clone())
            .bind(plain)
            .bind(sealed)
            .execute(&mut **tx)
            .await?;
        }
        // Notifications not yet delivered follow the instance's callback URL: a new URL takes
        // them (and lifts a 410 stop, which named the old one).
        sqlx::query(
            "UPDATE notifications SET callback_url = (SELECT value FROM instance_configuration
                 WHERE instance_id = ?1 AND key = ?2)
             WHERE instance_id = ?1 AND status <> 'NOTIFIED'
               AND callback_url <> (SELECT value FROM instance_configuration
                   WHERE instance_id = ?1 AND key = ?2)",
        )
        .bind(instance_id)
        .bind(CALLBACK_URL)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "DELETE FROM stopped_callbacks WHERE instance_id = ?1
               AND url <> (SELECT value FROM instance_configuration
                   WHERE instance_id = ?1 AND key = ?2)",
        )
        .bind(instance_id)
        .bind(CALLBACK_URL)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

fn event_row(row: SqliteRow) -> Result<EventRecord> {
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

fn poller_row(row: SqliteRow) -> Result<PollerRecord> {
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
impl Store for SqliteStore {
    async fn wake_others(&self, _topic: &str) -> Result<()> {
        Ok(())
    }

    async fn wake_ups(&self) -> Result<Option<tokio::sync::mpsc::Receiver<String>>> {
        Ok(None)
    }

    async fn schema_version(&self) -> Result<(i64, i64)> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _tributary_migrations")
                .fetch_one(&self.pool)
                .await?;
        let known = crate::migrate::SQLITE
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let organization_id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, secret_hash, created_ms) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(new.name)
        .bind(new.organization_secret_hash)
        .bind(new.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (organization_id, secret_hash, created_ms) VALUES (?, ?, ?) RETURNING id",
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
             WHERE o.secret_hash = ? AND u.secret_hash = ?",
        )
        .bind(organization_secret_hash.to_vec())
        .bind(user_secret_hash.to_vec())
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
             VALUES (?, ?, ?, ?, ?, ?)",
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
             WHERE token_hash = ? AND expires_ms > ?",
        )
        .bind(token_hash.to_vec())
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
        sqlx::query("DELETE FROM ui_sessions WHERE token_hash = ? OR expires_ms <= ?")
            .bind(token_hash.to_vec())
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
             VALUES (?, ?, ?, ?)",
        )
        .bind(state_hash.to_vec())
        .bind(session_hash.to_vec())
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let form: Option<Vec<u8>> = sqlx::query_scalar(
            "DELETE FROM ui_connects WHERE state_hash = ? AND session_hash = ? AND expires_ms > ?
             RETURNING sealed_form",
        )
        .bind(state_hash.to_vec())
        .bind(session_hash.to_vec())
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM ui_connects WHERE expires_ms <= ?")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(form)
    }

    async fn principal_of_user(&self, user_secret_hash: &[u8]) -> Result<Option<Principal>> {
        let row = sqlx::query("SELECT organization_id, id FROM users WHERE secret_hash = ?")
            .bind(user_secret_hash.to_vec())
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
        let row = sqlx::query(
            "SELECT id, organization_id, user_id, element_key, name, tags, credentials, valid,
                    invalid_reason, disabled, events_enabled, version, created_ms, updated_ms
             FROM instances WHERE token_hash = ?",
        )
        .bind(token_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.load(row).await?)),
            None => Ok(None),
        }
    }

    async fn store_credentials(&self, id: i64, sealed: Vec<u8>, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE instances SET credentials = ?, updated_ms = ? WHERE id = ?")
            .bind(sealed)
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_invalid(&self, id: i64, reason: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE instances SET valid = 0, invalid_reason = ?, updated_ms = ? WHERE id = ?",
        )
        .bind(reason.to_owned())
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT resource FROM pollers WHERE instance_id = ?")
                .bind(instance_id)
                .fetch_all(&mut *tx)
                .await?;
        for resource in existing {
            if !resources.iter().any(|(r, _)| *r == resource) {
                sqlx::query("DELETE FROM pollers WHERE instance_id = ? AND resource = ?")
                    .bind(instance_id)
                    .bind(resource)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for (resource, first_due_ms) in resources {
            sqlx::query(
                "INSERT INTO pollers (instance_id, resource, enabled_ms, seen, next_due_ms)
                 VALUES (?, ?, ?, '{}', ?)
                 ON CONFLICT (instance_id, resource) DO NOTHING",
            )
            .bind(instance_id)
            .bind(resource.clone())
            .bind(now_ms)
            .bind(*first_due_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pollers(&self, instance_id: i64) -> Result<Vec<PollerRecord>> {
        let rows = sqlx::query(
            "SELECT instance_id, resource, enabled_ms, cursor_ms, seen, next_due_ms, failures,
                    last_error, last_poll_ms, last_summary, events_emitted, version
             FROM pollers WHERE instance_id = ? ORDER BY resource",
        )
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
        let row = sqlx::query(
            "UPDATE pollers SET lease_owner = ?, lease_until_ms = ?
             WHERE instance_id = ? AND resource = ?
               AND (lease_until_ms IS NULL OR lease_until_ms <= ?)
             RETURNING instance_id, resource, enabled_ms, cursor_ms, seen, next_due_ms, failures,
                       last_error, last_poll_ms, last_summary, events_emitted, version",
        )
        .bind(owner.to_owned())
        .bind(now_ms.saturating_add(lease_ms))
        .bind(instance_id)
        .bind(resource.to_owned())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(poller_row).transpose()
    }

    async fn poller(&self, instance_id: i64, resource: &str) -> Result<Option<PollerRecord>> {
        let row = sqlx::query(
            "SELECT instance_id, resource, enabled_ms, cursor_ms, seen, next_due_ms, failures,
                    last_error, last_poll_ms, last_summary, events_emitted, version
             FROM pollers WHERE instance_id = ? AND resource = ?",
        )
        .bind(instance_id)
        .bind(resource.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(poller_row).transpose()
    }

    async fn commit_poll(&self, commit: PollCommit) -> Result<Committed> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query(
            "UPDATE pollers SET cursor_ms = ?, seen = ?, next_due_ms = ?, failures = 0,
                 last_error = NULL, last_poll_ms = ?, last_summary = ?, version = version + 1,
                 lease_owner = NULL, lease_until_ms = NULL
             WHERE instance_id = ? AND resource = ? AND version = ?",
        )
        .bind(commit.cursor_ms)
        .bind(commit.seen)
        .bind(commit.next_due_ms)
        .bind(commit.now_ms)
        .bind(commit.summary)
        .bind(commit.instance_id)
        .bind(commit.resource.clone())
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
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'NEW', ?)
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event.event_id)
            .bind(commit.instance_id)
            .bind(commit.resource.clone())
            .bind(event.object_id)
            .bind(event.event_type)
            .bind(event.date_ms)
            .bind(event.poll_date_ms)
            .bind(event.date_error)
            .bind(event.record)
            .bind(commit.now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        sqlx::query(
            "UPDATE pollers SET events_emitted = events_emitted + ?
             WHERE instance_id = ? AND resource = ?",
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
            "UPDATE pollers SET failures = failures + 1, last_error = ?, next_due_ms = ?,
                 last_poll_ms = ?, lease_owner = NULL, lease_until_ms = NULL
             WHERE instance_id = ? AND resource = ?",
        )
        .bind(error.to_owned())
        .bind(next_due_ms)
        .bind(now_ms)
        .bind(instance_id)
        .bind(resource.to_owned())
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
        // One statement: SQLite runs it under its write lock, so two workers never claim the
        // same poller (PostgreSQL uses FOR UPDATE SKIP LOCKED for the same effect).
        let rows = sqlx::query(
            "UPDATE pollers SET lease_owner = ?, lease_until_ms = ?
             WHERE rowid IN (
                 SELECT rowid FROM pollers
                 WHERE next_due_ms <= ? AND (lease_until_ms IS NULL OR lease_until_ms <= ?)
                 ORDER BY next_due_ms LIMIT ?)
             RETURNING instance_id, resource, next_due_ms",
        )
        .bind(owner.to_owned())
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        // RETURNING's order is the update's, not the ORDER BY's: sort here.
        let mut claimed = rows
            .into_iter()
            .map(|row| {
                Ok((
                    row.try_get::<i64, _>("next_due_ms")?,
                    row.try_get::<i64, _>("instance_id")?,
                    row.try_get::<String, _>("resource")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        claimed.sort();
        Ok(claimed
            .into_iter()
            .map(|(_, instance_id, resource)| (instance_id, resource))
            .collect())
    }

    async fn release_poller(
        &self,
        instance_id: i64,
        resource: &str,
        next_due_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE pollers SET lease_owner = NULL, lease_until_ms = NULL, next_due_ms = ?
             WHERE instance_id = ? AND resource = ?",
        )
        .bind(next_due_ms)
        .bind(instance_id)
        .bind(resource.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > ?
                             THEN MAX(next_due_ms, lease_until_ms) ELSE next_due_ms END)
             FROM pollers",
        )
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(next)
    }

    async fn set_all_pollers_due(&self, due_ms: i64) -> Result<u64> {
        let done = sqlx::query("UPDATE pollers SET next_due_ms = ?")
            .bind(due_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn count_polled_since(&self, since_ms: i64) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pollers WHERE last_poll_ms >= ?")
            .bind(since_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn instance_by_id(&self, id: i64) -> Result<Option<InstanceRecord>> {
        let row = sqlx::query(
            "SELECT id, organization_id, user_id, element_key, name, tags, credentials, valid,
                    invalid_reason, disabled, events_enabled, version, created_ms, updated_ms
             FROM instances WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.load(row).await?)),
            None => Ok(None),
        }
    }

    async fn unnotified_events(&self, limit: i64) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT id, event_id, instance_id, resource, object_id, event_type, date_ms,
                    poll_date_ms, date_error, record, status, notification_id
             FROM events WHERE notification_id IS NULL ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(event_row).collect()
    }

    async fn queue_notifications(
        &self,
        notifications: Vec<NewNotification>,
        now_ms: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for notification in notifications {
            // Its events first: a notification is stored only if it takes every one of them,
            // or two queue passes that read different windows could each send some event.
            let mut taken = 0usize;
            for event_id in &notification.event_ids {
                let rows = sqlx::query(
                    "UPDATE events SET notification_id = ?, status = 'QUEUED'
                     WHERE event_id = ? AND notification_id IS NULL",
                )
                .bind(notification.id.clone())
                .bind(event_id.clone())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                taken += usize::try_from(rows).unwrap_or(0);
            }
            if taken == 0 {
                continue; // queued before
            }
            if taken < notification.event_ids.len() {
                // Some went into another notification meanwhile: give the rest back, to be
                // grouped afresh by the next pass.
                sqlx::query(
                    "UPDATE events SET notification_id = NULL, status = 'NEW'
                     WHERE notification_id = ?",
                )
                .bind(notification.id.clone())
                .execute(&mut *tx)
                .await?;
                continue;
            }
            sqlx::query(
                "INSERT INTO notifications (id, instance_id, resource, callback_url, body, status,
                     next_attempt_ms, created_ms)
                 VALUES (?, ?, ?, ?, ?, 'QUEUED', ?, ?)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(notification.id.clone())
            .bind(notification.instance_id)
            .bind(notification.resource)
            .bind(notification.callback_url)
            .bind(notification.body)
            .bind(now_ms)
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
        // The soonest-due candidates (URLs capped at 0 left out, so what waits behind a busy
        // receiver is reached; a few times the limit, so a URL with a small cap cannot fill the
        // window for long), ranked within their URL, and the first of each URL up to its cap
        // taken.
        let rows = sqlx::query(
            "UPDATE notifications SET lease_owner = ?1, lease_until_ms = ?2
             WHERE id IN (
                 SELECT id FROM (
                     SELECT c.id, c.next_attempt_ms,
                            ROW_NUMBER() OVER (PARTITION BY c.callback_url
                                               ORDER BY c.next_attempt_ms, c.id) AS rank,
                            COALESCE(j.value, ?5) AS cap
                     FROM (SELECT n.id, n.callback_url, n.next_attempt_ms FROM notifications n
                           WHERE n.status = 'QUEUED' AND n.next_attempt_ms <= ?3
                             AND (n.lease_until_ms IS NULL OR n.lease_until_ms <= ?3)
                             AND n.callback_url NOT IN
                                 (SELECT z.key FROM json_each(?4) z WHERE z.value <= 0)
                             AND NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                             WHERE s.instance_id = n.instance_id
                                               AND s.url = n.callback_url)
                           ORDER BY n.next_attempt_ms LIMIT ?6 * 4 + 64) c
                     LEFT JOIN json_each(?4) j ON j.key = c.callback_url)
                 WHERE rank <= cap
                 ORDER BY next_attempt_ms LIMIT ?6)
             RETURNING id, instance_id, resource, callback_url, body, status, attempts,
                 next_attempt_ms,
                 (SELECT i.version FROM instances i WHERE i.id = notifications.instance_id)
                     AS instance_version",
        )
        .bind(owner.to_owned())
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(per_url)
        .bind(caps.default)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        // RETURNING's order is the update's, not the ORDER BY's: sort here.
        let mut claimed = rows
            .into_iter()
            .map(|row| {
                let due: i64 = row.try_get("next_attempt_ms")?;
                Ok((
                    due,
                    NotificationRecord {
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
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by(|(a_due, a), (b_due, b)| (a_due, &a.id).cmp(&(b_due, &b.id)));
        Ok(claimed.into_iter().map(|(_, n)| n).collect())
    }

    async fn prune(&self, before_ms: i64) -> Result<u64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let events = sqlx::query(
            "DELETE FROM events WHERE created_ms < ? AND status IN ('NOTIFIED', 'FAILED')",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM notifications WHERE created_ms < ? AND status IN ('NOTIFIED', 'FAILED')",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn resume_callbacks(&self, instance_id: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM stopped_callbacks WHERE instance_id = ?")
                .bind(instance_id)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn defer_notification(&self, notification_id: &str, at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET next_attempt_ms = ?, lease_owner = NULL, lease_until_ms = NULL
             WHERE id = ? AND status = 'QUEUED'",
        )
        .bind(at_ms)
        .bind(notification_id.to_owned())
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
            sqlx::query_scalar("SELECT body FROM notifications WHERE id = ?")
                .bind(notification_id.to_owned())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn in_flight_notifications(&self, now_ms: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM notifications
             WHERE status = 'QUEUED' AND lease_until_ms > ? ORDER BY id",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for attempt in attempts {
            // A notification deleted meanwhile (its instance was) has nothing left to settle;
            // skipping it keeps the rest of the batch.
            let recorded = sqlx::query(
                "INSERT INTO delivery_attempts (notification_id, at_ms, status_code, duration_ms,
                     excerpt, error)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6
                 WHERE EXISTS (SELECT 1 FROM notifications WHERE id = ?1)",
            )
            .bind(attempt.notification_id.clone())
            .bind(attempt.at_ms)
            .bind(attempt.status_code.map(i64::from))
            .bind(attempt.duration_ms)
            .bind(attempt.excerpt)
            .bind(attempt.error.clone())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if recorded == 0 {
                continue;
            }
            let (status, next, delivered) = match attempt.outcome {
                AttemptOutcome::Delivered => ("NOTIFIED", attempt.at_ms, Some(attempt.at_ms)),
                AttemptOutcome::RetryAt(at) => ("QUEUED", at, None),
                AttemptOutcome::Failed | AttemptOutcome::Gone => ("FAILED", attempt.at_ms, None),
            };
            if attempt.outcome == AttemptOutcome::Gone {
                sqlx::query(
                    "INSERT INTO stopped_callbacks (instance_id, url, stopped_ms)
                     SELECT instance_id, ?, ? FROM notifications WHERE id = ?
                     ON CONFLICT (instance_id, url) DO NOTHING",
                )
                .bind(attempt.url.clone())
                .bind(attempt.at_ms)
                .bind(attempt.notification_id.clone())
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE notifications SET status = ?, attempts = attempts + 1, next_attempt_ms = ?,
                     lease_owner = NULL, lease_until_ms = NULL, last_status = ?, last_error = ?,
                     delivered_ms = COALESCE(?, delivered_ms)
                 WHERE id = ?",
            )
            .bind(status)
            .bind(next)
            .bind(attempt.status_code.map(i64::from))
            .bind(attempt.error)
            .bind(delivered)
            .bind(attempt.notification_id.clone())
            .execute(&mut *tx)
            .await?;
            if status != "QUEUED" {
                sqlx::query("UPDATE events SET status = ? WHERE notification_id = ?")
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
             WHERE notification_id = ? ORDER BY id",
        )
        .bind(notification_id.to_owned())
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
                    "SELECT e.id, e.event_id, e.instance_id, e.resource, e.object_id,
                        e.event_type, e.date_ms, e.poll_date_ms, e.date_error, e.record,
                        e.status, e.notification_id
                     FROM events e JOIN instances i ON i.id = e.instance_id
                     WHERE i.organization_id = ?
                       AND (? IS NULL OR e.instance_id = ?)
                       AND (? IS NULL OR e.status = ?)
                       AND (? IS NULL OR e.resource = ?)
                       AND (? IS NULL OR e.event_type = ?)
                       AND (? IS NULL OR e.created_ms >= ?)
                       AND (? IS NULL OR e.created_ms < ?)
                       AND e.id > ?
                     ORDER BY e.id ",
                    $order,
                    " LIMIT ?"
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
            .bind(filter.instance_id)
            .bind(filter.status.clone())
            .bind(filter.status.clone())
            .bind(filter.resource.clone())
            .bind(filter.resource.clone())
            .bind(filter.event_type.clone())
            .bind(filter.event_type.clone())
            .bind(filter.from_ms)
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.to_ms)
            .bind(filter.after_id)
            .bind(filter.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(event_row).collect()
    }

    async fn event(&self, organization_id: i64, event_id: &str) -> Result<Option<EventRecord>> {
        let row = sqlx::query(
            "SELECT e.id, e.event_id, e.instance_id, e.resource, e.object_id, e.event_type,
                    e.date_ms, e.poll_date_ms, e.date_error, e.record, e.status, e.notification_id
             FROM events e JOIN instances i ON i.id = e.instance_id
             WHERE i.organization_id = ? AND e.event_id = ?",
        )
        .bind(organization_id)
        .bind(event_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(event_row).transpose()
    }

    async fn requeue_notification(&self, notification_id: &str, now_ms: i64) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Sent again to where the instance's events go now.
        let changed = sqlx::query(
            "UPDATE notifications SET status = 'QUEUED', attempts = 0, next_attempt_ms = ?,
                 lease_owner = NULL, lease_until_ms = NULL,
                 callback_url = COALESCE((SELECT value FROM instance_configuration c
                     WHERE c.instance_id = notifications.instance_id AND c.key = ?), callback_url)
             WHERE id = ?",
        )
        .bind(now_ms)
        .bind(CALLBACK_URL)
        .bind(notification_id.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE events SET status = 'QUEUED' WHERE notification_id = ?")
            .bind(notification_id.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed > 0)
    }

    async fn requeue_failed(&self, instance_id: i64, since_ms: i64, now_ms: i64) -> Result<u64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE notifications SET status = 'QUEUED', attempts = 0, next_attempt_ms = ?,
                 lease_owner = NULL, lease_until_ms = NULL
             WHERE instance_id = ? AND status = 'FAILED' AND created_ms >= ?
             RETURNING id",
        )
        .bind(now_ms)
        .bind(instance_id)
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            sqlx::query("UPDATE events SET status = 'QUEUED' WHERE notification_id = ?")
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn events(
        &self,
        instance_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT id, event_id, instance_id, resource, object_id, event_type, date_ms,
                    poll_date_ms, date_error, record, status, notification_id
             FROM events WHERE instance_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(instance_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(event_row).collect()
    }

    async fn insert_instance(&self, new: NewInstance) -> Result<InstanceRecord> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let data = &new.data;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO instances (organization_id, user_id, element_key, name, token_hash, tags,
                 credentials, valid, invalid_reason, disabled, events_enabled, version,
                 created_ms, updated_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id",
        )
        .bind(new.principal.organization_id)
        .bind(new.principal.user_id)
        .bind(new.element_key.clone())
        .bind(data.name.clone())
        .bind(new.token_hash.clone())
        .bind(tags_json(&data.tags))
        .bind(data.credentials.clone())
        .bind(data.valid)
        .bind(data.invalid_reason.clone())
        .bind(data.disabled)
        .bind(data.events_enabled)
        .bind(new.now_ms)
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
        let row = sqlx::query(
            "SELECT id, organization_id, user_id, element_key, name, tags, credentials, valid,
                    invalid_reason, disabled, events_enabled, version, created_ms, updated_ms
             FROM instances WHERE organization_id = ? AND id = ?",
        )
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.load(row).await?)),
            None => Ok(None),
        }
    }

    async fn instances(&self, organization_id: i64) -> Result<Vec<InstanceRecord>> {
        let rows = sqlx::query(
            "SELECT id, organization_id, user_id, element_key, name, tags, credentials, valid,
                    invalid_reason, disabled, events_enabled, version, created_ms, updated_ms
             FROM instances WHERE organization_id = ? ORDER BY id",
        )
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let changed = sqlx::query(
            "UPDATE instances SET name = ?, tags = ?, credentials = ?, valid = ?,
                 invalid_reason = ?, disabled = ?, events_enabled = ?, version = version + 1,
                 updated_ms = ?
             WHERE organization_id = ? AND id = ? AND version = ?",
        )
        .bind(data.name.clone())
        .bind(tags_json(&data.tags))
        .bind(data.credentials.clone())
        .bind(data.valid)
        .bind(data.invalid_reason.clone())
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
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM instances WHERE organization_id = ? AND id = ?")
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
        let deleted = sqlx::query("DELETE FROM instances WHERE organization_id = ? AND id = ?")
            .bind(organization_id)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }
}
