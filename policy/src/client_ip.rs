//! Which address a request comes from (SECURITY S15): the TCP peer, unless
//! the peer is a configured trusted proxy, in which case the nearest address
//! in `X-Forwarded-For` that is not itself a trusted proxy.

use ipnet::IpNet;
use std::net::IpAddr;

/// The client address for throttling and audit.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => continue,
            Ok(ip) => return ip,
            // Garbage in the chain: stop believing it at that point.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn s15_only_trusted_hops_are_believed() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.2/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        // An untrusted peer: its header is ignored.
        assert_eq!(
            client_ip(ip("127.0.0.3"), &["1.2.3.4"], &trusted),
            ip("127.0.0.3")
        );
        // A trusted peer: the nearest untrusted hop.
        assert_eq!(
            client_ip(ip("127.0.0.2"), &["9.9.9.9, 1.2.3.4, 10.1.1.1"], &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(ip("127.0.0.2"), &["9.9.9.9", "1.2.3.4"], &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(client_ip(ip("127.0.0.2"), &[], &trusted), ip("127.0.0.2"));
        assert_eq!(
            client_ip(ip("127.0.0.2"), &["nonsense"], &trusted),
            ip("127.0.0.2")
        );
        assert_eq!(client_ip(ip("127.0.0.3"), &[], &[]), ip("127.0.0.3"));
    }
}
