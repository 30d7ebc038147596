//! Deletes that arrive among a poll's records as stubs (QuickBooks' CDC `{"status":
//! "Deleted", "Id", "MetaData": {"LastUpdatedTime"}}`, `shared/research/providers.md` §4.6), as
//! a pure decision: each stub is a `DELETED` event, and a span whose stubs the provider may have
//! cut is reported, never passed over in silence.
//!
//! The rules, and why:
//! - A stub's id and deletion time are read as the poller reads a record's id and updated date
//!   (the caller reads them); a stub without both is counted, never guessed at.
//! - A `DELETED` event's id derives from (instance, resource, object id, deletion time), as a
//!   delete log's do ([`crate::deletes::deleted_event_id`]): a stub read again — the overlap
//!   window, a re-windowed answer — is the same event.
//! - A span whose deletes a poll could not see (an answer cut at its cap before its stubs, a
//!   window older than the change feed reaches) is one `DELETES_LOST` event naming the span and
//!   why, with an id derived from the span, so a poll that repeats finds the same one.

use serde_json::{Value, json};

use crate::deletes::{DELETED, DELETES_LOST, DeleteEvent, deleted_event_id};
use crate::poll::{event_date, event_id};

/// One stub, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Stub {
    pub object_id: String,
    pub deleted_ms: i64,
    /// The stub as the provider sent it, carried as the event's record.
    pub entry: Value,
}

/// The `DELETED` event of each stub, in the provider's order; a stub given twice is one event.
pub fn deleted_events(instance_id: i64, resource: &str, stubs: Vec<Stub>) -> Vec<DeleteEvent> {
    let mut events: Vec<DeleteEvent> = Vec::with_capacity(stubs.len());
    for stub in stubs {
        let event_id = deleted_event_id(instance_id, resource, &stub.object_id, stub.deleted_ms);
        if events.iter().any(|e| e.event_id == event_id) {
            continue;
        }
        events.push(DeleteEvent {
            event_id,
            object_id: stub.object_id,
            event_type: DELETED,
            date_ms: stub.deleted_ms,
            record: stub.entry,
        });
    }
    events
}

/// The `DELETES_LOST` event of a span whose deletes a poll could not see, and why.
pub fn unseen_event(
    instance_id: i64,
    resource: &str,
    from_ms: i64,
    until_ms: i64,
    reason: &str,
) -> DeleteEvent {
    let (from, until) = (event_date(from_ms), event_date(until_ms));
    DeleteEvent {
        event_id: event_id(
            instance_id,
            resource,
            "",
            &format!("deletes-lost:{from_ms}:{until_ms}"),
        ),
        object_id: String::new(),
        event_type: DELETES_LOST,
        date_ms: until_ms,
        record: json!({
            "objectType": resource,
            "lostFrom": from,
            "lostUntil": until,
            "message": format!(
                "{resource} deleted between {from} and {until} may never be reported as \
                 DELETED: {reason} (resynchronize through the hub to find them)"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_860_000_000;

    fn stub(id: &str, at: i64) -> Stub {
        Stub {
            object_id: id.into(),
            deleted_ms: at,
            entry: json!({"status": "Deleted", "Id": id}),
        }
    }

    #[test]
    fn each_stub_is_one_deleted_event_with_the_id_a_delete_log_would_give() {
        let events = deleted_events(
            3,
            "invoices",
            vec![stub("979", T0), stub("980", T0 + 1_000), stub("979", T0)],
        );
        assert_eq!(events.len(), 2, "a stub read twice is one event");
        assert_eq!(events[0].event_type, DELETED);
        assert_eq!(
            events[0].event_id,
            deleted_event_id(3, "invoices", "979", T0)
        );
        assert_eq!(events[1].date_ms, T0 + 1_000);
        assert_eq!(events[1].record["Id"], "980");
    }

    #[test]
    fn an_unseen_span_is_one_deletes_lost_event_saying_why() {
        let event = unseen_event(3, "payments", T0, T0 + 60_000, "the answer was cut");
        let again = unseen_event(3, "payments", T0, T0 + 60_000, "the answer was cut");
        assert_eq!(event, again);
        assert_eq!(
            (event.event_type, event.object_id.as_str()),
            (DELETES_LOST, "")
        );
        let message = event.record["message"].as_str().unwrap();
        assert!(
            message.contains("2026-11-28T10:00:00Z and 2026-11-28T10:01:00Z")
                && message.contains("the answer was cut"),
            "{message}"
        );
    }
}
