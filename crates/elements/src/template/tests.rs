use super::*;
use serde_json::json;

struct Fixture {
    page: PageVars,
    query: QueryVars,
    connection: BTreeMap<String, String>,
    config: BTreeMap<String, String>,
    formats: BTreeMap<String, DateFormatter>,
    fields: Vec<String>,
}

fn fixture() -> Fixture {
    Fixture {
        page: PageVars {
            size: 200,
            offset: 400,
            number: 3,
            cursor: None,
        },
        query: QueryVars {
            where_text: " WHERE SystemModstamp >= 2026-01-01T00:00:00Z".into(),
            filters: vec![json!({"propertyName": "x", "operator": "EQ", "value": "1"})],
            lower_ms: Some(1_767_225_600_000),
            ..QueryVars::default()
        },
        connection: BTreeMap::from([("realm".to_owned(), "12 3/4".to_owned())]),
        config: BTreeMap::from([("sub.domain".to_owned(), "acme".to_owned())]),
        formats: BTreeMap::from([(
            "local".to_owned(),
            DateFormatter::pattern("yyyy-MM-dd'T'HH:mm:ssXXX", "-08:00").unwrap(),
        )]),
        fields: vec!["Id".into(), "Name".into()],
    }
}

impl Fixture {
    fn scope(&self) -> Scope<'_> {
        Scope {
            page: Some(&self.page),
            resource: Some(ResourceVars {
                name: "contacts",
                path: "/crm/contacts",
                object: Some("Contact"),
                fields: &self.fields,
            }),
            id: Some("a/b"),
            connection: &self.connection,
            config: &self.config,
            query: Some(&self.query),
            formats: &self.formats,
        }
    }
}

fn text(template: &str, f: &Fixture, context: Context) -> Option<String> {
    Template::parse(template)
        .unwrap()
        .render(&f.scope(), context)
        .unwrap()
}

#[test]
fn text_templates_insert_page_resource_connection_config_and_query_values() {
    let f = fixture();
    let t = |s| text(s, &f, Context::Text).unwrap();
    assert_eq!(
        t("{{page.size}}/{{page.offset}}/{{page.start}}/{{page.number}}"),
        "200/400/401/3"
    );
    assert_eq!(
        t("SELECT {{resource.fields}} FROM {{ resource.object }}{{query.where}}"),
        "SELECT Id,Name FROM Contact WHERE SystemModstamp >= 2026-01-01T00:00:00Z"
    );
    assert_eq!(
        t("https://{{config.sub.domain}}.example/{{connection.realm}}"),
        "https://acme.example/12 3/4"
    );
    assert_eq!(t("{{query.lower|epoch_seconds}}"), "1767225600");
    assert_eq!(
        t("since {{query.lower|local}}"),
        "since 2025-12-31T16:00:00-08:00"
    );
    assert_eq!(t("no templates here"), "no templates here");
}

#[test]
fn path_values_are_one_segment_each_but_the_resource_path_is_kept() {
    let f = fixture();
    assert_eq!(
        text(
            "/v3/company/{{connection.realm}}{{resource.path}}/{{id}}",
            &f,
            Context::Path
        )
        .unwrap(),
        "/v3/company/12%203%2F4/crm/contacts/a%2Fb"
    );
}

#[test]
fn an_absent_whole_value_is_left_out_and_an_absent_part_is_an_error() {
    let f = fixture();
    assert_eq!(text("{{page.cursor}}", &f, Context::Text), None);
    assert_eq!(text("{{query.upper|iso_utc}}", &f, Context::Text), None);
    let error = Template::parse("after={{page.cursor}}")
        .unwrap()
        .render(&f.scope(), Context::Text)
        .unwrap_err();
    assert!(error.0.contains("page.cursor has no value"), "{error}");
}

#[test]
fn json_bodies_keep_types_and_insert_json_values() {
    let mut f = fixture();
    f.page.cursor = Some("abc".into());
    let body = json!({
        "filterGroups": [{"filters": "{{query.filters}}"}],
        "groups": "{{query.filter_groups}}",
        "limit": "{{page.size}}",
        "after": "{{page.cursor}}",
        "properties": "{{resource.fields}}",
        "since": "{{query.lower|epoch_millis}}",
        "sinceText": "{{query.lower|epoch_millis_string}}",
        "until": "{{query.upper|epoch_millis}}",
        "label": "page {{page.number}}",
        "fixed": [1, true, null]
    });
    let rendered = render_json(&body, &f.scope()).unwrap().unwrap();
    assert_eq!(
        rendered,
        json!({
            "filterGroups": [{"filters": [{"propertyName": "x", "operator": "EQ", "value": "1"}]}],
            "groups": [{"filters": [{"propertyName": "x", "operator": "EQ", "value": "1"}]}],
            "limit": 200,
            "after": "abc",
            "properties": ["Id", "Name"],
            "since": 1_767_225_600_000_i64,
            "sinceText": "1767225600000",
            "label": "page 3",
            "fixed": [1, true, null]
        })
    );
    f.page.cursor = None;
    let first = render_json(&body, &f.scope()).unwrap().unwrap();
    assert!(first.get("after").is_none(), "no cursor on the first page");
}

#[test]
fn unknown_variables_and_unclosed_braces_are_refused_naming_them() {
    let error = Template::parse("/x/{{env.HOME}}").unwrap_err().0;
    assert!(
        error.contains("\"env.HOME\"") && error.contains("page.cursor"),
        "{error}"
    );
    let error = Template::parse("/x/{{page.size").unwrap_err().0;
    assert!(error.contains("not closed"), "{error}");
    let error = Template::parse("{{page.size|}}").unwrap_err().0;
    assert!(error.contains("empty formatter"), "{error}");
    assert!(Template::parse("{{connection.}}").is_err());
}

#[test]
fn a_date_without_a_formatter_or_with_an_unknown_one_is_an_error() {
    let f = fixture();
    for (template, needle) in [
        ("{{query.lower}}", "needs a formatter"),
        ("{{query.lower|soql}}", "unknown date formatter \"soql\""),
    ] {
        let error = Template::parse(template)
            .unwrap()
            .render(&f.scope(), Context::Text)
            .unwrap_err();
        assert!(error.0.contains(needle), "{template}: {error}");
    }
}
