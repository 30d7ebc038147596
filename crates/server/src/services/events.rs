//! An instance's pollers and events: poll now, the pollers view, the event log, one entry of it
//! with its delivery attempts (found by any id a client holds: an event's, or a notification's
//! id or number), redelivery of one event's notification, recovery of every failed one, and
//! resuming delivery to URLs that answered 410.

use tributary_store::{
    EventFilter, EventRecord, EventStatus, NotificationView, PollerRecord, Principal, SweepRecord,
};

use crate::poller::{self, PollSummary, wanted_pollers};
use crate::secrets::random_secret;
use crate::services::error::{ProviderFailure, ServiceError};
use crate::services::instances::show;
use crate::state::AppState;

/// What "poll now" is asked to do besides polling.
#[derive(Debug, Clone, Copy, Default)]
pub struct PollNow {
    /// Run the reconciliation sweeps now (resources whose deletes show only by absence),
    /// rather than when their interval is up.
    pub sweep: bool,
}

/// Polls every enabled resource of an instance now, each under its poller's lease (as the
/// scheduler's polls are), and says what each poll did once it is stored.
pub async fn poll_now(
    state: &AppState,
    principal: Principal,
    id: i64,
    asked: PollNow,
) -> Result<Vec<PollSummary>, ServiceError> {
    let instance = show(state, principal, id).await?;
    if instance.disabled {
        return Err(ServiceError::Conflict(format!(
            "instance {id} is disabled: it polls nothing until PUT /instances/{id}/enabled"
        )));
    }
    let prepared = state.clients.prepared(&instance)?;
    let settings = &prepared.settings;
    // A webhooks instance polls too (the safety net for lost deliveries).
    if !settings.enabled {
        return Err(ServiceError::Conflict(format!(
            "instance {id} does not poll: set event.notification.enabled to true"
        )));
    }
    if !instance.valid {
        return Err(ServiceError::Provider {
            failure: ProviderFailure::Unauthorized,
            message: format!("instance {id} must be authorized again before it can poll"),
            provider: instance.invalid_reason.clone().unwrap_or_default(),
        });
    }
    let now = state.now_ms();
    state
        .store
        .sync_pollers(id, &wanted_pollers(settings, now, id), now)
        .await?;
    let client = state.clients.client(&instance)?;
    // The polls run on a task of their own: a caller that goes away (a closed socket drops
    // this future) must not abandon a poll between its claim and its commit, which would hold
    // the lease — and keep every other poll of the resource out — until the lease ends. Once
    // started, each poll finishes and releases its lease whatever the caller does.
    let state = state.clone();
    // In the request's span, so the polls' log lines carry the id of the request that asked.
    let polls = tokio::spawn(tracing::Instrument::in_current_span(
        async move {
            // Each poll takes its poller's lease, as the scheduler's do, so no resource is polled
            // twice at once (another node's scheduled poll, or another "poll now").
            let owner = format!("poll-now-{}-{}", std::process::id(), random_secret());
            let lease_ms = i64::try_from(state.settings.poll_lease.as_millis()).unwrap_or(i64::MAX);
            let mut polls = Vec::new();
            for record in state.store.pollers(id).await? {
                let claimed = state
                    .store
                    .claim_poller(id, &record.resource, &owner, state.now_ms(), lease_ms)
                    .await?;
                match claimed {
                    Some(record) => polls.push(
                        poller::poll_resource(
                            &state,
                            &(&instance).into(),
                            &client,
                            &prepared,
                            &record,
                            asked.sweep,
                        )
                        .await,
                    ),
                    None => polls.push(PollSummary {
                        resource: record.resource,
                        error: Some(
                            "being polled already (a scheduled poll or another request); its \
                         events arrive with that poll"
                                .into(),
                        ),
                        ..PollSummary::default()
                    }),
                }
            }
            Ok::<_, ServiceError>(polls)
        }, // In the request's span: the polls' log lines carry the request id that asked for them.
    ));
    polls.await.map_err(ServiceError::internal)?
}

/// An instance's pollers: cursor, next and last poll, failures, last summary.
pub async fn pollers(
    state: &AppState,
    principal: Principal,
    id: i64,
) -> Result<Vec<PollerRecord>, ServiceError> {
    show(state, principal, id).await?;
    Ok(state.store.pollers(id).await?)
}

