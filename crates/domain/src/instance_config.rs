//! An instance's configuration: string keys to string values, and the typed events settings read
//! from it.
//!
//! Cloud Elements clients send configuration values as JSON strings *or* native types (`true`,
//! `15`, an object for `event.poller.configuration`); responses always show strings. So values are
//! normalized to strings on the way in ([`normalize_value`]), and every events key of the spec
//! (`shared/spec/product.md` §3) is validated from the normalized map ([`EventsSettings::read`]).
//! Validation collects every problem, each naming its field (and resource), so one 400 tells the
//! client everything it must fix.
//!
//! The poller configuration is what Cloud Elements accepts: the JSON `event.poller.configuration`
//! (whose resource entries may leave `idField` and `datesConfiguration` to the element,
//! [`ResourceCatalog::default_poller`]), else the legacy `event.poller.urls` lines
//! ([`crate::legacy_pollers`]), else — events on, polling — the element's own resources
//! ([`ResourceCatalog::default_resources`]). Which keys are secret is said by name here
//! ([`is_secret_key`]); an element may declare more.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::dates::{DatePattern, Zone};
use crate::legacy_pollers as legacy;
use crate::placeholders::UrlTemplate;

pub const OAUTH_API_KEY: &str = "oauth.api.key";
pub const OAUTH_API_SECRET: &str = "oauth.api.secret";
pub const OAUTH_CALLBACK_URL: &str = "oauth.callback.url";
pub const EVENTS_ENABLED: &str = "event.notification.enabled";
pub const VENDOR_TYPE: &str = "event.vendor.type";
pub const CALLBACK_URL: &str = "event.notification.callback.url";
pub const SIGNATURE_KEY: &str = "event.notification.signature.key";
pub const SIGNATURE_SCHEME: &str = "event.notification.signature.scheme";
pub const REFRESH_INTERVAL: &str = "event.poller.refresh_interval";
pub const POLLER_CONFIGURATION: &str = "event.poller.configuration";
/// Cloud Elements' legacy poller configuration: one `|`-separated line per resource.
pub const POLLER_URLS: &str = "event.poller.urls";

/// The default minutes between polls.
pub const DEFAULT_REFRESH_MINUTES: u32 = 15;
/// The default overlap (`pollDelay`), in seconds: records changed in the last minute before the
/// cursor are read again, so ties at the cursor and late indexing are not missed.
pub const DEFAULT_POLL_DELAY_SECS: u32 = 60;
/// The largest `pageSize` a poller may ask for.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Whether a configuration key holds a secret by its name: sealed at rest, masked in every
/// response (an element may declare more, see `tributary_elements::Element::is_secret`).
///
/// A key is secret when it names a secret, password, passphrase, credential or private
/// anything, or when one of its parts (split at `.`, `_` and `-`) ends in `key` or `token`:
/// `oauth.api.secret`, `oauth.api.key` (Cloud Elements masks the client id too),
/// `event.notification.signature.key`, `x.apikey`, `x.private_key`, `x.credential`,
/// `oauth.user.refresh_token`. A key whose last part is `url` or `uri` is an address, not a
/// secret (`oauth.token.url`, `event.notification.callback.url`).
pub fn is_secret_key(key: &str) -> bool {
    const WORDS: [&str; 6] = [
        "secret",
        "password",
        "passwd",
        "passphrase",
        "credential",
        "private",
    ];
    let key = key.to_ascii_lowercase();
    let parts: Vec<&str> = key.split(['.', '_', '-']).collect();
    if matches!(parts.last(), Some(&("url" | "uri"))) {
        return false;
    }
    WORDS.iter().any(|word| key.contains(word))
        || parts
            .iter()
            .any(|part| part.ends_with("key") || part.ends_with("token"))
}

/// A configuration value as stored and shown: strings as they are, booleans and numbers in their
/// JSON spelling, objects and arrays as compact JSON. `null` means "no value" (`None`).
pub fn normalize_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Bool(_) | Value::Number(_) | Value::Array(_) | Value::Object(_) => {
            Some(value.to_string())
        }
    }
}

