//! Provider connectors defined as data, and the generic provider client.
//!
//! An element is a provider described by a TOML file in `definitions/`: its OAuth endpoints, API
//! origin, resources (provider path, list envelope, id and date fields, filters) and the default
//! poller configuration derived from them. `infusionsoftrest` ships built in. The code here knows
//! nothing Keap-specific; issue 5 grows the client side (paging, pacing, CEQL translation).
//!
//! - [`definition`]: the data model and the built-in registry, with origin overrides.
//! - [`oauth`]: authorize URLs and the token endpoint (code exchange, refresh).
//! - [`http`]: the one HTTP client setup (rustls, timeouts, no redirects).
//! - [`client`]: one instance's provider client: single-flight refresh, pacing, pages.
//! - [`pacer`]: the token bucket shared by every instance of one provider app.
//! - [`query`]: CEQL `where` clauses translated into provider parameters.

pub mod client;
pub mod definition;
pub mod http;
pub mod oauth;
pub mod pacer;
pub mod query;

pub use definition::{Element, ElementError, Registry, Resource};
