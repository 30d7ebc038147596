//! What every command needs of the process: logging to stderr, an async runtime, and the
//! stop signal (Ctrl-C, or SIGTERM on Unix).

/// Logs to stderr (`RUST_LOG`, default `info`).
pub(crate) fn init_tracing() {
    tributary_server::telemetry::init_stderr();
}

/// A multi-threaded runtime, or `None` (said on stderr) when none can start.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            None
        }
    }
}

/// Ctrl-C, or SIGTERM on Unix.
pub(crate) async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
