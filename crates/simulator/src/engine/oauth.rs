//! OAuth 2.0's authorization-code flow, as every simulated provider runs it: the consent page (a
//! person's "Allow" or a script's `POST allow=true`), single-use expiring codes, and the token
//! endpoint with refresh, optional rotation and revocation.
//!
//! The provider decides the paths and words ([`OAuthStyle`]), which scopes exist, what the
//! redirect carries besides the code, and how token responses and errors look. The engine
//! decides the rest: checks happen in the same order for every provider (form, grant type, client
//! credentials, then the grant), a code dies when presented, and a refresh token presented by
//! another client survives (a stranger must not be able to revoke it).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;

use crate::engine::http::{escape_html, form_pairs, html};
use crate::engine::provider::{GrantedScope, Issued, OAuthStyle, TokenError};
use crate::engine::settings::ClientApp;
use crate::engine::sim::{Grant, Simulator};

/// The consent page at `path` (a browser's, outside the API gateway).
pub(crate) fn consent_router(path: &str) -> Router<Simulator> {
    Router::new().route(path, get(consent_page).post(authorize))
}

/// The token endpoint at `path` (the provider puts it behind the gateway: logged, faultable).
pub(crate) fn token_router(path: &str) -> Router<Simulator> {
    Router::new().route(path, post(token))
}

fn error_page(style: &OAuthStyle, status: StatusCode, text: &str) -> Response {
    html(
        status,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{brand} - Authorization error</title></head>\n<body><h1>Authorization error</h1>\
             <p>{}</p></body></html>\n",
            escape_html(text),
            brand = style.brand,
        ),
    )
}

/// The parameters of an authorization request, checked.
struct AuthorizeRequest {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scope: GrantedScope,
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
    if sim.settings().client(&client_id).is_none() {
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
    let scope = sim.provider().check_scope(get("scope").as_deref())?;
    Ok(AuthorizeRequest {
        client_id,
        redirect_uri,
        state: get("state"),
        scope,
    })
}

/// `GET {authorize}`: the page a person sees, with Allow and Deny.
async fn consent_page(State(sim): State<Simulator>, RawQuery(query): RawQuery) -> Response {
    let style = sim.provider().oauth().clone();
    let params = form_pairs(query.as_deref().unwrap_or("")).unwrap_or_default();
    let request = match check_authorize(&sim, &params) {
        Ok(request) => request,
        Err(text) => return error_page(&style, StatusCode::BAD_REQUEST, text),
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
    let tenants = sim.settings().tenants.max(1);
    let chooser = if tenants > 1 {
        let options: String = (0..tenants)
            .map(|i| {
                let name = escape_html(&sim.tenant_name(i));
                format!("<option value=\"{name}\">{name}</option>")
            })
            .collect();
        format!(
            "<p><label for=\"tenant\">{label}</label> <select id=\"tenant\" name=\"tenant\">{options}</select></p>\n",
            label = style.tenant_label,
        )
    } else {
        format!(
            "<input type=\"hidden\" name=\"tenant\" value=\"{}\">\n",
            escape_html(&sim.tenant_name(0))
        )
    };
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{brand} - Allow access</title></head>\n<body>\n<main>\n\
             <h1>Allow access</h1>\n<p><strong>{client}</strong> would like to access your {brand} \
             account.</p>\n<form method=\"post\" action=\"{action}\">\n{hidden}{chooser}\
             <button type=\"submit\" name=\"allow\" value=\"true\">Allow</button>\n\
             <button type=\"submit\" name=\"allow\" value=\"false\">Deny</button>\n</form>\n\
             </main>\n</body></html>\n",
            brand = style.brand,
            action = style.authorize_path,
            client = escape_html(&request.client_id),
        ),
    )
}

