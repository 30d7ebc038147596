//! Webhook sources (issue 20): an instance with `event.vendor.type: webhooks` on an element
//! whose definition has `[hooks]` gets the provider's own webhooks, beside its polls.
//!
//! - [`keep`]: the subscriptions, kept true at the provider — one per configured resource and
//!   action (`contact.add`, `contact.edit`, `contact.delete`), each with its own hook URL
//!   `TRIBUTARY_PUBLIC_URL/elements/api-v2/events/{elementKey}/{instanceId}/{token}`, the
//!   token random and stored only as its hash. Made on create, changed on PUT/PATCH and
//!   enable/disable, removed on DELETE ([`sync`], [`remove_all`]); a keeper every
//!   `TRIBUTARY_HOOKS_KEEP_INTERVAL` ([`keep_all`]) lists the provider's subscriptions and re-verifies or re-creates those
//!   not delivering. A subscription the provider refused is stored with its error, for the
//!   keeper to try again.
//! - [`inbound`]: deliveries. The route (`api::hooks`, through `services::hooks`) answers the
//!   handshake, stores a delivery's ids in the inbound table and only then answers 200; this
//!   worker claims stored deliveries with a lease, fetches the records by id through the
//!   instance's provider client (pacer, refresh), decides them with the poll's own decision
//!   (`tributary_domain::poll::decide`) and stores the events with the delivery's removal in
//!   one transaction. Event ids are the poll's, so a change a hook and a poll both saw is one
//!   event; a deletion takes the id a reconciliation sweep would give it.
//!
//! The poller keeps polling a webhooks instance every refresh interval: the safety net for a
//! lost delivery.

pub mod inbound;
pub mod keep;

pub use inbound::Inbound;
pub use keep::{keep_all, remove_all, sync};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// A subscription's token: 32 random bytes, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hook URL of a subscription, under the public base URL.
pub fn hook_url(public_url: &str, element_key: &str, instance_id: i64, token: &str) -> String {
    format!(
        "{}/elements/api-v2/events/{element_key}/{instance_id}/{token}",
        public_url.trim_end_matches('/')
    )
}

/// Statuses Tributary gives a subscription besides the provider's words.
pub const PENDING: &str = "Pending";
pub const FAILED: &str = "Failed";
pub const MISSING: &str = "Missing";
