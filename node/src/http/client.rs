//! Who a request comes from: the peer's IP address, put on every request
//! by the connection loop ([`super::conn`]), and the key under which limits
//! count it ([`client_key`]).
//!
//! Behind a reverse proxy every peer is the proxy, so every client would
//! share one budget. A proxy listed in `http.trusted_proxies` is believed
//! about the client it forwards ([`forwarded_client`]): the last address of
//! `X-Forwarded-For` that is not itself a trusted proxy — what the proxy
//! nearest the node saw, never what the client claimed before it (a
//! client can write any `X-Forwarded-For`; the proxy appends, or replaces
//! it with, the address it saw). A request from a trusted proxy without a
//! usable header counts as the proxy. Nothing is believed from any other
//! peer.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr};

/// Most `X-Forwarded-For` entries looked at, from the right (the head's
/// size is bounded anyway: `http.request_head_bytes_max`).
const FORWARDED_ENTRIES_MAX: usize = 32;

/// The client address of a request, as limits count it ([`client_key`]).
/// A request that came in some other way (a test calling the router
/// directly) has none and is not rate-limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(None)))
    }
}

/// The address limits count a peer under: an IPv4 address as it is (also
/// when it arrives IPv4-mapped on an IPv6 socket), an IPv6 address by its
/// /64 network, since one host gets a whole /64 as easily as one address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The client a trusted proxy forwards a request for: walking
/// `X-Forwarded-For` (every such header, in order) from the right, the
/// first address that is not in `trusted`. `None` when there is no such
/// header, every entry is trusted, or the entry reached is not an IP
/// address (a proxy that writes something else is not understood, so it
/// counts as itself).
pub fn forwarded_client(headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let mut entries: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        entries.extend(value.to_str().ok()?.split(','));
    }
    for entry in entries.iter().rev().take(FORWARDED_ENTRIES_MAX) {
        let ip: IpAddr = entry.trim().parse().ok()?;
        let ip = ip.to_canonical();
        if !trusted.contains(&ip) {
            return Some(ip);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_client_is_the_last_untrusted_forwarded_address() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy, inner];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // What the proxy saw, appended after what the client claimed.
        let spoofed = forwarded(&["127.0.0.1, 203.0.113.7"]);
        assert_eq!(forwarded_client(&spoofed, &trusted), ip("203.0.113.7"));
        // Two proxies: the outer one's address is skipped too.
        let chain = forwarded(&["198.51.100.9, 10.0.0.2"]);
        assert_eq!(forwarded_client(&chain, &trusted), ip("198.51.100.9"));
        // Several headers are one list.
        let split = forwarded(&["198.51.100.9", "10.0.0.2"]);
        assert_eq!(forwarded_client(&split, &trusted), ip("198.51.100.9"));
        assert_eq!(
            forwarded_client(&forwarded(&[" 2001:db8::1 "]), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            forwarded_client(&forwarded(&["::ffff:192.0.2.1"]), &trusted),
            ip("192.0.2.1")
        );
        // Nothing usable: the request counts as the proxy.
        for bad in [
            forwarded(&[]),
            forwarded(&["127.0.0.1"]),
            forwarded(&["unknown"]),
            forwarded(&["203.0.113.7, garbage"]),
            forwarded(&["203.0.113.7:443"]),
        ] {
            assert_eq!(forwarded_client(&bad, &trusted), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(client_key(mapped), "10.0.0.7".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(client_key(v4), v4);
    }
}
