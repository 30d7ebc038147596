//! The SQLite store: one file (WAL mode), created and migrated on first open.
//!
//! SQLite allows one writer at a time; WAL lets readers go on meanwhile, and `busy_timeout`
//! makes a writer wait for the lock instead of failing. Every writing transaction starts with
//! `BEGIN IMMEDIATE`: a transaction that reads first and writes later could otherwise find,
//! at its first write, that another writer committed since its read (`SQLITE_BUSY_SNAPSHOT`),
//! which no waiting can cure. That one writer is also why SQLite takes none of the
//! locks (`Lock`) PostgreSQL does: no other transaction runs while one writes. Foreign keys are
//! switched on per connection (SQLite's default is off), so deleting an instance deletes its
//! configuration.
//!
//! The statements are shared (`sql/`); this module has what is SQLite's own: opening
//! the file, the claims (one `UPDATE` under the write lock, reading the caps as JSON with
//! `json_each`), and the statements that take a list (a loop: SQLite has no arrays).

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection};

use crate::migrate::{self, Migration};
use crate::sql::rows::{self, Columns, notification_columns, poller_columns};
use crate::sql::{Backend, Lock, Queued, SqlStore, limit};
use crate::{
    CallbackCaps, EventStatus, NotificationRecord, NotificationStatus, PollerRecord, Result,
    StoreError,
};

/// The SQLite implementation of [`Store`](crate::Store).
pub type SqliteStore = SqlStore<Sqlite>;

