//! An instance's event log as its page shows it: newest first, a page at a time, filtered by
//! status, resource, type and time.
//!
//! The query string is the state: `status`, `objectType`, `eventType`, `from` and `to` (the
//! form's `datetime-local` values, read as UTC, or RFC 3339) filter; `before=ID` is the page of
//! older events below row `ID`, `after=ID` the page of newer ones above it. A page asks the
//! store for one row more than it shows, to know whether another page follows.

use tributary_store::EventFilter;

use super::{UiSession, time};
use crate::services::error::ServiceError;
use crate::services::events::{self, EventQuery};
use crate::state::AppState;

/// Events on a page.
pub(super) const PAGE: i64 = 50;

/// The filters' names in the query string.
const FILTERS: [&str; 5] = ["status", "objectType", "eventType", "from", "to"];

pub(super) const STATUSES: [(&str, &str); 5] = [
    ("", "any"),
    ("NEW", "new"),
    ("QUEUED", "queued"),
    ("NOTIFIED", "notified"),
    ("FAILED", "failed"),
];

pub(super) const EVENT_TYPES: [(&str, &str); 5] = [
    ("", "any"),
    ("CREATED", "created"),
    ("UPDATED", "updated"),
    ("DELETED", "deleted"),
    ("DELETES_LOST", "deletes lost"),
];

/// An event's line.
#[derive(Debug)]
pub(super) struct EventRow {
    pub date: String,
    pub resource: String,
    pub object_id: String,
    pub event_type: String,
    pub status: String,
    pub event_id: String,
}

impl EventRow {
    /// The badge class of its status.
    pub fn tone(&self) -> &'static str {
        tone(&self.status)
    }
}

/// The badge class of an event status: the word is always shown beside it.
pub(super) fn tone(status: &str) -> &'static str {
    match status {
        "NOTIFIED" => "ok",
        "FAILED" => "bad",
        "QUEUED" => "info",
        _ => "idle",
    }
}

/// The log's query: its filters (only those with a value) and where the page is.
#[derive(Debug, Clone, Default)]
pub(super) struct LogQuery {
    pub filters: Vec<(String, String)>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl LogQuery {
    pub fn read(raw: Option<&str>) -> LogQuery {
        let params = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
            .unwrap_or_default();
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, v)| k == key && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_owned())
        };
        LogQuery {
            filters: params
                .iter()
                .filter(|(k, v)| FILTERS.contains(&k.as_str()) && !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), v.trim().to_owned()))
                .collect(),
            before: get("before"),
            after: get("after"),
        }
    }

    pub fn get(&self, key: &str) -> String {
        self.filters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The query string of these filters with `page` added (`?…`, or empty).
    pub fn href(&self, page: Option<(&str, i64)>) -> String {
        let mut params: Vec<(String, String)> = self.filters.clone();
        if let Some((key, id)) = page {
            params.push((key.to_owned(), id.to_string()));
        }
        match serde_urlencoded::to_string(&params) {
            Ok(query) if !query.is_empty() => format!("?{query}"),
            _ => String::new(),
        }
    }

    /// This query, page included, for the live refresh.
    pub fn current(&self) -> String {
        let mut query = self.clone();
        let page = match (&self.before, &self.after) {
            (Some(before), _) => before.parse().ok().map(|id| ("before", id)),
            (None, Some(after)) => after.parse().ok().map(|id| ("after", id)),
            _ => None,
        };
        query.before = None;
        query.after = None;
        query.href(page)
    }
}

/// A `datetime-local` value (`2026-11-28T10:00`, read as UTC) as RFC 3339; anything else as
/// typed, for the service to accept or name.
fn as_rfc3339(value: &str) -> String {
    let shaped = value.len() == 16
        && value.as_bytes().get(10) == Some(&b'T')
        && value.chars().filter(|c| *c == ':').count() == 1;
    if shaped {
        format!("{value}:00Z")
    } else {
        value.to_owned()
    }
}

