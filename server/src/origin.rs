//! Which browser origins may open a WebSocket.
//!
//! Browsers let any web page open a WebSocket to any host and send the
//! user's cookies along (cross-site WebSocket hijacking), so the relay checks
//! the `Origin` header of every upgrade. Non-browser clients send no
//! `Origin` and are always allowed: the check protects browsers, it is not
//! authentication.

/// The origin policy of the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPolicy {
    /// No `--allowed-origin` given: the relay's own host, and loopback
    /// origins (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`)
    /// for `trunk serve` during development.
    SameHostOrLoopback,
    /// Exactly these origins (exact string match, no wildcards).
    List(Vec<String>),
}

impl OriginPolicy {
    /// The policy for a (possibly empty) `--allowed-origin` list.
    pub fn new(allowed: Vec<String>) -> Self {
        let allowed: Vec<String> = allowed
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if allowed.is_empty() {
            OriginPolicy::SameHostOrLoopback
        } else {
            OriginPolicy::List(allowed)
        }
    }

    /// Whether an upgrade with this `Origin` (and this `Host` header) may
    /// proceed.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        match self {
            OriginPolicy::List(list) => list.iter().any(|o| o == origin),
            OriginPolicy::SameHostOrLoopback => {
                let Some(authority) = origin_authority(origin) else {
                    return false;
                };
                is_loopback_http(origin, authority)
                    || host.is_some_and(|h| same_authority(authority, h, origin))
            }
        }
    }
}

/// `host[:port]` of an origin like `https://example.com:8443`, if it has the
/// shape of an http(s) origin.
fn origin_authority(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains(['/', '?', '#', '@'])).then_some(rest)
}

fn is_loopback_http(origin: &str, authority: &str) -> bool {
    if !origin.starts_with("http://") {
        return false;
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
}

/// Compares an origin's authority with the request's `Host`, treating a
/// default port (80 for http, 443 for https) as absent on either side.
fn same_authority(origin_authority: &str, host: &str, origin: &str) -> bool {
    let default_port = if origin.starts_with("https://") {
        ":443"
    } else {
        ":80"
    };
    let a = origin_authority.to_ascii_lowercase();
    let b = host.to_ascii_lowercase();
    let a = a.strip_suffix(default_port).unwrap_or(&a);
    let b = b.strip_suffix(default_port).unwrap_or(&b);
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> OriginPolicy {
        OriginPolicy::new(vec![])
    }

    #[test]
    fn no_origin_is_a_non_browser_client_and_allowed() {
        assert!(default().allows(None, Some("relay:3000")));
        assert!(OriginPolicy::new(vec!["https://a.example".into()]).allows(None, None));
    }

    #[test]
    fn own_host_is_allowed() {
        let p = default();
        assert!(p.allows(
            Some("http://chat.example.com:3000"),
            Some("chat.example.com:3000")
        ));
        assert!(p.allows(Some("https://chat.example.com"), Some("chat.example.com")));
        assert!(p.allows(
            Some("https://chat.example.com"),
            Some("chat.example.com:443")
        ));
        assert!(p.allows(Some("http://Chat.Example.com"), Some("chat.example.com")));
        assert!(!p.allows(
            Some("http://chat.example.com:3001"),
            Some("chat.example.com:3000")
        ));
        assert!(!p.allows(
            Some("https://chat.example.com"),
            Some("chat.example.com:80")
        ));
    }

    #[test]
    fn loopback_origins_are_allowed_for_development() {
        let p = default();
        for o in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "http://localhost",
        ] {
            assert!(p.allows(Some(o), Some("127.0.0.1:3000")), "{o}");
        }
    }

    #[test]
    fn foreign_and_odd_origins_are_refused() {
        let p = default();
        for o in [
            "https://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example:80",
            "null",
            "",
            "file://",
            "http://user@localhost:8080",
            "ws://localhost:8080",
        ] {
            assert!(!p.allows(Some(o), Some("127.0.0.1:3000")), "{o}");
        }
        assert!(!p.allows(Some("https://evil.example"), None));
    }

    #[test]
    fn an_explicit_list_is_exact() {
        let p = OriginPolicy::new(vec![
            "https://a.example".into(),
            " https://b.example/ ".into(),
        ]);
        assert!(p.allows(Some("https://a.example"), Some("relay")));
        assert!(p.allows(Some("https://b.example"), Some("relay")));
        assert!(!p.allows(Some("https://a.example:443"), Some("relay")));
        assert!(
            !p.allows(Some("http://localhost:8080"), Some("localhost:8080")),
            "loopback not implied"
        );
        assert!(
            !p.allows(Some("https://relay"), Some("relay")),
            "own host not implied"
        );
    }
}
