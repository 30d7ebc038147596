//! The outbox's transactions: queuing notifications (each takes all of its events or is not
//! stored), and settling a batch of delivery attempts.

use sqlx::Executor;
use tributary_domain::delivery::notification_number;

use super::rows::Columns;
use super::{Backend, Lock, Param, SqlStore};
use crate::{
    AttemptOutcome, AttemptRecord, EventStatus, NewNotification, NotificationStatus, QueueLease,
    Result,
};

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
    /// Stores notifications and gives them their events, in one transaction, leasing those
    /// `lease` names whose URL is not stopped; returns the ids leased.
    pub(super) async fn queue(
        &self,
        notifications: Vec<NewNotification>,
        now_ms: i64,
        lease: &QueueLease,
    ) -> Result<Vec<String>> {
        // On PostgreSQL, two processes queuing the same events meet on the notification's
        // primary key (the second waits for the first to commit, then does nothing) and on each
        // event's row (the second waits, re-reads it, and finds it taken): the outcome of one
        // after the other, as on SQLite.
        let mut tx = self.begin().await?;
        let mut leased = Vec::new();
        for notification in notifications {
            // Its events first: a notification is stored only if it takes every one of them,
            // or two queue passes that read different windows could each send some event.
            let taken = B::take_events(&mut tx, &notification.id, &notification.event_ids).await?;
            if taken == 0 {
                continue; // queued before
            }
            if usize::try_from(taken).unwrap_or(usize::MAX) < notification.event_ids.len() {
                // Some went into another notification meanwhile: give the rest back, to be
                // grouped afresh by the next pass.
                sqlx::query(
                    "UPDATE events SET notification_id = NULL, status = $1
                     WHERE notification_id = $2",
                )
                .bind(EventStatus::New.as_str())
                .bind(notification.id.clone())
                .execute(&mut *tx)
                .await?;
                continue;
            }
            // Its number (the envelope's outer `id`) derives from its id, as the envelope's did.
            let number = notification_number(&notification.id);
            // Leased as a claim would lease it, and as a claim would not where its URL is
            // stopped.
            let (owner, until) = if lease.ids.contains(&notification.id) {
                (Some(lease.owner.clone()), Some(lease.until_ms))
            } else {
                (None, None)
            };
            let stored = sqlx::query(
                "INSERT INTO notifications (id, instance_id, resource, callback_url, status,
                     next_attempt_ms, created_ms, number, lease_owner, lease_until_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7,
                     CASE WHEN NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                           WHERE s.instance_id = $2 AND s.url = $4)
                          THEN $8 END,
                     CASE WHEN NOT EXISTS (SELECT 1 FROM stopped_callbacks s
                                           WHERE s.instance_id = $2 AND s.url = $4)
                          THEN $9 END)
                 ON CONFLICT (id) DO NOTHING
                 RETURNING lease_owner",
            )
            .bind(notification.id.clone())
            .bind(notification.instance_id)
            .bind(notification.resource)
            .bind(notification.callback_url)
            .bind(NotificationStatus::Queued.as_str())
            .bind(now_ms)
            .bind(number)
            .bind(owner)
            .bind(until)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = stored
                && row.column::<Option<String>>("lease_owner")?.is_some()
            {
                leased.push(notification.id.clone());
            }
            // The body in its own table, so claims and settles update small rows.
            sqlx::query(
                "INSERT INTO notification_bodies (notification_id, body) VALUES ($1, $2)
                 ON CONFLICT (notification_id) DO NOTHING",
            )
            .bind(notification.id)
            .bind(notification.body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(leased)
    }

    /// Records attempts and moves their notifications on (their events' status follows), in one
    /// transaction: two statements for the whole batch ([`Backend::settle_attempts`]), and one
    /// more per `410 Gone`. (A batch naming a notification twice, which one worker's group
    /// commit never makes, is settled one attempt at a time, each counted.)
    pub(super) async fn settle(&self, attempts: Vec<AttemptRecord>) -> Result<()> {
        let ids: Vec<String> = attempts.iter().map(|a| a.notification_id.clone()).collect();
        let mut tx = self.begin().await?;
        B::lock(&mut tx, Lock::Settling(&ids)).await?;
        for attempt in attempts
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::Gone)
        {
            sqlx::query(
                "INSERT INTO stopped_callbacks (instance_id, url, stopped_ms)
                 SELECT instance_id, $1, $2 FROM notifications WHERE id = $3
                 ON CONFLICT (instance_id, url) DO NOTHING",
            )
            .bind(attempt.url.clone())
            .bind(attempt.at_ms)
            .bind(attempt.notification_id.clone())
            .execute(&mut *tx)
            .await?;
        }
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() == ids.len() {
            B::settle_attempts(&mut tx, &settled_json::<B>(&attempts)).await?;
        } else {
            for attempt in &attempts {
                B::settle_attempts(&mut tx, &settled_json::<B>(std::slice::from_ref(attempt)))
                    .await?;
            }
        }
        // Its events' status is derived from it (`rows::event_status!`): their rows, each with
        // its record, are not rewritten.
        tx.commit().await?;
        Ok(())
    }
}

/// Attempts as [`Backend::settle_attempts`] reads them.
fn settled_json<B: Backend>(attempts: &[AttemptRecord]) -> String {
    let rows: Vec<serde_json::Value> = attempts
        .iter()
        .map(|attempt| {
            let (status, next, delivered) = match attempt.outcome {
                AttemptOutcome::Delivered => (
                    NotificationStatus::Notified,
                    attempt.at_ms,
                    Some(attempt.at_ms),
                ),
                AttemptOutcome::RetryAt(at) => (NotificationStatus::Queued, at, None),
                AttemptOutcome::Failed | AttemptOutcome::Gone => {
                    (NotificationStatus::Failed, attempt.at_ms, None)
                }
            };
            serde_json::json!({
                "id": attempt.notification_id,
                "at": attempt.at_ms,
                "code": attempt.status_code,
                "duration": attempt.duration_ms,
                "excerpt": attempt.excerpt.as_deref().map(B::diagnostic),
                "error": attempt.error.as_deref().map(B::diagnostic),
                "status": status.as_str(),
                "next": next,
                "delivered": delivered,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}
