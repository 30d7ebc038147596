//! The HTTP client every provider call goes through: rustls (reqwest's default provider) with
//! the platform's trusted roots, connect and request timeouts, no redirects (a provider that
//! redirects an API call is misconfigured, and following it could leak the bearer token).

use std::time::Duration;

/// A client for provider APIs with the given overall request timeout.
pub fn provider_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
        .build()
}
