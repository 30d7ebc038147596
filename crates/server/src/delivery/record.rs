//! Recording attempts by group commit ([`GroupCommit`]): a send hands its attempt in, and
//! whoever gets the turn writes every attempt waiting by then in one transaction. Under load,
//! one commit settles many sends; alone, a send writes its own at once.

use tributary_store::AttemptRecord;
use tributary_store::group::GroupCommit;

/// The attempts waiting to be written, by group commit.
#[derive(Debug, Default)]
pub(super) struct Recorder {
    commit: GroupCommit<AttemptRecord, Result<(), String>>,
}

impl Recorder {
    /// Records an attempt (with whatever others wait), returning once it is written.
    pub(super) async fn record(
        &self,
        store: &dyn tributary_store::Store,
        attempt: AttemptRecord,
    ) -> Result<(), String> {
        self.commit
            .submit(
                attempt,
                |batch| async move {
                    let (attempts, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                    let result = store
                        .record_attempts(attempts)
                        .await
                        .map_err(|e| e.to_string());
                    for waiter in waiters {
                        let _ = waiter.send(result.clone());
                    }
                },
                || Err("the attempt's writer went away".into()),
            )
            .await
    }
}
