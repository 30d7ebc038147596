//! Realistic company records: the initial data of each company, the records the activity
//! generator and `/_sim/records` create, and its edits — in the shapes of Intuit's sample
//! company (Amy's Bird Sanctuary and friends). Invoices and payments point at an existing
//! customer of their company; transaction dates are the company's local dates. Values come from
//! a seeded random generator, so the same flags give the same data.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};

use crate::engine::records::Tenant;
use crate::quickbooks::config::CompanyOffset;
use crate::quickbooks::schema::{self, Entity};
use crate::quickbooks::time::local_date;

const FIRST: &[&str] = &[
    "Amy",
    "Bill",
    "Cool",
    "Diego",
    "Dylan",
    "Freeman",
    "Geeta",
    "Jeff",
    "John",
    "Kate",
    "Mark",
    "Nadia",
    "Paulsen",
    "Rago",
    "Sonnenschein",
    "Sushi",
    "Travis",
    "Wedding",
];
const LAST: &[&str] = &[
    "Lauren",
    "Windsor",
    "Cars",
    "Rodriguez",
    "Sporting",
    "Medical",
    "Patel",
    "Chin",
    "Melton",
    "Whelan",
    "Cho",
    "Ali",
    "Waldron",
    "Bakery",
    "Gonzalez",
];
const VENDORS: &[&str] = &[
    "Bob's Burger Joint",
    "Brosnahan Insurance Agency",
    "Cal Telephone",
    "Chin's Gas and Oil",
    "Diego's Road Warrior Bodyshop",
    "Ellis Equipment Rental",
    "Hall Properties",
    "Lee Advertising",
    "Norton Lumber and Building Materials",
    "PG&E",
    "Tania's Nursery",
];
const ITEMS: &[(&str, &str)] = &[
    ("Design", "Service"),
    ("Gardening", "Service"),
    ("Hours", "Service"),
    ("Installation", "Service"),
    ("Lighting", "Service"),
    ("Maintenance & Repair", "Service"),
    ("Pest Control", "Service"),
    ("Rock Fountain", "NonInventory"),
    ("Sprinkler Heads", "NonInventory"),
    ("Pump", "NonInventory"),
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Bayshore", "CA", "94326"),
    ("Half Moon Bay", "CA", "94213"),
    ("Middlefield", "CA", "94303"),
    ("Sunnyvale", "CA", "94086"),
    ("Tucson", "AZ", "85719"),
];
const EMAIL_STATUS: &[&str] = &["NotSet", "NeedToSend", "EmailSent"];

