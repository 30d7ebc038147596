//! What differs between the demo's providers: the element, its simulator, the resources polled
//! (as the hub names them and as the simulator does), how the simulator's state export names a
//! record, and whether the provider shows deletes (then the demo deletes records too).

use std::sync::Arc;

use serde_json::{Value, json};
use tributary_domain::SystemClock;
use tributary_simulator::{RunningSimulator, Simulator};

/// The elements `tributary demo --element` runs.
pub const ELEMENTS: [&str; 2] = ["infusionsoftrest", "sfdc"];

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
    deletes: false,
};

const SALESFORCE: Provider = Provider {
    key: "sfdc",
    resources: &["accounts", "contacts", "leads", "opportunities", "cases"],
    sim_names: &["Account", "Contact", "Lead", "Opportunity", "Case"],
    deletes: true,
};

impl Provider {
    /// The provider of an element key (`None` for an element the demo does not run).
    pub fn of(key: &str) -> Option<Provider> {
        [INFUSIONSOFT, SALESFORCE]
            .into_iter()
            .find(|p| p.key == key)
    }

    /// The simulator, with enough records that edits rarely hit the same one twice.
    pub async fn start(&self) -> std::io::Result<RunningSimulator> {
        let addr = "127.0.0.1:0".parse().map_err(std::io::Error::other)?;
        let clock = Arc::new(SystemClock);
        if self.key == SALESFORCE.key {
            let config = tributary_simulator::salesforce::Config {
                seed: 2_000,
                ..tributary_simulator::salesforce::Config::default()
            };
            return tributary_simulator::salesforce::start(config, clock, addr).await;
        }
        let config = tributary_simulator::Config {
            seed: 2_000,
            ..tributary_simulator::Config::default()
        };
        RunningSimulator::start(Simulator::new(config, clock), addr).await
    }

    /// An authorization code from the simulator's consent page, as the user's "Allow" gives it.
    pub async fn consent(&self, http: &reqwest::Client, origin: &str) -> Result<String, String> {
        if self.key == SALESFORCE.key {
            return tributary_simulator::salesforce::consent_code(
                http, origin, APP_ID, REDIRECT, None,
            )
            .await;
        }
        tributary_simulator::consent_code(http, origin, APP_ID, REDIRECT).await
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
