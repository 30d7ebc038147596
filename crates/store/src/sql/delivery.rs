//! The outbox's transactions: queuing notifications (each takes all of its events or is not
//! stored), and settling a batch of delivery attempts.

use sqlx::Executor;
use tributary_domain::delivery::notification_number;

use super::{Backend, Lock, Param, SqlStore};
use crate::{
    AttemptOutcome, AttemptRecord, NewNotification, NotificationStatus, QueueLease, Result,
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
        let mut tx = self.begin().await?;
        let leased = Self::queue_in(&mut tx, &notifications, now_ms, lease).await?;
        tx.commit().await?;
        Ok(leased)
    }

    /// Stores notifications and gives them their events in `tx` (a queue pass's, or a poll
    /// commit's outbox), leasing those `lease` names whose URL is not stopped; returns the ids
    /// leased.
    pub(super) async fn queue_in(
        tx: &mut super::WriteTx<B>,
        notifications: &[NewNotification],
        now_ms: i64,
        lease: &QueueLease,
    ) -> Result<Vec<String>> {
        let mut leased = Vec::new();
        for notification in notifications {
            // Leased as a claim would lease it (and, as a claim would not, never to a stopped
            // URL).
            let lease = lease
                .ids
                .contains(&notification.id)
                .then_some((lease.owner.as_str(), lease.until_ms));
            let queued = Queued {
                notification,
                // Its number (the envelope's outer `id`) derives from its id, as the
                // envelope's did.
                number: notification_number(&notification.id),
                now_ms,
                lease,
            };
            if B::queue_notification(tx, &queued).await? {
                leased.push(notification.id.clone());
            }
        }
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

/// A notification to store in a queuing transaction ([`Backend::queue_notification`]).
#[derive(Debug)]
pub struct Queued<'a> {
    pub notification: &'a NewNotification,
    /// The envelope's outer `id`.
    pub number: i64,
    pub now_ms: i64,
    /// Its lease (owner, until when), where it is leased as it is stored.
    pub lease: Option<(&'a str, i64)>,
}
