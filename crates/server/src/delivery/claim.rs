//! Claiming due notifications: as many as there are free slots, no more per callback URL than
//! its host can start (`TRIBUTARY_DELIVERY_PER_HOST` per host and port), so one slow receiver
//! holds at most its host's share and never stalls the others.

use std::sync::Arc;

use tokio::task::JoinSet;
use tributary_store::CallbackCaps;

use super::worker::Deliverer;

impl Deliverer {
    /// Claims as many due notifications as there are free slots (and their hosts can take) and
    /// starts sending them; a notification whose host turned out busy goes back, due again
    /// shortly. Returns how many started, and whether the claim was full (more may be due).
    pub(super) async fn start_sends(
        &self,
        slots: &Arc<tokio::sync::Semaphore>,
        sends: &mut JoinSet<()>,
    ) -> (usize, bool) {
        let free = slots.available_permits();
        if free == 0 {
            return (0, false);
        }
        let now = self.state.now_ms();
        let lease_ms =
            i64::try_from(self.state.settings.delivery_lease.as_millis()).unwrap_or(i64::MAX);
        let caps = self.caps();
        let claimed = self
            .state
            .store
            .claim_due_notifications_capped(&self.owner, now, lease_ms, free as i64, &caps)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "could not claim notifications");
                Vec::new()
            });
        let full = claimed.len() >= free;
        let mut started = 0;
        for notification in claimed {
            let host_permit = self
                .host_slot(&notification.callback_url)
                .try_acquire_owned();
            let (Ok(slot), Ok(host)) = (slots.clone().try_acquire_owned(), host_permit) else {
                if let Err(error) = self
                    .state
                    .store
                    .defer_notification(&notification.id, now + 200)
                    .await
                {
                    tracing::error!(%error, "could not defer a notification");
                }
                continue;
            };
            let this = self.clone();
            let url = notification.callback_url.clone();
            *self.lock_urls().entry(url.clone()).or_default() += 1;
            sends.spawn(async move {
                this.send(notification).await;
                drop((slot, host));
                let mut urls = this.lock_urls();
                if let Some(count) = urls.get_mut(&url) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        urls.remove(&url);
                    }
                }
            });
            started += 1;
        }
        (started, full)
    }

    pub(super) fn lock_urls(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
        self.urls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a claim may take per URL: for URLs being sent to, what their hosts can still start;
    /// for the rest, a host's share.
    fn caps(&self) -> CallbackCaps {
        let busy: Vec<String> = self.lock_urls().keys().cloned().collect();
        CallbackCaps {
            per_url: busy
                .into_iter()
                .map(|url| {
                    let free = self.host_slot(&url).available_permits();
                    (url, i64::try_from(free).unwrap_or(i64::MAX))
                })
                .collect(),
            default: i64::try_from(self.state.settings.delivery_per_host.max(1))
                .unwrap_or(i64::MAX),
        }
    }

    fn host_slot(&self, url: &str) -> Arc<tokio::sync::Semaphore> {
        let per_host = self.state.settings.delivery_per_host.max(1);
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
            })
            .unwrap_or_default();
        self.hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(per_host)))
            .clone()
    }
}
