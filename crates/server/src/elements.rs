//! The elements in use: the registry, replaced whole when the elements folder is read again
//! (`SIGHUP` to `serve`). Readers take the current one per call; a poll or a hub call that
//! started with the previous definitions finishes with them.

use std::sync::{Arc, RwLock};

use tributary_elements::{Element, Registry};

/// The registry of the moment.
#[derive(Debug)]
pub struct LiveRegistry(RwLock<Arc<Registry>>);

impl LiveRegistry {
    pub fn new(registry: Arc<Registry>) -> LiveRegistry {
        LiveRegistry(RwLock::new(registry))
    }

    /// The registry now (a reload afterwards does not change it).
    pub fn current(&self) -> Arc<Registry> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn get(&self, key: &str) -> Option<Arc<Element>> {
        self.current().get(key)
    }

    /// Every element, built-in ones first.
    pub fn all(&self) -> Vec<Arc<Element>> {
        self.current().all().to_vec()
    }

    /// The file an element was loaded from, or `None` for a built-in one.
    pub fn local_file(&self, key: &str) -> Option<String> {
        self.current().local_file(key).map(str::to_owned)
    }

    /// Whether an element's provider calls must pass the address guard (see
    /// [`Registry::unvouched`]).
    pub fn unvouched(&self, key: &str) -> bool {
        self.current().unvouched(key)
    }

    /// Puts a new registry in place.
    pub fn replace(&self, registry: Registry) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(registry);
    }
}
