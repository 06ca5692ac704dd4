//! The verified user and the checks of the token's user fields.
//!
//! Every field ends up in n8n's request and in logs the operator reads, so
//! each is bounded and free of control characters; a token whose fields
//! fail a check is refused as a whole (a clear error beats a silently
//! trimmed identity).

use serde::{Deserialize, Serialize};

/// Longest `sub` accepted, in characters.
pub const MAX_USER_ID_CHARS: usize = 256;
/// Longest `name` accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest `email` accepted, in characters (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A user the relay verified: what n8n receives as `user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedUser {
    /// The token's `sub`.
    pub id: String,
    /// The token's `name`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's `email`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A verified user and until when the token that said so holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Who.
    pub user: VerifiedUser,
    /// The token's `exp` (unix seconds), without leeway.
    pub expires_at: u64,
}

/// The claims the relay reads; others are ignored.
#[derive(Debug, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, unix seconds (required; checked by the JWT library).
    pub exp: u64,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// The OpenID Connect `nonce` (checked only at a sign-in, see
    /// [`super::verifier::Verifier::verify_id_token`]).
    #[serde(default)]
    pub nonce: Option<String>,
}

impl Claims {
    /// The identity these claims name, or why they are not acceptable.
    pub fn into_identity(self) -> Result<Identity, String> {
        let id = checked("sub", self.sub, MAX_USER_ID_CHARS)?;
        let name = self
            .name
            .map(|n| checked("name", n, MAX_NAME_CHARS))
            .transpose()?;
        let email = self
            .email
            .map(|e| checked("email", e, MAX_EMAIL_CHARS))
            .transpose()?;
        if let Some(email) = &email {
            if !looks_like_email(email) {
                return Err("the token's email is not an e-mail address".into());
            }
        }
        Ok(Identity {
            user: VerifiedUser { id, name, email },
            expires_at: self.exp,
        })
    }
}

/// `value` if it is 1..=`max` characters without control characters.
fn checked(field: &str, value: String, max: usize) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(format!("the token's {field} is empty"));
    }
    if value.chars().count() > max {
        return Err(format!(
            "the token's {field} is longer than {max} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("the token's {field} contains control characters"));
    }
    Ok(value)
}

/// One `@` with something on both sides, a dot in the domain, no spaces:
/// enough to catch a field holding something else, without pretending to
/// validate RFC 5322 (the host's backend vouches for the address).
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str, name: Option<&str>, email: Option<&str>) -> Claims {
        Claims {
            sub: sub.into(),
            exp: 1,
            name: name.map(Into::into),
            email: email.map(Into::into),
            nonce: None,
        }
    }

    #[test]
    fn fields_are_bounded_and_checked() {
        let ok = claims("u-1", Some("Ada"), Some("ada@example.com"))
            .into_identity()
            .expect("valid");
        assert_eq!(ok.user.id, "u-1");
        assert_eq!(ok.user.email.as_deref(), Some("ada@example.com"));
        assert!(claims("", None, None).into_identity().is_err());
        assert!(claims(&"x".repeat(MAX_USER_ID_CHARS), None, None)
            .into_identity()
            .is_ok());
        assert!(claims(&"x".repeat(MAX_USER_ID_CHARS + 1), None, None)
            .into_identity()
            .is_err());
        assert!(claims("u\n1", None, None).into_identity().is_err());
        assert!(claims("u", Some(&"n".repeat(MAX_NAME_CHARS + 1)), None)
            .into_identity()
            .is_err());
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "a@b@c.de",
            "a@localhost",
        ] {
            assert!(
                claims("u", None, Some(bad)).into_identity().is_err(),
                "{bad}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL_CHARS));
        assert!(claims("u", None, Some(&long)).into_identity().is_err());
    }
}
