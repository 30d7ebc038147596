//! Provider connectors defined as data, and the generic provider client.
//!
//! It will own the element definitions (`infusionsoftrest` first, as a data file), and the
//! client that every poll and hub call goes through: OAuth with refresh, paging, pacing per
//! provider app, and CEQL translated into provider parameters. Issues 3 and 5 fill it; until
//! then it is empty on purpose, so the workspace layout is fixed from the start.
