//! The HTTP client every provider call goes through: rustls (reqwest's default provider) with
//! the platform's trusted roots, connect and request timeouts, no redirects (a provider that
//! redirects an API call is misconfigured, and following it could leak the bearer token).

use std::time::Duration;

use std::sync::Arc;

/// A client for provider APIs with the given overall request timeout.
pub fn provider_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    builder(timeout).build()
}

/// A client for the provider APIs of a definition nobody vouched for (a user's file whose
/// origin the operator did not set): host names resolved by `resolver`, which refuses what it
/// must (the server's address guard), and never through a proxy from the environment —
/// through one, the resolver would judge the proxy's address and the proxy would connect
/// anywhere.
pub fn guarded_provider_client<R: reqwest::dns::Resolve + 'static>(
    timeout: Duration,
    resolver: Arc<R>,
) -> Result<reqwest::Client, reqwest::Error> {
    builder(timeout).no_proxy().dns_resolver(resolver).build()
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
}
