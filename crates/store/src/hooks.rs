//! The records of webhook sources (issue 20): subscriptions at the provider, and deliveries
//! stored before they are acknowledged.

/// A subscription to create or replace (one per instance and event key): a new token, and
/// nothing known yet of the provider's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub instance_id: i64,
    pub resource: String,
    pub event_key: String,
    /// `created`, `updated` or `deleted`.
    pub action: String,
    pub token_hash: Vec<u8>,
    pub status: String,
    pub now_ms: i64,
}

/// A subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub id: i64,
    pub instance_id: i64,
    pub resource: String,
    pub event_key: String,
    pub action: String,
    pub provider_key: Option<String>,
    pub status: String,
    pub last_error: Option<String>,
    pub last_delivery_ms: Option<i64>,
    pub deliveries: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A delivery to store: the ids one subscription's delivery named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInbound {
    pub instance_id: i64,
    pub subscription_id: i64,
    pub resource: String,
    pub action: String,
    /// The object ids, as text.
    pub ids: Vec<String>,
    pub now_ms: i64,
}

/// A stored delivery, claimed for processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    pub id: i64,
    pub instance_id: i64,
    pub subscription_id: i64,
    pub resource: String,
    pub action: String,
    pub ids: Vec<String>,
    pub received_ms: i64,
    pub attempts: i64,
}

/// What the event log says of one object: its last reported change date, when that report
/// was stored, and when its last deletion was stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectReports {
    pub last_date_ms: Option<i64>,
    pub last_reported_ms: Option<i64>,
    pub last_deleted_ms: Option<i64>,
}

impl ObjectReports {
    /// A deletion was stored at or after the last report: it is told already.
    pub fn deletion_told(&self) -> bool {
        match (self.last_deleted_ms, self.last_reported_ms) {
            (Some(deleted), Some(reported)) => deleted >= reported,
            (Some(_), None) => true,
            _ => false,
        }
    }
}
