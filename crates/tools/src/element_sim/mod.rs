//! `tributary simulate --element FILE`: an element definition played by the simulator's generic
//! provider (`tributary_simulator::generic`). This module reads the definition as the server
//! would (`tributary_elements::check`, problems at their line and column), translates what the
//! simulator must know into its [`Spec`] — OAuth paths, each resource's list and get paths, its
//! records pointer, id and date fields with their formats, its filter, bound, order and paging
//! parameters, its query language's text or its search body, its pager, its deletes, the
//! rate-limit headers, where error messages sit — and refuses, by name, what the generic
//! simulator cannot play.
//!
//! It lives here, not in the simulator, because the simulator must not know element
//! definitions (the elements crate tests against the simulator) — `tools` sees both. `parts`
//! translates the pieces (a query language's text, a search body, a change feed, a delete log,
//! an archived list, error marks).
//!
//! What is refused — every such feature at once ([`unplayable`]), each with the field that says
//! it: a list sent as `POST` or with a body outside the search dialect, a change feed or a get
//! sent as `POST`; a connection variable from the token response inside a path or query (at the
//! start of the base or token URL it is the API's host, which the simulator gives as its own
//! origin; a value from the OAuth redirect is the tenant's name, a path segment the simulator
//! matches against the caller's tenant); a page or query variable inside a longer text (but the
//! `where` dialect's query text, whose slots the simulator reads back). Every built-in
//! definition plays.
//! What is played but not enforced: result caps, settle times, extra budgets besides the main
//! one, and request headers (a page size sent in a header is not read). Error bodies carry what
//! the classifier's rules test (`error_marks`), so a 401 meets the refresh rule.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use reqwest::Url;
use tributary_domain::dates::DateFormatter;
use tributary_elements::Element;
use tributary_elements::budgets::BudgetScope;
use tributary_elements::definition::connection::Source;
use tributary_elements::definition::deletes::{DeleteKind, DeletesSpec};
use tributary_elements::definition::query::Dialect;
use tributary_elements::definition::{GetRequest, ListRequest, Method, resource_pointer};
use tributary_elements::pager::PagerKind as ElementPager;
use tributary_elements::signals::ResetUnit as ElementReset;
use tributary_elements::template::{Context, ResourceVars, Scope, Template, Var};
use tributary_simulator::generic::{
    self, DateField, Language, Limits, Options, Pager, PagerKind, Paging, ResetUnit, ResourceSpec,
    Spec, TokenValue,
};

mod parts;

use parts::{
    TENANT_SEGMENT, archive_of, change_feed, delete_log, error_marks, language_parts, scope_of,
    search_of, token_value,
};

