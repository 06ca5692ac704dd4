//! Acting on an approval button: the relay opens its signed link once, as
//! a person's browser would — never prefetched, never shown to the page.
//!
//! n8n signs the link over its own `Host` (its `WEBHOOK_URL`), acts only
//! for a browser-like (or absent) User-Agent, and the link names the
//! execution, which is a capability. So the relay checks that the link is a
//! `webhook-waiting` link of *this* execution (a workflow's message text
//! cannot make it fetch anything else), connects to n8n where the relay
//! reaches it (the webhook URL's origin), keeps the link's `Host`, and sends
//! no User-Agent, no credentials, follows no redirect.

use std::time::Duration;

use reqwest::header::{HeaderValue, HOST};

/// Checks `link` and builds the request target: (URL on n8n's origin as the
/// relay reaches it, `Host` the link was signed over).
pub fn target(
    link: &str,
    execution_id: &str,
    n8n: &url::Url,
) -> Result<(url::Url, String), String> {
    let parsed = url::Url::parse(link).map_err(|_| "the button's link is not a URL".to_owned())?;
    let marker = format!("/webhook-waiting/{execution_id}/");
    if !parsed.path().contains(&marker) {
        return Err("the button's link is not a waiting link of this run".into());
    }
    let query = parsed.query().unwrap_or_default();
    if !query.contains("signature=") || !query.contains("approved=") {
        return Err("the button's link is not signed".into());
    }
    let host = match (parsed.host_str(), parsed.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return Err("the button's link has no host".into()),
    };
    let mut on_n8n = n8n.clone();
    on_n8n.set_path(parsed.path());
    on_n8n.set_query(Some(query));
    on_n8n.set_fragment(None);
    Ok((on_n8n, host))
}

/// A client for the links: no User-Agent (n8n treats none as a person), no
/// redirects, a short timeout.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
}

/// Opens the link once.
pub async fn follow(
    client: &reqwest::Client,
    link: &str,
    execution_id: &str,
    n8n: &url::Url,
) -> Result<(), String> {
    let (url, host) = target(link, execution_id, n8n)?;
    let host = HeaderValue::from_str(&host).map_err(|_| "bad host in the link".to_owned())?;
    let response = client
        .get(url)
        .header(HOST, host)
        .send()
        .await
        .map_err(|e| format!("n8n is not reachable: {e}"))?;
    match response.status().as_u16() {
        200 => Ok(()),
        401 => Err("n8n refused the choice (its signature did not match)".into()),
        other => Err(format!("n8n answered the choice with HTTP {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_runs_signed_waiting_links_are_followed() {
        let n8n: url::Url = "http://10.0.0.5:5678/webhook/abc/chat"
            .parse()
            .expect("url");
        let link = "https://n8n.example.com/webhook-waiting/18/f3000000-0000-4000-8000-000000000002?approved=true&signature=311b";
        let (url, host) = target(link, "18", &n8n).expect("valid");
        assert_eq!(
            url.as_str(),
            "http://10.0.0.5:5678/webhook-waiting/18/f3000000-0000-4000-8000-000000000002?approved=true&signature=311b"
        );
        assert_eq!(host, "n8n.example.com", "the signed Host is kept");
        assert!(target(link, "19", &n8n).is_err(), "another run's link");
        assert!(target("http://169.254.169.254/latest/meta-data", "18", &n8n).is_err());
        assert!(
            target(
                "https://n8n.example.com/webhook-waiting/18/x?approved=true",
                "18",
                &n8n
            )
            .is_err(),
            "unsigned"
        );
        assert!(target("not a url", "18", &n8n).is_err());
    }
}
