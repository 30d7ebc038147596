//! Realistic CRM records: the initial data set and the edits of the activity generator.
//!
//! Records use the real v1 field names (see `shared/research/infusionsoft.md` §3). Values come
//! from a seeded random generator, so a simulator started with the same flags holds the same data.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};

use crate::engine::dates::{format_offset, format_zulu};
use crate::engine::records::{Row, Tenant};
use crate::infusionsoft::resources::Kind;

const GIVEN: &[&str] = &[
    "Erica", "Bob", "Priya", "Tomás", "Aiko", "Grace", "Malik", "Sofia", "Liam", "Noor", "Chen",
    "Olga", "Kwame", "Isabel", "Yusuf", "Hannah", "Mateo", "Zara", "Luca", "Amara",
];
const FAMILY: &[&str] = &[
    "Lewis",
    "Nakamura",
    "Okafor",
    "García",
    "Schmidt",
    "Patel",
    "Johansson",
    "Kim",
    "Haddad",
    "Rossi",
    "Novak",
    "Mensah",
    "Fischer",
    "Silva",
    "Dubois",
    "Walsh",
    "Ivanova",
    "Tan",
];
const COMPANIES: &[&str] = &[
    "Acme Plumbing",
    "Bright Dental",
    "Cedar Yoga",
    "Delta Roofing",
    "Evergreen Realty",
    "Fjord Coffee",
    "Granite Law",
    "Harbor Fitness",
    "Indigo Salon",
    "Juniper Bakery",
];
const PRODUCTS: &[(&str, &str, f64)] = &[
    ("Starter Plan", "STARTER", 49.0),
    ("Growth Plan", "GROWTH", 149.0),
    ("Coaching Session", "COACH-1", 95.0),
    ("Annual Retreat", "RETREAT", 1200.0),
    ("E-book Bundle", "EBOOK", 19.0),
];
const TASK_TITLES: &[&str] = &[
    "Call back",
    "Send proposal",
    "Follow up on invoice",
    "Book onboarding",
    "Check in",
];
const TASK_TYPES: &[&str] = &["Call", "Email", "Appointment", "Fax", "Letter", "Other"];
const NOTE_TYPES: &[&str] = &["Appointment", "Call", "Email", "Fax", "Letter", "Other"];
const STAGES: &[(i64, &str)] = &[
    (18, "New Opportunity"),
    (20, "Qualified"),
    (22, "Proposal Sent"),
    (24, "Won"),
];
const EMAIL_STATUSES: &[&str] = &[
    "UnengagedMarketable",
    "SingleOptIn",
    "Confirmed",
    "NonMarketable",
];
const REMIND_TIMES: &[i64] = &[5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880];

/// How many records of each resource a default simulator starts with (75 in all).
pub const DEFAULT_SEED: usize = 75;

