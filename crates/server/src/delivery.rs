//! Delivery: stored events become signed notifications, sent at least once.
//!
//! Two steps, both leased work on the database, never a transaction held across an HTTP call:
//! 1. **Queue**: events that no notification carries yet are grouped (instance, resource, poll)
//!    into notifications of at most 10, in Cloud Elements' envelope; each is stored with the
//!    exact body bytes before anything is sent. A notification's id derives from its events', so
//!    queuing twice changes nothing.
//! 2. **Send**: due notifications are claimed with a lease and POSTed, signed
//!    (`Elements-Webhook-Signature`, and/or Standard Webhooks headers per instance). A 2xx is
//!    delivered; anything else — redirects included, which are not followed — a timeout or a
//!    refused connection is a failed attempt, retried on the schedule (Cloud Elements' 4^x
//!    seconds by default, ±20 % jitter; `Retry-After` honoured up to an hour); the end of the
//!    schedule leaves it `FAILED`. A 410 fails it and stops delivery to that URL: the
//!    instance's other notifications to it wait until its URL changes or the user resumes
//!    (`POST /instances/{id}/events/resume`). Every attempt is recorded.
//!
//! Callbacks that resolve to loopback, private, link-local, CGNAT, multicast or metadata
//! addresses are refused at connect time (after DNS, so rebinding cannot slip through) unless
//! `TRIBUTARY_ALLOW_PRIVATE_CALLBACKS` is set.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tributary_domain::delivery::{RetrySchedule, batches, elements_signature, standard_signature};
use tributary_domain::instance_config::{SIGNATURE_KEY, SIGNATURE_SCHEME};
use tributary_domain::poll::event_date;
use tributary_store::{
    AttemptOutcome, AttemptRecord, CallbackCaps, EventRecord, NewNotification, NotificationRecord,
    StoredValue,
};

use crate::app::AppState;

const MAX_RETRY_AFTER_MS: i64 = 3_600_000;

/// Whether an address is one a public callback must not reach.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..=127).contains(&b)) // CGNAT
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
        }
    }
}

/// How a host name becomes addresses (the system resolver, or a table in tests).
type Lookup = Arc<
    dyn Fn(
            String,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>,
        > + Send
        + Sync,
>;

/// Resolves callback hosts and drops private addresses (unless allowed), so the connection can
/// only go where the check said.
struct GuardedResolver {
    allow_private: bool,
    lookup: Lookup,
}

impl GuardedResolver {
    fn system(allow_private: bool) -> GuardedResolver {
        GuardedResolver {
            allow_private,
            lookup: Arc::new(|host: String| {
                Box::pin(
                    async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) },
                )
            }),
        }
    }
}

/// The addresses a callback may connect to, or why none.
fn allowed(
    host: &str,
    addrs: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let kept: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| allow_private || !is_private(a.ip()))
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "callback host {host} resolves only to private addresses (loopback, private, \
             link-local, CGNAT, multicast or metadata); refused"
        ));
    }
    Ok(kept)
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = lookup(host.clone()).await?;
            let kept = allowed(&host, addrs, allow)?;
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Counters of delivery since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub delivered: std::sync::atomic::AtomicU64,
    pub failed_attempts: std::sync::atomic::AtomicU64,
    pub retried: std::sync::atomic::AtomicU64,
    pub given_up: std::sync::atomic::AtomicU64,
    /// Sum of milliseconds from an event's poll to its delivery, over delivered notifications.
    pub latency_ms_sum: std::sync::atomic::AtomicU64,
}

/// The delivery worker of one process.
#[derive(Debug, Clone)]
pub struct Deliverer {
    state: AppState,
    owner: String,
    http: reqwest::Client,
    concurrency: usize,
    /// Sends in flight per callback host.
    hosts: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>>,
    /// Sends in flight per callback URL, so a claim takes no more than their hosts can start.
    urls: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    /// Instance id → (version, how its notifications are signed).
    signing: Arc<std::sync::Mutex<SigningCache>>,
    recorder: Arc<Recorder>,
}

/// Group commit of attempts: a send adds its attempt and waits for the write lock; whoever
/// holds it writes every attempt waiting by then in one transaction. Under load, one commit
/// settles many sends; alone, a send writes its own at once.
#[derive(Debug, Default)]
struct Recorder {
    waiting: std::sync::Mutex<Vec<Waiting>>,
    writing: tokio::sync::Mutex<()>,
}

