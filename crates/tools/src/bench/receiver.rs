//! The delivery benchmark's receiver, in a process of its own (`tributary bench-receiver`, a
//! hidden subcommand of this binary), as a real deployment's receiver is: its own runtime and
//! threads, reached over loopback TCP, so neither the receiver's work nor the bench's shares a
//! runtime with Tributary's delivery worker or with the ceiling's bare loop.
//!
//! It answers `POST /events` with 200 at once, after checking the `Elements-Webhook-Signature`
//! (one HMAC over the body: cheap next to a request) and counting; each arrival's wall-clock time
//! is kept, and while capturing, the body. Its control routes, for the bench only:
//! - `GET /_receiver/wait?count=N` — answers once N notifications have arrived in all (60 s at
//!   most), with the counts and the N-th arrival's time in microseconds since the epoch;
//! - `POST /_receiver/capture?on=BOOL` — keeps bodies, or stops;
//! - `POST /_receiver/bodies` — the bodies kept so far (JSON strings), and forgets them.
//!
//! The process prints `listening on URL` on stdout, and exits when its stdin closes (the bench
//! ended, however it ended). [`ReceiverProcess`] is the bench's side.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tributary_domain::delivery::elements_signature;

/// The longest a `wait` holds before answering what has arrived.
const WAIT: Duration = Duration::from_secs(60);

/// Microseconds since the epoch, the time both processes share.
pub(super) fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// What the receiver has seen.
struct Inbox {
    key: Option<String>,
    received: AtomicUsize,
    unsigned: AtomicUsize,
    bad_signature: AtomicUsize,
    capture: AtomicBool,
    bodies: Mutex<Vec<Bytes>>,
    /// Arrival times (µs since the epoch), in arrival order.
    arrivals: Mutex<Vec<i64>>,
    count: tokio::sync::watch::Sender<usize>,
}