/// How `total` initial records are shared between the resources.
pub fn seed_plan(total: usize) -> Vec<(Kind, usize)> {
    // Weights out of 75: 25 contacts, 5 companies, 8 opportunities, 10 tasks, 6 notes,
    // 6 appointments, 6 orders, 4 products, 5 transactions.
    const WEIGHTS: [(Kind, usize); 9] = [
        (Kind::Contacts, 25),
        (Kind::Companies, 5),
        (Kind::Opportunities, 8),
        (Kind::Tasks, 10),
        (Kind::Notes, 6),
        (Kind::Appointments, 6),
        (Kind::Orders, 6),
        (Kind::Products, 4),
        (Kind::Transactions, 5),
    ];
    let mut plan: Vec<(Kind, usize)> = WEIGHTS
        .iter()
        .map(|(kind, weight)| (*kind, total * weight / DEFAULT_SEED))
        .collect();
    // Hand the rounding remainder out in declaration order, contacts first.
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

/// Fills a tenant's tables with `seed` records shared between the resources: created some time
/// in the last 30 days, some edited since, tasks and orders linked to earlier contacts.
pub fn seed_tenant(tenant: &mut Tenant, rng: &mut StdRng, seed: usize, now: i64) {
    const DAY_MS: i64 = 86_400_000;
    let mut contacts: Vec<ContactRef> = Vec::new();
    for (kind, count) in seed_plan(seed) {
        for _ in 0..count {
            let created = now - rng.random_range(DAY_MS..30 * DAY_MS);
            let updated = if rng.random_bool(0.4) {
                created + rng.random_range(0..(now - created).max(1))
            } else {
                created
            };
            let contact = if contacts.is_empty() {
                None
            } else {
                contacts.get(rng.random_range(0..contacts.len())).cloned()
            };
            let fields = new_fields(kind, rng, contact.as_ref(), created);
            let table = tenant.tables.entry(kind.path()).or_default();
            let row = table.seed(created, updated, fields);
            if kind == Kind::Contacts {
                contacts.push(contact_ref(row));
            }
        }
    }
}

/// A contact as other records embed it.
pub fn contact_ref(row: &Row) -> ContactRef {
    let text = |key: &str| {
        row.fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    ContactRef {
        id: row.id,
        given: text("given_name"),
        family: text("family_name"),
        email: row
            .fields
            .get("email_addresses")
            .and_then(|emails| emails.pointer("/0/email"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    }
}

/// A contact reference as other records embed it.
#[derive(Debug, Clone)]
pub struct ContactRef {
    pub id: i64,
    pub given: String,
    pub family: String,
    pub email: String,
}

impl ContactRef {
    fn json(&self) -> Value {
        json!({"id": self.id, "email": self.email, "first_name": self.given,
               "last_name": self.family, "company_name": "", "job_title": null})
    }
}

fn pick<'a, R: Rng>(rng: &mut R, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

/// The fields of a new record (without id and dates, which the store assigns).
pub fn new_fields<R: Rng>(
    kind: Kind,
    rng: &mut R,
    contact: Option<&ContactRef>,
    now_ms: i64,
) -> Map<String, Value> {
    let contact_json = contact.map(ContactRef::json).unwrap_or(Value::Null);
    let contact_id = contact.map(|c| c.id);
    let value = match kind {
        Kind::Contacts => {
            let given = pick(rng, GIVEN);
            let family = pick(rng, FAMILY);
            let email = format!(
                "{}.{}{}@example.com",
                ascii_lower(given),
                ascii_lower(family),
                rng.random_range(1..1000)
            );
            json!({
                "given_name": given, "family_name": family, "middle_name": null,
                "email_addresses": [{"email": email, "field": "EMAIL1"}],
                "phone_numbers": [{"number": format!("555-01{:02}", rng.random_range(0..100)),
                                   "extension": "", "field": "PHONE1", "type": "Work"}],
                "addresses": [], "tag_ids": [], "company": null,
                "email_opted_in": rng.random_bool(0.5),
                "email_status": pick(rng, EMAIL_STATUSES),
                "ScoreValue": null, "owner_id": null,
            })
        }
        Kind::Companies => {
            let name = pick(rng, COMPANIES);
            json!({
                "company_name": name,
                "email_address": format!("hello@{}.example.com", ascii_lower(name)),
                "email_status": "UnengagedMarketable", "email_opted_in": false,
                "website": "", "notes": "",
                "address": {"line1": "1 Main St", "line2": "", "locality": "Phoenix",
                            "region": "AZ", "zip_code": "85001", "zip_four": "", "country_code": "USA"},
                "phone_number": {"number": "555-0100", "extension": "", "type": "Work"},
                "fax_number": null, "custom_fields": [],
            })
        }
        Kind::Opportunities => {
            let (stage_id, stage_name) = *STAGES.choose(rng).unwrap_or(&STAGES[0]);
            let revenue = f64::from(rng.random_range(5..200u32)) * 100.0;
            json!({
                "opportunity_title": format!("{} deal", pick(rng, COMPANIES)),
                "next_action_date": null, "next_action_notes": "", "opportunity_notes": "",
                "estimated_close_date": null, "include_in_forecast": 0,
                "projected_revenue_low": revenue * 0.8, "projected_revenue_high": revenue,
                "contact": contact_json,
                "stage": {"id": stage_id, "name": stage_name,
                          "details": {"probability": 0, "stage_order": stage_id / 2,
                                      "target_num_days": 1, "check_list_items": []},
                          "reasons": []},
                "user": {"id": 1, "first_name": "Integration", "last_name": "User"},
                "affiliate_id": 0, "custom_fields": [],
            })
        }
        Kind::Tasks => json!({
            "title": pick(rng, TASK_TITLES), "description": "", "type": pick(rng, TASK_TYPES),
            "priority": rng.random_range(1..4), "completed": false, "url": "",
            "contact": contact_json, "user_id": 1,
            "remind_time": *REMIND_TIMES.choose(rng).unwrap_or(&30),
            "due_date": format_offset(now_ms + 86_400_000),
            "completion_date": null, "funnel_id": null, "jgraph_id": null,
        }),
        Kind::Notes => json!({
            "title": "Spoke on the phone", "body": "Interested in the growth plan.",
            "type": pick(rng, NOTE_TYPES), "contact_id": contact_id, "user_id": 1,
            "last_updated_by": {"user_id": 1, "given_name": "Integration", "family_name": "User"},
        }),
        Kind::Appointments => {
            let start = now_ms + i64::from(rng.random_range(1..30u32)) * 86_400_000;
            json!({
                "title": "Demo", "description": "Product demo", "location": "Zoom",
                "contact_id": contact_id, "user": 1,
                "remind_time": *REMIND_TIMES.choose(rng).unwrap_or(&15),
                "start_date": format_zulu(start),
                "end_date": format_zulu(start + 3_600_000),
            })
        }
        Kind::Orders => {
            let (name, sku, price) = *PRODUCTS.choose(rng).unwrap_or(&PRODUCTS[0]);
            let paid = rng.random_bool(0.6);
            json!({
                "title": format!("Order - {name}"), "status": if paid { "PAID" } else { "SENT" },
                "recurring": false, "total": price, "total_paid": if paid { price } else { 0.0 },
                "total_due": if paid { 0.0 } else { price }, "refund_total": 0.0,
                "contact": contact_json, "notes": "", "terms": "", "order_type": "Online",
                "source_type": "API", "order_date": format_offset(now_ms),
                "lead_affiliate_id": 0, "sales_affiliate_id": 0, "allow_payment": true,
                "allow_paypal": false, "invoice_number": rng.random_range(1..100_000),
                "order_items": [{"id": rng.random_range(100..10_000), "name": name,
                    "description": "", "type": "Product", "notes": "", "quantity": 1,
                    "cost": 0.0, "price": price, "discount": 0.0,
                    "product": {"id": PRODUCTS.iter().position(|p| p.1 == sku).unwrap_or(0) + 1,
                                "name": name, "sku": sku, "description": "",
                                "shippable": false, "taxable": false}}],
                "payment_plan": null,
            })
        }
        Kind::Products => {
            let (name, sku, price) = *PRODUCTS.choose(rng).unwrap_or(&PRODUCTS[0]);
            json!({
                "sku": sku, "url": "", "status": 1, "product_name": name,
                "product_desc": "", "product_price": price, "product_short_desc": "",
                "subscription_only": false, "product_options": [], "subscription_plans": [],
            })
        }
        Kind::Transactions => {
            let (_, _, price) = *PRODUCTS.choose(rng).unwrap_or(&PRODUCTS[0]);
            json!({
                "test": false, "amount": price, "currency": "USD", "gateway": "Keap Payments",
                "paymentDate": format_offset(now_ms), "type": "Sale",
                "status": "Approved", "errors": null, "orders": [], "contact_id": contact_id,
                "gateway_account_name": "Keap Payments", "order_ids": "",
                "collection_method": "CREDIT_CARD",
            })
        }
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A plausible edit of an existing record, as a partial update.
pub fn edit_fields<R: Rng>(kind: Kind, rng: &mut R) -> Map<String, Value> {
    let value = match kind {
        Kind::Contacts => json!({"email_status": pick(rng, EMAIL_STATUSES),
                                 "email_opted_in": rng.random_bool(0.5)}),
        Kind::Companies => json!({"notes": format!("Reviewed ({})", rng.random_range(1..100))}),
        Kind::Opportunities => {
            let (stage_id, stage_name) = *STAGES.choose(rng).unwrap_or(&STAGES[0]);
            json!({"stage": {"id": stage_id, "name": stage_name,
                             "details": {"probability": 0, "stage_order": stage_id / 2,
                                         "target_num_days": 1, "check_list_items": []},
                             "reasons": []}})
        }
        Kind::Tasks => json!({"priority": rng.random_range(1..4),
                              "completed": rng.random_bool(0.3)}),
        Kind::Notes => json!({"body": format!("Follow-up #{}", rng.random_range(1..100))}),
        Kind::Appointments => json!({"location": pick(rng, &["Zoom", "Office", "Phone"])}),
        Kind::Orders => json!({"notes": format!("Updated ({})", rng.random_range(1..100))}),
        Kind::Products => json!({"product_short_desc": format!("v{}", rng.random_range(1..10))}),
        Kind::Transactions => json!({"status": pick(rng, &["Approved", "Settled"])}),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The ASCII letters of `text`, lower-cased (`García` → `garca`), for e-mail addresses.
fn ascii_lower(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_plan_hands_out_exactly_the_requested_number_of_records() {
        for total in [0, 1, 7, 75, 76, 1000, 12_345] {
            let plan = seed_plan(total);
            assert_eq!(
                plan.iter().map(|(_, n)| n).sum::<usize>(),
                total,
                "total {total}"
            );
        }
        let default = seed_plan(DEFAULT_SEED);
        assert_eq!(default[0], (Kind::Contacts, 25));
        assert!(
            default.iter().all(|(_, n)| *n > 0),
            "every resource has records"
        );
    }
}
