//! Where the relay listens, what it serves, and who may connect.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::values::{parse_frame_ancestors, parse_public_url, parse_ws_url};
use crate::admission::origin::{LoopbackPages, OriginPolicy};

/// Where the relay listens, what it serves, and who may connect.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Listening and the page")]
pub struct ServeFlags {
    /// Address to listen on (WebSocket on / and /ws, the page, /healthz).
    #[arg(long, env = "RELAY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Directory with the built page (trunk's dist/), read at start.
    ///
    /// Default: the page built into the binary (`cargo xtask build`), else
    /// ./dist.
    #[arg(long, env = "RELAY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// The address users open the page at (e.g. https://chat.example.com).
    ///
    /// Its origin may open the WebSocket; without it (and without
    /// --allowed-origin) only loopback pages may, so a site that points its own
    /// name at this relay (DNS rebinding) is refused.
    #[arg(long, env = "RELAY_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,

    /// The WebSocket URL the page connects to, if not `/ws` on the page's origin.
    ///
    /// E.g. wss://chat.example.com/ws behind another path. Published in
    /// /config.json as `relayUrl`; the page never takes a relay URL from
    /// anywhere else.
    #[arg(long, env = "RELAY_URL", value_parser = parse_ws_url)]
    pub relay_url: Option<url::Url>,

    /// Who may show the page in a frame (CSP `frame-ancestors` sources).
    ///
    /// E.g. "'self' https://shop.example"; "'none'" forbids framing.
    #[arg(long, env = "RELAY_FRAME_ANCESTORS", default_value = "*", value_parser = parse_frame_ancestors)]
    pub frame_ancestors: String,

    /// Browser origins allowed to open the WebSocket (repeatable; exact match).
    ///
    /// Without it: no Origin, --public-url's origin, and loopback origins
    /// for a private relay on loopback (--listen loopback, no
    /// --trusted-proxy, --public-url absent or loopback).
    #[arg(
        long = "allowed-origin",
        env = "RELAY_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Proxies whose X-Forwarded-For is believed for the client IP (repeatable).
    ///
    /// Comma-separated in the env var. Anyone else's X-Forwarded-For is
    /// ignored.
    #[arg(
        long = "trusted-proxy",
        env = "RELAY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// How often each client gets a heartbeat frame (e.g. 30s, 500ms).
    #[arg(help_heading = "Timing", long, env = "RELAY_HEARTBEAT_INTERVAL", default_value = "30s", value_parser = super::values::parse_positive_duration)]
    pub heartbeat_interval: Duration,

    /// A client silent for longer than this is closed (2.5 × the page's 25 s ping).
    #[arg(help_heading = "Timing", long, env = "RELAY_IDLE_TIMEOUT", default_value = "62500ms", value_parser = super::values::parse_idle_timeout)]
    pub idle_timeout: Duration,

    /// On shutdown, how long to wait for answers still coming from n8n.
    #[arg(help_heading = "Timing", long, env = "RELAY_SHUTDOWN_GRACE", default_value = "10s", value_parser = super::values::parse_duration)]
    pub shutdown_grace: Duration,

    /// Admit loopback pages (localhost) even on a published relay.
    ///
    /// Pages served from http://localhost:*, 127.0.0.1 or [::1]. Without it
    /// they are admitted only for a private relay on loopback (--listen
    /// loopback, no --trusted-proxy, --public-url absent or loopback): on a
    /// published
    /// relay, "localhost" is the visitor's own machine.
    #[arg(long, env = "RELAY_ALLOW_LOOPBACK_ORIGIN")]
    pub allow_loopback_origin: bool,

    /// A site origin that may embed the chat with embed.js (repeatable).
    ///
    /// Comma-separated in the env var, e.g. https://shop.example. With a list,
    /// the page refuses to act as an embed for any other host (published in
    /// /config.json as `embedOrigins`), and the CSP's `frame-ancestors` becomes
    /// `'self'` plus the list unless --frame-ancestors is set to something
    /// other than `*`. Without it: any site may.
    #[arg(
        long = "embed-origin",
        env = "RELAY_EMBED_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_embed_origin
    )]
    pub embed_origins: Vec<String>,
}

