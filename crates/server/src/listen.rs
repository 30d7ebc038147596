//! The accept loop: serves the router on the listener with the limits `axum::serve` lacks —
//! a header-read timeout, a body timeout (applied where bodies are read: `api::extract`,
//! `api::nul`) and a cap on open connections — and shuts down gracefully.
//!
//! Why (issue 16): with `axum::serve`, about 20,000 half-sent requests held a file descriptor
//! each for ever, until `accept` failed and `/healthz` stopped answering. Here hyper's
//! header-read timer closes a connection whose request head has not arrived in
//! `TRIBUTARY_HEADER_TIMEOUT` — the timer runs whenever the server waits for a head, so a
//! connection that sends nothing, or idles between kept-alive requests, is closed too — and at
//! most `TRIBUTARY_MAX_CONNECTIONS` are served at once: further clients wait in the kernel's
//! backlog until one closes, instead of taking the descriptors the database and the workers
//! need.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown`, then stops accepting and waits for the open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    loop {
        // A slot first: at the cap, connections wait in the backlog, not in our descriptors.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = shutdown.cancelled() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted: wait a
                    // moment rather than spin, as axum::serve does.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the client's (a reset, a header timeout): nothing to report.
            if let Err(error) = watched.await {
                tracing::debug!(%error, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
