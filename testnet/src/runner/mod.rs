//! The fault-injection runner (issue 6), being built. Written so far: the
//! manifest format ([`manifest`]) and the after-run checks as a pure function
//! over what is collected from each node ([`checks`]). Not written yet: the
//! process/docker backends, executing the perturbation schedule under load,
//! collecting node snapshots over HTTP and logs, and `kopnet testnet run`.

pub mod checks;
pub mod manifest;
