//! The server address: [`BaseUrl`] parses and normalises
//! `http(s)://host[:port][/prefix]`, refusing credentials, query, fragment
//! and dot-segments, and knows whether the host is loopback (where plain
//! `http` is allowed).

use std::fmt;

use super::HttpError;

/// A validated base URL: scheme, host (with port) and an optional path
/// prefix, without trailing slash. `Display` gives `https://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    https: bool,
    authority: String,
    prefix: String,
    loopback: bool,
}

impl BaseUrl {
    /// Parses and normalizes (lower-cased scheme and host, no trailing slash)
    /// a base URL. Refuses credentials, query, fragment, dot-segments and
    /// anything but `http`/`https`. Does not apply the https rule (see
    /// [`ConnectionConfig::new`](crate::http::ConnectionConfig::new)).
    pub fn parse(text: &str) -> Result<Self, HttpError> {
        let bad = |reason: &str| {
            Err(HttpError::InvalidBaseUrl {
                reason: reason.to_owned(),
            })
        };
        if text.is_empty() {
            return bad("the server address is empty");
        }
        if text.len() > 2048 {
            return bad("the server address is longer than 2048 bytes");
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("the server address contains whitespace or control characters");
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return bad("the server address must start with https:// (or http:// for loopback)");
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return bad("only http and https server addresses are supported"),
        };
        if rest.contains('?') || rest.contains('#') {
            return bad("the server address cannot carry a query or a fragment");
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return bad("credentials go in the auth settings, never in the server address");
        }
        let (host, port) = split_host_port(authority)?;
        let host = host.to_ascii_lowercase();
        let loopback = is_loopback(&host);
        let mut prefix = String::new();
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            if segment == "." || segment == ".." {
                return bad("the server address path cannot contain dot-segments");
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
            {
                return bad("the server address path may only use letters, digits and - _ . ~");
            }
            prefix.push('/');
            prefix.push_str(segment);
        }
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Ok(Self {
            https,
            authority,
            prefix,
            loopback,
        })
    }

    /// True for `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// True when the host is `localhost`, `127.0.0.0/8` or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// The last path segment of the prefix, if any.
    pub(super) fn last_segment(&self) -> Option<&str> {
        self.prefix.rsplit('/').next().filter(|s| !s.is_empty())
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.prefix)
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), HttpError> {
    let bad = |reason: &str| HttpError::InvalidBaseUrl {
        reason: reason.to_owned(),
    };
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| bad("unclosed IPv6 literal"))?;
        let literal = &rest[..end];
        if literal.is_empty() || !literal.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return Err(bad("invalid IPv6 literal"));
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(bad("unexpected text after the IPv6 literal")),
        };
        (&authority[..end + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("the server address has no host"));
    }
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(bad("the host may only use letters, digits, - and ."));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(bad("the port must be a number between 1 and 65535")),
        },
    };
    Ok((host, port))
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host == "[::1]" {
        return true;
    }
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts[0] == "127"
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        let url = BaseUrl::parse("HTTPS://WWW.Incwo.COM:8443/Gate/v1/").unwrap();
        assert_eq!(url.to_string(), "https://www.incwo.com:8443/Gate/v1");
        assert!(url.is_https() && !url.is_loopback());
        assert_eq!(url.last_segment(), Some("v1"));
        assert_eq!(BaseUrl::parse("https://www.incwo.com").unwrap().last_segment(), None);
        for loopback in [
            "http://localhost",
            "http://127.0.0.1:9",
            "http://127.1.2.3",
            "http://[::1]:80",
        ] {
            let url = BaseUrl::parse(loopback).unwrap();
            assert!(url.is_loopback() && !url.is_https(), "{loopback}");
        }
        // Plain http to another host parses: the https rule is the config's.
        assert!(!BaseUrl::parse("http://www.incwo.com").unwrap().is_loopback());
    }

    #[test]
    fn anything_that_could_redirect_a_request_is_refused() {
        let long = format!("https://{}.com", "a".repeat(2048));
        for bad in [
            "",
            long.as_str(),
            "https://www.incwo.com/a b",
            "//www.incwo.com",
            "file:///etc/passwd",
            "https://u@www.incwo.com",
            "https://www.incwo.com/?q",
            "https://www.incwo.com/./x",
            "https://www.incwo.com/a%2Fb",
            "https://www.incwo.com:",
            "https://www.incwo.com:65536",
            "https://[::1",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        // Not an IPv4 loopback address, so plain http to it is not let through.
        assert!(!BaseUrl::parse("http://127.0.0.256").is_ok_and(|u| u.is_loopback()));
    }
}
