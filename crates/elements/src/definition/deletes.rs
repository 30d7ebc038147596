//! How a definition says a resource's deletes are seen (data only; the client reads them with
//! [`crate::client::InstanceClient::deleted`], the server decides their events).
//!
//! Providers show deletes in four ways (`shared/research/providers.md` §7.4), each a `kind`:
//! - `separate_request` — a call of its own over a time window, with its own retention and a
//!   "history lost" signal (Salesforce's `sobjects/{X}/deleted/?start&end`). Implemented.
//! - `archived_list` — a list of archived records with no time filter, compared with the ids
//!   already reported (HubSpot's `GET …?archived=true`). Implemented.
//! - `inline` — stubs inside the records a poll reads (its change feed or its list), told
//!   apart by a field (QuickBooks' CDC `status: "Deleted"`). Implemented.
//! - `absence` — a reconciliation sweep: the resource's list read whole on a schedule of its
//!   own, ids the provider no longer lists (Keap). Implemented.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::definition::Method;

/// The ways deletes are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteKind {
    SeparateRequest,
    ArchivedList,
    Inline,
    Absence,
}

impl DeleteKind {
    pub fn name(self) -> &'static str {
        match self {
            DeleteKind::SeparateRequest => "separate_request",
            DeleteKind::ArchivedList => "archived_list",
            DeleteKind::Inline => "inline",
            DeleteKind::Absence => "absence",
        }
    }
}

/// A resource's delete detection.
///
/// For `separate_request`: the request (`method`, `path`, `query`, `headers`, templates whose
/// `{{query.lower|…}}` and `{{query.upper|…}}` are the window's start and end), and JSON
/// pointers into its answer: `records` (the deletions), and in each `id` and `date` (read with
/// the Java pattern `date_format`, UTC unless the text says otherwise); `covered` (where the
/// provider says the window really ended: the next window starts there) and `earliest` (the
/// oldest deletion it still keeps: later than the sweep's cursor means deletes were lost).
/// `lookback` is how far back the provider keeps deletes, `granularity` the unit its window
/// bounds are read in (a sweep waits until a whole unit has passed).
///
/// For `archived_list`: the request as above (its templates take `page.*`, not `query.*`),
/// paged by its own `pager`, `page_size` records a page; `records`, `id`, `date` (when it was
/// archived) and `date_format` as above.
///
/// For `inline`: `pointer` and `equals`, the test that tells a stub from a record (the value
/// at `pointer` equals `equals`); its id and deletion time are the record's id and updated
/// fields, read as the poller reads records. `after_changes = true` says the provider puts
/// every stub after every change in an answer, so an answer cut at a result cap loses stubs
/// first (the poll reports those it may have missed).
///
/// For `absence`: the sweep reads the resource's own list request, `page_size` records a page
/// (the element's `max_page_size` when unset), with `query`'s literal parameters added (a
/// field selection, where the provider has one: ids and the change date are all it needs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletesSpec {
    pub kind: DeleteKind,
    #[serde(default)]
    pub method: Method,
    pub path: Option<String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub records: Option<String>,
    pub id: Option<String>,
    pub date: Option<String>,
    pub date_format: Option<String>,
    pub covered: Option<String>,
    pub earliest: Option<String>,
    pub lookback: Option<String>,
    pub granularity: Option<String>,
    /// `archived_list`: the pager of its list.
    pub pager: Option<crate::pager::PagerSpec>,
    /// `archived_list`: records a page (`{{page.size}}`); the element's `max_page_size` when
    /// unset.
    pub page_size: Option<u32>,
    /// `inline`: a JSON pointer into a record, whose value tells a stub.
    pub pointer: Option<String>,
    /// `inline`: the value at `pointer` that makes a record a stub.
    pub equals: Option<serde_json::Value>,
    /// `inline`: stubs come after every change in an answer (so a cut answer loses them
    /// first).
    #[serde(default)]
    pub after_changes: bool,
}

impl DeletesSpec {
    /// `inline`: whether `record` is a stub.
    pub fn is_stub(&self, record: &serde_json::Value) -> bool {
        self.kind == DeleteKind::Inline
            && match (&self.pointer, &self.equals) {
                (Some(pointer), Some(expected)) => record.pointer(pointer) == Some(expected),
                _ => false,
            }
    }

    /// [`Self::is_stub`] of a record kept as text.
    pub fn is_stub_record(&self, record: &tributary_domain::record::Record) -> bool {
        self.kind == DeleteKind::Inline
            && match (&self.pointer, &self.equals) {
                (Some(pointer), Some(expected)) => {
                    record.pointer(pointer).as_ref() == Some(expected)
                }
                _ => false,
            }
    }
}

impl DeletesSpec {
    /// `lookback` in milliseconds (validated when the definition loads).
    pub fn lookback_ms(&self) -> Option<i64> {
        duration_ms(self.lookback.as_deref())
    }

    /// `granularity` in milliseconds; a second when unset.
    pub fn granularity_ms(&self) -> i64 {
        duration_ms(self.granularity.as_deref())
            .filter(|ms| *ms > 0)
            .unwrap_or(1_000)
    }
}

pub(crate) fn duration_ms(text: Option<&str>) -> Option<i64> {
    let duration = crate::signals::parse_duration(text?).ok()?;
    i64::try_from(duration.as_millis()).ok()
}
