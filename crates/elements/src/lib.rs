//! Provider connectors defined as data, and the generic provider client.
//!
//! An element is a provider described by a TOML file (`FORMAT.md` documents the format): its
//! OAuth endpoints and connection variables, request templates, where records sit, its pager,
//! its query dialect, its rate-limit signals and error classifier. `infusionsoftrest` ships
//! built in (`definitions/`); more are loaded from a folder. The code here names no provider:
//! it obeys what a definition says.
//!
//! - [`definition`]: the data model of a definition.
//! - [`validate`]: the checks a definition passes when it is loaded.
//! - [`registry`]: the built-in definitions, a folder of more, and origin overrides.
//! - [`template`]: `{{variable|formatter}}` in URLs, paths, queries, headers and JSON bodies.
//! - [`connection`]: per-tenant connection variables and where they come from.
//! - [`pager`]: pager kinds, positions, and when a list ends.
//! - [`query`]: CEQL `where` clauses translated by the definition's dialect.
//! - [`signals`]: rate-limit headers and the error classifier.
//! - [`oauth`]: authorize URLs and the token endpoint (code exchange, refresh).
//! - [`http`]: the one HTTP client setup (rustls, timeouts, no redirects).
//! - [`client`]: one instance's provider client: single-flight refresh, pacing, pages.
//! - [`pacer`]: the token bucket shared by every instance of one provider app.
//! - [`budgets`]: whose a budget is, and which requests an extra budget counts.
//! - [`walk`]: a poll's read of a window of changes: the list or the change feed, re-windowed
//!   at a result cap, up to the provider's settle time, inline delete stubs set apart.

pub mod budgets;
pub mod check;
pub mod client;
pub mod connection;
pub mod definition;
pub mod http;
pub mod oauth;
pub mod pacer;
pub mod pager;
pub mod query;
pub mod registry;
pub mod signals;
pub mod template;
pub mod validate;
pub mod walk;

pub use definition::{Element, ElementError, Resource};
pub use registry::Registry;
