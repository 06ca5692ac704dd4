//! The token endpoint: the code once, its PKCE verifier, its redirect URI
//! and the client's secret checked; an RS256 ID token signed (or
//! mis-signed, as the [`super::Behaviour`] says).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Behaviour, Inner};

/// The key id the provider's key set lists.
const KID: &str = "rsa-1";

#[derive(Debug, Deserialize)]
pub(super) struct TokenRequest {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client's id and secret from HTTP Basic, or from the form.
fn client(headers: &HeaderMap, form: &TokenRequest) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if let Some(pair) = basic {
        let (id, secret) = pair.split_once(':')?;
        return Some((decode(id), decode(secret)));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

/// Undoes form encoding (RFC 6749 §2.3.1 encodes Basic's id and secret).
fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
            }
            b => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) async fn token(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<TokenRequest>,
) -> Response {
    inner.token_requests.fetch_add(1, Ordering::SeqCst);
    if form.grant_type != "authorization_code" {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "");
    }
    match client(&headers, &form) {
        Some((id, secret)) if id == inner.client_id && secret == inner.client_secret => {}
        _ => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "wrong client credentials",
            )
        }
    }
    let grant = {
        let mut grants = inner.grants.lock();
        match grants.get_mut(&form.code) {
            Some(g) if !g.used => {
                g.used = true;
                g.clone()
            }
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the code was already used",
                )
            }
            None => return error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code"),
        }
    };
    if grant.redirect_uri != form.redirect_uri {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri differs",
        );
    }
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(form.code_verifier.as_bytes()));
    if challenge != grant.challenge {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE verifier does not match",
        );
    }
    let behaviour = *inner.behaviour.lock();
    let user = inner.user.lock().clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (iat, exp) = match behaviour {
        Behaviour::Expired => (now - 7200, now - 3600),
        _ => (now, now + 300),
    };
    let nonce = match behaviour {
        Behaviour::WrongNonce => "not-the-sign-ins-nonce".to_owned(),
        _ => grant.nonce,
    };
    let claims = serde_json::json!({
        "iss": inner.issuer,
        "sub": user.sub,
        "aud": inner.client_id,
        "iat": iat,
        "exp": exp,
        "nonce": nonce,
        "name": user.name,
        "email": user.email,
    });
    let pem = match behaviour {
        Behaviour::ForeignKey => include_str!("keys/forger.pem"),
        _ => include_str!("keys/provider.pem"),
    };
    let Ok(key) = EncodingKey::from_rsa_pem(pem.as_bytes()) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "bad key");
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.into());
    let Ok(id_token) = jsonwebtoken::encode(&header, &claims, &key) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "signing failed",
        );
    };
    Json(serde_json::json!({
        "access_token": "testkit-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}
