//! kopnet testnet (work in progress)