/// What `wait` answers.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Seen {
    pub received: usize,
    pub unsigned: usize,
    pub bad_signature: usize,
    /// The asked-for arrival's time (µs since the epoch), if it came.
    pub at_us: Option<i64>,
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = wall_us();
    match headers
        .get("elements-webhook-signature")
        .and_then(|v| v.to_str().ok())
    {
        None => {
            inbox.unsigned.fetch_add(1, Ordering::Relaxed);
        }
        Some(signature) => {
            if let Some(key) = &inbox.key
                && elements_signature(key, &body) != signature
            {
                inbox.bad_signature.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if inbox.capture.load(Ordering::Relaxed) {
        inbox
            .bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(body);
    }
    let n = {
        let mut arrivals = inbox.arrivals.lock().unwrap_or_else(|p| p.into_inner());
        arrivals.push(at);
        arrivals.len()
    };
    inbox.received.store(n, Ordering::SeqCst);
    inbox.count.send_replace(n);
    StatusCode::OK
}

#[derive(Deserialize)]
struct WaitQuery {
    count: usize,
}

async fn wait(State(inbox): State<Arc<Inbox>>, Query(query): Query<WaitQuery>) -> axum::Json<Seen> {
    let mut count = inbox.count.subscribe();
    let _ = tokio::time::timeout(WAIT, count.wait_for(|n| *n >= query.count)).await;
    let at_us = query.count.checked_sub(1).and_then(|i| {
        inbox
            .arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(i)
            .copied()
    });
    axum::Json(Seen {
        received: inbox.received.load(Ordering::SeqCst),
        unsigned: inbox.unsigned.load(Ordering::Relaxed),
        bad_signature: inbox.bad_signature.load(Ordering::Relaxed),
        at_us,
    })
}

#[derive(Deserialize)]
struct CaptureQuery {
    on: bool,
}

async fn capture(State(inbox): State<Arc<Inbox>>, Query(query): Query<CaptureQuery>) -> StatusCode {
    inbox.capture.store(query.on, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

async fn bodies(State(inbox): State<Arc<Inbox>>) -> axum::Json<Vec<String>> {
    let taken = std::mem::take(&mut *inbox.bodies.lock().unwrap_or_else(|p| p.into_inner()));
    axum::Json(
        taken
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect(),
    )
}

/// `tributary bench-receiver`: serves until stdin closes.
pub fn serve(signing_key: Option<String>) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    // The bench holds our stdin: when it ends (or dies), so do we.
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    let outcome = runtime.block_on(async move {
        let (count, _) = tokio::sync::watch::channel(0);
        let inbox = Arc::new(Inbox {
            key: signing_key,
            received: AtomicUsize::new(0),
            unsigned: AtomicUsize::new(0),
            bad_signature: AtomicUsize::new(0),
            capture: AtomicBool::new(false),
            bodies: Mutex::default(),
            arrivals: Mutex::default(),
            count,
        });
        // A test-only tool's own routes, not the API: axum's `route` is right here.
        let app = axum::Router::new()
            .route("/events", axum::routing::post(receive))
            .route("/_receiver/wait", axum::routing::get(wait))
            .route("/_receiver/capture", axum::routing::post(capture))
            .route("/_receiver/bodies", axum::routing::post(bodies))
            .with_state(inbox);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        anyhow::Ok(())
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the bench receiver stopped: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The receiver process, from the bench's side; killed when dropped.
pub(super) struct ReceiverProcess {
    child: Child,
    /// Its origin, `http://127.0.0.1:PORT`.
    origin: String,
    control: reqwest::Client,
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ReceiverProcess {
    /// Starts `tributary bench-receiver` (this binary), checking signatures with `signing_key`.
    pub fn start(signing_key: &str) -> anyhow::Result<ReceiverProcess> {
        let exe =
            std::env::current_exe().context("cannot find this program to start a receiver")?;
        let mut child = Command::new(exe)
            .args(["bench-receiver", "--signing-key", signing_key])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the receiver process")?;
        let stdout = child.stdout.take().context("the receiver's stdout")?;
        let mut receiver = ReceiverProcess {
            child,
            origin: String::new(),
            control: reqwest::Client::builder().no_proxy().build()?,
        };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        match line.trim().strip_prefix("listening on ") {
            Some(origin) => receiver.origin = origin.to_owned(),
            None => bail!("the receiver process did not start: {line:?}"),
        }
        Ok(receiver)
    }

    /// Where notifications go.
    pub fn url(&self) -> String {
        format!("{}/events", self.origin)
    }

    /// The process id, for its /proc entries.
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `count` notifications arrived in all (a minute at most); what it saw.
    pub async fn wait(&self, count: usize) -> anyhow::Result<Seen> {
        let seen: Seen = self
            .control
            .get(format!("{}/_receiver/wait?count={count}", self.origin))
            .timeout(WAIT + Duration::from_secs(10))
            .send()
            .await?
            .json()
            .await?;
        ensure!(
            seen.received >= count,
            "only {} notifications reached the receiver in {} s, waiting for {count}",
            seen.received,
            WAIT.as_secs()
        );
        Ok(seen)
    }

    /// What has arrived so far, at once.
    pub async fn seen(&self) -> anyhow::Result<Seen> {
        Ok(self
            .control
            .get(format!("{}/_receiver/wait?count=0", self.origin))
            .send()
            .await?
            .json()
            .await?)
    }

    pub async fn capture(&self, on: bool) -> anyhow::Result<()> {
        let response = self
            .control
            .post(format!("{}/_receiver/capture?on={on}", self.origin))
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "the receiver answered {}",
            response.status()
        );
        Ok(())
    }

    /// The bodies kept since capturing began, forgotten by the receiver.
    pub async fn take_bodies(&self) -> anyhow::Result<Vec<Bytes>> {
        let bodies: Vec<Value> = self
            .control
            .post(format!("{}/_receiver/bodies", self.origin))
            .send()
            .await?
            .json()
            .await?;
        Ok(bodies
            .into_iter()
            .map(|b| Bytes::from(b.as_str().unwrap_or_default().to_owned()))
            .collect())
    }
}
