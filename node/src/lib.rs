//! kopnet node (work in progress)
