//! The requests to the identity provider: a client that follows no
//! redirects, with bounded time and bounded bodies (as the key-set fetch),
//! and the code exchange at the token endpoint.

use std::time::Duration;

use super::error::OidcError;
use super::settings::Settings;

/// Largest body read from the provider, in bytes (a discovery document or
/// a token answer is a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The client for the provider: no redirects (they could point the relay
/// anywhere), bounded connect and total time.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("n8n-chat-relay/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The body of `response` up to [`MAX_BODY_BYTES`], and its status.
pub async fn body(mut response: reqwest::Response) -> Result<(u16, Vec<u8>), String> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("an answer larger than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// Exchanges `code` (with the PKCE `verifier`) for an ID token, the client
/// authenticated with HTTP Basic (`client_secret_basic`, the default of
/// OpenID Connect Core §9).
pub async fn exchange(
    client: &reqwest::Client,
    token_endpoint: &url::Url,
    settings: &Settings,
    code: &str,
    verifier: &str,
) -> Result<String, OidcError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        id_token: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", settings.redirect_uri.as_str()),
        ("code_verifier", verifier),
        ("client_id", settings.client_id.as_str()),
    ];
    // RFC 6749 §2.3.1: id and secret form-encoded before Basic encoding.
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let response = client
        .post(token_endpoint.clone())
        .basic_auth(
            encode(&settings.client_id),
            Some(encode(&settings.client_secret)),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| OidcError::Provider(e.without_url().to_string()))?;
    let (status, body) = body(response).await.map_err(OidcError::Provider)?;
    let answer: Answer = serde_json::from_slice(&body)
        .map_err(|_| OidcError::Exchange(format!("HTTP {status}, not a token answer")))?;
    if let Some(error) = answer.error {
        let detail = answer.error_description.unwrap_or_default();
        return Err(OidcError::Exchange(
            format!("{} {}", printable(&error), printable(&detail))
                .trim()
                .to_owned(),
        ));
    }
    match answer.id_token {
        Some(token) if (200..300).contains(&status) => Ok(token),
        _ => Err(OidcError::Exchange(format!("HTTP {status}, no ID token"))),
    }
}

/// `s` cut to 200 characters without control characters: the provider's
/// words go into a page and a log line.
pub fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}
