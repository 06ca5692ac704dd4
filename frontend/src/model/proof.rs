//! The proof of work a relay may ask of a new session (`challenge` frame):
//! find a nonce such that SHA-256 of `challenge:nonce` starts with `bits`
//! zero bits. The hashing is the browser's (`browser::proof`); the rule is
//! here, tested natively.

/// Nonces to try before giving up (about 2^32: far past any difficulty a
/// relay asks of a browser).
pub const MAX_TRIES: u64 = 1 << 32;

/// What is hashed for `nonce`.
pub fn input(challenge: &str, nonce: u64) -> String {
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

/// Whether `hash` solves a challenge of `bits`.
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
        assert!(solves(&[0, 0x3f], 10));
        assert!(!solves(&[0, 0x3f], 11));
        assert_eq!(input("c.1.2.s", 42), "c.1.2.s:42");
    }
}
