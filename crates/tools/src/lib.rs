//! Tributary's tools, apart from the server they exercise: `tributary demo` ([`demo`]),
//! `tributary bench` ([`bench`]), `tributary soak` ([`soak`]) and `tributary simulate --element`
//! ([`element_sim`]: an element definition played by the simulator's generic provider). They use only the public interfaces of the server
//! (`Application`, `AppState`, its workers and settings), the store and the simulator, so they
//! see the product as a deployment does.

pub mod bench;
pub mod demo;
pub mod element_sim;
pub mod soak;

/// A multi-threaded runtime for a command, or its failure said on stderr and the exit status
/// to return.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, std::process::ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        })
}
