//! Which browser origins may open a WebSocket.
//!
//! Browsers let any web page open a WebSocket to any host and send the
//! user's cookies along (cross-site WebSocket hijacking), so the relay checks
//! the `Origin` header of every upgrade. Non-browser clients send no
//! `Origin` and are always allowed: the check protects browsers, it is not
//! authentication.

/// The origin policy of the relay.
///
/// The `Host` header is never trusted: with DNS rebinding an attacker's site
/// (`rebind.attacker.example`, resolving to this relay's address) sends an
/// `Origin` equal to its `Host`, so "same host" would let any site chat
/// through the relay with its server-side webhook credentials. Allowed are
/// exactly: the configured origins (`--allowed-origin`, `--public-url`), and
/// — unless an explicit `--allowed-origin` list is given — loopback pages
/// (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`), which only
/// a page really served from this machine can claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Origins allowed by exact match (normalised: no trailing slash).
    allowed: Vec<String>,
    /// Whether loopback origins are allowed (no explicit list given).
    loopback: bool,
}

impl OriginPolicy {
    /// The policy for a (possibly empty) `--allowed-origin` list and the
    /// origin of `--public-url`, if any.
    pub fn new(allowed: Vec<String>, public_origin: Option<String>) -> Self {
        let listed: Vec<String> = allowed
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        let loopback = listed.is_empty();
        let mut allowed = listed;
        allowed.extend(public_origin);
        OriginPolicy { allowed, loopback }
    }

    /// Whether an upgrade with this `Origin` may proceed.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.allowed.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            return true;
        }
        self.loopback
            && origin_authority(origin).is_some_and(|authority| is_loopback_http(origin, authority))
    }

    /// What to tell the operator when `origin` (with `host`) was refused.
    pub fn refusal_hint(&self, origin: &str, host: Option<&str>) -> String {
        let same_host = host.is_some_and(|h| {
            origin_authority(origin).is_some_and(|a| same_authority(a, h, origin))
        });
        if same_host {
            format!(
                "if users open the page at {origin}, start the relay with --public-url {origin} \
                 (a site pointing its own name at this relay is refused unless configured)"
            )
        } else {
            "a page on another site may not use this relay; allow it with --allowed-origin".into()
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
        OriginPolicy::new(vec![], None)
    }

    #[test]
    fn no_origin_is_a_non_browser_client_and_allowed() {
        assert!(default().allows(None));
        assert!(OriginPolicy::new(vec!["https://a.example".into()], None).allows(None));
    }

    #[test]
    fn the_host_header_is_not_trusted_dns_rebinding() {
        // A rebinding site sends Origin == Host: refused by default.
        let p = default();
        assert!(!p.allows(Some("http://rebind.attacker.example:3000")));
        assert!(!p.allows(Some("http://chat.example.com:3000")));
        assert!(!p.allows(Some("http://192.168.1.5:3000")));
        let hint = p.refusal_hint(
            "http://rebind.attacker.example:3000",
            Some("rebind.attacker.example:3000"),
        );
        assert!(hint.contains("--public-url"), "{hint}");
        let hint = p.refusal_hint("https://evil.example", Some("chat.example.com"));
        assert!(hint.contains("--allowed-origin"), "{hint}");
    }

    #[test]
    fn the_public_url_is_allowed() {
        let p = OriginPolicy::new(vec![], Some("https://chat.example.com".into()));
        assert!(p.allows(Some("https://chat.example.com")));
        assert!(p.allows(Some("https://Chat.Example.com")));
        assert!(!p.allows(Some("http://chat.example.com")), "scheme counts");
        assert!(
            !p.allows(Some("https://chat.example.com:8443")),
            "port counts"
        );
        assert!(!p.allows(Some("https://evil.example")));
        assert!(
            p.allows(Some("http://localhost:8080")),
            "loopback still allowed for development"
        );
    }

    #[test]
    fn loopback_origins_are_allowed_for_development() {
        let p = default();
        for o in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "http://localhost",
            "http://127.0.0.1:3000",
        ] {
            assert!(p.allows(Some(o)), "{o}");
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
            assert!(!p.allows(Some(o)), "{o}");
        }
    }

    #[test]
    fn an_explicit_list_is_exact() {
        let p = OriginPolicy::new(
            vec!["https://a.example".into(), " https://b.example/ ".into()],
            Some("https://chat.example.com".into()),
        );
        assert!(p.allows(Some("https://a.example")));
        assert!(p.allows(Some("https://b.example")));
        assert!(
            p.allows(Some("https://chat.example.com")),
            "public URL added"
        );
        assert!(!p.allows(Some("https://a.example:443")));
        assert!(
            !p.allows(Some("http://localhost:8080")),
            "loopback not implied"
        );
    }
}
