//! Tributary's tools, apart from the server they exercise: `tributary demo` ([`demo`]),
//! `tributary bench` ([`bench`]) and `tributary soak` ([`soak`]). They use only the public interfaces of the server
//! (`Application`, `AppState`, its workers and settings), the store and the simulator, so they
//! see the product as a deployment does.

pub mod bench;
pub mod demo;
pub mod soak;
