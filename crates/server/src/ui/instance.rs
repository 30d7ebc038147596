//! An instance's page: who it is and how it stands, its last two days as key figures and plots,
//! its pollers and its event log (the part that refreshes itself), its configuration (secrets
//! masked); and its actions: poll now, recover failed deliveries, enable or disable. Actions
//! call the same services as the API and show their messages.

use askama::Template;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::charts::{self, Figure, Totals};
use super::log::{self, EVENT_TYPES, EventLog, LogQuery, STATUSES};
use super::{
    CsrfForm, UiSession, ago, forbidden_form, instance_id, page, refused, session::same_token,
    status, time,
};
use crate::configuration::shown;
use crate::services::error::ServiceError;
use crate::services::{activity, events, instances};
use crate::state::AppState;

/// A poller's line.
#[derive(Debug)]
pub(super) struct PollerRow {
    resource: String,
    cursor: String,
    last_poll: String,
    last_poll_ago: String,
    next_poll: String,
    next_poll_in: String,
    events: i64,
    failures: i64,
    last_error: Option<String>,
    /// Records of the last poll whose dates had text after the pattern, with an example.
    date_warnings: i64,
    date_warning: Option<String>,
    /// The last loss of deletes at the provider, said loudly.
    deletes_lost: Option<String>,
}

/// The part of the instance page that refreshes itself: pollers and the event log.
#[derive(Debug)]
pub(super) struct Live {
    id: i64,
    events: bool,
    pollers: Vec<PollerRow>,
    /// The resources the filter offers: the pollers' and any the filter names.
    resources: Vec<String>,
    log: EventLog,
    statuses: &'static [(&'static str, &'static str)],
    event_types: &'static [(&'static str, &'static str)],
    filter_status: String,
    filter_object_type: String,
    filter_event_type: String,
    filter_from: String,
    filter_to: String,
    has_filter: bool,
    /// The filters alone as a query string (the newest page of them).
    filter_href: String,
}

#[derive(Template)]
#[template(path = "instance_live.html")]
pub(super) struct LivePart {
    live: Live,
}

#[derive(Template)]
#[template(path = "instance.html")]
struct InstancePage {
    csrf: String,
    id: i64,
    name: String,
    element: String,
    element_key: String,
    tags: Vec<String>,
    valid: bool,
    invalid_reason: Option<String>,
    disabled: bool,
    events: bool,
    notice: Option<String>,
    error: Option<String>,
    configuration: Vec<(String, String)>,
    live_query: String,
    totals: Totals,
    figures: Vec<Figure>,
    live: Live,
    /// Webhook subscriptions (webhooks instances only).
    subscriptions: Vec<tributary_store::hooks::SubscriptionRecord>,
}

/// Epoch milliseconds as the page writes times.
fn time_of(ms: &i64) -> String {
    time(*ms)
}

async fn live(
    state: &AppState,
    session: &UiSession,
    id: i64,
    events_on: bool,
    query: &LogQuery,
) -> Result<Live, ServiceError> {
    let now = state.now_ms();
    let pollers: Vec<PollerRow> = events::pollers(state, session.principal, id)
        .await?
        .into_iter()
        .map(|p| {
            let summary = p
                .last_summary
                .as_deref()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
            let summary = summary.as_ref();
            PollerRow {
                resource: p.resource,
                cursor: p.cursor_ms.map(time).unwrap_or_else(|| "not set".into()),
                last_poll: p.last_poll_ms.map(time).unwrap_or_else(|| "never".into()),
                last_poll_ago: p.last_poll_ms.map(|ms| ago(now, ms)).unwrap_or_default(),
                next_poll: time(p.next_due_ms),
                next_poll_in: if p.next_due_ms <= now {
                    "due now".into()
                } else {
                    ago(now, p.next_due_ms)
                },
                events: p.events_emitted,
                failures: p.failures,
                last_error: p.last_error,
                date_warnings: summary
                    .and_then(|s| s["dateWarnings"].as_i64())
                    .unwrap_or(0),
                date_warning: summary
                    .and_then(|s| s["warnings"][0].as_str())
                    .map(str::to_owned),
                deletes_lost: p.deletes_lost_at_ms.map(|at| {
                    format!(
                        "{} time(s); last: deletes from {} to {} lost at the provider (found {})",
                        p.deletes_lost,
                        p.deletes_lost_from_ms.map(time).unwrap_or_default(),
                        p.deletes_lost_until_ms.map(time).unwrap_or_default(),
                        time(at)
                    )
                }),
            }
        })
        .collect();
    let log = log::load(state, session, id, query).await?;
    let filter_object_type = query.get("objectType");
    let mut resources: Vec<String> = pollers.iter().map(|p| p.resource.clone()).collect();
    if !filter_object_type.is_empty() && !resources.contains(&filter_object_type) {
        resources.push(filter_object_type.clone());
    }
    Ok(Live {
        id,
        events: events_on,
        pollers,
        resources,
        log,
        statuses: &STATUSES,
        event_types: &EVENT_TYPES,
        filter_status: query.get("status").to_ascii_uppercase(),
        filter_object_type,
        filter_event_type: query.get("eventType").to_ascii_uppercase(),
        filter_from: query.get("from"),
        filter_to: query.get("to"),
        has_filter: !query.filters.is_empty(),
        filter_href: query.href(None),
    })
}

