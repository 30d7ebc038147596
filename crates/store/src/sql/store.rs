//! [`Store`] for [`SqlStore`]: every method once, for both backends. Where a method's work
//! differs by backend it asks [`Backend`]; where a transaction must lock rows first (on
//! PostgreSQL), it says which with [`Lock`] before it writes.

use async_trait::async_trait;
use sqlx::Executor;
use tokio::sync::mpsc::Receiver;

use tributary_domain::instance_config::CALLBACK_URL;

use super::rows::{self, Columns, event_status, select_events, select_instances, select_pollers};
use super::{Backend, Lock, Param, RowsAffected, SqlStore, count};
use crate::{
    Activity, ActivityFilter, Attempt, AttemptRecord, CallbackCaps, Committed, CountFilter,
    DeleteCommit, EventCount, EventFilter, EventRecord, EventStatus, InstanceData, InstanceRecord,
    NewInstance, NewNotification, NewOrganization, NewSession, NotificationRecord,
    NotificationStatus, NotificationView, Outbox, OutboxQueued, PollCommit, PollerRecord,
    Principal, QueueLease, Result, Session, Store, SweepCommit, SweepRecord, UnnotifiedEvent,
    Updated, UserRecord,
};

#[async_trait]
impl<B> Store for SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
    i64: Param<B>,
    Option<i64>: Param<B>,
    bool: Param<B>,
    &'static str: Param<B>,
    String: Param<B>,
    Option<String>: Param<B>,
    Vec<u8>: Param<B>,
    Option<Vec<u8>>: Param<B>,
{
    // Health and wake-ups.

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn wake_others(&self, topic: &str) -> Result<()> {
        B::wake_others(&self.pool, topic).await
    }

    async fn wake_ups(&self) -> Result<Option<Receiver<String>>> {
        B::wake_ups(&self.pool).await
    }

    async fn schema_version(&self) -> Result<(i64, i64)> {
        let applied: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) AS version FROM _tributary_migrations")
                .fetch_one(&self.pool)
                .await?
                .column("version")?;
        let known = B::MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
        Ok((applied, known))
    }

    // Organizations, their users, web UI sessions.

    async fn organization_count(&self) -> Result<u64> {
        let organizations = sqlx::query("SELECT COUNT(*) AS count FROM organizations")
            .fetch_one(&self.pool)
            .await?
            .column("count")?;
        Ok(count(organizations))
    }

    async fn create_organization(&self, new: NewOrganization) -> Result<Principal> {
        let mut tx = self.begin().await?;
        let principal = Self::insert_organization(&mut tx, new).await?;
        tx.commit().await?;
        Ok(principal)
    }

    async fn create_first_organization(&self, new: NewOrganization) -> Result<Option<Principal>> {
        let mut tx = self.begin().await?;
        B::lock(&mut tx, Lock::Bootstrap).await?;
        let organizations: i64 = sqlx::query("SELECT COUNT(*) AS count FROM organizations")
            .fetch_one(&mut *tx)
            .await?
            .column("count")?;
        if organizations > 0 {
            return Ok(None);
        }
        let principal = Self::insert_organization(&mut tx, new).await?;
        tx.commit().await?;
        Ok(Some(principal))
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
        .bind(organization_secret_hash.to_vec())
        .bind(user_secret_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::principal).transpose()
    }

    async fn user(&self, organization_id: i64, user_id: i64) -> Result<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT id, organization_id, email, first_name, last_name FROM users
             WHERE organization_id = $1 AND id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn principal_of_user(&self, user_secret_hash: &[u8]) -> Result<Option<Principal>> {
        let row =
            sqlx::query("SELECT organization_id, id AS user_id FROM users WHERE secret_hash = $1")
                .bind(user_secret_hash.to_vec())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(rows::principal).transpose()
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
        .bind(token_hash.to_vec())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn end_session(&self, token_hash: &[u8], now_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM ui_sessions WHERE token_hash = $1 OR expires_ms <= $2")
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
             VALUES ($1, $2, $3, $4)",
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
        // One statement takes the form and sweeps the expired ones: two takers of the same form
        // meet on its row (PostgreSQL's row lock, SQLite's write lock), and the second finds it
        // gone.
        let rows = sqlx::query(
            "DELETE FROM ui_connects
             WHERE (state_hash = $1 AND session_hash = $2) OR expires_ms <= $3
             RETURNING state_hash, session_hash, expires_ms, sealed_form",
        )
        .bind(state_hash.to_vec())
        .bind(session_hash.to_vec())
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let state: Vec<u8> = row.column("state_hash")?;
            let session: Vec<u8> = row.column("session_hash")?;
            let expires_ms: i64 = row.column("expires_ms")?;
            if state == state_hash && session == session_hash && expires_ms > now_ms {
                return Ok(Some(row.column("sealed_form")?));
            }
        }
        Ok(None)
    }

    // Instances (the configuration is written in `instances.rs`).

    async fn instance(&self, organization_id: i64, id: i64) -> Result<Option<InstanceRecord>> {
        self.load_instance(organization_id, id).await
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

    async fn instance_by_id(&self, id: i64) -> Result<Option<InstanceRecord>> {
        let row = sqlx::query(select_instances!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        self.load_optional(row).await
    }

    async fn instance_by_token(&self, token_hash: &[u8]) -> Result<Option<InstanceRecord>> {
        let row = sqlx::query(select_instances!("WHERE token_hash = $1"))
            .bind(token_hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        self.load_optional(row).await
    }

    async fn insert_instance(&self, new: NewInstance) -> Result<InstanceRecord> {
        self.insert(new).await
    }

    async fn update_instance(
        &self,
        organization_id: i64,
        id: i64,
        expected_version: i64,
        data: InstanceData,
        now_ms: i64,
    ) -> Result<Updated> {
        self.update(organization_id, id, expected_version, data, now_ms)
            .await
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
        .bind(B::diagnostic(reason))
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // Pollers (their transactions are in `polling.rs`; claims are the backend's).

    async fn sync_pollers(
        &self,
        instance_id: i64,
        resources: &[(String, i64)],
        now_ms: i64,
    ) -> Result<()> {
        self.replace_pollers(instance_id, resources, now_ms).await
    }

    async fn pollers(&self, instance_id: i64) -> Result<Vec<PollerRecord>> {
        let rows = sqlx::query(select_pollers!("WHERE instance_id = $1 ORDER BY resource"))
            .bind(instance_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::poller).collect()
    }

    async fn poller(&self, instance_id: i64, resource: &str) -> Result<Option<PollerRecord>> {
        let row = sqlx::query(select_pollers!("WHERE instance_id = $1 AND resource = $2"))
            .bind(instance_id)
            .bind(resource.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::poller).transpose()
    }

    async fn claim_poller(
        &self,
        instance_id: i64,
        resource: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<PollerRecord>> {
        // A conditional UPDATE of one row: a second claimer waits for the first's commit (its
        // row lock, or SQLite's write lock), then re-reads the lease and finds it taken.
        let row = sqlx::query(concat!(
            "UPDATE pollers SET lease_owner = $1, lease_until_ms = $2
             WHERE instance_id = $3 AND resource = $4
               AND (lease_until_ms IS NULL OR lease_until_ms <= $5)
             RETURNING ",
            rows::poller_columns!()
        ))
        .bind(owner.to_owned())
        .bind(now_ms.saturating_add(lease_ms))
        .bind(instance_id)
        .bind(resource.to_owned())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::poller).transpose()
    }

    async fn claim_due_poller_records(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<PollerRecord>> {
        let _turn = self.turn().await;
        B::claim_due_pollers(&self.pool, owner, now_ms, lease_ms, limit).await
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
        .bind(resource.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn make_pollers_due(&self, instance_id: i64, due_ms: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE pollers SET next_due_ms = $1 WHERE instance_id = $2 AND next_due_ms > $1",
        )
        .bind(due_ms)
        .bind(instance_id)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>> {
        // A leased poller is due when its lease ends, if that is later than its due time.
        Ok(sqlx::query(
            "SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > $1
                              AND lease_until_ms > next_due_ms
                             THEN lease_until_ms ELSE next_due_ms END) AS next
             FROM pollers",
        )
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?
        .column("next")?)
    }

    async fn commit_poll(&self, commit: PollCommit) -> Result<Committed> {
        Ok(self.commit(commit, None, None, None).await?.0)
    }

    async fn commit_poll_with_deletes(
        &self,
        commit: PollCommit,
        deletes: DeleteCommit,
    ) -> Result<Committed> {
        Ok(self.commit(commit, Some(deletes), None, None).await?.0)
    }

    async fn commit_poll_with_sweep(
        &self,
        commit: PollCommit,
        deletes: Option<DeleteCommit>,
        sweep: SweepCommit,
    ) -> Result<Committed> {
        Ok(self.commit(commit, deletes, Some(sweep), None).await?.0)
    }

    async fn commit_poll_queuing(
        &self,
        commit: PollCommit,
        deletes: Option<DeleteCommit>,
        sweep: Option<SweepCommit>,
        outbox: Outbox,
    ) -> Result<(Committed, OutboxQueued)> {
        self.commit(commit, deletes, sweep, Some(&outbox)).await
    }

    async fn last_sweep(&self, instance_id: i64, resource: &str) -> Result<Option<SweepRecord>> {
        let row = sqlx::query(
            "SELECT records, swept_ms FROM sweeps WHERE instance_id = $1 AND resource = $2",
        )
        .bind(instance_id)
        .bind(resource.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SweepRecord {
                records: row.column("records")?,
                swept_ms: row.column("swept_ms")?,
            })
        })
        .transpose()
    }

    async fn reported_since(
        &self,
        instance_id: i64,
        resource: &str,
        since_ms: i64,
    ) -> Result<Vec<(String, i64)>> {
        // An id whose deletion was stored at or after its last report is no candidate: its
        // deletion is told already (a report and its deletion can share one commit).
        let rows = sqlx::query(
            "SELECT object_id,
                 MAX(CASE WHEN event_type <> 'DELETED' THEN date_ms END) AS date_ms
             FROM events
             WHERE instance_id = $1 AND resource = $2 AND created_ms >= $3
                 AND event_type IN ('CREATED', 'UPDATED', 'DELETED')
             GROUP BY object_id
             HAVING MAX(CASE WHEN event_type = 'DELETED' THEN created_ms END) IS NULL
                 OR MAX(CASE WHEN event_type <> 'DELETED' THEN created_ms END)
                     > MAX(CASE WHEN event_type = 'DELETED' THEN created_ms END)",
        )
        .bind(instance_id)
        .bind(resource.to_owned())
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.column("object_id")?, row.column("date_ms")?)))
            .collect()
    }

    async fn sweep_memory(&self, instance_id: i64, resource: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT memory FROM sweeps WHERE instance_id = $1 AND resource = $2")
            .bind(instance_id)
            .bind(resource.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| row.column("memory")).transpose()
    }

    async fn record_poll_pause(
        &self,
        instance_id: i64,
        resource: &str,
        reason: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE pollers SET paused_until_ms = $1, next_due_ms = $1, last_error = $2,
                 last_poll_ms = $3, lease_owner = NULL, lease_until_ms = NULL
             WHERE instance_id = $4 AND resource = $5",
        )
        .bind(until_ms)
        .bind(B::diagnostic(reason))
        .bind(now_ms)
        .bind(instance_id)
        .bind(resource.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn deletes_lost_total(&self) -> Result<i64> {
        let total: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(deletes_lost), 0) AS BIGINT) AS total FROM pollers",
        )
        .fetch_one(&self.pool)
        .await?
        .column("total")?;
        Ok(total)
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
        .bind(B::diagnostic(error))
        .bind(next_due_ms)
        .bind(now_ms)
        .bind(instance_id)
        .bind(resource.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_all_pollers_due(&self, due_ms: i64) -> Result<u64> {
        Ok(sqlx::query("UPDATE pollers SET next_due_ms = $1")
            .bind(due_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn count_polled_since(&self, since_ms: i64) -> Result<u64> {
        let polled = sqlx::query("SELECT COUNT(*) AS count FROM pollers WHERE last_poll_ms >= $1")
            .bind(since_ms)
            .fetch_one(&self.pool)
            .await?
            .column("count")?;
        Ok(count(polled))
    }

    // Events.

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
        .bind(super::limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::event).collect()
    }

    async fn event(&self, organization_id: i64, event_id: &str) -> Result<Option<EventRecord>> {
        let row = sqlx::query(select_events!(
            "JOIN instances i ON i.id = e.instance_id
             WHERE i.organization_id = $1 AND e.event_id = $2"
        ))
        .bind(organization_id)
        .bind(event_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::event).transpose()
    }

    async fn activity(&self, organization_id: i64, filter: &ActivityFilter) -> Result<Activity> {
        self.count_activity(organization_id, filter).await
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
                           AND ($2 IS NULL OR e.instance_id = $2)
                           AND ($3 IS NULL OR "
                    ),
                    event_status!(),
                    " = $3)
                           AND ($4 IS NULL OR e.resource = $4)
                           AND ($5 IS NULL OR e.event_type = $5)
                           AND ($6 IS NULL OR e.created_ms >= $6)
                           AND ($7 IS NULL OR e.created_ms < $7)
                           AND e.id > $8
                           AND ($10 IS NULL OR e.notification_id = $10)
                           AND ($11 IS NULL OR e.id < $11)
                         ORDER BY e.id ",
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
            .bind(filter.status.map(|status| status.as_str().to_owned()))
            .bind(filter.resource.clone())
            .bind(filter.event_type.clone())
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.after_id)
            .bind(super::limit(filter.limit))
            .bind(filter.notification_id.clone())
            .bind(filter.before_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::event).collect()
    }

    async fn find_notification(
        &self,
        organization_id: i64,
        key: &str,
    ) -> Result<Option<NotificationView>> {
        macro_rules! select_notification {
            ($where:literal) => {
                concat!(
                    "SELECT n.id, n.number, n.instance_id, n.resource, n.status, n.attempts,
                            n.created_ms, n.delivered_ms, b.body
                     FROM notifications n JOIN instances i ON i.id = n.instance_id
                          LEFT JOIN notification_bodies b ON b.notification_id = n.id
                     WHERE i.organization_id = $1 AND ",
                    $where
                )
            };
        }
        let by_id = sqlx::query(select_notification!("n.id = $2"))
            .bind(organization_id)
            .bind(key.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = by_id {
            return rows::notification_view(&row).map(Some);
        }
        let Ok(number) = key.parse::<i64>() else {
            return Ok(None);
        };
        // Numbers are 63 bits of a hash: two notifications sharing one are unlikely but not
        // impossible, and then the newest is the one a client most likely holds.
        let by_number = sqlx::query(select_notification!(
            "n.number = $2 ORDER BY n.created_ms DESC, n.id LIMIT 1"
        ))
        .bind(organization_id)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        by_number.as_ref().map(rows::notification_view).transpose()
    }

    async fn count_events(
        &self,
        organization_id: i64,
        filter: &CountFilter,
    ) -> Result<Vec<EventCount>> {
        let bucket_ms = filter.bucket_ms.max(1);
        // `created_ms >= $2`, so the integer division truncates toward the bucket's start on
        // both backends.
        let rows = sqlx::query(concat!(
            "SELECT bucket, instance_id, COUNT(*) AS count,
                    SUM(CASE WHEN status = $5 THEN 1 ELSE 0 END) AS notified,
                    SUM(CASE WHEN status = $6 THEN 1 ELSE 0 END) AS failed
             FROM (SELECT (e.created_ms - $2) / $4 AS bucket, e.instance_id, ",
            event_status!(),
            " AS status
                   FROM events e JOIN instances i ON i.id = e.instance_id
                   WHERE i.organization_id = $1 AND e.created_ms >= $2 AND e.created_ms < $3
                     AND ($7 IS NULL OR e.instance_id = $7)) counted
             GROUP BY bucket, instance_id
             ORDER BY bucket, instance_id"
        ))
        .bind(organization_id)
        .bind(filter.from_ms)
        .bind(filter.to_ms)
        .bind(bucket_ms)
        .bind(EventStatus::Notified.as_str())
        .bind(EventStatus::Failed.as_str())
        .bind(filter.instance_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| rows::event_count(row, filter.from_ms, bucket_ms))
            .collect()
    }

    async fn unnotified_events(&self, limit: i64) -> Result<Vec<UnnotifiedEvent>> {
        // A disabled instance sends nothing new: its events wait here, unqueued, and do not
        // hold up the others' (they are not in the first `limit`).
        let rows = sqlx::query(select_events!(
            columns: ", i.version AS instance_version",
            "JOIN instances i ON i.id = e.instance_id
             WHERE e.notification_id IS NULL AND i.disabled = FALSE
             ORDER BY e.id LIMIT CAST($1 AS BIGINT)"
        ))
        .bind(super::limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UnnotifiedEvent {
                    event: rows::event(row)?,
                    instance_version: row.column("instance_version")?,
                })
            })
            .collect()
    }

    // Notifications and their attempts (their transactions are in `delivery.rs`; claims are
    // the backend's).

    async fn queue_and_lease(
        &self,
        notifications: Vec<NewNotification>,
        now_ms: i64,
        lease: &QueueLease,
    ) -> Result<Vec<String>> {
        self.queue(notifications, now_ms, lease).await
    }

    async fn claim_due_notifications_capped(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        caps: &CallbackCaps,
    ) -> Result<Vec<NotificationRecord>> {
        let _turn = self.turn().await;
        if caps.default > 0 {
            return B::claim_due_notifications(&self.pool, owner, now_ms, lease_ms, limit, caps)
                .await;
        }
        // Only the URLs named: a claim of each one's own (an indexed read of its queued
        // notifications), not a ranking of every due notification of every URL.
        let mut claimed = Vec::new();
        let mut room = limit;
        for (url, &cap) in &caps.per_url {
            let take = cap.min(room);
            if take <= 0 {
                continue;
            }
            let taken =
                B::claim_due_for_url(&self.pool, owner, now_ms, lease_ms, url, take).await?;
            room -= i64::try_from(taken.len()).unwrap_or(i64::MAX);
            claimed.extend(taken);
        }
        Ok(claimed)
    }

    async fn notification_body(&self, notification_id: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT body FROM notification_bodies WHERE notification_id = $1")
            .bind(notification_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| row.column("body")).transpose()
    }

    async fn queued_notifications(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS count FROM notifications WHERE status = $1")
                .bind(NotificationStatus::Queued.as_str())
                .fetch_one(&self.pool)
                .await?
                .column("count")?,
        )
    }

    async fn in_flight_notifications(&self, now_ms: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM notifications
             WHERE status = $1 AND lease_until_ms > $2 ORDER BY id",
        )
        .bind(NotificationStatus::Queued.as_str())
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.column("id")).collect()
    }

    async fn defer_notification(&self, notification_id: &str, at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET next_attempt_ms = $1, lease_owner = NULL,
                 lease_until_ms = NULL
             WHERE id = $2 AND status = $3",
        )
        .bind(at_ms)
        .bind(notification_id.to_owned())
        .bind(NotificationStatus::Queued.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> Result<()> {
        self.settle(attempts).await
    }

    async fn attempts(&self, notification_id: &str) -> Result<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT at_ms, status_code, duration_ms, excerpt, error FROM delivery_attempts
             WHERE notification_id = $1 ORDER BY id",
        )
        .bind(notification_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::attempt).collect()
    }

    async fn requeue_notification(&self, notification_id: &str, now_ms: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        B::lock(&mut tx, Lock::InstanceOf(notification_id)).await?;
        // Sent again to where the instance's events go now. A send in flight keeps its lease
        // (issue 16): clearing it would let another claim send the notification a second
        // time at once. That send is the redelivery; if it fails, the fresh schedule retries.
        let changed = sqlx::query(
            "UPDATE notifications SET status = $1, attempts = 0, next_attempt_ms = $2,
                 lease_owner = CASE WHEN lease_until_ms > $2 THEN lease_owner END,
                 lease_until_ms = CASE WHEN lease_until_ms > $2 THEN lease_until_ms END,
                 callback_url = COALESCE((SELECT value FROM instance_configuration c
                     WHERE c.instance_id = notifications.instance_id AND c.key = $3),
                     callback_url)
             WHERE id = $4",
        )
        .bind(NotificationStatus::Queued.as_str())
        .bind(now_ms)
        .bind(CALLBACK_URL)
        .bind(notification_id.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE events SET status = $1 WHERE notification_id = $2")
            .bind(EventStatus::Queued.as_str())
            .bind(notification_id.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed > 0)
    }

    async fn requeue_failed(&self, instance_id: i64, since_ms: i64, now_ms: i64) -> Result<u64> {
        B::requeue_failed(&self.pool, instance_id, since_ms, now_ms).await
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

    async fn prune(&self, before_ms: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        // Notifications before events: the order every other transaction locks them in.
        sqlx::query("DELETE FROM notifications WHERE created_ms < $1 AND status IN ($2, $3)")
            .bind(before_ms)
            .bind(NotificationStatus::Notified.as_str())
            .bind(NotificationStatus::Failed.as_str())
            .execute(&mut *tx)
            .await?;
        // An event's status is its notification's: the events of a notification pruned now (or
        // before) go. A queued event always has its notification (both are written in one
        // transaction, and deleted together with their instance), so none that waits goes.
        let events = sqlx::query(
            "DELETE FROM events
             WHERE created_ms < $1 AND notification_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = events.notification_id)",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(events)
    }

    // Webhook sources.

    async fn put_subscription(&self, new: crate::hooks::NewSubscription) -> Result<i64> {
        self.put_subscription_row(new).await
    }

    async fn set_subscription(
        &self,
        id: i64,
        provider_key: Option<String>,
        status: &str,
        last_error: Option<String>,
        now_ms: i64,
    ) -> Result<()> {
        self.set_subscription_row(id, provider_key, status, last_error, now_ms)
            .await
    }

    async fn subscriptions(
        &self,
        instance_id: i64,
    ) -> Result<Vec<crate::hooks::SubscriptionRecord>> {
        self.subscription_rows(instance_id).await
    }

    async fn subscription_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<crate::hooks::SubscriptionRecord>> {
        self.subscription_row_by_token(token_hash.to_vec()).await
    }

    async fn delete_subscription(&self, id: i64) -> Result<()> {
        self.delete_subscription_row(id).await
    }

    async fn subscribed_instances(&self) -> Result<Vec<i64>> {
        self.subscribed_instance_ids().await
    }

    async fn insert_inbound(&self, new: crate::hooks::NewInbound) -> Result<i64> {
        self.insert_inbound_row(new).await
    }

    async fn claim_inbound(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<crate::hooks::InboundRecord>> {
        self.claim_inbound_rows(now_ms, lease_ms, limit).await
    }

    async fn commit_inbound(
        &self,
        inbound_id: i64,
        instance_id: i64,
        resource: &str,
        events: Vec<crate::NewEvent>,
        now_ms: i64,
    ) -> Result<u64> {
        self.commit_inbound_row(inbound_id, instance_id, resource, events, now_ms)
            .await
    }

    async fn fail_inbound(&self, inbound_id: i64, error: &str, retry_ms: i64) -> Result<()> {
        self.fail_inbound_row(inbound_id, error, retry_ms).await
    }

    async fn inbound_waiting(&self, instance_id: i64) -> Result<i64> {
        self.inbound_waiting_rows(instance_id).await
    }

    async fn object_reports(
        &self,
        instance_id: i64,
        resource: &str,
        object_id: &str,
    ) -> Result<crate::hooks::ObjectReports> {
        self.object_report_rows(instance_id, resource, object_id)
            .await
    }
}
