//! What the `tributary` binary's test programs share: a child process killed when the test
//! ends, a temp directory removed when it ends, `serve` started and its address read from its
//! log, and a deadline-bound wait. (`mod common;` in each program; each uses some.)

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child when the test ends, pass or fail.
#[allow(dead_code)]
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory of a test's own, removed when dropped: a test that fails before its last line
/// leaves nothing behind either.
#[allow(dead_code)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Writes `text` to the file `name` in the directory; returns its path.
    #[allow(dead_code)]
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Gone already when the test removed it itself.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh `tributary-cli-TAG-PID-NANOS` directory under the system's temp directory.
#[allow(dead_code)]
pub fn temp_dir(tag: &str) -> TempDir {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "tributary-cli-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// `tributary serve` on a free port with the database at `database_url`; the caller adds its
/// environment and stdout.
#[allow(dead_code)]
pub fn serve_command(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    command.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        database_url,
    ]);
    command
}

/// Spawns `command` (a `serve`) with its stderr piped; returns the process and its API base URL
/// once its log says where it listens.
#[allow(dead_code)]
pub fn listening(command: &mut Command) -> (Running, String) {
    let mut running = Running(command.stderr(Stdio::piped()).spawn().unwrap());
    let mut lines = BufReader::new(running.0.stderr.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.split("listening on ").nth(1) {
            // Keep reading the log so the server never writes into a closed pipe.
            std::thread::spawn(move || for _ in lines {});
            return (running, rest.trim().to_owned());
        }
    }
    panic!("serve exited before listening");
}

/// Waits until `condition` holds, checking every 20 ms; panics naming `what` if it still does
/// not after `deadline`. The one way these tests wait for work a process does.
#[allow(dead_code)]
pub async fn eventually(deadline: Duration, what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !condition().await {
        assert!(Instant::now() < until, "not within {deadline:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// POSTs `body` to a simulator's control path (`/_sim/…`) and expects success.
#[allow(dead_code)]
pub async fn sim_control(
    http: &reqwest::Client,
    origin: &str,
    path: &str,
    body: serde_json::Value,
) {
    let response = http
        .post(format!("{origin}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}");
}

/// The simulator on a free port, on the system clock.
#[allow(dead_code)]
pub async fn start_sim(
    config: tributary_simulator::Config,
) -> tributary_simulator::RunningSimulator {
    let sim = tributary_simulator::Simulator::new(
        config,
        std::sync::Arc::new(tributary_domain::SystemClock),
    );
    tributary_simulator::RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}
