//! Sign-ins in progress: `state` → the PKCE verifier and the nonce, kept
//! on the relay (nothing secret goes to the browser), for at most
//! `--oidc-login-timeout` (10 minutes by default), at most [`MAX_PENDING`] at once.
//!
//! At the bound, expired sign-ins are dropped first; if all are still
//! young, a new sign-in is refused ([`OidcError::Busy`]) rather than
//! pushing out one a user is in the middle of. A callback takes its entry
//! out, so a `state` (and with it the code's verifier) works once.
//!
//! One client address (IPv6: one /64) holds at most a share of them
//! ([`MAX_PENDING_PER_ADDRESS`]; beyond it [`OidcError::AddressBusy`]), so
//! a flood from one address — which the per-address rate of `/auth/login`
//! only slows — cannot fill the map and refuse everyone else's sign-in
//! until its entries expire. A tenth: an office behind one NAT address
//! still has room for a thousand sign-ins at once.
//!
//! Kept per relay: behind a load balancer, the callback must reach the
//! relay that started the sign-in (sticky sessions), or the sign-in is
//! started again.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::error::OidcError;

/// Most sign-ins in progress at once.
pub const MAX_PENDING: usize = 10_000;

/// Most sign-ins in progress at once from one client address (its
/// [`crate::admission::client::client_key`]).
pub const MAX_PENDING_PER_ADDRESS: usize = MAX_PENDING / 10;

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
    inner: Mutex<Entries>,
    max: usize,
    per_address: usize,
    ttl: Duration,
}

/// The sign-ins, and how many each address holds (an address is counted
/// only while it holds one: the counts have at most as many entries).
#[derive(Debug, Default)]
struct Entries {
    logins: HashMap<String, Held>,
    per_address: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
struct Held {
    login: PendingLogin,
    address: IpAddr,
    at: Instant,
}

impl Entries {
    fn uncount(&mut self, address: IpAddr) {
        if let Some(n) = self.per_address.get_mut(&address) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&address);
            }
        }
    }

    fn held_by(&self, address: IpAddr) -> usize {
        self.per_address.get(&address).copied().unwrap_or(0)
    }

    /// Drops the sign-ins older than `ttl`.
    fn expire(&mut self, now: Instant, ttl: Duration) {
        let Entries {
            logins,
            per_address,
        } = self;
        logins.retain(|_, held| {
            let young = now.saturating_duration_since(held.at) < ttl;
            if !young {
                if let Some(n) = per_address.get_mut(&held.address) {
                    *n -= 1;
                }
            }
            young
        });
        per_address.retain(|_, n| *n > 0);
    }
}

impl Pending {
    /// At most `max` sign-ins, `per_address` of them from one address,
    /// each for `ttl`.
    pub fn new(max: usize, per_address: usize, ttl: Duration) -> Pending {
        Pending {
            inner: Mutex::default(),
            max,
            per_address: per_address.max(1),
            ttl,
        }
    }

    /// Remembers `login`, started at `now` by client `address` (its key).
    pub fn insert(
        &self,
        login: PendingLogin,
        address: IpAddr,
        now: Instant,
    ) -> Result<(), OidcError> {
        let mut entries = self.inner.lock();
        if entries.logins.len() >= self.max || entries.held_by(address) >= self.per_address {
            entries.expire(now, self.ttl);
        }
        if entries.logins.len() >= self.max {
            return Err(OidcError::Busy);
        }
        if entries.held_by(address) >= self.per_address {
            // Free again when its oldest sign-in expires.
            let oldest = entries
                .logins
                .values()
                .filter(|held| held.address == address)
                .map(|held| held.at)
                .min()
                .unwrap_or(now);
            let wait = (oldest + self.ttl).saturating_duration_since(now);
            return Err(OidcError::AddressBusy(wait));
        }
        *entries.per_address.entry(address).or_insert(0) += 1;
        entries.logins.insert(
            login.state.clone(),
            Held {
                login,
                address,
                at: now,
            },
        );
        Ok(())
    }