/// What validation needs to know of an element.
pub trait ResourceCatalog {
    /// The hub the element's resources live in (`crm`).
    fn hub(&self) -> &str;
    /// Whether the element has a resource of this name.
    fn has_resource(&self, name: &str) -> bool;
    /// The resource names, for error messages.
    fn resource_names(&self) -> Vec<String>;
    /// The element's own poller configuration of a resource (`url`, `idField`,
    /// `datesConfiguration` …), when it knows the resource's change dates: what a resource
    /// entry without `idField` or `datesConfiguration` takes them from.
    fn default_poller(&self, _resource: &str) -> Option<Value> {
        None
    }
    /// The resources polled when events are on and no poller configuration is given.
    fn default_resources(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether the element can see this resource's deletes (`detectDeletes` defaults to it).
    fn detects_deletes(&self, _name: &str) -> bool {
        false
    }
}

/// A problem with one configuration field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The key, or `event.poller.configuration.<resource>.<field>` inside the poller JSON.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Where events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VendorType {
    Polling,
    Webhooks,
}

/// `datesConfiguration` of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatesConfiguration {
    pub updated_field: String,
    pub updated_format: String,
    pub updated_timezone: Option<String>,
    pub created_field: String,
    pub created_format: String,
    pub created_timezone: Option<String>,
}

/// One resource's poller configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PollerConfig {
    /// Hub-relative URL (`/hubs/crm/appointments…`), placeholders unsubstituted.
    pub url: String,
    pub id_field: String,
    pub dates: DatesConfiguration,
    pub page_size: Option<u32>,
    pub poll_delay_secs: u32,
    pub created_check_tolerance_secs: u32,
    pub filter_by_updated_date: bool,
    pub filter_by_current_date: bool,
    /// `detectDeletes`: whether the poll also reads the resource's deletes. Defaults to
    /// whether the element can see them.
    pub detect_deletes: bool,
    /// `checksum`: the resource has no change date to poll by, so each poll reads its whole
    /// list and compares each record's content hash with the last one's (a reconciliation
    /// sweep, `crate::sweep`): a changed hash is UPDATED, a new id CREATED. Default false.
    pub checksum: bool,
}

/// The events settings of an instance, read and validated from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventsSettings {
    pub enabled: bool,
    pub vendor: VendorType,
    pub callback_url: Option<String>,
    pub has_signature_key: bool,
    pub refresh_minutes: u32,
    /// Resource name → configuration, in name order.
    pub pollers: BTreeMap<String, PollerConfig>,
}

