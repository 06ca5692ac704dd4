//! A token in, a verified user (or why not) out.
//!
//! The algorithm is the configuration's, never the token's: with
//! `--identity-secret` only HS256 is accepted; with `--identity-jwks-url`
//! only the configured subset of RS256/ES256, and each key only for the one
//! algorithm its type fits. `none` is not an algorithm the JWT library
//! knows, so such a token does not even decode. `exp` and `sub` are
//! required; `exp` and `nbf` are checked with the configured leeway
//! (`--identity-leeway`, at most [`MAX_LEEWAY`]); `iss` and `aud` when
//! configured.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use shared::ErrorCode;

use super::claims::{Claims, Identity};
use super::jwks::{KeyError, KeySet};

/// Longest token accepted, in bytes (a token with a few claims is well
/// under 2 KiB; the bound keeps decoding cheap).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Largest `--identity-leeway`: clocks of servers differ by seconds; more
/// would stretch every token's life.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Signed correctly, but past its `exp` (plus leeway): the host should
    /// sign a new one.
    #[error("the identity token has expired; the page asks the site for a new one")]
    Expired,
    /// Forged, signed with another key or algorithm, malformed, or its
    /// claims are not acceptable.
    #[error("the identity token was refused: {0}")]
    Invalid(String),
    /// The key set could not be fetched: nothing can be verified now.
    #[error("the identity token cannot be checked now: {0}")]
    Unavailable(String),
}

impl IdentityError {
    /// The protocol error code for it.
    pub fn code(&self) -> ErrorCode {
        match self {
            IdentityError::Expired => ErrorCode::TokenExpired,
            IdentityError::Invalid(_) | IdentityError::Unavailable(_) => ErrorCode::InvalidToken,
        }
    }
}

/// Where the keys come from.
#[derive(Debug)]
enum Keys {
    /// `--identity-secret`: HS256.
    Secret(SecretKey),
    /// `--identity-jwks-url`: RS256/ES256 (those in `algorithms`).
    Jwks {
        set: Arc<KeySet>,
        algorithms: Vec<Algorithm>,
    },
}

struct SecretKey(DecodingKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Checks identity tokens against the configured keys.
#[derive(Debug)]
pub struct Verifier {
    keys: Keys,
    leeway: Duration,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Verifier {
    /// HS256 with `secret`.
    pub fn with_secret(secret: &[u8], leeway: Duration) -> Verifier {
        Verifier {
            keys: Keys::Secret(SecretKey(DecodingKey::from_secret(secret))),
            leeway: leeway.min(MAX_LEEWAY),
            issuer: None,
            audience: None,
        }
    }

    /// The keys of `set`, for the `algorithms` given (RS256, ES256).
    pub fn with_jwks(set: Arc<KeySet>, algorithms: Vec<Algorithm>, leeway: Duration) -> Verifier {
        Verifier {
            keys: Keys::Jwks { set, algorithms },
            leeway: leeway.min(MAX_LEEWAY),
            issuer: None,
            audience: None,
        }
    }

    /// Only tokens with this `iss` (and, if given, this `aud`) are taken.
    pub fn expecting(mut self, issuer: Option<String>, audience: Option<String>) -> Verifier {
        self.issuer = issuer;
        self.audience = audience;
        self
    }

    /// What the relay checks tokens with, for the start-up log.
    pub fn describe(&self) -> String {
        let keys = match &self.keys {
            Keys::Secret(_) => "HS256 with --identity-secret".to_owned(),
            Keys::Jwks { set, algorithms } => format!(
                "{} against the key set at {}",
                names(algorithms),
                crate::redact::url(set.url())
            ),
        };
        format!("{keys}, leeway {} s", self.leeway.as_secs())
    }

    /// The leeway on `exp` and `nbf`.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Whether an identity verified earlier has expired by `now_secs`
    /// (unix seconds), with the same leeway as at verification.
    pub fn has_expired(&self, identity: &Identity, now_secs: u64) -> bool {
        now_secs > identity.expires_at.saturating_add(self.leeway.as_secs())
    }

    /// Verifies `token`.
    pub async fn verify(&self, token: &str) -> Result<Identity, IdentityError> {
        let claims = self.verified_claims(token).await?;
        claims.into_identity().map_err(IdentityError::Invalid)
    }

    /// Verifies an OpenID Connect ID token: as [`Verifier::verify`], and
    /// its `nonce` must be `nonce` — the one this sign-in sent, so a token
    /// from another sign-in (replayed or injected) is refused.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<Identity, IdentityError> {
        let mut claims = self.verified_claims(token).await?;
        if claims.nonce.take().as_deref() != Some(nonce) {
            return Err(IdentityError::Invalid(
                "the nonce is not this sign-in's".into(),
            ));
        }
        claims.into_identity().map_err(IdentityError::Invalid)
    }

    async fn verified_claims(&self, token: &str) -> Result<Claims, IdentityError> {
        let invalid = |why: String| IdentityError::Invalid(why);
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(format!("longer than {MAX_TOKEN_BYTES} bytes")));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("not a signed JWT with a known algorithm ({e})")))?;
        let (key, alg) = match &self.keys {
            Keys::Secret(SecretKey(key)) => {
                if header.alg != Algorithm::HS256 {
                    return Err(invalid(format!(
                        "signed with {:?}; this relay accepts HS256 only",
                        header.alg
                    )));
                }
                (key.clone(), Algorithm::HS256)
            }
            Keys::Jwks { set, algorithms } => {
                if !algorithms.contains(&header.alg) {
                    return Err(invalid(format!(
                        "signed with {:?}; this relay accepts {}",
                        header.alg,
                        names(algorithms)
                    )));
                }
                let now = tokio::time::Instant::now();
                match set.find(header.kid.as_deref(), header.alg, now).await {
                    Ok(key) => (key.key, key.alg),
                    Err(e @ KeyError::Unknown(_)) => return Err(invalid(e.to_string())),
                    Err(e @ KeyError::Unavailable(_)) => {
                        return Err(IdentityError::Unavailable(e.to_string()))
                    }
                }
            }
        };
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::ExpiredSignature => IdentityError::Expired,
            ErrorKind::InvalidSignature => invalid("the signature does not match".into()),
            ErrorKind::ImmatureSignature => invalid("not valid yet (nbf)".into()),
            ErrorKind::InvalidAudience => invalid("not meant for this relay (aud)".into()),
            ErrorKind::InvalidIssuer => invalid("issued by someone else (iss)".into()),
            ErrorKind::MissingRequiredClaim(c) => invalid(format!("the claim {c:?} is missing")),
            ErrorKind::InvalidAlgorithm => invalid("the algorithm does not fit the key".into()),
            _ => invalid(format!("unreadable ({e})")),
        })?;
        Ok(data.claims)
    }
}

fn names(algorithms: &[Algorithm]) -> String {
    algorithms
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
