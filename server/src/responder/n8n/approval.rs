//! Acting on an approval button: the relay opens its signed link once, as
//! a person's browser would — never prefetched, never shown to the page.
//!
//! The link comes in a bot message, which a workflow may fill with text it
//! did not write (an LLM's output, the user's own words), so nothing in it
//! is trusted beyond what n8n's own links look like:
//!
//! - its origin must be n8n's `WEBHOOK_URL` as the operator configured it
//!   (`--n8n-public-url`, else the webhook URL's origin), and its path
//!   exactly `<base path>webhook-waiting/<this execution>/<node id>` — a
//!   path that merely *contains* that part (`/x/webhook-waiting/18/y`)
//!   could be anything on n8n's origin, and a link on another host would
//!   make the relay a fetcher of internal addresses;
//! - its query is n8n's signed one (`approved`, `signature`) and nothing
//!   else;
//! - n8n signs the link over its own host and checks the request's `Host`
//!   against it (capture 03, `get-approve-other-host`), so the relay sends
//!   the *configured* host as `Host` — never a value read from the link;
//! - the request goes where the relay reaches n8n (the webhook URL's origin)
//!   without the webhook URL's user info, without the webhook's headers or
//!   basic auth, without a User-Agent (n8n acts for none, as for a person),
//!   and follows no redirect.

use std::time::Duration;

use reqwest::header::{HeaderValue, HOST};

/// The longest node id segment and signature accepted (n8n: a UUID and a
/// hex SHA-256).
const MAX_PART: usize = 128;

/// Where approval links may point, and where the relay sends them.
#[derive(Debug, Clone)]
pub struct Links {
    /// n8n's `WEBHOOK_URL`: the links' origin and base path (ends in `/`).
    public: url::Url,
    /// Where the relay reaches n8n: the webhook URL's origin and base path,
    /// without user info, query or fragment.
    reach: url::Url,
}

/// `url` cut to its origin and n8n's base path: the part of the path before
/// a `webhook`/`webhook-test` segment (n8n's default endpoints), else `/`;
/// user info, query and fragment removed.
fn base_of(url: &url::Url) -> url::Url {
    let mut base = url.clone();
    let _ = base.set_username("");
    let _ = base.set_password(None);
    base.set_query(None);
    base.set_fragment(None);
    let segments: Vec<&str> = url.path().split('/').collect();
    let prefix = segments
        .iter()
        .position(|s| *s == "webhook" || *s == "webhook-test")
        .map(|at| segments[..at].join("/"))
        .unwrap_or_default();
    let prefix = prefix.trim_end_matches('/');
    base.set_path(&format!("{prefix}/"));
    base
}

/// `host[:port]` of `url` as n8n sees it in `Host` (no port when it is the
/// scheme's default, as a browser sends it).
fn host_header(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Whether `s` is one path segment as n8n makes them (a node id).
fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_PART
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `query` is n8n's signed query and nothing more:
/// `approved=true|false` and a hex `signature`, each once.
fn is_signed_query(query: &str) -> bool {
    let (mut approved, mut signature) = (0, 0);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "approved" if value == "true" || value == "false" => approved += 1,
            "signature"
                if !value.is_empty()
                    && value.len() <= MAX_PART
                    && value.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                signature += 1
            }
            _ => return false,
        }
    }
    approved == 1 && signature == 1
}

impl Links {
    /// The links of the webhook `webhook`, whose n8n makes them on `public`
    /// (`--n8n-public-url`; without it, the webhook URL's own origin).
    pub fn new(webhook: &url::Url, public: Option<&url::Url>) -> Links {
        let reach = base_of(webhook);
        let public = match public {
            Some(public) => {
                let mut public = public.clone();
                let _ = public.set_username("");
                let _ = public.set_password(None);
                public.set_query(None);
                public.set_fragment(None);
                if !public.path().ends_with('/') {
                    let path = format!("{}/", public.path());
                    public.set_path(&path);
                }
                public
            }
            None => reach.clone(),
        };
        Links { public, reach }
    }

