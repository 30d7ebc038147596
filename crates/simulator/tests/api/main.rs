//! The simulator over real HTTP: one test binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod control;
mod faults;
mod hooks;
mod hubspot;
mod listing;
mod oauth;
mod quickbooks;
mod records;
mod salesforce;
mod throttling;
