//! The relay-signed session token a signed-in browser holds in its
//! `relay_session` cookie: an HS256 JWT (`sub`, `name`, `email`, `exp`,
//! `iss` and `aud` naming the relay's session), checked by the same
//! [`Verifier`] as the host's tokens.
//!
//! The key is derived from `--oidc-client-secret` (HMAC-SHA256 over a
//! fixed label), so every relay of a cluster accepts the cookie of another
//! without a further secret, and changing the client secret signs everyone
//! out. The ID token itself is not kept: it lives minutes, a sign-in lasts
//! `--oidc-session-lifetime`.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::Sha256;

use crate::identity::{Identity, IdentityError, VerifiedUser, Verifier};

/// The cookie's name.
pub const COOKIE: &str = "relay_session";
/// The `iss` and `aud` of session tokens: never a provider's or a host's.
const ISSUER: &str = "n8n-chat-relay";
const AUDIENCE: &str = "n8n-chat-relay/session";
/// The label the key is derived with.
const LABEL: &[u8] = b"n8n-chat-relay oidc session key v1";

/// Signs and checks session tokens.
pub struct SessionSigner {
    key: EncodingKey,
    verifier: Verifier,
    lifetime: Duration,
}

impl std::fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSigner(***)")
    }
}

impl SessionSigner {
    /// Tokens keyed from `client_secret`, each valid for `lifetime`.
    pub fn new(client_secret: &str, lifetime: Duration) -> SessionSigner {
        let key = match Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()) {
            Ok(mut mac) => {
                mac.update(LABEL);
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length; kept total all the same.
            Err(_) => client_secret.as_bytes().to_vec(),
        };
        SessionSigner {
            key: EncodingKey::from_secret(&key),
            verifier: Verifier::with_secret(&key, Duration::ZERO)
                .expecting(Some(ISSUER.into()), Some(AUDIENCE.into())),
            lifetime,
        }
    }

    /// How long a sign-in lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A token for `user`, valid from `now_secs` (unix seconds) for the
    /// lifetime.
    pub fn sign(&self, user: &VerifiedUser, now_secs: u64) -> Result<String, String> {
        let claims = serde_json::json!({
            "sub": user.id,
            "name": user.name,
            "email": user.email,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now_secs,
            "exp": now_secs.saturating_add(self.lifetime.as_secs()),
        });
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| e.to_string())
    }

    /// The signed-in user of a cookie's token.
    pub async fn check(&self, token: &str) -> Result<Identity, IdentityError> {
        self.verifier.verify(token).await
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v.trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> VerifiedUser {
        VerifiedUser {
            id: "u-1".into(),
            name: Some("Ada".into()),
            email: None,
        }
    }

    fn now() -> u64 {
        crate::clock::now_ms() / 1000
    }

    #[tokio::test]
    async fn a_session_token_is_checked_with_the_key_and_expires() {
        let signer = SessionSigner::new("client-secret", Duration::from_secs(3600));
        let token = signer.sign(&user(), now()).expect("sign");
        let identity = signer.check(&token).await.expect("valid");
        assert_eq!(identity.user, user());
        // Another client secret: refused.
        let other = SessionSigner::new("other-secret", Duration::from_secs(3600));
        assert!(matches!(
            other.check(&token).await,
            Err(IdentityError::Invalid(_))
        ));
        // Signed two hours ago for an hour: expired.
        let old = signer.sign(&user(), now() - 7200).expect("sign");
        assert_eq!(signer.check(&old).await, Err(IdentityError::Expired));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = "a=1; relay_session=tok.en.sig; relay_session_x=2";
        assert_eq!(cookie(h, COOKIE), Some("tok.en.sig"));
        assert_eq!(cookie(h, "b"), None);
    }
}