/// Whether SQLite said "the database is locked" (`SQLITE_BUSY`, or one of its extended codes).
fn is_busy(error: &dyn sqlx::error::DatabaseError) -> bool {
    const SQLITE_BUSY: i32 = 5;
    error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

impl SqlStore<Sqlite> {
    /// Opens `sqlite://PATH` (creating the file) or `sqlite::memory:`, and migrates it.
    pub async fn open(url: &str, now_ms: i64) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(url.to_owned()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // No checkpoint by whichever commit fills the WAL past 1,000 pages: that commit
            // waited for the copy and the file's sync (issue 21: the delivery latency's p99
            // fell from 6–8 ms to under 3 ms without them). [`checkpoints`] runs them instead.
            .pragma("wal_autocheckpoint", "0");
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
        // One pool for reads and writes. A pool of one connection of its own for this
        // process's writes was tried (issue 21): writers then queue in order instead of in
        // SQLite's busy handler, but on a quiet machine it halved the delivery drain (3,300
        // against 1,800 notifications a second, 0.31 against 0.48 ms of CPU each, back to
        // back), so it is not used.
        let mut store = SqlStore::new(pool.clone());
        if !in_memory {
            store.run_beside(tokio::spawn(checkpoints(pool)).abort_handle());
        }
        Ok(store)
    }
}

/// Claimed notifications in the order they are due, then by id: `RETURNING`'s order is the
/// update's, not the `ORDER BY`'s.
fn due_order(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<NotificationRecord>> {
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok((
                row.column::<i64>("next_attempt_ms")?,
                rows::notification(row)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by(|(a_due, a), (b_due, b)| (a_due, &a.id).cmp(&(b_due, &b.id)));
    Ok(claimed.into_iter().map(|(_, n)| n).collect())
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`], on a connection of
/// the pool, beside the writers rather than in one of their commits (`PASSIVE`: it takes no
/// lock a writer or reader waits for, and copies what no reader still needs). Runs until the
/// store is dropped. A process that ends checkpoints as its last connection closes.
async fn checkpoints(pool: SqlitePool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "could not checkpoint the SQLite WAL");
        }
    }
}

impl Backend for Sqlite {
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const NUMBERED_BINDS: bool = false;
    const ROW_LOCKS: bool = false;
    const MIGRATIONS: &'static [Migration] = migrate::SQLITE;

    /// SQLite text holds any character, NUL included.
    fn diagnostic(text: &str) -> String {
        text.to_owned()
    }

    /// Nothing to lock: `BEGIN IMMEDIATE` holds the database's one write lock already.
    async fn lock(_conn: &mut SqliteConnection, _lock: Lock<'_>) -> Result<()> {
        Ok(())
    }

    async fn queue_notification(conn: &mut SqliteConnection, queued: &Queued<'_>) -> Result<bool> {
        // The four statements in one call (sqlx runs a script's statements in turn, binding
        // each `$n` by its number): on SQLite each call is a trip to the connection's thread,
        // and the queue's transaction is on the way from an event stored to its notification
        // sent. Each statement after the first decides from what the ones before it wrote.
        let notification = queued.notification;
        let ids = serde_json::to_string(&notification.event_ids).unwrap_or_else(|_| "[]".into());
        let (owner, until) = queued.lease.unzip();
        let stored = sqlx::query(
            "UPDATE events SET notification_id = $1, status = $2
             WHERE event_id IN (SELECT value FROM json_each($3)) AND notification_id IS NULL;
             INSERT INTO notifications (id, instance_id, resource, callback_url, status,
                 next_attempt_ms, created_ms, number, lease_owner, lease_until_ms, poll_date_ms)
             SELECT $1, $4, $5, $6, $7, $8, $8, $9,
                 CASE WHEN NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                       WHERE s.instance_id = $4 AND s.url = $6)
                      THEN $10 END,
                 CASE WHEN NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                       WHERE s.instance_id = $4 AND s.url = $6)
                      THEN $11 END,
                 $15
             WHERE (SELECT COUNT(*) FROM events WHERE notification_id = $1) = $12
             ON CONFLICT (id) DO NOTHING
             RETURNING lease_owner;
             INSERT INTO notification_bodies (notification_id, body)
             SELECT $1, $13 WHERE EXISTS (SELECT 1 FROM notifications WHERE id = $1)
             ON CONFLICT (notification_id) DO NOTHING;
             UPDATE events SET notification_id = NULL, status = $14
             WHERE notification_id = $1
               AND NOT EXISTS (SELECT 1 FROM notifications WHERE id = $1)",
        )
        .bind(notification.id.as_str())
        .bind(EventStatus::Queued.as_str())
        .bind(ids)
        .bind(notification.instance_id)
        .bind(notification.resource.as_str())
        .bind(notification.callback_url.as_str())
        .bind(NotificationStatus::Queued.as_str())
        .bind(queued.now_ms)
        .bind(queued.number)
        .bind(owner)
        .bind(until)
        .bind(i64::try_from(notification.event_ids.len()).unwrap_or(i64::MAX))
        .bind(notification.body.as_slice())
        .bind(EventStatus::New.as_str())
        .bind(notification.poll_date_ms)
        // Every row, so that every statement runs (only the notification's insert returns
        // one, where it stored it).
        .fetch_all(&mut *conn)
        .await?;
        match stored.first() {
            Some(row) => Ok(row.column::<Option<String>>("lease_owner")?.is_some()),
            None => Ok(false),
        }
    }

    const IDLE_ROWS: &'static str = "(SELECT j.value ->> 'i' AS i, j.value ->> 'r' AS r,
             j.value ->> 'ver' AS ver, j.value ->> 'c' AS c, j.value ->> 's' AS s,
             j.value ->> 'd' AS d, j.value ->> 'n' AS n, j.value ->> 'm' AS m,
             j.value ->> 'dc' AS dc, j.value ->> 'l' AS l, j.value ->> 'lf' AS lf,
             j.value ->> 'lu' AS lu, j.value ->> 'dm' AS dm
         FROM json_each($1) j) AS v";

    async fn settle_attempts(conn: &mut SqliteConnection, attempts: &str) -> Result<()> {
        // Both statements in one call (a script, `$1` bound once for both): one trip to the
        // connection's thread rather than two, as the queue's script does.
        sqlx::query(
            "INSERT INTO delivery_attempts (notification_id, at_ms, status_code, duration_ms,
                 excerpt, error)
             SELECT j.value ->> 'id', j.value ->> 'at', j.value ->> 'code',
                    j.value ->> 'duration', j.value ->> 'excerpt', j.value ->> 'error'
             FROM json_each($1) j
             WHERE EXISTS (SELECT 1 FROM notifications n WHERE n.id = j.value ->> 'id')
             ORDER BY j.key;
             UPDATE notifications SET status = v.new_status, attempts = attempts + 1,
                 next_attempt_ms = v.next_ms, lease_owner = NULL, lease_until_ms = NULL,
                 last_status = v.code, last_error = v.error_text,
                 delivered_ms = COALESCE(v.delivered_at, delivered_ms)
             FROM (SELECT j.value ->> 'id' AS settled_id, j.value ->> 'status' AS new_status,
                          j.value ->> 'next' AS next_ms, j.value ->> 'code' AS code,
                          j.value ->> 'error' AS error_text,
                          j.value ->> 'delivered' AS delivered_at
                   FROM json_each($1) j) AS v
             WHERE notifications.id = v.settled_id",
        )
        .bind(attempts)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn claim_due_pollers(
        pool: &SqlitePool,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<PollerRecord>> {
        // One statement: SQLite runs it under its write lock, so two workers never claim the
        // same poller.
        let rows = sqlx::query(concat!(
            "UPDATE pollers SET lease_owner = $1, lease_until_ms = $2
             WHERE rowid IN (
                 SELECT rowid FROM pollers
                 WHERE next_due_ms <= $3 AND (lease_until_ms IS NULL OR lease_until_ms <= $3)
                 ORDER BY next_due_ms LIMIT CAST($4 AS BIGINT))
             RETURNING ",
            poller_columns!()
        ))
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(self::limit(limit))
        .fetch_all(pool)
        .await?;
        // RETURNING's order is the update's, not the ORDER BY's: sort here.
        let mut claimed = rows.iter().map(rows::poller).collect::<Result<Vec<_>>>()?;
        claimed.sort_by(|a, b| {
            (a.next_due_ms, a.instance_id, &a.resource).cmp(&(
                b.next_due_ms,
                b.instance_id,
                &b.resource,
            ))
        });
        Ok(claimed)
    }

    async fn claim_due_for_url(
        pool: &SqlitePool,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        url: &str,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>> {
        // One statement, under the write lock. The status is the literal the partial index
        // names ('QUEUED', `NotificationStatus::Queued`), so the planner reads that index.
        let rows = sqlx::query(concat!(
            "UPDATE notifications SET lease_owner = $1, lease_until_ms = $2
             WHERE id IN (
                 SELECT n.id FROM notifications n INDEXED BY notifications_due_by_url
                 WHERE n.status = 'QUEUED' AND n.callback_url = $4 AND n.next_attempt_ms <= $3
                   AND (n.lease_until_ms IS NULL OR n.lease_until_ms <= $3)
                   AND NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                   WHERE s.instance_id = n.instance_id AND s.url = $4)
                 ORDER BY n.next_attempt_ms, n.id LIMIT CAST($5 AS BIGINT))
             RETURNING ",
            notification_columns!()
        ))
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(url)
        .bind(self::limit(limit))
        .fetch_all(pool)
        .await?;
        due_order(&rows)
    }

    async fn claim_due_notifications(
        pool: &SqlitePool,
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
        // taken. One statement, under the write lock.
        let rows = sqlx::query(concat!(
            "UPDATE notifications SET lease_owner = $1, lease_until_ms = $2
             WHERE id IN (
                 SELECT id FROM (
                     SELECT c.id, c.next_attempt_ms,
                            ROW_NUMBER() OVER (PARTITION BY c.callback_url
                                               ORDER BY c.next_attempt_ms, c.id) AS rank,
                            COALESCE(j.value, $5) AS cap
                     FROM (SELECT n.id, n.callback_url, n.next_attempt_ms FROM notifications n
                           WHERE n.status = $7 AND n.next_attempt_ms <= $3
                             AND (n.lease_until_ms IS NULL OR n.lease_until_ms <= $3)
                             AND n.callback_url NOT IN
                                 (SELECT z.key FROM json_each($4) z WHERE z.value <= 0)
                             AND NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                             WHERE s.instance_id = n.instance_id
                                               AND s.url = n.callback_url)
                           ORDER BY n.next_attempt_ms LIMIT CAST($6 * 4 + 64 AS BIGINT)) c
                     LEFT JOIN json_each($4) j ON j.key = c.callback_url)
                 WHERE rank <= cap
                 ORDER BY next_attempt_ms LIMIT CAST($6 AS BIGINT))
             RETURNING ",
            notification_columns!()
        ))
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(per_url.as_str())
        .bind(caps.default)
        .bind(limit)
        .bind(NotificationStatus::Queued.as_str())
        .fetch_all(pool)
        .await?;
        due_order(&rows)
    }

    async fn requeue_failed(
        pool: &SqlitePool,
        instance_id: i64,
        since_ms: i64,
        now_ms: i64,
    ) -> Result<u64> {
        let mut tx = pool.begin_with(Self::BEGIN).await?;
        let requeued = sqlx::query(
            "UPDATE notifications SET status = $1, attempts = 0, next_attempt_ms = $2,
                 lease_owner = NULL, lease_until_ms = NULL
             WHERE instance_id = $3 AND status = $4 AND created_ms >= $5
             RETURNING id",
        )
        .bind(NotificationStatus::Queued.as_str())
        .bind(now_ms)
        .bind(instance_id)
        .bind(NotificationStatus::Failed.as_str())
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        for row in &requeued {
            sqlx::query("UPDATE events SET status = $1 WHERE notification_id = $2")
                .bind(EventStatus::Queued.as_str())
                .bind(row.column::<String>("id")?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(requeued.len() as u64)
    }

    /// Nothing to tell: one process per database file, and it nudges itself.
    async fn wake_others(_pool: &SqlitePool, _topic: &str) -> Result<()> {
        Ok(())
    }

    async fn wake_ups(_pool: &SqlitePool) -> Result<Option<tokio::sync::mpsc::Receiver<String>>> {
        Ok(None)
    }
}
