//! The headers that keep the page safe in a browser: a Content Security
//! Policy, `nosniff` and `no-referrer`, on every response of the relay.
//!
//! The CSP allows exactly what the page needs and nothing a crafted answer
//! or link could use: the page's own scripts (trunk's one inline module
//! script by its hash, computed from the `index.html` that is served),
//! `'wasm-unsafe-eval'` to compile the wasm, its own stylesheet, connections
//! to its own origin (the WebSocket and `/config.json`) and to the
//! configured `--relay-url`; no foreign scripts, styles, images, frames,
//! forms or base URLs. Who may frame the page is `--frame-ancestors`
//! (default any site, since `?mode=window` is made to be embedded).

use axum::http::{header, HeaderValue};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The policy and the fixed headers, built once at start.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
}

impl SecurityHeaders {
    /// The headers for a page whose `index.html` is `index` (if there is
    /// one), connecting to `relay_url` besides its own origin, framed by
    /// `frame_ancestors`.
    pub fn new(index: Option<&str>, relay_url: Option<&url::Url>, frame_ancestors: &str) -> Self {
        let csp = policy(index, relay_url, frame_ancestors);
        let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| {
            // Only reachable with a frame-ancestors value the flag parser
            // refuses; fall back to the strictest policy rather than none.
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
        });
        SecurityHeaders { csp }
    }

    /// The `Content-Security-Policy` value.
    pub fn csp(&self) -> &HeaderValue {
        &self.csp
    }

    /// Adds the headers to `headers` (keeping any a handler set itself).
    pub fn apply(&self, headers: &mut axum::http::HeaderMap) {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert_with(|| self.csp.clone());
        headers
            .entry(header::X_CONTENT_TYPE_OPTIONS)
            .or_insert(HeaderValue::from_static("nosniff"));
        headers
            .entry(header::REFERRER_POLICY)
            .or_insert(HeaderValue::from_static("no-referrer"));
    }
}

/// The CSP text.
fn policy(index: Option<&str>, relay_url: Option<&url::Url>, frame_ancestors: &str) -> String {
    let mut scripts = String::from("'self' 'wasm-unsafe-eval'");
    for hash in index.map(inline_script_hashes).unwrap_or_default() {
        scripts.push_str(&format!(" 'sha256-{hash}'"));
    }
    let mut connect = String::from("'self'");
    if let Some(url) = relay_url {
        // Scheme, host and port only: CSP sources carry no path semantics
        // worth relying on here. The same relay over HTTP(S) too: files
        // are uploaded beside its socket (browsers do not let a ws source
        // cover http).
        connect.push(' ');
        connect.push_str(&source_of(url));
        let mut http = url.clone();
        let scheme = if url.scheme() == "wss" {
            "https"
        } else {
            "http"
        };
        if http.set_scheme(scheme).is_ok() {
            connect.push(' ');
            connect.push_str(&source_of(&http));
        }
    }
    format!(
        "default-src 'none'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors {frame_ancestors}"
    )
}

/// `scheme://host[:port]` of a ws(s) URL.
fn source_of(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// The base64 SHA-256 of every inline `<script>` in `html` (those without a
/// `src`), as CSP wants them: over the exact text between the tags.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(open) = find_ascii_ci(rest, "<script") {
        let after = &rest[open + "<script".len()..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let attributes = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = find_ascii_ci(body, "</script") else {
            break;
        };
        if find_ascii_ci(attributes, "src=").is_none() {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &body[close..];
    }
    hashes
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_exactly_and_external_ones_skipped() {
        let html = "<html><head><script src=\"/a.js\"></script>\
                    <SCRIPT type=\"module\">import x from '/x.js';\n</SCRIPT></head></html>";
        let hashes = inline_script_hashes(html);
        let expected = base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(b"import x from '/x.js';\n"));
        assert_eq!(hashes, [expected]);
        assert!(inline_script_hashes("<p>no scripts</p>").is_empty());
        assert!(inline_script_hashes("<script>unclosed").is_empty());
    }

    #[test]
    fn the_policy_allows_only_what_the_page_needs() {
        let relay: url::Url = "wss://relay.example:8443/ws".parse().expect("url");
        let csp = policy(Some("<script>boot()</script>"), Some(&relay), "'self'");
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' wss://relay.example:8443 https://relay.example:8443;"),
            "{csp}"
        );
        assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
        let plain = policy(None, None, "*");
        assert!(plain.contains("connect-src 'self';"), "{plain}");
        assert!(
            plain.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{plain}"
        );
    }
}