/// The last complete reconciliation sweep of each of an instance's resources that had one
/// (resource → how many ids it remembers, and when it began).
pub async fn last_sweeps(
    state: &AppState,
    principal: Principal,
    id: i64,
) -> Result<Vec<(String, SweepRecord)>, ServiceError> {
    show(state, principal, id).await?;
    let mut sweeps = Vec::new();
    for poller in state.store.pollers(id).await? {
        if let Some(last) = state.store.last_sweep(id, &poller.resource).await? {
            sweeps.push((poller.resource, last));
        }
    }
    Ok(sweeps)
}

/// The event log's filters, as given (each checked and named when bad).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// `NEW`, `QUEUED`, `NOTIFIED` or `FAILED` (any case).
    pub status: Option<String>,
    pub object_type: Option<String>,
    /// `CREATED`, `UPDATED`, … (any case).
    pub event_type: Option<String>,
    /// RFC 3339: events stored at or after then.
    pub from: Option<String>,
    /// RFC 3339: events stored before then.
    pub to: Option<String>,
    /// A row id: the events after it (paging).
    pub after: Option<String>,
    /// A row id: the events before it (paging back through a log shown newest first).
    pub before: Option<String>,
    /// 1 to 1,000 (default 200).
    pub page_size: Option<String>,
}

/// A value given and not blank, trimmed.
pub(crate) fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub(crate) fn rfc3339(key: &str, value: &Option<String>) -> Result<Option<i64>, ServiceError> {
    given(value)
        .map(|v| {
            v.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| {
                    ServiceError::BadInput(format!(
                        "{key} must be an RFC 3339 time such as 2026-11-28T10:00:00Z, got {v:?}"
                    ))
                })
        })
        .transpose()
}

impl EventQuery {
    /// The store's filter, oldest first; `instance_id` narrows it to one instance.
    pub fn filter(&self, instance_id: Option<i64>) -> Result<EventFilter, ServiceError> {
        let number = |key: &str, value: &Option<String>, default: i64, min: i64, max: i64| {
            match given(value) {
                None => Ok(default),
                Some(v) => match v.parse::<i64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(ServiceError::BadInput(format!(
                        "{key} must be a whole number from {min} to {max}, got {v:?}"
                    ))),
                },
            }
        };
        let status = given(&self.status)
            .map(|s| {
                let status = s.to_ascii_uppercase();
                status.parse::<EventStatus>().map_err(|_| {
                    ServiceError::BadInput(format!(
                        "status must be NEW, QUEUED, NOTIFIED or FAILED, got {status:?}"
                    ))
                })
            })
            .transpose()?;
        Ok(EventFilter {
            instance_id,
            status,
            resource: given(&self.object_type),
            event_type: given(&self.event_type).map(|s| s.to_ascii_uppercase()),
            from_ms: rfc3339("from", &self.from)?,
            to_ms: rfc3339("to", &self.to)?,
            after_id: number("after", &self.after, 0, 0, i64::MAX)?,
            before_id: given(&self.before)
                .map(|_| number("before", &self.before, 0, 1, i64::MAX))
                .transpose()?,
            limit: number("pageSize", &self.page_size, 200, 1, 1000)?,
            newest_first: false,
            notification_id: None,
        })
    }
}

/// The events of one instance (`Some`) or of every instance of the organization, as the
/// filter says.
pub async fn events(
    state: &AppState,
    principal: Principal,
    instance_id: Option<i64>,
    query: &EventQuery,
) -> Result<Vec<EventRecord>, ServiceError> {
    if let Some(id) = instance_id {
        show(state, principal, id).await?;
    }
    let filter = query.filter(instance_id)?;
    log(state, principal, &filter).await
}

/// The events a filter finds (a log view may turn it newest first).
pub async fn log(
    state: &AppState,
    principal: Principal,
    filter: &EventFilter,
) -> Result<Vec<EventRecord>, ServiceError> {
    Ok(state
        .store
        .find_events(principal.organization_id, filter)
        .await?)
}

/// One delivery attempt of a notification, as the store keeps it.
pub use tributary_store::Attempt;

/// An event with the delivery attempts of its notification.
#[derive(Debug, Clone)]
pub struct EventDetail {
    pub event: EventRecord,
    pub attempts: Vec<Attempt>,
}

