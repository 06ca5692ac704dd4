//! Images in answers, without leaking the visitor (issue 27).
//!
//! A markdown image whose host the operator allows (`--image-host`) is sent
//! to the page as `api/image/<token>`: the relay fetches it (route
//! `http::images`), so the visitor's browser never contacts a third party
//! (the page's CSP stays `img-src 'self' data:`). The token is signed
//! ([`token`]), so the route fetches only URLs the relay itself put into an
//! answer — no open proxy. Images from other hosts stay links.
//!
//! - [`token`]: the signed token (HMAC-SHA256 over the URL).
//! - [`cache`]: fetched images, bounded by count and bytes.
//! - [`fetch`]: the HTTP client, with its bounds.

pub mod cache;
pub mod fetch;
pub mod token;

use std::sync::Arc;

use token::Signer;
use tokio::sync::Semaphore;
use url::Url;

/// Images kept in memory at once, and their bytes together.
pub const CACHE_ENTRIES: usize = 256;
/// See [`CACHE_ENTRIES`].
pub const CACHE_BYTES: usize = 32 * 1024 * 1024;
/// Images fetched at once; a request beyond waits for none: it gets `503`.
pub const MAX_FETCHES: usize = 8;

/// What the image route needs: which tokens are valid, the client, the
/// cache and the bound on fetches at once.
#[derive(Debug)]
pub struct ImageProxy {
    /// Which images are shown, and their tokens.
    pub links: ImageLinks,
    /// The HTTP client.
    pub fetcher: fetch::Fetcher,
    /// Fetched images.
    pub cache: cache::Cache,
    /// Fetches under way (at most [`MAX_FETCHES`]).
    pub fetches: Arc<Semaphore>,
}

impl ImageProxy {
    /// From the flags; `None` when no host is allowed (nothing to serve).
    pub fn from_flags(hosts: &[String], key: Option<&str>) -> Result<Option<Self>, reqwest::Error> {
        let links = ImageLinks::new(hosts, key);
        if !links.any() {
            return Ok(None);
        }
        Ok(Some(ImageProxy {
            links,
            fetcher: fetch::Fetcher::new()?,
            cache: cache::Cache::new(CACHE_ENTRIES, CACHE_BYTES),
            fetches: Arc::new(Semaphore::new(MAX_FETCHES)),
        }))
    }
}

/// The path the page loads an image token from, relative to the page (so
/// a relay behind a path prefix keeps it).
pub const PATH_PREFIX: &str = "api/image/";

/// Which image URLs become images, and their addresses.
#[derive(Debug, Clone)]
pub struct ImageLinks {
    /// Allowed `host` or `host:port`, lowercase.
    hosts: Vec<String>,
    signer: Signer,
}

impl ImageLinks {
    /// From `--image-host` and `--image-key` (a random key without one).
    pub fn new(hosts: &[String], key: Option<&str>) -> Self {
        ImageLinks {
            hosts: hosts
                .iter()
                .map(|h| h.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            signer: key.map_or_else(Signer::random, |k| Signer::new(k.as_bytes())),
        }
    }

    /// Whether any host is allowed (otherwise every image stays a link).
    pub fn any(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// Whether `url` is an `http(s)` URL on an allowed host. A host listed
    /// without a port allows the scheme's default port only.
    pub fn allows(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let with_port = url.port().map(|p| format!("{host}:{p}"));
        self.hosts.iter().any(|allowed| match &with_port {
            Some(hp) => allowed == hp,
            None => *allowed == host,
        })
    }

    /// Where the page loads the image at `url` from, if it is allowed.
    pub fn src(&self, url: &str) -> Option<String> {
        if !self.any() {
            return None;
        }
        let parsed = Url::parse(url.trim()).ok()?;
        if !self.allows(&parsed) {
            return None;
        }
        Some(format!(
            "{PATH_PREFIX}{}",
            self.signer.token(parsed.as_str())?
        ))
    }

    /// The allowed URL a token names; `None` for a forged or altered token,
    /// or one whose host is no longer allowed.
    pub fn url_of(&self, token: &str) -> Option<Url> {
        let url = Url::parse(&self.signer.verify(token)?).ok()?;
        self.allows(&url).then_some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_hosts_and_ports_become_images() {
        let links = ImageLinks::new(
            &["img.example".into(), "127.0.0.1:8080".into()],
            Some("0123456789abcdef"),
        );
        for ok in [
            "https://img.example/cat.png",
            "http://IMG.example/a/b.jpg?x=1",
            "https://img.example:443/x",
            "http://127.0.0.1:8080/x.png",
        ] {
            let src = links.src(ok).unwrap_or_else(|| panic!("{ok}"));
            let token = src.strip_prefix(PATH_PREFIX).expect("prefix");
            assert!(links.url_of(token).is_some(), "{ok}");
        }
        for no in [
            "https://other.example/cat.png",
            "https://img.example.evil/x",
            "https://evil.example/?img.example",
            "https://img.example:8443/x",
            "http://127.0.0.1/x.png",
            "http://127.0.0.1:8081/x.png",
            "ftp://img.example/x",
            "https://user@img.example/x",
            "data:image/png;base64,AAAA",
            "not a url",
        ] {
            assert_eq!(links.src(no), None, "{no}");
        }
        assert_eq!(
            ImageLinks::new(&[], None).src("https://img.example/x"),
            None
        );
    }

    #[test]
    fn a_token_for_a_host_no_longer_listed_is_refused() {
        let before = ImageLinks::new(&["img.example".into()], Some("0123456789abcdef"));
        let src = before.src("https://img.example/x.png").expect("src");
        let token = src.strip_prefix(PATH_PREFIX).expect("prefix");
        let after = ImageLinks::new(&["other.example".into()], Some("0123456789abcdef"));
        assert_eq!(after.url_of(token), None);
    }
}
