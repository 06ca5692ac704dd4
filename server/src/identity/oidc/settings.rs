//! What the flags give the sign-in client.

use std::time::Duration;

/// What the flags give.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--oidc-issuer`, exactly as the provider names itself.
    pub issuer: url::Url,
    /// `--oidc-client-id`.
    pub client_id: String,
    /// `--oidc-client-secret`.
    pub client_secret: String,
    /// `--public-url` + `/auth/callback`.
    pub redirect_uri: url::Url,
    /// How long a sign-in may take at the provider.
    pub login_timeout: Duration,
    /// Sign-ins one client address may start per minute (a burst of as
    /// many).
    pub logins_per_minute: u32,
    /// How long a sign-in lasts (the session cookie's life).
    pub session_lifetime: Duration,
    /// Clock skew allowed on the ID token.
    pub leeway: Duration,
}
