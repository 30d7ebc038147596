//! Realistic SObject records: the initial data of each org, the records the activity generator
//! and `/_sim/records` create, and its edits. Field names and picklist values are Salesforce's
//! standard ones; values come from a seeded random generator, so the same flags give the same
//! data. Contacts, opportunities and cases point at an existing account of their org.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};

use crate::engine::records::Tenant;
use crate::salesforce::ids;
use crate::salesforce::schema::{self, SObject};

const FIRST: &[&str] = &[
    "Avi", "Babara", "Carole", "Dwayne", "Edna", "Frank", "Geoff", "Hana", "Imani", "Jack",
    "Kavya", "Lauren", "Mateo", "Nia", "Omar", "Pat", "Quinn", "Rose", "Sean", "Tim",
];
const LAST: &[&str] = &[
    "Green",
    "Levy",
    "White",
    "Cook",
    "Frank",
    "Forbes",
    "Young",
    "Barr",
    "Song",
    "Rogers",
    "Gonzalez",
    "Boyle",
    "Stumuller",
    "Nedaerk",
    "Llorrac",
    "Tjoa",
    "Bond",
    "Davis",
];
const COMPANIES: &[&str] = &[
    "Edge Communications",
    "Burlington Textiles",
    "Pyramid Construction",
    "Dickenson plc",
    "Grand Hotels & Resorts",
    "United Oil & Gas",
    "Express Logistics",
    "University of Arizona",
    "GenePoint",
    "sForce",
];
const INDUSTRIES: &[&str] = &[
    "Technology",
    "Electronics",
    "Apparel",
    "Construction",
    "Hospitality",
    "Energy",
    "Transportation",
    "Education",
    "Biotechnology",
];
const ACCOUNT_TYPES: &[&str] = &[
    "Customer - Direct",
    "Customer - Channel",
    "Prospect",
    "Installation Partner",
];
const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];
const CITIES: &[(&str, &str, &str)] = &[
    ("San Francisco", "CA", "USA"),
    ("Austin", "TX", "USA"),
    ("Chicago", "IL", "USA"),
    ("London", "", "UK"),
    ("Singapore", "", "Singapore"),
];
const TITLES: &[&str] = &[
    "CEO",
    "VP, Facilities",
    "SVP, Procurement",
    "Buyer",
    "Director, IT",
    "Office Manager",
];
const DEPARTMENTS: &[&str] = &["Finance", "Procurement", "Operations", "IT", "Sales"];
const LEAD_SOURCES: &[&str] = &["Web", "Phone Inquiry", "Partner Referral", "Trade Show"];
const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
/// Opportunity stages with their default probabilities and forecast categories.
const STAGES: &[(&str, f64, &str)] = &[
    ("Prospecting", 10.0, "Pipeline"),
    ("Qualification", 10.0, "Pipeline"),
    ("Needs Analysis", 20.0, "Pipeline"),
    ("Proposal/Price Quote", 75.0, "Best Case"),
    ("Negotiation/Review", 90.0, "Commit"),
    ("Closed Won", 100.0, "Closed"),
    ("Closed Lost", 0.0, "Omitted"),
];
const OPPORTUNITY_TYPES: &[&str] = &[
    "New Customer",
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
];
const CASE_SUBJECTS: &[&str] = &[
    "Cannot log in",
    "Invoice does not match the order",
    "Generator starts but stops",
    "Shipping delay",
    "Feature request: export to CSV",
];
const CASE_STATUSES: &[&str] = &["New", "Working", "Escalated", "Closed"];
const PRIORITIES: &[&str] = &["High", "Medium", "Low"];
const ORIGINS: &[&str] = &["Email", "Phone", "Web"];
const CASE_TYPES: &[&str] = &["Question", "Problem", "Feature Request"];
const CASE_REASONS: &[&str] = &["Installation", "Performance", "Breakdown", "Other"];

