use crate::registry::parse_definition;

/// A small valid definition (a cursor pager, records under `/data/items`).
pub const MINIMAL: &str = r#"
key = "second"
id = 2
name = "Second"
hub = "crm"
description = "A test provider."

[auth]
type = "oauth2"
authorization_url = "https://login.example/authorize"
token_url = "https://login.example/token"
scope = "read"
code_client_auth = "body"
refresh_client_auth = "body"

[api]
base_url = "https://api.example/api"
max_page_size = 100

[api.rate_limit]
requests_per_minute = 600

[api.query]
dialect = "params"

[api.list]
path = "{{resource.path}}"
records = "/data/items"
query = { limit = "{{page.size}}", after = "{{page.cursor}}" }

[api.list.pager]
kind = "cursor"
cursor = "/data/next"

[api.get]
path = "{{resource.path}}/{{id}}"

[events]
polling = true
webhooks = false

[[resources]]
name = "deals"
path = "/deals"
id_field = "id"
"#;

fn problems(edit: impl Fn(String) -> String) -> String {
    match parse_definition("edited.toml", &edit(MINIMAL.to_owned())) {
        Ok(_) => panic!("the edited definition was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_minimal_definition_is_valid() {
    parse_definition("minimal.toml", MINIMAL).unwrap();
}

#[test]
fn unknown_variables_and_misplaced_ones_are_named_with_the_valid_ones() {
    let error = problems(|t| {
        t.replace(
            "{{resource.path}}/{{id}}",
            "{{resource.path}}/{{record.id}}",
        )
    });
    assert!(
        error.starts_with("element definition edited.toml: "),
        "{error}"
    );
    assert!(
        error.contains("api.get.path")
            && error.contains("\"record.id\"")
            && error.contains("page.cursor"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "base_url = \"https://api.example/api\"",
            "base_url = \"https://api.example/{{page.size}}\"",
        )
    });
    assert!(
        error.contains("api.base_url: {{page.size}} cannot be used here")
            && error.contains("connection.NAME, config.KEY"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "base_url = \"https://api.example/api\"",
            "base_url = \"{{connection.instance_url}}\"",
        )
    });
    assert!(
        error.contains("names no declared connection variable; declared: none"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "after = \"{{page.cursor}}\"",
            "after = \"{{page.cursor}}\", w = \"{{query.where}}\"",
        )
    });
    assert!(
        error.contains("{{query.where}} is given by the where dialect; this element's is params"),
        "{error}"
    );
}

#[test]
fn formatters_must_exist_and_sit_on_dates() {
    let with = |value: &str| {
        problems(|t| {
            t.replace(
                "after = \"{{page.cursor}}\"",
                &format!("after = \"{{{{page.cursor}}}}\", since = \"{value}\""),
            )
        })
    };
    assert!(with("{{query.lower}}").contains("is a date: name a formatter"));
    let error = with("{{query.lower|soql}}");
    assert!(
        error.contains("unknown date formatter \"soql\"") && error.contains("iso_utc_millis"),
        "{error}"
    );
    assert!(with("{{page.size|iso_utc}}").contains("is not a date"));
    let error =
        problems(|t| format!("{t}\n[date_formats.local]\npattern = \"yyyy-qq\"\nzone = \"UTC\"\n"));
    assert!(
        error.contains("date_formats.local") && error.contains("unknown pattern letter"),
        "{error}"
    );
}