impl EventsSettings {
    /// Reads every events key of `config`, or returns every problem found.
    pub fn read(
        config: &BTreeMap<String, String>,
        catalog: &dyn ResourceCatalog,
    ) -> Result<EventsSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            });
        };
        let enabled = match config
            .get(EVENTS_ENABLED)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(_) => {
                error(EVENTS_ENABLED, "must be true or false".into());
                false
            }
        };
        let vendor = match config
            .get(VENDOR_TYPE)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            None => VendorType::Polling,
            Some(v) if v == "polling" => VendorType::Polling,
            Some(v) if v == "webhooks" || v == "webhook" => VendorType::Webhooks,
            Some(v) => {
                error(
                    VENDOR_TYPE,
                    format!("must be polling or webhooks, got {:?}", truncate(&v)),
                );
                VendorType::Polling
            }
        };
        let callback_url = config.get(CALLBACK_URL).cloned();
        match &callback_url {
            Some(url) => {
                if let Err(message) = check_http_url(url) {
                    error(CALLBACK_URL, message);
                }
            }
            None if enabled => error(CALLBACK_URL, "is required when events are enabled".into()),
            None => {}
        }
        let has_signature_key = match config.get(SIGNATURE_KEY) {
            Some(key) if key.is_empty() => {
                error(
                    SIGNATURE_KEY,
                    "must not be empty (leave it out for unsigned events)".into(),
                );
                false
            }
            Some(_) => true,
            None => false,
        };
        if let Some(scheme) = config.get(SIGNATURE_SCHEME)
            && !["elements", "standard", "both"]
                .contains(&scheme.trim().to_ascii_lowercase().as_str())
        {
            error(
                SIGNATURE_SCHEME,
                format!(
                    "must be elements, standard or both, got {:?}",
                    truncate(scheme)
                ),
            );
        }
        let refresh_minutes = match config.get(REFRESH_INTERVAL) {
            None => DEFAULT_REFRESH_MINUTES,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(minutes) if (1..=10_080).contains(&minutes) => minutes,
                _ => {
                    error(
                        REFRESH_INTERVAL,
                        format!(
                            "must be a whole number of minutes from 1 to 10080, got {:?}",
                            truncate(text)
                        ),
                    );
                    DEFAULT_REFRESH_MINUTES
                }
            },
        };
        // The JSON form wins; the legacy lines are read when it is absent (Cloud Elements'
        // provisioning sends both, the lines naming the JSON's resources); without either,
        // the element's default resources are polled.
        let pollers = match (config.get(POLLER_CONFIGURATION), config.get(POLLER_URLS)) {
            (Some(text), _) => read_pollers(text, catalog, &mut errors),
            (None, Some(lines)) => match legacy::read(lines, &Lines(catalog)) {
                Ok(object) => read_object(&object, POLLER_URLS, catalog, &mut errors),
                Err(problems) => {
                    errors.extend(problems.into_iter().map(|p| FieldError {
                        field: format!("{POLLER_URLS} line {}", p.line),
                        message: p.message,
                    }));
                    BTreeMap::new()
                }
            },
            // Webhooks too: the resources subscribed are the ones polled as the safety net.
            (None, None) if enabled => {
                let defaults: Map<String, Value> = catalog
                    .default_resources()
                    .into_iter()
                    .filter_map(|r| Some((r.clone(), catalog.default_poller(&r)?)))
                    .collect();
                if defaults.is_empty() {
                    error(
                        POLLER_CONFIGURATION,
                        "is required when events are enabled with polling (the element has no \
                         default resources to poll)"
                            .into(),
                    );
                }
                read_object(&defaults, POLLER_CONFIGURATION, catalog, &mut errors)
            }
            (None, None) => BTreeMap::new(),
        };
        if errors.is_empty() {
            Ok(EventsSettings {
                enabled,
                vendor,
                callback_url,
                has_signature_key,
                refresh_minutes,
                pollers,
            })
        } else {
            Err(errors)
        }
    }
}

/// The element as the legacy lines' reader sees it.
struct Lines<'a>(&'a dyn ResourceCatalog);

impl legacy::Resources for Lines<'_> {
    fn has(&self, name: &str) -> bool {
        self.0.has_resource(name)
    }

    fn names(&self) -> Vec<String> {
        self.0.resource_names()
    }

    fn default_entry(&self, name: &str) -> Option<Value> {
        self.0.default_poller(name)
    }
}

/// An absolute `http`/`https` URL with a host, or why not.
pub fn check_http_url(url: &str) -> Result<(), String> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        rest
    } else {
        return Err(format!(
            "must be an http or https URL, got {:?}",
            truncate(url)
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || url.chars().any(char::is_whitespace) {
        return Err(format!(
            "must be an http or https URL with a host, got {:?}",
            truncate(url)
        ));
    }
    Ok(())
}

fn truncate(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(LIMIT).collect::<String>())
    }
}

fn read_pollers(
    text: &str,
    catalog: &dyn ResourceCatalog,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<String, PollerConfig> {
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            errors.push(FieldError {
                field: POLLER_CONFIGURATION.into(),
                message: "must be a JSON object of resource name to poller configuration".into(),
            });
            return BTreeMap::new();
        }
        Err(error) => {
            errors.push(FieldError {
                field: POLLER_CONFIGURATION.into(),
                message: format!("is not valid JSON: {error}"),
            });
            return BTreeMap::new();
        }
    };
    read_object(&object, POLLER_CONFIGURATION, catalog, errors)
}

