//! The command line: `tributary serve | config | migrate | tenants | dates | simulate | demo |
//! soak | bench`, parsed with clap and dispatched to the server, the tools and the simulator.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use tributary_domain::{Clock, SystemClock};
use tributary_simulator::{ClientApp, Config, RunningSimulator, Simulator};

use crate::process::{init_tracing, runtime, wait_for_stop_signal};
use crate::serve::ServeArgs;
use tributary_server::settings;

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
    /// Run the API, the web UI, the poll scheduler and the delivery worker.
    Serve(ServeArgs),
    /// Print the settings `serve` would run with — each value and where it came from (flag,
    /// environment or default), secrets redacted — and every value that cannot be used.
    /// Takes the same flags as `serve`.
    Config(ServeArgs),
    /// Apply the database's pending migrations and print its schema version. Migrations are
    /// additive, so this is safe while nodes of the previous version still run.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage organizations (tenants) in the database.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Run a provider simulator, for tests, the demo and benchmarks: a built-in one by name
    /// (`tributary simulate hubspot`), or one played from an element definition file
    /// (`tributary simulate --element mykeap.toml`).
    ///
    /// With --element FILE, the simulator serves what the definition says: its consent page
    /// (POST allow=true at the authorization URL's path redirects with a code) and token
    /// endpoint (code exchange and refresh, at the token URL's path), each resource's list and
    /// get requests under the base URL's path with its records, id and date fields (in the
    /// definition's Java date patterns), its filters — query parameters (the params dialect), a
    /// query language's text (the where dialect) or a JSON search body (the search dialect),
    /// read back — its bounds and order, its change feed, its deletes (by absence, a delete log,
    /// archives, stubs in the feed), its pager
    /// (offset, page_number, next_url, cursor, link_header or none), its rate-limit headers and
    /// its error bodies — and the same control API under /_sim as the built-in simulators
    /// (faults, clock, activity, bursts with deletes, state export, request log). Record field
    /// values are invented from `record_fields` (an `id` or `*_id` field holds an integer from 1
    /// to 50, `is_*`/`has_*` a boolean, any other the text "FIELD N"). Point Tributary at it
    /// with TRIBUTARY_<KEY>_ORIGIN=<the printed URL>.
    ///
    /// A definition the generic simulator cannot play is refused at start (exit 2) naming each
    /// such field: a list or change feed sent as POST outside the search dialect, a value from the
    /// token response inside a path (as the API's host, the simulator gives its own origin; a
    /// value from the consent redirect is the tenant's name). Every built-in export plays.
    #[command(args_conflicts_with_subcommands = true)]
    Simulate {
        #[command(subcommand)]
        provider: Option<Provider>,
        #[command(flatten)]
        element: ElementSimulateArgs,
    },
    /// The whole loop on this machine, with nothing installed: the simulator, Tributary on a
    /// fresh SQLite database and a webhook receiver, an instance created through the API,
    /// simulated CRM activity and a live view; exits non-zero unless every change arrived.
    Demo(DemoArgs),
    /// Run the whole loop under faults — serve killed with SIGKILL mid-poll and mid-delivery
    /// and restarted, the receiver down and back, the provider's clock stepped both ways,
    /// provider errors — then compare the provider's state with what the receiver got.
    ///
    /// Prints lost / duplicated (by event id) / delivered; exits non-zero on any loss or any
    /// duplicate that no kill explains. Loopback only.
    Soak(SoakArgs),
    /// Your own elements: check a definition file, or export a built-in one to start from.
    Elements {
        #[command(subcommand)]
        command: ElementsCommand,
    },
    /// Check Java date patterns and time zones of a poller's datesConfiguration.
    Dates {
        #[command(subcommand)]
        command: DatesCommand,
    },
    /// Run the benchmarks (dates, polling, delivery, memory, nodes), each figure next to a
    /// ceiling measured in the same run on this machine.
    ///
    /// Progress on stderr, one table on stdout, the figures as JSON in a file. Run a release
    /// build (cargo run --release -- bench): a debug build's figures are not comparable.
    Bench(BenchArgs),
    /// The delivery benchmark's receiver, in a process of its own (started by `bench`).
    #[command(hide = true)]
    BenchReceiver {
        /// Checks each notification's Elements-Webhook-Signature with this key (the bench's
        /// own, not a secret).
        #[arg(long, value_name = "KEY")]
        signing_key: Option<String>,
    },
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Run only these benchmarks, as a comma list (default: all; nodes only with --postgres-url).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "BENCHMARKS")]
    only: Vec<tributary_tools::bench::Suite>,
    /// Idle instance-resources polled in the sustained polling figure (instances of seven).
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 2_100,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    instance_resources: u64,
    /// Records found by the backfill poll.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    backfill: u64,
    /// Notifications (of ten events each) drained in the delivery throughput figure.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    notifications: u64,
    /// Events timed from stored to received in the delivery latency figures.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    latency_samples: u64,
    /// The two counts of idle instance-resources the memory benchmark reads a serve process's
    /// resident set at, smaller first.
    #[arg(long, value_name = "SMALL,LARGE", value_delimiter = ',',
          default_values_t = [10_000u64, 100_000],
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    memory_resources: Vec<u64>,
    /// How long each date parser runs, in milliseconds.
    #[arg(long, value_name = "MILLISECONDS", allow_hyphen_values = true, default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    date_millis: u64,
    /// A PostgreSQL server for the nodes benchmark (postgres://USER@HOST:PORT/DB); each node
    /// count gets a fresh database of its own there, dropped afterwards.
    #[arg(
        long,
        env = "TRIBUTARY_BENCH_POSTGRES_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    postgres_url: Option<String>,
    /// The nodes benchmark runs 1, 2, … this many serve processes.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=16))]
    max_nodes: u64,
    /// Instances (of five resources) the nodes share.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    node_instances: u64,
    /// New records per resource in the nodes benchmark's busy round.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    node_records: u64,
    /// Instance-resources of one Keap app in the quota benchmark, polled every minute.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    quota_resources: u64,
    /// Minutes of the quota benchmark's manual clock (the second half is measured, and must
    /// be longer than the stretched interval).
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = 480,
          value_parser = clap::value_parser!(u64).range(2..=1_440))]
    quota_minutes: u64,
    /// Where to write the figures as JSON.
    #[arg(long, value_name = "PATH", default_value = "bench.json", value_parser = parse_json_path)]
    json: std::path::PathBuf,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// How long the simulated CRM activity runs, in seconds (Ctrl-C ends it sooner).
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    duration: u64,
    /// Changes per second made at the simulator (creates and edits over five resources).
    #[arg(long, value_name = "CHANGES_PER_SECOND", default_value_t = 5.0,
          value_parser = parse_rate)]
    rate: f64,
    /// Use this database instead of a fresh one in a temporary directory (kept afterwards).
    #[arg(long)]
    database_url: Option<String>,
    /// The provider: infusionsoftrest (Keap), sfdc (Salesforce), hubspotcrm (HubSpot) or
    /// quickbooks (QuickBooks Online); all but Keap with deletes.
    #[arg(long, value_name = "KEY", default_value = "infusionsoftrest",
          value_parser = clap::builder::PossibleValuesParser::new(tributary_tools::demo::ELEMENTS))]
    element: String,
    /// Keap's own REST hooks instead of a "poll now" every second (infusionsoftrest only): the
    /// simulator's hook delays scaled to 0.6–1.2 s, the safety-net poll every minute.
    #[arg(long)]
    webhooks: bool,
}