#[test]
fn pager_fields_must_fit_its_kind() {
    let error = problems(|t| t.replace("cursor = \"/data/next\"", ""));
    assert!(
        error.contains("api.list.pager: a cursor pager needs `cursor`"),
        "{error}"
    );
    let error = problems(|t| t.replace("kind = \"cursor\"", "kind = \"next_url\""));
    assert!(
        error.contains("a next_url pager needs `next`")
            && error.contains("`cursor` belongs to cursor pagers"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "kind = \"cursor\"\ncursor = \"/data/next\"",
            "kind = \"offset\"",
        )
    });
    assert!(
        error.contains("an offset pager moves by") || error.contains("a offset pager moves by"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "cursor = \"/data/next\"",
            "cursor = \"/data/next\"\nmax_results = 10000\non_cap = \"rewindow\"",
        )
    });
    assert!(
        error.contains("deals: a poll re-windows from the last updated date it read"),
        "{error}"
    );
    let error = problems(|t| t.replace("kind = \"cursor\"", "kind = \"sideways\""));
    assert!(
        error.contains("sideways") && error.contains("next_url"),
        "{error}"
    );
    let error = problems(|t| t.replace("records = \"/data/items\"", "records = \"data.items\""));
    assert!(
        error.contains("api.list.records") && error.contains("not a JSON pointer"),
        "{error}"
    );
}

#[test]
fn each_dialect_says_what_it_needs() {
    let error = problems(|t| t.replace("dialect = \"params\"", "dialect = \"where\""));
    assert!(
        error.contains("api.query.date_format: the where dialect needs it")
            && error.contains("api.query.string_quote: the where dialect needs it")
            && error.contains("api.query.operators: the where dialect needs them"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "dialect = \"params\"",
            "dialect = \"where\"\ndate_format = \"iso_utc\"\nstring_quote = \"'\"\nstring_escapes = { \"'\" = \"\\\\'\" }\noperators = { \"=\" = \"=\" }",
        )
    });
    assert!(
        error.contains("\"\\\\'\" starts with '\\\\', which must be escaped too"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace("dialect = \"params\"", "dialect = \"search\"\ndate_format = \"epoch_millis_string\"\noperators = { \">=\" = \"GTE\", \"~\" = \"X\" }")
    });
    assert!(
        error.contains("api.query.filter_keys: the search dialect needs them")
            && error.contains("\"~\" is not a CEQL operator"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "dialect = \"params\"",
            "dialect = \"params\"\nstring_quote = \"'\"",
        )
    });
    assert!(
        error.contains(
            "api.query.string_quote: belongs to the where dialect; this element's is params"
        ),
        "{error}"
    );
}

#[test]
fn connection_variables_and_classifier_rules_are_checked() {
    let error =
        problems(|t| format!("{t}\n[connection.realm]\nsource = \"redirect\"\npointer = \"/x\"\n"));
    assert!(
        error.contains("connection.realm: a redirect variable needs `parameter`")
            && error.contains("`pointer` belongs to token_response"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace("[api.list]", "[[api.errors.rules]]\nstatus = 429\naction = \"backoff\"\n\n[[api.errors.rules]]\nstatus = \"6xx\"\naction = \"pause\"\n\n[api.list]")
    });
    assert!(
        error.contains("api.errors.rules[0]: a backoff rule needs `attempts`")
            && error.contains("api.errors.rules[1].status")
            && error.contains("a pause rule needs `wait`"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace("[api.list]", "[[api.errors.rules]]\nstatus = 500\naction = \"retry\"\nattempts = 2\nwait = \"soon\"\n\n[api.list]")
    });
    assert!(error.contains("api.errors.rules[0].wait"), "{error}");
    let error = problems(|t| {
        t.replace(
            "[api.list]",
            "[api.rate_limit.reset]\nheader = \"x\"\nunit = \"fortnights\"\n\n[api.list]",
        )
    });
    assert!(error.contains("fortnights"), "{error}");
}

