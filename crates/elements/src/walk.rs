//! A poll's read of one resource's changes in a window, page by page, as the element's
//! definition says: which request (the list, or the change feed), how far (its settle time),
//! what to do at a result cap, and which records are delete stubs.
//!
//! - **The request.** A resource with a change feed (`api.changes`: QuickBooks' CDC) is read
//!   through it, the list otherwise. A feed's request takes only the updated field's bounds, so
//!   every other part of the poller URL's `where` is evaluated by Tributary. A feed that reaches
//!   back only so far (`lookback`) is not asked for older changes: a window starting earlier is
//!   read through the list up to a cutover an hour inside the look-back, then through the feed
//!   — and the walk says so (a note, and where stubs are the only sign of deletes, the span
//!   whose deletes it cannot see).
//! - **Settle.** A request with a `settle` time (a search index's lag) is asked only for
//!   changes up to the provider's now minus it; the poll's overlap re-reads what was late.
//! - **The cap** (`pager.max_results`, `on_cap = "rewindow"`). A query that has read that many
//!   records while the provider has more (or, for a feed without paging, an answer that full)
//!   is asked again from the last updated date it read — re-windowed:
//!   - with a `tie_field`, first the records *at* that date alone (`updated = t`), ordered by
//!     the tie field and re-windowed after the last one read (`tie > id`) as often as needed,
//!     then the rest from after it (`updated > t`). 12,000 records sharing one modified time
//!     are read once each, whatever order the provider gives ties;
//!   - without one, from that date on (`updated >= t`). That moves on while fewer than the cap
//!     share one date (QuickBooks' CDC, whose dates have one-second resolution and whose budget
//!     allows no more than 300 writes a second); when a whole answer shares the date it
//!     started from, the walk stops with an error that says so rather than loop.
//!
//!   Records read twice across re-windows are the same changes: the poll's dedupe memory and
//!   event ids keep one of each. A provider that puts delete stubs after every change of an
//!   answer (`after_changes`) cuts stubs first: when a cut answer held none, the span from the
//!   query's start to where it re-windows is reported as one whose deletes may be lost.
//! - **Stubs** (`inline` delete detection): records the definition's test marks as deletes are
//!   set apart from the changes, never filtered by the `where` (a stub has no other fields).
//!
//! The walk decides nothing about events: the poller gives the records to
//! `tributary_domain::poll::decide` and the stubs to its delete decision, and commits both in
//! one transaction.

use std::collections::VecDeque;

use serde_json::Value;
use tributary_domain::ceql::{CompareOp, Expr, Field, Literal};
use tributary_domain::dates::{DateFormatter, DatePattern, Zone};
use tributary_domain::record::Record;

use crate::client::{Feed, InstanceClient, ProviderError};
use crate::definition::deletes::{DeleteKind, DeletesSpec};
use crate::definition::{Element, ListRequest, Resource};
use crate::pager::{PagerKind, Position};
use crate::query::{self, QueryError, Translated};

/// How far inside a change feed's look-back a cutover is put, so that a provider clock a
/// little ahead of ours does not refuse the feed's start.
pub const LOOKBACK_MARGIN_MS: i64 = 3_600_000;

/// Why a walk stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("url: {0}")]
    Query(#[from] QueryError),
    /// A result cap the walk cannot get past (every record of a full answer shares the date it
    /// started from, and no tie field tells them apart), or dates it cannot read to re-window.
    #[error("{0}")]
    Cap(String),
}

/// A span whose deletes the walk could not see, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseen {
    pub from_ms: i64,
    pub until_ms: i64,
    pub reason: String,
}

/// One page of a walk: the changes (the `where`'s local parts applied), as the JSON text
/// events store, and the delete stubs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WalkPage {
    pub records: Vec<Record>,
    pub stubs: Vec<Value>,
}

/// Where a query starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lower {
    /// The window's start: sent when the walk owns the bounds (the URL's `where` has none).
    Window(i64),
    /// A re-window's start, inclusive: always sent.
    From(i64),
    /// A re-window's start after the ties of `t` were read: `updated > t`.
    After(i64),
}

impl Lower {
    fn ms(self) -> i64 {
        match self {
            Lower::Window(ms) | Lower::From(ms) | Lower::After(ms) => ms,
        }
    }
}

/// A part of the window read through one request.
#[derive(Debug, Clone, Copy)]
struct Segment {
    feed: Feed,
    lower_ms: i64,
    upper_ms: Option<i64>,
}