#[derive(Debug, Args)]
struct SoakArgs {
    /// Stop after this many rounds (default 20, unless --minutes is given).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    rounds: Option<u64>,
    /// Stop after this many minutes (with --rounds, whichever comes first).
    #[arg(long, value_name = "MINUTES", value_parser = parse_minutes)]
    minutes: Option<f64>,
    /// serve's database: a fresh SQLite file by default; a PostgreSQL one must exist (and be
    /// empty).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The provider: infusionsoftrest (Keap) or sfdc (Salesforce, deletes included).
    #[arg(long, value_name = "KEY", default_value = "infusionsoftrest",
          value_parser = clap::builder::PossibleValuesParser::new(tributary_tools::demo::ELEMENTS))]
    element: String,
    /// Changes per second made at the provider.
    #[arg(long, value_name = "CHANGES_PER_SECOND", default_value_t = 4.0, value_parser = parse_rate)]
    rate: f64,
    /// The seed of the run's random choices (default: from the clock; printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum ElementsCommand {
    /// Parse and validate definition files as the server would load them from
    /// TRIBUTARY_ELEMENTS_DIR; prints each problem as FILE:LINE:COLUMN: field: message.
    /// Exit status 0 when all are valid, 1 when one has problems, 2 when one cannot be read.
    Check {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Print a built-in element's definition (TOML, with its comments) to start one's own from.
    Export { key: String },
}

