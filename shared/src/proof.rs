//! The rule of the proof of work a relay may ask of a new session
//! (`challenge` frame, answered by `proof`): a nonce solves a challenge of
//! `bits` when SHA-256 of `challenge:nonce` starts with `bits` zero bits.
//!
//! Here once, because the page that searches and the relay that checks
//! must agree on it to the byte; each side hashes with what it has (the
//! browser's `crypto.subtle`, the relay's `sha2`), so no hash is here.

use std::fmt::Display;

/// What is hashed for `nonce`: `challenge:nonce`.
pub fn input(challenge: &str, nonce: impl Display) -> String {
    format!("{challenge}:{nonce}")
}

/// How many zero bits `hash` starts with.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Whether `hash` (of [`input`]) solves a challenge of `bits`.
pub fn solves(hash: &[u8], bits: u8) -> bool {
    leading_zero_bits(hash) >= u32::from(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0, 0x10, 0xff]), 11);
        assert_eq!(leading_zero_bits(&[0x80, 0]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
        assert_eq!(leading_zero_bits(&[]), 0);
        assert!(solves(&[0, 0x3f], 10));
        assert!(!solves(&[0, 0x3f], 11));
        assert!(solves(&[0x80], 0));
    }

    #[test]
    fn the_input_is_the_challenge_a_colon_and_the_nonce() {
        assert_eq!(input("c.1.2.s", 42), "c.1.2.s:42");
        assert_eq!(input("c.1.2.s", "x7"), "c.1.2.s:x7");
    }
}
