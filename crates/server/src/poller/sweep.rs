//! A reconciliation sweep of one resource (issue 20): its whole list read page by page through
//! the element's own list request, compared with what the last complete sweep remembered
//! (`tributary_domain::sweep` decides; this file does the I/O). It serves two masters:
//!
//! - **Delete detection by `absence`** (Keap: a deleted record is simply no longer listed):
//!   ids remembered and no longer listed are asked for one by one, and those the provider
//!   answers 404 (or 410) for become `DELETED` events. The question guards against a list
//!   that moved while it was paged by offset — a record deleted on page 1 shifts a live one
//!   off page 2 — which would otherwise be reported deleted.
//! - **Checksum mode** (a resource without a change date): each record's content hash is
//!   compared with the remembered one; a changed hash is `UPDATED`, a new id `CREATED`.
//!
//! Only a sweep that read the list to its end and had every question answered decides
//! anything: one interrupted by a provider fault emits nothing and leaves the memory as it was
//! (the poll's own changes still commit, and the summary says why the sweep did not). Its
//! events and its memory go into the poll's one transaction.
//!
//! When: [`due`] once per `TRIBUTARY_SWEEP_INTERVAL` after the last complete sweep (the first
//! one interval after events were enabled), or when "poll now" asks; [`run`] loads the memory
//! and what the polls reported since the last sweep, and sweeps. A resource in checksum mode
//! sweeps at every poll (`super::checksum`).
//!
//! Cost: `ceil(records / page size)` list requests (Keap: 1,000 a page, so 100 for 100,000
//! records), plus one request per id missing from the list, at most [`MAX_CHECKED`] a sweep.

use std::collections::BTreeSet;

use serde::Serialize;
use tributary_domain::poll::CompiledPoller;
use tributary_domain::sweep::{self, CREATED, DELETED, MAX_REMEMBERED, Memory, UPDATED};
use tributary_elements::Resource;
use tributary_elements::client::{InstanceClient, ProviderError};
use tributary_elements::definition::deletes::{DeleteKind, DeletesSpec};
use tributary_elements::pager::Position;
use tributary_elements::query::Translated;
use tributary_store::{NewEvent, PollerRecord, SweepCommit};

use crate::state::AppState;

/// Missing ids asked for one by one in a sweep at most; the rest stay remembered and are asked
/// for by the next sweep (a mass delete is reported over several sweeps, never lost).
pub const MAX_CHECKED: usize = 1_000;

/// What a sweep did, in the poll's summary.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepSummary {
    /// Distinct records listed.
    pub records: usize,
    /// List requests.
    pub pages: u32,
    /// The first sweep of the resource: it remembered what it listed and reported nothing.
    pub seeded: bool,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Ids missing from the list that were asked for one by one.
    pub checked: usize,
    /// Ids missing from the list but still at the provider, or not asked for yet: kept.
    pub kept: usize,
    /// Records without a readable id.
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable: usize,
    /// Why the sweep decided nothing (a provider fault, a list too long to remember).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A sweep's outcome: its events and memory to commit with the poll (none when it failed).
#[derive(Debug, Default)]
pub struct Swept {
    pub events: Vec<NewEvent>,
    pub commit: Option<SweepCommit>,
    pub summary: SweepSummary,
}

impl Swept {
    fn failed(mut summary: SweepSummary, error: String) -> Swept {
        summary.error = Some(error);
        Swept {
            summary,
            ..Swept::default()
        }
    }
}

/// What a sweep reads and compares with.
pub struct Plan<'a> {
    pub compiled: &'a CompiledPoller,
    pub resource: &'a Resource,
    /// The element's `absence` spec, when the resource's deletes are seen this way (its page
    /// size and literal query parameters).
    pub spec: Option<&'a DeletesSpec>,
    /// Whether ids gone become `DELETED` events (the resource's `detectDeletes`); otherwise
    /// they are forgotten silently.
    pub deletes: bool,
    /// The last complete sweep's memory, `None` before the first.
    pub memory: Option<Memory>,
    /// What the polls reported since the last sweep began (id → change date): asked about
    /// too when no longer listed.
    pub recent: Memory,
    pub instance_id: i64,
    /// The sweep's moment on the provider's clock: the date of its events.
    pub provider_now_ms: i64,
    /// The sweep's moment on Tributary's clock.
    pub now_ms: i64,
}

