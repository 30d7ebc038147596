//! Group commit: many callers each hand in one item to be written, and whoever gets the turn
//! writes every item waiting by then in one go. Alone, a caller writes its own at once; under
//! load, one write serves many. Idle polls' commits and delivery attempts are written so.
//!
//! A caller waits for its turn *or* for its item to be written by another, whichever comes
//! first. (Waiting for the turn alone, as a plain lock does, made every caller whose item had
//! been written take a turn of its own anyway, and write what had arrived meanwhile: under
//! steady load the batches shrank to one or two items, each write waiting for the one before;
//! issue 21 measured delivery attempts written 1.96 at a time.)

use std::future::Future;

use tokio::sync::oneshot;

/// Items waiting to be written, and the turn of the one writing.
#[derive(Debug)]
pub struct GroupCommit<T, R> {
    waiting: std::sync::Mutex<Vec<(T, oneshot::Sender<R>)>>,
    turn: tokio::sync::Mutex<()>,
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        GroupCommit {
            waiting: std::sync::Mutex::default(),
            turn: tokio::sync::Mutex::default(),
        }
    }
}

impl<T, R> GroupCommit<T, R> {
    /// Hands `item` in and returns its outcome once written: by `write`, called with every
    /// item waiting (each with who to tell its outcome) when this caller gets the turn, or by
    /// another caller's. `gone` is the outcome when the one writing it went away without
    /// telling (its task was dropped mid-write).
    pub async fn submit<W, F>(&self, item: T, write: W, gone: impl FnOnce() -> R) -> R
    where
        W: Fn(Vec<(T, oneshot::Sender<R>)>) -> F,
        F: Future<Output = ()>,
    {
        let (done, mut outcome) = oneshot::channel();
        self.lock_waiting().push((item, done));
        loop {
            let _turn = tokio::select! {
                biased;
                written = &mut outcome => return written.unwrap_or_else(|_| gone()),
                turn = self.turn.lock() => turn,
            };
            let batch = std::mem::take(&mut *self.lock_waiting());
            if !batch.is_empty() {
                write(batch).await;
            }
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Vec<(T, oneshot::Sender<R>)>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::{Notify, mpsc, oneshot};

    use super::GroupCommit;

    /// A group commit whose writes report their batch and then wait to be let go, one gate
    /// per write in order: the test decides when each write ends.
    struct Gated {
        commit: GroupCommit<u32, u32>,
        batches: mpsc::UnboundedSender<Vec<u32>>,
        gates: std::sync::Mutex<Vec<Arc<Notify>>>,
    }

    impl Gated {
        async fn submit(&self, item: u32) -> u32 {
            self.commit
                .submit(
                    item,
                    |batch| async move {
                        let gate = self.gates.lock().unwrap().remove(0);
                        let _ = self.batches.send(batch.iter().map(|(i, _)| *i).collect());
                        gate.notified().await;
                        for (i, done) in batch {
                            let _ = done.send(i * 10);
                        }
                    },
                    || u32::MAX,
                )
                .await
        }
    }

    /// Spawns a submit and waits until its item is waiting or being written.
    async fn spawn(gated: &Arc<Gated>, item: u32) -> oneshot::Receiver<u32> {
        let (tx, rx) = oneshot::channel();
        let g = gated.clone();
        tokio::spawn(async move {
            let _ = tx.send(g.submit(item).await);
        });
        // Let it run up to its wait (the runtime is single-threaded).
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        rx
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_item_written_by_another_returns_without_a_turn_of_its_own() {
        let (batches, mut seen) = mpsc::unbounded_channel();
        let gates: Vec<Arc<Notify>> = (0..4).map(|_| Arc::new(Notify::new())).collect();
        let gated = Arc::new(Gated {
            commit: GroupCommit::default(),
            batches,
            gates: std::sync::Mutex::new(gates.clone()),
        });
        // 1 writes alone; 2 and 3 wait meanwhile, and 2 writes both.
        let one = spawn(&gated, 1).await;
        assert_eq!(seen.recv().await.unwrap(), vec![1]);
        let two = spawn(&gated, 2).await;
        let mut three = spawn(&gated, 3).await;
        gates[0].notify_one();
        assert_eq!(one.await.unwrap(), 10);
        assert_eq!(seen.recv().await.unwrap(), vec![2, 3]);
        // 4 arrives while 2 writes [2, 3]: it queues for the turn behind 3.
        let four = spawn(&gated, 4).await;
        gates[1].notify_one();
        assert_eq!(two.await.unwrap(), 20);
        // 4 writes its own; 3, written by 2, has returned already — it did not take the turn
        // and write [4] itself, which would hold it until that write ends.
        assert_eq!(seen.recv().await.unwrap(), vec![4]);
        assert_eq!(
            three.try_recv().ok(),
            Some(30),
            "an item written by another waited for a turn of its own"
        );
        gates[2].notify_one();
        assert_eq!(four.await.unwrap(), 40);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_that_goes_away_answers_its_batch_with_the_gone_outcome() {
        let commit: GroupCommit<u32, u32> = GroupCommit::default();
        let outcome = commit
            .submit(7, |batch| async move { drop(batch) }, || u32::MAX)
            .await;
        assert_eq!(outcome, u32::MAX);
    }
}