/// Renders the instance page, with what an action did (or why it did not).
pub(super) async fn render(
    state: &AppState,
    session: UiSession,
    id: i64,
    raw: Option<&str>,
    outcome: Result<Option<String>, ServiceError>,
) -> Response {
    let record = match instances::show(state, session.principal, id).await {
        Ok(record) => record,
        Err(error) => return refused(&error),
    };
    let element = state.registry.get(&record.element_key);
    let configuration = record
        .configuration
        .iter()
        .map(|entry| {
            (
                entry.key.clone(),
                shown(element.as_deref(), entry).to_owned(),
            )
        })
        .collect();
    let query = LogQuery::read(raw);
    let live = match live(state, &session, id, record.events_enabled, &query).await {
        Ok(live) => live,
        Err(error) => return refused(&error),
    };
    let recent = match activity::recent(state, session.principal, Some(id)).await {
        Ok(recent) => recent,
        Err(error) => return refused(&error),
    };
    let subscriptions =
        match crate::services::hooks::subscriptions(state, session.principal, id).await {
            Ok(subscriptions) => subscriptions,
            Err(error) => return refused(&error),
        };
    let (status, notice, error) = match outcome {
        Ok(notice) => (StatusCode::OK, notice, None),
        Err(error) => (status(&error), None, Some(error.user_message())),
    };
    page(
        status,
        &InstancePage {
            csrf: session.csrf,
            id,
            name: record.name,
            element: element
                .as_ref()
                .map(|e| e.name.clone())
                .unwrap_or_else(|| record.element_key.clone()),
            element_key: record.element_key,
            tags: record.tags,
            valid: record.valid,
            invalid_reason: record.invalid_reason,
            disabled: record.disabled,
            events: record.events_enabled,
            notice,
            error,
            configuration,
            live_query: query.current(),
            totals: charts::totals(&recent),
            figures: charts::figures(&recent, &format!("i{id}"), "of this instance"),
            live,
            subscriptions,
        },
    )
}

pub(super) async fn show(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    match instance_id(&id) {
        Ok(id) => render(&state, session, id, raw.as_deref(), Ok(None)).await,
        Err(response) => *response,
    }
}

/// The live part alone, for the page's refresh.
pub(super) async fn live_part(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let id = match instance_id(&id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let record = match instances::show(&state, session.principal, id).await {
        Ok(record) => record,
        Err(error) => return refused(&error),
    };
    let query = LogQuery::read(raw.as_deref());
    match live(&state, &session, id, record.events_enabled, &query).await {
        Ok(live) => page(StatusCode::OK, &LivePart { live }),
        Err(error) => refused(&error),
    }
}

/// The checks every action's form passes: the session's CSRF token and an instance id.
fn action(session: &UiSession, form: &CsrfForm, id: &str) -> Result<i64, Box<Response>> {
    if !same_token(&session.csrf, &form.csrf) {
        return Err(Box::new(forbidden_form()));
    }
    instance_id(id)
}

pub(super) async fn poll_now(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let id = match action(&session, &form, &id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let outcome = events::poll_now(&state, session.principal, id, events::PollNow::default())
        .await
        .map(|polls| {
            let events: u64 = polls.iter().map(|p| p.events).sum();
            let failed: Vec<String> = polls
                .iter()
                .filter_map(|p| p.error.as_ref().map(|e| format!("{}: {e}", p.resource)))
                .collect();
            let mut text = format!(
                "Polled {} resource{}: {events} new event{}.",
                polls.len(),
                if polls.len() == 1 { "" } else { "s" },
                if events == 1 { "" } else { "s" }
            );
            if !failed.is_empty() {
                text.push_str(&format!(" Failed: {}.", failed.join("; ")));
            }
            Some(text)
        });
    render(&state, session, id, None, outcome).await
}

pub(super) async fn recover(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let id = match action(&session, &form, &id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let outcome = events::recover(&state, session.principal, id, None)
        .await
        .map(|requeued| {
            Some(match requeued {
                0 => "Nothing to recover: no delivery has failed.".to_owned(),
                1 => "1 failed notification is queued again.".to_owned(),
                n => format!("{n} failed notifications are queued again."),
            })
        });
    render(&state, session, id, None, outcome).await
}

async fn switch(
    state: AppState,
    session: UiSession,
    id: String,
    form: CsrfForm,
    on: bool,
) -> Response {
    let id = match action(&session, &form, &id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let outcome = instances::set_enabled(&state, session.principal, id, on)
        .await
        .map(|_| {
            Some(if on {
                "Enabled: polling resumes from where it stopped, and waiting events are sent."
                    .to_owned()
            } else {
                "Disabled.".to_owned()
            })
        });
    render(&state, session, id, None, outcome).await
}

pub(super) async fn enable(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    switch(state, session, id, form, true).await
}

pub(super) async fn disable(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    switch(state, session, id, form, false).await
}