/// Why a definition cannot be played: the field that says so and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplayable {
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Unplayable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> Unplayable {
    Unplayable {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Reads, checks and translates the definition in `file`; the error is what to print (every
/// problem at its line and column, or the feature the simulator cannot play).
pub fn load(file: &Path) -> Result<(Element, Spec), String> {
    let shown = file.display();
    let text = std::fs::read_to_string(file)
        .map_err(|error| format!("{shown}: cannot be read: {error}"))?;
    let element = tributary_elements::check::check(&text).map_err(|problems| {
        problems
            .iter()
            .map(|problem| format!("{shown}:{problem}"))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let spec = spec_of(&element).map_err(|unplayable| {
        format!(
            "{shown}: the generic simulator cannot play element {}: {unplayable}",
            element.key
        )
    })?;
    Ok((element, spec))
}

/// `tributary simulate --element FILE`: serves the definition until Ctrl-C or SIGTERM; exit 2
/// when it cannot be read, has problems, or uses what the simulator cannot play.
pub fn run(file: &Path, options: Options) -> ExitCode {
    match load(file) {
        Ok((element, spec)) => {
            let title = format!("{} ({})", element.name, element.key);
            generic::run(spec, options, &title)
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Everything in `element` the generic simulator cannot play: a refusal names each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub Vec<Unplayable>);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl From<Unplayable> for Refusal {
    fn from(unplayable: Unplayable) -> Self {
        Refusal(vec![unplayable])
    }
}

/// The features of `element` the generic simulator cannot play, each with its field.
pub fn unplayable(element: &Element) -> Vec<Unplayable> {
    let mut found = Vec::new();
    let search = element.api.query.dialect == Dialect::Search;
    let feed = |field: String, feed: &ListRequest, found: &mut Vec<Unplayable>| {
        if feed.method != Method::Get || feed.body.is_some() {
            found.push(refuse(
                field,
                "a change feed sent as POST or with a body is not played (GET with query \
                 parameters only)",
            ));
        }
    };
    if let Some(spec) = &element.api.changes {
        feed("api.changes".into(), spec, &mut found);
    }
    for (name, var) in &element.connection {
        if var.source == Source::TokenResponse && token_value(element, name).is_none() {
            found.push(refuse(
                format!("connection.{name}"),
                "a connection variable from the token response is played as the origin of \
                 api.base_url or auth.token_url, or where no URL, path or query uses it; not \
                 inside a path or query",
            ));
        }
    }
    let deletes = |field: String, spec: &DeletesSpec, found: &mut Vec<Unplayable>| {
        if spec.kind == DeleteKind::Inline && element.api.changes.is_none() {
            found.push(refuse(
                field,
                "delete stubs (\"inline\") are played among a change feed's records only",
            ));
        }
    };
    let list = |field: String, list: &ListRequest, found: &mut Vec<Unplayable>| {
        if search && (list.method != Method::Post || list.body.is_none()) {
            found.push(refuse(
                field,
                "the search dialect is played as a POST with a JSON body only",
            ));
        } else if !search && (list.method != Method::Get || list.body.is_some()) {
            found.push(refuse(
                field,
                "a list request sent as POST or with a body is played with the search dialect \
                 only (other dialects: GET with query parameters)",
            ));
        }
    };
    let get = |field: String, get: &GetRequest, found: &mut Vec<Unplayable>| {
        if get.method != Method::Get {
            found.push(refuse(field, "a get request sent as POST is not played"));
        }
    };
    if let Some(spec) = &element.api.deletes {
        deletes("api.deletes".into(), spec, &mut found);
    }
    list("api.list".into(), &element.api.list, &mut found);
    get("api.get".into(), &element.api.get, &mut found);
    for (index, resource) in element.resources.iter().enumerate() {
        let at = |field: &str| format!("resources[{index}] ({}).{field}", resource.name);
        if let Some(spec) = &resource.deletes {
            deletes(at("deletes"), spec, &mut found);
        }
        if let Some(spec) = &resource.list {
            list(at("list"), spec, &mut found);
        }
        if let Some(spec) = &resource.get {
            get(at("get"), spec, &mut found);
        }
        if let Some(spec) = &resource.changes {
            feed(at("changes"), spec, &mut found);
        }
    }
    found
}

/// The simulator's view of `element`, or everything it cannot play.
pub fn spec_of(element: &Element) -> Result<Spec, Refusal> {
    let found = unplayable(element);
    if !found.is_empty() {
        return Err(Refusal(found));
    }
    // Values from the OAuth redirect (a company id in the base URL) are the tenant's name: the
    // paths keep a placeholder segment for it.
    let redirect: Vec<(&String, &String)> = element
        .connection
        .iter()
        .filter(|(_, var)| var.source == Source::Redirect)
        .filter_map(|(name, var)| Some((name, var.parameter.as_ref()?)))
        .collect();
    let consent_params: Vec<String> = redirect.iter().map(|(_, p)| (*p).clone()).collect();
    let tenant_segment = (!redirect.is_empty()).then(|| TENANT_SEGMENT.to_owned());
    // A token response's values as the simulator will give them: its origin (a placeholder
    // here, only the paths are kept) or the tenant's name.
    let stored: BTreeMap<String, String> = element
        .connection
        .iter()
        .filter(|(_, var)| var.source == Source::TokenResponse)
        .filter_map(|(name, _)| {
            let value = match token_value(element, name)? {
                TokenValue::Origin => "http://simulator.invalid",
                TokenValue::Tenant => "tenant1",
            };
            Some((name.clone(), value.to_owned()))
        })
        .chain(
            redirect
                .iter()
                .map(|(name, _)| ((*name).clone(), TENANT_SEGMENT.to_owned())),
        )
        .collect();
    let token_extras: Vec<(String, TokenValue)> = element
        .connection
        .iter()
        .filter(|(_, var)| var.source == Source::TokenResponse)
        .filter_map(|(name, var)| Some((var.pointer.clone()?, token_value(element, name)?)))
        .collect();
    let values = element
        .instance_values(&stored, &BTreeMap::new())
        .connection;
    let empty = BTreeMap::new();
    let scope = |resource, id| scope_of(resource, id, &values, &empty, element);
    let render = |field: &str, text: &str, scope: &Scope<'_>, context: Context| {
        Template::parse(text)
            .and_then(|t| t.render(scope, context))
            .map_err(|error| refuse(field, error.to_string()))
            .map(Option::unwrap_or_default)
    };
    let url_path = |field: &str, text: &str| -> Result<String, Unplayable> {
        let url = Url::parse(text).map_err(|error| refuse(field, format!("{text:?}: {error}")))?;
        Ok(url.path().trim_end_matches('/').to_owned())
    };
    let authorize = element
        .authorize_url("client", "http://127.0.0.1/", "state", None)
        .map_err(|error| refuse("auth.authorization_url", error.to_string()))?;
    let authorize_path = url_path("auth.authorization_url", &authorize)?;
    let token = render(
        "auth.token_url",
        &element.auth.token_url,
        &scope(None, None),
        Context::Text,
    )?;
    let token_path = url_path("auth.token_url", &token)?;
    let base = render(
        "api.base_url",
        &element.api.base_url,
        &scope(None, None),
        Context::Text,
    )?;
    let base_path = url_path("api.base_url", &base)?;

    let bound_format = match element.api.query.date_format.as_deref() {
        None => None,
        Some(name) => Some(
            element
                .formats()
                .get(name)
                .cloned()
                .or_else(|| DateFormatter::built_in(name).ok())
                .ok_or_else(|| {
                    refuse(
                        "api.query.date_format",
                        format!("unknown formatter {name:?}"),
                    )
                })?,
        ),
    };

    let mut resources = Vec::new();
    for (index, resource) in element.resources.iter().enumerate() {
        let at = |field: &str| format!("resources[{index}] ({}).{field}", resource.name);
        let vars = ResourceVars {
            name: &resource.name,
            path: &resource.path,
            object: resource.object.as_deref(),
            fields: &resource.fields,
        };
        let list = element.list_request(resource);
        let list_path = format!(
            "{base_path}{}",
            render(
                &at("list.path"),
                &list.path,
                &scope(Some(vars), None),
                Context::Path
            )?
        );
        let get = element.get_request(resource);
        const ID: &str = "SIMULATORID0";
        let get_full = format!(
            "{base_path}{}",
            render(
                &at("get.path"),
                &get.path,
                &scope(Some(vars), Some(ID)),
                Context::Path
            )?
        );
        let get_path = get_full
            .split_once(ID)
            .map(|(prefix, suffix)| (prefix.to_owned(), suffix.to_owned()));
        let get_record = get
            .record
            .as_deref()
            .map(|pointer| resource_pointer(pointer, resource))
            .unwrap_or_default();

        let mut paging = Paging::default();
        let mut lower_bound = resource.lower_bound.clone();
        let mut upper_bound = resource.upper_bound.clone();
        let mut resource_bound_format = bound_format.clone();
        let mut language = None;
        for (param, text) in &list.query {
            if element.api.query.dialect == Dialect::Where && text.contains("{{query.where}}") {
                let spec = &element.api.query;
                let parts = language_parts(
                    &at(&format!("list.query.{param}")),
                    text,
                    &scope(Some(vars), None),
                )?;
                language = Some(Language {
                    param: param.clone(),
                    parts,
                    where_prefix: spec
                        .where_prefix
                        .clone()
                        .unwrap_or_else(|| " WHERE ".into()),
                    joiner: spec.joiner.clone().unwrap_or_else(|| " AND ".into()),
                    order_prefix: spec
                        .order_prefix
                        .clone()
                        .unwrap_or_else(|| " ORDER BY ".into()),
                    operators: spec
                        .operators
                        .iter()
                        .map(|(ceql, word)| (word.clone(), ceql.clone()))
                        .collect(),
                    quote: spec.string_quote.clone().unwrap_or_default(),
                    escapes: spec
                        .string_escapes
                        .iter()
                        .map(|(original, replacement)| (replacement.clone(), original.clone()))
                        .collect(),
                    date_format: bound_format.clone(),
                    fields: resource
                        .filters
                        .iter()
                        .filter(|(name, provider)| name != provider)
                        .map(|(name, provider)| (provider.clone(), name.clone()))
                        .collect(),
                });
                continue;
            }
            let template = Template::parse(text)
                .map_err(|error| refuse(at(&format!("list.query.{param}")), error.to_string()))?;
            let exprs: Vec<_> = template.exprs().collect();
            let whole =
                exprs.len() == 1 && text.trim().starts_with("{{") && text.trim().ends_with("}}");
            let moving = exprs.iter().any(|e| {
                matches!(
                    e.var,
                    Var::PageOffset
                        | Var::PageStart
                        | Var::PageNumber
                        | Var::PageCursor
                        | Var::PageSize
                        | Var::QueryLower
                        | Var::QueryUpper
                )
            });
            if !whole {
                if moving {
                    return Err(refuse(
                        at(&format!("list.query.{param}")),
                        "a page or query variable inside a longer text is not played",
                    )
                    .into());
                }
                continue;
            }
            let expr = exprs[0];
            let slot = match expr.var {
                Var::PageSize => &mut paging.size,
                Var::PageOffset => &mut paging.offset,
                Var::PageStart => &mut paging.start,
                Var::PageNumber => &mut paging.number,
                Var::PageCursor => &mut paging.cursor,
                Var::QueryLower | Var::QueryUpper => {
                    if let Some(name) = &expr.formatter {
                        resource_bound_format = element
                            .formats()
                            .get(name)
                            .cloned()
                            .or_else(|| DateFormatter::built_in(name).ok());
                    }
                    if expr.var == Var::QueryLower {
                        &mut lower_bound
                    } else {
                        &mut upper_bound
                    }
                }
                _ => continue,
            };
            *slot = Some(param.clone());
        }
        if element.api.query.dialect == Dialect::Where && language.is_none() {
            return Err(refuse(
                at("list.query"),
                "the where dialect's {{query.where}} is played in a query parameter only",
            )
            .into());
        }
        let search = match (&list.body, element.api.query.dialect) {
            (Some(body), Dialect::Search) => Some(search_of(element, resource, body)),
            _ => None,
        };
        let archive = match element.deletes_of(resource) {
            Some(spec) if spec.kind == DeleteKind::ArchivedList => Some(archive_of(
                &at("deletes"),
                spec,
                &base_path,
                &scope(Some(vars), None),
                resource,
            )?),
            _ => None,
        };
        let changes = match element.changes_request(resource) {
            Some(feed) => Some(change_feed(
                &at("changes"),
                element,
                resource,
                feed,
                &base_path,
                &scope(Some(vars), None),
            )?),
            None => None,
        };
        let delete_log = match element.deletes_of(resource) {
            Some(spec) if spec.kind == DeleteKind::SeparateRequest => Some(delete_log(
                &at("deletes"),
                spec,
                &base_path,
                &scope(Some(vars), None),
                element,
                resource,
            )?),
            _ => None,
        };
        let date_field = |field: &Option<String>| -> Result<Option<DateField>, Unplayable> {
            let (Some(field), Some(format)) = (field, &resource.date_format) else {
                return Ok(None);
            };
            let format = match format.as_str() {
                "milliseconds" => DateFormatter::EpochMillis,
                "seconds" => DateFormatter::EpochSeconds,
                pattern => DateFormatter::pattern(pattern, "GMT")
                    .map_err(|error| refuse(at("date_format"), error.to_string()))?,
            };
            Ok(Some(DateField {
                field: field.clone(),
                format,
            }))
        };
        let pager_spec = &list.pager;
        let kind = match pager_spec.kind {
            ElementPager::Offset => PagerKind::Offset,
            ElementPager::PageNumber => PagerKind::PageNumber,
            ElementPager::NextUrl => PagerKind::NextUrl,
            ElementPager::Cursor => PagerKind::Cursor,
            ElementPager::LinkHeader => PagerKind::LinkHeader,
            ElementPager::None => PagerKind::None,
        };
        let pointer = |p: &Option<String>| p.as_deref().map(|p| resource_pointer(p, resource));
        resources.push(ResourceSpec {
            name: resource.name.clone(),
            list_path,
            get_path,
            get_record,
            records: element.records_pointer(resource),
            id_field: resource.id_field.clone(),
            created: date_field(&resource.created_field)?,
            updated: date_field(&resource.updated_field)?,
            // Without `record_fields`, the fields a request names (`resource.fields`).
            fields: if resource.record_fields.is_empty() {
                resource.fields.clone()
            } else {
                resource.record_fields.clone()
            },
            filters: resource
                .filters
                .iter()
                .map(|(name, param)| (param.clone(), name.clone()))
                .collect(),
            lower_bound,
            upper_bound,
            bound_format: resource_bound_format,
            order_parameter: element.api.query.order_parameter.clone(),
            direction_parameter: element.api.query.direction_parameter.clone(),
            descending: element.api.query.descending.clone(),
            paging,
            language,
            delete_log,
            search,
            archive,
            changes,
            pager: Pager {
                kind,
                total: pointer(&pager_spec.total),
                next: pointer(&pager_spec.next),
                done: pointer(&pager_spec.done),
                cursor: pointer(&pager_spec.cursor),
            },
        });
    }

    let rate = &element.api.rate_limit;
    let limits = Limits {
        per_minute: rate.requests_per_minute,
        per_tenant: rate.scope == BudgetScope::Instance,
        remaining: rate.remaining.clone(),
        limit: rate.limit.clone(),
        reset: rate.reset.as_ref().map(|reset| {
            let unit = match reset.unit {
                ElementReset::Seconds => ResetUnit::Seconds,
                ElementReset::Milliseconds => ResetUnit::Milliseconds,
                ElementReset::EpochSeconds => ResetUnit::EpochSeconds,
            };
            (reset.header.clone(), unit)
        }),
        usage: rate
            .usage
            .iter()
            .map(|u| (u.header.clone(), u.pattern.clone()))
            .collect(),
        concurrent: rate.concurrent,
    };
    let message_pointer = element
        .api
        .errors
        .messages
        .first()
        .cloned()
        .unwrap_or_else(|| "/message".to_owned());
    Ok(Spec {
        brand: element.name.clone(),
        authorize_path,
        token_path,
        scope: element.auth.scope.clone(),
        basic_auth: true,
        resources,
        max_page_size: element.api.max_page_size,
        limits,
        error_marks: error_marks(element),
        token_extras,
        consent_params,
        tenant_segment,
        message_pointer,
    })
}
