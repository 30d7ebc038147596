//! The UI session: its cookie, its lookup, and CSRF token comparison.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use tributary_store::Principal;

use crate::secrets::hash_secret;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tributary_session";
/// The CSRF token of the sign-in form, before there is a session to hold one.
pub const CSRF_COOKIE: &str = "tributary_csrf";

/// A signed-in user: extracted as `Option<UiSession>`, `None` when the cookie is missing,
/// unknown or expired.
#[derive(Debug, Clone)]
pub struct UiSession {
    pub principal: Principal,
    pub csrf: String,
    pub token_hash: Vec<u8>,
}

impl OptionalFromRequestParts<AppState> for UiSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let token_hash = hash_secret(&token);
        match state.store.session(&token_hash, state.now_ms()).await {
            Ok(Some(session)) => Ok(Some(UiSession {
                principal: session.principal,
                csrf: session.csrf,
                token_hash,
            })),
            Ok(None) => Ok(None),
            Err(error) => {
                // Treated as signed out: the sign-in page says nothing wrong, the log does.
                tracing::error!(%error, "could not read a UI session");
                Ok(None)
            }
        }
    }
}

impl FromRequestParts<AppState> for UiSession {
    type Rejection = axum::response::Redirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match <UiSession as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
        {
            Ok(Some(session)) => Ok(session),
            _ => Err(axum::response::Redirect::to("/sign-in")),
        }
    }
}

/// The value of a cookie in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, for the whole site; `max_age` 0 clears it.
pub fn cookie(name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(seconds) = max_age {
        text.push_str(&format!("; Max-Age={seconds}"));
    }
    text
}

/// Marks every cookie a response sets `Secure` when users reach this server over https
/// (`TRIBUTARY_PUBLIC_URL`), so a browser never sends the session over plain http. Behind a
/// TLS terminator the server itself sees plain http, so only that setting can tell (issue 16).
pub async fn secure_cookies(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    if !state.settings.public_url_is_https() {
        return response;
    }
    let headers = response.headers_mut();
    let set: Vec<_> = headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| format!("{v}; Secure"))
        .collect();
    if !set.is_empty() {
        headers.remove(axum::http::header::SET_COOKIE);
        for value in set {
            if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                headers.append(axum::http::header::SET_COOKIE, value);
            }
        }
    }
    response
}

/// Compares two tokens in time independent of where they differ; an empty token never matches.
pub fn same_token(expected: &str, presented: &str) -> bool {
    use sha2::{Digest, Sha256};
    if expected.is_empty() || presented.is_empty() {
        return false;
    }
    // Comparing digests keeps the comparison's time independent of the tokens' contents.
    let (a, b) = (Sha256::digest(expected), Sha256::digest(presented));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_empty_ones_are_absent() {
        let mut headers = HeaderMap::new();
        headers.append(
            axum::http::header::COOKIE,
            "a=1; tributary_session=abc; b=2".parse().unwrap(),
        );
        headers.append(
            axum::http::header::COOKIE,
            "tributary_csrf=".parse().unwrap(),
        );
        assert_eq!(
            cookie_value(&headers, SESSION_COOKIE).as_deref(),
            Some("abc")
        );
        assert_eq!(cookie_value(&headers, CSRF_COOKIE), None);
        assert_eq!(cookie_value(&headers, "missing"), None);
    }

    #[test]
    fn tokens_match_only_when_equal_and_present() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("", ""));
        assert!(!same_token("abc", ""));
    }
}