/// An embedding site's origin, exactly as browsers write it (`scheme://host[:port]`,
/// lower case, no path): the page compares it with `embed.js`' `?host=`
/// as a string, so `https://Shop.example/` is stored as `https://shop.example`.
pub fn parse_embed_origin(s: &str) -> Result<String, String> {
    let url = url::Url::parse(s.trim()).map_err(|e| format!("not an origin: {e}"))?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    match url.scheme() {
        "http" | "https" if url.host().is_some() && url.username().is_empty() && bare => {
            Ok(url.origin().ascii_serialization())
        }
        _ => Err("expected an origin like https://shop.example (no path)".into()),
    }
}

impl ServeFlags {
    /// The CSP `frame-ancestors` sources: `--frame-ancestors` when not `*`,
    /// else, with an `--embed-origin` list, `'self'` and the list (so the
    /// browser itself refuses to show the chat in any other site's frame —
    /// an ad frame inside a listed shop included, since every ancestor is
    /// checked), else `*`.
    pub fn frame_ancestors_policy(&self) -> String {
        if self.frame_ancestors != "*" || self.embed_origins.is_empty() {
            return self.frame_ancestors.clone();
        }
        let mut sources = vec!["'self'".to_owned()];
        sources.extend(self.embed_origins.iter().cloned());
        sources.join(" ")
    }

    /// The origin (`scheme://host[:port]`) of `--public-url`, if given.
    pub fn public_origin(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
    }

    /// The origin policy the flags ask for (`--allowed-origin`,
    /// `--public-url`, `--allow-loopback-origin`, `--trusted-proxy`,
    /// `--listen`).
    pub fn origin_policy(&self) -> OriginPolicy {
        let loopback = if self.allow_loopback_origin {
            LoopbackPages::Allowed
        } else if !self.trusted_proxies.is_empty() {
            LoopbackPages::Refused
        } else {
            LoopbackPages::IfListeningOnLoopback(self.listen.ip())
        };
        OriginPolicy::new(self.allowed_origins.clone(), self.public_origin(), loopback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_origins_are_bare_origins_and_frame_ancestors_follow_them() {
        assert_eq!(
            parse_embed_origin("https://Shop.example/").as_deref(),
            Ok("https://shop.example")
        );
        assert_eq!(
            parse_embed_origin("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert!(parse_embed_origin("https://shop.example/path").is_err());
        assert!(parse_embed_origin("javascript:alert(1)").is_err());
        assert!(parse_embed_origin("*").is_err());
        assert!(parse_embed_origin("https://user@shop.example").is_err());

        let mut serve = crate::config::Config::defaults().serve;
        assert_eq!(serve.frame_ancestors_policy(), "*");
        serve.embed_origins = vec!["https://shop.example".into(), "https://b.example".into()];
        assert_eq!(
            serve.frame_ancestors_policy(),
            "'self' https://shop.example https://b.example"
        );
        // An explicit --frame-ancestors is the operator's word.
        serve.frame_ancestors = "'none'".into();
        assert_eq!(serve.frame_ancestors_policy(), "'none'");
    }

    #[test]
    fn the_flags_choose_the_rule() {
        let mut flags = crate::Config::defaults().serve;
        assert!(
            flags.origin_policy().allows(Some("http://localhost:8080")),
            "default --listen is 127.0.0.1: the development setup"
        );
        flags.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        assert!(
            !flags.origin_policy().allows(Some("http://localhost:8080")),
            "behind a proxy"
        );
        flags.trusted_proxies.clear();
        flags.public_url = Some("https://chat.example.com/".parse().expect("url"));
        assert!(
            !flags.origin_policy().allows(Some("http://localhost:8080")),
            "published on loopback behind a proxy (the README's setup)"
        );
        flags.listen = "0.0.0.0:3000".parse().expect("addr");
        assert!(!flags.origin_policy().allows(Some("http://localhost:8080")));
        flags.allow_loopback_origin = true;
        flags.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        assert!(flags.origin_policy().allows(Some("http://localhost:8080")));
    }
}
