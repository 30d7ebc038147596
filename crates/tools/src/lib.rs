//! Tributary's tools, apart from the server they exercise: `tributary demo` ([`demo`]),
//! `tributary bench` ([`bench`]), `tributary soak` ([`soak`]) and `tributary simulate --element`
//! ([`element_sim`]: an element definition played by the simulator's generic provider). They use only the public interfaces of the server
//! (`Application`, `AppState`, its workers and settings), the store and the simulator, so they
//! see the product as a deployment does.

pub mod bench;
pub mod demo;
pub mod element_sim;
pub mod soak;
