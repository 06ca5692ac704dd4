//! Sign-in with OpenID Connect for the chat page on its own (an intranet
//! chat for a team): `--oidc-issuer`, `--oidc-client-id`,
//! `--oidc-client-secret`.
//!
//! The authorization code flow with PKCE (S256), `state` and `nonce`:
//! [`Oidc::begin`] remembers a sign-in (bounded, short-lived, see
//! [`pending`]) and names the provider's authorize URL; [`Oidc::finish`]
//! takes the code back, exchanges it (with the PKCE verifier and the client
//! secret) and verifies the ID token — signature against the provider's key
//! set with pinned algorithms (RS256, ES256; the existing
//! [`super::jwks::KeySet`]), `iss`, `aud`, `exp`, `nonce`. The user then
//! holds a relay-signed session token ([`session`]) in an HttpOnly cookie,
//! which the WebSocket upgrade reads.
//!
//! Built on `jsonwebtoken` and the relay's own key-set code rather than the
//! `openidconnect` crate: that crate brings a second JWT and crypto stack
//! (RustCrypto RSA/ECDSA, chrono, serde_with) beside the `ring`-based one
//! verified identity already uses, for the four requests this flow needs.

pub mod discovery;
pub mod error;
pub mod fetch;
pub mod pending;
pub mod session;
pub mod settings;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use tokio::sync::Mutex;

use super::jwks::KeySet;
use super::{Identity, IdentityError, Verifier};
use crate::admission::address_rate::AddressRate;
use crate::admission::client::client_key;
use discovery::Provider;
use pending::{Pending, PendingLogin};
use session::SessionSigner;

pub use error::OidcError;
pub use settings::Settings;

/// The scopes asked for: the user id, the name and the e-mail address.
pub const SCOPES: &str = "openid profile email";

/// The relay's OpenID Connect client.
pub struct Oidc {
    settings: Settings,
    client: reqwest::Client,
    /// The provider's endpoints and the verifier of its ID tokens, once
    /// discovered (a failed discovery is tried again at the next sign-in).
    provider: Mutex<Option<Arc<(Provider, Verifier)>>>,
    /// Sign-ins started per client address: each keeps an entry in
    /// `pending` for `--oidc-login-timeout`, so without a rate one client
    /// could fill it in seconds and refuse everyone's sign-in.
    logins: AddressRate,
    pending: Pending,
    sessions: SessionSigner,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.settings.issuer.as_str())
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// A client for `settings`.
    pub fn new(settings: Settings) -> Result<Oidc, reqwest::Error> {
        let client = fetch::client()?;
        let login_timeout = settings.login_timeout;
        let sessions = SessionSigner::new(&settings.client_secret, settings.session_lifetime);
        Ok(Oidc {
            logins: AddressRate::per_minute(settings.logins_per_minute),
            settings,
            client,
            provider: Mutex::new(None),
            pending: Pending::new(
                pending::MAX_PENDING,
                pending::MAX_PENDING_PER_ADDRESS,
                login_timeout,
            ),
            sessions,
        })
    }

    /// The issuer, for the start-up log.
    pub fn issuer(&self) -> &url::Url {
        &self.settings.issuer
    }

    /// The redirect URL to register at the provider.
    pub fn redirect_uri(&self) -> &url::Url {
        &self.settings.redirect_uri
    }

    /// The relay-signed session tokens.
    pub fn sessions(&self) -> &SessionSigner {
        &self.sessions
    }

    /// How long a sign-in may take at the provider.
    pub fn login_timeout(&self) -> Duration {
        self.settings.login_timeout
    }

    /// The sign-ins in progress (for tests of the bound).
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    async fn provider(&self) -> Result<Arc<(Provider, Verifier)>, OidcError> {
        let mut cached = self.provider.lock().await;
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        let provider = discovery::discover(&self.client, &self.settings.issuer).await?;
        let set = KeySet::new(provider.jwks_uri.clone(), Duration::from_secs(600))
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let verifier = Verifier::with_jwks(
            Arc::new(set),
            vec![Algorithm::RS256, Algorithm::ES256],
            self.settings.leeway,
        )
        .expecting(
            Some(provider.issuer.clone()),
            Some(self.settings.client_id.clone()),
        );
        let p = Arc::new((provider, verifier));
        *cached = Some(p.clone());
        Ok(p)
    }

    /// Starts a sign-in for client `address` (the peer, or a trusted
    /// proxy's view): returns the provider's authorize URL to redirect to
    /// and the `state`, which the browser also keeps in a cookie. Refused
    /// when the address starts them too fast or holds its share of those
    /// in progress (checked before the provider is asked).
    pub async fn begin(&self, address: IpAddr) -> Result<(url::Url, String), OidcError> {
        let address = client_key(address);
        self.logins.take(address).map_err(OidcError::TooFast)?;
        let provider = self.provider().await?;
        let login = PendingLogin::new();
        let mut url = provider.0.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", self.settings.redirect_uri.as_str())
            .append_pair("scope", SCOPES)
            .append_pair("state", &login.state)
            .append_pair("nonce", &login.nonce)
            .append_pair("code_challenge", &login.challenge())
            .append_pair("code_challenge_method", "S256");
        let state = login.state.clone();
        self.pending
            .insert(login, address, tokio::time::Instant::now())?;
        Ok((url, state))
    }

    /// Finishes a sign-in: `state` from the callback must be the one in
    /// this browser's cookie (`cookie_state`) and a sign-in in progress;
    /// it is used up either way, so a callback works once.
    pub async fn finish(
        &self,
        state: &str,
        cookie_state: Option<&str>,
        code: &str,
    ) -> Result<Identity, OidcError> {
        let login = self
            .pending
            .take(state, tokio::time::Instant::now())
            .ok_or(OidcError::UnknownState)?;
        if cookie_state != Some(state) {
            return Err(OidcError::UnknownState);
        }
        let provider = self.provider().await?;
        let id_token = fetch::exchange(
            &self.client,
            &provider.0.token_endpoint,
            &self.settings,
            code,
            &login.verifier,
        )
        .await?;
        provider
            .1
            .verify_id_token(&id_token, &login.nonce)
            .await
            .map_err(|e| match e {
                IdentityError::Unavailable(e) => OidcError::Provider(e),
                IdentityError::Expired => OidcError::IdToken("it has expired".into()),
                IdentityError::Invalid(e) => OidcError::IdToken(e),
            })
    }
}
