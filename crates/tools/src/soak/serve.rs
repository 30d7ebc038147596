//! `serve` as a child process — the real binary, as an operator runs it — started on a free
//! loopback port, killed with SIGKILL, and started again on the same database.
//!
//! The binary is this process's own executable (`tributary soak` is a subcommand of it), or
//! the one `TRIBUTARY_BIN` names. Its log goes to a file in the run's directory, read for the
//! line that says where it listens.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// How every start of `serve` is configured.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    pub binary: PathBuf,
    pub database_url: String,
    /// `TRIBUTARY_*` variables: the provider's origin, the bootstrap secrets, the master key,
    /// short leases and a short retry schedule.
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

/// A running `serve`.
#[derive(Debug)]
pub(crate) struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT/elements/api-v2`.
    pub api: String,
}

impl Serve {
    /// Starts `serve` and waits until it listens (at most a minute: migrations on a fresh
    /// PostgreSQL database take a while).
    pub fn start(config: &ServeConfig) -> anyhow::Result<Serve> {
        let mut command = Command::new(&config.binary);
        command
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                &config.database_url,
            ])
            .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", config.binary.display()))?;
        let stderr = child.stderr.take().context("serve's stderr")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.log)
            .with_context(|| format!("cannot write {}", config.log.display()))?;
        let (found, listening) = std::sync::mpsc::channel();
        // Copies the log to its file, and says where the server listens once it does.
        std::thread::spawn(move || {
            let mut log = log;
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if let Some(rest) = line.split("listening on ").nth(1)
                    && let Some(sender) = found.take()
                {
                    let _ = sender.send(rest.trim().to_owned());
                }
            }
        });
        match listening.recv_timeout(Duration::from_secs(60)) {
            Ok(api) => Ok(Serve { child, api }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "serve did not start listening within a minute; its log is {}",
                    config.log.display()
                )
            }
        }
    }

    /// `kill -9`: no shutdown, no flush — the process is gone mid-whatever.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `tributary` binary to run `serve` with.
pub(crate) fn binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TRIBUTARY_BIN") {
        return Ok(PathBuf::from(path));
    }
    std::env::current_exe().context("cannot find the tributary binary (set TRIBUTARY_BIN)")
}

/// A fresh base64 key of 32 bytes, for `TRIBUTARY_MASTER_KEY` (every start of the run uses
/// the same one, as a deployment does).
pub(crate) fn master_key() -> String {
    tributary_server::secrets::random_secret()
}

/// Where the run's `serve` log goes.
pub(crate) fn log_path(dir: &Path) -> PathBuf {
    dir.join("serve.log")
}