#[derive(Debug, Subcommand)]
enum DatesCommand {
    /// Read VALUE with the pattern; prints the instant (RFC 3339 UTC) and epoch milliseconds.
    Parse {
        /// A Java SimpleDateFormat pattern, or `milliseconds` / `seconds`.
        #[arg(long)]
        format: String,
        /// The zone the value is in when it carries no offset (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        value: String,
    },
    /// Write INSTANT (RFC 3339 or epoch milliseconds) with the pattern.
    Format {
        /// A Java SimpleDateFormat pattern, or `milliseconds` / `seconds`.
        #[arg(long)]
        format: String,
        /// The zone to write the time in (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        #[arg(allow_hyphen_values = true)]
        instant: String,
    },
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// The database: sqlite://PATH (created on first start), sqlite::memory:, or
    /// postgres://USER@HOST:PORT/DATABASE (the database must exist; several nodes can share it).
    #[arg(long, env = "TRIBUTARY_DATABASE_URL", default_value = settings::DEFAULT_DATABASE_URL)]
    database_url: String,
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Create an organization with its first user; prints their secrets once, as JSON.
    Create {
        /// The organization's name.
        #[arg(long)]
        name: String,
        /// The first user's email address (an instance's `user.emailAddress`).
        #[arg(long)]
        email: Option<String>,
        /// The first user's first name (`user.firstName`).
        #[arg(long)]
        first_name: Option<String>,
        /// The first user's last name (`user.lastName`).
        #[arg(long)]
        last_name: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
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
    /// A faithful Salesforce REST API: the OAuth web-server flow, SOQL queries with locator
    /// paging, the core SObjects, getUpdated/getDeleted, the daily API quota, and a control API
    /// under /_sim.
    Salesforce(tributary_simulator::salesforce::Args),
    /// A faithful HubSpot CRM v3 API: OAuth with 30-minute tokens, contacts, companies, deals
    /// and tickets, search with its 10,000-result cap and index lag, archives, the ten-secondly
    /// and search limits, and a control API under /_sim.
    Hubspot(tributary_simulator::hubspot::Args),
    /// A faithful QuickBooks Online Accounting API: OAuth with realmId, CDC, the query
    /// language, local-offset dates, per-realm limits, Faults, and a control API under /_sim.
    Quickbooks(tributary_simulator::quickbooks::Args),
}

/// `tributary simulate --element FILE`'s flags.
#[derive(Debug, Args)]
struct ElementSimulateArgs {
    /// An element definition file (TOML, as `tributary elements export KEY` prints one) to
    /// serve as a simulated provider.
    #[arg(long, value_name = "FILE")]
    element: Option<std::path::PathBuf>,
    /// Address to listen on (port 0 picks a free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:9094", requires = "element")]
    bind: SocketAddr,
    /// An OAuth app as ID:SECRET; repeat for several. Replaces the default app
    /// (tributary-demo:tributary-demo-secret).
    #[arg(long = "client", value_name = "ID:SECRET", value_parser = ClientApp::parse,
          requires = "element")]
    clients: Vec<ClientApp>,
    /// Access-token lifetime in seconds (`expires_in`).
    #[arg(long, value_name = "SECONDS", default_value_t = 3_600, allow_hyphen_values = true,
          value_parser = clap::value_parser!(i64).range(1..), requires = "element")]
    token_ttl: i64,
    /// Requests per rolling minute before 429 (default: the definition's
    /// `api.rate_limit.requests_per_minute`).
    #[arg(long, value_name = "N", allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..), requires = "element")]
    throttle_per_minute: Option<u32>,
    /// Initial records per tenant, shared between the definition's resources.
    #[arg(long, value_name = "N", default_value_t = 60, requires = "element")]
    seed: usize,
    /// Number of tenants; the consent page lets the user pick one.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=100), requires = "element")]
    tenants: u64,
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

