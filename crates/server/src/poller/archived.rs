//! A poll's sweep of a resource's archived list (`archived_list` delete detection, HubSpot's
//! `GET …?archived=true`): reads the whole list through the element's request, page by page,
//! and hands the poll a `DELETED` event per archive not reported yet, with the sweep's new
//! memory to commit in the poll's one transaction (`tributary_domain::archived` decides; this
//! file does the I/O).
//!
//! The list has no time filter, so only a whole read can be compared with the memory: a sweep
//! that fails on any page emits nothing and keeps the memory as it was (the updates still
//! commit, and the summary says why); the next poll reads the list again.

use tributary_domain::archived::{self, Archive};
use tributary_domain::poll::event_date;
use tributary_elements::Resource;
use tributary_elements::client::InstanceClient;
use tributary_elements::pager::Position;
use tributary_store::{DeleteCommit, PollerRecord};

use super::deletes::{DeleteSummary, Sweep, stored};

/// Pages one sweep reads at most: a list that goes on past them is a provider that does not
/// end its pages, said as an error rather than read for ever.
const MAX_PAGES: u32 = 10_000;

/// Sweeps `resource`'s archived list; archives from before events were enabled (the
/// poller's delete cursor, pinned at the first sweep) are remembered without events.
pub async fn sweep(
    client: &InstanceClient,
    resource: &Resource,
    poller: &PollerRecord,
    instance_id: i64,
    skew_ms: i64,
    now_ms: i64,
) -> Sweep {
    let since = poller
        .delete_cursor_ms
        .unwrap_or(poller.enabled_ms + skew_ms - 1_000);
    let mut summary = DeleteSummary {
        from: Some(event_date(since)),
        ..DeleteSummary::default()
    };
    let mut listed = Vec::new();
    let mut at = Position::Start;
    let mut pages = 0;
    loop {
        pages += 1;
        if pages > MAX_PAGES {
            summary.error = Some(format!(
                "the archived list did not end after {MAX_PAGES} pages; nothing was reported"
            ));
            return Sweep {
                summary,
                ..Sweep::default()
            };
        }
        let page = match client.archived(resource, &at).await {
            Ok(page) => page,
            Err(error) => {
                // Interrupted: a part of the list says nothing about what is not archived.
                summary.error = Some(error.to_string());
                return Sweep {
                    summary,
                    ..Sweep::default()
                };
            }
        };
        summary.unreadable += page.unreadable;
        listed.extend(page.archives.into_iter().map(|a| Archive {
            object_id: a.id,
            archived_ms: a.deleted_ms,
            entry: a.entry,
        }));
        match page.next {
            Some(next) => at = next,
            None => break,
        }
    }
    let memory = archived::memory_from_json(poller.delete_memory.as_deref());
    let outcome = archived::decide(instance_id, &resource.name, since, &memory, listed);
    summary.deleted = outcome.events.len();
    let events = stored(outcome.events, now_ms);
    Sweep {
        events,
        commit: Some(DeleteCommit {
            cursor_ms: since,
            lost: None,
            memory: Some(archived::memory_to_json(&outcome.memory)),
        }),
        summary,
    }
}
