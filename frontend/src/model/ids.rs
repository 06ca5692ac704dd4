//! Message ids: random UUID v4 strings.

/// A UUID v4 from 16 random bytes.
pub fn uuid_from(bytes: [u8; 16]) -> String {
    let mut b = bytes;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A new random id (`Math.random` in the browser; ids need to be unique,
/// not secret).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    for b in bytes.iter_mut() {
        *b = (random() * 256.0) as u8;
    }
    uuid_from(bytes)
}

/// A random number in [0, 1).
pub fn random() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Math::random()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0);
        (h.finish() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let id = uuid_from([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert!(shared::validate::is_valid_message_id(&id));
        assert_ne!(new_id(), new_id());
    }
}
