//! The fault-injection runner (issue 6), being built: so far the manifest
//! format ([`manifest`]). The process/docker backends, the perturbation
//! schedule, load and the after-run checks are not written yet.

pub mod manifest;
