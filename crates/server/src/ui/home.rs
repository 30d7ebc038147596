//! The home page: the organization's last two days at a glance (key figures and the plots of
//! every instance summed), each provider app's quota as the scheduler plans it (a line per
//! app: allowed and projected requests a minute, the stretch of its intervals), and the
//! instances, searchable by name or tag.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::charts::{self, Figure, Totals};
use super::{UiSession, ago, failed, page, time};
use crate::services::analytics::{self, AnalyticsQuery};
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
    /// Events stored in the last 48 hours, and how many of them failed delivery.
    events_48h: i64,
    failed_48h: i64,
}

/// One provider app's quota as the scheduler plans it, in words.
struct QuotaLine {
    element: String,
    app: String,
    allowed: String,
    projected: String,
    stretch: String,
    stretched: bool,
    used: u64,
    pollers: usize,
    busy: usize,
}

/// An element in use.
struct App {
    element: String,
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
    quotas: Vec<QuotaLine>,
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
    let per_instance = match last_two_days(&state, &session, now).await {
        Ok(counts) => counts,
        Err(error) => return failed(error),
    };
    let query = search.q.trim().to_owned();
    let needle = query.to_lowercase();
    let mut rows = Vec::new();
    let mut apps: Vec<App> = Vec::new();
    let mut attention = 0;
    for record in &records {
        let element = state
            .registry
            .get(&record.element_key)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| record.element_key.clone());
        match apps.iter_mut().find(|a| a.element == element) {
            Some(app) => app.instances += 1,
            None => apps.push(App {
                element: element.clone(),
                instances: 1,
            }),
        }
        let pollers = match events::pollers(&state, session.principal, record.id).await {
            Ok(pollers) => pollers,
            Err(error) => return failed(error),
        };
        let failures: i64 = pollers.iter().map(|p| p.failures).sum();
        let (events_48h, failed_48h) = per_instance
            .iter()
            .find(|(id, _, _)| *id == record.id)
            .map(|(_, events, failed)| (*events, *failed))
            .unwrap_or((0, 0));
        if !record.valid || failures > 0 || failed_48h > 0 {
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
            events_48h,
            failed_48h,
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
            quotas: quota_lines(&state, now),
        },
    )
}

/// Every provider app's quota this process's scheduler has seen, for the quotas section.
fn quota_lines(state: &AppState, now: i64) -> Vec<QuotaLine> {
    let figure = |value: f64| format!("{value:.0}");
    state
        .quotas
        .snapshot(now)
        .into_iter()
        .map(|q| QuotaLine {
            element: state
                .registry
                .get(&q.element)
                .map(|e| e.name.clone())
                .unwrap_or_else(|| q.element.clone()),
            app: q.app,
            allowed: figure(q.allowed_per_minute),
            projected: figure(q.projected_per_minute),
            stretch: format!("{:.2}", q.stretch),
            stretched: q.stretch > 1.0,
            used: q.used_last_minute,
            pollers: q.pollers,
            busy: q.busy_pollers,
        })
        .collect()
}

/// Each instance's events of the last 48 hours and how many of them failed delivery:
/// `(instance, events, failed)`.
async fn last_two_days(
    state: &AppState,
    session: &UiSession,
    now: i64,
) -> Result<Vec<(i64, i64, i64)>, crate::services::error::ServiceError> {
    let at = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    let query = AnalyticsQuery {
        from: Some(at(now - activity::HOURS as i64 * activity::HOUR_MS)),
        to: Some(at(now)),
        interval: Some("hour".into()),
        account_ids: Vec::new(),
    };
    let counts = analytics::analytics(state, session.principal, None, &query).await?;
    let mut per_instance: Vec<(i64, i64, i64)> = Vec::new();
    for count in counts.counts {
        match per_instance
            .iter_mut()
            .find(|(id, _, _)| *id == count.instance_id)
        {
            Some(entry) => {
                entry.1 += count.count;
                entry.2 += count.failed;
            }
            None => per_instance.push((count.instance_id, count.count, count.failed)),
        }
    }
    Ok(per_instance)
}