/// One page of the log, with what the page's links need.
#[derive(Debug, Default)]
pub(super) struct EventLog {
    pub rows: Vec<EventRow>,
    /// Why the filters could not be used (the service's words).
    pub error: Option<String>,
    pub newer: Option<String>,
    pub older: Option<String>,
    /// Not the newest page: a link back to it.
    pub paged: bool,
}

pub(super) async fn load(
    state: &AppState,
    session: &UiSession,
    id: i64,
    query: &LogQuery,
) -> Result<EventLog, ServiceError> {
    let wanted = EventQuery {
        status: Some(query.get("status")),
        object_type: Some(query.get("objectType")),
        event_type: Some(query.get("eventType")),
        from: Some(as_rfc3339(&query.get("from"))),
        to: Some(as_rfc3339(&query.get("to"))),
        after: query.after.clone(),
        before: if query.after.is_some() {
            None
        } else {
            query.before.clone()
        },
        page_size: Some((PAGE + 1).to_string()),
    };
    let mut filter: EventFilter = match wanted.filter(Some(id)) {
        Ok(filter) => filter,
        Err(error) => {
            return Ok(EventLog {
                error: Some(error.user_message()),
                ..EventLog::default()
            });
        }
    };
    // Newer pages come oldest first from the row above; everything else newest first.
    let going_newer = query.after.is_some();
    filter.newest_first = !going_newer;
    let mut found = events::log(state, session.principal, &filter).await?;
    let more = found.len() as i64 > PAGE;
    found.truncate(PAGE as usize);
    if going_newer {
        found.reverse();
    }
    let (first, last) = (found.first().map(|e| e.id), found.last().map(|e| e.id));
    let (newer, older) = if going_newer {
        (
            more.then_some(first).flatten(),
            last.filter(|_| !found.is_empty()),
        )
    } else {
        (
            first.filter(|_| query.before.is_some()),
            more.then_some(last).flatten(),
        )
    };
    Ok(EventLog {
        rows: found
            .into_iter()
            .map(|e| EventRow {
                date: time(e.date_ms),
                resource: e.resource,
                object_id: e.object_id,
                event_type: e.event_type,
                status: e.status.as_str().to_owned(),
                event_id: e.event_id,
            })
            .collect(),
        error: None,
        newer: newer.map(|id| query.href(Some(("after", id)))),
        older: older.map(|id| query.href(Some(("before", id)))),
        paged: query.before.is_some() || query.after.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_keeps_filters_with_a_value_and_the_page() {
        let query = LogQuery::read(Some(
            "status=FAILED&objectType=&eventType=created&from=2026-11-28T10%3A00&before=42&x=1",
        ));
        assert_eq!(
            query.filters,
            [
                ("status".to_owned(), "FAILED".to_owned()),
                ("eventType".to_owned(), "created".to_owned()),
                ("from".to_owned(), "2026-11-28T10:00".to_owned()),
            ]
        );
        assert_eq!(query.before.as_deref(), Some("42"));
        assert_eq!(
            query.href(Some(("after", 7))),
            "?status=FAILED&eventType=created&from=2026-11-28T10%3A00&after=7"
        );
        assert_eq!(
            query.current(),
            "?status=FAILED&eventType=created&from=2026-11-28T10%3A00&before=42"
        );
        assert_eq!(LogQuery::read(None).href(None), "");
    }

    #[test]
    fn a_datetime_local_value_is_read_as_utc_and_anything_else_is_left_to_the_service() {
        assert_eq!(as_rfc3339("2026-11-28T10:00"), "2026-11-28T10:00:00Z");
        assert_eq!(as_rfc3339("2026-11-28T10:00:00Z"), "2026-11-28T10:00:00Z");
        assert_eq!(as_rfc3339("yesterday"), "yesterday");
        assert_eq!(as_rfc3339(""), "");
    }
}
