//! The accept loop, the same for every provider, and [`RunningSimulator`] for tests, the demo and
//! benchmarks. The loop is hand-rolled (rather than `axum::serve`) for one reason: the `reset`
//! fault must close a connection without answering, so each connection gets an abort handle
//! that its request handlers can pull.

use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::engine::gateway::ConnAbort;
use crate::engine::sim::Simulator;

/// Serves `sim` on `listener` until [`Simulator::shutdown`]; starts the provider's background
/// tasks (Keap's REST hook deliveries).
pub async fn serve(sim: Simulator, listener: TcpListener) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let _ = sim.shared.origin.set(origin_of(addr));
    let router = sim.router();
    let shutdown = sim.shared.shutdown.clone();
    sim.shared.serve.clone().spawn_background(&sim);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, router.clone(), sim.clone()));
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, router: Router, sim: Simulator) {
    let abort = Arc::new(Notify::new());
    let handle = ConnAbort(abort.clone());
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let mut connection = pin!(connection);
    let shutdown = sim.shared.shutdown.clone();
    let mut closing = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            // Dropping the connection closes the socket with no response written.
            _ = abort.notified() => return,
            _ = shutdown.cancelled(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

fn origin_of(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// A simulator serving on a local port, for tests, the demo and benchmarks. Stops when dropped.
#[derive(Debug)]
pub struct RunningSimulator {
    pub addr: SocketAddr,
    pub sim: Simulator,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningSimulator {
    /// Binds `addr` (use port 0 for a free one) and serves `sim` there in the background.
    pub async fn start(sim: Simulator, addr: SocketAddr) -> io::Result<RunningSimulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(sim.clone(), listener));
        Ok(RunningSimulator {
            addr,
            sim,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        origin_of(self.addr)
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn stop(mut self) -> io::Result<()> {
        self.sim.shutdown();
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.sim.shutdown();
    }
}

/// What a user's "Allow" on a consent page gives: posts the scripted consent (`allow=true`) to
/// `authorize_url` for `client_id` and `redirect_uri` (and `extra` form fields, such as
/// `tenant`), and returns the authorization code of the redirect. `http` must not follow
/// redirects (the redirect URI is the client's, not served).
pub(crate) async fn scripted_consent(
    http: &reqwest::Client,
    authorize_url: &str,
    client_id: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> Result<String, String> {
    let redirect = scripted_redirect(http, authorize_url, client_id, redirect_uri, extra).await?;
    redirect
        .get("code")
        .cloned()
        .ok_or_else(|| "the consent redirect carries no code".to_owned())
}

/// Like [`scripted_consent`], but returns every query parameter of the redirect (QuickBooks
/// adds `realmId` beside the code).
pub(crate) async fn scripted_redirect(
    http: &reqwest::Client,
    authorize_url: &str,
    client_id: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> Result<std::collections::HashMap<String, String>, String> {
    let mut form = vec![("allow", "true")];
    form.extend_from_slice(extra);
    let response = http
        .post(authorize_url)
        .query(&[("client_id", client_id), ("redirect_uri", redirect_uri)])
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("the consent page did not answer: {e}"))?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("the consent page did not redirect ({})", response.status()))?;
    Ok(reqwest::Url::parse(location)
        .map_err(|e| format!("the consent redirect does not parse: {e}"))?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// `tributary simulate <provider>`: starts a runtime, serves `simulator` on `bind`, prints
/// `banner(url)` on stdout, and serves until Ctrl-C or SIGTERM.
pub(crate) fn serve_until_stopped(
    simulator: Simulator,
    bind: std::net::SocketAddr,
    banner: impl FnOnce(&str) -> String,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let running = match RunningSimulator::start(simulator, bind).await {
            Ok(running) => running,
            Err(error) => {
                eprintln!("error: cannot listen on {bind}: {error}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", banner(&running.url()));
        wait_for_stop_signal().await;
        let _ = running.stop().await;
        ExitCode::SUCCESS
    })
}

/// Ctrl-C, or SIGTERM on Unix: what `tributary simulate …` serves until.
pub(crate) async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
