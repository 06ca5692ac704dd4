//! The provider's endpoints from `/.well-known/openid-configuration`
//! (OpenID Connect Discovery 1.0 §4).
//!
//! The document must name the configured issuer exactly (§4.3: otherwise
//! another provider could pose as it), and every endpoint must be https,
//! or http on loopback (for tests and a provider on the same host).

use super::error::OidcError;
use super::fetch;

/// The endpoints the relay uses.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The `issuer`, as ID tokens must carry it in `iss`.
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: url::Url,
    /// Where the relay exchanges the code.
    pub token_endpoint: url::Url,
    /// The key set that signs ID tokens.
    pub jwks_uri: url::Url,
}

/// Fetches and checks the discovery document of `issuer`.
pub async fn discover(client: &reqwest::Client, issuer: &url::Url) -> Result<Provider, OidcError> {
    #[derive(serde::Deserialize)]
    struct Document {
        issuer: String,
        authorization_endpoint: String,
        token_endpoint: String,
        jwks_uri: String,
    }
    let unusable = |why: String| OidcError::Provider(format!("discovery: {why}"));
    let base = issuer.as_str().trim_end_matches('/');
    let url = format!("{base}/.well-known/openid-configuration");
    let response = client
        .get(&url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unusable(e.without_url().to_string()))?;
    let (status, body) = fetch::body(response).await.map_err(unusable)?;
    if !(200..300).contains(&status) {
        return Err(unusable(format!("HTTP {status} from {url}")));
    }
    let doc: Document = serde_json::from_slice(&body)
        .map_err(|e| unusable(format!("not a discovery document: {e}")))?;
    if doc.issuer.trim_end_matches('/') != base {
        return Err(unusable(format!(
            "the document names the issuer {:?}, not --oidc-issuer",
            fetch::printable(&doc.issuer)
        )));
    }
    let endpoint = |name: &str, s: &str| endpoint(s).map_err(|e| unusable(format!("{name}: {e}")));
    Ok(Provider {
        issuer: doc.issuer.clone(),
        authorization_endpoint: endpoint("authorization_endpoint", &doc.authorization_endpoint)?,
        token_endpoint: endpoint("token_endpoint", &doc.token_endpoint)?,
        jwks_uri: endpoint("jwks_uri", &doc.jwks_uri)?,
    })
}

/// An endpoint URL: https, or http to a loopback host.
pub fn endpoint(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if on_loopback(&url) => Ok(url),
        _ => Err("must be https (http only on loopback)".into()),
    }
}

/// Whether `url` names this machine (a loopback address or
/// `localhost`): the one place plain http is taken for a key set or a
/// provider, since nothing on the way can read or change it.
pub fn on_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        assert!(endpoint("https://id.example/authorize").is_ok());
        assert!(endpoint("http://127.0.0.1:9/token").is_ok());
        assert!(endpoint("http://id.example/token").is_err());
        assert!(endpoint("javascript:alert(1)").is_err());
    }
}
