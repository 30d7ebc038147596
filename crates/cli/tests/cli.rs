//! The `tributary` binary itself: its subcommands, flags and errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Running, eventually, listening, serve_command, temp_dir};

fn tributary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tributary"))
}

#[tokio::test]
async fn simulate_infusionsoft_serves_on_the_printed_url_with_the_given_flags() {
    let child = tributary()
        .args([
            "simulate",
            "infusionsoft",
            "--bind",
            "127.0.0.1:0",
            "--client",
            "app1:s3cret",
            "--token-ttl",
            "120",
            "--throttle-per-minute",
            "7",
            "--seed",
            "150",
            "--tenants",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut first = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "https://client.example/cb";
    let consent = http
        .post(format!("{url}/app/oauth/authorize"))
        .query(&[("client_id", "app1"), ("redirect_uri", redirect)])
        .form(&[("allow", "true"), ("tenant", "ab124.infusionsoft.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 302);
    let location = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: serde_json::Value = http
        .post(format!("{url}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "app1"),
            ("client_secret", "s3cret"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["expires_in"], 120);
    assert_eq!(tokens["scope"], "full|ab124.infusionsoft.com");
    let contacts = http
        .get(format!("{url}/crm/rest/v1/contacts"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(contacts.headers()["x-keap-product-throttle-limit"], "7");
    let body: serde_json::Value = contacts.json().await.unwrap();
    assert_eq!(
        body["count"], 50,
        "--seed 150 gives each tenant 50 contacts"
    );

    // The default app is gone when --client is given.
    let default_app = http
        .get(format!("{url}/app/oauth/authorize"))
        .query(&[("client_id", "tributary-demo"), ("redirect_uri", redirect)])
        .send()
        .await
        .unwrap();
    assert_eq!(default_app.status(), 400);
}

#[test]
fn bad_flags_are_refused_with_a_message_naming_them() {
    for (args, needle) in [
        (vec!["--client", "nocolon"], "--client"),
        (vec!["--token-ttl", "0"], "--token-ttl"),
        (vec!["--throttle-per-minute", "-3"], "--throttle-per-minute"),
        (vec!["--bind", "not-an-address"], "--bind"),
        (vec!["--tenants", "0"], "--tenants"),
        (vec!["--hook-time-scale", "-1"], "--hook-time-scale"),
    ] {
        let output = tributary()
            .args(["simulate", "infusionsoft"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// The demo as a newcomer runs it: the whole loop, then its own check of every change.
#[test]
fn demo_runs_the_whole_loop_and_accounts_for_every_change() {
    let output = tributary()
        .args(["demo", "--duration", "20"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("signature verified"),
        "each event is shown as it arrives: {stdout}"
    );
    assert!(
        stdout.contains("Web UI http://127.0.0.1:"),
        "the UI's address is shown: {stdout}"
    );
    assert!(
        !stdout.contains("sign in with user secret"),
        "secrets only on a terminal: {stdout}"
    );
    let verdict = stdout
        .lines()
        .find(|line| line.starts_with("OK: "))
        .unwrap_or_else(|| panic!("no verdict: {stdout}"));
    // "OK: 61 changes made at the provider = 61 events delivered, each once + 0 merged (…);
    // 5 records deleted at the provider = 5 DELETED events, each once; signatures verified
    // 42/42; every changed record's latest version delivered (60/60)." Keap's deletes are
    // seen by reconciliation sweeps, which the demo's "poll now" asks for.
    let numbers: Vec<u64> = verdict
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap())
        .collect();
    let [
        made,
        events,
        merged,
        deleted,
        deletions,
        verified,
        notifications,
        latest,
        records,
    ] = numbers[..]
    else {
        panic!("unexpected verdict: {verdict}");
    };
    assert!(events > 0 && notifications > 0, "{verdict}");
    assert_eq!(made, events + merged, "{verdict}");
    assert!(deleted > 0, "the demo deleted records: {verdict}");
    assert_eq!(deleted, deletions, "{verdict}");
    assert_eq!(
        verified, notifications,
        "every signature verified: {verdict}"
    );
    assert_eq!(latest, records, "{verdict}");
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "a clean run logs no warning: {stderr}"
    );
}

/// The demo with Keap's own REST hooks instead of a "poll now" every second: every change and
/// every deletion arrives once, through the hooks (and the safety-net poll).
#[test]
fn demo_with_webhooks_accounts_for_every_change_and_every_deletion() {
    let output = tributary()
        .args(["demo", "--webhooks", "--duration", "15"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("gets Keap's REST hooks"), "{stdout}");
    let verdict = stdout
        .lines()
        .find(|line| line.starts_with("OK: "))
        .unwrap_or_else(|| panic!("no verdict: {stdout}"));
    assert!(verdict.contains("each once"), "{verdict}");
    let refused = tributary()
        .args(["demo", "--webhooks", "--element", "sfdc", "--duration", "1"])
        .output()
        .unwrap();
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--element infusionsoftrest"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The demo against Salesforce: deletes too, each delivered once as DELETED.
#[test]
fn demo_with_salesforce_accounts_for_every_change_and_every_deletion() {
    let output = tributary()
        .args(["demo", "--element", "sfdc", "--duration", "12"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(" DELETED "),
        "deletions are shown: {stdout}"
    );
    let verdict = stdout
        .lines()
        .find(|line| line.starts_with("OK: "))
        .unwrap_or_else(|| panic!("no verdict: {stdout}"));
    let numbers: Vec<u64> = verdict
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap())
        .collect();
    let [
        made,
        events,
        merged,
        deleted,
        deletions,
        verified,
        notifications,
        latest,
        records,
    ] = numbers[..]
    else {
        panic!("unexpected verdict: {verdict}");
    };
    assert_eq!(made, events + merged, "{verdict}");
    assert!(deleted > 0, "the demo deleted records: {verdict}");
    assert_eq!(deleted, deletions, "{verdict}");
    assert_eq!(verified, notifications, "{verdict}");
    assert_eq!(latest, records, "{verdict}");
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "a clean run logs no warning: {stderr}"
    );
}

/// QuickBooks: invoices and payments deleted (stubs in the change feed), customers, vendors and
/// items deactivated (updates) — every change once, every deletion once.
#[test]
fn demo_with_quickbooks_accounts_for_every_change_and_every_deletion() {
    let output = tributary()
        .args(["demo", "--element", "quickbooks", "--duration", "12"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let verdict = stdout
        .lines()
        .find(|line| line.starts_with("OK: "))
        .unwrap_or_else(|| panic!("no verdict: {stdout}"));
    let numbers: Vec<u64> = verdict
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap())
        .collect();
    let [
        made,
        events,
        merged,
        deleted,
        deletions,
        verified,
        notifications,
        latest,
        records,
    ] = numbers[..]
    else {
        panic!("unexpected verdict: {verdict}");
    };
    assert!(made > 0, "{verdict}");
    assert_eq!(made, events + merged, "{verdict}");
    assert_eq!(deleted, deletions, "{verdict}");
    assert_eq!(verified, notifications, "{verdict}");
    assert_eq!(latest, records, "{verdict}");
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "a clean run logs no warning: {stderr}"
    );
}

#[test]
fn demo_flags_are_checked() {
    for (args, needle) in [
        (vec!["--element", "nosuch"], "--element"),
        (vec!["--rate", "0"], "--rate"),
        (vec!["--rate", "many"], "--rate"),
        (vec!["--duration", "0"], "--duration"),
    ] {
        let output = tributary().arg("demo").args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(needle),
            "{args:?}"
        );
    }
}

/// Starts `serve` on a free port; returns the process and its API base URL once it listens.
fn start_serve(database_url: &str, envs: &[(&str, &str)]) -> (Running, String) {
    let mut command = serve_command(database_url);
    command
        .env_remove("TRIBUTARY_BOOTSTRAP_ORG_SECRET")
        .env_remove("TRIBUTARY_BOOTSTRAP_USER_SECRET")
        .env_remove("TRIBUTARY_MASTER_KEY")
        .stdout(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    listening(&mut command)
}

/// Stops the process and returns everything it printed on stdout.
fn stop(mut running: Running) -> String {
    let _ = running.0.kill();
    let mut out = String::new();
    use std::io::Read;
    running
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    out
}

async fn instances_status(api: &str, organization: &str, user: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{api}/instances"))
        .header(
            "Authorization",
            format!("User {user}, Organization {organization}"),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn serve_prints_generated_secrets_once_and_tenants_create_adds_organizations() {
    let dir = temp_dir("serve");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let (first, api) = start_serve(&url, &[]);
    assert!(
        api.starts_with("http://127.0.0.1:") && api.ends_with("/elements/api-v2"),
        "{api}"
    );
    // The secrets are on stdout (not the log), once.
    // The secrets are printed before the listening line, so they are all there now.
    let printed = stop(first);
    let secrets: serde_json::Value = serde_json::from_str(printed.lines().next().unwrap()).unwrap();
    let organization = secrets["organizationSecret"].as_str().unwrap().to_owned();
    let user = secrets["userSecret"].as_str().unwrap().to_owned();
    assert!(
        dir.join("t.db.key").exists(),
        "the vault key file sits beside the database"
    );

    let (second, api) = start_serve(&url, &[]);
    assert_eq!(instances_status(&api, &organization, &user).await, 200);
    assert_eq!(instances_status(&api, &organization, "wrong").await, 401);

    let created = tributary()
        .args([
            "tenants",
            "create",
            "--name",
            "Acme",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let acme: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let (acme_org, acme_user) = (
        acme["organizationSecret"].as_str().unwrap(),
        acme["userSecret"].as_str().unwrap(),
    );
    assert_ne!(acme_org, organization);
    assert_eq!(instances_status(&api, acme_org, acme_user).await, 200);
    assert_eq!(
        instances_status(&api, acme_org, &user).await,
        401,
        "a user of another organization"
    );
    assert!(stop(second).is_empty(), "a second start prints no secrets");

    let blank = tributary()
        .args(["tenants", "create", "--name", " ", "--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(blank.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn serve_bootstraps_from_the_environment_and_refuses_half_a_pair() {
    let dir = temp_dir("bootstrap");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let org = "org-secret-from-the-environment";
    let user = "user-secret-from-the-environment";
    let (running, api) = start_serve(
        &url,
        &[
            ("TRIBUTARY_BOOTSTRAP_ORG_SECRET", org),
            ("TRIBUTARY_BOOTSTRAP_USER_SECRET", user),
        ],
    );
    assert_eq!(instances_status(&api, org, user).await, 200);
    assert!(stop(running).is_empty(), "given secrets are not printed");

    let output = serve_command(&format!("sqlite://{}", dir.join("u.db").display()))
        .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", org)
        .env_remove("TRIBUTARY_BOOTSTRAP_USER_SECRET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set both or neither"), "{stderr}");
    assert!(!stderr.contains(org), "the secret is not echoed");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn settings_that_cannot_work_are_refused_by_name() {
    for (envs, needle) in [
        (
            vec![("TRIBUTARY_DELIVERY_LEASE", "10s")],
            "TRIBUTARY_DELIVERY_LEASE (10s) must be longer than TRIBUTARY_DELIVERY_TIMEOUT (30s)",
        ),
        (
            vec![("TRIBUTARY_DELIVERY_TIMEOUT", "0s")],
            "--delivery-timeout",
        ),
        (
            vec![("TRIBUTARY_DELIVERY_LEASE", "2 minutes")],
            "unknown unit",
        ),
        (
            vec![("TRIBUTARY_DELIVERY_PER_HOST", "0")],
            "--delivery-per-host",
        ),
    ] {
        let dir = temp_dir("delivery-settings");
        let mut command = serve_command(&format!("sqlite://{}", dir.join("t.db").display()));
        for (key, value) in &envs {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{envs:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{envs:?}: {stderr}");
        assert!(!dir.join("t.db").exists(), "nothing was created");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// `tributary config` through the binary: each setting's value and where it came from (a
/// flag beats the environment, the rest are defaults), and no secret, password included.
#[test]
fn config_shows_each_setting_with_its_source_and_never_a_secret() {
    let master_key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
    let (org, user) = (
        "config-organization-secret-1",
        "config-user-secret-00000001",
    );
    let output = tributary()
        .args(["config", "--poll-concurrency", "3", "--roles", "api"])
        .env("TRIBUTARY_POLL_CONCURRENCY", "5")
        .env(
            "TRIBUTARY_DATABASE_URL",
            "postgres://tributary:hunter2-password@db.example:5432/tributary",
        )
        .env("TRIBUTARY_MASTER_KEY", master_key)
        .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", org)
        .env("TRIBUTARY_BOOTSTRAP_USER_SECRET", user)
        .env("TRIBUTARY_INFUSIONSOFTREST_ORIGIN", "http://127.0.0.1:9090")
        .env_remove("TRIBUTARY_BIND")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let line = |variable: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{variable} ")))
            .unwrap_or_else(|| panic!("no {variable} in {stdout}"));
        let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let source = words.pop().unwrap();
        vec![words.last().unwrap().clone(), source]
    };
    assert_eq!(line("TRIBUTARY_POLL_CONCURRENCY"), ["3", "flag"]);
    assert_eq!(line("TRIBUTARY_ROLES"), ["api", "flag"]);
    assert_eq!(line("TRIBUTARY_BIND"), ["127.0.0.1:8080", "default"]);
    assert_eq!(line("TRIBUTARY_DELIVERY_LEASE"), ["2m", "default"]);
    assert_eq!(
        line("TRIBUTARY_DATABASE_URL"),
        ["postgres://****@db.example:5432/tributary", "environment"]
    );
    assert_eq!(line("TRIBUTARY_MASTER_KEY"), ["********", "environment"]);
    assert_eq!(
        line("TRIBUTARY_BOOTSTRAP_ORG_SECRET"),
        ["********", "environment"]
    );
    assert_eq!(
        line("TRIBUTARY_BOOTSTRAP_USER_SECRET"),
        ["********", "environment"]
    );
    assert_eq!(
        line("TRIBUTARY_INFUSIONSOFTREST_ORIGIN"),
        ["http://127.0.0.1:9090", "environment"]
    );
    for secret in [master_key, org, user, "hunter2-password"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret is shown: {stdout}{stderr}"
        );
    }
}

/// One run names every bad value, not the first: `config` and `serve` alike.
#[test]
fn every_bad_setting_is_named_at_once() {
    for command in ["config", "serve"] {
        let dir = temp_dir("bad-settings");
        let output = tributary()
            .args([
                command,
                "--delivery-per-host",
                "0",
                "--database-url",
                &format!("sqlite://{}", dir.join("t.db").display()),
            ])
            .env("TRIBUTARY_POLL_LEASE", "forever")
            .env("TRIBUTARY_ROLES", "api,worker")
            .env("TRIBUTARY_MASTER_KEY", "not-base64-of-32-bytes")
            .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", "too-short")
            .env("TRIBUTARY_BOOTSTRAP_USER_SECRET", "also-too-short")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for needle in [
            "--delivery-per-host (TRIBUTARY_DELIVERY_PER_HOST): \"0\"",
            "--poll-lease (TRIBUTARY_POLL_LEASE): \"forever\"",
            "--roles (TRIBUTARY_ROLES): unknown role \"worker\"",
            "--master-key (TRIBUTARY_MASTER_KEY): must be base64 of exactly 32 bytes",
            "TRIBUTARY_BOOTSTRAP_ORG_SECRET: must be at least 16 characters",
            "TRIBUTARY_BOOTSTRAP_USER_SECRET: must be at least 16 characters",
        ] {
            assert!(stderr.contains(needle), "{command}: {needle} in {stderr}");
        }
        for secret in ["not-base64-of-32-bytes", "too-short", "also-too-short"] {
            assert!(
                !stderr.contains(secret),
                "{command} shows a secret: {stderr}"
            );
        }
        assert!(!dir.join("t.db").exists(), "nothing was created");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn help_documents_the_default_app() {
    let output = tributary()
        .args(["simulate", "infusionsoft", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("tributary-demo") && help.contains("tributary-demo-secret"),
        "{help}"
    );
}

#[test]
fn dates_parse_prints_the_instant_and_epoch_milliseconds() {
    let output = tributary()
        .args([
            "dates",
            "parse",
            "--format",
            "EEE, dd MMM yyyy HH:mm:ss Z",
            "Sat, 28 Nov 2026 05:00:00 -0500",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "2026-11-28T10:00:00.000Z 1795860000000\n"
    );
    let zoned = tributary()
        .args([
            "dates",
            "parse",
            "--format",
            "yyyy-MM-dd HH:mm",
            "--timezone",
            "PST",
            "2026-07-01 12:00",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&zoned.stdout),
        "2026-07-01T19:00:00.000Z 1782932400000\n",
        "PST is Los Angeles, in summer time"
    );
}

#[test]
fn dates_parse_reads_text_after_the_pattern_as_java_does_and_warns_on_stderr() {
    let output = tributary()
        .args([
            "dates",
            "parse",
            "--format",
            "yyyy-MM-dd'T'HH:mm:ss",
            "2017-01-01T22:17:59.039Z",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "2017-01-01T22:17:59.000Z 1483309079000\n",
        "the prefix, as Java's parse(String) and the poller read it"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("warning: \".039Z\" after the pattern was ignored")
            && stderr.contains("  2017-01-01T22:17:59.039Z\n                     ^"),
        "{stderr}"
    );
}

#[tokio::test]
async fn tenants_create_keeps_the_first_user_s_name_and_email() {
    let dir = temp_dir("tenant-user");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let created = tributary()
        .args([
            "tenants",
            "create",
            "--name",
            "Acme",
            "--email",
            "ada@acme.example",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let store = tributary_store::open(&url, 0).await.unwrap();
    let user = store.user(1, 1).await.unwrap().unwrap();
    assert_eq!(
        user.profile,
        tributary_store::UserProfile {
            email: Some("ada@acme.example".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
        }
    );
    let bad = tributary()
        .args([
            "tenants",
            "create",
            "--name",
            "Acme",
            "--email",
            "not an address",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--email must be an email address"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dates_format_writes_an_instant_in_a_zone() {
    let output = tributary()
        .args([
            "dates",
            "format",
            "--format",
            "EEEE d MMMM yyyy hh:mm a z",
            "--timezone",
            "America/New_York",
            "1795860000000",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Saturday 28 November 2026 05:00 AM EST\n"
    );
}

#[test]
fn dates_errors_point_at_the_offending_character() {
    let output = tributary()
        .args(["dates", "parse", "--format", "yyyy-MM-dd", "2026-04-31"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("at position 8\n  2026-04-31\n          ^"),
        "{stderr}"
    );
    let output = tributary()
        .args(["dates", "parse", "--format", "yyyy-qq", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("unknown pattern letter 'q' at position 5\n  yyyy-qq\n       ^")
    );
    let output = tributary()
        .args([
            "dates",
            "format",
            "--format",
            "yyyy",
            "--timezone",
            "Mars/Base",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown time zone \"Mars/Base\""));
    let output = tributary()
        .args(["dates", "format", "--format", "yyyy", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// The simulator on a manual clock standing at the current second: a test moves the provider's
/// time forward (its records' `last_updated` is rounded to the second) instead of sleeping
/// until the next second. The `serve` processes keep the system clock; the provider's running
/// behind it is a skew they must (and do) take.
async fn start_sim_on_manual_clock(
    config: tributary_simulator::Config,
) -> (
    tributary_simulator::RunningSimulator,
    std::sync::Arc<tributary_domain::ManualClock>,
) {
    let clock = manual_clock();
    let sim = tributary_simulator::Simulator::new(config, clock.clone());
    let sim = tributary_simulator::RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (sim, clock)
}

/// Waits until the database at `url` has no notification left to send (none QUEUED, the
/// claims of a killed process included once their leases end), or a minute passes.
async fn wait_until_none_queued(url: &str) {
    let store = tributary_store::open(url, 0).await.unwrap();
    eventually(
        std::time::Duration::from_secs(60),
        "every notification sent (none queued)",
        async || store.queued_notifications().await.unwrap() == 0,
    )
    .await;
}

/// A manual clock standing at the current second, for a simulator started with it.
fn manual_clock() -> std::sync::Arc<tributary_domain::ManualClock> {
    use tributary_domain::Clock;
    let now = tributary_domain::SystemClock.now_ms();
    std::sync::Arc::new(tributary_domain::ManualClock::new(
        now - now.rem_euclid(1_000),
    ))
}

/// The contacts poller the simulator's contacts fit (`+0000` dates), `page_size` a page.
fn contacts_poller(page_size: u32) -> serde_json::Value {
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    serde_json::json!({"contacts": {"url": "/hubs/crm/contacts", "idField": "id",
        "pageSize": page_size, "datesConfiguration": {"updatedDateField": "last_updated",
            "updatedDateFormat": format, "createdDateField": "date_created",
            "createdDateFormat": format}}})
}

/// An OAuth code from the simulator's consent endpoint, as a user's browser would get it.
async fn authorization_code(origin: &str, redirect: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    tributary_simulator::consent_code(&http, origin, "tributary-demo", redirect)
        .await
        .unwrap()
}

/// `kill -9` of a real `serve` in the middle of a poll (pages read, nothing committed): after a
/// restart the next poll delivers every change once, and nothing twice.
#[tokio::test]
async fn a_poll_killed_between_reading_pages_and_committing_loses_and_duplicates_nothing() {
    use serde_json::{Value, json};

    let (sim, clock) = start_sim_on_manual_clock(tributary_simulator::Config {
        seed: 0,
        ..tributary_simulator::Config::default()
    })
    .await;
    let origin = sim.url();
    let dir = temp_dir("crash");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let (org, user) = (
        "crash-test-organization-secret",
        "crash-test-user-secret-000001",
    );
    let envs = [
        ("TRIBUTARY_INFUSIONSOFTREST_ORIGIN", origin.as_str()),
        ("TRIBUTARY_BOOTSTRAP_ORG_SECRET", org),
        ("TRIBUTARY_BOOTSTRAP_USER_SECRET", user),
        ("TRIBUTARY_POLL_CONCURRENCY", "0"),
        ("TRIBUTARY_POLL_LEASE", "5s"),
    ];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let auth = format!("User {user}, Organization {org}");
    let redirect = "https://app.example/oauth";

    let (first, api) = start_serve(&url, &envs);
    let code = authorization_code(&origin, redirect).await;
    let body = json!({"element": {"key": "infusionsoftrest"}, "providerData": {"code": code},
        "name": "crash", "configuration": {"oauth.api.key": "tributary-demo",
        "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": redirect,
        "event.notification.enabled": true, "event.notification.callback.url": "https://r.example/",
        "event.poller.configuration": contacts_poller(2)}});
    let created: Value = http
        .post(format!("{api}/instances"))
        .header("Authorization", &auth)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let poll = |api: String| {
        let http = http.clone();
        let auth = auth.clone();
        async move {
            http.post(format!("{api}/instances/{id}/events/poll"))
                .header("Authorization", auth)
                .send()
                .await
        }
    };
    poll(api.clone()).await.unwrap();

    clock.advance_ms(1_000); // the new records in a later second than the cursor
    http.post(format!("{origin}/_sim/records"))
        .json(&json!({"resource": "contacts", "count": 10}))
        .send()
        .await
        .unwrap();
    // Pages 1–4 answer at once; page 5 hangs, so the poll holds four pages and has committed
    // nothing when the process dies.
    http.post(format!("{origin}/_sim/faults"))
        .json(&json!({"latency_ms": 30_000, "resource": "contacts", "after": 4}))
        .send()
        .await
        .unwrap();
    let contact_reads = || async {
        let log: Vec<Value> = reqwest::get(format!("{origin}/_sim/requests"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log.iter()
            .filter(|r| r["path"] == "/crm/rest/v1/contacts" && r["method"] == "GET")
            .count()
    };
    let before = contact_reads().await;
    let in_flight = tokio::spawn(poll(api.clone()));
    eventually(
        std::time::Duration::from_secs(20),
        "the poll reads four pages",
        async || contact_reads().await >= before + 4,
    )
    .await;
    // The kill's moment, part of the scenario: page 5 is on its way (it hangs 30 s). Nothing
    // marks its start (the latency fault holds it before the simulator counts it in flight).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    kill(first, in_flight, "the poll died with the process").await;
    http.delete(format!("{origin}/_sim/faults"))
        .send()
        .await
        .unwrap();

    let (_second, api) = start_serve(&url, &envs);
    let events = |api: String| {
        let http = http.clone();
        let auth = auth.clone();
        async move {
            let list: Vec<Value> = http
                .get(format!("{api}/instances/{id}/events?pageSize=1000"))
                .header("Authorization", auth)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            list
        }
    };
    assert!(
        events(api.clone()).await.is_empty(),
        "the killed poll committed nothing"
    );
    let early: Value = poll(api.clone()).await.unwrap().json().await.unwrap();
    assert!(
        early["polls"][0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("being polled already")),
        "the dead process's lease still holds the resource: {early}"
    );
    // The lease (5 s from the kill) ends; the next poll is free to go.
    let mut summary = Value::Null;
    eventually(
        std::time::Duration::from_secs(10),
        "a poll goes through once the dead process's lease has ended",
        async || {
            summary = poll(api.clone()).await.unwrap().json().await.unwrap();
            summary["polls"][0]["error"].is_null()
        },
    )
    .await;
    assert_eq!(summary["polls"][0]["events"], 10, "{summary}");
    let again: Value = poll(api.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(again["polls"][0]["events"], 0, "{again}");
    let stored = events(api.clone()).await;
    let mut ids: Vec<&str> = stored
        .iter()
        .map(|e| e["objectId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        (stored.len(), ids.len()),
        (10, 10),
        "ten changes, each once"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every webhook id a receiver got, in arrival order, recorded before it answers.
#[derive(Clone, Default)]
struct Arrivals {
    ids: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    event_ids: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// A receiver that records each notification on arrival and answers 200 after 20 ms, so sends
/// are truly in flight when the sender dies.
async fn slow_receiver() -> (String, Arrivals) {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::HeaderMap;
    let arrivals = Arrivals::default();
    let router = axum::Router::new()
        .route(
            "/events",
            axum::routing::post(
                |State(arrivals): State<Arrivals>, headers: HeaderMap, body: Bytes| async move {
                    let id = headers["elements-webhook-id"].to_str().unwrap().to_owned();
                    arrivals.ids.lock().unwrap().push(id);
                    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    {
                        let mut events = arrivals.event_ids.lock().unwrap();
                        for event in body["message"]["events"].as_array().unwrap() {
                            events.insert(event["eventId"].as_str().unwrap().to_owned());
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    axum::http::StatusCode::OK
                },
            ),
        )
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, arrivals)
}

/// `kill -9` of a real `serve` while it delivers 1,000 notifications (10,000 events), then a
/// restart: every notification arrives, and the only ones that arrive twice are those the dead
/// process had claimed and not settled (in flight at the kill).
#[tokio::test]
async fn notifications_in_flight_at_a_kill_are_delivered_after_restart_and_only_they_twice() {
    use serde_json::{Value, json};
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

    const EVENTS: usize = 10_000;
    const NOTIFICATIONS: usize = EVENTS / 10;
    let (sim, clock) = start_sim_on_manual_clock(tributary_simulator::Config {
        seed: 0,
        ..tributary_simulator::Config::default()
    })
    .await;
    let origin = sim.url();
    let (callback, arrivals) = slow_receiver().await;
    let dir = temp_dir("deliver-crash");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let (org, user) = (
        "kill-test-organization-secret",
        "kill-test-user-secret-0000001",
    );
    let envs = [
        ("TRIBUTARY_INFUSIONSOFTREST_ORIGIN", origin.as_str()),
        ("TRIBUTARY_BOOTSTRAP_ORG_SECRET", org),
        ("TRIBUTARY_BOOTSTRAP_USER_SECRET", user),
        ("TRIBUTARY_POLL_CONCURRENCY", "0"),
        ("TRIBUTARY_ALLOW_PRIVATE_CALLBACKS", "true"),
        ("TRIBUTARY_DELIVERY_CONCURRENCY", "16"),
        ("TRIBUTARY_DELIVERY_PER_HOST", "16"),
        // A send must end (2 s timeout) well before its lease (6 s) does, or a worker takes it
        // up again while it is still going and it arrives twice; 1 s of slack was too little on
        // a loaded 2-core machine. The lease only delays the sends the killed process held.
        ("TRIBUTARY_DELIVERY_TIMEOUT", "2s"),
        ("TRIBUTARY_DELIVERY_LEASE", "6s"),
    ];
    let http = reqwest::Client::new();
    let auth = format!("User {user}, Organization {org}");
    let redirect = "https://app.example/oauth";

    let (first, api) = start_serve(&url, &envs);
    let body = json!({"element": {"key": "infusionsoftrest"},
        "providerData": {"code": authorization_code(&origin, redirect).await},
        "name": "kill", "configuration": {"oauth.api.key": "tributary-demo",
        "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": redirect,
        "event.notification.enabled": true, "event.notification.callback.url": callback,
        "event.notification.signature.key": "kill-test-signing-key",
        "event.poller.configuration": contacts_poller(1000)}});
    let created: Value = http
        .post(format!("{api}/instances"))
        .header("Authorization", &auth)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let poll = || {
        http.post(format!("{api}/instances/{id}/events/poll"))
            .header("Authorization", &auth)
            .send()
    };
    poll().await.unwrap();
    clock.advance_ms(1_000); // the new records in a later second than the cursor
    http.post(format!("{origin}/_sim/records"))
        .json(&json!({"resource": "contacts", "count": EVENTS}))
        .send()
        .await
        .unwrap();
    let summary: Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(summary["polls"][0]["events"], EVENTS, "{summary}");

    // Kill once a fifth has arrived: the rest is queued or on the wire.
    eventually(
        Duration::from_secs(60),
        "a fifth of the notifications arrive",
        async || arrivals.ids.lock().unwrap().len() >= NOTIFICATIONS / 5,
    )
    .await;
    drop(first); // SIGKILL
    let arrived_before_kill = arrivals.ids.lock().unwrap().len();
    let store = tributary_store::open(&url, 0).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let in_flight: BTreeSet<String> = store
        .in_flight_notifications(now)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let queued_at_kill = store.queued_notifications().await.unwrap();
    drop(store);
    assert!(
        !in_flight.is_empty() && arrived_before_kill < NOTIFICATIONS,
        "the kill came mid-delivery ({arrived_before_kill} arrived, {} in flight)",
        in_flight.len()
    );

    let (_second, _api) = start_serve(&url, &envs);
    let distinct = || {
        arrivals
            .ids
            .lock()
            .unwrap()
            .iter()
            .collect::<BTreeSet<_>>()
            .len()
    };
    eventually(
        Duration::from_secs(120),
        "every notification arrives after the restart",
        async || distinct() >= NOTIFICATIONS,
    )
    .await;
    // A late duplicate can only come from a notification still queued (the dead process's
    // claims among them, until their leases end): wait until none is left.
    wait_until_none_queued(&url).await;

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for id in arrivals.ids.lock().unwrap().iter() {
        *seen.entry(id.clone()).or_default() += 1;
    }
    let duplicates: BTreeSet<String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id.clone())
        .collect();
    eprintln!(
        "kill -9 after {arrived_before_kill} of {NOTIFICATIONS} notifications arrived; at the \
         kill {queued_at_kill} were queued, {} of them in flight (claimed, unsettled); after the \
         restart every one arrived, {} twice",
        in_flight.len(),
        duplicates.len()
    );
    assert_eq!(seen.len(), NOTIFICATIONS, "every notification arrived");
    assert_eq!(
        arrivals.event_ids.lock().unwrap().len(),
        EVENTS,
        "and with them every event"
    );
    assert!(
        seen.values().all(|n| *n <= 2),
        "nothing arrived three times"
    );
    assert!(
        duplicates.is_subset(&in_flight),
        "the only duplicates are sends in flight at the kill: {:?} not among {in_flight:?}",
        duplicates.difference(&in_flight).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every figure `tributary bench` reports, in its order.
const BENCH_FIGURES: [&str; 39] = [
    "dates: parses/s, pattern yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
    "dates: parses/s, pattern EEE, dd MMM yyyy HH:mm:ss Z",
    "polling: provider requests per idle poll",
    "polling: CPU per idle poll (server and simulator)",
    "polling: wall time per idle poll",
    "polling: idle polls/s sustained",
    "polling: backfill records/s (one poll, one transaction)",
    "polling (sfdc): provider requests per idle poll",
    "polling (sfdc): CPU per idle poll (server and simulator)",
    "polling (sfdc): wall time per idle poll",
    "polling (sfdc): idle polls/s sustained",
    "polling (sfdc): backfill records/s (one poll, one transaction)",
    "polling (hubspotcrm): provider requests per idle poll",
    "polling (hubspotcrm): CPU per idle poll (server and simulator)",
    "polling (hubspotcrm): wall time per idle poll",
    "polling (hubspotcrm): idle polls/s sustained",
    "polling (hubspotcrm): backfill records/s (one poll, one transaction)",
    "polling (quickbooks): provider requests per idle poll",
    "polling (quickbooks): CPU per idle poll (server and simulator)",
    "polling (quickbooks): wall time per idle poll",
    "polling (quickbooks): idle polls/s sustained",
    "polling (quickbooks): backfill records/s (one poll, one transaction)",
    "delivery: notifications/s (signed, persisted, 4 per host)",
    "delivery: body size of the notifications above",
    "delivery: latency p50, event stored → received",
    "delivery: latency p99, event stored → received",
    "delivery: latency p50, poll commit begun → received",
    "delivery: latency p99, poll commit begun → received",
    "delivery: latency p50, poll asked → received",
    "delivery: latency p99, poll asked → received",
    "hooks: latency p50, provider change → received",
    "hooks: latency p99, provider change → received",
    "delivery: notifications queued/s (built and stored)",
    "quota: provider requests/minute used, one app",
    "quota: 429 answers in the steady state",
    "quota: longest gap between two polls of a poller (worst lateness)",
    "memory: serve RSS at the smaller count of idle instance-resources",
    "memory: serve RSS at the larger count of idle instance-resources",
    "memory: RSS per idle instance-resource",
];

/// The three benchmarks at tiny sizes: one table with every figure, the same figures as JSON,
/// each measured and next to a ceiling.
#[test]
fn bench_prints_one_table_and_writes_every_figure_as_json() {
    let dir = temp_dir("bench");
    let json = dir.join("figures.json");
    let output = tributary()
        .args([
            "bench",
            "--instance-resources",
            "20",
            "--backfill",
            "500",
            "--notifications",
            "50",
            "--latency-samples",
            "5",
            "--date-millis",
            "50",
            "--quota-resources",
            "60",
            "--quota-minutes",
            "4",
            "--memory-resources",
            "50,100",
            "--json",
        ])
        .arg(&json)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.starts_with("warning: this tributary is a debug build"),
        cfg!(debug_assertions),
        "a debug build says so first: {stderr}"
    );

    let header = stdout
        .lines()
        .position(|line| line.starts_with("figure") && line.contains("ceiling"))
        .unwrap_or_else(|| panic!("no table: {stdout}"));
    let rows: Vec<&str> = stdout
        .lines()
        .skip(header + 1)
        .filter(|line| line.contains(": "))
        .collect();
    for name in BENCH_FIGURES {
        assert_eq!(
            rows.iter().filter(|row| row.starts_with(name)).count(),
            1,
            "{name} in the table once: {stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("Figures written to {}", json.display())),
        "{stdout}"
    );

    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(document["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(document["release_build"], !cfg!(debug_assertions));
    assert!(document["machine"]["cpus"].as_u64().unwrap() >= 1);
    document["started"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap();
    let figures = document["figures"].as_array().unwrap();
    let names: Vec<&str> = figures
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BENCH_FIGURES);
    for figure in figures {
        let number = |key: &str| figure[key].as_f64().unwrap();
        if figure["name"] == "quota: 429 answers in the steady state" {
            // A count whose goal is zero: informational, lower is better.
            assert_eq!(number("value"), 0.0, "{figure}");
            assert_eq!(figure["informational"], true);
            assert_eq!(figure["higher_is_better"], false);
            continue;
        }
        assert!(number("value") > 0.0, "{figure}");
        assert!(number("ceiling") > 0.0, "{figure}");
        assert!(
            number("ratio").is_finite() && number("ratio") > 0.0,
            "{figure}"
        );
        for key in ["unit", "ceiling_name", "ratio_means", "notes"] {
            assert!(!figure[key].as_str().unwrap().is_empty(), "{key}: {figure}");
        }
        assert!(figure["higher_is_better"].is_boolean(), "{figure}");
        if figure["informational"] == true {
            assert_eq!(figure["ceiling"], figure["value"], "{figure}");
            assert_eq!(figure["ratio"], 1.0, "{figure}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bench_flags_are_checked() {
    for (args, needle) in [
        (vec!["--notifications", "0"], "--notifications"),
        (vec!["--latency-samples", "0"], "--latency-samples"),
        (vec!["--backfill", "-5"], "--backfill"),
        (vec!["--instance-resources", "many"], "--instance-resources"),
        (vec!["--date-millis", "0"], "--date-millis"),
        (vec!["--only", "dates,nothing"], "--only"),
        (
            vec!["--json", "/nonexistent-tributary-dir/bench.json"],
            "--json",
        ),
    ] {
        let output = tributary().arg("bench").args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(needle),
            "{args:?}"
        );
    }
}

#[test]
fn migrate_brings_a_database_to_the_newest_schema_and_says_so() {
    let dir = temp_dir("migrate");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    for _ in 0..2 {
        let output = tributary()
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("schema version ") && stdout.contains("up to date"),
            "{stdout}"
        );
    }
    let refused = tributary()
        .args(["migrate", "--database-url", "mysql://root:hunter2@db/x"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "no password in messages: {stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// One event as a receiver got it: (webhook id, instance id, resource, record id, event id).
type Got = (String, i64, String, String, String);

/// A receiver that records every event of every notification, answering at once.
async fn recording_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Got>>>) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let got: std::sync::Arc<std::sync::Mutex<Vec<Got>>> = std::sync::Arc::default();
    let sink = got.clone();
    let router = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let id = headers["elements-webhook-id"].to_str().unwrap().to_owned();
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let message = &body["message"];
                let instance = message["instanceId"].as_i64().unwrap();
                let mut sink = sink.lock().unwrap();
                for event in message["events"].as_array().unwrap() {
                    sink.push((
                        id.clone(),
                        instance,
                        event["objectType"].as_str().unwrap().to_owned(),
                        event["objectId"].as_str().unwrap().to_owned(),
                        event["eventId"].as_str().unwrap().to_owned(),
                    ));
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, got)
}

/// Three `serve` processes on one PostgreSQL database share 300 instance-resources: every
/// record created at the provider arrives once per instance (duplicates only among sends in
/// flight when a node is killed), no resource is ever polled by two nodes at once (the
/// simulator's request log), and a node killed with `kill -9` loses nothing — the others take
/// its leased polls and sends when the leases end. Runs when `TEST_POSTGRES_URL` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_postgresql_share_the_work_and_lose_nothing_when_one_dies() {
    use serde_json::{Value, json};
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::{Duration, Instant};

    // A PostgreSQL test (its name says so): `scripts/test` runs it only where a server is found,
    // and run without one it fails rather than passing unrun.
    let admin = std::env::var("TEST_POSTGRES_URL").expect(
        "TEST_POSTGRES_URL must name a PostgreSQL server whose user may create databases \
         (scripts/test finds one on 127.0.0.1:5432)",
    );
    const INSTANCES: usize = 60;
    const RESOURCES: [&str; 5] = [
        "contacts",
        "opportunities",
        "tasks",
        "appointments",
        "orders",
    ];
    const PER_BATCH: usize = 4;
    let name = format!(
        "tributary_nodes_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let psql = |sql: &str| {
        let status = std::process::Command::new("psql")
            .args([admin.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .status()
            .unwrap();
        assert!(status.success(), "psql {sql}");
    };
    psql(&format!("CREATE DATABASE {name}"));
    let mut url = reqwest::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    let url = url.to_string();

    let sim = common::start_sim(tributary_simulator::Config {
        seed: 0,
        throttle_per_minute: 1_000_000,
        tenant_throttle_per_minute: 1_000_000,
        ..tributary_simulator::Config::default()
    })
    .await;
    let origin = sim.url();
    let (callback, got) = recording_receiver().await;
    let (org, user) = (
        "nodes-test-organization-secret",
        "nodes-test-user-secret-000001",
    );
    let envs = [
        ("TRIBUTARY_INFUSIONSOFTREST_ORIGIN", origin.as_str()),
        ("TRIBUTARY_BOOTSTRAP_ORG_SECRET", org),
        ("TRIBUTARY_BOOTSTRAP_USER_SECRET", user),
        (
            "TRIBUTARY_MASTER_KEY",
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ),
        ("TRIBUTARY_ALLOW_PRIVATE_CALLBACKS", "true"),
        ("TRIBUTARY_PROVIDER_REQUESTS_PER_MINUTE", "1000000"),
        ("TRIBUTARY_POLL_LEASE", "5s"),
        // A send must end (2 s timeout) well before its lease (6 s) does, or another node takes
        // it up while it is still going and it arrives twice; 1 s of slack was too little on a
        // loaded 2-core machine. The lease only delays the sends the killed node held.
        ("TRIBUTARY_DELIVERY_TIMEOUT", "2s"),
        ("TRIBUTARY_DELIVERY_LEASE", "6s"),
    ];
    // The first node bootstraps the organization; the others find it.
    let (first, api) = start_serve(&url, &envs);
    let (second, _) = start_serve(&url, &envs);
    let (third, third_api) = start_serve(&url, &envs);
    let apis = [api.clone(), third_api.clone()];

    let http = reqwest::Client::new();
    let auth = format!("User {user}, Organization {org}");
    let element: Value = http
        .get(format!("{api}/elements/infusionsoftrest"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pollers: serde_json::Map<String, Value> = element["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| RESOURCES.contains(&r["name"].as_str().unwrap()))
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["defaultPollerConfiguration"].clone(),
            )
        })
        .collect();
    assert_eq!(pollers.len(), RESOURCES.len());
    let redirect = "https://app.example/oauth";
    let mut instances = BTreeSet::new();
    for i in 0..INSTANCES {
        let body = json!({"element": {"key": "infusionsoftrest"},
            "providerData": {"code": authorization_code(&origin, redirect).await},
            "name": format!("node test {i}"), "configuration": {
            "oauth.api.key": "tributary-demo", "oauth.api.secret": "tributary-demo-secret",
            "oauth.callback.url": redirect, "event.notification.enabled": true,
            "event.notification.callback.url": callback,
            "event.notification.signature.key": "nodes-signing-key",
            "event.poller.refresh_interval": "1", "event.poller.configuration": pollers}});
        // Through two different nodes' APIs.
        let created: Value = http
            .post(format!("{}/instances", apis[i % 2]))
            .header("Authorization", &auth)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        instances.insert(created["id"].as_i64().unwrap());
    }
    assert_eq!(instances.len(), INSTANCES);
    let create = |count: usize| {
        let (http, origin) = (http.clone(), origin.clone());
        async move {
            for resource in RESOURCES {
                http.post(format!("{origin}/_sim/records"))
                    .json(&json!({"resource": resource, "count": count}))
                    .send()
                    .await
                    .unwrap();
            }
        }
    };
    let started = Instant::now();
    // Every provider answer takes 400 ms from now on, so polls are truly in progress.
    http.post(format!("{origin}/_sim/faults"))
        .json(&json!({"kind": "latency", "latency_ms": 400, "count": 1_000_000}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    create(PER_BATCH).await;

    // Kill the third node while it holds poll leases (its polls are in progress).
    let query = |sql: String| {
        let output = std::process::Command::new("psql")
            .args([url.as_str(), "-At", "-c", &sql])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let epoch_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let third_pid = third.0.id();
    let held = |now: i64| {
        query(format!(
            "SELECT instance_id || ':' || resource FROM pollers \
             WHERE lease_owner LIKE '{third_pid}-%' AND lease_until_ms > {now}"
        ))
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    let leased_at_kill = loop {
        let leased = held(epoch_ms());
        if !leased.is_empty() {
            drop(third); // SIGKILL
            break leased;
        }
        assert!(
            Instant::now() < deadline,
            "the third node never held a poll"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let killed_ms = epoch_ms();
    let store = tributary_store::open(&url, 0).await.unwrap();
    let now = epoch_ms();
    let in_flight: BTreeSet<String> = store
        .in_flight_notifications(now)
        .await
        .unwrap()
        .into_iter()
        .collect();
    drop(store);
    create(PER_BATCH).await;
    // Its polls are taken up by the others once their leases (5 s) end.
    let orphans: Vec<&str> = leased_at_kill.lines().collect();
    let taken_up = loop {
        let polled_again = orphans
            .iter()
            .filter(|key| {
                let (instance, resource) = key.split_once(':').unwrap();
                query(format!(
                    "SELECT 1 FROM pollers WHERE instance_id = {instance} \
                     AND resource = '{resource}' AND last_poll_ms > {killed_ms}"
                )) == "1"
            })
            .count();
        if polled_again == orphans.len() {
            break epoch_ms() - killed_ms;
        }
        assert!(
            epoch_ms() - killed_ms < 30_000,
            "polls of the dead node were not taken up: {orphans:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Every instance gets every record of every resource, once.
    let expected = INSTANCES * RESOURCES.len() * PER_BATCH * 2;
    let distinct = || {
        got.lock()
            .unwrap()
            .iter()
            .map(|(_, instance, resource, object, _)| (*instance, resource.clone(), object.clone()))
            .collect::<BTreeSet<_>>()
            .len()
    };
    eventually(
        Duration::from_secs(240),
        &format!("all {expected} events arrive"),
        async || distinct() >= expected,
    )
    .await;
    // A late duplicate can only come from a notification still queued (the dead node's claims
    // among them, until their leases end): wait until none is left.
    wait_until_none_queued(&url).await;
    let got = got.lock().unwrap().clone();
    let mut per_event: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, _, _, event) in &got {
        *per_event.entry(event.clone()).or_default() += 1;
    }
    let twice: BTreeSet<String> = got
        .iter()
        .filter(|(_, _, _, _, event)| per_event[event] > 1)
        .map(|(webhook, ..)| webhook.clone())
        .collect();
    assert_eq!(
        per_event.len(),
        expected,
        "one event id per change and instance"
    );
    assert!(
        got.iter()
            .all(|(_, instance, ..)| instances.contains(instance)),
        "only our instances"
    );
    assert!(
        twice.is_subset(&in_flight),
        "events arrive twice only from sends in flight at the kill: {:?}",
        twice.difference(&in_flight).collect::<Vec<_>>()
    );

    // No resource was polled by two nodes at once: no two list requests of one instance's
    // token and resource overlap in the simulator's log.
    let log: Vec<Value> = reqwest::get(format!("{origin}/_sim/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut polls: BTreeMap<(String, String), Vec<(i64, i64)>> = BTreeMap::new();
    for line in &log {
        let path = line["path"].as_str().unwrap_or_default();
        if line["method"] == "GET" && path.starts_with("/crm/rest/v1/") {
            polls
                .entry((
                    line["token"].as_str().unwrap_or_default().to_owned(),
                    path.to_owned(),
                ))
                .or_default()
                .push((
                    line["started_ms"].as_i64().unwrap(),
                    line["finished_ms"].as_i64().unwrap(),
                ));
        }
    }
    assert_eq!(
        polls.len(),
        INSTANCES * RESOURCES.len(),
        "every instance-resource was polled"
    );
    for (key, mut spans) in polls {
        spans.sort_unstable();
        for pair in spans.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "{key:?} was polled twice at once: {pair:?}"
            );
        }
    }
    eprintln!(
        "three nodes, one killed holding {} poll leases: taken up {:.1} s after the kill (lease \
         5 s); {expected} events in {:.0} s, {} notifications in flight at the kill, {} of \
         them arrived twice",
        orphans.len(),
        taken_up as f64 / 1000.0,
        started.elapsed().as_secs_f64(),
        in_flight.len(),
        twice.len()
    );
    drop((first, second));
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
}

/// The nodes benchmark starts real serve processes on PostgreSQL (when `TEST_POSTGRES_URL` is
/// set) and reports each node count next to linear scaling.
#[test]
fn bench_measures_one_and_two_nodes_on_postgresql() {
    // A PostgreSQL test (its name says so): `scripts/test` runs it only where a server is found,
    // and run without one it fails rather than passing unrun.
    let admin = std::env::var("TEST_POSTGRES_URL").expect(
        "TEST_POSTGRES_URL must name a PostgreSQL server whose user may create databases \
         (scripts/test finds one on 127.0.0.1:5432)",
    );
    let dir = temp_dir("bench-nodes");
    let json = dir.join("nodes.json");
    let output = tributary()
        .args([
            "bench",
            "--only",
            "nodes",
            "--postgres-url",
            &admin,
            "--max-nodes",
            "2",
            "--node-instances",
            "3",
            "--node-records",
            "10",
            "--instance-resources",
            "14",
            "--backfill",
            "200",
            "--notifications",
            "20",
            "--latency-samples",
            "3",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let figures = report["figures"].as_array().unwrap();
    // Each node count's two figures, and one node's polling and delivery figures on PostgreSQL
    // next to the SQLite suites' ceilings.
    for row in [
        "nodes: idle polls/s, 1 node(s)",
        "nodes: notifications/s end to end, 1 node(s)",
        "nodes: idle polls/s, 2 node(s)",
        "nodes: notifications/s end to end, 2 node(s)",
        "polling (postgres): idle polls/s sustained",
        "polling (postgres): backfill records/s (one poll, one transaction)",
        "delivery (postgres): notifications/s (signed, persisted, 4 per host)",
        "delivery (postgres): latency p99, poll asked → received",
    ] {
        assert!(stdout.contains(row), "{row} in the table: {stdout}");
        assert_eq!(
            figures.iter().filter(|f| f["name"] == row).count(),
            1,
            "{row} in the JSON once"
        );
    }
    for figure in figures {
        assert!(figure["value"].as_f64().unwrap() > 0.0, "{figure}");
        assert!(figure["ceiling"].as_f64().unwrap() > 0.0, "{figure}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `kill -9` of a real `serve` polling Salesforce (`sfdc`), twice: in the middle of a poll's
/// pages, and in the middle of its delete sweep (updates read, deletions requested, nothing
/// committed). After each restart the next poll stores every change and every deletion once,
/// and a repeat stores nothing.
#[tokio::test]
async fn a_salesforce_poll_killed_mid_pages_or_mid_delete_sweep_loses_and_repeats_nothing() {
    use serde_json::{Value, json};
    use std::time::Duration;

    let clock = manual_clock();
    let sim = tributary_simulator::salesforce::start(
        tributary_simulator::salesforce::Config {
            seed: 0,
            short_pages: false,
            ..tributary_simulator::salesforce::Config::default()
        },
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let origin = sim.url();
    let crash = crash_client(&origin);
    let dir = temp_dir("sfdc-crash");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let envs = crash_envs("TRIBUTARY_SFDC_ORIGIN", &origin);
    let redirect = "https://app.example/oauth";

    let (first, api) = start_serve(&url, &envs);
    let code = tributary_simulator::salesforce::consent_code(
        &crash.http,
        &origin,
        "tributary-demo",
        redirect,
        None,
    )
    .await
    .unwrap();
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    let body = json!({"element": {"key": "sfdc"}, "providerData": {"code": code},
        "name": "crash", "configuration": {"oauth.api.key": "tributary-demo",
        "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": redirect,
        "event.notification.enabled": true, "event.notification.callback.url": "https://r.example/",
        "event.poller.configuration": {"contacts": {"url": "/hubs/crm/contacts", "idField": "Id",
            "pageSize": 200, "datesConfiguration": {"updatedDateField": "SystemModstamp",
            "updatedDateFormat": format, "createdDateField": "CreatedDate",
            "createdDateFormat": format}}}}});
    let id = crash.create(&api, body).await;
    crash.poll(&api, id).await.unwrap();
    clock.advance_ms(1_000); // the new records in a later second than the cursor

    // 1. Killed between pages: 450 contacts, pages of 200; the third page hangs.
    crash
        .control(
            "/_sim/records",
            json!({"resource": "Contact", "count": 450}),
        )
        .await;
    crash
        .control(
            "/_sim/faults",
            json!({"latency_ms": 30_000, "resource": "query", "after": 2}),
        )
        .await;
    crash
        .kill_mid_poll(
            first,
            &api,
            id,
            ("/query", 2),
            Duration::from_millis(200),
            "the poll reads two pages",
        )
        .await;
    let (second, api) = start_serve(&url, &envs);
    assert!(
        crash.events(&api, id).await.is_empty(),
        "nothing was committed"
    );
    let summary = crash.poll_after_lease(&api, id).await;
    assert_eq!(summary["polls"][0]["events"], 450, "{summary}");
    let again: Value = crash.poll(&api, id).await.unwrap().json().await.unwrap();
    assert_eq!(again["polls"][0]["events"], 0, "{again}");

    // 2. Killed in the delete sweep: two contacts deleted, the provider's clock two minutes on
    // (the delete log is read in whole minutes), and the delete request hangs.
    crash
        .control(
            "/_sim/activity/burst",
            json!({"changes": 0, "deletes": 2, "resources": ["Contact"]}),
        )
        .await;
    crash
        .control("/_sim/clock", json!({"offset_seconds": 120}))
        .await;
    crash
        .control(
            "/_sim/faults",
            json!({"latency_ms": 30_000, "resource": "Contact"}),
        )
        .await;
    let (queries, sweeps) = (crash.logged("/query").await, crash.logged("/deleted").await);
    let in_flight = Crash::poll_in_flight(&api, id);
    crash
        .until_logged("/query", queries + 1, "the poll reads its updates")
        .await;
    // The kill's moment, part of the scenario: the delete request is on its way (it hangs);
    // nothing marks its start, and the assertion below shows it was not answered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        crash.logged("/deleted").await,
        sweeps,
        "the delete request hangs, unanswered (earlier sweeps were answered)"
    );
    kill(second, in_flight, "the sweep died with the process").await;
    crash.clear_faults().await;
    let (_third, api) = start_serve(&url, &envs);
    let summary = crash.poll_after_lease(&api, id).await;
    assert_eq!(summary["polls"][0]["deletes"]["deleted"], 2, "{summary}");
    let again: Value = crash.poll(&api, id).await.unwrap().json().await.unwrap();
    assert_eq!(again["polls"][0]["events"], 0, "{again}");
    let stored = crash.events(&api, id).await;
    let mut deleted: Vec<&String> = stored
        .iter()
        .filter(|(_, _, t)| t == "DELETED")
        .map(|(_, id, _)| id)
        .collect();
    deleted.sort_unstable();
    deleted.dedup();
    assert_eq!(
        (
            stored.len(),
            Crash::count(&stored, "CREATED"),
            deleted.len()
        ),
        (452, 450, 2),
        "every change and every deletion once"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Kills `process` (SIGKILL) and asserts that the request in flight to it died with it
/// (`what`).
async fn kill<T>(
    process: Running,
    in_flight: tokio::task::JoinHandle<reqwest::Result<T>>,
    what: &str,
) {
    drop(process); // SIGKILL
    assert!(in_flight.await.unwrap().is_err(), "{what}");
}

/// What a process test of one element needs: its simulator's origin, a serve's API, and the
/// organization's secrets.
struct Crash {
    origin: String,
    http: reqwest::Client,
    auth: String,
}

impl Crash {
    async fn control(&self, path: &str, body: serde_json::Value) {
        common::sim_control(&self.http, &self.origin, path, body).await;
    }

    async fn clear_faults(&self) {
        self.http
            .delete(format!("{}/_sim/faults", self.origin))
            .send()
            .await
            .unwrap();
    }

    /// Finished requests of the simulator's log whose path or query contains `needle`.
    async fn logged(&self, needle: &str) -> usize {
        let log: Vec<serde_json::Value> = reqwest::get(format!("{}/_sim/requests", self.origin))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log.iter()
            .filter(|r| {
                r["path"].as_str().unwrap_or_default().contains(needle)
                    || r["query"].as_str().unwrap_or_default().contains(needle)
            })
            .count()
    }

    /// Waits until the log holds `count` requests with `needle` (answered ones).
    async fn until_logged(&self, needle: &str, count: usize, what: &str) {
        eventually(std::time::Duration::from_secs(20), what, async || {
            self.logged(needle).await >= count
        })
        .await;
    }

    async fn create(&self, api: &str, body: serde_json::Value) -> i64 {
        let created: serde_json::Value = self
            .http
            .post(format!("{api}/instances"))
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{created}"))
    }

    async fn poll(&self, api: &str, id: i64) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{api}/instances/{id}/events/poll"))
            .header("Authorization", &self.auth)
            .send()
            .await
    }

    /// A poll of another client, in flight while the test kills the process serving it; the
    /// answer's status, or the error of the connection the kill broke.
    fn poll_in_flight(
        api: &str,
        id: i64,
    ) -> tokio::task::JoinHandle<reqwest::Result<reqwest::StatusCode>> {
        let api = api.to_owned();
        tokio::spawn(async move { crash_client("").poll(&api, id).await.map(|r| r.status()) })
    }

    /// Kills `process` in the middle of another client's poll of `id`: once the simulator has
    /// logged `reads.1` more requests with `reads.0` (`what` if it does not), and `moment`
    /// later — the kill's moment, part of the scenario: the next request, held by a latency
    /// fault, is on its way, and nothing marks its start (the fault holds it before the
    /// simulator counts it). The poll dies with the process; the faults are cleared.
    async fn kill_mid_poll(
        &self,
        process: Running,
        api: &str,
        id: i64,
        reads: (&str, usize),
        moment: std::time::Duration,
        what: &str,
    ) {
        let (needle, count) = reads;
        let before = self.logged(needle).await;
        let in_flight = Crash::poll_in_flight(api, id);
        self.until_logged(needle, before + count, what).await;
        tokio::time::sleep(moment).await;
        kill(process, in_flight, "the poll died with the process").await;
        self.clear_faults().await;
    }

    /// Polls again and asserts that no resource's poll found anything.
    async fn poll_finding_nothing(&self, api: &str, id: i64) {
        let again: serde_json::Value = self.poll(api, id).await.unwrap().json().await.unwrap();
        assert!(
            again["polls"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["events"] == 0),
            "{again}"
        );
    }

    /// Polls until the dead process's lease has ended and every resource's poll goes through.
    async fn poll_after_lease(&self, api: &str, id: i64) -> serde_json::Value {
        let mut summary = serde_json::Value::Null;
        eventually(
            std::time::Duration::from_secs(15),
            "every resource's poll goes through once the dead process's lease has ended",
            async || {
                summary = self.poll(api, id).await.unwrap().json().await.unwrap();
                let polls = summary["polls"].as_array().cloned().unwrap_or_default();
                !polls.is_empty() && polls.iter().all(|p| p["error"].is_null())
            },
        )
        .await;
        summary
    }

    /// Every stored event's (resource, object id, type).
    async fn events(&self, api: &str, id: i64) -> Vec<(String, String, String)> {
        let mut all: Vec<serde_json::Value> = Vec::new();
        loop {
            let after = all.last().map_or(0, |e| e["sequence"].as_i64().unwrap());
            let page: Vec<serde_json::Value> = self
                .http
                .get(format!(
                    "{api}/instances/{id}/events?pageSize=1000&after={after}"
                ))
                .header("Authorization", &self.auth)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let full = page.len() == 1000;
            all.extend(page);
            if !full {
                break;
            }
        }
        all.iter()
            .map(|e| {
                (
                    e["objectType"].as_str().unwrap().to_owned(),
                    e["objectId"].as_str().unwrap().to_owned(),
                    e["eventType"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn count(events: &[(String, String, String)], kind: &str) -> usize {
        let mut ids: Vec<&(String, String, String)> =
            events.iter().filter(|e| e.2 == kind).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// The settings of a crash test's serve: its element's origin, its secrets, no scheduler, a
/// short lease.
fn crash_envs<'a>(variable: &'a str, origin: &'a str) -> [(&'a str, &'a str); 5] {
    [
        (variable, origin),
        (
            "TRIBUTARY_BOOTSTRAP_ORG_SECRET",
            "crash-organization-secret-0001",
        ),
        (
            "TRIBUTARY_BOOTSTRAP_USER_SECRET",
            "crash-user-secret-0000000001",
        ),
        ("TRIBUTARY_POLL_CONCURRENCY", "0"),
        ("TRIBUTARY_POLL_LEASE", "5s"),
    ]
}

fn crash_client(origin: &str) -> Crash {
    Crash {
        origin: origin.to_owned(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        auth: "User crash-user-secret-0000000001, Organization crash-organization-secret-0001"
            .to_owned(),
    }
}

/// `kill -9` of a real `serve` polling HubSpot (`hubspotcrm`), twice: in the middle of a
/// poll's search pages, and in the middle of its archived-list sweep (the search read,
/// nothing committed). After each restart the next poll stores every change and every archive
/// once, and a repeat stores nothing.
#[tokio::test]
async fn a_hubspot_poll_killed_mid_search_or_mid_archive_sweep_loses_and_repeats_nothing() {
    use serde_json::json;
    use std::time::Duration;

    let sim = tributary_simulator::hubspot::start(
        tributary_simulator::hubspot::Config {
            seed: 0,
            index_lag_secs: 0,
            ten_secondly_limit: 1_000_000,
            search_per_second: 1_000_000,
            ..tributary_simulator::hubspot::Config::default()
        },
        std::sync::Arc::new(tributary_domain::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let origin = sim.url();
    let crash = crash_client(&origin);
    let dir = temp_dir("hubspot-crash");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let envs = crash_envs("TRIBUTARY_HUBSPOTCRM_ORIGIN", &origin);
    let redirect = "https://app.example/oauth";

    let (first, api) = start_serve(&url, &envs);
    let code = tributary_simulator::hubspot::consent_code(
        &crash.http,
        &origin,
        "tributary-demo",
        redirect,
        None,
    )
    .await
    .unwrap();
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSX";
    let id = crash
        .create(
            &api,
            json!({"element": {"key": "hubspotcrm"}, "providerData": {"code": code},
            "name": "crash", "configuration": {"oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": redirect,
            "event.notification.enabled": true,
            "event.notification.callback.url": "https://r.example/",
            "event.poller.configuration": {"contacts": {"url": "/hubs/crm/contacts",
                "idField": "id", "pageSize": 200, "datesConfiguration": {
                "updatedDateField": "updatedAt", "updatedDateFormat": format,
                "createdDateField": "createdAt", "createdDateFormat": format}}}}}),
        )
        .await;
    crash.poll(&api, id).await.unwrap();

    // 1. Killed between search pages: 450 contacts, pages of 200; the third page hangs. They
    // are dated 61 s ago at the provider, past the minute a poll leaves to the search index
    // and inside the first window (no Tributary request sees the clock meanwhile).
    crash
        .control("/_sim/clock", json!({"offset_seconds": -61}))
        .await;
    crash
        .control(
            "/_sim/records",
            json!({"resource": "contacts", "count": 450}),
        )
        .await;
    crash
        .control("/_sim/clock", json!({"offset_seconds": 0}))
        .await;
    crash
        .control(
            "/_sim/faults",
            json!({"latency_ms": 30_000, "resource": "contacts", "after": 2}),
        )
        .await;
    crash
        .kill_mid_poll(
            first,
            &api,
            id,
            ("/search", 2),
            Duration::from_millis(200),
            "the poll never read two pages",
        )
        .await;
    let (second, api) = start_serve(&url, &envs);
    assert!(
        crash.events(&api, id).await.is_empty(),
        "nothing was committed"
    );
    let summary = crash.poll_after_lease(&api, id).await;
    assert_eq!(summary["polls"][0]["events"], 450, "{summary}");
    let again: serde_json::Value = crash.poll(&api, id).await.unwrap().json().await.unwrap();
    assert_eq!(again["polls"][0]["events"], 0, "{again}");

    // 2. Killed in the archive sweep: two contacts archived; the search's three pages (the
    // overlap reads the 450 again) answer, the archived list hangs.
    crash
        .control(
            "/_sim/activity/burst",
            json!({"changes": 0, "deletes": 2, "resources": ["contacts"]}),
        )
        .await;
    crash
        .control(
            "/_sim/faults",
            json!({"latency_ms": 30_000, "resource": "contacts", "after": 3}),
        )
        .await;
    let (searches, sweeps) = (
        crash.logged("/search").await,
        crash.logged("archived=true").await,
    );
    let in_flight = Crash::poll_in_flight(&api, id);
    crash
        .until_logged("/search", searches + 3, "the poll never read its updates")
        .await;
    // The kill's moment, part of the scenario: the hanging request is on its way; nothing
    // marks its start (the latency fault holds it before the simulator counts it).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        crash.logged("archived=true").await,
        sweeps,
        "the archived list hangs, unanswered"
    );
    kill(second, in_flight, "the sweep died with the process").await;
    crash.clear_faults().await;
    let (_third, api) = start_serve(&url, &envs);
    let summary = crash.poll_after_lease(&api, id).await;
    assert_eq!(summary["polls"][0]["deletes"]["deleted"], 2, "{summary}");
    let again: serde_json::Value = crash.poll(&api, id).await.unwrap().json().await.unwrap();
    assert_eq!(again["polls"][0]["events"], 0, "{again}");
    let stored = crash.events(&api, id).await;
    assert_eq!(
        (
            stored.len(),
            Crash::count(&stored, "CREATED"),
            Crash::count(&stored, "DELETED")
        ),
        (452, 450, 2),
        "every change and every archive once"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `kill -9` of a real `serve` polling QuickBooks (`quickbooks`), twice: between two calls of
/// a change feed that cut its answer at 1,000 objects (the poll re-windowing), and in the
/// middle of the call whose answer holds deleted invoices' stubs. After each restart the next
/// poll stores every change and every deletion once, and a repeat stores nothing.
#[tokio::test]
async fn a_quickbooks_poll_killed_mid_rewindow_or_mid_deletes_loses_and_repeats_nothing() {
    use serde_json::json;
    use std::time::Duration;

    let clock = manual_clock();
    let sim = tributary_simulator::quickbooks::start(
        tributary_simulator::quickbooks::Config {
            seed: 0,
            requests_per_minute: 1_000_000,
            ..tributary_simulator::quickbooks::Config::default()
        },
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let origin = sim.url();
    let crash = crash_client(&origin);
    let dir = temp_dir("quickbooks-crash");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let envs = crash_envs("TRIBUTARY_QUICKBOOKS_ORIGIN", &origin);
    let redirect = "https://app.example/oauth";

    let (first, api) = start_serve(&url, &envs);
    let consent = tributary_simulator::quickbooks::consent(
        &crash.http,
        &origin,
        "tributary-demo",
        redirect,
        None,
    )
    .await
    .unwrap();
    let format = "yyyy-MM-dd'T'HH:mm:ssXXX";
    let poller = |resource: &str| {
        json!({"url": format!("/hubs/finance/{resource}"), "idField": "Id",
            "datesConfiguration": {
            "updatedDateField": "MetaData.LastUpdatedTime", "updatedDateFormat": format,
            "createdDateField": "MetaData.CreateTime", "createdDateFormat": format}})
    };
    let id = crash
        .create(
            &api,
            json!({"element": {"key": "quickbooks"},
            "providerData": {"code": consent.code, "realmId": consent.realm_id},
            "name": "crash", "configuration": {"oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": redirect,
            "event.notification.enabled": true,
            "event.notification.callback.url": "https://r.example/",
            "event.poller.configuration": {"customers": poller("customers"),
                "invoices": poller("invoices")}}}),
        )
        .await;
    crash.poll(&api, id).await.unwrap();
    clock.advance_ms(1_000); // the new records in a later second than the cursor

    // 1. Killed between change-feed calls: 1,800 customers over three seconds (the feed cuts
    // its answer at 1,000, so the poll asks again); the second call hangs. Two invoices too.
    for second in 0..3 {
        crash
            .control("/_sim/clock", json!({"offset_seconds": second}))
            .await;
        crash
            .control(
                "/_sim/records",
                json!({"resource": "Customer", "count": 600}),
            )
            .await;
    }
    crash
        .control("/_sim/records", json!({"resource": "Invoice", "count": 2}))
        .await;
    crash
        .control(
            "/_sim/faults",
            json!({"latency_ms": 30_000, "resource": "cdc", "after": 1}),
        )
        .await;
    crash
        .kill_mid_poll(
            first,
            &api,
            id,
            ("/cdc", 1),
            Duration::from_millis(200),
            "the poll never read the feed",
        )
        .await;
    let (second, api) = start_serve(&url, &envs);
    assert!(
        crash.events(&api, id).await.is_empty(),
        "nothing was committed"
    );
    // (Invoices, never claimed by the dead poll, may go through while customers' lease holds.)
    let summary = crash.poll_after_lease(&api, id).await;
    let stored = crash.events(&api, id).await;
    assert_eq!(
        (stored.len(), Crash::count(&stored, "CREATED")),
        (1_802, 1_802),
        "{summary}"
    );
    crash.poll_finding_nothing(&api, id).await;

    // 2. Killed while the feed's answer with the stubs is on its way: both invoices deleted;
    // customers' call answers, invoices' hangs.
    crash
        .control(
            "/_sim/activity/burst",
            json!({"changes": 0, "deletes": 2, "resources": ["Invoice"]}),
        )
        .await;
    crash
        .control(
            "/_sim/faults",
            json!({"latency_ms": 30_000, "resource": "cdc", "after": 1}),
        )
        .await;
    crash
        .kill_mid_poll(
            second,
            &api,
            id,
            ("/cdc", 1),
            Duration::from_millis(300),
            "the poll never read customers",
        )
        .await;
    let (_third, api) = start_serve(&url, &envs);
    let summary = crash.poll_after_lease(&api, id).await;
    let invoices = summary["polls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["resource"] == "invoices")
        .unwrap()
        .clone();
    assert_eq!(invoices["deletes"]["deleted"], 2, "{summary}");
    crash.poll_finding_nothing(&api, id).await;
    let stored = crash.events(&api, id).await;
    assert_eq!(
        (
            stored.len(),
            Crash::count(&stored, "CREATED"),
            Crash::count(&stored, "DELETED")
        ),
        (1_804, 1_802, 2),
        "every change and every deletion once"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
