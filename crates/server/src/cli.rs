//! The command line: `tributary serve | simulate infusionsoft | demo`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use tributary_simulator::{ClientApp, Config, RunningSimulator, Simulator};

#[derive(Debug, Parser)]
#[command(
    name = "tributary",
    version,
    about = "Reliable, signed webhooks for SaaS APIs that cannot push."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API, the web UI, the pollers and the delivery workers (not built yet).
    Serve,
    /// Run a provider simulator, for tests, the demo and benchmarks.
    Simulate {
        #[command(subcommand)]
        provider: Provider,
    },
    /// Run the whole loop on this machine with nothing installed (not built yet).
    Demo,
}

#[derive(Debug, Subcommand)]
enum Provider {
    /// A faithful Infusionsoft (Keap) REST API: OAuth, the v1 resources, paging quirks,
    /// throttles, REST hooks, and a control API under /_sim.
    ///
    /// Without --client it knows one OAuth app: client id `tributary-demo`, client secret
    /// `tributary-demo-secret`. Authorize at /app/oauth/authorize, exchange codes at /token,
    /// call the API under /crm/rest/v1.
    Infusionsoft(SimulateArgs),
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// Address to listen on (port 0 picks a free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:9090")]
    bind: SocketAddr,
    /// An OAuth app as ID:SECRET; repeat for several. Replaces the default app
    /// (tributary-demo:tributary-demo-secret).
    #[arg(long = "client", value_name = "ID:SECRET", value_parser = ClientApp::parse)]
    clients: Vec<ClientApp>,
    /// Access-token lifetime in seconds (`expires_in`).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400, allow_hyphen_values = true,
          value_parser = clap::value_parser!(i64).range(1..))]
    token_ttl: i64,
    /// Requests per rolling minute per OAuth app before 429.
    #[arg(long, value_name = "N", default_value_t = 1_500, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    throttle_per_minute: u32,
    /// Initial records per tenant, shared between the nine resources (default: 75).
    #[arg(long, value_name = "N", default_value_t = 75)]
    seed: usize,
    /// Number of Keap apps (tenants); the consent page lets the user pick one.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=100))]
    tenants: u64,
    /// Send `Retry-After` on 429 (the real API does not).
    #[arg(long)]
    retry_after: bool,
    /// Multiply every REST hook delay (30–60 s batching, retries 30–60 s, 5 min, 30 min).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, allow_hyphen_values = true,
          value_parser = parse_scale)]
    hook_time_scale: f64,
}

/// A finite, non-negative factor.
fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(factor) if factor.is_finite() && factor >= 0.0 => Ok(factor),
        _ => Err(format!("expected a number ≥ 0, got {text:?}")),
    }
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => not_yet("serve", 3),
        Command::Demo => not_yet("demo", 8),
        Command::Simulate {
            provider: Provider::Infusionsoft(args),
        } => simulate(args),
    }
}

fn not_yet(command: &str, issue: u32) -> ExitCode {
    eprintln!(
        "tributary {command}: not yet — it lands with issue {issue}. \
         `tributary simulate infusionsoft` works today."
    );
    ExitCode::from(2)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn simulate(args: SimulateArgs) -> ExitCode {
    init_tracing();
    let mut config = Config {
        token_ttl_secs: args.token_ttl,
        throttle_per_minute: args.throttle_per_minute,
        seed: args.seed,
        tenants: usize::try_from(args.tenants).unwrap_or(1),
        retry_after: args.retry_after,
        hook_time_scale: args.hook_time_scale,
        ..Config::default()
    };
    if !args.clients.is_empty() {
        config.clients = args.clients;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let clients: Vec<String> = config.clients.iter().map(|c| c.id.clone()).collect();
        let sim = Simulator::new(config, Arc::new(tributary_domain::SystemClock));
        let running = match RunningSimulator::start(sim, args.bind).await {
            Ok(running) => running,
            Err(error) => {
                eprintln!("error: cannot listen on {}: {error}", args.bind);
                return ExitCode::FAILURE;
            }
        };
        let url = running.url();
        println!("Infusionsoft simulator listening on {url}");
        println!("  OAuth apps: {}", clients.join(", "));
        println!("  consent:    {url}/app/oauth/authorize?client_id={}&redirect_uri=…", clients.first().map(String::as_str).unwrap_or(""));
        println!("  token:      {url}/token");
        println!("  API:        {url}/crm/rest/v1/contacts");
        println!("  control:    {url}/_sim/state, /_sim/faults, /_sim/clock, /_sim/activity, /_sim/requests");
        wait_for_stop_signal().await;
        let _ = running.stop().await;
        ExitCode::SUCCESS
    })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_stop_signal() {
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
