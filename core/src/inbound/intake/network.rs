//! The source check: the peer address (with or without port, IPv4, IPv6
//! or IPv4-mapped) against the host's allow-list of networks
//! (`185.16.44.0/24`, `185.16.44.*`, `127.0.0.1`, `::1/128`).

use std::net::IpAddr;

use super::InboundError;

/// incwo's documented source network for its calls (docs/INCWO-API.md#4-webhooks--notifications).
pub const INCWO_NETWORK: &str = "185.16.44.0/24";

/// A network of the allow-list: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Reads `185.16.44.0/24`, `185.16.44.*`, `127.0.0.1` or `::1/128`.
    pub fn parse(text: &str) -> Option<Network> {
        let t = text.trim();
        if let Some(stem) = t.strip_suffix(".*") {
            let mut parts: Vec<&str> = stem.split('.').collect();
            let prefix = u8::try_from(parts.len() * 8).ok()?;
            if parts.is_empty() || parts.len() > 3 {
                return None;
            }
            while parts.len() < 4 {
                parts.push("0");
            }
            let addr: IpAddr = parts.join(".").parse().ok()?;
            return Some(Network { addr, prefix });
        }
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = t.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Network { addr, prefix })
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Reads a peer address: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:80`.
pub fn parse_remote(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = t.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    t.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(a, _)| a.parse().ok())
}

/// Checks every allow-list entry; a bad one is named.
pub fn parse_networks(entries: &[String]) -> Result<Vec<Network>, String> {
    entries
        .iter()
        .map(|e| {
            Network::parse(e).ok_or_else(|| {
                format!(
                    "allowNetworks entry {:?} is not an address or network (185.16.44.0/24, 185.16.44.*, ::1/128)",
                    e.chars().take(64).collect::<String>()
                )
            })
        })
        .collect()
}

pub(super) fn check_source(remote: Option<&str>, allow: &[String]) -> Result<(), InboundError> {
    if allow.is_empty() {
        return Ok(());
    }
    let networks = parse_networks(allow).map_err(|message| {
        InboundError::new(
            "inbound.bad_settings",
            500,
            message,
            "fix the allow-list in the host's webhook settings",
        )
    })?;
    let Some(ip) = remote.and_then(parse_remote) else {
        return Err(InboundError::new(
            "inbound.forbidden_source",
            403,
            "the peer address is unknown or unreadable and an allow-list is set",
            "pass the peer address (behind a proxy, the client address the proxy reports)",
        ));
    };
    if networks.iter().any(|n| n.contains(ip)) {
        Ok(())
    } else {
        Err(InboundError::new(
            "inbound.forbidden_source",
            403,
            format!("the webhook comes from {ip}, outside the allowed networks"),
            format!("incwo calls from {INCWO_NETWORK}; add the source to allowNetworks if it is legitimate"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_read_every_documented_form() {
        let n = Network::parse("185.16.44.*").unwrap();
        assert!(n.contains("185.16.44.200".parse().unwrap()));
        assert!(!n.contains("185.16.45.1".parse().unwrap()));
        assert!(Network::parse("::1/128").unwrap().contains("::1".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Network::parse("1.2.3.4/33").is_none());
        assert!(Network::parse("*").is_none());
        assert!(parse_networks(&["nope".into()]).is_err());
    }

    #[test]
    fn peer_addresses_are_read_with_or_without_a_port() {
        for (text, ip) in [
            ("1.2.3.4", "1.2.3.4"),
            (" 1.2.3.4:5678 ", "1.2.3.4"),
            ("::1", "::1"),
            ("[::1]:80", "::1"),
            ("[fe80::1]", "fe80::1"),
        ] {
            assert_eq!(parse_remote(text), Some(ip.parse().unwrap()), "{text}");
        }
        for bad in ["", "host:80", "1.2.3", "[::1", "1.2.3.4:x"] {
            assert_eq!(parse_remote(bad), None, "{bad}");
        }
        // An IPv4-mapped IPv6 peer matches its IPv4 network; families never mix.
        let loopback = Network::parse("127.0.0.0/8").unwrap();
        assert!(loopback.contains("::ffff:127.0.0.9".parse().unwrap()));
        assert!(!Network::parse("::/0").unwrap().contains("1.2.3.4".parse().unwrap()));
        assert!(Network::parse("10.*").unwrap().contains("10.200.1.1".parse().unwrap()));
        assert!(Network::parse("1.2.3.4.*").is_none());
    }

    #[test]
    fn the_source_check_refuses_outsiders_and_names_bad_settings() {
        assert!(check_source(None, &[]).is_ok());
        let allow = vec![INCWO_NETWORK.to_string()];
        assert!(check_source(Some("185.16.44.1:443"), &allow).is_ok());
        for remote in [Some("185.16.45.1"), Some("garbage"), None] {
            let e = check_source(remote, &allow).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.http_status),
                ("inbound.forbidden_source", 403),
                "{remote:?}"
            );
        }
        let e = check_source(Some("185.16.44.1"), &["185.16.44.0/24".into(), "not-a-net".into()]).unwrap_err();
        assert_eq!((e.code.as_str(), e.http_status), ("inbound.bad_settings", 500));
        assert!(e.message.contains("\"not-a-net\""), "{}", e.message);
        assert_eq!(
            parse_networks(&["::1/128".into(), "127.0.0.1".into()]).unwrap().len(),
            2
        );
    }
}