/// How `total` initial records are shared (weights out of 60: 18 customers, 8 vendors,
/// 10 items, 16 invoices, 8 payments), in [`schema::ALL`] order.
pub fn seed_plan(total: usize) -> Vec<(&'static Entity, usize)> {
    const WEIGHTS: [usize; 5] = [18, 8, 10, 16, 8];
    let mut plan: Vec<(&'static Entity, usize)> = schema::ALL
        .into_iter()
        .zip(WEIGHTS)
        .map(|(entity, weight)| (entity, total * weight / 60))
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

/// Fills a company's tables with `count` records created in the last 25 days (inside CDC's
/// 30-day horizon), some edited since.
pub fn seed_company(
    tenant: &mut Tenant,
    rng: &mut StdRng,
    count: usize,
    now: i64,
    company: CompanyOffset,
) {
    const DAY_MS: i64 = 86_400_000;
    for (entity, n) in seed_plan(count) {
        for _ in 0..n {
            let created = now - rng.random_range(DAY_MS..25 * DAY_MS);
            let updated = if rng.random_bool(0.4) {
                created + rng.random_range(0..(now - created).max(1))
            } else {
                created
            };
            let fields = new_fields(entity, rng, tenant, created, true, company);
            tenant
                .tables
                .entry(entity.name)
                .or_default()
                .seed(created, updated, fields);
        }
    }
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

fn money(rng: &mut StdRng, low: i64, high: i64) -> f64 {
    rng.random_range(low * 4..high * 4) as f64 / 4.0
}

/// A reference to a random live customer of the company, or to customer 1 when `linked` is off
/// or there is none.
fn customer_ref(rng: &mut StdRng, tenant: &Tenant, linked: bool) -> Value {
    let found = linked
        .then(|| tenant.tables.get("Customer"))
        .flatten()
        .filter(|table| !table.rows.is_empty())
        .and_then(|table| table.near(rng.random_range(1..=table.next_id)));
    match found {
        Some(row) => json!({
            "value": row.id.to_string(),
            "name": row.fields.get("DisplayName").cloned().unwrap_or(Value::Null),
        }),
        None => json!({"value": "1", "name": "Amy's Bird Sanctuary"}),
    }
}

/// The fields of a new record (without id and dates, which the engine keeps).
pub fn new_fields(
    entity: &Entity,
    rng: &mut StdRng,
    tenant: &Tenant,
    now_ms: i64,
    linked: bool,
    company: CompanyOffset,
) -> Map<String, Value> {
    let serial = rng.random_range(100..10_000);
    let (city, region, postal) = *CITIES.choose(rng).unwrap_or(&CITIES[0]);
    let phone = json!({"FreeFormNumber": format!("(650) 555-{:04}", rng.random_range(0..10_000))});
    let value = match entity.name {
        "Customer" => {
            let (first, last) = (pick(rng, FIRST), pick(rng, LAST));
            let display = format!("{first} {last} {serial}");
            json!({
                "DisplayName": display,
                "FullyQualifiedName": display,
                "GivenName": first,
                "FamilyName": last,
                "CompanyName": format!("{last} {}", pick(rng, &["Inc", "LLC", "& Sons", "Co"])),
                "PrimaryEmailAddr": {"Address": format!("{}@{}.example", first.to_lowercase(), last.to_lowercase())},
                "PrimaryPhone": phone,
                "BillAddr": {"Line1": format!("{} Main St.", rng.random_range(1..999)), "City": city,
                             "CountrySubDivisionCode": region, "PostalCode": postal},
                "Taxable": rng.random_bool(0.5),
                "Active": true,
                "Balance": 0,
            })
        }
        "Vendor" => {
            let name = format!("{} {serial}", pick(rng, VENDORS));
            json!({
                "DisplayName": name,
                "CompanyName": name,
                "PrimaryPhone": phone,
                "PrimaryEmailAddr": {"Address": format!("billing{serial}@vendor.example")},
                "Vendor1099": rng.random_bool(0.2),
                "Active": true,
                "Balance": 0,
            })
        }
        "Item" => {
            let (name, kind) = *ITEMS.choose(rng).unwrap_or(&ITEMS[0]);
            let name = format!("{name} {serial}");
            json!({
                "Name": name,
                "FullyQualifiedName": name,
                "Type": kind,
                "Description": format!("{name}, per unit"),
                "UnitPrice": money(rng, 5, 400),
                "Sku": format!("SKU-{serial}"),
                "Taxable": rng.random_bool(0.3),
                "IncomeAccountRef": {"value": "79", "name": "Sales of Product Income"},
                "Active": true,
            })
        }
        "Invoice" => {
            let quantity = rng.random_range(1..10);
            let price = money(rng, 10, 200);
            let amount = price * f64::from(quantity);
            json!({
                "CustomerRef": customer_ref(rng, tenant, linked),
                "Line": [{
                    "Id": "1",
                    "LineNum": 1,
                    "Amount": amount,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": "1", "name": "Services"},
                        "Qty": quantity,
                        "UnitPrice": price,
                    },
                }],
                "TxnDate": local_date(now_ms, company),
                "DueDate": local_date(now_ms + 30 * 86_400_000, company),
                "DocNumber": format!("{}", 1_000 + serial),
                "EmailStatus": pick(rng, EMAIL_STATUS),
                "TotalAmt": amount,
                "Balance": amount,
            })
        }
        "Payment" => {
            let amount = money(rng, 20, 900);
            json!({
                "CustomerRef": customer_ref(rng, tenant, linked),
                "TotalAmt": amount,
                "UnappliedAmt": amount,
                "TxnDate": local_date(now_ms, company),
                "PaymentRefNum": format!("{serial}"),
            })
        }
        _ => json!({}),
    };
    value.as_object().cloned().unwrap_or_default()
}

/// A plausible edit, as a partial update that keeps the platform's fields consistent.
pub fn edit_fields(entity: &Entity, rng: &mut StdRng) -> Map<String, Value> {
    let value = match entity.name {
        "Customer" | "Vendor" => json!({
            "PrimaryPhone": {"FreeFormNumber": format!("(415) 555-{:04}", rng.random_range(0..10_000))},
        }),
        "Item" => json!({ "UnitPrice": money(rng, 5, 400) }),
        "Invoice" => json!({ "EmailStatus": pick(rng, EMAIL_STATUS) }),
        "Payment" => json!({ "PaymentRefNum": format!("{}", rng.random_range(100..10_000)) }),
        _ => json!({}),
    };
    value.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_plan_hands_out_exactly_the_requested_number_of_records() {
        for total in [0, 1, 7, 60, 61, 1_000] {
            let plan = seed_plan(total);
            assert_eq!(plan.iter().map(|(_, n)| n).sum::<usize>(), total);
        }
    }
}
