//! Sign-in with OpenID Connect for the page on its own, and whether
//! anonymous visitors may chat at all.
//!
//! Without `--oidc-issuer` nothing changes: no `/auth/*` sign-in, every
//! visitor anonymous (unless the host signs identity tokens).

use std::time::Duration;

use super::values::Secret;
use crate::identity::oidc::{discovery, Oidc, Settings};
use crate::RelayError;

/// Sign-in with an identity provider.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Sign-in (OpenID Connect)")]
pub struct OidcFlags {
    /// The identity provider's issuer URL; turns sign-in on the page on.
    ///
    /// E.g. https://login.example.com/realms/staff. Its
    /// /.well-known/openid-configuration is read at the first sign-in.
    /// Needs --oidc-client-id, --oidc-client-secret and --public-url (the
    /// redirect URL is the public URL + /auth/callback).
    #[arg(long, env = "RELAY_OIDC_ISSUER", value_parser = parse_issuer, requires_all = ["oidc_client_id", "oidc_client_secret"])]
    pub oidc_issuer: Option<url::Url>,

    /// The client id the relay has at the identity provider.
    #[arg(long, env = "RELAY_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// The client secret the relay has at the identity provider.
    ///
    /// Also keys the relay's session cookies: changing it signs everyone
    /// out.
    #[arg(long, env = "RELAY_OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = parse_client_secret)]
    pub oidc_client_secret: Option<Secret>,

    /// How long a sign-in lasts before the page asks to sign in again.
    #[arg(long, env = "RELAY_OIDC_SESSION_LIFETIME", default_value = "12h", value_parser = super::values::parse_positive_duration)]
    pub oidc_session_lifetime: Duration,

    /// How long a sign-in may take at the identity provider.
    ///
    /// Started sign-ins are kept (at most 10 000) until then; raise it if
    /// users need long for a second factor.
    #[arg(long, env = "RELAY_OIDC_LOGIN_TIMEOUT", default_value = "10m", value_parser = super::values::parse_positive_duration)]
    pub oidc_login_timeout: Duration,

    /// Sign-ins one client IP may start per minute (IPv6: one /64).
    ///
    /// A burst of this many, then this rate; more get HTTP 429 with
    /// Retry-After. One address also holds at most 1 000 of the sign-ins in
    /// progress.
    #[arg(long, env = "RELAY_OIDC_LOGINS_PER_MINUTE_PER_IP", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub oidc_logins_per_minute_per_ip: u32,

    /// Refuse anonymous WebSockets: only signed-in or identified users chat.
    ///
    /// Needs --oidc-issuer or verified identity (--identity-secret,
    /// --identity-jwks-url). An anonymous socket gets an error and is
    /// closed (1008).
    #[arg(long, env = "RELAY_REQUIRE_LOGIN")]
    pub require_login: bool,
}

impl OidcFlags {
    /// The sign-in client these flags ask for; `None`: sign-in is off.
    pub fn client(
        &self,
        public_url: Option<&url::Url>,
        leeway: Duration,
    ) -> Result<Option<Oidc>, RelayError> {
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        let missing = |what: &str| RelayError::Identity(format!("--oidc-issuer needs {what}"));
        let client_id = self
            .oidc_client_id
            .clone()
            .ok_or_else(|| missing("--oidc-client-id"))?;
        let client_secret = self
            .oidc_client_secret
            .clone()
            .ok_or_else(|| missing("--oidc-client-secret"))?;
        let public_url = public_url
            .ok_or_else(|| missing("--public-url (the redirect URL is built from it)"))?;
        let redirect_uri = public_url
            .join("/auth/callback")
            .map_err(|e| RelayError::Identity(format!("the redirect URL: {e}")))?;
        let oidc = Oidc::new(Settings {
            issuer: issuer.clone(),
            client_id,
            client_secret: client_secret.0,
            redirect_uri,
            session_lifetime: self.oidc_session_lifetime,
            login_timeout: self.oidc_login_timeout,
            logins_per_minute: self.oidc_logins_per_minute_per_ip,
            leeway,
        })
        .map_err(|e| RelayError::Identity(format!("the sign-in client: {e}")))?;
        Ok(Some(oidc))
    }
}

/// An `--oidc-issuer`: https, or http on loopback.
pub fn parse_issuer(s: &str) -> Result<url::Url, String> {
    discovery::endpoint(s)
}

/// An `--oidc-client-secret`: not empty.
pub fn parse_client_secret(s: &str) -> Result<Secret, String> {
    if s.is_empty() {
        return Err("the client secret is empty".into());
    }
    Ok(Secret(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn sign_in_is_off_by_default_and_needs_its_companions() {
        let c = Config::defaults();
        assert!(c
            .oidc
            .client(None, c.identity.identity_leeway)
            .expect("ok")
            .is_none());
        assert!(!c.oidc.require_login);
        let c = Config::from_args_without_env([
            "relay",
            "--oidc-issuer",
            "https://login.example.com/realms/staff",
            "--oidc-client-id",
            "chat",
            "--oidc-client-secret",
            "s3cret-value",
        ]);
        assert!(!format!("{:?}", c.oidc).contains("s3cret-value"));
        // No --public-url: no redirect URL.
        assert!(c.oidc.client(None, c.identity.identity_leeway).is_err());
        let public: url::Url = "https://chat.example.com/".parse().expect("url");
        let oidc = c
            .oidc
            .client(Some(&public), c.identity.identity_leeway)
            .expect("ok")
            .expect("on");
        assert_eq!(
            oidc.redirect_uri().as_str(),
            "https://chat.example.com/auth/callback"
        );
        assert!(super::parse_issuer("http://login.example.com").is_err());
        assert!(super::parse_client_secret("").is_err());
    }
}