/// A change rate the simulator can make: above 0, at most 1,000 per second.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 1_000.0 => Ok(rate),
        _ => Err(format!(
            "expected changes per second above 0 and at most 1000, got {text:?}"
        )),
    }
}

/// A soak's length: above 0, at most a day.
fn parse_minutes(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(minutes) if minutes.is_finite() && minutes > 0.0 && minutes <= 1_440.0 => Ok(minutes),
        _ => Err(format!(
            "expected minutes above 0 and at most 1440, got {text:?}"
        )),
    }
}

/// A file that can be written: its directory exists, and it is not a directory.
fn parse_json_path(text: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(text);
    if text.is_empty() || path.is_dir() {
        return Err(format!("{text:?} is not a file name"));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(format!("the directory {} does not exist", dir.display()))
        }
        _ => Ok(path),
    }
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
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let given = |name: &str| {
        matches
            .subcommand_matches(name)
            .map(crate::serve::given)
            .unwrap_or_default()
    };
    match cli.command {
        Command::Serve(_) => crate::serve::serve(given("serve")),
        Command::Config(_) => crate::serve::config(given("config")),
        Command::Migrate { database } => migrate(&database.database_url),
        Command::Tenants {
            command:
                TenantsCommand::Create {
                    name,
                    email,
                    first_name,
                    last_name,
                    database,
                },
        } => create_tenant(
            &name,
            tributary_store::UserProfile {
                email,
                first_name,
                last_name,
            },
            &database.database_url,
        ),
        Command::Demo(args) => tributary_tools::demo::run(tributary_tools::demo::DemoOptions {
            duration: std::time::Duration::from_secs(args.duration),
            rate: args.rate,
            database_url: args.database_url,
            element: args.element,
            webhooks: args.webhooks,
        }),
        Command::Soak(args) => tributary_tools::soak::run(tributary_tools::soak::SoakOptions {
            rounds: args.rounds,
            duration: args
                .minutes
                .map(|m| std::time::Duration::from_secs_f64(m * 60.0)),
            database_url: args.database_url,
            element: args.element,
            rate: args.rate,
            seed: args.seed,
        }),
        Command::Elements {
            command: ElementsCommand::Check { files },
        } => crate::elements_cli::check_files(&files),
        Command::Elements {
            command: ElementsCommand::Export { key },
        } => crate::elements_cli::export(&key),
        Command::Dates {
            command:
                DatesCommand::Parse {
                    format,
                    timezone,
                    value,
                },
        } => crate::dates_cli::parse(&format, timezone.as_deref(), &value),
        Command::Dates {
            command:
                DatesCommand::Format {
                    format,
                    timezone,
                    instant,
                },
        } => crate::dates_cli::format(&format, timezone.as_deref(), &instant),
        Command::Simulate {
            provider: None,
            element,
        } => simulate_element(element),
        Command::Simulate {
            provider: Some(Provider::Infusionsoft(args)),
            ..
        } => simulate(args),
        Command::Simulate {
            provider: Some(Provider::Salesforce(args)),
            ..
        } => {
            init_tracing();
            tributary_simulator::salesforce::run(args)
        }
        Command::Simulate {
            provider: Some(Provider::Hubspot(args)),
            ..
        } => {
            init_tracing();
            tributary_simulator::hubspot::run(args)
        }
        Command::Simulate {
            provider: Some(Provider::Quickbooks(args)),
            ..
        } => {
            init_tracing();
            tributary_simulator::quickbooks::run(args)
        }
        Command::Bench(args) => tributary_tools::bench::run(bench_options(args)),
        Command::BenchReceiver { signing_key } => {
            tributary_tools::bench::receiver::serve(signing_key)
        }
    }
}

