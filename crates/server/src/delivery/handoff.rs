//! Between a poll's commit and this process's delivery worker (issue 21): while the worker is
//! idle (its last claim came back short), a poll that stores a few events queues their
//! notifications in its own commit (`outbox`) and leases to the worker what its free slots
//! and their hosts can start at once; once committed, the records are handed over here and the
//! worker sends them from memory — no queue pass, no claim between an event stored and its
//! notification on the wire.
//!
//! The lease is a claim's lease: a process that dies before sending leaves it to expire, and a
//! worker that stops gives back what was handed to it and not started.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tributary_store::{NewNotification, NotificationRecord, QueueLease};

/// A notification leased to this process's worker, and when its lease ends.
pub(super) type Waiting = (NotificationRecord, i64);

/// Which of the notifications about to be queued the worker can start at once (their ids).
pub(super) type Plan = Box<dyn Fn(&[NewNotification]) -> BTreeSet<String> + Send + Sync>;

/// The running worker, as a poll's commit sees it.
struct Taker {
    owner: String,
    lease_ms: i64,
    plan: Plan,
}

#[derive(Default)]
struct Inner {
    /// The worker, while it runs.
    taker: Option<Taker>,
    /// Its last claim came back short: nothing due waits for a claim before what a poll
    /// stores now.
    idle: bool,
    /// Committed, leased to the worker, not yet taken by it.
    handed: Vec<Waiting>,
}

/// The meeting point of polls and this process's delivery worker.
#[derive(Default)]
pub struct Handoff {
    inner: Mutex<Inner>,
    /// Tells the worker that something was handed to it.
    pub(super) ready: tokio::sync::Notify,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Handoff")
            .field("worker", &inner.taker.as_ref().map(|t| t.owner.as_str()))
            .field("idle", &inner.idle)
            .field("handed", &inner.handed.len())
            .finish()
    }
}

impl Handoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The worker starts taking notifications from polls' commits.
    pub(super) fn open(&self, owner: String, lease_ms: i64, plan: Plan) {
        let mut inner = self.lock();
        inner.taker = Some(Taker {
            owner,
            lease_ms,
            plan,
        });
        inner.idle = false;
    }

    /// Whether the worker's last claim came back short (polls may lease to it).
    pub(super) fn set_idle(&self, idle: bool) {
        self.lock().idle = idle;
    }

    /// What was handed to the worker since it last looked.
    pub(super) fn take(&self) -> Vec<Waiting> {
        std::mem::take(&mut self.lock().handed)
    }

    /// The worker stops: nothing more is leased to it; returns what was handed and not taken.
    pub(super) fn close(&self) -> Vec<Waiting> {
        let mut inner = self.lock();
        inner.taker = None;
        inner.idle = false;
        std::mem::take(&mut inner.handed)
    }

    /// Whether a poll's commit may lease to the worker now (it runs here and is idle).
    pub(super) fn may_lease(&self) -> bool {
        let inner = self.lock();
        inner.idle && inner.taker.is_some()
    }

    /// The lease a poll's commit gives `notifications` (about to be queued), or `None` where
    /// no worker runs here or it is busy: then the poll's events are left to a queue pass.
    pub(super) fn lease(
        &self,
        notifications: &[NewNotification],
        now_ms: i64,
    ) -> Option<QueueLease> {
        let inner = self.lock();
        let taker = inner.taker.as_ref().filter(|_| inner.idle)?;
        Some(QueueLease {
            owner: taker.owner.clone(),
            until_ms: now_ms.saturating_add(taker.lease_ms),
            ids: (taker.plan)(notifications),
        })
    }

    /// Hands committed notifications leased to `owner` to the worker; gives them back
    /// (`Err`) where that worker has stopped meanwhile, for the caller to release.
    pub(super) fn hand(&self, owner: &str, leased: Vec<Waiting>) -> Result<(), Vec<Waiting>> {
        if leased.is_empty() {
            return Ok(());
        }
        {
            let mut inner = self.lock();
            if inner.taker.as_ref().is_none_or(|t| t.owner != owner) {
                return Err(leased);
            }
            inner.handed.extend(leased);
        }
        self.ready.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_store::NotificationStatus;

    fn record(id: &str) -> Waiting {
        let record = NotificationRecord {
            id: id.into(),
            instance_id: 1,
            resource: "tasks".into(),
            callback_url: "http://receiver/".into(),
            body: b"{}".to_vec(),
            status: NotificationStatus::Queued,
            attempts: 0,
            instance_version: 1,
            poll_date_ms: None,
        };
        (record, 1_000)
    }

    fn new(id: &str) -> NewNotification {
        NewNotification {
            id: id.into(),
            instance_id: 1,
            resource: "tasks".into(),
            callback_url: "http://receiver/".into(),
            body: b"{}".to_vec(),
            event_ids: vec![format!("{id}-event")],
            poll_date_ms: None,
        }
    }

    #[test]
    fn only_an_idle_running_worker_is_leased_to() {
        let handoff = Handoff::default();
        let batch = [new("a"), new("b")];
        assert_eq!(handoff.lease(&batch, 0), None, "no worker runs");
        handoff.open(
            "w1".into(),
            60_000,
            Box::new(|n| n.iter().take(1).map(|n| n.id.clone()).collect()),
        );
        assert_eq!(handoff.lease(&batch, 0), None, "the worker is busy");
        handoff.set_idle(true);
        let lease = handoff.lease(&batch, 5).expect("an idle worker");
        assert_eq!(lease.owner, "w1");
        assert_eq!(lease.until_ms, 60_005);
        assert_eq!(
            lease.ids,
            BTreeSet::from(["a".to_owned()]),
            "as its plan says"
        );
        handoff.close();
        assert_eq!(handoff.lease(&batch, 0), None, "the worker stopped");
    }

    #[test]
    fn what_is_handed_after_its_worker_stopped_comes_back_to_be_released() {
        let handoff = Handoff::default();
        handoff.open("w1".into(), 60_000, Box::new(|_| BTreeSet::new()));
        assert!(handoff.hand("w1", vec![record("a")]).is_ok());
        assert!(
            handoff.hand("w0", vec![record("b")]).is_err(),
            "leased to another worker"
        );
        let left = handoff.close();
        assert_eq!(
            left.len(),
            1,
            "handed and not taken: the stopping worker releases it"
        );
        let back = handoff.hand("w1", vec![record("c")]).unwrap_err();
        assert_eq!(
            back[0].0.id, "c",
            "the caller releases what no worker takes"
        );
        assert!(handoff.take().is_empty());
    }
}
