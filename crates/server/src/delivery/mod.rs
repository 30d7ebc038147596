//! Delivery: stored events become signed notifications, sent at least once.
//!
//! Two steps, both leased work on the database, never a transaction held across an HTTP call:
//! 1. **Queue** ([`queue`]): events that no notification carries yet are grouped (instance,
//!    resource, poll) into notifications of at most 10, in Cloud Elements' envelope (built in
//!    `tributary_domain::delivery`); each is stored with the exact body bytes before anything
//!    is sent. A notification's id derives from its events', so queuing twice changes nothing.
//!    An instance whose configuration cannot be read keeps its events unqueued (and says so in
//!    the log) rather than failing them: they go out once it can be read again.
//! 2. **Send**: due notifications are claimed with a lease ([`claim`]), signed ([`sign`]:
//!    `Elements-Webhook-Signature`, and/or Standard Webhooks headers per instance) and POSTed
//!    ([`send`]). A 2xx is delivered; anything else — redirects included, which are not
//!    followed — a timeout or a refused connection is a failed attempt, retried on the schedule
//!    (Cloud Elements' 4^x seconds by default, ±20 % jitter; `Retry-After` honoured up to an
//!    hour); the end of the schedule leaves it `FAILED`. A 410 fails it and stops delivery to
//!    that URL: the instance's other notifications to it wait until its URL changes or the
//!    user resumes (`POST /instances/{id}/events/resume`). Every attempt is recorded, many in
//!    one transaction under load ([`record`]).
//!
//! While the worker is idle, a poll of a few events takes the first step itself ([`outbox`]):
//! its commit queues their notifications and leases what the worker can start, handed over in
//! memory ([`handoff`]); the queue pass remains for everything else (a backfill, a busy worker,
//! another node's events, a restart).
//!
//! [`worker`] runs the two as one loop, its client refusing callbacks that resolve to loopback,
//! private, link-local, CGNAT, multicast or metadata addresses at connect time (the address
//! guard, `crate::guard`: after DNS, so rebinding cannot slip through) unless
//! `TRIBUTARY_ALLOW_PRIVATE_CALLBACKS` is set; [`stats`] counts for `/metrics`.

mod callbacks;
pub mod claim;
pub mod handoff;
pub mod outbox;
pub mod queue;
pub mod recipients;
pub mod record;
pub mod send;
pub mod sign;
pub mod stats;
pub mod worker;

pub use stats::DeliveryStats;
pub use worker::Deliverer;
