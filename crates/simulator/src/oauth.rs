//! OAuth 2.0 as Keap runs it: the consent page, single-use codes, and `/token` with rotation.
//!
//! Quirks kept on purpose (`shared/research/infusionsoft.md` §1): the token endpoint takes only
//! form bodies (JSON gets `invalid_request` "response_type or grant_type is required"); the
//! client authenticates in the body or with Basic auth; every refresh returns a new refresh token
//! and kills the old one; `scope` comes back as `full|<tenant>`. Access tokens issued before a
//! refresh stay valid until their own expiry (the real behaviour is undocumented).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::json;

use crate::config::ClientApp;
use crate::http::{escape_html, html};
use crate::sim::{Grant, Simulator, tenant_name};

/// The consent page (a browser's, outside the API gateway).
pub fn consent_router() -> Router<Simulator> {
    Router::new().route("/app/oauth/authorize", get(consent_page).post(authorize))
}

/// The token endpoint (behind the gateway: logged, faultable).
pub fn token_router() -> Router<Simulator> {
    Router::new().route("/token", post(token))
}

fn form_pairs(text: &str) -> Option<HashMap<String, String>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(text)
        .ok()
        .map(|pairs| pairs.into_iter().collect())
}

fn error_page(status: StatusCode, text: &str) -> Response {
    html(
        status,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Keap - Authorization error</title></head>\n<body><h1>Authorization error</h1>\
             <p>{}</p></body></html>\n",
            escape_html(text)
        ),
    )
}

/// The parameters of an authorization request, checked.
struct AuthorizeRequest {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
}

/// Checks an authorization request; the error is the text of the HTML error page.
fn check_authorize(
    sim: &Simulator,
    params: &HashMap<String, String>,
) -> Result<AuthorizeRequest, &'static str> {
    let get = |key: &str| params.get(key).filter(|v| !v.is_empty()).cloned();
    let Some(client_id) = get("client_id") else {
        return Err("Missing client_id");
    };
    if sim.config().client(&client_id).is_none() {
        return Err("Invalid client_id");
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return Err("Missing redirect_uri");
    };
    if reqwest::Url::parse(&redirect_uri).is_err() {
        return Err("Invalid redirect_uri");
    }
    if get("response_type").is_some_and(|t| t != "code") {
        return Err("Unsupported response_type: only code");
    }
    if get("scope").is_some_and(|s| s != "full") {
        return Err("Unsupported scope: only full");
    }
    Ok(AuthorizeRequest {
        client_id,
        redirect_uri,
        state: get("state"),
    })
}

/// `GET /app/oauth/authorize`: the page a person sees, with Allow and Deny.
async fn consent_page(State(sim): State<Simulator>, RawQuery(query): RawQuery) -> Response {
    let params = form_pairs(query.as_deref().unwrap_or("")).unwrap_or_default();
    let request = match check_authorize(&sim, &params) {
        Ok(request) => request,
        Err(text) => return error_page(StatusCode::BAD_REQUEST, text),
    };
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
    ]
    .iter()
    .filter_map(|key| params.get(*key).map(|value| (key, value)))
    .map(|(key, value)| {
        format!(
            "<input type=\"hidden\" name=\"{key}\" value=\"{}\">\n",
            escape_html(value)
        )
    })
    .collect();
    let tenants = sim.config().tenants.max(1);
    let chooser = if tenants > 1 {
        let options: String = (0..tenants)
            .map(|i| {
                let name = tenant_name(i);
                format!("<option value=\"{name}\">{name}</option>")
            })
            .collect();
        format!(
            "<p><label for=\"tenant\">Keap app</label> <select id=\"tenant\" name=\"tenant\">{options}</select></p>\n"
        )
    } else {
        format!(
            "<input type=\"hidden\" name=\"tenant\" value=\"{}\">\n",
            tenant_name(0)
        )
    };
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Keap - Allow access</title></head>\n<body>\n<main>\n\
             <h1>Allow access</h1>\n<p><strong>{client}</strong> would like to access your Keap \
             account.</p>\n<form method=\"post\" action=\"/app/oauth/authorize\">\n{hidden}{chooser}\
             <button type=\"submit\" name=\"allow\" value=\"true\">Allow</button>\n\
             <button type=\"submit\" name=\"allow\" value=\"false\">Deny</button>\n</form>\n\
             </main>\n</body></html>\n",
            client = escape_html(&request.client_id),
        ),
    )
}

