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
//! The statements are shared (`sql/`); this module has what is PostgreSQL's own: the
//! claims, the locks (`Lock`) taken before writes, the statements that take a list (arrays),
//! `LISTEN`/`NOTIFY`, and connecting.
//!
//! The database must exist (the store creates its tables, not the database). Connections are
//! plain TCP: sqlx is built without TLS, fine for loopback or a private network; encrypting
//! them needs one of sqlx's rustls features (`tls-rustls-ring-webpki`) in the workspace manifest.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres};

use tributary_domain::instance_config::CALLBACK_URL;

use crate::migrate::{self, Migration};
use crate::sql::rows::{self, Columns, notification_columns, poller_columns};
use crate::sql::{Backend, Lock, Queued, SqlStore, limit};
use crate::{
    CallbackCaps, EventStatus, NotificationRecord, NotificationStatus, PollerRecord, Result,
    StoreError,
};

/// The PostgreSQL implementation of [`Store`](crate::Store).
pub type PostgresStore = SqlStore<Postgres>;

/// The transaction lock that keeps event ids in commit order (the key spells "tribevnt").
const EVENTS_LOCK: &str = "SELECT pg_advisory_xact_lock(8390884927074627188)";

/// The `LISTEN`/`NOTIFY` channel of wake-ups between processes.
const WAKE_CHANNEL: &str = "tributary_wake";

impl SqlStore<Postgres> {
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
        Ok(SqlStore::new(pool))
    }
}

impl Backend for Postgres {
    const BEGIN: &'static str = "BEGIN";
    const NUMBERED_BINDS: bool = true;
    const ROW_LOCKS: bool = true;
    const MIGRATIONS: &'static [Migration] = migrate::POSTGRES;

    /// PostgreSQL text cannot hold a NUL character (which a receiver's binary answer can carry
    /// into an excerpt): it becomes U+FFFD instead of failing the write.
    fn diagnostic(text: &str) -> String {
        text.replace('\0', "\u{FFFD}")
    }