fn bench_options(args: BenchArgs) -> tributary_tools::bench::BenchOptions {
    use tributary_tools::bench::{dates, delivery, memory, nodes, polling, quota};
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    tributary_tools::bench::BenchOptions {
        only: args.only,
        dates: dates::DatesOptions {
            budget: std::time::Duration::from_millis(args.date_millis),
        },
        polling: polling::PollingOptions {
            instance_resources: size(args.instance_resources),
            backfill: size(args.backfill),
        },
        delivery: delivery::DeliveryOptions {
            notifications: size(args.notifications),
            latency_samples: size(args.latency_samples),
            ..delivery::DeliveryOptions::default()
        },
        memory: memory::MemoryOptions {
            instance_resources: args.memory_resources.into_iter().map(size).collect(),
        },
        nodes: nodes::NodesOptions {
            postgres_url: args.postgres_url,
            max_nodes: size(args.max_nodes),
            instances: size(args.node_instances),
            records: size(args.node_records),
        },
        quota: quota::QuotaOptions {
            instance_resources: size(args.quota_resources),
            minutes: size(args.quota_minutes),
        },
        json: args.json,
    }
}

fn migrate(database_url: &str) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let shown = settings::redact_url(database_url);
        // Opening a store applies what is pending, each migration once even with several
        // processes at it.
        let store = match tributary_store::open(database_url, SystemClock.now_ms()).await {
            Ok(store) => store,
            Err(error) => {
                eprintln!("error: cannot migrate {shown}: {error}");
                return ExitCode::FAILURE;
            }
        };
        match store.schema_version().await {
            Ok((applied, known)) if applied > known => {
                println!(
                    "{shown}: schema version {applied}, newer than this binary's ({known}); \
                     nothing to do"
                );
                ExitCode::SUCCESS
            }
            Ok((applied, _)) => {
                println!("{shown}: schema version {applied}, up to date");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: cannot read the schema version of {shown}: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

fn create_tenant(name: &str, user: tributary_store::UserProfile, database_url: &str) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let now = SystemClock.now_ms();
        let store = match tributary_store::open(database_url, now).await {
            Ok(store) => store,
            Err(error) => {
                eprintln!(
                    "error: cannot open {}: {error}",
                    settings::redact_url(database_url)
                );
                return ExitCode::FAILURE;
            }
        };
        match tributary_server::tenants::create_with_user(store.as_ref(), name, user, now).await {
            Ok(secrets) => {
                println!("{}", secrets.to_json());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        }
    })
}

/// `tributary simulate --element FILE` (or `tributary simulate` alone: what to name).
fn simulate_element(args: ElementSimulateArgs) -> ExitCode {
    let Some(file) = args.element else {
        eprintln!(
            "error: name a provider (infusionsoft, salesforce, hubspot, quickbooks) or an \
             element definition with --element FILE; see tributary simulate --help"
        );
        return ExitCode::from(2);
    };
    init_tracing();
    let options = tributary_simulator::generic::Options {
        clients: if args.clients.is_empty() {
            vec![ClientApp::default_app()]
        } else {
            args.clients
        },
        tenants: usize::try_from(args.tenants).unwrap_or(1),
        seed: args.seed,
        token_ttl_secs: args.token_ttl,
        per_minute: args.throttle_per_minute,
        bind: args.bind,
        ..tributary_simulator::generic::Options::default()
    };
    tributary_tools::element_sim::run(&file, options)
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
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let clients: Vec<String> = config.clients.iter().map(|c| c.id.clone()).collect();
        let sim = Simulator::new(config, Arc::new(SystemClock));
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
