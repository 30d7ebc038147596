//! Issue 16's adversarial findings, each pinned: input the store cannot hold, a provider
//! whose clock steps back, a poll whose client leaves, configurations that can never work,
//! idle connections, and the smaller ones. Each runs real HTTP against the simulator, and on
//! PostgreSQL too where the backend matters (`TEST_POSTGRES_URL`).

mod abandoned;
mod bootstrap;
mod clock;
mod connections;
mod cookies;
mod guard;
mod hub;
mod nul;
mod overload;
mod patches;
mod pollers;
