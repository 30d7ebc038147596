//! What every QuickBooks API request meets after authentication and the per-realm limits (the
//! engine's `authenticate`: 500 a minute and 10 at once per realm, §4.7), before its handler
//! (`shared/research/providers.md` §4.1, §4.8):
//!
//! 1. `Accept: application/json` — QuickBooks answers XML otherwise, which this simulator does
//!    not write, so a request that does not ask for JSON is refused with a Fault saying so.
//! 2. `minorversion` of 75 or later (minor versions 1–74 are retired).
//! 3. The `realmId` of the path must be the company the token was granted for.
//! 4. With `fault_in_200_rate`, some requests get a `SystemFault` inside HTTP 200.
//!
//! And, outermost, every answer carries an `intuit_tid` header.
//!
//! Choices where undocumented: the Accept refusal is 406 with a `ValidationFault` 2010 (so a
//! client that forgets the header learns it at once, rather than from XML it cannot read); a
//! missing `minorversion` is refused like an old one; a token of another company is 403.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::engine::sim::Caller;
use crate::quickbooks::faults::QboFault;
use crate::quickbooks::state::Qb;

/// The oldest minor version QuickBooks still serves (§4.1).
pub const MIN_MINOR_VERSION: u32 = 75;

fn asks_for_json(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("application/json"))
}

fn minor_version(request: &Request) -> Option<u32> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(request.uri().query().unwrap_or("")).ok()?;
    pairs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("minorversion"))
        .and_then(|(_, value)| value.trim().parse().ok())
}

/// The `realmId` of `/v3/company/{realmId}/…`.
fn path_realm(request: &Request) -> Option<&str> {
    request
        .uri()
        .path()
        .strip_prefix("/v3/company/")?
        .split('/')
        .next()
}

pub(crate) async fn checks(State(qb): State<Qb>, request: Request, next: Next) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        // `authenticate` runs first and always leaves the caller; refuse rather than guess.
        return QboFault::other_company().into_response();
    };
    let time = qb.time(caller.tenant);
    if !asks_for_json(&request) {
        let mut fault = QboFault::invalid(
            "This simulator answers JSON only: send Accept: application/json (QuickBooks \
             answers XML without it)",
        )
        .element("Accept")
        .at(time);
        fault.status = StatusCode::NOT_ACCEPTABLE;
        return fault.into_response();
    }
    match minor_version(&request) {
        Some(version) if version >= MIN_MINOR_VERSION => {}
        found => {
            let detail = match found {
                Some(version) => format!(
                    "Minor version {version} is no longer supported: send minorversion={MIN_MINOR_VERSION} or later"
                ),
                None => format!(
                    "minorversion is required: send minorversion={MIN_MINOR_VERSION} or later"
                ),
            };
            return QboFault::invalid(detail)
                .element("minorversion")
                .at(time)
                .into_response();
        }
    }
    if path_realm(&request) != Some(qb.sim.tenant_name(caller.tenant).as_str()) {
        return QboFault::other_company().at(time).into_response();
    }
    if qb.qb.fault_in_200_now() {
        return QboFault::in_200().at(time).into_response();
    }
    next.run(request).await
}

/// Adds `intuit_tid` to every answer.
pub(crate) async fn transaction_id(State(qb): State<Qb>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&qb.qb.transaction_id()) {
        response.headers_mut().insert("intuit_tid", value);
    }
    response
}