impl Recorder {
    async fn record(
        &self,
        store: &dyn tributary_store::Store,
        attempt: AttemptRecord,
    ) -> Result<(), String> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((attempt, done));
        {
            let _writer = self.writing.lock().await;
            let batch =
                std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|p| p.into_inner()));
            if !batch.is_empty() {
                let (attempts, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let result = store
                    .record_attempts(attempts)
                    .await
                    .map_err(|e| e.to_string());
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        }
        outcome
            .await
            .unwrap_or_else(|_| Err("the attempt's writer went away".into()))
    }
}

/// Instance id → (its version, how its notifications are signed).
type SigningCache = std::collections::HashMap<i64, (i64, Arc<Signing>)>;

/// An attempt waiting for the group commit, and who to tell when it is written.
type Waiting = (
    AttemptRecord,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

/// The signing key and scheme (`elements`, `standard` or `both`) of an instance.
#[derive(Debug)]
struct Signing {
    key: Option<secrecy::SecretString>,
    scheme: String,
}

impl Default for Signing {
    fn default() -> Self {
        Signing {
            key: None,
            scheme: "elements".into(),
        }
    }
}

impl Deliverer {
    pub fn new(state: AppState, concurrency: usize) -> Result<Deliverer, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(state.settings.delivery_timeout)
            .connect_timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(GuardedResolver::system(
                state.settings.allow_private_callbacks,
            )))
            .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            owner: format!("{}-{}", std::process::id(), crate::secrets::random_secret()),
            state,
            http,
            concurrency: concurrency.max(1),
            hosts: Arc::default(),
            urls: Arc::default(),
            signing: Arc::default(),
            recorder: Arc::default(),
        })
    }

    /// One pass: queues what is unqueued, then sends what is due, to the end. Tests step it.
    pub async fn run_once(&self) -> (usize, usize) {
        let queued = self.queue().await;
        let sent = self.send_due().await;
        (queued, sent)
    }

    /// Deletes finished history older than the retention period; returns how many events went.
    pub async fn prune(&self) -> u64 {
        let retention =
            i64::try_from(self.state.settings.retention.as_millis()).unwrap_or(i64::MAX);
        match self
            .state
            .store
            .prune(self.state.now_ms().saturating_sub(retention))
            .await
        {
            Ok(pruned) => pruned,
            Err(error) => {
                tracing::error!(%error, "could not prune old events");
                0
            }
        }
    }

    /// Runs until shutdown: a continuous pipeline — sends run as tasks, so a slow receiver holds
    /// at most its host's share of the slots and never stalls the others; new work is claimed
    /// as slots free, when polls store events, or every half second. Prunes old history hourly.
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut sends = JoinSet::new();
        let mut pruned_at: Option<Instant> = None;
        // Unnotified events appear when a poll stores them (it nudges), or on another node
        // (the timer finds them); a send finishing adds none, so it skips the look.
        let mut queue_due = true;
        loop {
            if pruned_at.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                let pruned = self.prune().await;
                if pruned > 0 {
                    tracing::info!(pruned, "pruned old events");
                }
                pruned_at = Some(Instant::now());
            }
            while sends.try_join_next().is_some() {}
            let queued = if queue_due { self.queue().await } else { 0 };
            queue_due = queued > 0;
            // Around again at once only while there may be more: a claim that came back short
            // means nothing else is due (or every due one's receiver is busy).
            let (_, more) = self.start_sends(&slots, &mut sends).await;
            if queued > 0 || more {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => queue_due = true,
                _ = self.state.delivery_nudge.notified() => queue_due = true,
                Some(_) = sends.join_next(), if !sends.is_empty() => {}
                _ = shutdown.cancelled() => break,
            }
        }
        // Sends in flight finish (each is bounded by its timeout); their leases protect the rest.
        let _ = tokio::time::timeout(self.state.settings.delivery_timeout, async {
            while sends.join_next().await.is_some() {}
        })
        .await;
    }

    /// Claims as many due notifications as there are free slots (and their hosts can take) and
    /// starts sending them; a notification whose host turned out busy goes back, due again
    /// shortly. Returns how many started, and whether the claim was full (more may be due).
    async fn start_sends(
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

    fn lock_urls(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
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

    /// Builds and stores notifications for events that have none.
    pub async fn queue(&self) -> usize {
        let events = match self.state.store.unnotified_events(1_000).await {
            Ok(events) => events,
            Err(error) => {
                tracing::error!(%error, "could not read unnotified events");
                return 0;
            }
        };
        let mut groups: BTreeMap<(i64, String, i64), Vec<EventRecord>> = BTreeMap::new();
        for event in events {
            groups
                .entry((
                    event.instance_id,
                    event.resource.clone(),
                    event.poll_date_ms,
                ))
                .or_default()
                .push(event);
        }
        let mut notifications = Vec::new();
        for ((instance_id, resource, _), events) in groups {
            let Ok(Some(instance)) = self.state.store.instance_by_id(instance_id).await else {
                continue;
            };
            let callback = match self.state.clients.prepared(&self.state, &instance) {
                Ok(prepared) => prepared.settings.callback_url.clone().unwrap_or_default(),
                Err(_) => String::new(),
            };
            for batch in batches(events, false) {
                notifications.push(self.notification(&instance, &resource, &callback, batch));
            }
        }
        let count = notifications.len();
        if count > 0
            && let Err(error) = self
                .state
                .store
                .queue_notifications(notifications, self.state.now_ms())
                .await
        {
            tracing::error!(%error, "could not queue notifications");
            return 0;
        }
        count
    }

    fn notification(
        &self,
        instance: &tributary_store::InstanceRecord,
        resource: &str,
        callback: &str,
        events: Vec<EventRecord>,
    ) -> NewNotification {
        let mut hasher = Sha256::new();
        for event in &events {
            hasher.update(event.event_id.as_bytes());
            hasher.update(b"\n");
        }
        let id = URL_SAFE_NO_PAD.encode(&hasher.finalize()[..15]);
        let element = self.state.registry.get(&instance.element_key);
        let (element_key, hub) = element
            .as_ref()
            .map(|e| (e.key.clone(), e.hub.clone()))
            .unwrap_or_else(|| (instance.element_key.clone(), String::new()));
        let poll_date = events.first().map(|e| e.poll_date_ms).unwrap_or_default();
        let records: Vec<Value> = events
            .iter()
            .map(|e| serde_json::from_str(&e.record).unwrap_or(Value::Null))
            .collect();
        let items: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({
                    "objectType": resource, "objectId": e.object_id, "eventType": e.event_type,
                    "date": event_date(e.date_ms), "pollDate": event_date(e.poll_date_ms),
                    "elementKey": element_key, "hubKey": hub, "eventId": e.event_id,
                })
            })
            .collect();
        let mut raw = serde_json::Map::new();
        raw.insert(resource.to_owned(), Value::Array(records));
        raw.insert("pollDate".into(), json!(poll_date));
        raw.insert("objectType".into(), json!(resource));
        let body = json!({
            "id": id,
            "topic": format!("instance-{}-{element_key}-events", instance.id),
            "severity": "medium",
            "action": "create",
            "createdDate": event_date(self.state.now_ms()),
            "user": "tributary",
            "message": {
                "elementKey": element_key,
                "accountId": instance.organization_id,
                "companyId": instance.organization_id,
                "userId": instance.user_id,
                "eventId": id,
                "instanceId": instance.id,
                "instance_id": instance.id,
                "instanceName": instance.name,
                "instanceTags": instance.tags,
                "raw": raw,
                "events": items,
            }
        });
        NewNotification {
            event_ids: events.iter().map(|e| e.event_id.clone()).collect(),
            id,
            instance_id: instance.id,
            resource: resource.to_owned(),
            callback_url: callback.to_owned(),
            body: body.to_string().into_bytes(),
        }
    }

    /// Claims due notifications and sends them with the same global and per-host limits as
    /// [`Deliverer::run`], waiting for every send; returns how many started.
    pub async fn send_due(&self) -> usize {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut sends = JoinSet::new();
        let (started, _) = self.start_sends(&slots, &mut sends).await;
        while sends.join_next().await.is_some() {}
        started
    }

    /// How an instance's notifications are signed, read once per instance version.
    async fn signing(&self, instance_id: i64, version: i64) -> Arc<Signing> {
        if let Some((known, signing)) = self
            .signing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&instance_id)
            && *known == version
        {
            return signing.clone();
        }
        let Ok(Some(record)) = self.state.store.instance_by_id(instance_id).await else {
            return Arc::new(Signing::default());
        };
        let key = record.entry(SIGNATURE_KEY).and_then(|e| match &e.value {
            StoredValue::Sealed(sealed) => self.state.vault.open_string(SIGNATURE_KEY, sealed).ok(),
            StoredValue::Plain(value) => Some(value.clone().into()),
        });
        let scheme = match record.entry(SIGNATURE_SCHEME).map(|e| &e.value) {
            Some(StoredValue::Plain(value)) => value.to_ascii_lowercase(),
            _ => "elements".into(),
        };
        let signing = Arc::new(Signing { key, scheme });
        let mut cache = self.signing.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(instance_id, (record.version, signing.clone()));
        signing
    }

    async fn send(&self, notification: NotificationRecord) {
        let started = Instant::now();
        let at_ms = self.state.now_ms();
        let signing = self
            .signing(notification.instance_id, notification.instance_version)
            .await;
        let attempt_number = notification.attempts + 1;
        let key = signing.key.as_ref().map(|k| k.expose_secret());
        let result = self.post(&notification, key, &signing.scheme).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, excerpt, error, retry_after_ms) = match result {
            Ok((status, excerpt, retry_after)) => (Some(status), Some(excerpt), None, retry_after),
            Err(error) => (None, None, Some(error), None),
        };
        let delivered = status_code.is_some_and(|s| (200..300).contains(&s));
        let gone = status_code == Some(410);
        let outcome = if delivered {
            AttemptOutcome::Delivered
        } else if gone {
            AttemptOutcome::Gone
        } else if notification.callback_url.is_empty() {
            AttemptOutcome::Failed
        } else {
            let jitter = rand::rng().random_range(-1.0..=1.0);
            match self.state.settings.retry_schedule.wait(
                usize::try_from(attempt_number).unwrap_or(usize::MAX),
                jitter,
            ) {
                Some(wait) => {
                    let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                    let wait_ms = wait_ms.max(retry_after_ms.unwrap_or(0).min(MAX_RETRY_AFTER_MS));
                    AttemptOutcome::RetryAt(at_ms + wait_ms)
                }
                None => AttemptOutcome::Failed,
            }
        };
        let error = error.or_else(|| {
            (!delivered).then(|| match status_code {
                Some(410) => "410 Gone: delivery to this URL stopped".to_owned(),
                Some(code) => format!("the receiver answered {code}"),
                None => "no answer".to_owned(),
            })
        });
        let stats = &self.state.delivery_stats;
        let count = |counter: &std::sync::atomic::AtomicU64, n: u64| {
            counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        };
        match outcome {
            AttemptOutcome::Delivered => {
                count(&stats.delivered, 1);
                let poll_ms = serde_json::from_slice::<Value>(&notification.body)
                    .ok()
                    .and_then(|b| b.pointer("/message/raw/pollDate").and_then(Value::as_i64))
                    .unwrap_or(at_ms);
                count(
                    &stats.latency_ms_sum,
                    u64::try_from(at_ms - poll_ms).unwrap_or(0),
                );
            }
            AttemptOutcome::RetryAt(_) => {
                count(&stats.failed_attempts, 1);
                count(&stats.retried, 1);
            }
            AttemptOutcome::Failed | AttemptOutcome::Gone => {
                count(&stats.failed_attempts, 1);
                count(&stats.given_up, 1);
            }
        }
        let record = AttemptRecord {
            notification_id: notification.id.clone(),
            url: notification.callback_url.clone(),
            at_ms,
            status_code,
            duration_ms,
            excerpt,
            error,
            outcome,
        };
        if let Err(error) = self
            .recorder
            .record(self.state.store.as_ref(), record)
            .await
        {
            tracing::error!(%error, "could not record a delivery attempt");
        }
    }

    /// POSTs the exact stored bytes; returns (status, body excerpt, Retry-After in ms).
    async fn post(
        &self,
        notification: &NotificationRecord,
        key: Option<&str>,
        scheme: &str,
    ) -> Result<(u16, String, Option<i64>), String> {
        if notification.callback_url.is_empty() {
            return Err("the instance has no event.notification.callback.url".into());
        }
        let url = reqwest::Url::parse(&notification.callback_url)
            .map_err(|_| "the callback URL does not parse".to_owned())?;
        // IP literals skip DNS, so the guard checks them here.
        if !self.state.settings.allow_private_callbacks {
            let literal = url
                .host_str()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                .and_then(|h| h.parse::<IpAddr>().ok());
            if let Some(ip) = literal
                && is_private(ip)
            {
                return Err(format!(
                    "callback address {ip} is private (loopback, private, link-local, CGNAT, \
                     multicast or metadata); refused"
                ));
            }
        }
        let mut request = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Elements-Webhook-Id", &notification.id)
            .body(notification.body.clone());
        if let Some(key) = key {
            if scheme == "elements" || scheme == "both" {
                request = request.header(
                    "Elements-Webhook-Signature",
                    elements_signature(key, &notification.body),
                );
            }
            if scheme == "standard" || scheme == "both" {
                let timestamp = self.state.now_ms() / 1000;
                request = request
                    .header("webhook-id", &notification.id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header(
                        "webhook-signature",
                        standard_signature(key, &notification.id, timestamp, &notification.body),
                    );
            }
        }
        let timeout = self.state.settings.delivery_timeout;
        let response = request.send().await.map_err(|e| describe(&e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(|s| s.saturating_mul(1000));
        let body = response.bytes().await.unwrap_or_default();
        let excerpt: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        Ok((status, excerpt, retry_after))
    }
}

fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut text = String::new();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = e.source();
    }
    if error.is_timeout() {
        format!("timed out after {timeout:?}")
    } else {
        text
    }
}