/// `POST /app/oauth/authorize`: the consent decision. Query parameters and form fields are read
/// together (form fields win), so scripts can post `allow=true` to the page's own URL.
async fn authorize(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params = form_pairs(query.as_deref().unwrap_or("")).unwrap_or_default();
    let Some(form) = std::str::from_utf8(&body).ok().and_then(form_pairs) else {
        return error_page(StatusCode::BAD_REQUEST, "Malformed form body");
    };
    params.extend(form);
    let request = match check_authorize(&sim, &params) {
        Ok(request) => request,
        Err(text) => return error_page(StatusCode::BAD_REQUEST, text),
    };
    let tenant = match params.get("tenant").map(String::as_str) {
        None | Some("") => 0,
        Some(name) => {
            match (0..sim.config().tenants.max(1))
                .find(|i| tenant_name(*i) == name || i.to_string() == name)
            {
                Some(index) => index,
                None => {
                    return error_page(StatusCode::BAD_REQUEST, &format!("Unknown tenant {name}"));
                }
            }
        }
    };
    let mut location = match reqwest::Url::parse(&request.redirect_uri) {
        Ok(url) => url,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "Invalid redirect_uri"),
    };
    if params.get("allow").map(String::as_str) == Some("true") {
        let code = {
            let mut state = sim.state();
            let code = state.random_token();
            let expires_ms = sim.base_now() + sim.config().code_ttl_secs * 1000;
            state.codes.insert(
                code.clone(),
                Grant {
                    client_id: request.client_id.clone(),
                    tenant,
                    expires_ms,
                    redirect_uri: Some(request.redirect_uri.clone()),
                },
            );
            code
        };
        location
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("scope", &format!("full|{}", tenant_name(tenant)));
    } else {
        location
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied access");
    }
    if let Some(state) = &request.state {
        location.query_pairs_mut().append_pair("state", state);
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location.as_str()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn token_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client's credentials from Basic auth, else from the form.
fn client_credentials(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<ClientApp> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| ClientApp::parse(&text).ok());
    basic.or_else(|| {
        Some(ClientApp {
            id: form.get("client_id")?.clone(),
            secret: form.get("client_secret")?.clone(),
        })
    })
}

/// `POST /token`.
async fn token(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    const NO_GRANT: &str = "response_type or grant_type is required";
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form = match std::str::from_utf8(&body).ok().and_then(form_pairs) {
        Some(form) if is_form => form,
        _ => return token_error("invalid_request", NO_GRANT),
    };
    let Some(grant_type) = form.get("grant_type").filter(|g| !g.is_empty()).cloned() else {
        return token_error("invalid_request", NO_GRANT);
    };
    let Some(client) = client_credentials(&headers, &form) else {
        return token_error("invalid_client", "Missing client credentials");
    };
    match sim.config().client(&client.id) {
        Some(known) if known.secret == client.secret => {}
        _ => return token_error("invalid_client", "Invalid client credentials"),
    }
    let now = sim.base_now();
    let mut state = sim.state();
    let grant = match grant_type.as_str() {
        "authorization_code" => {
            let Some(code) = form.get("code") else {
                return token_error("invalid_request", "Missing code");
            };
            let Some(redirect_uri) = form.get("redirect_uri") else {
                return token_error("invalid_request", "Missing redirect_uri");
            };
            // Single use: the code is gone whatever happens next.
            match state.codes.remove(code) {
                Some(grant) if grant.expires_ms <= now => {
                    return token_error("invalid_grant", "Authorization code has expired");
                }
                Some(grant) if grant.client_id != client.id => {
                    return token_error("invalid_grant", "Invalid authorization code");
                }
                Some(grant) if grant.redirect_uri.as_deref() != Some(redirect_uri.as_str()) => {
                    return token_error("invalid_grant", "Redirect URI mismatch");
                }
                Some(grant) => grant,
                None => return token_error("invalid_grant", "Invalid authorization code"),
            }
        }
        "refresh_token" => {
            let Some(refresh) = form.get("refresh_token") else {
                return token_error("invalid_request", "Missing refresh_token");
            };
            // Rotation: the presented refresh token dies now, unless it belongs to another
            // client (a stranger must not be able to revoke it).
            match state.refresh_tokens.remove(refresh) {
                Some(grant) if grant.client_id == client.id && grant.expires_ms > now => grant,
                Some(grant) if grant.client_id != client.id => {
                    state.refresh_tokens.insert(refresh.clone(), grant);
                    return token_error("invalid_grant", "Invalid refresh token");
                }
                _ => return token_error("invalid_grant", "Invalid refresh token"),
            }
        }
        other => {
            return token_error(
                "invalid_request",
                &format!("Unsupported grant_type: {other}"),
            );
        }
    };
    let config = sim.config();
    let access = state.random_token();
    let refresh = state.random_token();
    state.access_tokens.insert(
        access.clone(),
        Grant {
            client_id: client.id.clone(),
            tenant: grant.tenant,
            expires_ms: now + config.token_ttl_secs * 1000,
            redirect_uri: None,
        },
    );
    state.refresh_tokens.insert(
        refresh.clone(),
        Grant {
            client_id: client.id,
            tenant: grant.tenant,
            expires_ms: now + config.refresh_ttl_secs * 1000,
            redirect_uri: None,
        },
    );
    let mut response = axum::Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": config.token_ttl_secs,
        "refresh_token": refresh,
        "scope": format!("full|{}", tenant_name(grant.tenant)),
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