/// Reads a poller configuration object (resource → entry); `source` is the key it came from,
/// naming each problem's field.
fn read_object(
    object: &Map<String, Value>,
    source: &str,
    catalog: &dyn ResourceCatalog,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<String, PollerConfig> {
    let mut pollers = BTreeMap::new();
    for (resource, value) in object {
        let prefix = format!("{source}.{resource}");
        if !catalog.has_resource(resource) {
            errors.push(FieldError {
                field: prefix,
                message: format!(
                    "unknown resource; the element has {}",
                    catalog.resource_names().join(", ")
                ),
            });
            continue;
        }
        let Value::Object(fields) = value else {
            errors.push(FieldError {
                field: prefix,
                message: "must be an object".into(),
            });
            continue;
        };
        let fields = with_element_defaults(fields, catalog.default_poller(resource));
        if let Some(config) = read_poller(&prefix, resource, &fields, catalog, errors) {
            pollers.insert(resource.clone(), config);
        }
    }
    pollers
}

/// A resource entry with what it leaves out taken from the element: `idField` (absent or
/// blank), and `datesConfiguration` when absent (with the element's `filterByUpdatedDate`,
/// which belongs to its dates). A `datesConfiguration` given is taken as given, whole.
fn with_element_defaults(
    fields: &Map<String, Value>,
    element: Option<Value>,
) -> Map<String, Value> {
    let mut fields = fields.clone();
    let Some(Value::Object(element)) = element else {
        return fields;
    };
    let blank_id = text_field(&fields, "idField").is_none_or(|id| id.trim().is_empty());
    if blank_id && let Some(id) = element.get("idField") {
        fields.insert("idField".into(), id.clone());
    }
    if !fields.contains_key("datesConfiguration")
        && let Some(dates) = element.get("datesConfiguration")
    {
        fields.insert("datesConfiguration".into(), dates.clone());
        let given_filter =
            fields.contains_key("filterByUpdatedDate") || fields.contains_key("filterByUpdateDate");
        if !given_filter && let Some(filter) = element.get("filterByUpdatedDate") {
            fields.insert("filterByUpdatedDate".into(), filter.clone());
        }
    }
    if !fields.contains_key("url")
        && let Some(url) = element.get("url")
    {
        fields.insert("url".into(), url.clone());
    }
    fields
}

/// Reads a field as a string, accepting the native JSON types CE clients send.
fn text_field(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields.get(key).and_then(normalize_value)
}

fn read_poller(
    prefix: &str,
    resource: &str,
    fields: &Map<String, Value>,
    catalog: &dyn ResourceCatalog,
    errors: &mut Vec<FieldError>,
) -> Option<PollerConfig> {
    let hub = catalog.hub();
    let before = errors.len();
    let mut error = |field: &str, message: String| {
        errors.push(FieldError {
            field: format!("{prefix}.{field}"),
            message,
        });
    };
    let url = match text_field(fields, "url") {
        Some(url) if url.starts_with(&format!("/hubs/{hub}/")) => {
            if let Err(e) = UrlTemplate::compile(&url) {
                error("url", format!("{e} in {:?}", truncate(&url)));
            }
            url
        }
        Some(url) => {
            error(
                "url",
                format!(
                    "must be a path under /hubs/{hub}/ (such as /hubs/{hub}/{resource}), got {:?}",
                    truncate(&url)
                ),
            );
            String::new()
        }
        None => {
            error("url", "is required".into());
            String::new()
        }
    };
    let id_field = match text_field(fields, "idField") {
        Some(id) if !id.trim().is_empty() => id,
        _ => {
            error(
                "idField",
                "is required (the path of the record's id, such as id)".into(),
            );
            String::new()
        }
    };
    let checksum = match text_field(fields, "checksum").map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(_) => {
            error("checksum", "must be true or false".into());
            false
        }
    };
    let dates = match fields.get("datesConfiguration") {
        // Checksum mode reads no date: a record's change is its content.
        None if checksum => DatesConfiguration {
            updated_field: String::new(),
            updated_format: "milliseconds".into(),
            updated_timezone: None,
            created_field: String::new(),
            created_format: "milliseconds".into(),
            created_timezone: None,
        },
        Some(Value::Object(dates)) => {
            let mut required = |key: &str| match text_field(dates, key) {
                Some(value) if !value.trim().is_empty() => value,
                _ => {
                    error(&format!("datesConfiguration.{key}"), "is required".into());
                    String::new()
                }
            };
            let updated_field = required("updatedDateField");
            let updated_format = required("updatedDateFormat");
            let created_field = required("createdDateField");
            let created_format = required("createdDateFormat");
            // One archived example puts the time zone beside datesConfiguration: a fallback.
            let fallback_zone = text_field(fields, "updatedDateTimezone");
            let updated_timezone = text_field(dates, "updatedDateTimezone").or(fallback_zone);
            let created_timezone = text_field(dates, "createdDateTimezone");
            for (key, pattern) in [
                ("updatedDateFormat", &updated_format),
                ("createdDateFormat", &created_format),
            ] {
                if !pattern.is_empty()
                    && let Err(message) = check_date_format(pattern)
                {
                    error(&format!("datesConfiguration.{key}"), message);
                }
            }
            for (key, zone) in [
                ("updatedDateTimezone", &updated_timezone),
                ("createdDateTimezone", &created_timezone),
            ] {
                if let Some(zone) = zone
                    && let Err(message) = check_time_zone(zone)
                {
                    error(&format!("datesConfiguration.{key}"), message);
                }
            }
            DatesConfiguration {
                updated_field,
                updated_format,
                updated_timezone,
                created_field,
                created_format,
                created_timezone,
            }
        }
        Some(_) => {
            error("datesConfiguration", "must be an object".into());
            return None;
        }
        None => {
            error(
                "datesConfiguration",
                "is required (updatedDateField, updatedDateFormat, createdDateField, createdDateFormat)".into(),
            );
            return None;
        }
    };
    let mut number = |key: &str, max: u32| -> Option<u32> {
        let text = text_field(fields, key)?;
        match text.trim().parse::<u32>() {
            Ok(n) if n <= max => Some(n),
            _ => {
                error(
                    key,
                    format!(
                        "must be a whole number from 0 to {max}, got {:?}",
                        truncate(&text)
                    ),
                );
                None
            }
        }
    };
    let page_size = number("pageSize", MAX_PAGE_SIZE);
    let poll_delay_secs = number("pollDelay", 86_400).unwrap_or(DEFAULT_POLL_DELAY_SECS);
    let created_check_tolerance_secs = number("createdCheckTolerance", 86_400).unwrap_or(0);
    if page_size == Some(0) {
        error(
            "pageSize",
            format!("must be a whole number from 1 to {MAX_PAGE_SIZE}, got \"0\""),
        );
    }
    let mut flag = |key: &str, default: bool| -> bool {
        match text_field(fields, key).map(|v| v.trim().to_ascii_lowercase()) {
            None => default,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(_) => {
                error(key, "must be true or false".into());
                default
            }
        }
    };
    // The archive spells it `filterByUpdateDate` once; accept both, the right one winning.
    let filter_by_updated_date = if fields.contains_key("filterByUpdatedDate") {
        flag("filterByUpdatedDate", true)
    } else {
        flag("filterByUpdateDate", true)
    };
    let filter_by_current_date = flag("filterByCurrentDate", false);
    let can_detect = catalog.detects_deletes(resource);
    let detect_deletes = flag("detectDeletes", can_detect);
    if detect_deletes && !can_detect {
        error(
            "detectDeletes",
            format!(
                "the element cannot see the deletes of {resource}; leave it out or set it to false"
            ),
        );
    }
    if errors.len() > before {
        return None;
    }
    Some(PollerConfig {
        url,
        id_field,
        dates,
        page_size,
        poll_delay_secs,
        created_check_tolerance_secs,
        filter_by_updated_date,
        filter_by_current_date,
        detect_deletes,
        checksum,
    })
}

