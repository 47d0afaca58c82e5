//! The client's address, for login throttling and the audit log: the connection's
//! peer, or, when the peer is a trusted reverse proxy, the address it forwarded.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address or a network (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`) whose
/// `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    net: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or network: {0:?}")]
pub struct BadProxy(String);

impl FromStr for TrustedProxy {
    type Err = BadProxy;

    fn from_str(s: &str) -> Result<Self, BadProxy> {
        let bad = || BadProxy(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(TrustedProxy { net, prefix })
    }
}

impl TrustedProxy {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> u128 {
            match a {
                IpAddr::V4(v) => u128::from(u32::from(v)) << 96,
                IpAddr::V6(v) => u128::from(v),
            }
        };
        // An IPv4 peer may show as an IPv4-mapped IPv6 address.
        let ip = match ip {
            IpAddr::V6(v) => v.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if ip.is_ipv4() != self.net.is_ipv4() {
            return false;
        }
        let shift = if ip.is_ipv4() { 32 - u32::from(self.prefix) + 96 } else { 128 - u32::from(self.prefix) };
        let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
        bits(ip) & mask == bits(self.net) & mask
    }
}

/// The client of a request: the peer, unless it is a trusted proxy; then the last
/// address of `X-Forwarded-For` that is not itself a trusted proxy (the ones before it
/// were written by the client and prove nothing).
pub fn address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[TrustedProxy]) -> String {
    let Some(peer) = peer else { return String::new() };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => continue,
            Ok(ip) => return ip.to_string(),
            // A hop we cannot read: stop believing the chain there.
            Err(_) => break,
        }
    }
    peer.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_are_parsed_and_matched() {
        let net: TrustedProxy = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(!net.contains(ip("::1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped peers match IPv4 networks");
        let one: TrustedProxy = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let all: TrustedProxy = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.5")));
        let v6: TrustedProxy = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in ["", "10.0.0.0/33", "proxy", "10.0.0.0/x", "::/129"] {
            assert!(bad.parse::<TrustedProxy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4, 203.0.113.7, 10.0.0.2"));
        // From a trusted proxy: the last hop that is not one of ours.
        assert_eq!(address(Some(ip("10.0.0.1")), &h, &trusted), "203.0.113.7");
        // From anyone else: the peer, whatever it claims.
        assert_eq!(address(Some(ip("198.51.100.1")), &h, &trusted), "198.51.100.1");
        assert_eq!(address(Some(ip("10.0.0.1")), &h, &[]), "10.0.0.1");
        // A trusted proxy without the header, or with garbage in it.
        assert_eq!(address(Some(ip("10.0.0.1")), &HeaderMap::new(), &trusted), "10.0.0.1");
        h.insert("x-forwarded-for", HeaderValue::from_static("junk"));
        assert_eq!(address(Some(ip("10.0.0.1")), &h, &trusted), "10.0.0.1");
        assert_eq!(address(None, &h, &trusted), "");
    }
}
