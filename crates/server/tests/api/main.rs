//! The Cloud Elements-compatible API over real HTTP, against the simulator and SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backends;
mod helpers;
mod providers;
mod quota;

mod bad_requests;
mod browser;
mod cloud_elements;
mod delivery;
mod elements;
mod guards;
mod hardening;
mod hooks;
mod hub;
mod hubspot;
mod instances;
mod operations;
mod polling;
mod quickbooks;
mod salesforce;
mod scheduling;
mod second_element;
mod secrets;
mod sharing;
mod sweeps;
mod ui;
