//! The web UI at `/`: server-rendered pages (askama templates compiled into the binary, no
//! JavaScript build step).
//!
//! Sign-in takes the same user and organization secrets as the API and starts a session: the
//! cookie (`HttpOnly`, `SameSite=Lax`, `Secure` when `TRIBUTARY_PUBLIC_URL` is https) holds a random token, the database only its hash. Every
//! form that changes something carries a CSRF token — the session's, or before sign-in a random
//! one also set as a cookie (double submit) — and a POST without the right one is refused with
//! 403. A signed-out visitor reaches nothing but the sign-in page.
//!
//! Pages are an adapter like the API: they read forms into the services' typed inputs
//! ([`crate::services`]) and render what the services return, or the service error's message.
//! One stylesheet (`templates/style.css`, light and dark) dresses every page; nothing inline,
//! so the strict CSP holds.
//!
//! - `home`: the organization's last two days (key figures, plots) and its instances.
//! - `connect`: the create flow, every element of the registry, through the consent page.
//! - `instance`: an instance's page and its actions; `log` its event log (pages, filters).
//! - `edit`: the edit form (PATCH's service), the switch, the delete and its confirmation.
//! - `event`: an event with its notification and delivery timeline, and redelivery.
//! - `charts` shapes the activity service's counts into `plot`'s SVG drawings.
//! - `session`: the cookie, the session lookup, CSRF tokens.

mod charts;
mod connect;
mod edit;
mod event;
mod home;
mod instance;
mod log;
mod plot;
mod session;

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::secrets::hash_secret;
use crate::services::error::{ProviderFailure, ServiceError};
use crate::state::AppState;
use session::{CSRF_COOKIE, SESSION_COOKIE, cookie, same_token};
pub use session::{UiSession, secure_cookies};

/// Scripts, styles and form targets from this site only; no framing.
const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'";

/// How long a session lasts after sign-in.
const SESSION_MS: i64 = 12 * 3_600_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/ui/style.css", get(style))
        .route("/ui/live.js", get(script))
        .route("/ui/form.js", get(form_script))
        .route(
            "/ui/instances/new",
            get(connect::new_form).post(connect::connect),
        )
        .route("/ui/oauth/callback", get(connect::callback))
        .route("/ui/instances/{id}", get(instance::show))
        .route("/ui/instances/{id}/live", get(instance::live_part))
        .route("/ui/instances/{id}/poll", post(instance::poll_now))
        .route("/ui/instances/{id}/recover", post(instance::recover))
        .route("/ui/instances/{id}/enable", post(instance::enable))
        .route("/ui/instances/{id}/disable", post(instance::disable))
        .route("/ui/instances/{id}/edit", get(edit::show).post(edit::save))
        .route(
            "/ui/instances/{id}/delete",
            get(edit::confirm_delete).post(edit::delete),
        )
        .route("/ui/instances/{id}/events/{event_id}", get(event::show))
        .route(
            "/ui/instances/{id}/events/{event_id}/redeliver",
            post(event::redeliver),
        )
}

/// A rendered page, with the headers every UI response carries.
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, axum::response::Html(html)).into_response();
            secure(response.headers_mut());
            response
        }
        Err(error) => {
            tracing::error!(%error, "a page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// As [`page`], letting its forms lead to these origins too (the new-instance form's answer
/// redirects to the provider's consent page, and browsers hold redirects to `form-action`).
pub(crate) fn page_with_form_targets(
    status: StatusCode,
    template: &impl Template,
    origins: &[String],
) -> Response {
    let mut response = page(status, template);
    let mut policy = CSP.to_owned();
    for origin in origins {
        // Origins come from element definitions; anything unexpected is left out.
        if origin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/.-_[]".contains(c))
        {
            policy.push(' ');
            policy.push_str(origin);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// No framing, no scripts or styles from elsewhere, no caching of signed-in pages.
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// A file compiled into the binary, served as is.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn form_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../templates/form.js"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../templates/live.js"),
    )
}

async fn style() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../templates/style.css"),
    )
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    title: &'a str,
    message: &'a str,
    back: &'a str,
}

/// A page saying what went wrong, in words a user can act on.
pub(crate) fn message(status: StatusCode, title: &str, text: &str, back: &str) -> Response {
    page(
        status,
        &Message {
            title,
            message: text,
            back,
        },
    )
}

/// The status of a page that shows a service error (the same as the API's for that error).
pub(crate) fn status(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::InvalidInstance(_) | ServiceError::BadInput(_) => StatusCode::BAD_REQUEST,
        ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        ServiceError::Gone(_) => StatusCode::GONE,
        ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Provider { failure, .. } => match failure {
            ProviderFailure::Refused { status: None } => StatusCode::BAD_REQUEST,
            ProviderFailure::Refused {
                status: Some(status),
            } => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
            ProviderFailure::Unauthorized => StatusCode::UNAUTHORIZED,
            ProviderFailure::Failed => StatusCode::BAD_GATEWAY,
        },
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a UI page failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Tributary could not load this page; the server log has the details. Try again.",
        "/",
    )
}

