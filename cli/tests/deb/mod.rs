//! Building the Debian package and an image to install it in.

pub mod host_image;
pub mod stage;
