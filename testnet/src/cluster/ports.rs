//! Local TCP ports for a network's nodes.
//!
//! Ports are taken from below Linux's default ephemeral range (32768-60999),
//! so an outgoing connection of a node that is already running can never
//! hold a port that a node started a moment later needs to listen on. Every
//! port is checked by binding it, and all listeners are held until the whole
//! set is chosen, so one call never hands out the same port twice. The start
//! of the scan is random, so two networks set up side by side (parallel
//! tests) rarely look at the same ports at all.

use rand::Rng;
use std::net::TcpListener;

/// First port considered (above the registered ports most services use).
const PORT_MIN: u16 = 20_000;
/// One past the last port considered: the start of the ephemeral range.
const PORT_END: u16 = 32_768;

/// Not enough free ports in the range.
#[derive(Debug, thiserror::Error)]
#[error("found only {found} free local ports in {PORT_MIN}..{PORT_END}, needed {needed}")]
pub struct PortsError {
    pub found: usize,
    pub needed: usize,
}

/// `count` distinct free ports on 127.0.0.1, none in the ephemeral range.
pub fn reserve(count: usize) -> Result<Vec<u16>, PortsError> {
    let span = PORT_END - PORT_MIN;
    let start = rand::thread_rng().gen_range(0..span);
    let mut held: Vec<TcpListener> = Vec::with_capacity(count);
    let mut ports = Vec::with_capacity(count);
    for offset in 0..span {
        if ports.len() == count {
            break;
        }
        let port = PORT_MIN + (start + offset) % span;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
            ports.push(port);
        }
    }
    if ports.len() < count {
        return Err(PortsError {
            found: ports.len(),
            needed: count,
        });
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_free_and_outside_the_ephemeral_range() {
        let ports = reserve(12).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 12);
        for port in ports {
            assert!((PORT_MIN..PORT_END).contains(&port), "{port}");
            // Released again: a node can bind it now.
            TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }
}
