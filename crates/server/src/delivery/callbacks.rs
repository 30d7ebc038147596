//! Callback URLs as sends use them: each parsed once per process (not per send and per check:
//! the claim's caps, the lease plan, the host's slot and the POST each needed it, about 5% of
//! the drain's CPU in issue 21's profile), with the slot of its host and port, which bounds the
//! sends to that host at once (`TRIBUTARY_DELIVERY_PER_HOST`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Semaphore;

/// Callback URLs remembered parsed at most: past it they are forgotten whole (a URL forgotten
/// is parsed again; its host's slot is kept).
const MAX_URLS: usize = 100_000;

/// The callback URLs seen, parsed, and the slots of their hosts.
#[derive(Debug)]
pub(super) struct Callbacks {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    urls: Mutex<HashMap<String, Callback>>,
}

/// A callback URL parsed (`None` when it does not parse: its send fails as such), and the
/// slot of its host and port (a URL that does not parse shares the empty host's).
#[derive(Debug, Clone)]
pub(super) struct Callback {
    pub url: Option<Arc<reqwest::Url>>,
    pub slot: Arc<Semaphore>,
}

impl Callbacks {
    /// Sends at once to one host at most: `per_host` (at least one).
    pub(super) fn new(per_host: usize) -> Callbacks {
        Callbacks {
            per_host: per_host.max(1),
            hosts: Mutex::default(),
            urls: Mutex::default(),
        }
    }

    /// `url` parsed, with its host's slot: remembered, else parsed now.
    pub(super) fn get(&self, url: &str) -> Callback {
        if let Some(known) = lock(&self.urls).get(url) {
            return known.clone();
        }
        let parsed = reqwest::Url::parse(url).ok();
        let host = parsed
            .as_ref()
            .and_then(|u| {
                u.host_str()
                    .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
            })
            .unwrap_or_default();
        let slot = lock(&self.hosts)
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone();
        let callback = Callback {
            url: parsed.map(Arc::new),
            slot,
        };
        let mut urls = lock(&self.urls);
        if urls.len() >= MAX_URLS {
            urls.clear();
        }
        urls.insert(url.to_owned(), callback.clone());
        callback
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::Callbacks;

    #[test]
    fn a_url_is_parsed_once_and_urls_of_one_host_and_port_share_its_slot() {
        let callbacks = Callbacks::new(2);
        let a = callbacks.get("https://hooks.example/a");
        let b = callbacks.get("https://hooks.example:443/b");
        let other = callbacks.get("https://hooks.example:8443/a");
        assert!(
            std::sync::Arc::ptr_eq(&a.slot, &b.slot),
            "the same host and port"
        );
        assert!(
            !std::sync::Arc::ptr_eq(&a.slot, &other.slot),
            "another port"
        );
        assert_eq!(a.slot.available_permits(), 2);
        let again = callbacks.get("https://hooks.example/a");
        assert!(
            std::sync::Arc::ptr_eq(a.url.as_ref().unwrap(), again.url.as_ref().unwrap()),
            "remembered, not parsed again"
        );
        assert!(callbacks.get("not a url").url.is_none());
    }
}
