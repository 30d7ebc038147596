//! Realistic CRM records: the initial data of each account, the records the activity generator
//! and `/_sim/records` create, and its edits. Property names and option values are HubSpot's
//! standard ones (lifecycle stages, the default deal pipeline's stages, ticket priorities); every
//! stored value is a string, as the API has them. Values come from a seeded random generator, so
//! the same flags give the same data.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value};

use crate::engine::dates::format_zulu;
use crate::engine::records::Tenant;
use crate::hubspot::schema::{self, Object};

const FIRST: &[&str] = &[
    "Maria", "Brian", "Chen", "Dana", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jonas", "Kiri",
    "Lena", "Malik", "Noor", "Otto", "Priya", "Rafael", "Sofia", "Tariq", "Yuki",
];
const LAST: &[&str] = &[
    "Johnson",
    "Halligan",
    "Wei",
    "Okafor",
    "Novak",
    "Schmidt",
    "Alvarez",
    "Brennan",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Osei",
    "Petrov",
    "Rossi",
];
const COMPANIES: &[(&str, &str)] = &[
    ("Biglytics", "biglytics.net"),
    ("Brightwave", "brightwave.io"),
    ("Cobalt Freight", "cobaltfreight.com"),
    ("Fernhill Dental", "fernhill.dental"),
    ("Hatch & Co", "hatchandco.com"),
    ("Northwind Traders", "northwind.example"),
    ("Orbit Analytics", "orbitanalytics.ai"),
    ("Quarry Labs", "quarrylabs.dev"),
];
const INDUSTRIES: &[&str] = &[
    "COMPUTER_SOFTWARE",
    "HOSPITAL_HEALTH_CARE",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "MARKETING_AND_ADVERTISING",
    "FINANCIAL_SERVICES",
];
const CITIES: &[&str] = &[
    "Cambridge",
    "Dublin",
    "Berlin",
    "Austin",
    "Singapore",
    "Sydney",
];
const TITLES: &[&str] = &["CEO", "Head of Growth", "Office Manager", "CTO", "Buyer"];
const LIFECYCLE: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
];
const LEAD_STATUS: &[&str] = &["NEW", "OPEN", "IN_PROGRESS", "CONNECTED", "UNQUALIFIED"];
/// The default sales pipeline's stages.
const DEAL_STAGES: &[&str] = &[
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
];
const TICKET_SUBJECTS: &[&str] = &[
    "Cannot reset my password",
    "Invoice shows the wrong amount",
    "Export to CSV times out",
    "Feature request: dark mode",
    "Integration stopped syncing",
];
const PRIORITIES: &[&str] = &["LOW", "MEDIUM", "HIGH"];
const CATEGORIES: &[&str] = &[
    "PRODUCT_ISSUE",
    "BILLING_ISSUE",
    "FEATURE_REQUEST",
    "GENERAL_INQUIRY",
];