/// `POST {authorize}`: the consent decision. Query parameters and form fields are read together
/// (form fields win), so scripts can post `allow=true` to the page's own URL.
async fn authorize(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let style = sim.provider().oauth().clone();
    let mut params = form_pairs(query.as_deref().unwrap_or("")).unwrap_or_default();
    let Some(form) = std::str::from_utf8(&body).ok().and_then(form_pairs) else {
        return error_page(&style, StatusCode::BAD_REQUEST, "Malformed form body");
    };
    params.extend(form);
    let request = match check_authorize(&sim, &params) {
        Ok(request) => request,
        Err(text) => return error_page(&style, StatusCode::BAD_REQUEST, text),
    };
    let tenant = match params.get("tenant").map(String::as_str) {
        None | Some("") => 0,
        Some(name) => match sim.tenant_index(name) {
            Some(index) => index,
            None => {
                return error_page(
                    &style,
                    StatusCode::BAD_REQUEST,
                    &format!("Unknown tenant {name}"),
                );
            }
        },
    };
    let mut location = match reqwest::Url::parse(&request.redirect_uri) {
        Ok(url) => url,
        Err(_) => return error_page(&style, StatusCode::BAD_REQUEST, "Invalid redirect_uri"),
    };
    if params.get("allow").map(String::as_str) == Some("true") {
        let code = {
            let mut state = sim.state();
            let code = state.random_token();
            let expires_ms = sim.base_now().saturating_add(sim.settings().code_ttl_ms);
            state.codes.insert(
                code.clone(),
                Grant {
                    client_id: request.client_id.clone(),
                    tenant,
                    expires_ms,
                    redirect_uri: Some(request.redirect_uri.clone()),
                    scope: request.scope.clone(),
                },
            );
            code
        };
        let extra = sim
            .provider()
            .consent_params(&sim.tenant_name(tenant), &request.scope);
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        for (key, value) in extra {
            pairs.append_pair(key, &value);
        }
    } else {
        location
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", style.denied);
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

/// The client's credentials from Basic auth (when the provider reads it), else from the form.
fn client_credentials(
    style: &OAuthStyle,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<ClientApp> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .filter(|_| style.basic_auth)
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

/// `POST {token}`.
async fn token(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&sim, &headers, &body) {
        Ok(issued) => sim.provider().token_issued(&issued),
        Err(error) => sim.provider().token_error(error),
    }
}

/// Checks a token request and issues tokens.
fn exchange(sim: &Simulator, headers: &HeaderMap, body: &[u8]) -> Result<Issued, TokenError> {
    let style = sim.provider().oauth();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form = match std::str::from_utf8(body).ok().and_then(form_pairs) {
        Some(form) if is_form => form,
        _ => return Err(TokenError::NotAForm),
    };
    let Some(grant_type) = form.get("grant_type").filter(|g| !g.is_empty()) else {
        return Err(TokenError::MissingGrantType);
    };
    let Some(client) = client_credentials(style, headers, &form) else {
        return Err(TokenError::MissingClient);
    };
    let settings = sim.settings();
    match settings.client(&client.id) {
        Some(known) if known.secret == client.secret => {}
        Some(_) => return Err(TokenError::WrongSecret),
        None => return Err(TokenError::UnknownClient),
    }
    let now = sim.base_now();
    let mut state = sim.state();
    let mut presented = None;
    let (grant, with_refresh) = match grant_type.as_str() {
        "authorization_code" => {
            let code = form.get("code").ok_or(TokenError::MissingCode)?;
            let redirect_uri = form
                .get("redirect_uri")
                .ok_or(TokenError::MissingRedirectUri)?;
            // Single use: the code is gone whatever happens next.
            let grant = match state.codes.remove(code) {
                Some(grant) if grant.expires_ms <= now => return Err(TokenError::CodeExpired),
                Some(grant) if grant.client_id != client.id => {
                    return Err(TokenError::InvalidCode);
                }
                Some(grant) if grant.redirect_uri.as_deref() != Some(redirect_uri.as_str()) => {
                    return Err(TokenError::RedirectMismatch);
                }
                Some(grant) => grant,
                None => return Err(TokenError::InvalidCode),
            };
            let refresh = grant.scope.refresh;
            (grant, refresh)
        }
        "refresh_token" => {
            let refresh = form
                .get("refresh_token")
                .ok_or(TokenError::MissingRefreshToken)?;
            let grant = match state.refresh_tokens.get(refresh) {
                Some(grant) if grant.client_id != client.id => {
                    return Err(TokenError::InvalidRefreshToken);
                }
                Some(grant) if grant.expires_ms > now => grant.clone(),
                Some(_) => {
                    state.refresh_tokens.remove(refresh);
                    return Err(TokenError::InvalidRefreshToken);
                }
                None => return Err(TokenError::InvalidRefreshToken),
            };
            if settings.rotate_refresh_tokens {
                // Rotation: the presented refresh token dies now.
                state.refresh_tokens.remove(refresh);
            } else {
                presented = Some(refresh.clone());
            }
            (grant, settings.rotate_refresh_tokens)
        }
        other => return Err(TokenError::UnsupportedGrantType(other.to_owned())),
    };
    let access = state.random_token();
    state.access_tokens.insert(
        access.clone(),
        Grant {
            client_id: client.id.clone(),
            tenant: grant.tenant,
            expires_ms: now.saturating_add(settings.access_ttl_ms),
            redirect_uri: None,
            scope: grant.scope.clone(),
        },
    );
    let refresh = with_refresh.then(|| {
        let refresh = state.random_token();
        state.refresh_tokens.insert(
            refresh.clone(),
            Grant {
                client_id: client.id.clone(),
                tenant: grant.tenant,
                expires_ms: now.saturating_add(settings.refresh_ttl_ms),
                redirect_uri: None,
                scope: grant.scope.clone(),
            },
        );
        refresh
    });
    drop(state);
    Ok(Issued {
        tenant: grant.tenant,
        tenant_name: sim.tenant_name(grant.tenant),
        access_token: access,
        refresh_token: refresh,
        presented_refresh_token: presented,
        access_ttl_secs: settings.access_ttl_ms / 1000,
        issued_at_ms: now,
        scope: grant.scope,
        origin: sim.origin(),
    })
}
