//! Which IP addresses outbound HTTP may connect to: public unicast only,
//! unless the operator opened an address for local development.
//!
//! Pure policy, no network. The platform's HTTP client applies it to every
//! address a name resolves to and to IP-literal hosts, and connects only to
//! addresses it passed (so a DNS answer that changes between check and
//! connect cannot slip a private address in).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::str::FromStr;
use ipnet::{Ipv4Net, Ipv6Net};

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

#[allow(clippy::too_many_arguments)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IPv4 ranges that are not public unicast (IANA's special-purpose
/// registry, plus cloud metadata endpoints), most specific first so the
/// reason names the narrowest range.
const V4_REFUSED: &[(Ipv4Net, &str)] = &[
    (v4(169, 254, 169, 254, 32), "cloud metadata"),
    // Alibaba Cloud's metadata service (inside CGNAT space).
    (v4(100, 100, 100, 200, 32), "cloud metadata"),
    // Azure's WireServer: a public-looking address every Azure VM reaches.
    (v4(168, 63, 129, 16, 32), "cloud metadata"),
    // Oracle Cloud's metadata service (inside 192.0.0.0/24).
    (v4(192, 0, 0, 192, 32), "cloud metadata"),
    (v4(0, 0, 0, 0, 32), "unspecified"),
    (v4(255, 255, 255, 255, 32), "broadcast"),
    (v4(0, 0, 0, 0, 8), "\"this network\" (0.0.0.0/8)"),
    (v4(10, 0, 0, 0, 8), "private"),
    (v4(100, 64, 0, 0, 10), "shared (CGNAT)"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local"),
    (v4(172, 16, 0, 0, 12), "private"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignment"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 88, 99, 0, 24), "6to4 relay anycast"),
    (v4(192, 168, 0, 0, 16), "private"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(240, 0, 0, 0, 4), "reserved"),
];

/// IPv6 ranges that are not public unicast. Forms that embed an IPv4
/// address are judged by that address instead (see [`embedded_v4`]).
const V6_REFUSED: &[(Ipv6Net, &str)] = &[
    // AWS's metadata service over IPv6 (inside fc00::/7).
    (v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254, 128), "cloud metadata"),
    (v6(0, 0, 0, 0, 0, 0, 0, 0, 128), "unspecified"),
    (v6(0, 0, 0, 0, 0, 0, 0, 1, 128), "loopback"),
    (v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64), "discard-only"),
    // RFC 8215: an operator's own NAT64 prefix, where the IPv4 address
    // may sit at several offsets; none of it is public.
    (v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48), "local-use NAT64"),
    (v6(0x2001, 2, 0, 0, 0, 0, 0, 0, 48), "benchmarking"),
    (v6(0x2001, 0x10, 0, 0, 0, 0, 0, 0, 28), "ORCHID (non-routable)"),
    (v6(0x2001, 0x20, 0, 0, 0, 0, 0, 0, 28), "ORCHIDv2 (non-routable)"),
    (v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32), "documentation"),
    (v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20), "documentation"),
    (v6(0x5f00, 0, 0, 0, 0, 0, 0, 0, 16), "SRv6 SID (non-routable)"),
    (v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7), "unique-local"),
    (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10), "link-local"),
    (v6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10), "site-local (deprecated)"),
    (v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8), "multicast"),
];

/// An address outbound HTTP must not connect to, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub ip: IpAddr,
    /// The IPv4 address an IPv6 address embeds, when that decided.
    pub embedded: Option<Ipv4Addr>,
    /// The kind of range, e.g. `loopback` or `cloud metadata`.
    pub range: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            Some(v4) => write!(f, "{} embeds {v4}, a {} address", self.ip, self.range),
            None => write!(f, "{} is a {} address", self.ip, self.range),
        }
    }
}

/// Why `ip` is not a public unicast address, or `None` when it is.
pub fn classify(ip: IpAddr) -> Option<Refused> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(|range| Refused { ip, embedded: None, range }),
        IpAddr::V6(v6) => {
            if let Some(range) = V6_REFUSED.iter().find(|(net, _)| net.contains(&v6)).map(|(_, r)| *r) {
                return Some(Refused { ip, embedded: None, range });
            }
            embedded_v4(v6)
                .into_iter()
                .find_map(|v4| classify_v4(v4).map(|range| Refused { ip, embedded: Some(v4), range }))
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_REFUSED.iter().find(|(net, _)| net.contains(&ip)).map(|(_, range)| *range)
}

/// The IPv4 addresses an IPv6 address carries (at most two, for Teredo),
/// any of which may be where a packet really goes.
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d.
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => vec![last],
        // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
        [0, 0, 0, 0, 0, 0, _, _] => vec![last],
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => vec![last],
        // 6to4 2002:a.b.c.d::/48.
        [0x2002, ..] => vec![Ipv4Addr::new(o[2], o[3], o[4], o[5])],
        // Teredo 2001:0:server::client, the client address inverted.
        [0x2001, 0, ..] => vec![Ipv4Addr::new(o[4], o[5], o[6], o[7]), Ipv4Addr::from(!u32::from(last))],
        _ => vec![],
    }
}

/// An address the operator opens to outbound HTTP despite its range: one
/// IP on every port, or one IP and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Ip(IpAddr),
    Socket(SocketAddr),
}

impl Opening {
    fn opens(&self, ip: IpAddr, port: Option<u16>) -> bool {
        match self {
            Opening::Ip(open) => *open == ip,
            Opening::Socket(open) => open.ip() == ip && Some(open.port()) == port,
        }
    }
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opening::Ip(ip) => write!(f, "{ip}"),
            Opening::Socket(addr) => write!(f, "{addr}"),
        }
    }
}

impl FromStr for Opening {
    type Err = String;

    /// `127.0.0.1:8081`, `[::1]:8081`, `127.0.0.1` or `::1`.
    fn from_str(s: &str) -> Result<Opening, String> {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Opening::Socket(addr));
        }
        s.parse::<IpAddr>()
            .map(Opening::Ip)
            .map_err(|_| format!("`{s}` is not an IP address or IP:port (e.g. 127.0.0.1:8081 or [::1]:8081)"))
    }
}

/// The addresses outbound HTTP may connect to: public unicast, plus what
/// the operator opened. Host configuration, never part of a tenant's grant;
/// the default opens nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    openings: Vec<Opening>,
}

impl AddressPolicy {
    /// Public addresses only.
    pub fn public_only() -> AddressPolicy {
        AddressPolicy::default()
    }

    /// Public addresses and `openings`.
    pub fn with_openings(openings: impl IntoIterator<Item = Opening>) -> AddressPolicy {
        AddressPolicy { openings: openings.into_iter().collect() }
    }

    pub fn openings(&self) -> &[Opening] {
        &self.openings
    }

    /// Whether `ip` may be connected to on `port`. With `port` unknown
    /// (`None`), only openings of a whole IP count.
    pub fn check(&self, ip: IpAddr, port: Option<u16>) -> Result<(), Refused> {
        match classify(ip) {
            Some(refused) if !self.openings.iter().any(|o| o.opens(ip, port)) => Err(refused),
            _ => Ok(()),
        }
    }

    /// Ports some opening names: a client that cannot tell the port at
    /// resolution time needs one resolver per such port.
    pub fn opened_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .openings
            .iter()
            .filter_map(|o| match o {
                Opening::Socket(addr) => Some(addr.port()),
                Opening::Ip(_) => None,
            })
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

#[cfg(test)]
mod tests;
