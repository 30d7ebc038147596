//! Webhook sources' statements: subscriptions, and the inbound table with its lease claims.
//! One statement for both backends each: the claim is an `UPDATE` whose `WHERE` checks the
//! lease again, so on PostgreSQL a second claimer that waited for the row finds it taken and
//! claims nothing (no `SKIP LOCKED` needed for correctness; a delivery is one row).

use sqlx::Executor;

use super::rows::Columns;
use super::{Backend, Lock, Param, RowsAffected, SqlStore, limit};
use crate::hooks::{InboundRecord, NewInbound, NewSubscription, SubscriptionRecord};
use crate::{EventStatus, NewEvent, Result};

fn subscription<R: Columns>(row: &R) -> Result<SubscriptionRecord> {
    Ok(SubscriptionRecord {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        resource: row.column("resource")?,
        event_key: row.column("event_key")?,
        action: row.column("action")?,
        provider_key: row.column("provider_key")?,
        status: row.column("status")?,
        last_error: row.column("last_error")?,
        last_delivery_ms: row.column("last_delivery_ms")?,
        deliveries: row.column("deliveries")?,
        created_ms: row.column("created_ms")?,
        updated_ms: row.column("updated_ms")?,
    })
}

impl<B> SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
    i64: Param<B>,
    Option<i64>: Param<B>,
    &'static str: Param<B>,
    String: Param<B>,
    Option<String>: Param<B>,
    Vec<u8>: Param<B>,
{
    pub(super) async fn put_subscription_row(&self, new: NewSubscription) -> Result<i64> {
        // One statement in both dialects: a re-created subscription gets a new token and
        // forgets the provider's old key and error; its deliveries count on.
        let row = sqlx::query(
            "INSERT INTO hook_subscriptions (instance_id, resource, event_key, action,
                 token_hash, status, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (instance_id, event_key) DO UPDATE SET
                 token_hash = excluded.token_hash, status = excluded.status,
                 resource = excluded.resource, action = excluded.action,
                 provider_key = NULL, last_error = NULL, updated_ms = excluded.updated_ms
             RETURNING id",
        )
        .bind(new.instance_id)
        .bind(new.resource)
        .bind(new.event_key)
        .bind(new.action)
        .bind(new.token_hash)
        .bind(new.status)
        .bind(new.now_ms)
        .fetch_one(&self.pool)
        .await?;
        row.column("id")
    }

    pub(super) async fn set_subscription_row(
        &self,
        id: i64,
        provider_key: Option<String>,
        status: &str,
        last_error: Option<String>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE hook_subscriptions SET provider_key = COALESCE($1, provider_key),
                 status = $2, last_error = $3, updated_ms = $4
             WHERE id = $5",
        )
        .bind(provider_key)
        .bind(status.to_owned())
        .bind(last_error.as_deref().map(B::diagnostic))
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn subscription_rows(
        &self,
        instance_id: i64,
    ) -> Result<Vec<SubscriptionRecord>> {
        let rows = sqlx::query(
            "SELECT id, instance_id, resource, event_key, action, provider_key, status,
                 last_error, last_delivery_ms, deliveries, created_ms, updated_ms
             FROM hook_subscriptions WHERE instance_id = $1 ORDER BY resource, id",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription).collect()
    }

    pub(super) async fn subscription_row_by_token(
        &self,
        token_hash: Vec<u8>,
    ) -> Result<Option<SubscriptionRecord>> {
        let row = sqlx::query(
            "SELECT id, instance_id, resource, event_key, action, provider_key, status,
                 last_error, last_delivery_ms, deliveries, created_ms, updated_ms
             FROM hook_subscriptions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subscription).transpose()
    }

    pub(super) async fn delete_subscription_row(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM hook_subscriptions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn subscribed_instance_ids(&self) -> Result<Vec<i64>> {
        let rows =
            sqlx::query("SELECT DISTINCT instance_id FROM hook_subscriptions ORDER BY instance_id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|row| row.column("instance_id")).collect()
    }

    /// Stores a delivery and counts it on its subscription, in one transaction.
    pub(super) async fn insert_inbound_row(&self, new: NewInbound) -> Result<i64> {
        let ids = serde_json::to_string(&new.ids).unwrap_or_else(|_| "[]".into());
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO hook_inbound (instance_id, subscription_id, resource, action, ids,
                 received_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id",
        )
        .bind(new.instance_id)
        .bind(new.subscription_id)
        .bind(new.resource)
        .bind(new.action)
        .bind(ids)
        .bind(new.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.column("id")?;
        sqlx::query(
            "UPDATE hook_subscriptions SET last_delivery_ms = $1, deliveries = deliveries + 1
             WHERE id = $2",
        )
        .bind(new.now_ms)
        .bind(new.subscription_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims up to `max` stored deliveries whose lease is free, oldest first, until
    /// `now_ms + lease_ms`.
    pub(super) async fn claim_inbound_rows(
        &self,
        now_ms: i64,
        lease_ms: i64,
        max: i64,
    ) -> Result<Vec<InboundRecord>> {
        let candidates = sqlx::query(
            "SELECT id FROM hook_inbound WHERE lease_until_ms <= $1 ORDER BY id LIMIT CAST($2 AS BIGINT)",
        )
        .bind(now_ms)
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for candidate in candidates {
            let id: i64 = candidate.column("id")?;
            // The lease checked again: another claimer that took the row first wins.
            let row = sqlx::query(
                "UPDATE hook_inbound SET lease_until_ms = $1, attempts = attempts + 1
                 WHERE id = $2 AND lease_until_ms <= $3
                 RETURNING id, instance_id, subscription_id, resource, action, ids,
                     received_ms, attempts",
            )
            .bind(now_ms.saturating_add(lease_ms))
            .bind(id)
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { continue };
            let ids: String = row.column("ids")?;
            claimed.push(InboundRecord {
                id: row.column("id")?,
                instance_id: row.column("instance_id")?,
                subscription_id: row.column("subscription_id")?,
                resource: row.column("resource")?,
                action: row.column("action")?,
                ids: serde_json::from_str(&ids).unwrap_or_default(),
                received_ms: row.column("received_ms")?,
                attempts: row.column("attempts")?,
            });
        }
        Ok(claimed)
    }

    /// Stores a delivery's events and forgets the delivery, in one transaction; returns how
    /// many events were new.
    pub(super) async fn commit_inbound_row(
        &self,
        inbound_id: i64,
        instance_id: i64,
        resource: &str,
        events: Vec<NewEvent>,
        now_ms: i64,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        B::lock(&mut tx, Lock::Instance(instance_id)).await?;
        if !events.is_empty() {
            B::lock(&mut tx, Lock::EventOrder).await?;
        }
        let inserted = Self::insert_events(&mut tx, instance_id, resource, events, now_ms).await?;
        sqlx::query("DELETE FROM hook_inbound WHERE id = $1")
            .bind(inbound_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    pub(super) async fn fail_inbound_row(
        &self,
        inbound_id: i64,
        error: &str,
        retry_ms: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE hook_inbound SET lease_until_ms = $1, last_error = $2 WHERE id = $3")
            .bind(retry_ms)
            .bind(B::diagnostic(error))
            .bind(inbound_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn inbound_waiting_rows(&self, instance_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS count FROM hook_inbound WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_one(&self.pool)
            .await?;
        row.column("count")
    }

    pub(super) async fn object_report_rows(
        &self,
        instance_id: i64,
        resource: &str,
        object_id: &str,
    ) -> Result<crate::hooks::ObjectReports> {
        let row = sqlx::query(
            "SELECT MAX(CASE WHEN event_type <> 'DELETED' THEN date_ms END) AS date_ms,
                 MAX(CASE WHEN event_type <> 'DELETED' THEN created_ms END) AS reported_ms,
                 MAX(CASE WHEN event_type = 'DELETED' THEN created_ms END) AS deleted_ms
             FROM events WHERE instance_id = $1 AND resource = $2 AND object_id = $3",
        )
        .bind(instance_id)
        .bind(resource.to_owned())
        .bind(object_id.to_owned())
        .fetch_one(&self.pool)
        .await?;
        Ok(crate::hooks::ObjectReports {
            last_date_ms: row.column("date_ms")?,
            last_reported_ms: row.column("reported_ms")?,
            last_deleted_ms: row.column("deleted_ms")?,
        })
    }

    /// Events, as a poll or a hook's delivery stores them: once per event id, in the order
    /// given, [`EVENTS_PER_INSERT`] rows to a statement (a statement per event was most of a
    /// backfill's commit). Returns how many were new.
    pub(super) async fn insert_events(
        tx: &mut super::WriteTx<B>,
        instance_id: i64,
        resource: &str,
        events: Vec<NewEvent>,
        now_ms: i64,
    ) -> Result<u64> {
        let mut inserted = 0;
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let chunk: Vec<NewEvent> = events.by_ref().take(EVENTS_PER_INSERT).collect();
            let sql = insert_events_sql(chunk.len(), B::NUMBERED_BINDS);
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            if B::NUMBERED_BINDS {
                query = query
                    .bind(instance_id)
                    .bind(resource.to_owned())
                    .bind(EventStatus::New.as_str())
                    .bind(now_ms);
            }
            // Full chunks and small ones repeat: their statements stay prepared. A large
            // remainder is prepared once and dropped, rather than crowding the cache.
            query = query.persistent(chunk.len() == EVENTS_PER_INSERT || chunk.len() <= 16);
            for event in chunk {
                query = query.bind(event.event_id);
                if !B::NUMBERED_BINDS {
                    query = query.bind(instance_id).bind(resource.to_owned());
                }
                query = query
                    .bind(event.object_id)
                    .bind(event.event_type)
                    .bind(event.date_ms)
                    .bind(event.poll_date_ms)
                    .bind(event.date_error.as_deref().map(B::diagnostic))
                    .bind(event.record);
                if !B::NUMBERED_BINDS {
                    query = query.bind(EventStatus::New.as_str()).bind(now_ms);
                }
            }
            inserted += query.execute(&mut **tx).await?.rows_affected();
        }
        Ok(inserted)
    }
}

/// Events stored by one `INSERT`: 11 parameters an event (7 numbered, and 4 shared) stay far
/// below either backend's limit on parameters (SQLite's 32,766, PostgreSQL's 65,535).
const EVENTS_PER_INSERT: usize = 256;

/// The `INSERT` of `rows` events. Numbered: `$1`–`$4` are the instance, the resource, the
/// status and the moment, shared by every row, and each row's own seven follow. Anonymous:
/// every row's eleven values in the columns' order (see [`Backend::NUMBERED_BINDS`]).
/// `ON CONFLICT DO NOTHING` keeps an event id once, also when one statement names it twice.
fn insert_events_sql(rows: usize, numbered: bool) -> String {
    use std::fmt::Write;
    let mut sql = String::from(
        "INSERT INTO events (event_id, instance_id, resource, object_id, event_type,
             date_ms, poll_date_ms, date_error, record, status, created_ms) VALUES ",
    );
    for row in 0..rows {
        let p = 5 + row * 7;
        if row > 0 {
            sql.push_str(", ");
        }
        if !numbered {
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            continue;
        }
        // Writing to a String cannot fail.
        let _ = write!(
            sql,
            "(${p}, $1, $2, ${}, ${}, ${}, ${}, ${}, ${}, $3, $4)",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6
        );
    }
    sql.push_str(" ON CONFLICT (event_id) DO NOTHING");
    sql
}
