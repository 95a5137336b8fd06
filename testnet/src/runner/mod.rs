//! The fault-injection runner (issue 6), being built. Written so far: the
//! manifest format ([`manifest`]), the after-run checks as a pure function
//! over what is collected from each node ([`checks`]), the backend interface
//! ([`backend`]) and the process backend ([`process`]). Not written yet: the
//! docker backend, executing the perturbation schedule under load,
//! collecting node snapshots over HTTP and logs, and `kopnet testnet run`.

pub mod backend;
pub mod checks;
pub mod manifest;
pub mod process;
pub mod run;
