//! The polling figures' ceilings: what a plain client does with the same simulator, with none
//! of Tributary's work — the requests of an idle poll sent bare in a loop, and the records of a
//! backfill paged bare the way a client that knows the provider would page them:
//!
//! - Keap: the contacts since a date, `limit` and `offset` in turn;
//! - Salesforce: the poll's own SOQL, then each `nextRecordsUrl` until `done`;
//! - HubSpot: search pages of 200 by `after`, restarted after the last (modified time, id) read
//!   before the 10,000-result cap (one query with two filter groups, as the simulator's own test
//!   client does — it trusts the simulator's tie order, which Tributary does not);
//! - QuickBooks: CDC from the backfill's start, restarted from the last second of a full
//!   answer (1,000 objects) until one is not full.

use std::time::Instant;

use anyhow::{Context, ensure};
use indicatif::ProgressBar;
use reqwest::Method;
use serde_json::{Value, json};

use super::{BenchElement, Harness, count, step};

/// One request of a bare loop.
#[derive(Debug, Clone)]
pub(super) struct BareRequest {
    pub method: Method,
    pub url: String,
    pub body: Option<Value>,
}

impl BareRequest {
    fn get(url: String) -> BareRequest {
        BareRequest {
            method: Method::GET,
            url,
            body: None,
        }
    }

    /// Sends it with `token`; the body read, the status checked.
    pub async fn send(&self, http: &reqwest::Client, token: &str) -> anyhow::Result<Vec<u8>> {
        let mut request = http
            .request(self.method.clone(), &self.url)
            .bearer_auth(token)
            // QuickBooks answers XML otherwise; the others ignore it.
            .header("accept", "application/json");
        if let Some(body) = &self.body {
            request = request.json(body);
        }
        let response = request.send().await?;
        ensure!(
            response.status().is_success(),
            "the simulator answered {}",
            response.status()
        );
        Ok(response.bytes().await?.to_vec())
    }
}

/// The simulator's request log (GET /_sim/requests).
pub(super) async fn request_log(bench: &Harness) -> anyhow::Result<Vec<Value>> {
    Ok(bench
        .http
        .get(format!("{}/_sim/requests", bench.sim.url()))
        .send()
        .await?
        .json()
        .await?)
}

/// The provider requests the simulator logged: every call but the token endpoint's.
pub(super) async fn provider_requests(bench: &Harness) -> anyhow::Result<usize> {
    Ok(request_log(bench)
        .await?
        .iter()
        .filter(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            !(path.contains("oauth") || path.ends_with("/token"))
        })
        .count())
}