pub(crate) fn forbidden_form() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form expired or did not come from this site (its CSRF token is missing or wrong). \
         Reload the page and try again.",
        "/",
    )
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn {
    csrf: String,
    error: Option<String>,
}

/// The sign-in form, with a fresh CSRF token in a cookie and in the form.
fn sign_in_form(status: StatusCode, error: Option<String>) -> Response {
    let csrf = crate::secrets::random_secret();
    let mut response = page(
        status,
        &SignIn {
            csrf: csrf.clone(),
            error,
        },
    );
    if let Ok(value) = HeaderValue::from_str(&cookie(CSRF_COOKIE, &csrf, Some(3_600))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn sign_in_page(session: Option<UiSession>) -> Response {
    match session {
        Some(_) => Redirect::to("/").into_response(),
        None => sign_in_form(StatusCode::OK, None),
    }
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    csrf: String,
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let expected = session::cookie_value(&headers, CSRF_COOKIE);
    if !expected.is_some_and(|cookie| same_token(&cookie, &form.csrf)) {
        return forbidden_form();
    }
    let (user, organization) = (form.user.trim(), form.organization.trim());
    if user.is_empty() || organization.is_empty() {
        return sign_in_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Enter both the user secret and the organization secret.".into()),
        );
    }
    let principal = match state
        .store
        .principal(&hash_secret(organization), &hash_secret(user))
        .await
    {
        Ok(Some(principal)) => principal,
        Ok(None) => {
            return sign_in_form(
                StatusCode::UNAUTHORIZED,
                Some("The user secret or the organization secret is wrong.".into()),
            );
        }
        Err(error) => return failed(error),
    };
    let token = crate::secrets::random_secret();
    let now = state.now_ms();
    if let Err(error) = state
        .store
        .create_session(tributary_store::NewSession {
            token_hash: hash_secret(&token),
            principal,
            csrf: crate::secrets::random_secret(),
            now_ms: now,
            expires_ms: now + SESSION_MS,
        })
        .await
    {
        return failed(error);
    }
    let mut response = Redirect::to("/").into_response();
    for set in [
        cookie(SESSION_COOKIE, &token, Some(SESSION_MS / 1000)),
        cookie(CSRF_COOKIE, "", Some(0)),
    ] {
        if let Ok(value) = HeaderValue::from_str(&set) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    session: Option<UiSession>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Some(session) = session else {
        return Redirect::to("/sign-in").into_response();
    };
    if !same_token(&session.csrf, &form.csrf) {
        return forbidden_form();
    }
    if let Err(error) = state
        .store
        .end_session(&session.token_hash, state.now_ms())
        .await
    {
        return failed(error);
    }
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie(SESSION_COOKIE, "", Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The instance's id from the path, or the 404 page saying there is none.
pub(crate) fn instance_id(text: &str) -> Result<i64, Box<Response>> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Box::new(not_found(&format!("There is no instance {text:?}."))))
}

fn not_found(text: &str) -> Response {
    message(StatusCode::NOT_FOUND, "Not found", text, "/")
}

/// Why an action failed, as the service says it.
pub(crate) fn refused(error: &ServiceError) -> Response {
    match error {
        ServiceError::NotFound(text) => not_found(text),
        ServiceError::Internal(detail) => failed(detail),
        _ => message(status(error), "Refused", &error.user_message(), "/"),
    }
}

/// Epoch milliseconds as `2026-11-28 10:42:08 UTC`.
pub(crate) fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// How long ago `ms` was, as people say it: `just now`, `4 min ago`, `3 h ago`, `2 days ago`
/// (in the future: `in 5 min`).
pub(crate) fn ago(now_ms: i64, ms: i64) -> String {
    let (seconds, future) = if ms > now_ms {
        ((ms - now_ms) / 1000, true)
    } else {
        ((now_ms - ms) / 1000, false)
    };
    let amount = match seconds {
        0..45 => return "just now".into(),
        45..5_400 => format!("{} min", (seconds + 30) / 60),
        5_400..172_800 => format!("{} h", (seconds + 1_800) / 3_600),
        _ => format!("{} days", (seconds + 43_200) / 86_400),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::ago;

    #[test]
    fn ages_are_said_in_the_largest_unit_that_fits() {
        let now = 1_000_000_000_000;
        assert_eq!(ago(now, now - 10_000), "just now");
        assert_eq!(ago(now, now - 50_000), "1 min ago");
        assert_eq!(ago(now, now - 4 * 60_000), "4 min ago");
        assert_eq!(ago(now, now - 3 * 3_600_000), "3 h ago");
        assert_eq!(ago(now, now - 3 * 86_400_000), "3 days ago");
        assert_eq!(ago(now, now + 5 * 60_000), "in 5 min");
    }
}
