//! The proof-of-work gate for new sessions (`--proof-of-work <bits>`).
//!
//! A connection that starts a new session gets a `challenge` frame after
//! `connection`; its messages are refused (`proof_required`) until it sends
//! a `proof`: a nonce such that SHA-256 of `challenge:nonce` starts with
//! `bits` zero bits — about 2^bits hashes for the page, one for the relay.
//! A visitor pays that once per session (a fraction of a second at the
//! suggested 14 bits); a script opening thousands of sessions pays it
//! thousands of times.
//!
//! A challenge is `<expires ms>.<random>.<bits>.<signature>`, the signature
//! an HMAC-SHA-256 of the rest under a key made at start (or
//! `--proof-of-work-secret`, shared by several relays): the relay keeps no
//! state per challenge it hands out, only per solution it accepts. A
//! solution is used once: accepted challenges are remembered until they
//! expire ([`CHALLENGE_TTL`]), at most [`MAX_REMEMBERED`] (past that, new
//! proofs are refused until some expire — a flood of solved challenges
//! is what the gate is for). With several relays each remembers its own,
//! so a solution could be used once per relay.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use shared::proof;

/// How long a challenge may be answered.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// Accepted challenges remembered at once (about 10 MB at the bound).
pub const MAX_REMEMBERED: usize = 100_000;

/// The difficulty the docs suggest: a phone solves it in well under a
/// second (about 16 000 hashes).
pub const SUGGESTED_BITS: u8 = 14;

/// Longest nonce accepted.
pub const MAX_NONCE_CHARS: usize = 32;

/// A challenge to send in a `challenge` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The signed challenge.
    pub challenge: String,
    /// Zero bits asked for.
    pub bits: u8,
    /// When it expires (unix ms).
    pub expires_at: u64,
}

/// Why a proof was refused (told to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a challenge of this deployment, or altered.
    #[error("this challenge was not made by this relay (or was altered); reconnect for a new one")]
    NotOurs,
    /// Past its expiry.
    #[error("the challenge has expired; reconnect for a new one")]
    Expired,
    /// The hash does not have the zero bits.
    #[error("the nonce does not solve the challenge")]
    Wrong,
    /// Already used.
    #[error("this challenge was already answered; reconnect for a new one")]
    Replayed,
    /// Too many solutions remembered at once.
    #[error("too many proofs at once; try again in a minute")]
    Busy,
}

type HmacSha256 = Hmac<Sha256>;

/// The gate: makes and checks challenges.
pub struct ProofOfWork {
    bits: u8,
    key: Vec<u8>,
    max_remembered: usize,
    /// Accepted challenges and when they expire.
    used: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for ProofOfWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofOfWork")
            .field("bits", &self.bits)
            .field("key", &"***")
            .finish()
    }
}

impl ProofOfWork {
    /// A gate asking for `bits` zero bits, signing with `secret` (several
    /// relays share it) or a random key made now.
    pub fn new(bits: u8, secret: Option<&str>) -> Self {
        Self::with_bound(bits, secret, MAX_REMEMBERED)
    }

