//! What differs between the demo's providers: the element, its simulator, the resources polled
//! (as the hub names them and as the simulator does), what a consent gives (a code, and
//! QuickBooks' realm beside it), how the simulator's state export names a record and its
//! updated date, and whether the provider shows deletes (then the demo deletes records too).

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tributary_domain::SystemClock;
use tributary_simulator::{RunningSimulator, Simulator};

/// The elements `tributary demo --element` runs.
pub const ELEMENTS: [&str; 4] = ["infusionsoftrest", "sfdc", "hubspotcrm", "quickbooks"];

pub(crate) const REDIRECT: &str = "https://demo.tributary.invalid/oauth";
pub(crate) const APP_ID: &str = "tributary-demo";
pub(crate) const APP_SECRET: &str = "tributary-demo-secret";

/// A provider the demo runs against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Provider {
    /// The element key.
    pub key: &'static str,
    /// The resources polled, as the hub names them (the events' `objectType`).
    pub resources: &'static [&'static str],
    /// The same resources, as the simulator names them (its state export, its activity).
    pub sim_names: &'static [&'static str],
    /// Whether polling sees deletes here: then the demo deletes records too.
    pub deletes: bool,
    /// Whether deletes show only to a reconciliation sweep (Keap): then each "poll now" asks
    /// for the sweeps too (`{"sweep": true}`) instead of waiting for their hourly schedule.
    pub sweeps: bool,
    /// The state export's name for a record's updated date, where it is not the element's
    /// updated field (QuickBooks' export flattens `MetaData.LastUpdatedTime`).
    pub export_updated: Option<&'static str>,
}

const INFUSIONSOFT: Provider = Provider {
    key: "infusionsoftrest",
    // The Cloud Elements example's appointments, and four more.
    resources: &[
        "appointments",
        "contacts",
        "opportunities",
        "tasks",
        "orders",
    ],
    sim_names: &[
        "appointments",
        "contacts",
        "opportunities",
        "tasks",
        "orders",
    ],
    // Keap's lists never say a record was deleted: reconciliation sweeps see it gone.
    deletes: true,
    sweeps: true,
    export_updated: None,
};

const SALESFORCE: Provider = Provider {
    key: "sfdc",
    resources: &["accounts", "contacts", "leads", "opportunities", "cases"],
    sim_names: &["Account", "Contact", "Lead", "Opportunity", "Case"],
    deletes: true,
    sweeps: false,
    export_updated: None,
};

const HUBSPOT: Provider = Provider {
    key: "hubspotcrm",
    resources: &["contacts", "companies", "deals", "tickets"],
    sim_names: &["contacts", "companies", "deals", "tickets"],
    // Deletes are archives, read from the archived list.
    deletes: true,
    sweeps: false,
    export_updated: None,
};

const QUICKBOOKS: Provider = Provider {
    key: "quickbooks",
    resources: &["customers", "vendors", "items", "invoices", "payments"],
    sim_names: &["Customer", "Vendor", "Item", "Invoice", "Payment"],
    // Invoices and payments are deleted (stubs in the change feed); customers, vendors and
    // items are deactivated, which is an update.
    deletes: true,
    sweeps: false,
    export_updated: Some("LastUpdatedTime"),
};

impl Provider {
    /// The provider of an element key (`None` for an element the demo does not run).
    pub fn of(key: &str) -> Option<Provider> {
        [INFUSIONSOFT, SALESFORCE, HUBSPOT, QUICKBOOKS]
            .into_iter()
            .find(|p| p.key == key)
    }

    /// The simulator, with enough records that edits rarely hit the same one twice.
    pub async fn start(&self) -> std::io::Result<RunningSimulator> {
        self.start_scaled(1.0).await
    }

    /// [`Provider::start`], Keap's REST hook delays multiplied by `hook_time_scale`.
    pub async fn start_scaled(&self, hook_time_scale: f64) -> std::io::Result<RunningSimulator> {
        let addr = "127.0.0.1:0".parse().map_err(std::io::Error::other)?;
        let clock = Arc::new(SystemClock);
        if self.key == SALESFORCE.key {
            let config = tributary_simulator::salesforce::Config {
                seed: 2_000,
                ..tributary_simulator::salesforce::Config::default()
            };
            return tributary_simulator::salesforce::start(config, clock, addr).await;
        }
        if self.key == HUBSPOT.key {
            let config = tributary_simulator::hubspot::Config {
                seed: 2_000,
                ..tributary_simulator::hubspot::Config::default()
            };
            return tributary_simulator::hubspot::start(config, clock, addr).await;
        }
        if self.key == QUICKBOOKS.key {
            let config = tributary_simulator::quickbooks::Config {
                seed: 2_000,
                ..tributary_simulator::quickbooks::Config::default()
            };
            return tributary_simulator::quickbooks::start(config, clock, addr).await;
        }
        let config = tributary_simulator::Config {
            seed: 2_000,
            hook_time_scale,
            ..tributary_simulator::Config::default()
        };
        RunningSimulator::start(Simulator::new(config, clock), addr).await
    }

    /// What the simulator's consent page redirects with, as the user's "Allow" gives it: the
    /// create body's `providerData` (the code, and QuickBooks' `realmId` beside it).
    pub async fn consent(
        &self,
        http: &reqwest::Client,
        origin: &str,
    ) -> Result<Map<String, Value>, String> {
        let code = |code: String| {
            let mut data = Map::new();
            data.insert("code".into(), code.into());
            data
        };
        if self.key == SALESFORCE.key {
            return tributary_simulator::salesforce::consent_code(
                http, origin, APP_ID, REDIRECT, None,
            )
            .await
            .map(code);
        }
        if self.key == HUBSPOT.key {
            return tributary_simulator::hubspot::consent_code(
                http, origin, APP_ID, REDIRECT, None,
            )
            .await
            .map(code);
        }
        if self.key == QUICKBOOKS.key {
            let consent =
                tributary_simulator::quickbooks::consent(http, origin, APP_ID, REDIRECT, None)
                    .await?;
            let mut data = code(consent.code);
            data.insert("realmId".into(), consent.realm_id.into());
            return Ok(data);
        }
        tributary_simulator::consent_code(http, origin, APP_ID, REDIRECT)
            .await
            .map(code)
    }

    /// A record's id as the events name it, from the state export.
    pub fn id_of(&self, record: &Value) -> String {
        match &record["Id"] {
            Value::String(id) => id.clone(),
            _ => record["id"].to_string(),
        }
    }

    /// The Cloud Elements example's own poller configuration, where the demo uses it instead of
    /// the element's default (Keap's appointments).
    pub fn example_poller(&self) -> Option<(&'static str, Value)> {
        (self.key == INFUSIONSOFT.key).then(|| {
            (
                "appointments",
                json!({"url": "/hubs/crm/appointments", "idField": "id", "datesConfiguration": {
                    "updatedDateField": "modification_date",
                    "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "updatedDateTimezone": "GMT",
                    "createdDateField": "creation_date",
                    "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "createdDateTimezone": "GMT"}}),
            )
        })
    }
}