/// Why a callback URL will be refused at delivery, if that is known without a DNS lookup (an
/// IP-literal host): said when an instance is created or changed, so the user learns it then.
/// Host names are judged at delivery, after resolution, where the attempt says why.
pub fn callback_warning(url: &str, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip = host.parse::<IpAddr>().ok()?;
    is_private(ip).then(|| {
        format!(
            "event.notification.callback.url: {ip} is a private address; deliveries to it will \
             be refused (TRIBUTARY_ALLOW_PRIVATE_CALLBACKS is off)"
        )
    })
}

/// The retry schedule of `TRIBUTARY_RETRY_SCHEDULE`, or Cloud Elements' default.
pub fn schedule_from(text: Option<&str>) -> Result<RetrySchedule, String> {
    match text {
        None => Ok(RetrySchedule::default()),
        Some(text) => RetrySchedule::parse(text).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_resolving_to_a_private_or_metadata_address_is_refused_after_dns() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        let table = |host: String| -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>,
        > {
            let ips: Vec<&str> = match host.as_str() {
                "internal.example" => vec!["10.0.0.1"],
                "metadata.example" => vec!["169.254.169.254"],
                "mixed.example" => vec!["10.0.0.1", "93.184.216.34"],
                _ => vec!["93.184.216.34"],
            };
            let addrs = ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip.parse().unwrap(), 0))
                .collect();
            Box::pin(async move { Ok(addrs) })
        };
        let guarded = GuardedResolver {
            allow_private: false,
            lookup: Arc::new(table),
        };
        for host in ["internal.example", "metadata.example"] {
            let error = guarded
                .resolve(reqwest::dns::Name::from_str(host).unwrap())
                .await
                .err()
                .unwrap_or_else(|| panic!("{host} was allowed"));
            assert!(error.to_string().contains("private addresses"), "{error}");
        }
        let mixed: Vec<SocketAddr> = guarded
            .resolve(reqwest::dns::Name::from_str("mixed.example").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(
            mixed,
            [SocketAddr::new("93.184.216.34".parse().unwrap(), 0)],
            "only the public one"
        );
        let open = GuardedResolver {
            allow_private: true,
            lookup: Arc::new(table),
        };
        assert!(
            open.resolve(reqwest::dns::Name::from_str("metadata.example").unwrap())
                .await
                .is_ok()
        );
    }

    #[test]
    fn private_and_metadata_addresses_are_recognized() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