    /// Takes out the sign-in of `state`, if it is there and not expired.
    pub fn take(&self, state: &str, now: Instant) -> Option<PendingLogin> {
        let mut entries = self.inner.lock();
        let held = entries.logins.remove(state)?;
        entries.uncount(held.address);
        (now.saturating_duration_since(held.at) < self.ttl).then_some(held.login)
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.inner.lock().logins.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many addresses hold sign-ins now.
    pub fn addresses(&self) -> usize {
        self.inner.lock().per_address.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn the_bound_refuses_new_sign_ins_until_old_ones_expire() {
        let pending = Pending::new(3, 3, Duration::from_secs(60));
        let t0 = Instant::now();
        let states: Vec<String> = (0..3)
            .map(|_| {
                let login = PendingLogin::new();
                let state = login.state.clone();
                pending.insert(login, ip(1), t0).expect("room");
                state
            })
            .collect();
        assert_eq!(pending.len(), 3);
        // Full of young sign-ins: refused, none pushed out.
        assert_eq!(
            pending.insert(PendingLogin::new(), ip(2), t0 + Duration::from_secs(59)),
            Err(OidcError::Busy)
        );
        assert_eq!(pending.len(), 3);
        // Once they expired, they make room.
        pending
            .insert(PendingLogin::new(), ip(2), t0 + Duration::from_secs(60))
            .expect("room after expiry");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.addresses(), 1, "the expired address is forgotten");
        assert!(pending.take(&states[0], t0).is_none());
    }

    #[test]
    fn one_address_holds_at_most_its_share_and_others_still_have_room() {
        let pending = Pending::new(10, 3, Duration::from_secs(60));
        let t0 = Instant::now();
        let mut flooder = Vec::new();
        for s in 0..3 {
            let login = PendingLogin::new();
            flooder.push(login.state.clone());
            pending
                .insert(login, ip(1), t0 + Duration::from_secs(s))
                .expect("within the share");
        }
        // Its share is full: refused, with the time its oldest expires.
        assert_eq!(
            pending.insert(PendingLogin::new(), ip(1), t0 + Duration::from_secs(10)),
            Err(OidcError::AddressBusy(Duration::from_secs(50)))
        );
        assert_eq!(pending.len(), 3);
        // Another visitor is not affected.
        pending
            .insert(PendingLogin::new(), ip(2), t0 + Duration::from_secs(10))
            .expect("another address has room");
        // A completed sign-in gives its place back at once...
        assert!(pending.take(&flooder[1], t0).is_some());
        pending
            .insert(PendingLogin::new(), ip(1), t0 + Duration::from_secs(11))
            .expect("a place was given back");
        assert!(pending
            .insert(PendingLogin::new(), ip(1), t0 + Duration::from_secs(11))
            .is_err());
        // ...an expired one once it is old enough.
        pending
            .insert(PendingLogin::new(), ip(1), t0 + Duration::from_secs(60))
            .expect("the oldest expired");
        assert_eq!(pending.addresses(), 2);
    }

    #[test]
    fn a_state_works_once_and_not_after_it_expired() {
        let pending = Pending::new(10, 10, Duration::from_secs(60));
        let t0 = Instant::now();
        let (a, b) = (PendingLogin::new(), PendingLogin::new());
        let (sa, sb) = (a.state.clone(), b.state.clone());
        pending.insert(a, ip(1), t0).expect("a");
        pending.insert(b, ip(1), t0).expect("b");
        assert!(pending.take(&sa, t0).is_some());
        assert!(pending.take(&sa, t0).is_none(), "used up");
        assert!(pending.take(&sb, t0 + Duration::from_secs(60)).is_none());
        assert!(pending.is_empty());
        assert_eq!(pending.addresses(), 0, "nothing counted for nobody");
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