/// How `total` initial records are shared (weights out of 60: 24 contacts, 12 companies,
/// 12 deals, 12 tickets), in [`schema::ALL`] order.
pub fn seed_plan(total: usize) -> Vec<(&'static Object, usize)> {
    const WEIGHTS: [usize; 4] = [24, 12, 12, 12];
    let mut plan: Vec<(&'static Object, usize)> = schema::ALL
        .into_iter()
        .zip(WEIGHTS)
        .map(|(object, weight)| (object, total * weight / 60))
        .collect();
    let mut remaining = total - plan.iter().map(|(_, n)| n).sum::<usize>();
    for entry in plan.iter_mut() {
        if remaining == 0 {
            break;
        }
        entry.1 += 1;
        remaining -= 1;
    }
    plan
}

/// Fills an account's tables with `count` records created in the last 30 days, some edited
/// since.
pub fn seed_account(tenant: &mut Tenant, rng: &mut StdRng, count: usize, now: i64) {
    const DAY_MS: i64 = 86_400_000;
    for (object, n) in seed_plan(count) {
        for _ in 0..n {
            let created = now - rng.random_range(DAY_MS..30 * DAY_MS);
            let updated = if rng.random_bool(0.4) {
                created + rng.random_range(0..(now - created).max(1))
            } else {
                created
            };
            let fields = new_fields(object, rng, created);
            tenant
                .tables
                .entry(object.name)
                .or_default()
                .seed(created, updated, fields);
        }
    }
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

fn text(value: impl Into<String>) -> Value {
    Value::String(value.into())
}

/// The properties of a new record (without the platform's: id and dates).
pub fn new_fields(object: &Object, rng: &mut StdRng, now_ms: i64) -> Map<String, Value> {
    let mut fields = Map::new();
    let (company, domain) = *COMPANIES.choose(rng).unwrap_or(&COMPANIES[0]);
    match object.name {
        "contacts" => {
            let (first, last) = (pick(rng, FIRST), pick(rng, LAST));
            let number = rng.random_range(1..10_000);
            fields.insert("firstname".into(), text(first));
            fields.insert("lastname".into(), text(last));
            fields.insert(
                "email".into(),
                text(format!(
                    "{}.{}{number}@{domain}",
                    first.to_lowercase(),
                    last.to_lowercase()
                )),
            );
            fields.insert(
                "phone".into(),
                text(format!("+1 617 555 {:04}", rng.random_range(0..10_000))),
            );
            fields.insert("company".into(), text(company));
            fields.insert("jobtitle".into(), text(pick(rng, TITLES)));
            fields.insert("city".into(), text(pick(rng, CITIES)));
            fields.insert("lifecyclestage".into(), text(pick(rng, LIFECYCLE)));
        }
        "companies" => {
            fields.insert("name".into(), text(company));
            fields.insert("domain".into(), text(domain));
            fields.insert("industry".into(), text(pick(rng, INDUSTRIES)));
            fields.insert("city".into(), text(pick(rng, CITIES)));
            fields.insert(
                "numberofemployees".into(),
                text(rng.random_range(5..5_000).to_string()),
            );
        }
        "deals" => {
            fields.insert(
                "dealname".into(),
                text(format!("{company} - {} seats", rng.random_range(5..500))),
            );
            fields.insert(
                "amount".into(),
                text((rng.random_range(10..2_000) * 50).to_string()),
            );
            fields.insert("dealstage".into(), text(pick(rng, DEAL_STAGES)));
            fields.insert("pipeline".into(), text("default"));
            let close = now_ms + rng.random_range(7..90) * 86_400_000;
            fields.insert("closedate".into(), text(format_zulu(close)));
        }
        "tickets" => {
            fields.insert("subject".into(), text(pick(rng, TICKET_SUBJECTS)));
            fields.insert(
                "content".into(),
                text(format!("Reported by a customer at {company}.")),
            );
            fields.insert("hs_pipeline".into(), text("0"));
            fields.insert(
                "hs_pipeline_stage".into(),
                text(rng.random_range(1..=4).to_string()),
            );
            fields.insert("hs_ticket_priority".into(), text(pick(rng, PRIORITIES)));
            fields.insert("hs_ticket_category".into(), text(pick(rng, CATEGORIES)));
        }
        _ => {}
    }
    fields
}

/// A plausible edit: one or two properties change, as a person's would.
pub fn edit_fields(object: &Object, rng: &mut StdRng) -> Map<String, Value> {
    let mut patch = Map::new();
    match object.name {
        "contacts" => {
            patch.insert("lifecyclestage".into(), text(pick(rng, LIFECYCLE)));
            if rng.random_bool(0.5) {
                patch.insert("hs_lead_status".into(), text(pick(rng, LEAD_STATUS)));
            }
        }
        "companies" => {
            patch.insert(
                "numberofemployees".into(),
                text(rng.random_range(5..5_000).to_string()),
            );
        }
        "deals" => {
            patch.insert("dealstage".into(), text(pick(rng, DEAL_STAGES)));
        }
        "tickets" => {
            patch.insert(
                "hs_pipeline_stage".into(),
                text(rng.random_range(1..=4).to_string()),
            );
        }
        _ => {}
    }
    patch
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn the_seed_plan_hands_out_exactly_the_requested_number_of_records() {
        for total in [0, 1, 7, 60, 61, 1_000] {
            let plan = seed_plan(total);
            assert_eq!(plan.iter().map(|(_, n)| n).sum::<usize>(), total);
        }
    }

    #[test]
    fn every_stored_value_is_a_string_of_a_property_the_object_knows() {
        let mut rng = StdRng::seed_from_u64(7);
        for object in schema::ALL {
            let fields = new_fields(object, &mut rng, 1_700_000_000_000);
            let edit = edit_fields(object, &mut rng);
            for (name, value) in fields.iter().chain(edit.iter()) {
                assert!(value.is_string(), "{}.{name}", object.name);
                assert!(object.kind(name).is_some(), "{}.{name}", object.name);
            }
        }
    }
}