/// The records at one updated date, read on their own (`tie_field`).
#[derive(Debug, Clone)]
struct Ties {
    at_ms: i64,
    after: Option<String>,
}

/// One query: a request, its bounds, where its pages are.
#[derive(Debug)]
struct Query {
    feed: Feed,
    lower: Lower,
    upper_ms: Option<i64>,
    ties: Option<Ties>,
    translated: Translated,
    at: Position,
    /// Records (stubs included) this query has read.
    read: u64,
    /// The latest updated date among its changes, and among its stubs.
    last_ms: Option<i64>,
    last_stub_ms: Option<i64>,
    /// The tie field of the last record read.
    last_tie: Option<String>,
}

/// A poll's read of one resource's changes (see the module docs).
pub struct Walk<'a> {
    element: &'a Element,
    resource: &'a Resource,
    /// The poller URL's `where`, in its top-level parts.
    parts: Vec<Expr>,
    order_by: Option<String>,
    /// The walk sends the window's lower bound itself (the URL's `where` has none).
    owns_bounds: bool,
    updated: Option<DatePattern>,
    inline: Option<&'a DeletesSpec>,
    segments: VecDeque<Segment>,
    query: Option<Query>,
    rewindows: u32,
    notes: Vec<String>,
    unseen: Vec<Unseen>,
}

impl std::fmt::Debug for Walk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("resource", &self.resource.name)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

fn field(name: &str) -> Field {
    Field {
        name: name.to_owned(),
        quoted: false,
    }
}

fn date_literal(ms: i64) -> Literal {
    Literal::String(DateFormatter::IsoUtcMillis.format(ms).into_text())
}