    /// Checks `link` (a button of execution `execution_id`) and builds the
    /// request: the URL where the relay reaches n8n, and the `Host` the
    /// link was signed over — the configured one.
    pub fn target(&self, link: &str, execution_id: &str) -> Result<(url::Url, String), String> {
        let parsed =
            url::Url::parse(link).map_err(|_| "the button's link is not a URL".to_owned())?;
        let same_origin = parsed.scheme() == self.public.scheme()
            && parsed.host() == self.public.host()
            && parsed.port_or_known_default() == self.public.port_or_known_default();
        if !same_origin || !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("the button's link is not on n8n's origin (see --n8n-public-url)".into());
        }
        let waiting = format!("{}webhook-waiting/{execution_id}/", self.public.path());
        let node = parsed
            .path()
            .strip_prefix(&waiting)
            .filter(|node| is_segment(node))
            .ok_or("the button's link is not a waiting link of this run")?;
        let query = parsed.query().unwrap_or_default();
        if !is_signed_query(query) {
            return Err("the button's link is not signed".into());
        }
        let host = host_header(&self.public).ok_or("n8n's public URL has no host")?;
        let mut url = self.reach.clone();
        url.set_path(&format!(
            "{}webhook-waiting/{execution_id}/{node}",
            self.reach.path()
        ));
        url.set_query(Some(query));
        Ok((url, host))
    }
}

/// A client for the links: no User-Agent (n8n treats none as a person), no
/// redirects, no default headers, a short timeout.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
}

