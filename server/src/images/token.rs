//! Image addresses the relay signed: `/api/image/<token>`, where the token
//! is the image's URL and an HMAC-SHA256 over it.
//!
//! Why signed: the relay fetches what a token names, so a token anyone
//! could make would turn it into an open proxy (fetch any URL on a listed
//! host, from the relay's network position). Only URLs the relay itself
//! put into an answer carry a valid tag; the URL travels inside the token
//! so any relay with the same key (`--image-key`) can serve it, with no
//! table to keep.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The longest image URL the relay signs (longer ones stay links), which
/// also bounds a token's length.
pub const MAX_URL_BYTES: usize = 2048;

/// Signs and checks image tokens with one key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    /// A signer with `key` (from `--image-key`).
    pub fn new(key: &[u8]) -> Self {
        Signer { key: key.to_vec() }
    }

    /// A signer with a random key: tokens work on this relay until it
    /// restarts (an answer's images shown after a restart are fetched
    /// again from a re-made answer, e.g. the history).
    pub fn random() -> Self {
        let key: Vec<u8> = (0..2)
            .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
            .collect();
        Signer { key }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts every key length"),
        }
    }

    /// The token for `url`, or `None` when the URL is too long.
    pub fn token(&self, url: &str) -> Option<String> {
        if url.len() > MAX_URL_BYTES {
            return None;
        }
        let mut mac = self.mac();
        mac.update(url.as_bytes());
        let tag = mac.finalize().into_bytes();
        Some(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(url),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// The URL a token names, if this key signed it (checked in constant
    /// time); `None` for anything forged, altered or malformed.
    pub fn verify(&self, token: &str) -> Option<String> {
        if token.len() > MAX_URL_BYTES * 2 {
            return None;
        }
        let (url, tag) = token.split_once('.')?;
        let url = URL_SAFE_NO_PAD.decode(url).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.mac();
        mac.update(&url);
        mac.verify_slice(&tag).ok()?;
        String::from_utf8(url).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_url_and_only_its_key_verifies_it() {
        let signer = Signer::new(b"0123456789abcdef");
        let url = "https://img.example/cat.png?size=2";
        let token = signer.token(url).expect("token");
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(signer.verify(&token).as_deref(), Some(url));
        assert_eq!(Signer::new(b"another key 0123").verify(&token), None);
        assert_eq!(Signer::random().verify(&token), None);
    }

    #[test]
    fn altered_and_malformed_tokens_are_refused() {
        let signer = Signer::new(b"0123456789abcdef");
        let token = signer.token("https://img.example/a.png").expect("token");
        let (url, tag) = token.split_once('.').expect("dot");
        let other = URL_SAFE_NO_PAD.encode("https://img.example/b.png");
        for bad in [
            format!("{other}.{tag}"),
            format!("{url}.{}", &tag[1..]),
            format!("{url}.A{}", &tag[1..]),
            url.to_owned(),
            String::new(),
            ".".into(),
            "!!.!!".into(),
        ] {
            assert_eq!(signer.verify(&bad), None, "{bad}");
        }
        assert_eq!(signer.token(&"x".repeat(MAX_URL_BYTES + 1)), None);
    }
}
