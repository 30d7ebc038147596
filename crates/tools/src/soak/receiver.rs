//! The soak's webhook receiver: the demo's (every signature verified, every event handed to
//! the tally), on a fixed loopback port so the instance's callback URL stays the same, and able
//! to go down (connections refused) and come back.
//!
//! It answers after a short wait, so sends are truly in flight when `serve` is killed. Going
//! down is a graceful stop: requests already being answered are answered, so a send the
//! receiver counted is never one the sender saw fail. What the soak exercises is the outage —
//! refused connections, retries on the schedule — not a receiver that loses its own answers.

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::demo::{Receiver, receive};

/// The demo's receiver, answering after 20–200 ms: the notification is counted first, so a
/// sender killed while it waits for the answer has sent a notification it never recorded — a
/// send in flight at the kill, which it sends again after its restart.
async fn slow_receive(
    state: axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let status = receive(state, headers, body).await;
    let wait = rand::random_range(20..200);
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    status
}

/// A receiver that can be stopped and started again on the same address.
#[derive(Debug)]
pub(crate) struct Downable {
    receiver: Receiver,
    pub addr: SocketAddr,
    running: Option<(CancellationToken, JoinHandle<()>)>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl Downable {
    /// Starts the receiver on a free loopback port.
    pub async fn start(receiver: Receiver) -> anyhow::Result<Downable> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut downable = Downable {
            receiver,
            addr,
            running: None,
        };
        downable.serve(listener);
        Ok(downable)
    }

    /// The callback URL.
    pub fn url(&self) -> String {
        format!("http://{}/webhooks", self.addr)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let router = axum::Router::new()
            .route("/webhooks", axum::routing::post(slow_receive))
            .with_state(self.receiver.clone());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        self.running = Some((stop, task));
    }

    /// Stops accepting (new connections are refused) once the requests being answered are.
    pub async fn down(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            stop.cancel();
            let _ = task.await;
        }
    }

    /// Listens again on the same address (retried briefly while the port is released).
    pub async fn up(&mut self) -> anyhow::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let mut last = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    self.serve(listener);
                    return Ok(());
                }
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(anyhow::anyhow!(
            "the receiver cannot listen on {} again: {}",
            self.addr,
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }
}