    async fn lock(conn: &mut PgConnection, lock: Lock<'_>) -> Result<()> {
        match lock {
            Lock::Instance(id) => {
                sqlx::query("SELECT 1 FROM instances WHERE id = $1 FOR KEY SHARE")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Lock::InstanceOf(notification_id) => {
                sqlx::query(
                    "SELECT 1 FROM instances
                     WHERE id = (SELECT instance_id FROM notifications WHERE id = $1)
                     FOR KEY SHARE",
                )
                .bind(notification_id)
                .execute(&mut *conn)
                .await?;
            }
            Lock::InstancePollers(id) => {
                sqlx::query("SELECT 1 FROM instances WHERE id = $1 FOR NO KEY UPDATE")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Lock::EventOrder => {
                // Ids come from a sequence when a row is inserted, not when it commits: two
                // commits side by side could make id 11 visible before id 10, and a reader
                // paging by id past 11 would never see 10. Event-bearing commits take turns
                // instead, as every write does on SQLite.
                sqlx::query(EVENTS_LOCK).execute(&mut *conn).await?;
            }
            Lock::Bootstrap => {
                // The key spells "tribboot".
                sqlx::query("SELECT pg_advisory_xact_lock(8390884927023837044)")
                    .execute(&mut *conn)
                    .await?;
            }
            Lock::Repointed(instance_id) => {
                // In id order, the order a sender's group commit locks them in, so the two
                // cannot deadlock.
                sqlx::query(
                    "SELECT id FROM notifications
                     WHERE instance_id = $1 AND status <> $3
                       AND callback_url <> (SELECT value FROM instance_configuration
                           WHERE instance_id = $1 AND key = $2)
                     ORDER BY id FOR UPDATE",
                )
                .bind(instance_id)
                .bind(CALLBACK_URL)
                .bind(NotificationStatus::Notified.as_str())
                .execute(&mut *conn)
                .await?;
            }
            Lock::IdleInstances(instance_ids) => {
                // FOR SHARE: an instance's edit, delete or pollers' sync (FOR NO KEY UPDATE)
                // waits for the batch, or the batch for it, before either touches a poller row.
                sqlx::query("SELECT id FROM instances WHERE id = ANY($1) ORDER BY id FOR SHARE")
                    .bind(instance_ids)
                    .execute(&mut *conn)
                    .await?;
            }
            Lock::Settling(notification_ids) => {
                // Instances then notifications, each in id order (the order an instance's edit
                // takes them in). One being deleted right now is waited for, then not found.
                sqlx::query(
                    "SELECT id FROM instances
                     WHERE id IN (SELECT instance_id FROM notifications WHERE id = ANY($1))
                     ORDER BY id FOR KEY SHARE",
                )
                .bind(notification_ids)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "SELECT id FROM notifications WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                )
                .bind(notification_ids)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }

    async fn queue_notification(conn: &mut PgConnection, queued: &Queued<'_>) -> Result<bool> {
        // Two processes queuing the same events meet on the notification's primary key (the
        // second waits for the first to commit, then does nothing) and on each event's row
        // (the second waits, re-reads it, and finds it taken): the outcome of one after the
        // other, as on SQLite.
        let notification = queued.notification;
        let taken = sqlx::query(
            "UPDATE events SET notification_id = $1, status = $2
             WHERE event_id = ANY($3) AND notification_id IS NULL",
        )
        .bind(notification.id.as_str())
        .bind(EventStatus::Queued.as_str())
        .bind(&notification.event_ids)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(false); // queued before
        }
        if usize::try_from(taken).unwrap_or(usize::MAX) < notification.event_ids.len() {
            sqlx::query(
                "UPDATE events SET notification_id = NULL, status = $1
                 WHERE notification_id = $2",
            )
            .bind(EventStatus::New.as_str())
            .bind(notification.id.as_str())
            .execute(&mut *conn)
            .await?;
            return Ok(false);
        }
        let (owner, until) = queued.lease.unzip();
        let stored = sqlx::query(
            "INSERT INTO notifications (id, instance_id, resource, callback_url, status,
                 next_attempt_ms, created_ms, number, lease_owner, lease_until_ms, poll_date_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7,
                 CASE WHEN NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                       WHERE s.instance_id = $2 AND s.url = $4)
                      THEN $8 END,
                 CASE WHEN NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                       WHERE s.instance_id = $2 AND s.url = $4)
                      THEN $9 END,
                 $10)
             ON CONFLICT (id) DO NOTHING
             RETURNING lease_owner",
        )
        .bind(notification.id.as_str())
        .bind(notification.instance_id)
        .bind(notification.resource.as_str())
        .bind(notification.callback_url.as_str())
        .bind(NotificationStatus::Queued.as_str())
        .bind(queued.now_ms)
        .bind(queued.number)
        .bind(owner)
        .bind(until)
        .bind(notification.poll_date_ms)
        .fetch_optional(&mut *conn)
        .await?;
        // The body in its own table, so claims and settles update small rows.
        sqlx::query(
            "INSERT INTO notification_bodies (notification_id, body) VALUES ($1, $2)
             ON CONFLICT (notification_id) DO NOTHING",
        )
        .bind(notification.id.as_str())
        .bind(notification.body.as_slice())
        .execute(&mut *conn)
        .await?;
        match stored {
            Some(row) => Ok(row.column::<Option<String>>("lease_owner")?.is_some()),
            None => Ok(false),
        }
    }

