//! Verified identity: who is chatting, as the host's backend signed it.
//!
//! A site where the visitor is logged in signs a short-lived JWT for them
//! (`sub` = the user id, optional `name` and `email`, `exp` required) and
//! the page hands it to the relay in the `hello` frame or an `identify`
//! frame — never in a URL, which proxies log. The relay checks it against
//! the key the operator configured (`--identity-secret` for HS256, or the
//! key set at `--identity-jwks-url` for RS256/ES256), with the algorithm
//! pinned by that configuration (never `none`, never the token's own
//! choice), then binds the connection to the user: n8n receives the user
//! in its own `user` field, apart from the page's unverified `metadata`,
//! and a session that belongs to one user is never joined by another.
//!
//! - [`claims`]: the verified user and the checks of its fields.
//! - [`verifier`]: a token in, a verified user (or why not) out.
//! - [`jwks`]: the fetched key set, cached and refreshed with bounds.
//! - [`oidc`]: sign-in with OpenID Connect for the page on its own.

pub mod claims;
pub mod jwks;
pub mod oidc;
pub mod verifier;

pub use claims::{Identity, VerifiedUser};
pub use verifier::{IdentityError, Verifier};
