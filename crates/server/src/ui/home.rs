//! The home page: the organization's last two days at a glance (key figures and the plots of
//! every instance summed), the place the provider apps' quotas will take, and the instances,
//! searchable by name or tag.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tributary_domain::instance_config::OAUTH_API_KEY;
use tributary_store::StoredValue;

use super::charts::{self, Figure, Totals};
use super::{UiSession, ago, failed, page, time};
use crate::services::{activity, events, instances};
use crate::state::AppState;

/// One line of the instances table.
struct InstanceRow {
    id: i64,
    name: String,
    element: String,
    tags: Vec<String>,
    valid: bool,
    invalid_reason: Option<String>,
    disabled: bool,
    events: bool,
    resources: usize,
    last_poll: Option<(String, String)>,
    failures: i64,
}

/// A provider app (an element and a client id) whose quota the scheduler will report.
struct App {
    element: String,
    client_id: String,
    instances: usize,
}

#[derive(Template)]
#[template(path = "instances.html")]
struct Home {
    csrf: String,
    query: String,
    rows: Vec<InstanceRow>,
    total: usize,
    attention: usize,
    totals: Totals,
    figures: Vec<Figure>,
    apps: Vec<App>,
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(super) async fn show(
    State(state): State<AppState>,
    session: Option<UiSession>,
    Query(search): Query<SearchQuery>,
) -> Response {
    let Some(session) = session else {
        return Redirect::to("/sign-in").into_response();
    };
    let records = match instances::list(
        &state,
        session.principal,
        &instances::ListInstances::default(),
    )
    .await
    {
        Ok(records) => records,
        Err(error) => return failed(error),
    };
    let recent = match activity::recent(&state, session.principal, None).await {
        Ok(recent) => recent,
        Err(error) => return failed(error),
    };
    let now = state.now_ms();
    let query = search.q.trim().to_owned();
    let needle = query.to_lowercase();
    let mut rows = Vec::new();
    let mut apps: Vec<App> = Vec::new();
    let mut attention = 0;
    for record in &records {
        let element = state
            .registry
            .get(&record.element_key)
            .map(|e| format!("{} ({})", e.name, e.key))
            .unwrap_or_else(|| record.element_key.clone());
        if let Some(StoredValue::Plain(client_id)) = record.entry(OAUTH_API_KEY).map(|e| &e.value) {
            match apps
                .iter_mut()
                .find(|a| a.element == element && a.client_id == *client_id)
            {
                Some(app) => app.instances += 1,
                None => apps.push(App {
                    element: element.clone(),
                    client_id: client_id.clone(),
                    instances: 1,
                }),
            }
        }
        let pollers = match events::pollers(&state, session.principal, record.id).await {
            Ok(pollers) => pollers,
            Err(error) => return failed(error),
        };
        let failures: i64 = pollers.iter().map(|p| p.failures).sum();
        if !record.valid || failures > 0 {
            attention += 1;
        }
        let matches = needle.is_empty()
            || record.name.to_lowercase().contains(&needle)
            || record
                .tags
                .iter()
                .any(|tag| tag.to_lowercase().contains(&needle));
        if !matches {
            continue;
        }
        let last_poll = pollers.iter().filter_map(|p| p.last_poll_ms).max();
        rows.push(InstanceRow {
            id: record.id,
            name: record.name.clone(),
            element,
            tags: record.tags.clone(),
            valid: record.valid,
            invalid_reason: record.invalid_reason.clone(),
            disabled: record.disabled,
            events: record.events_enabled,
            resources: pollers.len(),
            last_poll: last_poll.map(|ms| (ago(now, ms), time(ms))),
            failures,
        });
    }
    page(
        StatusCode::OK,
        &Home {
            csrf: session.csrf,
            query,
            rows,
            total: records.len(),
            attention,
            totals: charts::totals(&recent),
            figures: charts::figures(&recent, "home", "of every instance"),
            apps,
        },
    )
}
