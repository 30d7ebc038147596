//! What the queue knows of the instances it queues notifications for (`queue`): their
//! envelope's fields, where their notifications go, remembered per instance version so that a
//! pass whose instances have not changed reads none of them again (a change of an instance
//! bumps its version, which the queue's read of events carries).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tributary_domain::instance_config::VendorType;
use tributary_store::{InstanceRecord, Store};

use crate::clients::{ClientError, Clients, Prepared};

/// Instances remembered at most (then forgotten all at once, and read again as their events
/// come: instances deleted meanwhile are never asked for again).
const KEPT: usize = 10_000;

/// What a queue pass needs of an instance at one version: the envelope's fields about it,
/// where its notifications go, and whether they carry a webhook's batch.
#[derive(Debug)]
pub(crate) struct Recipient {
    pub id: i64,
    pub version: i64,
    pub organization_id: i64,
    pub user_id: i64,
    pub name: String,
    pub tags: Vec<String>,
    pub element_key: String,
    pub callback_url: String,
    pub webhooks: bool,
}

impl Recipient {
    /// What notifications need of `instance`, whose configuration reads as `prepared`.
    pub(crate) fn of(instance: InstanceRecord, prepared: &Prepared) -> Recipient {
        Recipient {
            id: instance.id,
            version: instance.version,
            organization_id: instance.organization_id,
            user_id: instance.user_id,
            name: instance.name,
            tags: instance.tags,
            element_key: instance.element_key,
            callback_url: prepared.settings.callback_url.clone().unwrap_or_default(),
            webhooks: prepared.settings.vendor == VendorType::Webhooks,
        }
    }
}

/// The recipients remembered, by instance id: shared by the process's queue passes and its
/// polls' outboxes (`AppState::recipients`).
#[derive(Debug, Default)]
pub struct Recipients {
    known: Mutex<HashMap<i64, Arc<Recipient>>>,
}

impl Recipients {
    /// The instance as remembered, if at `version`.
    pub(crate) fn get(&self, instance_id: i64, version: i64) -> Option<Arc<Recipient>> {
        self.lock()
            .get(&instance_id)
            .filter(|known| known.version == version)
            .cloned()
    }

    /// The instance as notifications need it: remembered at `version`, else read as it is now
    /// (its version may have moved on) and remembered. `None` where it is gone, cannot be
    /// read, or its configuration cannot be read — that last told to `unreadable`.
    pub(crate) async fn read(
        &self,
        store: &dyn Store,
        clients: &Clients,
        instance_id: i64,
        version: i64,
        unreadable: impl FnOnce(&InstanceRecord, &ClientError),
    ) -> Option<Arc<Recipient>> {
        if let Some(known) = self.get(instance_id, version) {
            return Some(known);
        }
        let Ok(Some(instance)) = store.instance_by_id(instance_id).await else {
            return None;
        };
        let prepared = match clients.prepared(&instance) {
            Ok(prepared) => prepared,
            Err(error) => {
                unreadable(&instance, &error);
                return None;
            }
        };
        let recipient = Arc::new(Recipient::of(instance, &prepared));
        self.keep(recipient.clone());
        Some(recipient)
    }

    /// Remembers an instance as read, in place of any other version of it.
    pub(crate) fn keep(&self, recipient: Arc<Recipient>) {
        let mut known = self.lock();
        if known.len() >= KEPT && !known.contains_key(&recipient.id) {
            known.clear();
        }
        known.insert(recipient.id, recipient);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Recipient>>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{KEPT, Recipient, Recipients};

    fn at(id: i64, version: i64) -> Arc<Recipient> {
        Arc::new(Recipient {
            id,
            version,
            organization_id: 1,
            user_id: 1,
            name: format!("instance {id}"),
            tags: Vec::new(),
            element_key: "infusionsoftcrm".into(),
            callback_url: format!("https://example.com/{id}/{version}"),
            webhooks: false,
        })
    }

    #[test]
    fn an_instance_is_known_at_the_version_remembered_and_at_no_other() {
        let recipients = Recipients::default();
        recipients.keep(at(7, 1));
        assert_eq!(
            recipients.get(7, 1).unwrap().callback_url,
            "https://example.com/7/1"
        );
        assert!(
            recipients.get(7, 2).is_none(),
            "a changed instance is read again"
        );
        recipients.keep(at(7, 2));
        assert!(
            recipients.get(7, 1).is_none(),
            "its old version is forgotten"
        );
        assert!(recipients.get(8, 1).is_none());
    }

    #[test]
    fn what_is_remembered_stays_bounded() {
        let recipients = Recipients::default();
        for id in 0..i64::try_from(KEPT).unwrap() {
            recipients.keep(at(id, 1));
        }
        recipients.keep(at(0, 2)); // a known one changing does not forget the rest
        assert!(recipients.get(1, 1).is_some());
        recipients.keep(at(-1, 1));
        assert!(recipients.lock().len() <= KEPT, "bounded");
        assert!(recipients.get(-1, 1).is_some());
    }
}