#[test]
fn keys_resources_and_get_requests_are_checked() {
    let error = problems(|t| t.replace("key = \"second\"", "key = \"Second-One\""));
    assert!(
        error.contains("key: \"Second-One\" must be lower-case"),
        "{error}"
    );
    let error = problems(|t| {
        t.replace(
            "path = \"{{resource.path}}/{{id}}\"",
            "path = \"{{resource.path}}\"",
        )
    });
    assert!(
        error.contains("api.get.path: a get request must send {{id}}"),
        "{error}"
    );
    let error = problems(|t| t.replace("records = \"/data/items\"\n", ""));
    assert!(
        error.contains("resources[0] (deals): say where its records sit"),
        "{error}"
    );
    let error = problems(|t| format!("{t}lower_bound = \"since\"\n"));
    assert!(
        error.contains("lower_bound: bounds the updated field: declare `updated_field`"),
        "{error}"
    );
    let error = problems(|t| format!("{t}color = \"blue\"\n"));
    assert!(error.contains("unknown field `color`"), "{error}");
}

#[test]
fn declared_secret_keys_are_secrets_and_never_connection_values() {
    let text = MINIMAL.replace(
        "[auth]",
        "secret_keys = [\"x.custom\"]\n\n[connection.region]\nsource = \"config\"\nkey = \"x.region\"\n\n[auth]",
    );
    let element = parse_definition("secrets.toml", &text).unwrap();
    assert!(element.is_secret("x.custom"), "declared");
    assert!(element.is_secret("x.apikey"), "named like one");
    assert!(!element.is_secret("x.region"));
    let config = std::collections::BTreeMap::from([
        ("x.custom".to_owned(), "hunter2".to_owned()),
        ("x.region".to_owned(), "eu".to_owned()),
    ]);
    let values = element.instance_values(&std::collections::BTreeMap::new(), &config);
    assert!(
        !values.config.contains_key("x.custom"),
        "never a template value"
    );
    assert_eq!(values.connection["region"], "eu");

    let error = problems(|t| {
        t.replace(
            "[auth]",
            "secret_keys = [\"x.region\", \" \"]\n\n[connection.region]\nsource = \"config\"\nkey = \"x.region\"\n\n[auth]",
        )
    });
    assert!(
        error.contains("connection.region.key: \"x.region\" is a secret")
            && error.contains("secret_keys[1]"),
        "{error}"
    );
}

#[test]
fn an_element_has_a_webhook_source_only_with_a_hooks_section() {
    let element = parse_definition("minimal.toml", MINIMAL).unwrap();
    assert!(!element.has_webhook_source());
    let text = crate::registry::builtin_definition("infusionsoftrest").unwrap();
    let keap = parse_definition("infusionsoftrest.toml", text).unwrap();
    assert!(keap.has_webhook_source());
    let hooks = keap.hooks.as_ref().unwrap();
    let contacts = keap.resource("contacts").unwrap();
    let keys: Vec<String> = hooks
        .event_keys(contacts)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["contact.add", "contact.edit", "contact.delete"]);
}

#[test]
fn a_broken_hooks_section_is_refused_naming_each_field() {
    let broken = format!(
        "{MINIMAL}\n[hooks]\nverified = []\nseparator = \".\"\n\
         list = {{ method = \"POST\", path = \"/hooks\" }}\n\
         subscribe = {{ method = \"GET\", path = \"/hooks\" }}\n\
         delete = {{ method = \"DELETE\", path = \"/hooks\" }}\n\
         body = {{ event = \"eventKey\", url = \"\" }}\n\
         fields = {{ key = \"key\", event = \"/eventKey\", url = \"/hookUrl\", status = \"/status\" }}\n\
         handshake = {{ echo_header = \"X Hook\" }}\n\
         payload = {{ event = \"/event_key\", ids = \"/object_keys\", id = \"/id\" }}\n\
         actions = {{ created = \"add\", updated = \"add\", deleted = \"delete\" }}\n"
    );
    let errors = parse_definition("broken.toml", &broken)
        .unwrap_err()
        .to_string();
    for field in [
        "hooks.list.method",
        "hooks.subscribe.method",
        "hooks.delete.path",
        "hooks.body.url",
        "hooks.fields.key",
        "hooks.verified",
        "hooks.handshake.echo_header",
        "hooks.actions",
    ] {
        assert!(errors.contains(field), "{field} in {errors}");
    }
}