    /// Like [`ProofOfWork::new`], remembering at most `max_remembered`
    /// accepted challenges (tests use a small bound).
    pub fn with_bound(bits: u8, secret: Option<&str>, max_remembered: usize) -> Self {
        let key = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => {
                let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                key
            }
        };
        ProofOfWork {
            bits,
            key,
            max_remembered: max_remembered.max(1),
            used: Mutex::new(HashMap::new()),
        }
    }

    /// The difficulty asked for.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    fn sign(&self, body: &str) -> String {
        // Any key length is valid for HMAC.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(body.as_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }

    /// A new challenge, valid for [`CHALLENGE_TTL`] from `now_ms`.
    pub fn challenge(&self, now_ms: u64) -> Challenge {
        let expires_at = now_ms + CHALLENGE_TTL.as_millis() as u64;
        let random = &uuid::Uuid::new_v4().simple().to_string()[..16];
        let body = format!("{expires_at}.{random}.{}", self.bits);
        let signature = self.sign(&body);
        Challenge {
            challenge: format!("{body}.{signature}"),
            bits: self.bits,
            expires_at,
        }
    }

    /// Checks a `proof` at `now_ms`; an accepted one cannot be used again.
    pub fn verify(&self, challenge: &str, nonce: &str, now_ms: u64) -> Result<(), Refusal> {
        let (body, signature) = challenge.rsplit_once('.').ok_or(Refusal::NotOurs)?;
        let mut parts = body.split('.');
        let (Some(expires), Some(_random), Some(bits), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::NotOurs);
        };
        let expected = self.sign(body);
        if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(Refusal::NotOurs);
        }
        let expires: u64 = expires.parse().map_err(|_| Refusal::NotOurs)?;
        let bits: u8 = bits.parse().map_err(|_| Refusal::NotOurs)?;
        if expires <= now_ms {
            return Err(Refusal::Expired);
        }
        if nonce.is_empty() || nonce.len() > MAX_NONCE_CHARS || bits < self.bits {
            return Err(Refusal::Wrong);
        }
        let hash = Sha256::digest(proof::input(challenge, nonce).as_bytes());
        if !proof::solves(&hash, bits) {
            return Err(Refusal::Wrong);
        }
        let mut used = self.used.lock();
        if used.contains_key(signature) {
            return Err(Refusal::Replayed);
        }
        if used.len() >= self.max_remembered {
            used.retain(|_, expires| *expires > now_ms);
            if used.len() >= self.max_remembered {
                return Err(Refusal::Busy);
            }
        }
        used.insert(signature.to_owned(), expires);
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Finds a nonce for `challenge` (what the page does, in tests and tools).
pub fn solve(challenge: &str, bits: u8) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|nonce| {
            let hash = Sha256::digest(proof::input(challenge, nonce).as_bytes());
            proof::solves(&hash, bits)
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_428_800_000;

    #[test]
    fn a_solution_is_accepted_once() {
        let gate = ProofOfWork::new(8, None);
        let c = gate.challenge(NOW);
        assert_eq!((c.bits, c.expires_at), (8, NOW + 300_000));
        let nonce = solve(&c.challenge, c.bits);
        let wrong = (0..)
            .map(|n| format!("x{n}"))
            .find(|n| {
                let hash = Sha256::digest(proof::input(&c.challenge, n).as_bytes());
                !proof::solves(&hash, 8)
            })
            .unwrap_or_default();
        assert_eq!(gate.verify(&c.challenge, &wrong, NOW), Err(Refusal::Wrong));
        assert_eq!(gate.verify(&c.challenge, &nonce, NOW + 1), Ok(()));
        assert_eq!(
            gate.verify(&c.challenge, &nonce, NOW + 2),
            Err(Refusal::Replayed)
        );
    }

    #[test]
    fn expired_altered_and_foreign_challenges_are_refused() {
        let gate = ProofOfWork::new(4, Some("a shared secret of some length"));
        let c = gate.challenge(NOW);
        let nonce = solve(&c.challenge, c.bits);
        assert_eq!(
            gate.verify(&c.challenge, &nonce, c.expires_at),
            Err(Refusal::Expired)
        );
        // An easier challenge forged by editing the bits breaks the signature.
        let forged = c.challenge.replacen(".4.", ".0.", 1);
        assert_eq!(gate.verify(&forged, "0", NOW), Err(Refusal::NotOurs));
        assert_eq!(gate.verify("junk", "0", NOW), Err(Refusal::NotOurs));
        let other = ProofOfWork::new(4, None);
        assert_eq!(
            other.verify(&c.challenge, &nonce, NOW),
            Err(Refusal::NotOurs)
        );
        // A relay with the same secret accepts it (several relays).
        let twin = ProofOfWork::new(4, Some("a shared secret of some length"));
        assert_eq!(twin.verify(&c.challenge, &nonce, NOW), Ok(()));
        assert_eq!(
            gate.verify(&c.challenge, &"9".repeat(33), NOW),
            Err(Refusal::Wrong),
            "nonces are short"
        );
    }

    #[test]
    fn at_the_bound_proofs_are_refused_until_remembered_ones_expire() {
        let gate = ProofOfWork::with_bound(1, None, 2);
        let solved = |now| {
            let c = gate.challenge(now);
            let nonce = solve(&c.challenge, c.bits);
            (c.challenge, nonce)
        };
        for _ in 0..2 {
            let (c, n) = solved(NOW);
            assert_eq!(gate.verify(&c, &n, NOW), Ok(()));
        }
        let (c, n) = solved(NOW);
        assert_eq!(gate.verify(&c, &n, NOW), Err(Refusal::Busy));
        // Once the remembered ones have expired there is room again.
        let later = NOW + CHALLENGE_TTL.as_millis() as u64;
        let (c, n) = solved(later);
        assert_eq!(gate.verify(&c, &n, later), Ok(()));
    }
}
