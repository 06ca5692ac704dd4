//! The proof of work a relay may ask of a new session (`challenge` frame).
//! The rule (what is hashed, how many zero bits solve it) is the relay's
//! too, so it lives in [`shared::proof`]; the hashing is the browser's
//! (`browser::proof`). What is the page's alone is how long it searches.

pub use shared::proof::{input, solves};

/// Nonces to try before giving up (about 2^32: far past any difficulty a
/// relay asks of a browser).
pub const MAX_TRIES: u64 = 1 << 32;

/// Proofs the relay may refuse in a row (each on a new connection, with a
/// new challenge) before the page stops trying and says so.
pub const MAX_REFUSALS: u32 = 3;

/// Where the page is with the relay's proof of work: a refused proof is
/// tried again on a new connection (a new challenge), a few times; then —
/// or at once when this browser cannot hash — the waiting messages fail
/// visibly instead of waiting for a proof that will not come.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Proving {
    refused: u32,
    given_up: bool,
}

/// What to do after the relay refused a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterRefusal {
    /// Connect again: the new connection brings a new challenge.
    Reconnect,
    /// Stop: the waiting messages fail with the relay's reason.
    GiveUp,
}

impl Proving {
    /// A challenge came: the page tries (again).
    pub fn challenged(&mut self) {
        self.given_up = false;
    }

    /// This browser cannot solve it (no SubtleCrypto, or no nonce found).
    pub fn cannot_solve(&mut self) {
        self.given_up = true;
    }

    /// The relay refused the proof (expired, used, not its own…).
    pub fn refused(&mut self) -> AfterRefusal {
        self.refused += 1;
        if self.refused >= MAX_REFUSALS {
            self.refused = 0;
            self.given_up = true;
            AfterRefusal::GiveUp
        } else {
            AfterRefusal::Reconnect
        }
    }

    /// A message was answered: the proof (if any) was taken.
    pub fn answered(&mut self) {
        self.refused = 0;
    }

    /// Whether a message refused for want of a proof fails now (the page
    /// gave up) instead of waiting for one.
    pub fn given_up(&self) -> bool {
        self.given_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_reconnect_a_few_times_then_give_up_until_the_next_challenge() {
        let mut p = Proving::default();
        assert_eq!(p.refused(), AfterRefusal::Reconnect);
        p.answered();
        for _ in 1..MAX_REFUSALS {
            assert_eq!(p.refused(), AfterRefusal::Reconnect);
            assert!(!p.given_up());
        }
        assert_eq!(
            p.refused(),
            AfterRefusal::GiveUp,
            "an answer in between resets the count"
        );
        assert!(p.given_up());
        p.challenged();
        assert!(!p.given_up(), "a new challenge is tried");
        assert_eq!(p.refused(), AfterRefusal::Reconnect);
        p.cannot_solve();
        assert!(p.given_up());
    }
}
