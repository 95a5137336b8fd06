//! Running iproute2's `ip` with a deadline, and reading the IPv4 prefixes
//! the machine already uses out of its output (for picking a subnet that
//! collides with none of them).

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Deadline of one `ip` command (each is a single netlink request or two).
pub const IP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest output kept from one command (addresses and routes of a host).
const OUTPUT_MAX: usize = 1024 * 1024;
/// Largest error text kept.
const REASON_MAX: usize = 2_000;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IpError {
    #[error("cannot run ip ({0}); is iproute2 installed?")]
    Spawn(String),
    #[error("ip {args} failed: {reason}")]
    Failed { args: String, reason: String },
    #[error("ip {args} did not finish within {secs} s")]
    Timeout { args: String, secs: u64 },
}

impl IpError {
    /// Whether the command failed because the object already exists.
    pub fn exists(&self) -> bool {
        matches!(self, IpError::Failed { reason, .. } if reason.contains("exists"))
    }

    /// Whether the command failed because the object is not there.
    pub fn missing(&self) -> bool {
        matches!(self, IpError::Failed { reason, .. }
            if reason.contains("Cannot find device")
                || reason.contains("No such file")
                || reason.contains("does not exist"))
    }
}

fn clip(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Run `ip args...` and return its stdout; a command still running after
/// [`IP_TIMEOUT`] is killed. Synchronous (each call takes milliseconds) so
/// that a `Drop` can tear down with it too.
pub fn ip(args: &[&str]) -> Result<String, IpError> {
    let shown = args.join(" ");
    let child = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| IpError::Spawn(e.to_string()))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(IP_TIMEOUT) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(IpError::Failed {
                args: shown,
                reason: e.to_string(),
            })
        }
        Err(_) => {
            // The waiting thread reaps it once it is gone.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            return Err(IpError::Timeout {
                args: shown,
                secs: IP_TIMEOUT.as_secs(),
            });
        }
    };
    if out.status.success() {
        Ok(clip(&out.stdout, OUTPUT_MAX))
    } else {
        Err(IpError::Failed {
            args: shown,
            reason: clip(&out.stderr, REASON_MAX),
        })
    }
}

/// An IPv4 prefix, e.g. 10.214.3.0/24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Prefix {
    /// `a.b.c.d/len` or a bare address (a /32).
    pub fn parse(text: &str) -> Option<Prefix> {
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, len.parse::<u8>().ok().filter(|l| *l <= 32)?),
            None => (text, 32),
        };
        Some(Prefix {
            addr: addr.parse().ok()?,
            len,
        })
    }

    fn mask(len: u8) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
    }

    /// Whether the two share any address.
    pub fn overlaps(&self, other: &Prefix) -> bool {
        let mask = Prefix::mask(self.len.min(other.len));
        u32::from(self.addr) & mask == u32::from(other.addr) & mask
    }
}

/// Route types that may stand before a route's destination.
const ROUTE_TYPES: [&str; 9] = [
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
];

/// The prefixes in `ip -o -4 addr show` output (`... inet 10.1.2.3/24 ...`)
/// and in `ip -4 route show` output (destination first; `default` is left
/// out: it is where traffic goes, not a network in use).
pub fn prefixes_in_use(addresses: &str, routes: &str) -> Vec<Prefix> {
    let mut found = Vec::new();
    for line in addresses.lines() {
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            if word == "inet" {
                found.extend(words.next().and_then(Prefix::parse));
            }
        }
    }
    for line in routes.lines() {
        let mut words = line
            .split_whitespace()
            .skip_while(|w| ROUTE_TYPES.contains(w));
        found.extend(words.next().and_then(Prefix::parse));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_and_overlap() {
        let p = |s| Prefix::parse(s).unwrap();
        assert_eq!(p("10.214.3.0/24").len, 24);
        assert_eq!(p("10.214.3.7").len, 32);
        assert_eq!(Prefix::parse("10.214.3.0/33"), None);
        assert_eq!(Prefix::parse("default"), None);
        assert_eq!(Prefix::parse("10.214.3/24"), None);
        assert!(p("10.214.3.0/24").overlaps(&p("10.214.3.77")));
        assert!(p("10.0.0.0/8").overlaps(&p("10.214.3.0/24")));
        assert!(p("10.214.3.0/24").overlaps(&p("10.0.0.0/8")));
        assert!(!p("10.214.3.0/24").overlaps(&p("10.214.4.0/24")));
        assert!(!p("10.214.3.0/24").overlaps(&p("10.213.3.0/24")));
        assert!(p("0.0.0.0/0").overlaps(&p("10.214.3.0/24")));
    }

    #[test]
    fn prefixes_in_use_reads_addresses_and_routes() {
        let addresses = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
            4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\ ...\n\
            5: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\n";
        let routes = "default via 192.0.2.1 dev eth0\n\
            10.214.7.0/24 dev kopnet7b proto kernel scope link src 10.214.7.1\n\
            blackhole 10.99.0.0/16\n\
            192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2\n";
        let found = prefixes_in_use(addresses, routes);
        let shown: Vec<String> = found
            .iter()
            .map(|p| format!("{}/{}", p.addr, p.len))
            .collect();
        assert_eq!(
            shown,
            [
                "127.0.0.1/8",
                "192.0.2.2/24",
                "172.17.0.1/16",
                "10.214.7.0/24",
                "10.99.0.0/16",
                "192.0.2.0/24"
            ]
        );
    }

    #[test]
    fn a_failing_command_is_a_typed_error() {
        match ip(&["link", "show", "dev", "kopnetnosuch"]) {
            Err(e @ IpError::Failed { .. }) => assert!(e.missing() && !e.exists(), "{e}"),
            // No iproute2 here: that is typed too.
            Err(IpError::Spawn(_)) => {}
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
