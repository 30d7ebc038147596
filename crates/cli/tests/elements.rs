//! `tributary elements export` and `tributary elements check`: the first steps of adding one's
//! own provider, as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Running, eventually, listening, serve_command, temp_dir};

fn tributary(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn check(files: &[&Path]) -> Output {
    let mut args = vec!["elements".to_owned(), "check".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tributary(&args)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn an_exported_definition_renamed_checks_clean_and_unrenamed_is_refused() {
    let exported = tributary(&["elements", "export", "infusionsoftrest"]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let definition = text(&exported.stdout);
    assert!(
        definition.contains("key = \"infusionsoftrest\"") && definition.contains("# "),
        "the definition as written, comments included: {definition}"
    );

    let folder = temp_dir("export");
    let renamed = folder.write(
        "mykeap.toml",
        &definition.replacen("key = \"infusionsoftrest\"", "key = \"mykeap\"", 1),
    );
    let output = check(&[&renamed]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("mykeap is valid (9 resources)"),
        "{}",
        text(&output.stdout)
    );

    // As exported, its key is a built-in one: the server would refuse it as defined twice.
    let same = folder.write("same.toml", &definition);
    let output = check(&[&same]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let key_line = line_of(&definition, "key = \"infusionsoftrest\"");
    assert!(
        stderr.contains(&format!(
            "{}:{key_line}:1: key: \"infusionsoftrest\" is a built-in element's key",
            same.display()
        )),
        "{stderr}"
    );
}

#[test]
fn each_problem_is_named_with_its_file_line_and_column() {
    let definition = text(&tributary(&["elements", "export", "sfdc"]).stdout);
    let folder = temp_dir("broken");
    let good = folder.write(
        "good.toml",
        &definition.replacen("key = \"sfdc\"", "key = \"mysfdc\"", 1),
    );
    // Parses, but two fields are refused by validation.
    let invalid_text = definition
        .replacen("key = \"sfdc\"", "key = \"My SFDC\"", 1)
        .replacen("type = \"oauth2\"", "type = \"basic\"", 1);
    let invalid = folder.write("invalid.toml", &invalid_text);
    // Does not parse: a string where a number goes.
    let unparsable_text = definition.replacen("key = \"sfdc\"", "key = 42", 1);
    let unparsable = folder.write("unparsable.toml", &unparsable_text);
    let missing = folder.join("missing.toml");

    let output = check(&[&good, &invalid, &unparsable]);
    assert_eq!(output.status.code(), Some(1));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(stdout.contains("mysfdc is valid"), "{stdout}");
    let invalid_shown = invalid.display();
    for expected in [
        format!(
            "{invalid_shown}:{}:1: key: \"My SFDC\" must be lower-case letters",
            line_of(&invalid_text, "My SFDC")
        ),
        format!(
            "{invalid_shown}:{}:1: auth.type: \"basic\" is not supported",
            line_of(&invalid_text, "type = \"basic\"")
        ),
        format!("{invalid_shown}: 2 problems"),
        format!(
            "{}:{}:7: invalid type: integer `42`, expected a string",
            unparsable.display(),
            line_of(&unparsable_text, "key = 42")
        ),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in:\n{stderr}");
    }

    let output = check(&[&good, &missing]);
    assert_eq!(output.status.code(), Some(2), "an unreadable file");
    assert!(
        text(&output.stderr).contains("missing.toml: cannot be read"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn exporting_an_unknown_key_names_the_built_in_ones() {
    let output = tributary(&["elements", "export", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    for key in ["infusionsoftrest", "sfdc", "hubspotcrm", "quickbooks"] {
        assert!(stderr.contains(key), "{stderr}");
    }
    assert!(text(&output.stdout).is_empty());
}

#[test]
fn config_names_the_folders_refused_definitions() {
    let definition = text(&tributary(&["elements", "export", "hubspotcrm"]).stdout);
    let folder = temp_dir("config");
    folder.write(
        "mine.toml",
        &definition.replacen("key = \"hubspotcrm\"", "key = \"myhubspot\"", 1),
    );
    folder.write("broken.toml", "key = ");
    let output = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .arg("config")
        .env("TRIBUTARY_ELEMENTS_DIR", &*folder)
        .env("TRIBUTARY_DATABASE_URL", "sqlite::memory:")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.toml") && stderr.contains("serve starts without it"),
        "{stderr}"
    );
    assert!(!stderr.contains("mine.toml"), "{stderr}");
}

const ORGANIZATION: &str = "elements-test-organization-secret";
const USER: &str = "elements-test-user-secret-00001";

/// The element keys `GET /elements` lists.
async fn listed(api: &str) -> Vec<String> {
    let elements: serde_json::Value = reqwest::Client::new()
        .get(format!("{api}/elements"))
        .header(
            "Authorization",
            format!("User {USER}, Organization {ORGANIZATION}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    elements
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `GET /elements` satisfies `done`, for 30 s at most.
async fn until_listed(api: &str, what: &str, done: impl Fn(&[String]) -> bool) {
    eventually(Duration::from_secs(30), what, async || {
        done(&listed(api).await)
    })
    .await;
}

fn hang_up(running: &Running) {
    let status = Command::new("kill")
        .args(["-HUP", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn sighup_reads_the_elements_folder_again() {
    let folder = temp_dir("sighup");
    let elements = temp_dir("sighup-elements");
    let export = |key: &str, mine: &str| {
        text(&tributary(&["elements", "export", key]).stdout).replacen(
            &format!("key = \"{key}\""),
            &format!("key = \"{mine}\""),
            1,
        )
    };
    let first = elements.write("first.toml", &export("hubspotcrm", "myhubspot"));
    let mut command = serve_command(&format!("sqlite://{}", folder.join("t.db").display()));
    command
        .env("TRIBUTARY_ELEMENTS_DIR", &*elements)
        .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", ORGANIZATION)
        .env("TRIBUTARY_BOOTSTRAP_USER_SECRET", USER)
        .env_remove("TRIBUTARY_MASTER_KEY")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null());
    let (running, api) = listening(&mut command);
    let keys = listed(&api).await;
    assert!(keys.contains(&"myhubspot".to_owned()), "{keys:?}");
    assert!(!keys.contains(&"myqbo".to_owned()), "{keys:?}");

    // A new definition and a broken one: the new one serves after SIGHUP, the broken one is
    // refused and the rest stay.
    elements.write("second.toml", &export("quickbooks", "myqbo"));
    elements.write("third.toml", "key = ");
    hang_up(&running);
    until_listed(&api, "myqbo is served after SIGHUP", |keys| {
        keys.iter().any(|k| k == "myqbo")
    })
    .await;
    let keys = listed(&api).await;
    assert!(
        keys.contains(&"myhubspot".to_owned()) && keys.contains(&"infusionsoftrest".to_owned()),
        "{keys:?}"
    );

    // A definition removed from the folder is gone after the next SIGHUP.
    std::fs::remove_file(first).unwrap();
    hang_up(&running);
    until_listed(&api, "myhubspot is gone after SIGHUP", |keys| {
        !keys.iter().any(|k| k == "myhubspot")
    })
    .await;
    assert!(listed(&api).await.contains(&"myqbo".to_owned()));
}

/// `tributary elements export KEY`, renamed to `mine` (its key, its name and its numeric id), as
/// the README's "Add your own provider" does it.
fn exported_as(key: &str, mine: &str) -> String {
    let exported = tributary(&["elements", "export", key]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    text(&exported.stdout)
        .replacen(&format!("key = \"{key}\""), &format!("key = \"{mine}\""), 1)
        .replacen("\nid = ", "\nid = 900", 1)
        .replacen("\nname = \"", "\nname = \"My ", 1)
}

/// `tributary simulate --element FILE` on a free port; the process and its URL, read from the
/// first line it prints.
fn simulate_element(file: &Path) -> (Running, String) {
    use std::io::{BufRead, BufReader};
    let mut running = Running(
        Command::new(env!("CARGO_BIN_EXE_tributary"))
            .args(["simulate", "--element"])
            .arg(file)
            .args(["--bind", "127.0.0.1:0", "--seed", "90"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(running.0.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    std::thread::spawn(move || for _ in lines {});
    let url = first
        .split("listening on ")
        .nth(1)
        .unwrap_or_else(|| panic!("the simulator's first line names its URL: {first}"))
        .trim()
        .to_owned();
    (running, url)
}

/// Every `(objectId, eventType)` a receiver got, by resource.
type Inbox = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

async fn receiver() -> (String, Inbox) {
    use axum::extract::State;
    let inbox = Inbox::default();
    let router =
        axum::Router::new()
            .route(
                "/events",
                axum::routing::post(
                    |State(inbox): State<Inbox>,
                     axum::Json(body): axum::Json<serde_json::Value>| async move {
                        for event in body["message"]["events"].as_array().unwrap() {
                            inbox.lock().unwrap().push((
                                event["objectType"].as_str().unwrap().to_owned(),
                                event["objectId"].as_str().unwrap().to_owned(),
                                event["eventType"].as_str().unwrap().to_owned(),
                            ));
                        }
                        axum::http::StatusCode::OK
                    },
                ),
            )
            .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, inbox)
}

/// The simulator's records of `resource` (id → versions) and its deleted ids, from `/_sim/state`.
async fn sim_state(
    origin: &str,
    resource: &str,
) -> (
    std::collections::BTreeMap<String, u64>,
    std::collections::BTreeSet<String>,
) {
    let state: serde_json::Value = reqwest::get(format!("{origin}/_sim/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let table = &state["tenants"][0]["resources"][resource];
    let records = table["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].to_string(), r["versions"].as_u64().unwrap()))
        .collect();
    let deleted = table["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].to_string())
        .collect();
    (records, deleted)
}

/// One run of issue 23's "done when", for a built-in definition exported and renamed.
struct EndToEnd {
    key: &'static str,
    mine: &'static str,
    /// The consent page's path (the definition's authorization URL's).
    authorize: &'static str,
    resource: &'static str,
    /// The instance's poller configuration of `resource`.
    poller: serde_json::Value,
    /// Whether the burst deletes too.
    deletes: bool,
    /// Whether polls sweep (deletes seen by absence).
    sweep: bool,
    /// Whether a delete of a record created within the burst is reported too (a change feed's
    /// stubs show every delete; a sweep only those of records it saw).
    unseen_deletes: bool,
}

/// Issue 23's "done when": a definition exported from a built-in and renamed is served by
/// `tributary simulate --element`, loaded by `serve` from `TRIBUTARY_ELEMENTS_DIR` with its origin
/// pointed at the simulator (`TRIBUTARY_<KEY>_ORIGIN`), and an instance created through the
/// simulator's consent page delivers each change the simulator makes as an event, with no
/// rebuild. The README's "Add your own provider" runs the same commands.
async fn end_to_end(case: EndToEnd) {
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    let elements = temp_dir(&format!("{}-elements", case.mine));
    let file = elements.write(
        &format!("{}.toml", case.mine),
        &exported_as(case.key, case.mine),
    );
    let checked = check(&[&file]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stderr));
    let (_simulator, origin) = simulate_element(&file);

    let folder = temp_dir(case.mine);
    let mut command = serve_command(&format!("sqlite://{}", folder.join("t.db").display()));
    command
        .env("TRIBUTARY_ELEMENTS_DIR", &*elements)
        .env(
            format!("TRIBUTARY_{}_ORIGIN", case.mine.to_ascii_uppercase()),
            &origin,
        )
        .env("TRIBUTARY_ALLOW_PRIVATE_CALLBACKS", "true")
        .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", ORGANIZATION)
        .env("TRIBUTARY_BOOTSTRAP_USER_SECRET", USER)
        .env_remove("TRIBUTARY_MASTER_KEY")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null());
    let (_serve, api) = listening(&mut command);
    assert!(listed(&api).await.contains(&case.mine.to_owned()));

    // The user's "Allow" on the simulator's consent page, then the create call.
    let redirect = "https://app.example/oauth";
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The code, and what the redirect carries beside it (a `realmId`), as `providerData`.
    let provider_data: serde_json::Map<String, Value> =
        tributary_simulator::generic::consent_redirect(
            &no_redirects,
            &origin,
            case.authorize,
            "tributary-demo",
            redirect,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k != "state" && k != "scope")
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let (callback, inbox) = receiver().await;
    let http = reqwest::Client::new();
    let auth = format!("User {USER}, Organization {ORGANIZATION}");
    let mut pollers = serde_json::Map::new();
    pollers.insert(case.resource.into(), case.poller.clone());
    let created: Value = http
        .post(format!("{api}/instances"))
        .header("Authorization", &auth)
        .json(
            &json!({"element": {"key": case.mine}, "providerData": provider_data,
            "name": "mine", "configuration": {"oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": redirect,
            "event.notification.enabled": true, "event.notification.callback.url": callback,
            "event.notification.signature.key": "mine-signing-key",
            "event.poller.configuration": pollers}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("created: {created}"));
    let poll = async || -> Value {
        http.post(format!("{api}/instances/{id}/events/poll"))
            .header("Authorization", &auth)
            .json(&json!({"sweep": case.sweep}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    // The first poll sets the cursor at the provider's now (and a sweep remembers the ids): what
    // existed before is not news.
    let first = poll().await;
    assert!(first["polls"][0]["error"].is_null(), "{first}");
    if case.sweep {
        assert_eq!(first["polls"][0]["sweep"]["seeded"], true, "{first}");
    }
    let (before, deleted_before) = sim_state(&origin, case.resource).await;
    assert!(before.len() > 4, "seeded across pages: {before:?}");

    let deletes = if case.deletes { 3 } else { 0 };
    let burst: Value = http
        .post(format!("{origin}/_sim/activity/burst"))
        .json(&json!({"changes": 12, "deletes": deletes, "resources": [case.resource]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(burst, json!({"changes": 12, "deletes": deletes}));
    let (after, deleted_after) = sim_state(&origin, case.resource).await;
    let mut expected = BTreeSet::new();
    for (record, versions) in &after {
        match before.get(record) {
            None => expected.insert((record.clone(), "CREATED".to_owned())),
            Some(old) if old < versions => expected.insert((record.clone(), "UPDATED".to_owned())),
            Some(_) => false,
        };
    }
    for record in deleted_after.difference(&deleted_before) {
        // A record created and deleted within the burst was never seen: a sweep has no news of
        // it, a change feed's stub still tells.
        if before.contains_key(record) || case.unseen_deletes {
            expected.insert((record.clone(), "DELETED".to_owned()));
        }
    }
    assert!(
        expected.iter().any(|(_, t)| t == "DELETED") == case.deletes && expected.len() >= 5,
        "{expected:?}"
    );

    let second = poll().await;
    assert!(
        second["polls"][0]["events"].as_u64().unwrap() > 0,
        "{second}"
    );
    let arrived = || -> BTreeSet<(String, String)> {
        inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|(resource, _, _)| resource == case.resource)
            .map(|(_, object, kind)| (object.clone(), kind.clone()))
            .collect()
    };
    eventually(
        Duration::from_secs(60),
        "every change of the burst arrives as an event",
        async || arrived() == expected,
    )
    .await;
    assert_eq!(
        inbox.lock().unwrap().len(),
        expected.len(),
        "each change once"
    );
}

/// Keap's definition as `mykeap`: creates, edits and deletes (seen by a sweep) arrive.
#[tokio::test]
async fn an_exported_definition_renamed_is_simulated_and_delivers_every_change_end_to_end() {
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    end_to_end(EndToEnd {
        key: "infusionsoftrest",
        mine: "mykeap",
        authorize: "/app/oauth/authorize",
        resource: "contacts",
        poller: serde_json::json!({"url": "/hubs/crm/contacts", "idField": "id", "pageSize": 4,
            "datesConfiguration": {"updatedDateField": "last_updated",
                "updatedDateFormat": format, "createdDateField": "date_created",
                "createdDateFormat": format}}),
        deletes: true,
        sweep: true,
        unseen_deletes: false,
    })
    .await;
}

/// Salesforce's definition as `mysfdc`: SOQL read back by the simulator, the API host from its
/// token response; creates and edits arrive (its delete log is read in whole minutes, too slow
/// for a test on the real clock; `crates/tools/tests/element_sim.rs` reads it directly).
#[tokio::test]
async fn salesforces_export_renamed_is_simulated_and_delivers_its_changes_end_to_end() {
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    end_to_end(EndToEnd {
        key: "sfdc",
        mine: "mysfdc",
        authorize: "/services/oauth2/authorize",
        resource: "accounts",
        poller: serde_json::json!({"url": "/hubs/crm/accounts", "idField": "Id",
            "datesConfiguration": {"updatedDateField": "SystemModstamp",
                "updatedDateFormat": format, "createdDateField": "CreatedDate",
                "createdDateFormat": format}}),
        deletes: false,
        sweep: false,
        unseen_deletes: false,
    })
    .await;
}

/// QuickBooks' definition as `myqbo`: the company id from the consent redirect in its paths,
/// the change feed read by polls; creates, edits and deletes (the feed's stubs) arrive.
#[tokio::test]
async fn quickbooks_export_renamed_is_simulated_and_delivers_every_change_end_to_end() {
    let format = "yyyy-MM-dd'T'HH:mm:ssXXX";
    end_to_end(EndToEnd {
        key: "quickbooks",
        mine: "myqbo",
        authorize: "/connect/oauth2",
        resource: "invoices",
        poller: serde_json::json!({"url": "/hubs/finance/invoices", "idField": "Id",
            "datesConfiguration": {"updatedDateField": "MetaData.LastUpdatedTime",
                "updatedDateFormat": format, "createdDateField": "MetaData.CreateTime",
                "createdDateFormat": format}}),
        deletes: true,
        sweep: false,
        unseen_deletes: true,
    })
    .await;
}

/// The other built-in definitions, exported and renamed: each is served; a definition with
/// what the generic simulator cannot play is refused at start naming it.
#[test]
fn each_built_in_export_is_simulated_or_refused_by_name() {
    let folder = temp_dir("simulate-exports");
    let salesforce = folder.write("sfdc.toml", &exported_as("sfdc", "mysfdc"));
    let (_running, url) = simulate_element(&salesforce);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let hubspot = folder.write("hubspotcrm.toml", &exported_as("hubspotcrm", "myhubspot"));
    let (_hubspot, url) = simulate_element(&hubspot);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let quickbooks = folder.write("quickbooks.toml", &exported_as("quickbooks", "myqbo"));
    let (_quickbooks, url) = simulate_element(&quickbooks);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // A definition with what the simulator cannot play (a token-response value inside a path)
    // is refused, naming it.
    let unplayable = exported_as("infusionsoftrest", "mine")
        .replacen(
            "[api.list]",
            "[connection.account]\nsource = \"token_response\"\npointer = \"/account\"\n\n[api.list]",
            1,
        )
        .replacen(
            "[api.get]\npath = \"{{resource.path}}/{{id}}\"",
            "[api.get]\npath = \"/{{connection.account}}{{resource.path}}/{{id}}\"",
            1,
        );
    let file = folder.write("unplayable.toml", &unplayable);
    let output = tributary(&["simulate", "--element", &file.display().to_string()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the generic simulator cannot play element mine: connection.account:"),
        "{stderr}"
    );
    // A broken file is refused with its problems at their line and column.
    let broken = folder.write("broken.toml", "key = \"x\"\nid = \"one\"\n");
    let output = tributary(&["simulate", "--element", &broken.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains(&format!("{}:2:", broken.display())),
        "{}",
        text(&output.stderr)
    );
}
