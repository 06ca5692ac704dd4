//! Sign-ins in progress: `state` → the PKCE verifier and the nonce, kept
//! on the relay (nothing secret goes to the browser), for at most
//! `--oidc-login-timeout` (10 minutes by default), at most [`MAX_PENDING`] at once.
//!
//! At the bound, expired sign-ins are dropped first; if all are still
//! young, a new sign-in is refused ([`OidcError::Busy`]) rather than
//! pushing out one a user is in the middle of. A callback takes its entry
//! out, so a `state` (and with it the code's verifier) works once.
//!
//! Kept per relay: behind a load balancer, the callback must reach the
//! relay that started the sign-in (sticky sessions), or the sign-in is
//! started again.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::error::OidcError;

/// Most sign-ins in progress at once.
pub const MAX_PENDING: usize = 10_000;

/// One sign-in in progress.
pub struct PendingLogin {
    /// The `state` sent to the provider and kept in the browser's cookie.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier (RFC 7636), sent only with the code exchange.
    pub verifier: String,
}

impl PendingLogin {
    /// A sign-in with fresh random `state`, `nonce` and verifier.
    pub fn new() -> PendingLogin {
        PendingLogin {
            state: random(),
            nonce: random(),
            verifier: random(),
        }
    }

    /// The S256 code challenge of the verifier.
    pub fn challenge(&self) -> String {
        b64().encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingLogin(***)")
    }
}

impl Default for PendingLogin {
    fn default() -> Self {
        Self::new()
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// 244 random bits (two v4 UUIDs, from the OS's generator), base64url: 43
/// characters, the shortest verifier RFC 7636 §4.1 allows.
pub fn random() -> String {
    let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    b64().encode(bytes)
}

/// The sign-ins in progress.
#[derive(Debug)]
pub struct Pending {
    entries: Mutex<HashMap<String, (PendingLogin, Instant)>>,
    max: usize,
    ttl: Duration,
}

impl Pending {
    /// At most `max` sign-ins, each for `ttl`.
    pub fn new(max: usize, ttl: Duration) -> Pending {
        Pending {
            entries: Mutex::default(),
            max,
            ttl,
        }
    }

    /// Remembers `login`, started at `now`.
    pub fn insert(&self, login: PendingLogin, now: Instant) -> Result<(), OidcError> {
        let mut entries = self.entries.lock();
        if entries.len() >= self.max {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
        }
        if entries.len() >= self.max {
            return Err(OidcError::Busy);
        }
        entries.insert(login.state.clone(), (login, now));
        Ok(())
    }

    /// Takes out the sign-in of `state`, if it is there and not expired.
    pub fn take(&self, state: &str, now: Instant) -> Option<PendingLogin> {
        let mut entries = self.entries.lock();
        let (login, at) = entries.remove(state)?;
        (now.saturating_duration_since(at) < self.ttl).then_some(login)
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_refuses_new_sign_ins_until_old_ones_expire() {
        let pending = Pending::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let states: Vec<String> = (0..3)
            .map(|_| {
                let login = PendingLogin::new();
                let state = login.state.clone();
                pending.insert(login, t0).expect("room");
                state
            })
            .collect();
        assert_eq!(pending.len(), 3);
        // Full of young sign-ins: refused, none pushed out.
        assert_eq!(
            pending.insert(PendingLogin::new(), t0 + Duration::from_secs(59)),
            Err(OidcError::Busy)
        );
        assert_eq!(pending.len(), 3);
        // Once they expired, they make room.
        pending
            .insert(PendingLogin::new(), t0 + Duration::from_secs(60))
            .expect("room after expiry");
        assert_eq!(pending.len(), 1);
        assert!(pending.take(&states[0], t0).is_none());
    }

    #[test]
    fn a_state_works_once_and_not_after_it_expired() {
        let pending = Pending::new(10, Duration::from_secs(60));
        let t0 = Instant::now();
        let (a, b) = (PendingLogin::new(), PendingLogin::new());
        let (sa, sb) = (a.state.clone(), b.state.clone());
        pending.insert(a, t0).expect("a");
        pending.insert(b, t0).expect("b");
        assert!(pending.take(&sa, t0).is_some());
        assert!(pending.take(&sa, t0).is_none(), "used up");
        assert!(pending.take(&sb, t0 + Duration::from_secs(60)).is_none());
        assert!(pending.is_empty());
    }

    #[test]
    fn the_challenge_is_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let rfc = PendingLogin {
            state: String::new(),
            nonce: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(
            rfc.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(random().len(), 43);
        assert_ne!(random(), random());
    }
}
