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
/// loopback pages (`http://localhost:*`, `http://127.0.0.1:*`,
/// `http://[::1]:*`) when the relay is a private one on loopback — it
/// listens on loopback, no explicit `--allowed-origin` list is given, no
/// `--trusted-proxy` is set and `--public-url` is absent or itself a
/// loopback URL — or when `--allow-loopback-origin` says so.
///
/// Loopback is about the *visitor's* machine: a browser says
/// `http://localhost:8080` for any page served from the machine it runs
/// on. For a private relay on loopback that is the relay's machine too
/// (the development setup, `trunk serve`). A relay that is published —
/// through a proxy (`--trusted-proxy`) or under a public `--public-url` —
/// is reached by visitors on other machines, even when it listens on
/// loopback behind that proxy (the documented production setup); there a
/// loopback page is any visitor's local server, some other program's
/// page, not this relay's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Origins allowed by exact match (normalised: no trailing slash).
    allowed: Vec<String>,
    /// Whether loopback origins are allowed.
    loopback: bool,
}

/// When loopback pages are admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopbackPages {
    /// Only if the relay listens on a loopback address, no explicit
    /// `--allowed-origin` list is given and the `--public-url` (if any) is
    /// itself a loopback URL.
    IfListeningOnLoopback(std::net::IpAddr),
    /// Never: the relay is published behind a proxy (`--trusted-proxy`),
    /// so its visitors are on other machines whatever it listens on.
    Refused,
    /// Always (`--allow-loopback-origin`), list or not.
    Allowed,
}

impl OriginPolicy {
    /// The policy for a (possibly empty) `--allowed-origin` list, the
    /// origin of `--public-url`, if any, and the rule for loopback pages.
    pub fn new(
        allowed: Vec<String>,
        public_origin: Option<String>,
        loopback: LoopbackPages,
    ) -> Self {
        let listed: Vec<String> = allowed
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        let loopback = match loopback {
            LoopbackPages::Allowed => true,
            LoopbackPages::Refused => false,
            LoopbackPages::IfListeningOnLoopback(ip) => {
                listed.is_empty()
                    && ip.to_canonical().is_loopback()
                    && public_origin.as_deref().is_none_or(is_loopback_origin)
            }
        };
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
        if origin_authority(origin).is_some_and(|authority| is_loopback_http(origin, authority)) {
            return "a page on the visitor's own machine (loopback) is admitted only when the relay \
                    listens on loopback without an --allowed-origin list, a --trusted-proxy or a \
                    non-loopback --public-url; for development set --allow-loopback-origin"
                .into();
        }
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

/// Whether an http(s) origin (a `--public-url`'s) names a loopback host:
/// a relay published only as `http://localhost:3000` is still private.
fn is_loopback_origin(origin: &str) -> bool {
    let Some(authority) = origin_authority(origin) else {
        return false;
    };
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
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

    /// Listening on loopback (the default `--listen`).
    const ON_LOOPBACK: LoopbackPages =
        LoopbackPages::IfListeningOnLoopback(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    fn on_public_address() -> LoopbackPages {
        LoopbackPages::IfListeningOnLoopback("203.0.113.7".parse().expect("ip"))
    }

    fn default() -> OriginPolicy {
        OriginPolicy::new(vec![], None, ON_LOOPBACK)
    }

    #[test]
    fn no_origin_is_a_non_browser_client_and_allowed() {
        assert!(default().allows(None));
        assert!(
            OriginPolicy::new(vec!["https://a.example".into()], None, ON_LOOPBACK).allows(None)
        );
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
        let p = OriginPolicy::new(vec![], Some("https://chat.example.com".into()), ON_LOOPBACK);
        assert!(p.allows(Some("https://chat.example.com")));
        assert!(p.allows(Some("https://Chat.Example.com")));
        assert!(!p.allows(Some("http://chat.example.com")), "scheme counts");
        assert!(
            !p.allows(Some("https://chat.example.com:8443")),
            "port counts"
        );
        assert!(!p.allows(Some("https://evil.example")));
    }

    /// Every loopback page is refused, and the log hint names the flag that
    /// would admit them.
    fn refuses_loopback_pages_and_names_the_flag(p: &OriginPolicy) {
        for o in [
            "http://localhost:8080",
            "http://127.0.0.1:3000",
            "http://[::1]:8080",
        ] {
            assert!(!p.allows(Some(o)), "{o}");
        }
        let hint = p.refusal_hint("http://localhost:8080", Some("chat.example.com"));
        assert!(hint.contains("--allow-loopback-origin"), "{hint}");
    }

    /// The README's production setup: `--listen 127.0.0.1:3000` behind
    /// nginx with a public `--public-url`. Visitors are on other machines,
    /// so their `http://localhost:*` pages are not this relay's.
    #[test]
    fn a_published_relay_on_loopback_refuses_loopback_pages() {
        let p = OriginPolicy::new(vec![], Some("https://chat.example.com".into()), ON_LOOPBACK);
        assert!(p.allows(Some("https://chat.example.com")));
        refuses_loopback_pages_and_names_the_flag(&p);
        // Behind a proxy, public URL or not.
        assert!(!OriginPolicy::new(vec![], None, LoopbackPages::Refused)
            .allows(Some("http://localhost:8080")));
        // A public URL that is itself loopback keeps the relay private.
        for public in [
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "https://[::1]:3000",
        ] {
            let p = OriginPolicy::new(vec![], Some(public.into()), ON_LOOPBACK);
            assert!(p.allows(Some("http://localhost:8080")), "{public}");
        }
        for public in ["https://localhost.example.com", "http://127.0.0.1.nip.io"] {
            let p = OriginPolicy::new(vec![], Some(public.into()), ON_LOOPBACK);
            assert!(!p.allows(Some("http://localhost:8080")), "{public}");
        }
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
            ON_LOOPBACK,
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

    #[test]
    fn a_relay_on_a_public_address_refuses_loopback_pages_unless_asked() {
        // "localhost" is the visitor's machine there, not the relay's.
        let p = OriginPolicy::new(
            vec![],
            Some("https://chat.example.com".into()),
            on_public_address(),
        );
        assert!(p.allows(Some("https://chat.example.com")));
        refuses_loopback_pages_and_names_the_flag(&p);
        // Listening on every interface is not listening on loopback.
        for listen in ["0.0.0.0", "::"] {
            let p = OriginPolicy::new(
                vec![],
                None,
                LoopbackPages::IfListeningOnLoopback(listen.parse().expect("ip")),
            );
            assert!(!p.allows(Some("http://localhost:8080")), "{listen}");
        }
        // IPv6 loopback and its IPv4-mapped form count as loopback.
        for listen in ["::1", "::ffff:127.0.0.1", "127.0.0.2"] {
            let p = OriginPolicy::new(
                vec![],
                None,
                LoopbackPages::IfListeningOnLoopback(listen.parse().expect("ip")),
            );
            assert!(p.allows(Some("http://localhost:8080")), "{listen}");
        }
    }

    #[test]
    fn allow_loopback_origin_admits_them_anywhere_even_with_a_list() {
        let p = OriginPolicy::new(
            vec!["https://a.example".into()],
            Some("https://chat.example.com".into()),
            LoopbackPages::Allowed,
        );
        assert!(p.allows(Some("http://localhost:8080")));
        assert!(p.allows(Some("https://a.example")));
        assert!(!p.allows(Some("https://evil.example")));
        assert!(!p.allows(Some("http://localhost.evil.example")));
    }
}