    const IDLE_ROWS: &'static str = "jsonb_to_recordset($1::jsonb) AS v(i bigint, r text,
         ver bigint, c bigint, s text, d bigint, n bigint, m text, dc bigint, l bigint,
         lf bigint, lu bigint, dm text)";

    async fn settle_attempts(conn: &mut PgConnection, attempts: &str) -> Result<()> {
        const ROWS: &str = "jsonb_to_recordset($1::jsonb) AS v(id text, at bigint, code bigint,
             duration bigint, excerpt text, error text, status text, next bigint,
             delivered bigint)";
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO delivery_attempts (notification_id, at_ms, status_code, duration_ms,
                 excerpt, error)
             SELECT v.id, v.at, v.code, v.duration, v.excerpt, v.error FROM {ROWS}
             WHERE EXISTS (SELECT 1 FROM notifications n WHERE n.id = v.id)
             ORDER BY v.id"
        )))
        .bind(attempts)
        .execute(&mut *conn)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE notifications n SET status = v.status, attempts = n.attempts + 1,
                 next_attempt_ms = v.next, lease_owner = NULL, lease_until_ms = NULL,
                 last_status = v.code, last_error = v.error,
                 delivered_ms = COALESCE(v.delivered, n.delivered_ms)
             FROM {ROWS} WHERE n.id = v.id"
        )))
        .bind(attempts)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn claim_due_pollers(
        pool: &PgPool,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<PollerRecord>> {
        // SKIP LOCKED: a poller another worker is claiming right now is passed over, not
        // waited for; one whose claim committed since this statement began is re-checked
        // against the WHERE on its newest version (its lease is now live) and dropped.
        let rows = sqlx::query(concat!(
            "WITH claimed AS (
                 UPDATE pollers SET lease_owner = $1, lease_until_ms = $2
                 WHERE (instance_id, resource) IN (
                     SELECT instance_id, resource FROM pollers
                     WHERE next_due_ms <= $3 AND (lease_until_ms IS NULL OR lease_until_ms <= $3)
                     ORDER BY next_due_ms LIMIT $4
                     FOR UPDATE SKIP LOCKED)
                 RETURNING ",
            poller_columns!(),
            ")
             SELECT * FROM claimed
             ORDER BY next_due_ms, instance_id, resource"
        ))
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(self::limit(limit))
        .fetch_all(pool)
        .await?;
        rows.iter().map(rows::poller).collect()
    }

    async fn claim_due_for_url(
        pool: &PgPool,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        url: &str,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>> {
        // The status is the literal the partial index names ('QUEUED',
        // `NotificationStatus::Queued`), so the planner can read that index; what another worker
        // is claiming right now is skipped (SKIP LOCKED).
        let rows = sqlx::query(concat!(
            "WITH claimed AS (
                 UPDATE notifications SET lease_owner = $1, lease_until_ms = $2
                 WHERE id IN (
                     SELECT n.id FROM notifications n
                     WHERE n.status = 'QUEUED' AND n.callback_url = $4
                       AND n.next_attempt_ms <= $3
                       AND (n.lease_until_ms IS NULL OR n.lease_until_ms <= $3)
                       AND NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                       WHERE s.instance_id = n.instance_id AND s.url = $4)
                     ORDER BY n.next_attempt_ms, n.id LIMIT $5
                     FOR UPDATE OF n SKIP LOCKED)
                 RETURNING ",
            notification_columns!(),
            ")
             SELECT * FROM claimed ORDER BY next_attempt_ms, id"
        ))
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(url)
        .bind(self::limit(limit))
        .fetch_all(pool)
        .await?;
        rows.iter().map(rows::notification).collect()
    }

    async fn claim_due_notifications(
        pool: &PgPool,
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
        let rows = sqlx::query(concat!(
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
                               WHERE n.status = $8 AND n.next_attempt_ms <= $3
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
                 RETURNING ",
            notification_columns!(),
            ")
             SELECT * FROM claimed ORDER BY next_attempt_ms, id"
        ))
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .bind(per_url.as_str())
        .bind(caps.default)
        .bind(self::limit(limit))
        .bind(self::limit(limit.saturating_mul(4).saturating_add(64)))
        .bind(NotificationStatus::Queued.as_str())
        .fetch_all(pool)
        .await?;
        rows.iter().map(rows::notification).collect()
    }

    async fn requeue_failed(
        pool: &PgPool,
        instance_id: i64,
        since_ms: i64,
        now_ms: i64,
    ) -> Result<u64> {
        let mut tx = pool.begin().await?;
        Self::lock(&mut tx, Lock::Instance(instance_id)).await?;
        // The notifications first, in id order (the order a sender's group commit locks them
        // in); then exactly those, and their events.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM notifications
             WHERE instance_id = $1 AND status = $2 AND created_ms >= $3
             ORDER BY id FOR UPDATE",
        )
        .bind(instance_id)
        .bind(NotificationStatus::Failed.as_str())
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE notifications SET status = $1, attempts = 0, next_attempt_ms = $2,
                 lease_owner = NULL, lease_until_ms = NULL
             WHERE id = ANY($3)",
        )
        .bind(NotificationStatus::Queued.as_str())
        .bind(now_ms)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE events SET status = $1 WHERE notification_id = ANY($2)")
            .bind(EventStatus::Queued.as_str())
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn wake_others(pool: &PgPool, topic: &str) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(WAKE_CHANNEL)
            .bind(topic)
            .execute(pool)
            .await?;
        Ok(())
    }

    async fn wake_ups(pool: &PgPool) -> Result<Option<tokio::sync::mpsc::Receiver<String>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(WAKE_CHANNEL).await?;
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            // Until nobody listens any more (the receiver is dropped): then the listener and
            // its connection go, rather than retry against a database that may be gone.
            let nobody = sender.clone();
            let listening = async move {
                loop {
                    // `recv` reconnects after a dropped connection (notifications sent
                    // meanwhile are lost: the workers' timers are the fallback).
                    match listener.recv().await {
                        Ok(notification) => {
                            if sender
                                .send(notification.payload().to_owned())
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the wake-up listener lost its connection");
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        }
                    }
                }
            };
            tokio::select! {
                () = nobody.closed() => {}
                () = listening => {}
            }
        });
        Ok(Some(receiver))
    }
}