/// Sweeps `plan.resource`: reads its list whole, asks for the missing ids, and decides.
pub async fn sweep(client: &InstanceClient, plan: Plan<'_>) -> Swept {
    let config = &plan.compiled.config;
    let checksum = config.checksum;
    let element = client.element();
    let page_size = plan
        .spec
        .and_then(|spec| spec.page_size)
        .or(config.page_size)
        .unwrap_or(element.api.max_page_size);
    let query = Translated {
        params: plan
            .spec
            .map(|spec| {
                spec.query
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        ..Translated::default()
    };
    let mut summary = SweepSummary {
        seeded: plan.memory.is_none(),
        ..SweepSummary::default()
    };
    let mut listing = sweep::Sweep::new(plan.memory.as_ref(), checksum);
    if plan.deletes {
        listing = listing.with_recent(plan.recent);
    } else {
        listing = listing.without_deletes();
    }
    let mut at = Position::Start;
    loop {
        let page = match client.list(plan.resource, &query, &at, page_size).await {
            Ok(page) => page,
            // Interrupted: a part of the list says nothing about what is gone.
            Err(error) => return Swept::failed(summary, format!("{error}; nothing was decided")),
        };
        summary.pages += 1;
        for record in page.records {
            listing.add(plan.compiled, record);
        }
        if listing.len() > MAX_REMEMBERED {
            return Swept::failed(
                summary,
                format!(
                    "the list holds more than {MAX_REMEMBERED} records, more than a sweep \
                     remembers; nothing was decided"
                ),
            );
        }
        match page.next {
            Some(next) => at = next,
            None => break,
        }
    }
    summary.records = listing.len();
    summary.unreadable = listing.unreadable;
    let mut gone = BTreeSet::new();
    for id in listing.missing().into_iter().take(MAX_CHECKED) {
        summary.checked += 1;
        match client.get(plan.resource, &id).await {
            // Still there: the list moved while it was paged.
            Ok(_) => {}
            Err(ProviderError::Rejected {
                status: 404 | 410, ..
            }) => {
                gone.insert(id);
            }
            // An id the definition cannot ask for stays remembered; it is counted as kept.
            Err(ProviderError::Unsent(_)) => {}
            Err(error) => return Swept::failed(summary, format!("{error}; nothing was decided")),
        }
    }
    let outcome = listing.finish(
        plan.instance_id,
        &plan.resource.name,
        &config.id_field,
        &gone,
        plan.provider_now_ms,
    );
    summary.kept = outcome.kept_missing;
    let count = |kind: &str| {
        outcome
            .events
            .iter()
            .filter(|e| e.event_type == kind)
            .count()
    };
    summary.created = count(CREATED);
    summary.updated = count(UPDATED);
    summary.deleted = count(DELETED);
    let events = outcome
        .events
        .into_iter()
        .map(|event| NewEvent {
            event_id: event.event_id,
            object_id: event.object_id,
            event_type: event.event_type.to_owned(),
            date_ms: event.date_ms,
            poll_date_ms: plan.now_ms,
            date_error: None,
            record: event.record.to_string(),
        })
        .collect();
    Swept {
        events,
        commit: Some(SweepCommit {
            records: i64::try_from(outcome.memory.len()).unwrap_or(i64::MAX),
            memory: sweep::memory_to_json(&outcome.memory),
            swept_ms: plan.now_ms,
        }),
        summary,
    }
}

/// Whether a resource's absence sweep is due: asked for, or one sweep interval after the last
/// complete one (the first, which only remembers, one interval after events were enabled).
pub(super) fn due(state: &AppState, poller: &PollerRecord, now: i64, force: bool) -> bool {
    if force {
        return true;
    }
    let interval = i64::try_from(state.settings.sweep_interval.as_millis()).unwrap_or(i64::MAX);
    // The last sweep's moment came with the poller's row (read at its claim, which a sweep's
    // commit, guarded by the row's version, cannot have passed since).
    let from = poller.swept_ms.unwrap_or(poller.enabled_ms);
    from.saturating_add(interval) <= now
}

/// Runs a sweep of `resource` against its stored memory. `Err` only when the store fails; a
/// provider fault is in the sweep's summary, with nothing to commit.
#[allow(clippy::too_many_arguments)] // the sweep's context, passed explicitly as the poll's is
pub(super) async fn run(
    state: &AppState,
    instance_id: i64,
    client: &InstanceClient,
    compiled: &CompiledPoller,
    resource: &Resource,
    poller: &PollerRecord,
    provider_now_ms: i64,
    now: i64,
) -> Result<Swept, String> {
    let memory = state
        .store
        .sweep_memory(instance_id, &poller.resource)
        .await
        .map_err(|e| format!("could not read the sweep's memory: {e}"))?
        .and_then(|text| sweep::memory_from_json(&text));
    let element = client.element();
    let spec = element
        .deletes_of(resource)
        .filter(|spec| spec.kind == DeleteKind::Absence);
    let deletes = compiled.config.detect_deletes && spec.is_some();
    // What the polls reported since the last sweep began (since events were enabled, before
    // the first): asked about too when no longer listed. Checksum sweeps report their own.
    let recent = if deletes && !compiled.config.checksum {
        let since = match memory {
            Some(_) => state
                .store
                .last_sweep(instance_id, &poller.resource)
                .await
                .map_err(|e| format!("could not read the last sweep: {e}"))?
                .map_or(poller.enabled_ms, |last| last.swept_ms),
            None => poller.enabled_ms,
        };
        state
            .store
            .reported_since(instance_id, &poller.resource, since)
            .await
            .map_err(|e| format!("could not read what the polls reported: {e}"))?
            .into_iter()
            .map(|(id, date_ms)| (id, date_ms.to_string()))
            .collect()
    } else {
        Default::default()
    };
    Ok(sweep(
        client,
        Plan {
            compiled,
            resource,
            spec,
            deletes,
            memory,
            recent,
            instance_id,
            provider_now_ms,
            now_ms: now,
        },
    )
    .await)
}

/// The event id a reconciliation sweep would give the deletion of `object_id` now, or `None`
/// when its deletion is told already: from the token the sweep's memory holds, or else the
/// change date last reported (by a poll or a hook) — the candidates' order of
/// [`sweep::Sweep`]. A deletion a webhook reports takes this id, so the sweep that later finds
/// the id gone stores nothing new. A record neither remembered nor reported is one no sweep
/// would report; its id is its own.
pub async fn deletion_event_id(
    state: &AppState,
    instance_id: i64,
    resource: &str,
    object_id: &str,
) -> Result<Option<String>, String> {
    let reports = state
        .store
        .object_reports(instance_id, resource, object_id)
        .await
        .map_err(|e| format!("could not read the object's events: {e}"))?;
    if reports.deletion_told() {
        return Ok(None);
    }
    let memory = state
        .store
        .sweep_memory(instance_id, resource)
        .await
        .map_err(|e| format!("could not read the sweep's memory: {e}"))?
        .and_then(|text| sweep::memory_from_json(&text));
    let token = match memory.as_ref().and_then(|m| m.get(object_id)) {
        Some(token) => token.clone(),
        None => reports
            .last_date_ms
            .map_or_else(|| "unreported".to_owned(), |ms| ms.to_string()),
    };
    Ok(Some(tributary_domain::poll::event_id(
        instance_id,
        resource,
        object_id,
        &format!("absent:{token}"),
    )))
}