/// Opens the link once.
pub async fn follow(
    client: &reqwest::Client,
    links: &Links,
    link: &str,
    execution_id: &str,
) -> Result<(), String> {
    let (url, host) = links.target(link, execution_id)?;
    let host = HeaderValue::from_str(&host).map_err(|_| "bad host in n8n's URL".to_owned())?;
    let response = client
        .get(url)
        .header(HOST, host)
        .send()
        .await
        .map_err(|e| format!("n8n is not reachable: {}", e.without_url()))?;
    match response.status().as_u16() {
        200 => Ok(()),
        401 => Err("n8n refused the choice (its signature did not match; is --n8n-public-url n8n's WEBHOOK_URL?)".into()),
        other => Err(format!("n8n answered the choice with HTTP {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "f3000000-0000-4000-8000-000000000002";
    const QUERY: &str = "approved=true&signature=311b7fad9b";

    fn url(s: &str) -> url::Url {
        s.parse().expect("url")
    }

    fn link(origin_and_base: &str, id: &str) -> String {
        format!("{origin_and_base}webhook-waiting/{id}/{NODE}?{QUERY}")
    }

    #[test]
    fn a_link_on_the_webhooks_own_origin_is_followed_there() {
        // The captured case: n8n's WEBHOOK_URL is where the relay reaches it.
        let links = Links::new(&url("http://127.0.0.1:5678/webhook/abc/chat"), None);
        let (target, host) = links
            .target(&link("http://127.0.0.1:5678/", "18"), "18")
            .expect("valid");
        assert_eq!(
            target.as_str(),
            format!("http://127.0.0.1:5678/webhook-waiting/18/{NODE}?{QUERY}")
        );
        assert_eq!(host, "127.0.0.1:5678");
    }

    #[test]
    fn with_a_public_url_the_link_must_be_on_it_and_its_host_is_sent() {
        let links = Links::new(
            &url("http://10.0.0.5:5678/webhook/abc/chat"),
            Some(&url("https://n8n.example.com/")),
        );
        let (target, host) = links
            .target(&link("https://n8n.example.com/", "18"), "18")
            .expect("valid");
        assert_eq!(
            target.as_str(),
            format!("http://10.0.0.5:5678/webhook-waiting/18/{NODE}?{QUERY}")
        );
        assert_eq!(
            host, "n8n.example.com",
            "the configured host, not the link's"
        );
        // Without the flag the same link is on another origin: refused.
        let default = Links::new(&url("http://10.0.0.5:5678/webhook/abc/chat"), None);
        assert!(default
            .target(&link("https://n8n.example.com/", "18"), "18")
            .is_err());
    }

    #[test]
    fn a_link_that_merely_contains_the_waiting_path_is_refused() {
        let links = Links::new(
            &url("http://10.0.0.5:5678/webhook/abc/chat"),
            Some(&url("https://n8n.example.com/")),
        );
        for bad in [
            // The example: another host, the marker inside its path.
            format!("https://admin.internal/x/webhook-waiting/18/y?{QUERY}"),
            // n8n's host, but the marker not at the base path.
            format!("https://n8n.example.com/x/webhook-waiting/18/y?{QUERY}"),
            format!("https://n8n.example.com/rest/webhook-waiting/18/{NODE}?{QUERY}"),
            // More than one segment after the execution, or none.
            format!("https://n8n.example.com/webhook-waiting/18/{NODE}/more?{QUERY}"),
            format!("https://n8n.example.com/webhook-waiting/18/?{QUERY}"),
            // Encoded tricks in the node segment.
            format!("https://n8n.example.com/webhook-waiting/18/%2e%2e%2frest?{QUERY}"),
            // Another run's link, or a run id with a suffix.
            link("https://n8n.example.com/", "19"),
            link("https://n8n.example.com/", "180"),
            // Same host, another scheme or port.
            link("http://n8n.example.com/", "18"),
            link("https://n8n.example.com:8443/", "18"),
            // User info in the link.
            link("https://someone@n8n.example.com/", "18"),
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "not a url".to_owned(),
        ] {
            assert!(links.target(&bad, "18").is_err(), "followed: {bad}");
        }
    }

    #[test]
    fn only_n8ns_signed_query_is_accepted() {
        let links = Links::new(&url("http://127.0.0.1:5678/webhook/abc/chat"), None);
        let base = format!("http://127.0.0.1:5678/webhook-waiting/18/{NODE}");
        for bad in [
            format!("{base}?approved=true"),
            format!("{base}?signature=311b"),
            format!("{base}?approved=yes&signature=311b"),
            format!("{base}?approved=true&signature=zz"),
            format!("{base}?approved=true&signature=311b&next=http://x"),
            format!("{base}?approved=true&approved=false&signature=311b"),
            base.clone(),
        ] {
            assert!(links.target(&bad, "18").is_err(), "followed: {bad}");
        }
        let ok = format!("{base}?approved=false&signature=de6220ac0e");
        assert!(links.target(&ok, "18").is_ok());
    }

    #[test]
    fn the_webhook_urls_user_info_never_goes_along() {
        let links = Links::new(
            &url("http://admin:secret@127.0.0.1:5678/webhook/abc/chat?token=t"),
            None,
        );
        let (target, host) = links
            .target(&link("http://127.0.0.1:5678/", "18"), "18")
            .expect("valid");
        assert_eq!(target.username(), "");
        assert_eq!(target.password(), None);
        assert!(!target.as_str().contains("secret"), "{target}");
        assert!(!target.as_str().contains("token"), "{target}");
        assert_eq!(host, "127.0.0.1:5678");
    }

    #[test]
    fn n8n_under_a_path_keeps_its_base_path() {
        let links = Links::new(&url("https://example.com/n8n/webhook/abc/chat"), None);
        let (target, host) = links
            .target(&link("https://example.com/n8n/", "7"), "7")
            .expect("valid");
        assert_eq!(
            target.as_str(),
            format!("https://example.com/n8n/webhook-waiting/7/{NODE}?{QUERY}")
        );
        assert_eq!(host, "example.com");
        assert!(links
            .target(&link("https://example.com/", "7"), "7")
            .is_err());
        // A public URL given without its closing slash means the same.
        let links = Links::new(
            &url("http://10.0.0.5:5678/webhook/abc/chat"),
            Some(&url("https://example.com/n8n")),
        );
        let (target, _) = links
            .target(&link("https://example.com/n8n/", "7"), "7")
            .expect("valid");
        assert_eq!(target.path(), format!("/webhook-waiting/7/{NODE}"));
    }
}
