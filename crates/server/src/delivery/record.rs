//! Recording attempts by group commit: a send adds its attempt and waits for the write lock;
//! whoever holds it writes every attempt waiting by then in one transaction. Under load, one
//! commit settles many sends; alone, a send writes its own at once.

use tributary_store::AttemptRecord;

/// The attempts waiting to be written, and the lock of the one writing.
#[derive(Debug, Default)]
pub(super) struct Recorder {
    waiting: std::sync::Mutex<Vec<Waiting>>,
    writing: tokio::sync::Mutex<()>,
}

/// An attempt waiting for the group commit, and who to tell when it is written.
type Waiting = (
    AttemptRecord,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

impl Recorder {
    /// Records an attempt (with whatever others wait), returning once it is written.
    pub(super) async fn record(
        &self,
        store: &dyn tributary_store::Store,
        attempt: AttemptRecord,
    ) -> Result<(), String> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((attempt, done));
        {
            let _writer = self.writing.lock().await;
            let batch =
                std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|p| p.into_inner()));
            if !batch.is_empty() {
                let (attempts, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let result = store
                    .record_attempts(attempts)
                    .await
                    .map_err(|e| e.to_string());
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        }
        outcome
            .await
            .unwrap_or_else(|_| Err("the attempt's writer went away".into()))
    }
}
