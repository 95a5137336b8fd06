//! The fault-injection runner (`kopnet testnet run`): the manifest format
//! ([`manifest`]), the backend interface ([`backend`]) and its
//! implementations ([`process`], with a network namespace per node from
//! [`netns`] where it can; [`docker`], with its locally built `FROM
//! scratch` image in [`docker_image`] run as a non-root user
//! ([`docker_user`]) on a read-only root filesystem, both talking to the engine through
//! [`docker_cli`]; both backends move the layout off 127.0.0.1
//! with [`addressing`]), the run itself — setup, load, perturbation
//! schedule, collection ([`run`]) — and the after-run checks as a pure
//! function over what was collected from each node ([`checks`]), and the
//! hostile phases with their own pass criteria ([`hostile`], reading the
//! nodes through [`hostile_probe`]), and the key rotation with its
//! checks ([`rotate`]; the live old-key phase in [`old_key_live`]), and
//! links with a city's latency and loss between the nodes ([`links`]).

pub mod addressing;
pub mod backend;
pub mod checks;
pub mod docker;
pub mod docker_cli;
pub mod docker_image;
pub mod docker_user;
pub mod hostile;
pub mod hostile_probe;
pub mod ip;
pub mod links;
pub mod manifest;
pub mod netns;
pub mod old_key_live;
pub mod process;
pub mod restore;
pub mod rotate;
pub mod run;