/// Compiles a date format as the poller will: a Java pattern, `milliseconds` or `seconds`.
fn check_date_format(pattern: &str) -> Result<(), String> {
    DatePattern::compile(pattern)
        .map(|_| ())
        .map_err(|e| format!("{e} in {:?}", truncate(pattern)))
}

/// Resolves a time-zone id as the poller will.
fn check_time_zone(zone: &str) -> Result<(), String> {
    Zone::parse(zone).map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Crm;
    impl ResourceCatalog for Crm {
        fn hub(&self) -> &str {
            "crm"
        }
        fn has_resource(&self, name: &str) -> bool {
            ["contacts", "appointments"].contains(&name)
        }
        fn resource_names(&self) -> Vec<String> {
            vec!["appointments".into(), "contacts".into()]
        }
    }

    fn seed_poller() -> Value {
        json!({"appointments": {
            "url": "/hubs/crm/appointments", "idField": "id",
            "datesConfiguration": {
                "updatedDateField": "modification_date",
                "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
                "updatedDateTimezone": "GMT",
                "createdDateField": "creation_date",
                "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
                "createdDateTimezone": "GMT"}}})
    }

    fn config(pairs: &[(&str, Value)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .filter_map(|(k, v)| normalize_value(v).map(|v| ((*k).to_owned(), v)))
            .collect()
    }

    #[test]
    fn values_normalize_to_strings_as_responses_show_them() {
        assert_eq!(normalize_value(&json!(true)).as_deref(), Some("true"));
        assert_eq!(normalize_value(&json!(15)).as_deref(), Some("15"));
        assert_eq!(normalize_value(&json!("15")).as_deref(), Some("15"));
        assert_eq!(
            normalize_value(&json!({"a": 1})).as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(normalize_value(&json!(null)), None);
    }

    #[test]
    fn the_seed_configuration_reads_with_its_defaults() {
        let settings = EventsSettings::read(
            &config(&[
                (EVENTS_ENABLED, json!(true)),
                (VENDOR_TYPE, json!("polling")),
                (CALLBACK_URL, json!("https://app.example/cb")),
                (REFRESH_INTERVAL, json!("15")),
                (POLLER_CONFIGURATION, seed_poller()),
            ]),
            &Crm,
        )
        .expect("valid");
        assert!(settings.enabled);
        assert_eq!(settings.refresh_minutes, 15);
        let poller = &settings.pollers["appointments"];
        assert_eq!(poller.dates.updated_field, "modification_date");
        assert_eq!(poller.dates.created_timezone.as_deref(), Some("GMT"));
        assert_eq!(poller.poll_delay_secs, DEFAULT_POLL_DELAY_SECS);
        assert!(poller.filter_by_updated_date);
        assert!(!poller.filter_by_current_date);
    }

    #[test]
    fn the_poller_configuration_may_arrive_as_a_json_string() {
        let as_string = seed_poller().to_string();
        let settings =
            EventsSettings::read(&config(&[(POLLER_CONFIGURATION, json!(as_string))]), &Crm)
                .expect("valid");
        assert!(settings.pollers.contains_key("appointments"));
    }

    #[test]
    fn every_problem_is_reported_naming_its_field_and_resource() {
        let errors = EventsSettings::read(
            &config(&[
                (EVENTS_ENABLED, json!("yes")),
                (VENDOR_TYPE, json!("carrier-pigeon")),
                (CALLBACK_URL, json!("ftp://files.example/")),
                (SIGNATURE_KEY, json!("")),
                (SIGNATURE_SCHEME, json!("md5")),
                (REFRESH_INTERVAL, json!("abc")),
                (
                    POLLER_CONFIGURATION,
                    json!({
                        "widgets": {},
                        "contacts": {"url": "/hubs/marketing/contacts", "pageSize": 0,
                                     "pollDelay": -1, "filterByCurrentDate": "sometimes",
                                     "datesConfiguration": {"updatedDateField": "last_updated"}},
                        "appointments": "nope"
                    }),
                ),
            ]),
            &Crm,
        )
        .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for expected in [
            EVENTS_ENABLED,
            VENDOR_TYPE,
            CALLBACK_URL,
            SIGNATURE_KEY,
            SIGNATURE_SCHEME,
            REFRESH_INTERVAL,
            "event.poller.configuration.widgets",
            "event.poller.configuration.appointments",
            "event.poller.configuration.contacts.url",
            "event.poller.configuration.contacts.idField",
            "event.poller.configuration.contacts.datesConfiguration.updatedDateFormat",
            "event.poller.configuration.contacts.datesConfiguration.createdDateField",
            "event.poller.configuration.contacts.datesConfiguration.createdDateFormat",
            "event.poller.configuration.contacts.pageSize",
            "event.poller.configuration.contacts.pollDelay",
            "event.poller.configuration.contacts.filterByCurrentDate",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing from {fields:?}"
            );
        }
        let widgets = errors
            .iter()
            .find(|e| e.field.ends_with("widgets"))
            .unwrap();
        assert!(
            widgets.message.contains("appointments, contacts"),
            "{widgets}"
        );
    }

    #[test]
    fn enabling_events_needs_a_callback_url_and_a_poller_configuration() {
        let errors = EventsSettings::read(&config(&[(EVENTS_ENABLED, json!("true"))]), &Crm)
            .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, [CALLBACK_URL, POLLER_CONFIGURATION]);
        let disabled = EventsSettings::read(&config(&[]), &Crm).expect("events off needs nothing");
        assert!(!disabled.enabled);
        assert_eq!(disabled.refresh_minutes, DEFAULT_REFRESH_MINUTES);
    }

    #[test]
    fn refresh_intervals_must_be_whole_minutes_of_at_least_one() {
        for bad in ["0", "-5", "1.5", "abc", "", "99999"] {
            let result = EventsSettings::read(&config(&[(REFRESH_INTERVAL, json!(bad))]), &Crm);
            assert!(result.is_err(), "{bad:?} accepted");
        }
        for good in [json!(1), json!("60"), json!(" 15 ")] {
            assert!(
                EventsSettings::read(&config(&[(REFRESH_INTERVAL, good.clone())]), &Crm).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn patterns_zones_and_placeholders_are_compiled_at_validation_time() {
        let mut poller = seed_poller();
        poller["appointments"]["datesConfiguration"]["updatedDateFormat"] =
            json!("yyyy-MM-dd'T'HH:mm:ss.SSS'Z");
        poller["appointments"]["datesConfiguration"]["createdDateFormat"] = json!("yyyy-qq-dd");
        poller["appointments"]["datesConfiguration"]["createdDateTimezone"] = json!("Mars/Olympus");
        poller["appointments"]["url"] =
            json!("/hubs/crm/appointments?where=since='${gmtDate:yyyy-MM-dd");
        let errors =
            EventsSettings::read(&config(&[(POLLER_CONFIGURATION, poller)]), &Crm).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let find = |field: &str| {
            text.iter()
                .find(|t| t.contains(field))
                .cloned()
                .unwrap_or_default()
        };
        assert!(
            find("updatedDateFormat").contains("unterminated quote starting at position 25"),
            "{text:?}"
        );
        assert!(
            find("createdDateFormat").contains("unknown pattern letter 'q' at position 5"),
            "{text:?}"
        );
        assert!(
            find("createdDateTimezone").contains("unknown time zone \"Mars/Olympus\""),
            "{text:?}"
        );
        assert!(
            find("appointments.url").contains("placeholder not closed"),
            "{text:?}"
        );

        let mut poller = seed_poller();
        poller["appointments"]["datesConfiguration"]["updatedDateFormat"] = json!("milliseconds");
        poller["appointments"]["datesConfiguration"]["updatedDateTimezone"] =
            json!("America/New_York");
        poller["appointments"]["url"] = json!(
            "/hubs/crm/appointments?where=modification_date>='${dateTimeZone:-8:00:yyyy-MM-dd'T'HH:mm:ss}'"
        );
        assert!(EventsSettings::read(&config(&[(POLLER_CONFIGURATION, poller)]), &Crm).is_ok());
    }

    #[test]
    fn the_misspelled_filter_key_is_accepted() {
        let mut poller = seed_poller();
        poller["appointments"]["filterByUpdateDate"] = json!(false);
        let settings =
            EventsSettings::read(&config(&[(POLLER_CONFIGURATION, poller)]), &Crm).unwrap();
        assert!(!settings.pollers["appointments"].filter_by_updated_date);
    }

    #[test]
    fn urls_must_be_http_or_https_with_a_host() {
        for good in [
            "https://app.example/cb",
            "http://127.0.0.1:8080/hook?x=1",
            "http://user@host/p",
        ] {
            assert_eq!(check_http_url(good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://x/",
            "app.example/cb",
            "https://",
            "http:///path",
            "https://a b/",
            "javascript:alert(1)",
        ] {
            assert!(check_http_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_keys_are_recognized_by_name_the_client_id_among_them() {
        for key in [
            OAUTH_API_SECRET,
            OAUTH_API_KEY,
            SIGNATURE_KEY,
            "oauth.user.token",
            "oauth.user.refresh_token",
            "basic.password",
            "event.notification.basic.password",
            "x.apikey",
            "x.apiKey",
            "x.private_key",
            "x.privateKey",
            "x.credential",
            "x.credentials",
            "clientSecret",
            "sftp.passphrase",
            "access-token",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            CALLBACK_URL,
            OAUTH_CALLBACK_URL,
            REFRESH_INTERVAL,
            POLLER_CONFIGURATION,
            POLLER_URLS,
            EVENTS_ENABLED,
            VENDOR_TYPE,
            SIGNATURE_SCHEME,
            "oauth.token.url",
            "oauth.scope",
            "event.notification.basic.username",
            "provider.subdomain",
            "pagination.type",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    /// Sees the deletes of contacts only.
    struct Deleting;
    impl ResourceCatalog for Deleting {
        fn hub(&self) -> &str {
            "crm"
        }
        fn has_resource(&self, name: &str) -> bool {
            ["contacts", "appointments"].contains(&name)
        }
        fn resource_names(&self) -> Vec<String> {
            vec!["appointments".into(), "contacts".into()]
        }
        fn detects_deletes(&self, name: &str) -> bool {
            name == "contacts"
        }
    }

    #[test]
    fn delete_detection_defaults_to_what_the_element_can_and_is_refused_where_it_cannot() {
        let mut pollers = seed_poller();
        let mut contacts = pollers["appointments"].clone();
        contacts["url"] = json!("/hubs/crm/contacts");
        pollers["contacts"] = contacts;
        let read = |pollers: &Value| {
            EventsSettings::read(
                &config(&[(POLLER_CONFIGURATION, pollers.clone())]),
                &Deleting,
            )
        };
        let settings = read(&pollers).unwrap();
        assert!(settings.pollers["contacts"].detect_deletes);
        assert!(!settings.pollers["appointments"].detect_deletes);
        pollers["contacts"]["detectDeletes"] = json!("false");
        assert!(!read(&pollers).unwrap().pollers["contacts"].detect_deletes);
        pollers["appointments"]["detectDeletes"] = json!(true);
        let errors = read(&pollers).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].field,
            "event.poller.configuration.appointments.detectDeletes"
        );
        assert!(
            errors[0]
                .message
                .contains("cannot see the deletes of appointments")
        );
        assert!(
            EventsSettings::read(&config(&[(POLLER_CONFIGURATION, seed_poller())]), &Crm).is_ok(),
            "an element without delete detection needs no key"
        );
    }

    #[test]
    fn checksum_mode_needs_no_dates_and_takes_only_true_or_false() {
        let read = |entry: Value| {
            EventsSettings::read(
                &config(&[(POLLER_CONFIGURATION, json!({ "contacts": entry }))]),
                &Crm,
            )
        };
        let settings =
            read(json!({"url": "/hubs/crm/contacts", "idField": "id", "checksum": true})).unwrap();
        let contacts = &settings.pollers["contacts"];
        assert!(contacts.checksum);
        assert_eq!(contacts.dates.updated_format, "milliseconds");
        let errors = read(json!({"url": "/hubs/crm/contacts", "idField": "id"})).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.field.ends_with("contacts.datesConfiguration")),
            "without checksum the dates are required: {errors:?}"
        );
        let errors =
            read(json!({"url": "/hubs/crm/contacts", "idField": "id", "checksum": "maybe"}))
                .unwrap_err();
        assert_eq!(
            errors[0].field,
            "event.poller.configuration.contacts.checksum"
        );
    }
}