/// One event of the organization (of one instance, when `instance_id` is given) with its
/// notification's attempts.
pub async fn event(
    state: &AppState,
    principal: Principal,
    event_id: &str,
    instance_id: Option<i64>,
) -> Result<EventDetail, ServiceError> {
    let event = state
        .store
        .event(principal.organization_id, event_id)
        .await?
        .filter(|e| instance_id.is_none_or(|id| e.instance_id == id))
        .ok_or_else(|| ServiceError::NotFound(format!("no event {event_id:?}")))?;
    let attempts = match &event.notification_id {
        Some(notification) => state.store.attempts(notification).await?,
        None => Vec::new(),
    };
    Ok(EventDetail { event, attempts })
}

/// A notification of the event log with the events it carries and its attempts.
#[derive(Debug, Clone)]
pub struct NotificationDetail {
    pub notification: NotificationView,
    pub events: Vec<EventRecord>,
    pub attempts: Vec<Attempt>,
}

/// An entry of the event log, found by any id a client holds.
#[derive(Debug, Clone)]
pub enum LogEntry {
    /// By an event's id (`message.events[].eventId`).
    Event(EventDetail),
    /// By a notification's id (`message.eventId`, the `Elements-Webhook-Id` header) or its
    /// number (the envelope's outer `id`).
    Notification(NotificationDetail),
}

/// The event log's entry that `key` names: an event by its id, else a notification by its id
/// or number (of one instance, when `instance_id` is given).
pub async fn lookup(
    state: &AppState,
    principal: Principal,
    key: &str,
    instance_id: Option<i64>,
) -> Result<LogEntry, ServiceError> {
    match event(state, principal, key, instance_id).await {
        Ok(detail) => return Ok(LogEntry::Event(detail)),
        Err(ServiceError::NotFound(_)) => {}
        Err(other) => return Err(other),
    }
    let organization = principal.organization_id;
    let notification = state
        .store
        .find_notification(organization, key)
        .await?
        .filter(|n| instance_id.is_none_or(|id| n.instance_id == id))
        .ok_or_else(|| ServiceError::NotFound(format!("no event {key:?}")))?;
    let events = state
        .store
        .find_events(
            organization,
            &EventFilter {
                notification_id: Some(notification.id.clone()),
                // A notification carries at most 20 events.
                limit: 100,
                ..EventFilter::default()
            },
        )
        .await?;
    let attempts = state.store.attempts(&notification.id).await?;
    Ok(LogEntry::Notification(NotificationDetail {
        notification,
        events,
        attempts,
    }))
}

/// The exact bytes an event's notification sends, once it has one.
pub async fn notification_body(
    state: &AppState,
    detail: &EventDetail,
) -> Result<Option<Vec<u8>>, ServiceError> {
    match &detail.event.notification_id {
        Some(notification) => Ok(state.store.notification_body(notification).await?),
        None => Ok(None),
    }
}

/// Queues an event's notification again now, with a fresh retry schedule; returns the
/// notification's id.
pub async fn redeliver(
    state: &AppState,
    principal: Principal,
    id: i64,
    event_id: &str,
) -> Result<String, ServiceError> {
    let event = state
        .store
        .event(principal.organization_id, event_id)
        .await?
        .filter(|e| e.instance_id == id)
        .ok_or_else(|| ServiceError::NotFound(format!("no event {event_id:?} in instance {id}")))?;
    let Some(notification) = event.notification_id else {
        return Err(ServiceError::Conflict(format!(
            "event {event_id} is not in a notification yet; it will be sent without asking"
        )));
    };
    state
        .store
        .requeue_notification(&notification, state.now_ms())
        .await?;
    state.nudge_delivery();
    Ok(notification)
}

/// Queues again every failed notification of an instance made since `since` (RFC 3339;
/// default: all of them); returns how many.
pub async fn recover(
    state: &AppState,
    principal: Principal,
    id: i64,
    since: Option<&str>,
) -> Result<u64, ServiceError> {
    show(state, principal, id).await?;
    let since = match since {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|_| {
                ServiceError::BadInput(format!("since must be an RFC 3339 time, got {v:?}"))
            })?,
    };
    let requeued = state
        .store
        .requeue_failed(id, since, state.now_ms())
        .await?;
    state.nudge_delivery();
    Ok(requeued)
}

/// Delivery goes on to the instance's URLs that answered 410; returns how many were stopped.
pub async fn resume(state: &AppState, principal: Principal, id: i64) -> Result<u64, ServiceError> {
    show(state, principal, id).await?;
    let resumed = state.store.resume_callbacks(id).await?;
    state.nudge_delivery();
    Ok(resumed)
}