impl<'a> Walk<'a> {
    /// A walk of `resource` from `since_ms` (the window's start, provider time) at the
    /// provider's `now_ms`, for a poller URL whose query string gave `params` and whose
    /// configuration reads `updated_field`.
    pub fn new(
        element: &'a Element,
        resource: &'a Resource,
        params: &[(String, String)],
        updated_field: &str,
        since_ms: i64,
        now_ms: i64,
    ) -> Result<Walk<'a>, QueryError> {
        let (clause, order_by) = query::read_params(params)?;
        // Translated once now, so that a bad `where` is refused before any request.
        let base = query::translate(element, resource, clause.as_ref(), order_by)
            .map_err(|e| QueryError(format!("where: {e}")))?;
        let own_field = resource.updated_field.as_deref() == Some(updated_field)
            && element.bounds_updated_field(resource);
        let owns_bounds = own_field && !base.lower_bounded;
        let parts = match clause {
            None => Vec::new(),
            Some(Expr::And(parts)) => parts,
            Some(other) => vec![other],
        };
        let feed = if element.changes_request(resource).is_some() {
            Feed::Changes
        } else {
            Feed::List
        };
        let request = request_of(element, resource, feed);
        let settle = request.map_or(0, ListRequest::settle_ms);
        let upper_ms =
            (own_field && settle > 0 && base.vars.upper_ms.is_none()).then(|| now_ms - settle);
        let inline = element
            .deletes_of(resource)
            .filter(|spec| spec.kind == DeleteKind::Inline);
        let mut walk = Walk {
            element,
            resource,
            parts,
            order_by: order_by.map(str::to_owned),
            owns_bounds,
            updated: resource
                .date_format
                .as_deref()
                .and_then(|f| DatePattern::compile(f).ok()),
            inline,
            segments: VecDeque::new(),
            query: None,
            rewindows: 0,
            notes: Vec::new(),
            unseen: Vec::new(),
        };
        let lookback = request.and_then(ListRequest::lookback_ms);
        match lookback {
            Some(lookback)
                if feed == Feed::Changes && owns_bounds && since_ms < now_ms - lookback =>
            {
                let cutover = now_ms - lookback + LOOKBACK_MARGIN_MS;
                let span = format!(
                    "{} to {}",
                    tributary_domain::poll::event_date(since_ms),
                    tributary_domain::poll::event_date(cutover)
                );
                walk.notes.push(format!(
                    "the change feed reaches back {} h only: changes from {span} were read \
                     through the list instead",
                    lookback / 3_600_000
                ));
                if inline.is_some() {
                    walk.unseen.push(Unseen {
                        from_ms: since_ms,
                        until_ms: cutover,
                        reason: format!(
                            "the provider's change feed, its only record of deletes, reaches \
                             back {} h only",
                            lookback / 3_600_000
                        ),
                    });
                }
                walk.segments.push_back(Segment {
                    feed: Feed::List,
                    lower_ms: since_ms,
                    upper_ms: Some(cutover),
                });
                walk.segments.push_back(Segment {
                    feed: Feed::Changes,
                    lower_ms: cutover,
                    upper_ms,
                });
            }
            _ => walk.segments.push_back(Segment {
                feed,
                lower_ms: since_ms,
                upper_ms,
            }),
        }
        Ok(walk)
    }

    /// Whether the walk added the change filter (a lower bound on the updated field) to a
    /// `where` without one.
    pub fn added_change_filter(&self) -> bool {
        self.owns_bounds
    }

    /// How many times the walk re-windowed at a result cap.
    pub fn rewindows(&self) -> u32 {
        self.rewindows
    }

    /// What the walk did that a user should know (a feed's look-back passed).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Spans whose deletes the walk could not see.
    pub fn unseen(&self) -> &[Unseen] {
        &self.unseen
    }

    /// The next page, or `None` when the window is read.
    pub async fn next(
        &mut self,
        client: &InstanceClient,
        page_size: u32,
    ) -> Result<Option<WalkPage>, WalkError> {
        let query = match self.query.take() {
            Some(query) => query,
            None => {
                let Some(segment) = self.segments.pop_front() else {
                    return Ok(None);
                };
                self.start(
                    segment.feed,
                    Lower::Window(segment.lower_ms),
                    segment.upper_ms,
                    None,
                )?
            }
        };
        let page = client
            .page_records(
                query.feed,
                self.resource,
                &query.translated,
                &query.at,
                page_size,
            )
            .await?;
        let mut query = query;
        let mut out = WalkPage::default();
        // The last dates read serve only a re-window at the cap: a walk without a cap does not
        // read them (a backfill's every record, otherwise).
        let capped_request = self.request(query.feed).pager.cap().is_some();
        for record in page.records {
            let updated = if capped_request {
                self.updated_ms(&record)
            } else {
                None
            };
            if self.inline.is_some_and(|spec| spec.is_stub_record(&record)) {
                query.last_stub_ms = query.last_stub_ms.max(updated);
                out.stubs.push(record.to_value());
            } else {
                query.last_ms = query.last_ms.max(updated);
                if let Some(tie) = self.tie_field(query.feed) {
                    query.last_tie = record.field_text(tie);
                }
                // A `where` part evaluated here reads the whole record; most have none.
                if query.translated.local.is_empty() || query.translated.keeps(&record.to_value()) {
                    out.records.push(record);
                }
            }
            query.read += 1;
        }
        let pager = &self.request(query.feed).pager;
        let capped = pager.cap().is_some_and(|cap| {
            query.read >= cap && (page.next.is_some() || pager.kind == PagerKind::None)
        });
        if capped {
            self.query = Some(self.rewindow(query)?);
        } else if let Some(next) = page.next {
            query.at = next;
            self.query = Some(query);
        } else if let Some(ties) = &query.ties {
            // The records at this date are read: on from after it.
            self.query =
                Some(self.start(query.feed, Lower::After(ties.at_ms), query.upper_ms, None)?);
        }
        Ok(Some(out))
    }

    fn request(&self, feed: Feed) -> &'a ListRequest {
        request_of(self.element, self.resource, feed).unwrap_or(&self.element.api.list)
    }

    fn tie_field(&self, feed: Feed) -> Option<&'a str> {
        self.request(feed).pager.tie_field.as_deref()
    }

    /// A record's updated date, as the definition writes it.
    fn updated_ms(&self, record: &Record) -> Option<i64> {
        let text = record.field(self.resource.updated_field.as_deref()?)?;
        self.updated.as_ref()?.parse(&text, &Zone::utc()).ok()
    }

    /// A query of `feed` from `lower`: the URL's parts, the bounds, the ties' own parts, and
    /// the order a cap needs.
    fn start(
        &self,
        feed: Feed,
        lower: Lower,
        upper_ms: Option<i64>,
        ties: Option<Ties>,
    ) -> Result<Query, WalkError> {
        let updated = self.resource.updated_field.clone().unwrap_or_default();
        let mut parts = self.parts.clone();
        let compare = |op: CompareOp, value: Literal| Expr::Compare {
            field: field(&updated),
            op,
            value,
        };
        let request = self.request(feed);
        let capped = request.pager.cap().is_some();
        let mut order = self.order_by.clone();
        match &ties {
            Some(ties) => {
                parts.push(compare(CompareOp::Eq, date_literal(ties.at_ms)));
                let tie = self.tie_field(feed).unwrap_or_default();
                if let Some(after) = &ties.after {
                    let value = after
                        .parse::<i64>()
                        .map(|n| Literal::Number(n.into()))
                        .unwrap_or_else(|_| Literal::String(after.clone()));
                    parts.push(Expr::Compare {
                        field: field(tie),
                        op: CompareOp::Gt,
                        value,
                    });
                }
                order = Some(tie.to_owned());
            }
            None => {
                match lower {
                    Lower::Window(ms) if self.owns_bounds => {
                        parts.push(compare(CompareOp::Ge, date_literal(ms)));
                    }
                    Lower::Window(_) => {}
                    Lower::From(ms) => parts.push(compare(CompareOp::Ge, date_literal(ms))),
                    Lower::After(ms) => parts.push(compare(CompareOp::Gt, date_literal(ms))),
                }
                if let Some(upper) = upper_ms {
                    parts.push(compare(CompareOp::Le, date_literal(upper)));
                }
                // A capped list is re-windowed from its last date: it must come in date order.
                // (A change feed comes in the provider's own order.)
                if capped && feed == Feed::List {
                    order = Some(updated.clone());
                }
            }
        }
        let clause = match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Expr::And(parts)),
        };
        let translated = query::translate_for(
            self.element,
            self.resource,
            clause.as_ref(),
            order.as_deref(),
            feed == Feed::Changes,
        )
        .map_err(|e| QueryError(format!("where: {e}")))?;
        Ok(Query {
            feed,
            lower,
            upper_ms,
            ties,
            translated,
            at: Position::Start,
            read: 0,
            last_ms: None,
            last_stub_ms: None,
            last_tie: None,
        })
    }

    /// The query after `query` met the cap (see the module docs).
    fn rewindow(&mut self, query: Query) -> Result<Query, WalkError> {
        self.rewindows += 1;
        let name = &self.resource.name;
        let unreadable = || {
            WalkError::Cap(format!(
                "{name}: the provider stopped at its result cap, and the updated dates of the \
                 records read cannot be read to ask for the rest"
            ))
        };
        if self.tie_field(query.feed).is_some() {
            let ties = match &query.ties {
                None => Ties {
                    at_ms: query.last_ms.ok_or_else(unreadable)?,
                    after: None,
                },
                Some(ties) => {
                    if query.last_tie.is_none() || query.last_tie == ties.after {
                        return Err(WalkError::Cap(format!(
                            "{name}: the provider stopped at its result cap among records \
                             sharing one updated date, and their tie field did not move"
                        )));
                    }
                    Ties {
                        at_ms: ties.at_ms,
                        after: query.last_tie.clone(),
                    }
                }
            };
            return self.start(query.feed, query.lower, query.upper_ms, Some(ties));
        }
        // Stubs after every change: when some came, every change did, and stubs are whole up
        // to the last one; when none came, they may have been cut anywhere after the start.
        let stubs_last = self.inline.is_some_and(|spec| spec.after_changes);
        let from = match (stubs_last, query.last_stub_ms) {
            (true, Some(stub)) => stub,
            _ => query
                .last_ms
                .max(query.last_stub_ms)
                .ok_or_else(unreadable)?,
        };
        if from <= query.lower.ms() {
            return Err(WalkError::Cap(format!(
                "{name}: more than {} changes share the updated date {}, and the provider \
                 cannot be asked for the rest",
                query.read,
                tributary_domain::poll::event_date(from)
            )));
        }
        if stubs_last && query.last_stub_ms.is_none() {
            self.unseen.push(Unseen {
                from_ms: query.lower.ms(),
                until_ms: from,
                reason: format!(
                    "the provider's answer stopped at its cap of {} objects and lists deletes \
                     after changes, so deletes in this span were cut",
                    query.read
                ),
            });
        }
        self.start(query.feed, Lower::From(from), query.upper_ms, None)
    }
}

fn request_of<'a>(
    element: &'a Element,
    resource: &'a Resource,
    feed: Feed,
) -> Option<&'a ListRequest> {
    match feed {
        Feed::List => Some(element.list_request(resource)),
        Feed::Changes => element.changes_request(resource),
    }
}