/// How `total` initial records are shared between the SObjects (weights out of 60: 10 accounts,
/// 20 contacts, 12 leads, 10 opportunities, 8 cases), in [`schema::ALL`] order.
pub fn seed_plan(total: usize) -> Vec<(&'static SObject, usize)> {
    const WEIGHTS: [usize; 5] = [10, 20, 12, 10, 8];
    let mut plan: Vec<(&'static SObject, usize)> = schema::ALL
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

/// Fills an org's tables with `count` records created in the last 30 days, some edited since.
pub fn seed_org(tenant: &mut Tenant, rng: &mut StdRng, count: usize, now: i64) {
    const DAY_MS: i64 = 86_400_000;
    for (object, n) in seed_plan(count) {
        for _ in 0..n {
            let created = now - rng.random_range(DAY_MS..30 * DAY_MS);
            let updated = if rng.random_bool(0.4) {
                created + rng.random_range(0..(now - created).max(1))
            } else {
                created
            };
            let fields = new_fields(object, rng, tenant, created, true);
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

/// The id of a random live record of `object` in the org, if it has any.
fn some_record(rng: &mut StdRng, tenant: &Tenant, object: &SObject) -> Value {
    tenant
        .tables
        .get(object.name)
        .filter(|table| !table.rows.is_empty())
        .and_then(|table| table.near(rng.random_range(1..=table.next_id)))
        .map(|row| Value::from(ids::encode(object.prefix, row.id)))
        .unwrap_or(Value::Null)
}

/// The org's user, who owns everything (from the org id the tenant is named by).
fn owner(tenant: &Tenant) -> String {
    let index = ids::decode("00D", &tenant.name).unwrap_or(1).max(1) - 1;
    schema::user_id(usize::try_from(index).unwrap_or(0))
}

/// Fields the platform sets at create: a Case's `CaseNumber`, a Lead's `IsConverted`.
pub fn auto_fields(object: &SObject, tenant: &Tenant) -> Map<String, Value> {
    let mut fields = Map::new();
    match object.name {
        "Case" => {
            let next = tenant.tables.get("Case").map_or(1, |t| t.next_id + 1);
            fields.insert("CaseNumber".into(), format!("{:08}", 1000 + next).into());
        }
        "Lead" => {
            fields.insert("IsConverted".into(), false.into());
        }
        _ => {}
    }
    fields
}

/// The fields of a new record (without id and dates, which the engine keeps). `linked` points
/// it at an existing account (and a case at a contact) of the org.
pub fn new_fields(
    object: &SObject,
    rng: &mut StdRng,
    tenant: &Tenant,
    now_ms: i64,
    linked: bool,
) -> Map<String, Value> {
    let (first, last) = (pick(rng, FIRST), pick(rng, LAST));
    let company = pick(rng, COMPANIES);
    let (city, state, country) = *CITIES.choose(rng).unwrap_or(&CITIES[0]);
    let phone = format!(
        "({}) 555-{:04}",
        rng.random_range(200..999),
        rng.random_range(0..10_000)
    );
    let email = format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        rng.random_range(1..1000)
    );
    let mut link = |object: &SObject| {
        if linked {
            some_record(rng, tenant, object)
        } else {
            Value::Null
        }
    };
    let account = if matches!(object.name, "Contact" | "Opportunity" | "Case") {
        link(&schema::ACCOUNT)
    } else {
        Value::Null
    };
    let contact = if object.name == "Case" {
        link(&schema::CONTACT)
    } else {
        Value::Null
    };
    let value = match object.name {
        "Account" => json!({
            "Name": company, "Type": pick(rng, ACCOUNT_TYPES), "Industry": pick(rng, INDUSTRIES),
            "Rating": pick(rng, RATINGS), "Phone": phone,
            "Website": format!("www.{}.example.com", slug(company)),
            "BillingStreet": format!("{} Market St", rng.random_range(1..2000)),
            "BillingCity": city, "BillingState": state,
            "BillingPostalCode": format!("{:05}", rng.random_range(10_000..99_999)),
            "BillingCountry": country,
            "AnnualRevenue": f64::from(rng.random_range(1..500u32)) * 100_000.0,
            "NumberOfEmployees": rng.random_range(5..20_000), "Description": null,
        }),
        "Contact" => json!({
            "FirstName": first, "LastName": last, "Email": email, "Phone": phone,
            "Title": pick(rng, TITLES), "Department": pick(rng, DEPARTMENTS),
            "AccountId": account, "MailingCity": city, "MailingCountry": country,
            "LeadSource": pick(rng, LEAD_SOURCES),
        }),
        "Lead" => json!({
            "FirstName": first, "LastName": last, "Company": company, "Title": pick(rng, TITLES),
            "Email": email, "Phone": phone, "Status": pick(rng, LEAD_STATUSES),
            "LeadSource": pick(rng, LEAD_SOURCES), "Industry": pick(rng, INDUSTRIES),
            "Rating": pick(rng, RATINGS),
        }),
        "Opportunity" => {
            let (stage, probability, forecast) = *STAGES.choose(rng).unwrap_or(&STAGES[0]);
            let close = now_ms + i64::from(rng.random_range(7..120u32)) * 86_400_000;
            json!({
                "Name": format!("{company} - {} units", rng.random_range(10..1000)),
                "StageName": stage, "CloseDate": date(close),
                "Amount": f64::from(rng.random_range(5..500u32)) * 1_000.0,
                "Probability": probability, "Type": pick(rng, OPPORTUNITY_TYPES),
                "LeadSource": pick(rng, LEAD_SOURCES), "ForecastCategoryName": forecast,
                "AccountId": account,
            })
        }
        _ => json!({
            "Subject": pick(rng, CASE_SUBJECTS), "Description": null,
            "Status": pick(rng, CASE_STATUSES), "Priority": pick(rng, PRIORITIES),
            "Origin": pick(rng, ORIGINS), "Type": pick(rng, CASE_TYPES),
            "Reason": pick(rng, CASE_REASONS), "AccountId": account, "ContactId": contact,
        }),
    };
    let mut fields = match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    fields.insert("OwnerId".into(), owner(tenant).into());
    fields.extend(auto_fields(object, tenant));
    fields
}

/// A plausible edit of an existing record, as a partial update.
pub fn edit_fields(object: &SObject, rng: &mut StdRng) -> Map<String, Value> {
    let value = match object.name {
        "Account" => json!({"Rating": pick(rng, RATINGS),
                            "NumberOfEmployees": rng.random_range(5..20_000)}),
        "Contact" => json!({"Title": pick(rng, TITLES),
                            "Phone": format!("(415) 555-{:04}", rng.random_range(0..10_000))}),
        "Lead" => json!({"Status": pick(rng, LEAD_STATUSES), "Rating": pick(rng, RATINGS)}),
        "Opportunity" => {
            let (stage, probability, forecast) = *STAGES.choose(rng).unwrap_or(&STAGES[0]);
            json!({"StageName": stage, "Probability": probability,
                   "ForecastCategoryName": forecast})
        }
        _ => json!({"Status": pick(rng, CASE_STATUSES), "Priority": pick(rng, PRIORITIES)}),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `2024-05-31` of epoch ms.
fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `Grand Hotels & Resorts` → `grandhotelsresorts`.
fn slug(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_plan_hands_out_exactly_the_requested_number_of_records() {
        for total in [0, 1, 7, 60, 61, 5_000] {
            let plan = seed_plan(total);
            assert_eq!(plan.iter().map(|(_, n)| n).sum::<usize>(), total, "{total}");
        }
        assert!(seed_plan(60).iter().all(|(_, n)| *n > 0));
    }
}
