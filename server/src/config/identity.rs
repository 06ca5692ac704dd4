//! Verified identity: the keys that check the host's identity tokens.
//!
//! Without any of `--identity-secret`, `--identity-secret-file` and
//! `--identity-jwks-url` the relay takes no tokens and every visitor is
//! anonymous, as before.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::values::Secret;
use crate::identity::jwks::KeySet;
use crate::identity::oidc::discovery::on_loopback;
use crate::identity::verifier::MAX_LEEWAY;
use crate::identity::Verifier;
use crate::RelayError;

/// Shortest HS256 key accepted, in bytes (RFC 7518 §3.2: at least the
/// hash's size).
pub const MIN_SECRET_BYTES: usize = 32;

/// The keys that check identity tokens.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Verified identity")]
pub struct IdentityFlags {
    /// The HS256 key the site's backend signs identity tokens with.
    ///
    /// At least 32 bytes. Turns verified identity on: the page passes a
    /// token (`data-user-token`, `n8nChat.identify`) and n8n gets its user.
    #[arg(
        long,
        env = "RELAY_IDENTITY_SECRET",
        hide_env_values = true,
        value_parser = parse_identity_secret,
        conflicts_with_all = ["identity_secret_file", "identity_jwks_url"]
    )]
    pub identity_secret: Option<Secret>,

    /// A file holding the HS256 key (a trailing newline is dropped).
    ///
    /// For secrets mounted as files (Docker, Kubernetes), so the key is in
    /// no environment and no process list.
    #[arg(
        long,
        env = "RELAY_IDENTITY_SECRET_FILE",
        conflicts_with = "identity_jwks_url"
    )]
    pub identity_secret_file: Option<PathBuf>,

    /// The URL of the key set (JWKS) that checks RS256/ES256 identity tokens.
    ///
    /// https, or http on loopback. Fetched when first needed, again after
    /// --identity-jwks-refresh, and when a token names an unknown key id (at
    /// most every 30 s). No redirects are followed.
    #[arg(long, env = "RELAY_IDENTITY_JWKS_URL", value_parser = parse_jwks_url)]
    pub identity_jwks_url: Option<url::Url>,

    /// The algorithms taken with --identity-jwks-url: RS256, ES256 (comma-separated).
    #[arg(
        long,
        env = "RELAY_IDENTITY_ALGORITHMS",
        value_delimiter = ',',
        default_value = "RS256,ES256",
        value_parser = ["RS256", "ES256"]
    )]
    pub identity_algorithms: Vec<String>,

    /// How long a fetched key set is used before it is fetched again.
    #[arg(long, env = "RELAY_IDENTITY_JWKS_REFRESH", default_value = "10m", value_parser = super::values::parse_positive_duration)]
    pub identity_jwks_refresh: Duration,

    /// Clock skew allowed on a token's `exp` and `nbf` (at most 5m).
    #[arg(long, env = "RELAY_IDENTITY_LEEWAY", default_value = "30s", value_parser = parse_leeway)]
    pub identity_leeway: Duration,

    /// Only tokens whose `iss` is this are taken (none: `iss` is not checked).
    #[arg(long, env = "RELAY_IDENTITY_ISSUER")]
    pub identity_issuer: Option<String>,

    /// Only tokens whose `aud` names this are taken (none: not checked).
    #[arg(long, env = "RELAY_IDENTITY_AUDIENCE")]
    pub identity_audience: Option<String>,
}

impl IdentityFlags {
    /// The verifier these flags ask for; `None`: identity is off.
    pub fn verifier(&self) -> Result<Option<Verifier>, RelayError> {
        let verifier = if let Some(secret) = &self.identity_secret {
            Verifier::with_secret(secret.0.as_bytes(), self.identity_leeway)
        } else if let Some(path) = &self.identity_secret_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                RelayError::Identity(format!("cannot read {}: {e}", path.display()))
            })?;
            let secret = parse_identity_secret(text.trim_end_matches(['\n', '\r']))
                .map_err(|e| RelayError::Identity(format!("{}: {e}", path.display())))?;
            Verifier::with_secret(secret.0.as_bytes(), self.identity_leeway)
        } else if let Some(url) = &self.identity_jwks_url {
            let set = KeySet::new(url.clone(), self.identity_jwks_refresh)?;
            let algorithms = self
                .identity_algorithms
                .iter()
                .filter_map(|a| match a.as_str() {
                    "RS256" => Some(Algorithm::RS256),
                    "ES256" => Some(Algorithm::ES256),
                    _ => None,
                })
                .collect();
            Verifier::with_jwks(Arc::new(set), algorithms, self.identity_leeway)
        } else {
            return Ok(None);
        };
        Ok(Some(verifier.expecting(
            self.identity_issuer.clone(),
            self.identity_audience.clone(),
        )))
    }
}

/// An `--identity-secret`: at least [`MIN_SECRET_BYTES`] bytes.
pub fn parse_identity_secret(s: &str) -> Result<Secret, String> {
    if s.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the identity secret must be at least {MIN_SECRET_BYTES} bytes (use a random one)"
        ));
    }
    Ok(Secret(s.to_owned()))
}

/// An `--identity-jwks-url`: https, or http to a loopback host.
pub fn parse_jwks_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if on_loopback(&url) => Ok(url),
        "http" => Err("the key set must be fetched over https (http only on loopback)".into()),
        other => Err(format!("expected an https:// URL, got {other}://")),
    }
}

/// An `--identity-leeway`: at most [`MAX_LEEWAY`].
pub fn parse_leeway(s: &str) -> Result<Duration, String> {
    let d = super::values::parse_duration(s)?;
    if d > MAX_LEEWAY {
        return Err("the leeway may be at most 5m: more would stretch every token's life".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn identity_is_off_by_default_and_its_values_are_checked() {
        let c = Config::defaults();
        assert!(c.identity.verifier().expect("ok").is_none());
        assert_eq!(c.identity.identity_leeway, Duration::from_secs(30));
        assert!(parse_identity_secret("short").is_err());
        assert!(parse_identity_secret(&"k".repeat(32)).is_ok());
        assert!(parse_jwks_url("https://id.example/.well-known/jwks.json").is_ok());
        assert!(parse_jwks_url("http://127.0.0.1:9/jwks").is_ok());
        assert!(parse_jwks_url("http://id.example/jwks").is_err());
        assert!(parse_jwks_url("file:///etc/passwd").is_err());
        assert!(parse_leeway("5m").is_ok());
        assert!(parse_leeway("6m").is_err());
    }

    #[test]
    fn the_secret_file_form_reads_the_key() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{}\n", "k".repeat(32))).expect("write");
        let c = Config::from_args_without_env([
            "relay",
            "--identity-secret-file",
            path.to_str().expect("utf-8"),
        ]);
        assert!(c.identity.verifier().expect("ok").is_some());
        std::fs::write(&path, "short\n").expect("write");
        assert!(c.identity.verifier().is_err());
    }
}