/// The last logged request whose path ends with `suffix`, as a bare GET.
async fn logged_get(bench: &Harness, suffix: &str) -> anyhow::Result<BareRequest> {
    let logged = request_log(bench)
        .await?
        .into_iter()
        .rfind(|r| r["method"] == "GET" && r["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
        .with_context(|| format!("no poll made a {suffix} request"))?;
    Ok(BareRequest::get(format!(
        "{}{}?{}",
        bench.sim.url(),
        logged["path"].as_str().unwrap_or_default(),
        logged["query"].as_str().unwrap_or_default()
    )))
}

/// The requests of one idle poll, sent in turn by the sustained figure's bare loop: Keap's
/// contacts since a date; for the others, the poll's own requests (HubSpot's search, rebuilt
/// as the poll sends it, and its archived list).
pub(super) async fn idle_requests(bench: &Harness) -> anyhow::Result<Vec<BareRequest>> {
    let origin = bench.sim.url();
    Ok(match bench.element {
        BenchElement::Infusionsoft => vec![BareRequest::get(format!(
            "{origin}/crm/rest/v1/contacts?since=2026-01-01T00%3A00%3A00.000Z&limit=1000&offset=0"
        ))],
        BenchElement::Salesforce => vec![logged_get(bench, "/query").await?],
        BenchElement::HubSpot => vec![
            BareRequest {
                method: Method::POST,
                url: format!("{origin}/crm/v3/objects/contacts/search"),
                body: Some(json!({
                    "filterGroups": [{"filters": [
                        {"propertyName": "lastmodifieddate", "operator": "GTE",
                         "value": "4102444800000"}]}],
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "limit": 200,
                })),
            },
            logged_get(bench, "/contacts").await?,
        ],
        BenchElement::QuickBooks => vec![logged_get(bench, "/cdc").await?],
    })
}

/// What bare paging read.
pub(super) struct Paged {
    pub records: usize,
    pub pages: usize,
    pub page_size: usize,
    pub seconds: f64,
}

/// Pages the backfill's `records` bare (see the module docs); `page_request` is the first
/// poll's logged page request, `since_ms` when the backfill began (provider time).
pub(super) async fn backfill(
    bench: &Harness,
    bar: &ProgressBar,
    page_request: &Value,
    token: &str,
    records: usize,
    since_ms: i64,
) -> anyhow::Result<Paged> {
    match bench.element {
        BenchElement::Infusionsoft => offset_paging(bench, bar, page_request, token, records).await,
        BenchElement::Salesforce => locator_paging(bench, bar, page_request, token).await,
        BenchElement::HubSpot => search_paging(bench, bar, token, since_ms).await,
        BenchElement::QuickBooks => feed_paging(bench, bar, token, since_ms).await,
    }
}

/// The URL of a logged page request without its `limit` and `offset`, ending in `?` or `&`
/// for them, and its page size.
fn paging_url(bench: &Harness, request: &Value) -> anyhow::Result<(String, usize)> {
    let path = request["path"].as_str().unwrap_or_default();
    let query = request["query"].as_str().unwrap_or_default();
    let logged = reqwest::Url::parse(&format!("{}{path}?{query}", bench.sim.url()))?;
    let mut page_size = None;
    let mut url = logged.clone();
    url.query_pairs_mut().clear();
    for (key, value) in logged.query_pairs() {
        match &*key {
            "limit" => page_size = value.parse::<usize>().ok(),
            "offset" => {}
            _ => {
                url.query_pairs_mut().append_pair(&key, &value);
            }
        }
    }
    let page_size = page_size
        .filter(|&size| size > 0)
        .with_context(|| format!("the poll's page request has no limit: {path}?{query}"))?;
    let mut text = url.to_string();
    if !text.ends_with('?') {
        text.push(if text.contains('?') { '&' } else { '?' });
    }
    Ok((text, page_size))
}

/// Keap: the poll's page request with `limit` and each `offset` in turn.
async fn offset_paging(
    bench: &Harness,
    bar: &ProgressBar,
    page_request: &Value,
    token: &str,
    records: usize,
) -> anyhow::Result<Paged> {
    let (pages_url, page_size) = paging_url(bench, page_request)?;
    let pages = records.div_ceil(page_size);
    step(
        bar,
        format!("ceiling: bare paging, {} GETs of {page_size}", count(pages)),
        pages as u64,
    );
    let mut bodies = Vec::with_capacity(pages);
    let started = Instant::now();
    for page in 0..pages {
        let request = BareRequest::get(format!(
            "{pages_url}limit={page_size}&offset={}",
            page * page_size
        ));
        bodies.push(request.send(&bench.http, token).await?);
        bar.inc(1);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut paged = 0;
    for body in &bodies {
        let page: Value = serde_json::from_slice(body)?;
        paged += page["contacts"].as_array().map_or(0, Vec::len);
    }
    Ok(Paged {
        records: paged,
        pages,
        page_size,
        seconds,
    })
}

/// Salesforce: the poll's query with its batch size, then each `nextRecordsUrl` until `done`
/// (a locator's pages must be read to know the next one, so each body is parsed).
async fn locator_paging(
    bench: &Harness,
    bar: &ProgressBar,
    page_request: &Value,
    token: &str,
) -> anyhow::Result<Paged> {
    // The poll asks for the element's largest batch.
    let page_size = bench
        .state
        .registry
        .get(bench.element.key())
        .map_or(2_000, |e| e.api.max_page_size as usize);
    step(
        bar,
        format!("ceiling: bare paging, batches of {page_size}"),
        1,
    );
    let origin = bench.sim.url();
    let mut url = format!(
        "{origin}{}?{}",
        page_request["path"].as_str().unwrap_or_default(),
        page_request["query"].as_str().unwrap_or_default()
    );
    let (mut records, mut pages) = (0, 0);
    let started = Instant::now();
    loop {
        let response = bench
            .http
            .get(&url)
            .bearer_auth(token)
            .header("Sforce-Query-Options", format!("batchSize={page_size}"))
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "the simulator answered {}",
            response.status()
        );
        let page: Value = serde_json::from_slice(&response.bytes().await?)?;
        pages += 1;
        records += page["records"].as_array().map_or(0, Vec::len);
        match page["nextRecordsUrl"].as_str() {
            Some(next) if page["done"] == false => url = format!("{origin}{next}"),
            _ => break,
        }
    }
    bar.inc(1);
    Ok(Paged {
        records,
        pages,
        page_size,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// HubSpot: search pages of 200, restarted after the last (modified time, id) before the cap.
async fn search_paging(
    bench: &Harness,
    bar: &ProgressBar,
    token: &str,
    since_ms: i64,
) -> anyhow::Result<Paged> {
    const LIMIT: usize = 200;
    const CAP: usize = 10_000;
    step(
        bar,
        format!("ceiling: bare search pages of {LIMIT}, restarted at the cap"),
        1,
    );
    let url = format!("{}/crm/v3/objects/contacts/search", bench.sim.url());
    let (mut records, mut pages) = (0, 0);
    let mut last: Option<(i64, i64)> = None;
    let started = Instant::now();
    'windows: loop {
        let groups = match last {
            None => json!([{"filters": [
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": since_ms.to_string()}
            ]}]),
            Some((time, id)) => json!([
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT",
                              "value": time.to_string()}]},
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "EQ",
                              "value": time.to_string()},
                             {"propertyName": "hs_object_id", "operator": "GT",
                              "value": id.to_string()}]}
            ]),
        };
        let mut after = 0;
        loop {
            let request = BareRequest {
                method: Method::POST,
                url: url.clone(),
                body: Some(json!({
                    "filterGroups": groups,
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "limit": LIMIT,
                    "after": after.to_string(),
                })),
            };
            let page: Value = serde_json::from_slice(&request.send(&bench.http, token).await?)?;
            pages += 1;
            for record in page["results"].as_array().into_iter().flatten() {
                records += 1;
                let id = record["id"].as_str().and_then(|i| i.parse().ok());
                let time = record["updatedAt"]
                    .as_str()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(|t| t.as_millisecond());
                if let (Some(time), Some(id)) = (time, id) {
                    last = Some((time, id));
                }
            }
            match page["paging"]["next"]["after"].as_str() {
                None => break 'windows,
                Some(next) => after = next.parse().context("a bad search cursor")?,
            }
            if after + LIMIT > CAP {
                continue 'windows;
            }
        }
    }
    bar.inc(1);
    Ok(Paged {
        records,
        pages,
        page_size: LIMIT,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// QuickBooks: CDC of customers from the backfill's start, restarted from the last second of a
/// full answer; what is older than that second is kept.
async fn feed_paging(
    bench: &Harness,
    bar: &ProgressBar,
    token: &str,
    since_ms: i64,
) -> anyhow::Result<Paged> {
    const CAP: usize = 1_000;
    step(bar, "ceiling: bare CDC calls, narrowed at the cap", 1);
    let realm = tributary_simulator::quickbooks::realm_id(0);
    let origin = bench.sim.url();
    let at = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
            .unwrap_or_default()
    };
    let mut seen = std::collections::HashSet::new();
    let (mut since, mut pages) = (since_ms, 0);
    let started = Instant::now();
    loop {
        let mut url = reqwest::Url::parse(&format!("{origin}/v3/company/{realm}/cdc"))?;
        url.query_pairs_mut()
            .append_pair("entities", "Customer")
            .append_pair("changedSince", &at(since))
            .append_pair("minorversion", "75");
        let body: Value = serde_json::from_slice(
            &BareRequest::get(url.into())
                .send(&bench.http, token)
                .await?,
        )?;
        pages += 1;
        let objects = body["CDCResponse"][0]["QueryResponse"][0]["Customer"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let time = |object: &Value| {
            object["MetaData"]["LastUpdatedTime"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map_or(0, |t| t.as_millisecond())
        };
        let full = objects.len() >= CAP;
        let last = objects.iter().map(time).max().unwrap_or(since);
        for object in &objects {
            if full && time(object) == last {
                continue; // read again from that second by the next call
            }
            seen.insert(object["Id"].as_str().unwrap_or_default().to_owned());
        }
        ensure!(!full || last > since, "a thousand changes share one second");
        if !full {
            break;
        }
        since = last;
    }
    bar.inc(1);
    Ok(Paged {
        records: seen.len(),
        pages,
        page_size: CAP,
        seconds: started.elapsed().as_secs_f64(),
    })
}
